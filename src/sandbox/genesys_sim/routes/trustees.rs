//! The trustor's side, `/api/v2/orgauthorization/trustees` ("organizations granted access
//! to this organization"). Rules in [`crate::sandbox::genesys_sim::state::trusts`];
//! members and roles in [`super::members`].
//!
//! | request | success | errors |
//! |---|---|---|
//! | `GET /trustees` (paged) | 200 `TrustEntityListing` of `Trustee` | |
//! | `POST /trustees` `TrustCreate` | 200 `Trustee` (`id` = trustee org) | 400 no `pairingId`/`enabled`, malformed, not named by the pairing, unknown role, a `roleDivisions` division neither `"*"` nor the trustor's, other region, own pairing, > 25 users; 400 `pairing.expired`; 404 unknown pairing; 409 trust exists |
//! | `GET /trustees/{trusteeOrgId}` | 200 `Trustee` | 404 |
//! | `PUT /trustees/{trusteeOrgId}` `TrustUpdate` | 200 `Trustee` | 400 no `enabled`, past `dateExpired`; 404 |
//! | `DELETE /trustees/{trusteeOrgId}` | 204 (revoked for both sides) | 404 |

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::members::{Groups, Users, trustor_routes};
use super::{member_input, trustee_view};
use crate::genesys::models;
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{
    Caller, JsonBody, PathParams, Shared, body_id, path_id, query_pairs,
};
use crate::sandbox::genesys_sim::paging::{PageRequest, paginate};
use crate::sandbox::genesys_sim::state::{Trust, TrustCreate};

/// The routes below `{prefix}/trustees`.
pub(crate) fn routes(prefix: &str) -> axum::Router<Shared> {
    let base = format!("{prefix}/trustees");
    axum::Router::new()
        .route(&base, get(list).post(create))
        .route(
            &format!("{base}/{{trusteeOrgId}}"),
            get(get_one).put(update).delete(delete),
        )
        .merge(trustor_routes::<Users>(prefix))
        .merge(trustor_routes::<Groups>(prefix))
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
        .trusts_granted_by(caller.org, now)?
        .into_iter()
        .cloned()
        .collect();
    let views: Vec<_> = trusts.iter().map(|t| trustee_view(&state, t)).collect();
    Ok(Json(paginate(
        views,
        page,
        "/api/v2/orgauthorization/trustees",
        &[],
    ))
    .into_response())
}

fn parse_create(body: &models::TrustCreate) -> Result<TrustCreate, ApiError> {
    let pairing_id = body
        .pairing_id
        .as_deref()
        .map(|p| body_id("pairingId", p))
        .transpose()?;
    let members = |list: &str, raw: &[models::TrustMemberCreate]| {
        raw.iter()
            .enumerate()
            .map(|(i, m)| member_input(&format!("{list}[{i}]"), m))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(TrustCreate {
        pairing_id,
        enabled: body.enabled,
        users: members("users", &body.users)?,
        groups: members("groups", &body.groups)?,
        date_expired: body.date_expired,
    })
}

async fn create(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<models::TrustCreate>,
) -> Result<Response, ApiError> {
    let input = parse_create(&body)?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let trust = state.create_trust(caller.org, &input, now)?.clone();
    Ok(Json(trustee_view(&state, &trust)).into_response())
}

async fn get_one(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let trustee = path_id(&params, "trusteeOrgId")?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let trust = state.trust(caller.org, trustee, now)?.clone();
    Ok(Json(trustee_view(&state, &trust)).into_response())
}

async fn update(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
    JsonBody(body): JsonBody<models::TrustUpdate>,
) -> Result<Response, ApiError> {
    let trustee = path_id(&params, "trusteeOrgId")?;
    let (enabled, date_expired) = (body.enabled, body.date_expired);
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let trust = state
        .update_trust(caller.org, trustee, enabled, date_expired, now)?
        .clone();
    Ok(Json(trustee_view(&state, &trust)).into_response())
}

async fn delete(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let trustee = path_id(&params, "trusteeOrgId")?;
    let now = sim.clock.now();
    sim.state.lock().delete_trust(caller.org, trustee, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
