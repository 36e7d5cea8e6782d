//! Our own org's directory, `POST /api/v2/users/search` and `POST /api/v2/groups/search`
//! (genesys-api.md §4.6): the trustee side turns the user emails and group names of
//! `spec.request` into the IDs a pairing takes.
//!
//! One `EXACT` clause on `email` (users) or `name` (groups), all pages. `EXACT` matches
//! the whole value, not a word of it, but ignores case, so the answer may hold
//! `Tier 1` for `tier 1`; the decision ([`crate::lifecycle::subjects`]) compares again
//! and reports a value that matches no one or several. Search pages hold at most 100
//! results; the client asks for 100 so one page almost always answers.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::client::GenesysClient;
use super::error::GenesysError;
use super::models::{Group, SearchCriteria, SearchRequest, SearchResponse, User};
use super::paging::MAX_PAGES;

const USERS_SEARCH: &str = "/api/v2/users/search";
const GROUPS_SEARCH: &str = "/api/v2/groups/search";

/// The largest page the search endpoints serve.
pub(crate) const SEARCH_PAGE_SIZE: u32 = 100;

impl GenesysClient {
    /// The users of our org whose email is `email` (ignoring case), across all pages.
    pub async fn search_users_by_email(&self, email: &str) -> Result<Vec<User>, GenesysError> {
        self.search_exact(USERS_SEARCH, "email", email).await
    }

    /// The groups of our org named `name` (ignoring case), across all pages.
    pub async fn search_groups_by_name(&self, name: &str) -> Result<Vec<Group>, GenesysError> {
        self.search_exact(GROUPS_SEARCH, "name", name).await
    }

    async fn search_exact<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        field: &str,
        value: &str,
    ) -> Result<Vec<T>, GenesysError> {
        let mut all = Vec::new();
        let mut number = 1u32;
        loop {
            let body = exact_query(field, value, number);
            let page: SearchResponse<T> = self
                .send_json(Method::POST, endpoint, &[], Some(&body))
                .await?;
            let next = next_search_page(number, &page, all.len() + page.results.len());
            all.extend(page.results);
            match next {
                None => return Ok(all),
                Some(n) if n > MAX_PAGES => {
                    return Err(GenesysError::Paging {
                        endpoint,
                        pages: MAX_PAGES,
                    });
                }
                Some(n) => number = n,
            }
        }
    }
}

/// The body of page `number` of an `EXACT` search on one field.
pub(crate) fn exact_query(field: &str, value: &str, number: u32) -> SearchRequest {
    SearchRequest {
        page_size: Some(SEARCH_PAGE_SIZE),
        page_number: Some(number),
        query: vec![SearchCriteria {
            kind: "EXACT".into(),
            fields: vec![field.to_string()],
            value: Some(value.to_string()),
            values: vec![],
        }],
    }
}

/// The page after `requested`, or `None`: as for classic listings
/// ([`super::paging::next_page`]), our own counter decides, bounded by `pageCount`
/// and `total`, and an empty page ends the search.
pub(crate) fn next_search_page<T>(
    requested: u32,
    page: &SearchResponse<T>,
    seen: usize,
) -> Option<u32> {
    if page.results.is_empty() || page.total.is_some_and(|t| seen as u64 >= t) {
        return None;
    }
    page.page_count
        .is_some_and(|count| requested < count)
        .then_some(requested.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize, page_count: Option<u32>, total: Option<u64>) -> SearchResponse<u32> {
        SearchResponse {
            total,
            page_count,
            page_size: Some(SEARCH_PAGE_SIZE),
            page_number: None,
            types: vec![],
            results: (0..n as u32).collect(),
        }
    }

    #[test]
    fn pages_are_followed_to_the_end_and_no_further() {
        assert_eq!(
            next_search_page(1, &page(100, Some(2), Some(150)), 100),
            Some(2)
        );
        assert_eq!(
            next_search_page(2, &page(50, Some(2), Some(150)), 150),
            None
        );
        assert_eq!(next_search_page(1, &page(0, Some(5), Some(0)), 0), None);
        // No pageCount: nothing says there is more.
        assert_eq!(next_search_page(1, &page(3, None, None), 3), None);
        // total reached even though pageCount says more.
        assert_eq!(next_search_page(1, &page(3, Some(9), Some(3)), 3), None);
    }

    #[test]
    fn the_query_is_one_exact_clause() {
        let body = serde_json::to_value(exact_query("email", "ana@example.com", 2)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"pageSize": 100, "pageNumber": 2,
                "query": [{"type": "EXACT", "fields": ["email"], "value": "ana@example.com"}]})
        );
    }

    #[test]
    fn an_answer_without_results_is_empty() {
        let page: SearchResponse<User> =
            serde_json::from_value(serde_json::json!({"total": 0, "pageCount": 0, "pageSize": 100, "pageNumber": 1, "types": ["users"]}))
                .unwrap();
        assert!(page.results.is_empty());
    }
}
