//! `GET /api/v2/organizations/me`, `GET /api/v2/authorization/roles` and
//! `GET /api/v2/authorization/divisions`.
//!
//! | request | success | errors |
//! |---|---|---|
//! | `GET /organizations/me` | 200 `Organization` | |
//! | `GET /authorization/roles` (paged, `name` repeatable) | 200 `OrganizationRoleEntityListing` of the caller's roles, sorted by name; `name` keeps only roles with exactly that name | 400 bad paging |
//! | `GET /authorization/divisions` (paged, `name` repeatable) | 200 `AuthzDivisionEntityListing` of the caller's own divisions, sorted by name, the home division marked `homeDivision`; `name` keeps only divisions with exactly that name | 400 bad paging |

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::organization;
use crate::genesys::models;
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{Caller, Shared, query_pairs};
use crate::sandbox::genesys_sim::paging::{PageRequest, paginate};

pub(crate) async fn me(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let state = sim.state.lock();
    Ok(Json(organization(state.caller(caller.org)?)).into_response())
}

pub(crate) async fn roles(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (page, names) = paged_by_name(query.as_deref())?;
    let state = sim.state.lock();
    let roles: Vec<models::OrganizationRole> = state
        .roles(caller.org, &names)?
        .into_iter()
        .map(|r| models::OrganizationRole {
            id: r.id.to_string(),
            name: r.name.clone(),
            permissions: r.permissions.clone(),
            default: Some(false),
            base: Some(false),
            user_count: Some(0),
            self_uri: Some(format!("/api/v2/authorization/roles/{}", r.id)),
            ..models::OrganizationRole::default()
        })
        .collect();
    Ok(page_of(roles, page, "/api/v2/authorization/roles", names))
}

pub(crate) async fn divisions(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (page, names) = paged_by_name(query.as_deref())?;
    let state = sim.state.lock();
    let org = state.caller(caller.org)?;
    let divisions: Vec<models::Division> = state
        .divisions(caller.org, &names)?
        .into_iter()
        .map(|d| models::Division {
            id: d.id.to_string(),
            name: d.name.clone(),
            home_division: Some(org.is_home_division(d.id)),
            self_uri: Some(format!("/api/v2/authorization/divisions/{}", d.id)),
            ..models::Division::default()
        })
        .collect();
    Ok(page_of(
        divisions,
        page,
        "/api/v2/authorization/divisions",
        names,
    ))
}

/// The page and the exact `name` filters (repeatable) of a listing's query.
fn paged_by_name(query: Option<&str>) -> Result<(PageRequest, Vec<String>), ApiError> {
    let pairs = query_pairs(query);
    let page = PageRequest::from_query(&pairs)?;
    let names = pairs
        .into_iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, v)| v)
        .collect();
    Ok((page, names))
}

/// One page of `entities`, its links keeping the `name` filters.
fn page_of<T: serde::Serialize>(
    entities: Vec<T>,
    page: PageRequest,
    path: &str,
    names: Vec<String>,
) -> Response {
    let extra: Vec<(String, String)> = names.into_iter().map(|n| ("name".into(), n)).collect();
    Json(paginate(entities, page, path, &extra)).into_response()
}
