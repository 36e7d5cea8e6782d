//! The simulator's own control endpoints under `{url}/_sim` (no auth, no faults, no
//! rate limit; every one also exists as a method of [`super::SimHandle`]):
//!
//! | request | body | answer |
//! |---|---|---|
//! | `GET /_sim/faults` | | the [`FaultConfig`] |
//! | `POST /_sim/faults` | a [`FaultConfig`], plus optional `"expireTokensNow": true` | the new config (400 naming a bad field) |
//! | `POST /_sim/tokens/expire` | | 204; every token issued so far is invalid |
//! | `GET /_sim/clock` | | `{"now", "offsetSeconds"}` |
//! | `POST /_sim/clock` | `{"advanceSeconds": 172800}` or `{"advance": "48h 1m"}` | `{"now", "offsetSeconds"}` |
//! | `GET /_sim/rate-limit` | | the [`RateLimitConfig`] |
//! | `POST /_sim/rate-limit` | a [`RateLimitConfig`] (`requestsPerWindow`, `windowSeconds`, `tokenRequestsPerWindow`) | the new config |
//! | `GET /_sim/stats` | | a [`StatsSnapshot`] |
//! | `POST /_sim/reset-stats` | | 204 |
//! | `GET /_sim/orgs` | | the seeded orgs without secrets |
//! | `GET /_sim/state` | | links, pairings and trusts, for debugging |
//! | `GET /_sim/requests` | | `{"linkRequests": [{requester, target, at}], "pairings": [{id, trustee, users, groups, dateCreated}]}`: every link request and pairing ever accepted, in order |

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::faults::FaultConfig;
use super::http::{JsonBody, Shared};
use super::limits::RateLimitConfig;
use super::routes::timestamp;
use super::stats::StatsSnapshot;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/faults", get(get_faults).post(set_faults))
        .route("/tokens/expire", post(expire_tokens))
        .route("/clock", get(get_clock).post(advance_clock))
        .route("/rate-limit", get(get_rate_limit).post(set_rate_limit))
        .route("/stats", get(stats))
        .route("/reset-stats", post(reset_stats))
        .route("/orgs", get(orgs))
        .route("/state", get(dump_state))
        .route("/requests", get(requests))
}

async fn get_faults(State(sim): State<Shared>) -> Json<FaultConfig> {
    Json(sim.faults.config())
}

async fn set_faults(
    State(sim): State<Shared>,
    JsonBody(mut body): JsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<FaultConfig>, ApiError> {
    let expire_now = match body.remove("expireTokensNow") {
        None => false,
        Some(serde_json::Value::Bool(b)) => b,
        Some(_) => return Err(ApiError::bad_field("expireTokensNow", "must be a boolean")),
    };
    let config: FaultConfig = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|e| ApiError::bad_request(format!("invalid fault settings: {e}")))?;
    sim.faults.set(config).map_err(ApiError::bad_request)?;
    if expire_now {
        sim.tokens.expire_all(sim.clock.now());
    }
    Ok(Json(sim.faults.config()))
}

async fn expire_tokens(State(sim): State<Shared>) -> StatusCode {
    sim.tokens.expire_all(sim.clock.now());
    StatusCode::NO_CONTENT
}

/// The clock as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClockState {
    pub(crate) now: String,
    pub(crate) offset_seconds: i64,
}

fn clock_state(sim: &Shared) -> ClockState {
    ClockState {
        now: timestamp(sim.clock.now()),
        offset_seconds: sim.clock.offset().as_secs(),
    }
}

async fn get_clock(State(sim): State<Shared>) -> Json<ClockState> {
    Json(clock_state(&sim))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockAdvance {
    advance_seconds: Option<i64>,
    advance: Option<String>,
}

async fn advance_clock(
    State(sim): State<Shared>,
    JsonBody(body): JsonBody<ClockAdvance>,
) -> Result<Json<ClockState>, ApiError> {
    let by = match (body.advance_seconds, body.advance.as_deref()) {
        (Some(secs), None) => jiff::SignedDuration::from_secs(secs),
        (None, Some(text)) => {
            let d = humantime::parse_duration(text).map_err(|e| {
                ApiError::bad_field(
                    "advance",
                    format!("{text:?} is not a duration like \"48h\": {e}"),
                )
            })?;
            jiff::SignedDuration::try_from(d)
                .map_err(|_| ApiError::bad_field("advance", "duration too large"))?
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of advanceSeconds (integer) or advance (e.g. \"48h\")",
            ));
        }
    };
    sim.clock
        .advance(by)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(clock_state(&sim)))
}

