//! OAuth client credentials and bearer tokens (genesys-api.md §2.1).
//!
//! - Each seeded org has one OAuth client. `POST {region}/oauth/token` with
//!   `Authorization: Basic base64(clientId:clientSecret)` and
//!   `grant_type=client_credentials` issues an opaque bearer token for that org.
//! - A client exists only in its org's region: from any other region (or with a wrong
//!   secret) the answer is 401 `{"error":"invalid_client"}` — which is how a real client
//!   configured for the wrong region fails.
//! - A token is valid only in the region that issued it and until `expires_in` seconds
//!   on the simulated clock have passed (default 86400; the faults can shorten it or
//!   expire every token at once). Otherwise the API answers 401 `bad.credentials`.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use uuid::Uuid;

use super::error::ApiError;
use super::seed::{Secret, SeedOrg};
use crate::api::Region;
use crate::genesys::models::TokenResponse;

/// Token lifetime when nothing overrides it: Genesys's default of 24 h.
pub(crate) const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 86_400;

struct Client {
    org: Uuid,
    region: Region,
    secret: Secret,
}

/// What a token stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TokenInfo {
    pub(crate) org: Uuid,
    pub(crate) region: Region,
    pub(crate) expires_at: Timestamp,
}

/// An OAuth error (`{"error", "description", "error_description"}`), with its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl OAuthError {
    pub(crate) fn invalid_client() -> Self {
        OAuthError {
            status: 401,
            error: "invalid_client",
            description: "client not found".into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError {
            status: 400,
            error: "invalid_request",
            description: description.into(),
        }
    }

    /// The token endpoint's rate limit answer: HTTP 400 `invalid_request (rate limit
    /// exceeded; ...)` rather than 429 (genesys-api.md §2.1).
    pub(crate) fn rate_limited(retry_after_secs: u64) -> Self {
        Self::invalid_request(format!(
            "rate limit exceeded; retry the request in {retry_after_secs} seconds"
        ))
    }

    /// The JSON body: Genesys's `description` and the RFC 6749 `error_description`.
    pub(crate) fn body(&self) -> TokenResponse {
        TokenResponse {
            error: Some(self.error.to_string()),
            description: Some(self.description.clone()),
            error_description: Some(self.description.clone()),
            ..TokenResponse::default()
        }
    }
}

/// The OAuth clients of all seeded orgs and the tokens issued to them.
pub(crate) struct TokenService {
    clients: HashMap<String, Client>,
    tokens: Mutex<HashMap<String, TokenInfo>>,
}

