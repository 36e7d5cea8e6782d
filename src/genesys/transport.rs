//! Sending one API request the way every request is sent: take a slot from the org's
//! rate limiter, attach the cached bearer token, send, and on failure follow the retry
//! policy ([`super::retry`]) — a 401 refreshes the token once, a 429 pauses the whole
//! org's bucket for `Retry-After`, 5xx and connection errors back off.

use reqwest::Method;
use tokio::time::Instant;

use super::auth::{TokenProvider, jitter};
use super::config::Endpoints;
use super::error::{ApiError, GenesysError};
use super::http::{Answer, Recorder, SendError, body_excerpt, classify_transport, send};
use super::models::ErrorBody;
use super::ratelimit::RateLimiter;
use super::retry::{AttemptState, Decision, Failure, RetryConfig, TransportKind, decide};

/// One API request: the endpoint template with its path arguments, query and JSON body.
#[derive(Clone, Debug)]
pub(crate) struct ApiRequest<'a> {
    pub(crate) method: Method,
    /// E.g. `/api/v2/orgauthorization/trustees/{trusteeOrgId}`.
    pub(crate) endpoint: &'static str,
    pub(crate) args: &'a [&'a str],
    pub(crate) query: Vec<(&'static str, String)>,
    /// Serialized JSON.
    pub(crate) body: Option<Vec<u8>>,
}

impl<'a> ApiRequest<'a> {
    pub(crate) fn new(method: Method, endpoint: &'static str, args: &'a [&'a str]) -> Self {
        ApiRequest {
            method,
            endpoint,
            args,
            query: Vec::new(),
            body: None,
        }
    }
}

/// What all clones of one org's client share.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoints: Endpoints,
    pub(crate) retry: RetryConfig,
    pub(crate) limiter: RateLimiter,
    pub(crate) auth: TokenProvider,
    pub(crate) recorder: Recorder,
}

