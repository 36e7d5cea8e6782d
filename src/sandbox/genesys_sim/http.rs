//! The HTTP face of the simulator: the router, the request pipeline every region request
//! passes through, and the extractors the handlers share.
//!
//! Pipeline of a request to `{url}/{region}/...`, in order:
//! 1. correlation ID: a fresh UUID, in the `ININ-Correlation-Id` header of every response
//!    (also 404s and admin answers) and in `contextId` of every error body;
//! 2. unknown region → 404;
//! 3. accounting ([`super::stats`]), attributed to the org of the token or client;
//! 4. faults ([`super::faults`]): latency, then drop or injected 5xx;
//! 5. for `/api/v2/...`: bearer token (401), then the per-token rate limit (429);
//! 6. the handler, which applies the rules of [`super::state`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::auth::{TokenService, bearer_token, parse_basic};
use super::clock::SimClock;
use super::conn::ConnKill;
use super::error::{ApiError, CORRELATION_HEADER, CORRELATION_ID};
use super::faults::{FaultAction, FaultInjector};
use super::limits::RateLimiter;
use super::state::SimState;
use super::stats::{Outcome, Stats};
use super::{admin, routes};
use crate::api::Region;

/// Everything the handlers share.
pub(crate) struct Sim {
    pub(crate) state: Mutex<SimState>,
    pub(crate) clock: SimClock,
    pub(crate) tokens: TokenService,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: FaultInjector,
    pub(crate) stats: Stats,
}

pub(crate) type Shared = Arc<Sim>;

/// Who is calling: the org of the bearer token (the region it called is checked by the
/// pipeline before this is set).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    pub(crate) org: Uuid,
}

/// The region of a token request (set by the pipeline for the token handler).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenRegion(pub Region);

/// The whole application: region routes, admin routes, fallbacks.
pub(crate) fn router(sim: Shared) -> Router {
    use routes::{links, org, pairings, trustees, trustors};
    const LINK: &str = "/{region}/api/v2/telephony/organization/link";
    const OA: &str = "/{region}/api/v2/orgauthorization";
    let region = Router::new()
        .route("/{region}/oauth/token", post(routes::oauth::token))
        .route("/{region}/api/v2/organizations/me", get(org::me))
        .route("/{region}/api/v2/authorization/roles", get(org::roles))
        .route(
            "/{region}/api/v2/authorization/divisions",
            get(org::divisions),
        )
        .route(
            "/{region}/api/v2/users/search",
            post(routes::directory::users),
        )
        .route(
            "/{region}/api/v2/groups/search",
            post(routes::directory::groups),
        )
        .route(LINK, get(links::list).post(links::create))
        .route(&format!("{LINK}/regions"), get(links::regions))
        .route(
            &format!("{LINK}/approve/{{requestingOrganizationId}}"),
            patch(links::approve),
        )
        .route(
            &format!("{LINK}/{{targetOrganizationId}}"),
            axum::routing::delete(links::delete),
        )
        .route(&format!("{OA}/pairings"), post(pairings::create))
        .route(&format!("{OA}/pairings/{{pairingId}}"), get(pairings::get))
        .merge(trustees::routes(OA))
        .merge(trustors::routes(OA))
        .route_layer(middleware::from_fn_with_state(sim.clone(), pipeline));
    Router::new()
        .merge(region)
        .nest("/_sim", admin::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(correlation))
        .with_state(sim)
}

async fn not_found() -> ApiError {
    ApiError::not_found("The requested resource was not found.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        "The HTTP method is not allowed for this resource.",
    )
}

