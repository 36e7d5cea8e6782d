//! The HTTP plumbing shared by the token endpoint and the API: building the reqwest
//! client, reading an answer (status, correlation ID, `Retry-After`, body), classifying
//! transport failures and reporting each attempt to the observer.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::config::GenesysConfig;
use super::error::{CORRELATION_HEADER, GenesysError};
use super::metrics::{CallOutcome, CallRecord, SharedObserver};
use super::retry::{TransportKind, parse_retry_after};
use crate::runtime::tls::ensure_crypto_provider;

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("orglink-operator/", env!("CARGO_PKG_VERSION"));

/// Reqwest clients shared by the org clients of one operator, one per pair of timeouts
/// (reqwest's advice: a `Client` holds a connection pool and its TLS settings, and is
/// meant to be reused). A client per org loaded the system's root certificates into a
/// verifier of its own each time: 6.6 MiB of the `memory` bench's heap for 100 orgs.
/// Sharing a pool across orgs shares connections to the same host only; every request
/// carries its own org's token, and no cookie or other state is kept between requests.
///
/// Owned by whoever runs the org clients (the operator's context), not process-wide: a
/// reqwest client's connections belong to the tokio runtime that opened them.
#[derive(Default)]
pub struct SharedHttp {
    clients: Mutex<BTreeMap<(Duration, Duration), reqwest::Client>>,
}

impl SharedHttp {
    fn client_for(&self, config: &GenesysConfig) -> Result<reqwest::Client, GenesysError> {
        let key = (config.timeout, config.connect_timeout);
        let mut clients = self.clients.lock();
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = new_http_client(config)?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// The reqwest client of an org client: the shared one for its timeouts when `config`
/// names a [`SharedHttp`], else one of its own (clones of the org client share it).
pub(crate) fn build_http_client(config: &GenesysConfig) -> Result<reqwest::Client, GenesysError> {
    match &config.shared_http {
        Some(shared) => shared.client_for(config),
        None => new_http_client(config),
    }
}

fn new_http_client(config: &GenesysConfig) -> Result<reqwest::Client, GenesysError> {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        // Genesys never redirects API calls; a redirect would carry the bearer token to
        // an unknown place.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| GenesysError::Config(format!("cannot build the HTTP client: {e}")))
}

/// An HTTP answer, read in full.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) correlation_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The most of a body read: 4 MiB. Genesys's largest answers (a page of 500 entities)
/// are well under 1 MiB; a body beyond this is refused, not buffered.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The most of a correlation ID kept (Genesys's are UUIDs, 36 characters).
const MAX_CORRELATION_ID: usize = 128;

/// Why [`send`] has no [`Answer`].
#[derive(Debug)]
pub(crate) enum SendError {
    /// No HTTP answer (connect, timeout, reset, …).
    Http(reqwest::Error),
    /// An answer whose body is (or says it is, by `Content-Length`) larger than
    /// `limit` bytes: reading stopped there.
    BodyTooLarge {
        status: u16,
        limit: usize,
        correlation_id: Option<String>,
    },
}

impl From<reqwest::Error> for SendError {
    fn from(error: reqwest::Error) -> Self {
        SendError::Http(error)
    }
}

/// Sends `request` and reads the answer, at most [`MAX_BODY_BYTES`] of it (the
/// client's timeout covers both).
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, SendError> {
    send_capped(request, MAX_BODY_BYTES).await
}

/// [`send`] with the body capped at `limit` bytes: refused at once when
/// `Content-Length` says more, else read chunk by chunk and abandoned as soon as it
/// passes the limit — a hostile server cannot make the operator buffer more.
pub(crate) async fn send_capped(
    request: reqwest::RequestBuilder,
    limit: usize,
) -> Result<Answer, SendError> {
    let mut response = request.send().await?;
    let status = response.status().as_u16();
    let (correlation_id, retry_after) = read_headers(response.headers());
    let too_large = |correlation_id| SendError::BodyTooLarge {
        status,
        limit,
        correlation_id,
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large(correlation_id));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if chunk.len() > limit.saturating_sub(body.len()) {
            return Err(too_large(correlation_id));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        correlation_id,
        retry_after,
        body,
    })
}

fn read_headers(headers: &HeaderMap) -> (Option<String>, Option<Duration>) {
    // `to_str` admits visible ASCII only, so no control character gets through.
    let correlation_id = headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_CORRELATION_ID).collect());
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    (correlation_id, retry_after)
}

