//! Pairings, `/api/v2/orgauthorization/pairings` (rules in
//! [`crate::sandbox::genesys_sim::state::pairings`]). No list and no delete, as in the
//! real API.
//!
//! | request | success | errors |
//! |---|---|---|
//! | `POST /pairings` `TrustRequestCreate` | 200 `TrustRequest` | 400 nothing named, more than 25 users, malformed/unknown/duplicate ID (named) |
//! | `GET /pairings/{pairingId}` | 200 `TrustRequest` | 404 `not.found`; 404 `pairing.expired` after 48 h |

use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::pairing_view;
use crate::genesys::models;
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{Caller, JsonBody, PathParams, Shared, body_id, path_id};

fn ids(field: &str, raw: &[String]) -> Result<Vec<Uuid>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| body_id(&format!("{field}[{i}]"), r))
        .collect()
}

pub(crate) async fn create(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<models::TrustRequestCreate>,
) -> Result<Response, ApiError> {
    let users = ids("userIds", &body.user_ids)?;
    let groups = ids("groupIds", &body.group_ids)?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let pairing = state
        .create_pairing(caller.org, &users, &groups, Uuid::new_v4(), now)?
        .clone();
    Ok(Json(pairing_view(&state, &pairing)).into_response())
}

pub(crate) async fn get(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let id = path_id(&params, "pairingId")?;
    let now = sim.clock.now();
    let state = sim.state.lock();
    let pairing = state.pairing(caller.org, id, now)?;
    Ok(Json(pairing_view(&state, pairing)).into_response())
}