impl TokenService {
    pub(crate) fn new(orgs: &[SeedOrg]) -> Self {
        TokenService {
            clients: orgs
                .iter()
                .map(|o| {
                    (
                        o.client_id.clone(),
                        Client {
                            org: o.id,
                            region: o.region,
                            secret: o.client_secret.clone(),
                        },
                    )
                })
                .collect(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The org owning `client_id` if the client is served in `region` (for request
    /// accounting; no secret check).
    pub(crate) fn org_of_client(&self, region: Region, client_id: &str) -> Option<Uuid> {
        self.clients
            .get(client_id)
            .filter(|c| c.region == region)
            .map(|c| c.org)
    }

    /// Handles `POST {region}/oauth/token`: `authorization` is the raw `Authorization`
    /// header, `grant_type` the form field.
    pub(crate) fn issue(
        &self,
        region: Region,
        authorization: Option<&str>,
        grant_type: Option<&str>,
        now: Timestamp,
        lifetime_secs: u64,
    ) -> Result<(Uuid, TokenResponse), OAuthError> {
        let (client_id, secret) = authorization
            .and_then(parse_basic)
            .ok_or_else(OAuthError::invalid_client)?;
        let client = self
            .clients
            .get(&client_id)
            .filter(|c| c.region == region && c.secret.expose() == secret)
            .ok_or_else(OAuthError::invalid_client)?;
        match grant_type {
            Some("client_credentials") => {}
            None | Some("") => {
                return Err(OAuthError::invalid_request(
                    "grant_type is required; use grant_type=client_credentials",
                ));
            }
            Some(other) => {
                return Err(OAuthError {
                    status: 400,
                    error: "unsupported_grant_type",
                    description: format!(
                        "grant type {other:?} is not supported for this client; use client_credentials"
                    ),
                });
            }
        }
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let info = TokenInfo {
            org: client.org,
            region,
            expires_at: now + SignedDuration::from_secs(lifetime_secs as i64),
        };
        let mut tokens = self.tokens.lock();
        tokens.retain(|_, t| t.expires_at > now);
        tokens.insert(token.clone(), info);
        Ok((
            client.org,
            TokenResponse {
                access_token: Some(token),
                token_type: Some("bearer".to_string()),
                expires_in: Some(lifetime_secs),
                ..TokenResponse::default()
            },
        ))
    }

    /// The org a bearer token was issued to, valid or not (for request accounting).
    pub(crate) fn peek(&self, token: &str) -> Option<Uuid> {
        self.tokens.lock().get(token).map(|t| t.org)
    }

    /// Checks `Authorization: Bearer <token>` for a request to `region`'s API.
    pub(crate) fn authenticate(
        &self,
        region: Region,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Result<Uuid, ApiError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or_else(ApiError::authentication_required)?;
        match self.tokens.lock().get(token) {
            Some(t) if t.region == region && t.expires_at > now => Ok(t.org),
            _ => Err(ApiError::bad_credentials()),
        }
    }

    /// Makes every token issued so far invalid (as of `now`).
    pub(crate) fn expire_all(&self, now: Timestamp) {
        for t in self.tokens.lock().values_mut() {
            t.expires_at = t.expires_at.min(now);
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The (client ID, secret) of an `Authorization: Basic ...` header.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::genesys_sim::state::fixtures;

    fn service() -> TokenService {
        TokenService::new(&[
            fixtures::org(fixtures::ACME, "acme", Region::UsEast1, 1),
            fixtures::org(fixtures::EU, "globex", Region::EuWest1, 1),
        ])
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn t0() -> Timestamp {
        fixtures::t0()
    }

    #[test]
    fn a_client_gets_a_token_in_its_own_region() {
        let s = service();
        let (org, issued) = s
            .issue(
                Region::UsEast1,
                Some(&basic("acme-client", "secret")),
                Some("client_credentials"),
                t0(),
                600,
            )
            .unwrap();
        assert_eq!(org, fixtures::id(fixtures::ACME));
        assert_eq!(issued.expires_in, Some(600));
        assert_eq!(issued.token_type.as_deref(), Some("bearer"));
        let token = issued.access_token.unwrap();
        let header = format!("Bearer {token}");
        assert_eq!(
            s.authenticate(Region::UsEast1, Some(&header), t0())
                .unwrap(),
            org
        );
        assert_eq!(s.peek(&token), Some(org));
    }

    #[test]
    fn wrong_region_wrong_secret_and_unknown_clients_are_invalid_client() {
        let s = service();
        for (region, auth) in [
            (Region::EuWest1, basic("acme-client", "secret")),
            (Region::UsEast1, basic("acme-client", "wrong")),
            (Region::UsEast1, basic("nobody", "secret")),
            (Region::UsEast1, "Bearer x".to_string()),
            (Region::UsEast1, "Basic !!!".to_string()),
        ] {
            let err = s
                .issue(region, Some(&auth), Some("client_credentials"), t0(), 60)
                .unwrap_err();
            assert_eq!((err.status, err.error), (401, "invalid_client"), "{auth}");
        }
        let err = s
            .issue(Region::UsEast1, None, Some("client_credentials"), t0(), 60)
            .unwrap_err();
        assert_eq!(err.error, "invalid_client");
    }

    #[test]
    fn grant_type_must_be_client_credentials() {
        let s = service();
        let auth = basic("acme-client", "secret");
        let err = s
            .issue(Region::UsEast1, Some(&auth), None, t0(), 60)
            .unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_request"));
        let err = s
            .issue(Region::UsEast1, Some(&auth), Some("password"), t0(), 60)
            .unwrap_err();
        assert_eq!(err.error, "unsupported_grant_type");
    }

    #[test]
    fn tokens_expire_are_regional_and_can_be_expired_at_once() {
        let s = service();
        let auth = basic("acme-client", "secret");
        let (_, issued) = s
            .issue(
                Region::UsEast1,
                Some(&auth),
                Some("client_credentials"),
                t0(),
                60,
            )
            .unwrap();
        let header = format!("Bearer {}", issued.access_token.unwrap());
        assert!(
            s.authenticate(
                Region::UsEast1,
                Some(&header),
                t0() + SignedDuration::from_secs(59)
            )
            .is_ok()
        );
        let err = s
            .authenticate(
                Region::UsEast1,
                Some(&header),
                t0() + SignedDuration::from_secs(60),
            )
            .unwrap_err();
        assert_eq!(err.code, "bad.credentials");
        let err = s
            .authenticate(Region::EuWest1, Some(&header), t0())
            .unwrap_err();
        assert_eq!(err.code, "bad.credentials");
        s.expire_all(t0());
        assert!(
            s.authenticate(Region::UsEast1, Some(&header), t0())
                .is_err()
        );
    }

    #[test]
    fn missing_or_malformed_bearer_is_authentication_required() {
        let s = service();
        for header in [None, Some("Basic abc"), Some("Bearer "), Some("Bearer")] {
            let err = s.authenticate(Region::UsEast1, header, t0()).unwrap_err();
            assert_eq!(err.code, "authentication.required", "{header:?}");
        }
        let err = s
            .authenticate(Region::UsEast1, Some("Bearer nope"), t0())
            .unwrap_err();
        assert_eq!(err.code, "bad.credentials");
    }
}