/// What kind of transport failure `error` is (see [`TransportKind`]).
pub(crate) fn classify_transport(error: &reqwest::Error) -> TransportKind {
    if error.is_builder() {
        TransportKind::Builder
    } else if error.is_redirect() {
        TransportKind::Redirect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else if is_certificate_error(error) {
        TransportKind::Certificate
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    }
}

/// True when a rustls certificate error is somewhere in the source chain.
fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let rustls_error = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if matches!(
            rustls_error,
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        ) {
            return true;
        }
        current = e.source();
    }
    false
}

/// Reports attempts to the configured observer, under the client's label.
#[derive(Clone)]
pub(crate) struct Recorder {
    pub(crate) label: std::sync::Arc<str>,
    pub(crate) observer: Option<SharedObserver>,
}

impl Recorder {
    pub(crate) fn record(
        &self,
        method: &str,
        endpoint: &'static str,
        attempt: u32,
        duration: Duration,
        result: Result<&Answer, TransportKind>,
        rate_limited: bool,
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let (status, outcome) = match result {
            Ok(a) if a.is_success() => (Some(a.status), CallOutcome::Success),
            Ok(a) if rate_limited || a.status == 429 => (Some(a.status), CallOutcome::RateLimited),
            Ok(a) => (Some(a.status), CallOutcome::HttpError),
            Err(TransportKind::Timeout) => (None, CallOutcome::Timeout),
            Err(_) => (None, CallOutcome::TransportError),
        };
        observer.on_call(&CallRecord {
            client: &self.label,
            method,
            endpoint,
            status,
            outcome,
            attempt,
            duration,
        });
    }
}

/// The first `max` characters of a non-JSON body, for an error message, with control
/// characters replaced (see [`crate::api::text::clean`]): a body is the remote's text.
pub(crate) fn body_excerpt(body: &[u8], max: usize) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(max.saturating_mul(4))]);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut excerpt: String = text.chars().take(max).collect();
    if text.chars().count() > max || body.len() > max.saturating_mul(4) {
        excerpt.push('…');
    }
    Some(crate::api::text::clean(&excerpt).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn org_clients_with_the_same_timeouts_share_one_http_client() {
        let shared = std::sync::Arc::new(SharedHttp::default());
        let config = |id: &str| {
            GenesysConfig::new(
                crate::api::Region::UsEast1,
                super::super::Credentials::new(id.to_string(), "s".to_string()),
            )
            .with_shared_http(shared.clone())
        };
        build_http_client(&config("a")).unwrap();
        build_http_client(&config("b")).unwrap();
        assert_eq!(shared.clients.lock().len(), 1);
        build_http_client(&config("c").with_timeout(Duration::from_secs(5))).unwrap();
        assert_eq!(shared.clients.lock().len(), 2);
        // Without a SharedHttp, a client of its own.
        let alone = GenesysConfig::new(
            crate::api::Region::UsEast1,
            super::super::Credentials::new("d".to_string(), "s".to_string()),
        );
        build_http_client(&alone).unwrap();
        assert_eq!(shared.clients.lock().len(), 2);
    }

    #[test]
    fn headers_give_correlation_and_retry_after() {
        let mut h = HeaderMap::new();
        h.insert("inin-correlation-id", HeaderValue::from_static("abc-123"));
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            read_headers(&h),
            (Some("abc-123".into()), Some(Duration::from_secs(7)))
        );
        assert_eq!(read_headers(&HeaderMap::new()), (None, None));
    }

    #[test]
    fn excerpts_are_trimmed_and_bounded() {
        assert_eq!(body_excerpt(b"  \n", 10), None);
        assert_eq!(
            body_excerpt(b"<html>bad gateway</html>", 6).unwrap(),
            "<html>…"
        );
        assert_eq!(body_excerpt(b"short", 10).unwrap(), "short");
    }

    #[test]
    fn certificate_errors_are_found_in_the_chain() {
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(is_certificate_error(&io));
        let other = std::io::Error::other("connection reset");
        assert!(!is_certificate_error(&other));
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_retryable_connect_error() {
        // Bind then drop a listener: its port now refuses connections.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        ensure_crypto_provider();
        let err = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        let kind = classify_transport(&err);
        assert_eq!(kind, TransportKind::Connect);
        assert!(kind.is_retryable());
    }
}
