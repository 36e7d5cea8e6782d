//! The client's errors. They keep what Genesys said (status, `code`, `message`) and the
//! correlation ID (`ININ-Correlation-Id`, or the body's `contextId`) that Genesys support
//! asks for, and offer the questions the controllers ask (`is_not_found`, …).
//!
//! No variant ever holds a secret: tokens and client secrets travel only in headers, and
//! a URL is only formatted after its credentials were refused at configuration time.

use std::fmt;
use std::time::Duration;

use super::models::ErrorBody;
use super::retry::TransportKind;

/// The header Genesys puts the correlation ID in.
pub(crate) const CORRELATION_HEADER: &str = "ININ-Correlation-Id";

/// A non-success answer of the API (`/api/v2/...`), after retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) method: String,
    /// The endpoint template, e.g. `/api/v2/orgauthorization/pairings/{pairingId}`.
    pub(crate) endpoint: &'static str,
    pub(crate) status: u16,
    /// The Genesys error code, e.g. `not.found`, `too.many.requests.retry.after`.
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    /// From the `ININ-Correlation-Id` header, else the body's `contextId`.
    pub(crate) correlation_id: Option<String>,
    /// The whole error body, when it was one.
    pub(crate) body: Option<ErrorBody>,
    /// The `Retry-After` of the last answer.
    pub(crate) retry_after: Option<Duration>,
    /// How many times the request was sent.
    pub attempts: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Genesys Cloud answered {} {} with HTTP {}",
            self.method, self.endpoint, self.status
        )?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(ra) = self.retry_after {
            write!(f, " (retry after {} s)", ra.as_secs())?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " [correlation ID {id}]")?;
        }
        Ok(())
    }
}

/// Everything a Genesys call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GenesysError {
    /// The client settings are unusable (the message names the field).
    #[error("invalid Genesys Cloud client settings: {0}")]
    Config(String),

    /// A call was given an unusable argument, e.g. an empty ID.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The token endpoint refused the OAuth client (`invalid_client`): wrong ID or
    /// secret, or a client of an org in another region. Not retried.
    #[error(
        "Genesys Cloud rejected OAuth client {client_id:?} at {token_url} (HTTP {status} {error}{}); check clientId and clientSecret, and that the client belongs to an organization in this region",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    CredentialsRejected {
        client_id: String,
        token_url: String,
        status: u16,
        error: String,
        description: Option<String>,
        correlation_id: Option<String>,
    },

    /// The token endpoint failed otherwise (after retries where they apply).
    #[error(
        "OAuth token request to {token_url} failed with HTTP {status}{}{}{}",
        error.as_deref().map(|e| format!(" {e}")).unwrap_or_default(),
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
        if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
    )]
    Token {
        token_url: String,
        status: u16,
        error: Option<String>,
        description: Option<String>,
        /// The answer was the token endpoint's rate limit.
        rate_limited: bool,
        attempts: u32,
        correlation_id: Option<String>,
    },

    /// The API answered with a non-success status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// No HTTP answer (after retries where they apply).
    #[error("{method} {endpoint}: {} error after {attempts} attempt(s): {source}", kind.as_str())]
    Transport {
        method: String,
        endpoint: &'static str,
        kind: TransportKind,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// An answer larger than the client reads ([`super::http::MAX_BODY_BYTES`]);
    /// reading stopped at the limit. Not retried.
    #[error(
        "{method} {endpoint}: HTTP {status} answer is larger than {limit} bytes; not read{}",
        correlation_id.as_deref().map(|id| format!(" [correlation ID {id}]")).unwrap_or_default()
    )]
    BodyTooLarge {
        method: String,
        endpoint: &'static str,
        status: u16,
        limit: usize,
        correlation_id: Option<String>,
    },

    /// A paged listing that did not end within [`super::paging::MAX_PAGES`] pages (a
    /// server bug or a hostile server; the loop is bounded).
    #[error(
        "{endpoint}: the listing did not end after {pages} pages; the operator reads at most {pages} pages of a listing"
    )]
    Paging { endpoint: &'static str, pages: u32 },

    /// A success answer whose body is not the documented model.
    #[error(
        "{method} {endpoint}: HTTP {status} body is not the expected JSON ({source}){}",
        correlation_id.as_deref().map(|id| format!(" [correlation ID {id}]")).unwrap_or_default()
    )]
    Decode {
        method: String,
        endpoint: &'static str,
        status: u16,
        correlation_id: Option<String>,
        #[source]
        source: serde_json::Error,
    },
}

