//! A hook that sees every HTTP call the client makes (each attempt, token requests
//! included), so the operator can export "API calls by endpoint and status" without the
//! client depending on a metrics library.
//!
//! Endpoints are reported as templates (`/api/v2/orgauthorization/trustees/{trusteeOrgId}`),
//! never with IDs filled in, so label cardinality stays bounded and no identifier leaks
//! into metrics.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// 2xx.
    Success,
    /// 429, or the token endpoint's rate-limit 400.
    RateLimited,
    /// Any other non-2xx answer.
    HttpError,
    /// The request timeout elapsed.
    Timeout,
    /// No answer: connection refused, reset, TLS failure.
    TransportError,
}

impl CallOutcome {
    /// A short label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Success => "success",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::HttpError => "http_error",
            CallOutcome::Timeout => "timeout",
            CallOutcome::TransportError => "transport_error",
        }
    }
}

impl fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord<'a> {
    /// The client's label (see `GenesysConfig::label`), e.g. the Organization's
    /// `namespace/name`.
    pub(crate) client: &'a str,
    /// `GET`, `POST`, …
    pub(crate) method: &'a str,
    /// The endpoint template, e.g. `/api/v2/telephony/organization/link/{targetOrganizationId}`,
    /// or `/oauth/token`.
    pub endpoint: &'static str,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub(crate) outcome: CallOutcome,
    /// 1 for the first attempt of a request, 2 for its first retry, …
    pub attempt: u32,
    /// Time from sending to the answer (or the failure).
    pub duration: Duration,
}

/// Receives a [`CallRecord`] per attempt. Called inline on the request path: keep it
/// cheap (increment counters, no I/O).
pub trait CallObserver: Send + Sync {
    fn on_call(&self, record: &CallRecord<'_>);
}

impl<F> CallObserver for F
where
    F: Fn(&CallRecord<'_>) + Send + Sync,
{
    fn on_call(&self, record: &CallRecord<'_>) {
        self(record)
    }
}

/// A shared observer.
pub(crate) type SharedObserver = Arc<dyn CallObserver>;

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[test]
    fn closures_are_observers() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let observer: SharedObserver = Arc::new(move |r: &CallRecord<'_>| {
            sink.lock().push(format!(
                "{} {} {:?} {}",
                r.method, r.endpoint, r.status, r.outcome
            ))
        });
        observer.on_call(&CallRecord {
            client: "ns/acme",
            method: "GET",
            endpoint: "/api/v2/organizations/me",
            status: Some(200),
            outcome: CallOutcome::Success,
            attempt: 1,
            duration: Duration::from_millis(3),
        });
        assert_eq!(
            *seen.lock(),
            vec!["GET /api/v2/organizations/me Some(200) success".to_string()]
        );
    }
}
