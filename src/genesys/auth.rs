//! OAuth client credentials (genesys-api.md §2.1): `POST {login}/oauth/token` with
//! `Authorization: Basic base64(clientId:clientSecret)` and the form
//! `grant_type=client_credentials`.
//!
//! The token is cached and shared by all clones of the client. It is replaced
//! - before it expires: at `expires_in` minus a margin (the configured margin, at most a
//!   fifth of the lifetime, so short-lived tokens are not refetched on every call), and
//! - when the API answers 401 with it ([`TokenProvider::invalidate`]; the caller retries
//!   once with the new token).
//!
//! One fetch at a time: concurrent callers wait for the fetch in progress instead of
//! each asking for a token. The token endpoint's own rate limit (HTTP 400
//! `invalid_request` "rate limit exceeded") is retried with backoff, like 5xx and
//! connection errors; `invalid_client` is final ([`GenesysError::CredentialsRejected`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::GenesysConfig;
use super::credentials::{Credentials, Secret};
use super::error::GenesysError;
use super::http::{Answer, Recorder, SendError, body_excerpt, classify_transport, send};
use super::models::TokenResponse;
use super::retry::{
    AttemptState, Decision, Failure, RetryConfig, TransportKind, decide, delay_in_text,
    is_token_rate_limit,
};
use super::transport::remote_text;

/// The endpoint template reported for token requests.
pub(crate) const TOKEN_ENDPOINT: &str = "/oauth/token";

/// Assumed lifetime when the token response has no `expires_in` (Genesys's default);
/// a 401 still replaces the token if it lapses sooner.
const FALLBACK_LIFETIME: Duration = Duration::from_secs(86_400);

/// The longest lifetime believed: 48 h, the most Genesys Cloud lets an OAuth client's
/// token live. `expires_in` is the token endpoint's number; a larger one (up to
/// `u64::MAX`) is taken as this, so the cached token is still replaced in time and no
/// clock arithmetic overflows.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(172_800);

/// How long after issue a token of `expires_in` should be replaced (at most
/// [`MAX_TOKEN_LIFETIME`]).
pub(crate) fn refresh_after(expires_in: Option<u64>, margin: Duration) -> Duration {
    let lifetime = expires_in
        .map_or(FALLBACK_LIFETIME, Duration::from_secs)
        .min(MAX_TOKEN_LIFETIME);
    lifetime.saturating_sub(margin.min(lifetime / 5))
}

/// A bearer token and when to stop using it.
pub(crate) struct AccessToken {
    value: Secret,
    refresh_at: Instant,
    generation: u64,
}

impl AccessToken {
    pub(crate) fn secret(&self) -> &str {
        self.value.expose()
    }

    fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &self.value)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Fetches and caches the org's token.
pub(crate) struct TokenProvider {
    http: reqwest::Client,
    token_url: String,
    credentials: Credentials,
    retry: RetryConfig,
    refresh_margin: Duration,
    recorder: Recorder,
    cache: Mutex<Option<Arc<AccessToken>>>,
    generation: AtomicU64,
    fetches: AtomicU64,
}