impl From<ApiError> for GenesysError {
    fn from(e: ApiError) -> Self {
        GenesysError::Api(Box::new(e))
    }
}

impl GenesysError {
    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            GenesysError::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the final answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GenesysError::Api(e) => Some(e.status),
            GenesysError::CredentialsRejected { status, .. }
            | GenesysError::Token { status, .. }
            | GenesysError::Decode { status, .. }
            | GenesysError::BodyTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Genesys error code (`not.found`, …) or OAuth error (`invalid_client`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            GenesysError::Api(e) => e.code.as_deref(),
            GenesysError::CredentialsRejected { error, .. } => Some(error),
            GenesysError::Token { error, .. } => error.as_deref(),
            _ => None,
        }
    }

    /// The Genesys message of an API error.
    pub fn message(&self) -> Option<&str> {
        self.api().and_then(|e| e.message.as_deref())
    }

    /// The correlation ID to quote to Genesys support.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            GenesysError::Api(e) => e.correlation_id.as_deref(),
            GenesysError::CredentialsRejected { correlation_id, .. }
            | GenesysError::Token { correlation_id, .. }
            | GenesysError::Decode { correlation_id, .. }
            | GenesysError::BodyTooLarge { correlation_id, .. } => correlation_id.as_deref(),
            _ => None,
        }
    }

    fn api_status_is(&self, status: u16) -> bool {
        self.api().is_some_and(|e| e.status == status)
    }

    /// 404 from the API.
    pub fn is_not_found(&self) -> bool {
        self.api_status_is(404)
    }

    /// 409 from the API.
    pub fn is_conflict(&self) -> bool {
        self.api_status_is(409)
    }

    /// 400 from the API.
    pub fn is_bad_request(&self) -> bool {
        self.api_status_is(400)
    }

    /// 403 from the API (the OAuth client lacks a permission).
    pub fn is_forbidden(&self) -> bool {
        self.api_status_is(403)
    }

    /// 401 from the API even with a fresh token: the token is valid somewhere else — the
    /// `RegionMismatch` case of api.md when the login host accepted the client.
    pub(crate) fn is_unauthorized(&self) -> bool {
        self.api_status_is(401)
    }

    /// Rate limited: a 429 not (or no longer) waited for, or the token endpoint's limit.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            GenesysError::Api(e) => e.status == 429,
            GenesysError::Token { rate_limited, .. } => *rate_limited,
            _ => false,
        }
    }

    /// The OAuth client was refused (`invalid_client`).
    pub fn is_credentials_rejected(&self) -> bool {
        matches!(self, GenesysError::CredentialsRejected { .. })
    }

    /// A failure that may pass by itself: 5xx, 429, timeouts and connection errors.
    /// The controllers requeue these with backoff rather than report a spec problem.
    pub fn is_transient(&self) -> bool {
        match self {
            GenesysError::Api(e) => e.status == 429 || e.status >= 500,
            GenesysError::Token {
                status,
                rate_limited,
                ..
            } => *rate_limited || *status >= 500,
            GenesysError::Transport { kind, .. } => kind.is_retryable(),
            _ => false,
        }
    }

    /// The `Retry-After` Genesys asked for, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|e| e.retry_after)
    }

    /// The same error with `secret` replaced wherever a remote's text is kept (messages,
    /// descriptions, codes, decoding errors that quote a value). The client applies it
    /// to every error it returns, with the org's client secret.
    pub(crate) fn redacted(self, secret: &super::Secret) -> GenesysError {
        let r = |s: String| secret.redact(&s);
        let ro = |s: Option<String>| s.map(|s| secret.redact(&s));
        match self {
            GenesysError::Api(mut e) => {
                e.code = ro(e.code);
                e.message = ro(e.message);
                e.correlation_id = ro(e.correlation_id);
                // The whole body has too many places to hide it: drop the body instead.
                let echoed = |b: &super::models::ErrorBody| {
                    serde_json::to_string(b).is_ok_and(|json| secret.redact(&json) != json)
                };
                if e.body.as_ref().is_some_and(echoed) {
                    e.body = None;
                }
                GenesysError::Api(e)
            }
            GenesysError::CredentialsRejected {
                client_id,
                token_url,
                status,
                error,
                description,
                correlation_id,
            } => GenesysError::CredentialsRejected {
                client_id,
                token_url,
                status,
                error: r(error),
                description: ro(description),
                correlation_id: ro(correlation_id),
            },
            GenesysError::Token {
                token_url,
                status,
                error,
                description,
                rate_limited,
                attempts,
                correlation_id,
            } => GenesysError::Token {
                token_url,
                status,
                error: ro(error),
                description: ro(description),
                rate_limited,
                attempts,
                correlation_id: ro(correlation_id),
            },
            GenesysError::Decode {
                method,
                endpoint,
                status,
                correlation_id,
                source,
            } => GenesysError::Decode {
                method,
                endpoint,
                status,
                correlation_id: ro(correlation_id),
                source: <serde_json::Error as serde::de::Error>::custom(r(source.to_string())),
            },
            GenesysError::BodyTooLarge {
                method,
                endpoint,
                status,
                limit,
                correlation_id,
            } => GenesysError::BodyTooLarge {
                method,
                endpoint,
                status,
                limit,
                correlation_id: ro(correlation_id),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> GenesysError {
        ApiError {
            method: "GET".into(),
            endpoint: "/api/v2/orgauthorization/pairings/{pairingId}",
            status,
            code: Some(code.into()),
            message: Some("The pairing was not found.".into()),
            correlation_id: Some("corr-9".into()),
            body: None,
            retry_after: None,
            attempts: 1,
        }
        .into()
    }

    #[test]
    fn api_errors_keep_status_code_message_and_correlation() {
        let e = api(404, "not.found");
        assert!(e.is_not_found() && !e.is_conflict() && !e.is_transient());
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.code(), Some("not.found"));
        assert_eq!(e.correlation_id(), Some("corr-9"));
        let text = e.to_string();
        assert_eq!(
            text,
            "Genesys Cloud answered GET /api/v2/orgauthorization/pairings/{pairingId} with HTTP 404 not.found: The pairing was not found. [correlation ID corr-9]"
        );
    }

    #[test]
    fn classification_helpers() {
        assert!(api(409, "conflict").is_conflict());
        assert!(api(400, "bad.request").is_bad_request());
        assert!(api(403, "not.authorized").is_forbidden());
        assert!(api(401, "bad.credentials").is_unauthorized());
        let limited = api(429, "too.many.requests.retry.after");
        assert!(limited.is_rate_limited() && limited.is_transient());
        assert!(api(503, "service.unavailable").is_transient());
        let rejected = GenesysError::CredentialsRejected {
            client_id: "acme".into(),
            token_url: "https://login.mypurecloud.com/oauth/token".into(),
            status: 401,
            error: "invalid_client".into(),
            description: Some("client not found".into()),
            correlation_id: None,
        };
        assert!(rejected.is_credentials_rejected() && !rejected.is_transient());
        assert_eq!(rejected.code(), Some("invalid_client"));
        assert!(
            rejected
                .to_string()
                .contains("check clientId and clientSecret")
        );
        let token_limited = GenesysError::Token {
            token_url: "u".into(),
            status: 400,
            error: Some("invalid_request".into()),
            description: Some("rate limit exceeded".into()),
            rate_limited: true,
            attempts: 4,
            correlation_id: None,
        };
        assert!(token_limited.is_rate_limited() && token_limited.is_transient());
        assert_eq!(
            token_limited.to_string(),
            "OAuth token request to u failed with HTTP 400 invalid_request: rate limit exceeded after 4 attempts"
        );
    }
}
