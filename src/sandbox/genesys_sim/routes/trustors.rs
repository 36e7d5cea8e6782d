//! The trustee's side, `/api/v2/orgauthorization/trustors` ("organizations that have
//! authorized/trusted your organization"). Members in [`super::members`].
//!
//! | request | success | errors |
//! |---|---|---|
//! | `GET /trustors` (paged) | 200 `TrustorEntityListing` of `Trustor` | |
//! | `GET /trustors/{trustorOrgId}` | 200 `Trustor` (`authorization.permissions`: union of the granted roles' permissions; empty without roles or while disabled) | 404 |
//! | `DELETE /trustors/{trustorOrgId}` | 204 (revoked for both sides) | 404 |

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::members::{Groups, Users, trustee_routes};
use super::trustor_view;
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{Caller, PathParams, Shared, path_id, query_pairs};
use crate::sandbox::genesys_sim::paging::{PageRequest, paginate};
use crate::sandbox::genesys_sim::state::Trust;

/// The routes below `{prefix}/trustors`.
pub(crate) fn routes(prefix: &str) -> axum::Router<Shared> {
    let base = format!("{prefix}/trustors");
    axum::Router::new()
        .route(&base, get(list))
        .route(
            &format!("{base}/{{trustorOrgId}}"),
            get(get_one).delete(delete),
        )
        .merge(trustee_routes::<Users>(prefix))
        .merge(trustee_routes::<Groups>(prefix))
}

async fn list(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = PageRequest::from_query(&query_pairs(query.as_deref()))?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let trusts: Vec<Trust> = state
        .trusts_granted_to(caller.org, now)?
        .into_iter()
        .cloned()
        .collect();
    let views: Vec<_> = trusts.iter().map(|t| trustor_view(&state, t)).collect();
    Ok(Json(paginate(
        views,
        page,
        "/api/v2/orgauthorization/trustors",
        &[],
    ))
    .into_response())
}

async fn get_one(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let trustor = path_id(&params, "trustorOrgId")?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let trust = state.trust(trustor, caller.org, now)?.clone();
    Ok(Json(trustor_view(&state, &trust)).into_response())
}

async fn delete(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let trustor = path_id(&params, "trustorOrgId")?;
    let now = sim.clock.now();
    sim.state.lock().delete_trust(trustor, caller.org, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
