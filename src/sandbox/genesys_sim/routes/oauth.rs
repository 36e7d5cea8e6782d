//! `POST {region}/oauth/token`: the client-credentials grant (see [`crate::sandbox::genesys_sim::auth`]).
//!
//! Statuses: 200 with `{access_token, token_type, expires_in}`; 401 `invalid_client`
//! (unknown client, wrong secret, client of another region, no Basic auth); 400
//! `invalid_request` (no `grant_type`, or the optional token rate limit: `rate limit
//! exceeded; ...`); 400 `unsupported_grant_type`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::sandbox::genesys_sim::auth::{DEFAULT_TOKEN_LIFETIME_SECS, OAuthError, parse_basic};
use crate::sandbox::genesys_sim::http::{Shared, TokenRegion};
use crate::sandbox::genesys_sim::stats::Outcome;

fn oauth_error(err: &OAuthError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(err.body())).into_response()
}

pub(crate) async fn token(
    State(sim): State<Shared>,
    Extension(TokenRegion(region)): Extension<TokenRegion>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let grant_type = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    if let Some((client_id, _)) = authorization.and_then(parse_basic)
        && let Err(retry_after) = sim.limiter.admit_token(&client_id)
    {
        let org = sim.tokens.org_of_client(region, &client_id);
        sim.stats.outcome(org, Outcome::RateLimited);
        return oauth_error(&OAuthError::rate_limited(retry_after));
    }
    let lifetime = sim
        .faults
        .token_lifetime()
        .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
    match sim.tokens.issue(
        region,
        authorization,
        grant_type.as_deref(),
        sim.clock.now(),
        lifetime,
    ) {
        Ok((_, issued)) => Json(issued).into_response(),
        Err(err) => oauth_error(&err),
    }
}