impl TokenProvider {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: String,
        config: &GenesysConfig,
        recorder: Recorder,
    ) -> Self {
        TokenProvider {
            http,
            token_url,
            credentials: config.credentials.clone(),
            retry: config.retry.clone(),
            refresh_margin: config.token_refresh_margin,
            recorder,
            cache: Mutex::new(None),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// A token that is not about to expire, fetching one if needed.
    pub(crate) async fn token(&self) -> Result<Arc<AccessToken>, GenesysError> {
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(token.clone());
        }
        let token = Arc::new(self.fetch().await?);
        *cache = Some(token.clone());
        Ok(token)
    }

    /// Drops `token` from the cache (the API refused it), unless it was already
    /// replaced — so a burst of 401s for one token causes one fetch, not many.
    pub(crate) async fn invalidate(&self, token: &AccessToken) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|t| t.generation == token.generation)
        {
            *cache = None;
        }
    }

    /// The secret to redact from errors (see [`GenesysError::redacted`]).
    pub(crate) fn client_secret(&self) -> &Secret {
        &self.credentials.client_secret
    }

    /// Token requests sent so far (each attempt), for tests and diagnostics.
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<AccessToken, GenesysError> {
        let mut state = AttemptState::default();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.fetches.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let request = self
                .http
                .post(&self.token_url)
                .basic_auth(
                    &self.credentials.client_id,
                    Some(self.credentials.client_secret.expose()),
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[("grant_type", "client_credentials")]);
            let result = send(request).await;
            let elapsed = started.elapsed();
            let answer = match result {
                Err(SendError::BodyTooLarge {
                    status,
                    limit,
                    correlation_id,
                }) => {
                    self.recorder.record(
                        "POST",
                        TOKEN_ENDPOINT,
                        attempt,
                        elapsed,
                        Err(TransportKind::BodyTooLarge),
                        false,
                    );
                    return Err(GenesysError::BodyTooLarge {
                        method: "POST".into(),
                        endpoint: TOKEN_ENDPOINT,
                        status,
                        limit,
                        correlation_id,
                    });
                }
                Err(SendError::Http(error)) => {
                    let kind = classify_transport(&error);
                    self.recorder.record(
                        "POST",
                        TOKEN_ENDPOINT,
                        attempt,
                        elapsed,
                        Err(kind),
                        false,
                    );
                    match decide(&self.retry, &mut state, Failure::Transport(kind), jitter()) {
                        Decision::Retry(wait) => {
                            tracing::warn!(client = %self.recorder.label, attempt, ?kind, ?wait, "OAuth token request failed; retrying");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        _ => {
                            return Err(GenesysError::Transport {
                                method: "POST".into(),
                                endpoint: TOKEN_ENDPOINT,
                                kind,
                                attempts: attempt,
                                source: error,
                            });
                        }
                    }
                }
                Ok(answer) => answer,
            };
            let parsed: TokenResponse = serde_json::from_slice(&answer.body).unwrap_or_default();
            let rate_limited = !answer.is_success()
                && is_token_rate_limit(answer.status, parsed.error.as_deref(), parsed.error_text());
            self.recorder.record(
                "POST",
                TOKEN_ENDPOINT,
                attempt,
                elapsed,
                Ok(&answer),
                rate_limited,
            );
            match self.interpret(answer, parsed, rate_limited, attempt, &mut state) {
                Step::Done(token) => return Ok(token),
                Step::Fail(error) => return Err(*error),
                Step::RetryAfter(wait) => {
                    tracing::warn!(client = %self.recorder.label, attempt, ?wait, rate_limited, "OAuth token request refused for now; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn interpret(
        &self,
        answer: Answer,
        parsed: TokenResponse,
        rate_limited: bool,
        attempt: u32,
        state: &mut AttemptState,
    ) -> Step {
        if answer.is_success() {
            return match parsed.access_token.filter(|t| !t.is_empty()) {
                Some(value) => {
                    tracing::debug!(client = %self.recorder.label, expires_in = ?parsed.expires_in, "fetched an OAuth token");
                    Step::Done(AccessToken {
                        value: Secret::new(value),
                        // Bounded by MAX_TOKEN_LIFETIME: cannot overflow the clock.
                        refresh_at: Instant::now()
                            + refresh_after(parsed.expires_in, self.refresh_margin),
                        generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
                    })
                }
                None => Step::Fail(Box::new(self.token_error(
                    &answer,
                    Some("no_access_token".into()),
                    Some("the token endpoint answered without an access_token".into()),
                    false,
                    attempt,
                ))),
            };
        }
        // The endpoint's words, cleaned and cut: they reach conditions and logs.
        let error = parsed.error.as_deref().map(|e| remote_text(e, 128));
        let description = parsed
            .error_text()
            .map(|d| remote_text(d, 1024))
            .or_else(|| body_excerpt(&answer.body, 200).filter(|_| error.is_none()))
            .or_else(|| {
                (300..400).contains(&answer.status).then(|| {
                    "a redirect, not followed: the client credentials go only to the configured host"
                        .to_string()
                })
            });
        let refused = matches!(
            error.as_deref(),
            Some("invalid_client" | "unauthorized_client")
        ) || (answer.status == 401 && !rate_limited);
        if refused {
            return Step::Fail(Box::new(GenesysError::CredentialsRejected {
                client_id: self.credentials.client_id.clone(),
                token_url: self.token_url.clone(),
                status: answer.status,
                error: error.unwrap_or_else(|| "invalid_client".into()),
                description,
                correlation_id: answer.correlation_id,
            }));
        }
        let failure = if rate_limited {
            Failure::Status {
                status: 429,
                retry_after: answer
                    .retry_after
                    .or_else(|| description.as_deref().and_then(delay_in_text)),
            }
        } else {
            Failure::Status {
                status: answer.status,
                retry_after: answer.retry_after,
            }
        };
        match decide(&self.retry, state, failure, jitter()) {
            Decision::Retry(wait) => Step::RetryAfter(wait),
            _ => Step::Fail(Box::new(self.token_error(
                &answer,
                error,
                description,
                rate_limited,
                attempt,
            ))),
        }
    }

    fn token_error(
        &self,
        answer: &Answer,
        error: Option<String>,
        description: Option<String>,
        rate_limited: bool,
        attempts: u32,
    ) -> GenesysError {
        GenesysError::Token {
            token_url: self.token_url.clone(),
            status: answer.status,
            error,
            description,
            rate_limited,
            attempts,
            correlation_id: answer.correlation_id.clone(),
        }
    }
}

enum Step {
    Done(AccessToken),
    Fail(Box<GenesysError>),
    RetryAfter(Duration),
}

/// A uniform random number in [0, 1) for backoff jitter.
pub(crate) fn jitter() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_before_they_expire() {
        let margin = Duration::from_secs(300);
        // A day-long token: five minutes early.
        assert_eq!(
            refresh_after(Some(86_400), margin),
            Duration::from_secs(86_100)
        );
        // A short token: a fifth of its life early, never refetched at once.
        assert_eq!(refresh_after(Some(10), margin), Duration::from_secs(8));
        assert_eq!(refresh_after(Some(1), margin), Duration::from_millis(800));
        assert_eq!(refresh_after(Some(0), margin), Duration::ZERO);
        // No expires_in: Genesys's default lifetime.
        assert_eq!(refresh_after(None, margin), Duration::from_secs(86_100));
    }

    /// Issue 11: `expires_in: u64::MAX` overflowed `Instant + Duration`. Any lifetime
    /// the endpoint claims is capped at 48 h.
    #[test]
    fn absurd_token_lifetimes_are_capped_at_48_hours() {
        let margin = Duration::from_secs(300);
        let capped = MAX_TOKEN_LIFETIME - margin;
        for huge in [
            u64::MAX,
            u64::MAX / 2,
            i64::MAX as u64,
            172_801,
            10_u64.pow(12),
        ] {
            assert_eq!(refresh_after(Some(huge), margin), capped, "{huge}");
            // What `interpret` does with it: no overflow.
            let _ = Instant::now() + refresh_after(Some(huge), Duration::MAX);
        }
        assert_eq!(refresh_after(Some(172_800), margin), capped);
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let t = AccessToken {
            value: Secret::new("bearer-secret-value"),
            refresh_at: Instant::now(),
            generation: 3,
        };
        let text = format!("{t:?}");
        assert!(!text.contains("bearer-secret-value"), "{text}");
        assert!(text.contains("generation: 3"));
    }
}
