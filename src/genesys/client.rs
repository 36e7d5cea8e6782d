//! [`GenesysClient`]: one org's client. Cheap to clone (an `Arc`); all clones share the
//! connection pool, the cached token and the rate limiter, so the operator builds one
//! per `Organization` and hands clones to every controller.
//!
//! The typed calls live next to their area: [`super::links`], [`super::pairings`],
//! [`super::trustees`] (trustor side), [`super::trustors`] (trustee side),
//! [`super::roles`], [`super::divisions`]; `GET /organizations/me` is here.

use std::sync::Arc;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::Region;

use super::auth::TokenProvider;
use super::config::{Endpoints, GenesysConfig};
use super::error::GenesysError;
use super::http::{Answer, Recorder, build_http_client};
use super::models::{Listing, Organization};
use super::paging::{MAX_PAGES, next_page};
use super::ratelimit::RateLimiter;
use super::transport::{ApiRequest, Transport};

/// The outcome of a delete: deleting what is already gone is not an error for an
/// operator converging on "absent", but the caller may want to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// It existed and was removed.
    Removed,
    /// 404: there was nothing to remove.
    AlreadyAbsent,
}

/// The Genesys Cloud client of one org.
#[derive(Clone)]
pub struct GenesysClient {
    inner: Arc<Inner>,
}

struct Inner {
    region: Region,
    page_size: u32,
    transport: Transport,
}

impl std::fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenesysClient")
            .field("label", &self.label())
            .field("region", &self.inner.region)
            .field("api_base", &self.inner.transport.endpoints.api_base())
            .finish()
    }
}

impl GenesysClient {
    /// Validates `config` and builds the client. No request is made yet.
    pub fn new(config: GenesysConfig) -> Result<Self, GenesysError> {
        config.validate().map_err(GenesysError::Config)?;
        let endpoints = Endpoints::new(config.region, config.api_base_url.as_deref())
            .map_err(GenesysError::Config)?;
        let http = build_http_client(&config)?;
        let recorder = Recorder {
            label: Arc::from(config.label.as_str()),
            observer: config.observer.clone(),
        };
        let auth = TokenProvider::new(
            http.clone(),
            endpoints.token_url().to_string(),
            &config,
            recorder.clone(),
        );
        Ok(GenesysClient {
            inner: Arc::new(Inner {
                region: config.region,
                page_size: config.page_size,
                transport: Transport {
                    http,
                    endpoints,
                    retry: config.retry.clone(),
                    limiter: RateLimiter::new(config.rate_limit),
                    auth,
                    recorder,
                },
            }),
        })
    }

    pub(crate) fn label(&self) -> &str {
        &self.inner.transport.recorder.label
    }

