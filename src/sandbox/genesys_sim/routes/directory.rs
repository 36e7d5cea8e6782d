//! The caller's own directory: `POST /api/v2/users/search` and `POST /api/v2/groups/search`.
//!
//! | request | success | errors |
//! |---|---|---|
//! | `POST /users/search` `UserSearchRequest` | 200 `UsersSearchResponse` | 400 no `query`, unknown `type` or field, clause without a value, `pageSize` outside 1–100, `pageNumber` below 1 (named) |
//! | `POST /groups/search` `GroupSearchRequest` | 200 `GroupsSearchResponse` | as above |
//!
//! Rules, as the real search applies them: every clause must hold (AND); a clause
//! holds when any of its `fields` matches any of its values (`value` or `values`).
//! `EXACT` compares the whole field, ignoring case (`Tier 1` matches `tier 1`, not
//! `Tier 1 Support`); `CONTAINS` and `STARTS_WITH` compare parts, ignoring case.
//! Searchable fields: `id`, `name`, `email` (users); `id`, `name` (groups). Results are
//! ordered by name then ID, `pageSize` defaults to 25 (at most 100), `pageNumber` is
//! 1-based; a page past the end is empty; `results` is left out when empty, as
//! Genesys does.

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::genesys::models::{self, SearchCriteria, SearchRequest, SearchResponse};
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{Caller, JsonBody, Shared};
use crate::sandbox::genesys_sim::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::sandbox::genesys_sim::state::{Member, Org};

const USER_FIELDS: &[&str] = &["id", "name", "email"];
const GROUP_FIELDS: &[&str] = &["id", "name"];

pub(crate) async fn users(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<SearchRequest>,
) -> Result<Response, ApiError> {
    let view = |m: &Member| models::User {
        id: m.id.to_string(),
        name: Some(m.name.clone()),
        email: m.email.clone(),
        state: Some("active".into()),
        self_uri: Some(format!("/api/v2/users/{}", m.id)),
    };
    respond(
        &sim,
        caller,
        &body,
        USER_FIELDS,
        "users",
        |o| &o.users,
        view,
    )
}

pub(crate) async fn groups(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<SearchRequest>,
) -> Result<Response, ApiError> {
    let view = |m: &Member| models::Group {
        id: m.id.to_string(),
        name: Some(m.name.clone()),
        state: Some("active".into()),
        kind: Some("official".into()),
        self_uri: Some(format!("/api/v2/groups/{}", m.id)),
    };
    respond(
        &sim,
        caller,
        &body,
        GROUP_FIELDS,
        "groups",
        |o| &o.groups,
        view,
    )
}

/// One search of the caller's `members` (its users or its groups), as one page of
/// `view`s.
fn respond<T: Serialize>(
    sim: &Shared,
    caller: Caller,
    body: &SearchRequest,
    fields: &[&str],
    kind: &str,
    members: impl Fn(&Org) -> &[Member],
    view: impl Fn(&Member) -> T,
) -> Result<Response, ApiError> {
    let state = sim.state.lock();
    let org = state.caller(caller.org)?;
    let found = search(body, fields, members(org))?;
    Ok(Json(page(body, found, kind, view)?).into_response())
}

/// The members matching every clause of `body`, by name then ID.
fn search<'a>(
    body: &SearchRequest,
    fields: &[&str],
    members: &'a [Member],
) -> Result<Vec<&'a Member>, ApiError> {
    if body.query.is_empty() {
        return Err(ApiError::bad_field(
            "query",
            "at least one search criteria is required",
        ));
    }
    for (i, c) in body.query.iter().enumerate() {
        check(i, c, fields)?;
    }
    let mut found: Vec<&Member> = members
        .iter()
        .filter(|m| body.query.iter().all(|c| holds(c, m)))
        .collect();
    found.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(found)
}

fn check(i: usize, c: &SearchCriteria, fields: &[&str]) -> Result<(), ApiError> {
    if !matches!(c.kind.as_str(), "EXACT" | "CONTAINS" | "STARTS_WITH") {
        return Err(ApiError::bad_field(
            format!("query[{i}].type"),
            format!(
                "{:?} is not a supported search type (EXACT, CONTAINS, STARTS_WITH)",
                c.kind
            ),
        ));
    }
    if c.fields.is_empty() {
        return Err(ApiError::bad_field(
            format!("query[{i}].fields"),
            "at least one field is required",
        ));
    }
    if let Some(f) = c.fields.iter().find(|f| !fields.contains(&f.as_str())) {
        return Err(ApiError::bad_field(
            format!("query[{i}].fields"),
            format!("{f:?} is not a searchable field ({})", fields.join(", ")),
        ));
    }
    if c.value.as_deref().is_none_or(str::is_empty) && c.values.iter().all(String::is_empty) {
        return Err(ApiError::bad_field(
            format!("query[{i}].value"),
            "a value is required",
        ));
    }
    Ok(())
}

fn holds(c: &SearchCriteria, m: &Member) -> bool {
    let id = m.id.to_string();
    let field = |f: &str| -> Option<String> {
        match f {
            "id" => Some(id.clone()),
            "name" => Some(m.name.clone()),
            "email" => m.email.clone(),
            _ => None,
        }
    };
    let values: Vec<String> = c
        .value
        .iter()
        .chain(&c.values)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_lowercase())
        .collect();
    c.fields.iter().filter_map(|f| field(f)).any(|have| {
        let have = have.to_lowercase();
        values.iter().any(|want| match c.kind.as_str() {
            "EXACT" => &have == want,
            "CONTAINS" => have.contains(want.as_str()),
            _ => have.starts_with(want.as_str()),
        })
    })
}

fn page<T: Serialize>(
    body: &SearchRequest,
    found: Vec<&Member>,
    kind: &str,
    view: impl Fn(&Member) -> T,
) -> Result<SearchResponse<T>, ApiError> {
    let size = body.page_size.map_or(DEFAULT_PAGE_SIZE, |s| s as usize);
    if size == 0 || size > MAX_PAGE_SIZE {
        return Err(ApiError::bad_field(
            "pageSize",
            format!("must be between 1 and {MAX_PAGE_SIZE}, got {size}"),
        ));
    }
    let number = body.page_number.unwrap_or(1) as usize;
    if number == 0 {
        return Err(ApiError::bad_field(
            "pageNumber",
            "must be at least 1, got 0",
        ));
    }
    let total = found.len();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(SearchResponse {
        total: Some(total as u64),
        page_count: Some(count(total.div_ceil(size))),
        page_size: Some(count(size)),
        page_number: Some(count(number)),
        types: vec![kind.to_string()],
        results: found
            .into_iter()
            .skip((number - 1).saturating_mul(size))
            .take(size)
            .map(view)
            .collect(),
    })
}
