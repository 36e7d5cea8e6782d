//! Errors in the shape Genesys Cloud answers them: an `ErrorBody` (genesys-api.md §6.1)
//! with `message`, `code`, `status`, `contextId`, `details` and `errors`, and the
//! correlation ID that also travels in the `ININ-Correlation-Id` header.
//!
//! The rules in [`super::state`] return [`ApiError`] directly: a rule's outcome *is* a
//! status and a code, and keeping that mapping next to the rule makes it reviewable.
//!
//! Codes used (modelled on the codes Genesys returns; the 429 one is verified, the others
//! follow the platform's dotted naming):
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `bad.request` | malformed body, unknown user/group/role, a grant division neither `"*"` nor the trustor's, limits (25 users), same-region rule |
//! | 400 | `pairing.expired` | a pairing older than 48 h used to create a trust |
//! | 401 | `authentication.required` | no bearer token |
//! | 401 | `bad.credentials` | unknown, expired or other-region token |
//! | 403 | `not.authorized` | the requester of a link tries to approve or reject it |
//! | 404 | `not.found` | no such org, link, pairing, trust, member or route |
//! | 404 | `pairing.expired` | `GET /pairings/{id}` after the 48 h |
//! | 409 | `conflict` | duplicate link request, second trust for the same pair, member already in a trust |
//! | 429 | `too.many.requests.retry.after` | rate limit (with `Retry-After`) |
//! | 5xx | `internal.server.error`, `bad.gateway`, `service.unavailable`, `gateway.timeout` | injected faults |

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The response header carrying the correlation ID.
pub(crate) const CORRELATION_HEADER: &str = "ININ-Correlation-Id";

tokio::task_local! {
    /// The correlation ID of the request being served; set by the correlation middleware
    /// so error bodies can carry it as `contextId`.
    pub(crate) static CORRELATION_ID: String;
}

/// The correlation ID of the current request (a fresh one outside a request).
pub(crate) fn current_correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

pub(crate) use crate::genesys::models::ErrorDetail;

/// A Genesys-style API error: HTTP status, dotted code, human message and details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: Cow<'static, str>,
    pub(crate) message: String,
    pub(crate) details: Vec<ErrorDetail>,
    /// Extra headers, e.g. `Retry-After` on a 429.
    pub(crate) retry_after_secs: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// 400 `bad.request`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    /// 400 `bad.request` naming the offending field in `details[0].fieldName`.
    pub(crate) fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self::bad_request(format!("{field}: {message}")).with_detail(ErrorDetail {
            error_code: Some("invalid.value".into()),
            field_name: Some(field),
            entity_id: None,
            entity_name: None,
        })
    }

    /// 404 `not.found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    /// 409 `conflict`.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 403 `not.authorized`.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "not.authorized", message)
    }

    /// 401 `authentication.required`: no bearer token at all.
    pub(crate) fn authentication_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
    }

    /// 401 `bad.credentials`: a token that is unknown, expired or from another region.
    pub(crate) fn bad_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        )
    }

    /// 429 with the normalized Genesys body and `Retry-After` (genesys-api.md §6.2).
    pub(crate) fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests.retry.after",
            format!(
                "Rate limit exceeded the maximum. Retry the request in [{retry_after_secs}] seconds"
            ),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    /// An injected server error with the code Genesys uses for that status.
    pub(crate) fn server_error(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            502 => ("bad.gateway", "Bad gateway."),
            503 => (
                "service.unavailable",
                "The service is currently unavailable.",
            ),
            504 => ("gateway.timeout", "The request timed out."),
            _ => (
                "internal.server.error",
                "The server encountered an unexpected error.",
            ),
        };
        Self::new(status, code, message)
    }

    pub(crate) fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.details.push(detail);
        self
    }

    /// Adds a detail naming the entity the error is about.
    pub(crate) fn with_entity(mut self, id: impl Into<String>, name: Option<String>) -> Self {
        self.details.push(ErrorDetail {
            error_code: Some(self.code.to_string()),
            field_name: None,
            entity_id: Some(id.into()),
            entity_name: name,
        });
        self
    }

    /// The JSON body Genesys would send, with `contextId` set to `correlation_id`.
    pub(crate) fn body(&self, correlation_id: &str) -> ErrorBodyOut<'_> {
        ErrorBodyOut {
            message: &self.message,
            code: &self.code,
            status: self.status.as_u16(),
            context_id: correlation_id.to_string(),
            details: &self.details,
            errors: Vec::new(),
        }
    }
}

/// The serialized `ErrorBody` (only the fields the simulator fills). Not the shared
/// [`crate::genesys::models::ErrorBody`]: that one omits empty `details` and `errors`,
/// while Genesys sends them as `[]` (see the normalized 429 body in genesys-api.md §6.2).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBodyOut<'a> {
    pub(crate) message: &'a str,
    pub(crate) code: &'a str,
    pub(crate) status: u16,
    pub(crate) context_id: String,
    pub(crate) details: &'a [ErrorDetail],
    pub(crate) errors: Vec<serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let correlation_id = current_correlation_id();
        let mut response = (self.status, Json(self.body(&correlation_id))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_body_is_the_normalized_genesys_429() {
        let err = ApiError::too_many_requests(42);
        let json = serde_json::to_value(err.body("corr-1")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "message": "Rate limit exceeded the maximum. Retry the request in [42] seconds",
                "code": "too.many.requests.retry.after",
                "status": 429,
                "contextId": "corr-1",
                "details": [],
                "errors": []
            })
        );
    }

    #[test]
    fn field_errors_name_the_field_in_message_and_details() {
        let err = ApiError::bad_field("userIds[3]", "no such user");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.message, "userIds[3]: no such user");
        assert_eq!(err.details[0].field_name.as_deref(), Some("userIds[3]"));
    }

    #[tokio::test]
    async fn into_response_uses_the_request_correlation_id_and_sets_retry_after() {
        let response = CORRELATION_ID
            .scope("abc".to_string(), async {
                ApiError::too_many_requests(7).into_response()
            })
            .await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["contextId"], "abc");
    }
}