async fn get_rate_limit(State(sim): State<Shared>) -> Json<RateLimitConfig> {
    Json(sim.limiter.config())
}

async fn set_rate_limit(
    State(sim): State<Shared>,
    JsonBody(config): JsonBody<RateLimitConfig>,
) -> Result<Json<RateLimitConfig>, ApiError> {
    sim.limiter
        .set_config(config)
        .map_err(ApiError::bad_request)?;
    Ok(Json(sim.limiter.config()))
}

async fn stats(State(sim): State<Shared>) -> Json<StatsSnapshot> {
    Json(sim.stats.snapshot())
}

async fn reset_stats(State(sim): State<Shared>) -> StatusCode {
    sim.stats.reset();
    StatusCode::NO_CONTENT
}

async fn orgs(State(sim): State<Shared>) -> Response {
    let state = sim.state.lock();
    let orgs: Vec<_> = state
        .orgs()
        .map(|o| {
            serde_json::json!({
                "id": o.id,
                "name": o.name,
                "region": o.region,
                "users": o.users.iter().map(|u| serde_json::json!({"id": u.id, "name": u.name, "email": u.email})).collect::<Vec<_>>(),
                "groups": o.groups.iter().map(|g| serde_json::json!({"id": g.id, "name": g.name})).collect::<Vec<_>>(),
                "roles": o.roles.iter().map(|r| serde_json::json!({"id": r.id, "name": r.name, "permissions": r.permissions})).collect::<Vec<_>>(),
                "linkableRegions": o.linkable_regions,
            })
        })
        .collect();
    Json(orgs).into_response()
}

/// Every create the simulator accepted: what a test counts duplicates from.
async fn requests(State(sim): State<Shared>) -> Response {
    let state = sim.state.lock();
    let links: Vec<_> = state
        .link_requests()
        .iter()
        .map(|r| {
            serde_json::json!({
                "requester": r.requester,
                "target": r.target,
                "at": timestamp(r.at),
            })
        })
        .collect();
    let mut pairings: Vec<_> = state.all_pairings().collect();
    pairings.sort_by_key(|p| p.created_at);
    let pairings: Vec<_> = pairings
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id,
                "trustee": p.trustee,
                "users": p.users,
                "groups": p.groups,
                "dateCreated": timestamp(p.created_at),
            })
        })
        .collect();
    Json(serde_json::json!({ "linkRequests": links, "pairings": pairings })).into_response()
}

async fn dump_state(State(sim): State<Shared>) -> Response {
    let now = sim.clock.now();
    let state = sim.state.lock();
    let links: Vec<_> = state
        .all_links()
        .map(|l| {
            serde_json::json!({
                "requester": l.requester,
                "target": l.target,
                "status": format!("{:?}", l.status),
                "requestedAt": timestamp(l.requested_at),
                "decidedAt": l.decided_at.map(timestamp),
            })
        })
        .collect();
    let pairings: Vec<_> = state
        .all_pairings()
        .map(|p| {
            serde_json::json!({
                "id": p.id,
                "trustee": p.trustee,
                "users": p.users,
                "groups": p.groups,
                "dateCreated": timestamp(p.created_at),
                "expired": p.is_expired(now),
            })
        })
        .collect();
    let trusts: Vec<_> = state
        .all_trusts()
        .filter(|t| !t.is_expired(now))
        .map(|t| {
            let members =
                |m: &std::collections::BTreeMap<uuid::Uuid, super::state::MemberGrant>| {
                    m.values()
                        .map(|g| serde_json::json!({"id": g.id, "roleIds": g.role_ids, "roleDivisions": g.role_divisions}))
                        .collect::<Vec<_>>()
                };
            serde_json::json!({
                "trustor": t.trustor,
                "trustee": t.trustee,
                "enabled": t.enabled,
                "dateCreated": timestamp(t.created_at),
                "dateExpired": t.date_expired.map(timestamp),
                "pairingId": t.pairing_id,
                "users": members(&t.users),
                "groups": members(&t.groups),
                "permissions": state.trust_permissions(t),
            })
        })
        .collect();
    Json(serde_json::json!({
        "now": timestamp(now),
        "links": links,
        "pairings": pairings,
        "trusts": trusts,
    }))
    .into_response()
}
