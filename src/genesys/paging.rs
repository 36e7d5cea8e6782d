//! Classic Genesys paged listings (genesys-api.md §6.3): which page to ask for next.
//!
//! Pages are requested by number (1-based). The next page is asked for while the last
//! one was not empty, the entities seen are fewer than `total`, and either `pageCount`
//! says there are more pages or — when a listing gives no `pageCount` — a `nextUri` is
//! present. The page number comes from our own counter, not the server's echo, so a
//! server ignoring `pageNumber` cannot make the loop spin (and [`MAX_PAGES`] bounds it).

use super::models::Listing;

/// The most pages of one listing the client reads: 100, i.e. 10,000 entities at the
/// default page size — far more trustees, trustors, members or roles than an org has.
/// A listing that claims more (an endless `nextUri`, a `pageCount` of 4 billion) is a
/// server bug or a hostile server, reported as [`super::GenesysError::Paging`] rather
/// than followed for hours.
pub const MAX_PAGES: u32 = 100;

/// The page to fetch after page `requested`, which returned `page`; `seen` counts the
/// entities of all pages so far, this one included. `None` when the listing is done.
pub(crate) fn next_page<T>(requested: u32, page: &Listing<T>, seen: usize) -> Option<u32> {
    if page.entities.is_empty() {
        return None;
    }
    if page.total.is_some_and(|total| seen as u64 >= total) {
        return None;
    }
    let more = match page.page_count {
        Some(count) => requested < count,
        None => page.next_uri.is_some(),
    };
    more.then_some(requested.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize, page_count: Option<u32>, total: Option<u64>, next: bool) -> Listing<u32> {
        Listing {
            entities: (0..n as u32).collect(),
            page_count,
            total,
            next_uri: next.then(|| "/api/v2/x?pageNumber=2".to_string()),
            ..Listing::default()
        }
    }

    #[test]
    fn follows_page_count_to_the_end() {
        assert_eq!(
            next_page(1, &page(25, Some(3), Some(60), true), 25),
            Some(2)
        );
        assert_eq!(
            next_page(2, &page(25, Some(3), Some(60), true), 50),
            Some(3)
        );
        assert_eq!(next_page(3, &page(10, Some(3), Some(60), false), 60), None);
    }

    #[test]
    fn page_count_wins_over_a_missing_next_uri() {
        assert_eq!(next_page(1, &page(25, Some(2), None, false), 25), Some(2));
    }

    #[test]
    fn without_page_count_next_uri_decides() {
        assert_eq!(next_page(1, &page(25, None, None, true), 25), Some(2));
        assert_eq!(next_page(2, &page(25, None, None, false), 50), None);
    }

    #[test]
    fn empty_pages_and_reached_totals_stop() {
        assert_eq!(next_page(4, &page(0, Some(9), Some(500), true), 75), None);
        assert_eq!(next_page(1, &page(25, Some(9), Some(25), true), 25), None);
        // A single page listing with no paging fields at all.
        assert_eq!(next_page(1, &page(3, None, None, false), 3), None);
    }
}