/// Gives every request a correlation ID and every response the header.
async fn correlation(req: Request, next: Next) -> Response {
    let id = Uuid::new_v4().to_string();
    let mut response = CORRELATION_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// Steps 2–5 of the module docs.
async fn pipeline(
    State(sim): State<Shared>,
    matched: MatchedPath,
    mut req: Request,
    next: Next,
) -> Response {
    let template = matched
        .as_str()
        .strip_prefix("/{region}")
        .unwrap_or(matched.as_str())
        .to_string();
    let endpoint = format!("{} {template}", req.method());
    let path = req.uri().path();
    let region_code = path.split('/').nth(1).unwrap_or_default();
    let Some(region) = Region::from_code(region_code) else {
        return ApiError::not_found(format!(
            "unknown region {region_code:?}; the simulator serves each region under /{{region}}, e.g. /us-east-1"
        ))
        .into_response();
    };
    let below_region = path[1 + region_code.len()..].to_string();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_token = template == "/oauth/token";
    let org = match (is_token, authorization.as_deref()) {
        (_, None) => None,
        (true, Some(h)) => parse_basic(h).and_then(|(id, _)| sim.tokens.org_of_client(region, &id)),
        (false, Some(h)) => bearer_token(h).and_then(|t| sim.tokens.peek(t)),
    };
    sim.stats.record(org, &endpoint);

    let (latency, action) = sim.faults.draw(&below_region);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match action {
        FaultAction::Pass => {}
        FaultAction::Drop => {
            sim.stats.outcome(org, Outcome::Dropped);
            if let Some(ConnectInfo(kill)) = req.extensions().get::<ConnectInfo<ConnKill>>() {
                kill.kill();
            }
            // Never delivered: the connection is dead.
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        FaultAction::Error(status) => {
            sim.stats.outcome(org, Outcome::InjectedError);
            return ApiError::server_error(status).into_response();
        }
        FaultAction::RateLimited(retry_after) => {
            sim.stats.outcome(org, Outcome::RateLimited);
            return ApiError::too_many_requests(retry_after).into_response();
        }
    }

    if is_token {
        req.extensions_mut().insert(TokenRegion(region));
        return next.run(req).await;
    }
    let now = sim.clock.now();
    let org = match sim
        .tokens
        .authenticate(region, authorization.as_deref(), now)
    {
        Ok(org) => org,
        Err(e) => return e.into_response(),
    };
    let token = authorization
        .as_deref()
        .and_then(bearer_token)
        .unwrap_or_default();
    if let Err(retry_after) = sim.limiter.admit_api(token) {
        sim.stats.outcome(Some(org), Outcome::RateLimited);
        return ApiError::too_many_requests(retry_after).into_response();
    }
    req.extensions_mut().insert(Caller { org });
    let response = next.run(req).await;
    tracing::debug!(
        target: "genesys_sim",
        %region,
        %org,
        endpoint,
        status = response.status().as_u16(),
        "simulated Genesys Cloud request"
    );
    response
}

/// A JSON request body whose problems are answered as Genesys 400s.
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("a JSON request body is required"));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let message = format!("the request body is invalid: {e}");
            match serde_field(&e.to_string()) {
                Some(field) => ApiError::bad_field(field, message),
                None => ApiError::bad_request(message),
            }
        })
    }
}

/// The field a serde error names (`missing field `x``, `unknown field `x``), so that the
/// 400 carries it in `details[0].fieldName` as Genesys does.
fn serde_field(message: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.split_once(prefix))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field.to_string())
}

/// Named path parameters.
pub(crate) type PathParams = axum::extract::Path<HashMap<String, String>>;

/// A path parameter that must be a UUID; anything else names nothing, hence 404.
pub(crate) fn path_id(params: &HashMap<String, String>, name: &str) -> Result<Uuid, ApiError> {
    let raw = params.get(name).map(String::as_str).unwrap_or_default();
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::not_found(format!("{name} {raw:?} was not found (not a valid ID)")))
}

/// A body field that must be a UUID; 400 naming the field otherwise.
pub(crate) fn body_id(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::bad_field(field, format!("{raw:?} is not a valid ID (a UUID)")))
}

/// The decoded query string.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_errors_name_their_field() {
        assert_eq!(
            serde_field("missing field `approval` at line 1 column 2").as_deref(),
            Some("approval")
        );
        assert_eq!(
            serde_field("invalid type: string \"x\", expected a boolean"),
            None
        );
    }
}
