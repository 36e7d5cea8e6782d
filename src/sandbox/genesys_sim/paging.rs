//! Classic Genesys paged listings (genesys-api.md §6.3): `pageSize` (default 25, here at
//! most 100) and `pageNumber` (1-based, default 1) in, `entities`, `pageSize`,
//! `pageNumber`, `total`, `pageCount` and the `firstUri`/`selfUri`/`lastUri`/`nextUri`/
//! `previousUri` links out. Links are paths below the region (`/api/v2/...?pageSize=..`),
//! as Genesys returns them; `nextUri` is absent on the last page. A page past the end is
//! empty rather than an error. A `pageSize` or `pageNumber` that is not a positive
//! integer, or a `pageSize` above 100, is 400 naming the parameter. The page is the
//! shared [`Listing`] model.

use super::error::ApiError;
use crate::genesys::models::Listing;

pub(crate) const DEFAULT_PAGE_SIZE: usize = 25;
pub(crate) const MAX_PAGE_SIZE: usize = 100;

/// The requested page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) size: usize,
    pub(crate) number: usize,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            size: DEFAULT_PAGE_SIZE,
            number: 1,
        }
    }
}

impl PageRequest {
    /// Reads `pageSize` and `pageNumber` from decoded query pairs.
    pub(crate) fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut req = PageRequest::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "pageSize" => &mut req.size,
                "pageNumber" => &mut req.number,
                _ => continue,
            };
            *slot = value
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ApiError::bad_field(
                        name.clone(),
                        format!("{value:?} is not a positive integer"),
                    )
                })?;
        }
        if req.size > MAX_PAGE_SIZE {
            return Err(ApiError::bad_field(
                "pageSize",
                format!("must be at most {MAX_PAGE_SIZE}, got {}", req.size),
            ));
        }
        Ok(req)
    }
}

/// Cuts `items` (already in listing order) into the requested page. `path` is the
/// listing's path below the region; `extra` are other query parameters to keep in links.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    req: PageRequest,
    path: &str,
    extra: &[(String, String)],
) -> Listing<T> {
    let total = items.len();
    let page_count = total.div_ceil(req.size);
    let uri = |number: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        q.append_pair("pageSize", &req.size.to_string());
        q.append_pair("pageNumber", &number.to_string());
        format!("{path}?{}", q.finish())
    };
    let entities: Vec<T> = items
        .into_iter()
        .skip((req.number - 1).saturating_mul(req.size))
        .take(req.size)
        .collect();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Listing {
        entities,
        page_size: Some(count(req.size)),
        page_number: Some(count(req.number)),
        total: Some(total as u64),
        page_count: Some(count(page_count)),
        first_uri: Some(uri(1)),
        self_uri: Some(uri(req.number)),
        last_uri: Some(uri(page_count.max(1))),
        next_uri: (req.number < page_count).then(|| uri(req.number + 1)),
        previous_uri: (req.number > 1).then(|| uri((req.number - 1).min(page_count.max(1)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_25_and_page_1() {
        assert_eq!(
            PageRequest::from_query(&[]).unwrap(),
            PageRequest {
                size: 25,
                number: 1
            }
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        for (name, value) in [
            ("pageSize", "0"),
            ("pageSize", "x"),
            ("pageNumber", "0"),
            ("pageNumber", "-1"),
            ("pageSize", "101"),
        ] {
            let err = PageRequest::from_query(&q(&[(name, value)])).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.starts_with(name), "{}", err.message);
        }
    }

    #[test]
    fn pages_cover_every_item_once_with_links() {
        let items: Vec<u32> = (1..=7).collect();
        let req = |number| PageRequest { size: 3, number };
        let p1 = paginate(items.clone(), req(1), "/api/v2/x", &[]);
        assert_eq!(p1.entities, [1, 2, 3]);
        assert_eq!((p1.total, p1.page_count), (Some(7), Some(3)));
        assert_eq!(
            p1.next_uri.as_deref(),
            Some("/api/v2/x?pageSize=3&pageNumber=2")
        );
        assert_eq!(p1.previous_uri, None);
        assert_eq!(
            p1.last_uri.as_deref(),
            Some("/api/v2/x?pageSize=3&pageNumber=3")
        );
        let p3 = paginate(items.clone(), req(3), "/api/v2/x", &[]);
        assert_eq!(p3.entities, [7]);
        assert_eq!(p3.next_uri, None);
        assert_eq!(
            p3.previous_uri.as_deref(),
            Some("/api/v2/x?pageSize=3&pageNumber=2")
        );
        let p9 = paginate(items, req(9), "/api/v2/x", &[]);
        assert!(p9.entities.is_empty());
        assert_eq!(p9.next_uri, None);
    }

    #[test]
    fn an_empty_listing_has_no_pages_and_extra_params_are_kept() {
        let p = paginate(
            Vec::<u32>::new(),
            PageRequest::default(),
            "/api/v2/authorization/roles",
            &q(&[("name", "Read only")]),
        );
        assert_eq!((p.total, p.page_count), (Some(0), Some(0)));
        assert_eq!(
            p.self_uri.as_deref(),
            Some("/api/v2/authorization/roles?name=Read+only&pageSize=25&pageNumber=1")
        );
        assert_eq!(p.next_uri, None);
    }
}