    /// Where requests go.
    #[cfg(test)]
    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.inner.transport.endpoints
    }

    /// Token requests sent so far by this client and its clones.
    ///
    /// Nothing in the operator reads it; public so the client's tests can show that a
    /// token is fetched once and shared by clones, and that a rejected client is not
    /// retried.
    pub fn token_requests(&self) -> u64 {
        self.inner.transport.auth.fetch_count()
    }

    /// Fetches a token now (normally done on the first call). Useful to check
    /// credentials: fails with [`GenesysError::CredentialsRejected`] for a bad client.
    ///
    /// The operator lets the first call authenticate (`organization_me`); public so the
    /// client's tests can drive the OAuth exchange alone against a hostile token
    /// endpoint.
    pub async fn authenticate(&self) -> Result<(), GenesysError> {
        self.inner
            .transport
            .auth
            .token()
            .await
            .map(|_| ())
            .map_err(|e| self.redact(e))
    }

    /// Every error leaves the client through here: text a remote chose never carries
    /// the org's client secret (a hostile endpoint was sent it and may echo it).
    fn redact(&self, error: GenesysError) -> GenesysError {
        error.redacted(self.inner.transport.auth.client_secret())
    }

    /// `GET /api/v2/organizations/me`: the org the credentials belong to.
    pub async fn organization_me(&self) -> Result<Organization, GenesysError> {
        self.get("/api/v2/organizations/me", &[], Vec::new()).await
    }

    // ---- helpers for the typed calls ----

    async fn execute(&self, request: &ApiRequest<'_>) -> Result<Answer, GenesysError> {
        // Boxed: the exchange (token, rate limit, retries, the HTTP call) is some KB of
        // state, allocated only while a call is made rather than carried in the state
        // of every reconcile that may make one, in flight or waiting.
        Box::pin(self.inner.transport.execute(request))
            .await
            .map_err(|e| self.redact(e))
    }

    fn decode<T: DeserializeOwned>(
        &self,
        request: &ApiRequest<'_>,
        answer: &Answer,
    ) -> Result<T, GenesysError> {
        serde_json::from_slice(&answer.body).map_err(|source| {
            self.redact(GenesysError::Decode {
                method: request.method.to_string(),
                endpoint: request.endpoint,
                status: answer.status,
                correlation_id: answer.correlation_id.clone(),
                source,
            })
        })
    }

    fn encode<B: Serialize>(endpoint: &'static str, body: &B) -> Result<Vec<u8>, GenesysError> {
        serde_json::to_vec(body).map_err(|e| {
            GenesysError::InvalidArgument(format!("cannot encode the body of {endpoint}: {e}"))
        })
    }

    /// `GET` returning `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        args: &[&str],
        query: Vec<(&'static str, String)>,
    ) -> Result<T, GenesysError> {
        let mut request = ApiRequest::new(Method::GET, endpoint, args);
        request.query = query;
        let answer = self.execute(&request).await?;
        self.decode(&request, &answer)
    }

    /// `GET` returning `T`, or `None` on 404 (for things whose absence is a normal state).
    pub(crate) async fn get_optional<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        args: &[&str],
    ) -> Result<Option<T>, GenesysError> {
        match self.get(endpoint, args, Vec::new()).await {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A request with an optional JSON body, returning `T`.
    pub(crate) async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &'static str,
        args: &[&str],
        body: Option<&B>,
    ) -> Result<T, GenesysError> {
        let mut request = ApiRequest::new(method, endpoint, args);
        request.body = body.map(|b| Self::encode(endpoint, b)).transpose()?;
        let answer = self.execute(&request).await?;
        self.decode(&request, &answer)
    }

    /// A request with an optional JSON body whose answer has no (useful) body.
    pub(crate) async fn send_void<B: Serialize>(
        &self,
        method: Method,
        endpoint: &'static str,
        args: &[&str],
        body: Option<&B>,
    ) -> Result<(), GenesysError> {
        let mut request = ApiRequest::new(method, endpoint, args);
        request.body = body.map(|b| Self::encode(endpoint, b)).transpose()?;
        self.execute(&request).await.map(|_| ())
    }

    /// `DELETE`, with 404 meaning "already absent".
    pub(crate) async fn remove(
        &self,
        endpoint: &'static str,
        args: &[&str],
    ) -> Result<Removal, GenesysError> {
        match self
            .send_void::<()>(Method::DELETE, endpoint, args, None)
            .await
        {
            Ok(()) => Ok(Removal::Removed),
            Err(e) if e.is_not_found() => Ok(Removal::AlreadyAbsent),
            Err(e) => Err(e),
        }
    }

    /// Every entity of a classic paged listing, page after page.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        args: &[&str],
        query: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, GenesysError> {
        let mut all = Vec::new();
        let mut number = 1u32;
        loop {
            let mut q = query.clone();
            q.push(("pageSize", self.inner.page_size.to_string()));
            q.push(("pageNumber", number.to_string()));
            let page: Listing<T> = self.get(endpoint, args, q).await?;
            let next = next_page(number, &page, all.len() + page.entities.len());
            all.extend(page.entities);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::credentials::Credentials;
    use crate::genesys::models::{TrustCreate, TrustUpdate};

    fn assert_send<F: Send>(_: F) {}

    #[test]
    fn the_client_and_its_futures_can_cross_threads() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<GenesysClient>();
        let c = GenesysClient::new(GenesysConfig::new(
            Region::UsEast1,
            Credentials::new("id", "secret"),
        ))
        .unwrap();
        // Controllers spawn these on tokio: they must be Send. (Never polled here.)
        assert_send(c.organization_me());
        assert_send(c.list_links());
        assert_send(c.create_trust(&TrustCreate::default()));
        assert_send(c.update_trustee("x", &TrustUpdate::default()));
        assert_send(c.list_trustee_users("x"));
        assert_send(c.resolve_role_names(&Default::default()));
        assert_send(c.resolve_division_names(&Default::default()));
        assert_send(c.set_trustee_user_role_divisions("x", "u", &Default::default()));
    }

    #[test]
    fn new_refuses_bad_settings_naming_the_field() {
        let err = GenesysClient::new(GenesysConfig::new(
            Region::UsEast1,
            Credentials::new("id", ""),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, GenesysError::Config(m) if m.contains("clientSecret")),
            "{err}"
        );
        let c = GenesysClient::new(
            GenesysConfig::new(Region::EuWest1, Credentials::new("id", "s"))
                .with_label("team-a/acme"),
        )
        .unwrap();
        assert_eq!(
            c.endpoints().token_url(),
            "https://login.mypurecloud.ie/oauth/token"
        );
        assert_eq!(c.label(), "team-a/acme");
        assert!(!format!("{c:?}").contains("\"s\""));
    }
}