impl Transport {
    /// Sends `request` until it succeeds or the policy gives up. A success is any 2xx
    /// answer; everything else becomes an error that keeps Genesys's details.
    pub(crate) async fn execute(&self, request: &ApiRequest<'_>) -> Result<Answer, GenesysError> {
        let url = self
            .endpoints
            .api_url(request.endpoint, request.args)
            .map_err(GenesysError::InvalidArgument)?;
        let method = request.method.as_str();
        let mut state = AttemptState::default();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.limiter.acquire().await;
            let token = self.auth.token().await?;
            let mut builder = self
                .http
                .request(request.method.clone(), &url)
                .bearer_auth(token.secret())
                .header(reqwest::header::ACCEPT, "application/json");
            if !request.query.is_empty() {
                builder = builder.query(&request.query);
            }
            if let Some(body) = &request.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let started = Instant::now();
            let result = send(builder).await;
            let elapsed = started.elapsed();
            match result {
                Ok(answer) => {
                    self.recorder.record(
                        method,
                        request.endpoint,
                        attempt,
                        elapsed,
                        Ok(&answer),
                        false,
                    );
                    if answer.is_success() {
                        tracing::trace!(client = %self.recorder.label, method, endpoint = request.endpoint, status = answer.status, attempt, "Genesys call");
                        return Ok(answer);
                    }
                    let failure = Failure::Status {
                        status: answer.status,
                        retry_after: answer.retry_after,
                    };
                    match decide(&self.retry, &mut state, failure, jitter()) {
                        Decision::RefreshTokenAndRetry => {
                            tracing::debug!(client = %self.recorder.label, method, endpoint = request.endpoint, "401 from Genesys Cloud; fetching a new token");
                            self.auth.invalidate(&token).await;
                        }
                        Decision::Retry(wait) => {
                            if answer.status == 429 {
                                // Hold every call of this org, not just this one.
                                // `wait`, not the raw header: the policy bounded it.
                                self.limiter.pause_for(wait);
                            }
                            tracing::warn!(
                                client = %self.recorder.label, method, endpoint = request.endpoint,
                                status = answer.status, attempt, wait_ms = wait.as_millis() as u64,
                                correlation_id = answer.correlation_id.as_deref().unwrap_or(""),
                                "Genesys Cloud call failed; retrying"
                            );
                            tokio::time::sleep(wait).await;
                        }
                        Decision::GiveUp(reason) => {
                            tracing::debug!(client = %self.recorder.label, method, endpoint = request.endpoint, status = answer.status, attempt, ?reason, "Genesys Cloud call failed");
                            return Err(
                                api_error(method, request.endpoint, &answer, attempt).into()
                            );
                        }
                    }
                }
                Err(SendError::BodyTooLarge {
                    status,
                    limit,
                    correlation_id,
                }) => {
                    self.recorder.record(
                        method,
                        request.endpoint,
                        attempt,
                        elapsed,
                        Err(TransportKind::BodyTooLarge),
                        false,
                    );
                    return Err(GenesysError::BodyTooLarge {
                        method: method.to_string(),
                        endpoint: request.endpoint,
                        status,
                        limit,
                        correlation_id,
                    });
                }
                Err(SendError::Http(error)) => {
                    let kind = classify_transport(&error);
                    self.recorder.record(
                        method,
                        request.endpoint,
                        attempt,
                        elapsed,
                        Err(kind),
                        false,
                    );
                    match decide(&self.retry, &mut state, Failure::Transport(kind), jitter()) {
                        Decision::Retry(wait) => {
                            tracing::warn!(client = %self.recorder.label, method, endpoint = request.endpoint, ?kind, attempt, wait_ms = wait.as_millis() as u64, "Genesys Cloud unreachable; retrying");
                            tokio::time::sleep(wait).await;
                        }
                        _ => {
                            return Err(GenesysError::Transport {
                                method: method.to_string(),
                                endpoint: request.endpoint,
                                kind,
                                attempts: attempt,
                                source: error,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// The most of a Genesys error `code` kept (real ones are like `not.found`).
const MAX_CODE_BYTES: usize = 128;
/// The most of a Genesys error `message` kept: it goes into conditions, Events and logs.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Text from a remote made safe for a log line or a condition: control characters
/// replaced (no forged log lines, no terminal escapes), cut to `max` bytes.
pub(crate) fn remote_text(text: &str, max: usize) -> String {
    crate::api::text::clean(&crate::api::text::truncate(text, max)).into_owned()
}

/// The error for a final non-success answer: Genesys's `ErrorBody` when the body is
/// one, else an excerpt of whatever came back (a proxy's HTML page, say).
pub(crate) fn api_error(
    method: &str,
    endpoint: &'static str,
    answer: &Answer,
    attempts: u32,
) -> ApiError {
    let body: Option<ErrorBody> = serde_json::from_slice(&answer.body)
        .ok()
        .filter(|b: &ErrorBody| b.code.is_some() || b.message.is_some());
    let (code, message) = match &body {
        Some(b) => (
            b.code.as_deref().map(|c| remote_text(c, MAX_CODE_BYTES)),
            b.message
                .as_deref()
                .map(|m| remote_text(m, MAX_MESSAGE_BYTES)),
        ),
        None if (300..400).contains(&answer.status) => (
            None,
            Some(
                "a redirect, not followed: credentials and tokens go only to the configured host"
                    .to_string(),
            ),
        ),
        None => (None, body_excerpt(&answer.body, 200)),
    };
    ApiError {
        method: method.to_string(),
        endpoint,
        status: answer.status,
        code,
        message,
        correlation_id: answer
            .correlation_id
            .clone()
            .or_else(|| body.as_ref().and_then(|b| b.context_id.clone())),
        body,
        retry_after: answer.retry_after,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str, correlation: Option<&str>) -> Answer {
        Answer {
            status,
            correlation_id: correlation.map(str::to_string),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_bodies_become_api_errors_with_correlation() {
        let a = answer(
            409,
            r#"{"message":"already linked","code":"conflict","status":409,"contextId":"ctx-1","details":[],"errors":[]}"#,
            Some("hdr-1"),
        );
        let e = api_error("POST", "/api/v2/telephony/organization/link", &a, 1);
        assert_eq!(e.code.as_deref(), Some("conflict"));
        assert_eq!(e.message.as_deref(), Some("already linked"));
        // The header wins; the body's contextId is the fallback.
        assert_eq!(e.correlation_id.as_deref(), Some("hdr-1"));
        let a = answer(
            409,
            r#"{"message":"m","code":"c","contextId":"ctx-1"}"#,
            None,
        );
        assert_eq!(
            api_error("POST", "/x", &a, 1).correlation_id.as_deref(),
            Some("ctx-1")
        );
    }

    #[test]
    fn hostile_error_bodies_are_cut_and_cleaned() {
        let long = format!(
            r#"{{"message":"{}\nINFO forged line \u001b[2J","code":"{}"}}"#,
            "m".repeat(10_000),
            "c".repeat(1_000)
        );
        let e = api_error("GET", "/x", &answer(400, &long, None), 1);
        let m = e.message.unwrap();
        assert!(m.len() <= MAX_MESSAGE_BYTES && !m.chars().any(char::is_control));
        assert!(e.code.unwrap().len() <= MAX_CODE_BYTES);
        let e = api_error("GET", "/x", &answer(502, "a\r\nb\u{1b}[31m", None), 1);
        assert_eq!(e.message.as_deref(), Some("a\u{FFFD}\u{FFFD}b\u{FFFD}[31m"));
    }

    #[test]
    fn non_json_bodies_are_kept_as_an_excerpt() {
        let a = answer(502, "<html>Bad Gateway</html>", None);
        let e = api_error("GET", "/api/v2/organizations/me", &a, 5);
        assert_eq!(e.code, None);
        assert_eq!(e.message.as_deref(), Some("<html>Bad Gateway</html>"));
        assert_eq!(e.attempts, 5);
        let empty = api_error("GET", "/x", &answer(500, "", None), 1);
        assert_eq!(empty.message, None);
    }
}
