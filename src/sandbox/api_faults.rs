//! A fault-injecting HTTPS reverse proxy in front of the sandbox's kube-apiserver, for
//! the Kubernetes-fault tests (issue 15): the operator under test gets a kubeconfig
//! pointing here, and every request it makes passes through [`FaultProxy`], which may
//! - delay it ([`ApiFaults::latency`]: a slow API server),
//! - cut an open watch after a while, abruptly, as a dropped connection or an API server
//!   going away does ([`ApiFaults::cut_watches_after`]),
//! - answer a watch that resumes from a `resourceVersion` with `410 Gone`, as the API
//!   server does when that version has been compacted: as an `ERROR` watch event with
//!   code 410 (what kube-apiserver sends) or, every other time, as an HTTP 410 response
//!   ([`ApiFaults::gone_rate`]),
//! - answer a status write (`PATCH`/`PUT` of `…/status`) with `409 Conflict` without
//!   forwarding it ([`ApiFaults::conflict_rate`]).
//!
//! Everything else is forwarded unchanged with the admin client's credentials (the proxy
//! terminates TLS with a certificate of its own CA, which the operator's kubeconfig
//! trusts). [`FaultProxy::counts`] says how many faults of each kind were injected, so a
//! test can show that they happened. The random choices come from a seed.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use axum_server::tls_rustls::RustlsConfig;
use futures::StreamExt;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::webhook::certs::WebhookCerts;

/// Which faults the proxy injects, and how often. The default injects none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApiFaults {
    /// Every request waits a random time in this range (inclusive) before it is
    /// forwarded; `None` forwards at once.
    pub latency: Option<(Duration, Duration)>,
    /// An open watch is cut after a random time in this range; `None` leaves watches
    /// to end when the API server ends them.
    pub cut_watches_after: Option<(Duration, Duration)>,
    /// The fraction of watches resuming from a `resourceVersion` answered `410 Gone`.
    pub gone_rate: f64,
    /// The fraction of status writes answered `409 Conflict`.
    pub conflict_rate: f64,
}

/// How many faults of each kind the proxy injected, and how many requests it saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub requests: u64,
    /// Requests delayed by [`ApiFaults::latency`].
    pub delayed: u64,
    /// Watches cut mid-stream.
    pub watches_cut: u64,
    /// Watches answered with an `ERROR` event of code 410.
    pub gone_events: u64,
    /// Watches answered with an HTTP 410 response.
    pub gone_responses: u64,
    /// Status writes answered `409 Conflict`.
    pub conflicts: u64,
    /// Requests the API server could not be reached for (answered 502).
    pub upstream_errors: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    delayed: AtomicU64,
    watches_cut: AtomicU64,
    gone_events: AtomicU64,
    gone_responses: AtomicU64,
    conflicts: AtomicU64,
    upstream_errors: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> FaultCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FaultCounts {
            requests: get(&self.requests),
            delayed: get(&self.delayed),
            watches_cut: get(&self.watches_cut),
            gone_events: get(&self.gone_events),
            gone_responses: get(&self.gone_responses),
            conflicts: get(&self.conflicts),
            upstream_errors: get(&self.upstream_errors),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What a request is, as far as the faults care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// `GET …?watch=true`, resuming from `resourceVersion` when it names one (not
    /// empty, not `0`, which mean "any").
    Watch {
        resumes: bool,
    },
    /// `PATCH` or `PUT` of a `…/status` subresource.
    StatusWrite,
    Other,
}

/// Classifies a request by its method and URI.
pub fn classify(method: &Method, uri: &Uri) -> RequestKind {
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if method == Method::GET && matches!(param("watch"), Some("true" | "1")) {
        let resumes = param("resourceVersion").is_some_and(|rv| !rv.is_empty() && rv != "0");
        return RequestKind::Watch { resumes };
    }
    if (method == Method::PATCH || method == Method::PUT) && uri.path().ends_with("/status") {
        return RequestKind::StatusWrite;
    }
    RequestKind::Other
}

/// The fault chosen for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Forward it; a watch is cut after `cut_after` when set.
    Forward { cut_after: Option<Duration> },
    /// Answer a watch with an `ERROR` event of code 410.
    GoneEvent,
    /// Answer a watch with HTTP 410.
    GoneResponse,
    /// Answer a status write with 409.
    Conflict,
}

/// Chooses the fault for a request of `kind` under `faults`. `gone_as_event` picks the
/// form of a 410 (the caller alternates it).
pub fn choose(
    kind: &RequestKind,
    faults: &ApiFaults,
    rng: &mut impl Rng,
    gone_as_event: bool,
) -> Fault {
    match kind {
        RequestKind::Watch { resumes } => {
            if *resumes && faults.gone_rate > 0.0 && rng.random_bool(faults.gone_rate.min(1.0)) {
                return if gone_as_event {
                    Fault::GoneEvent
                } else {
                    Fault::GoneResponse
                };
            }
            let cut_after = faults
                .cut_watches_after
                .map(|(low, high)| random_between(rng, low, high));
            Fault::Forward { cut_after }
        }
        RequestKind::StatusWrite
            if faults.conflict_rate > 0.0 && rng.random_bool(faults.conflict_rate.min(1.0)) =>
        {
            Fault::Conflict
        }
        _ => Fault::Forward { cut_after: None },
    }
}

fn random_between(rng: &mut impl Rng, low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    rng.random_range(low..=high)
}

/// Why the proxy did not start.
#[derive(Debug, thiserror::Error)]
pub enum FaultProxyError {
    #[error("generating the proxy's certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("starting the fault proxy on 127.0.0.1: {0}")]
    Io(#[from] std::io::Error),
}

struct Shared {
    upstream: kube::Client,
    faults: Mutex<ApiFaults>,
    rng: Mutex<StdRng>,
    counters: Counters,
}

/// The running proxy. Dropping it stops it (open connections are closed).
pub struct FaultProxy {
    addr: SocketAddr,
    ca_cert: String,
    shared: Arc<Shared>,
    handle: axum_server::Handle<SocketAddr>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to the API server `upstream` talks
    /// to, with `upstream`'s credentials, injecting `faults` (random choices from
    /// `seed`). Must be called on a runtime that outlives the proxy's use.
    pub async fn start(
        upstream: kube::Client,
        faults: ApiFaults,
        seed: u64,
    ) -> Result<Self, FaultProxyError> {
        crate::runtime::tls::ensure_crypto_provider();
        let certs =
            WebhookCerts::generate(&["localhost".to_string()], &[Ipv4Addr::LOCALHOST.into()])?;
        let tls = RustlsConfig::from_pem(certs.cert.into_bytes(), certs.key.into_bytes()).await?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(faults),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            counters: Counters::default(),
        });
        let app = {
            let shared = shared.clone();
            axum::Router::new().fallback(move |request: Request<Body>| {
                let shared = shared.clone();
                async move { handle(shared, request).await }
            })
        };
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
        tokio::spawn(async move {
            if let Err(error) = server.serve(app.into_make_service()).await {
                tracing::error!(%error, "the sandbox's fault proxy failed");
            }
        });
        Ok(Self {
            addr,
            ca_cert: certs.ca_cert,
            shared,
            handle,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA that signed the proxy's certificate (PEM), for a kubeconfig.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert
    }

    /// Replaces the faults; requests already forwarded keep theirs.
    pub fn set_faults(&self, faults: ApiFaults) {
        *self.shared.faults.lock() = faults;
    }

    /// The faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.shared.counters.snapshot()
    }
}

/// Headers that belong to one connection, not to the request or response.
const HOP_BY_HOP: [header::HeaderName; 5] = [
    header::CONNECTION,
    header::HOST,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for name in &HOP_BY_HOP {
        out.remove(name);
    }
    out.remove("keep-alive");
    out
}

async fn handle(shared: Arc<Shared>, request: Request<Body>) -> Response<Body> {
    bump(&shared.counters.requests);
    let kind = classify(request.method(), request.uri());
    let (latency, fault) = {
        let faults = shared.faults.lock().clone();
        let mut rng = shared.rng.lock();
        let latency = faults
            .latency
            .map(|(low, high)| random_between(&mut *rng, low, high));
        let as_event = shared.counters.gone_events.load(Ordering::Relaxed)
            <= shared.counters.gone_responses.load(Ordering::Relaxed);
        (latency, choose(&kind, &faults, &mut *rng, as_event))
    };
    if let Some(latency) = latency.filter(|l| !l.is_zero()) {
        bump(&shared.counters.delayed);
        tokio::time::sleep(latency).await;
    }
    let cut_after = match fault {
        Fault::GoneEvent => {
            bump(&shared.counters.gone_events);
            let event = serde_json::json!({ "type": "ERROR", "object": gone_status() });
            return json_response(StatusCode::OK, format!("{event}\n"));
        }
        Fault::GoneResponse => {
            bump(&shared.counters.gone_responses);
            return json_response(StatusCode::GONE, gone_status().to_string());
        }
        Fault::Conflict => {
            bump(&shared.counters.conflicts);
            return json_response(
                StatusCode::CONFLICT,
                conflict_status(request.uri()).to_string(),
            );
        }
        Fault::Forward { cut_after } => cut_after,
    };
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(body) => body,
        Err(error) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                status_json(400, "BadRequest", &error.to_string()).to_string(),
            );
        }
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut forward = Request::builder().method(parts.method.clone()).uri(path);
    if let Some(headers) = forward.headers_mut() {
        *headers = end_to_end(&parts.headers);
    }
    let Ok(forward) = forward.body(kube::client::Body::from(body.to_vec())) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            status_json(400, "BadRequest", "unparsable request").to_string(),
        );
    };
    let response = match shared.upstream.send(forward).await {
        Ok(response) => response,
        Err(error) => {
            bump(&shared.counters.upstream_errors);
            return json_response(
                StatusCode::BAD_GATEWAY,
                status_json(
                    502,
                    "ServiceUnavailable",
                    &format!("the API server is unreachable: {error}"),
                )
                .to_string(),
            );
        }
    };
    let (parts, body) = response.into_parts();
    let mut out = Response::builder().status(parts.status);
    if let Some(headers) = out.headers_mut() {
        *headers = end_to_end(&parts.headers);
    }
    let body = Body::new(body);
    let body = match cut_after {
        Some(after) if parts.status.is_success() => {
            // Counted when it happens: a watch the API server ends first is not cut.
            let shared = shared.clone();
            cut_off(body, after, move || bump(&shared.counters.watches_cut))
        }
        _ => body,
    };
    out.body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// `body`, ending with an error (an abrupt close) after `after`.
fn cut_off(body: Body, after: Duration, on_cut: impl FnOnce() + Send + 'static) -> Body {
    let deadline = tokio::time::sleep(after);
    let stream = futures::stream::unfold(
        (
            Some(body.into_data_stream()),
            Box::pin(deadline),
            Some(on_cut),
        ),
        |(stream, mut deadline, mut on_cut)| async move {
            let mut stream = stream?;
            tokio::select! {
                item = stream.next() => {
                    let item = item?;
                    Some((item.map_err(std::io::Error::other), (Some(stream), deadline, on_cut)))
                }
                () = &mut deadline => {
                    if let Some(on_cut) = on_cut.take() {
                        on_cut();
                    }
                    let cut: Result<Bytes, std::io::Error> =
                        Err(std::io::Error::other("watch cut by the sandbox's fault proxy"));
                    Some((cut, (None, deadline, None)))
                }
            }
        },
    );
    Body::from_stream(stream)
}

fn json_response(status: StatusCode, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn status_json(code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// What kube-apiserver says for a watch from a compacted `resourceVersion`.
fn gone_status() -> serde_json::Value {
    status_json(
        410,
        "Expired",
        "too old resource version (injected by the sandbox's fault proxy)",
    )
}

/// What kube-apiserver says when a write lost an optimistic-concurrency race.
fn conflict_status(uri: &Uri) -> serde_json::Value {
    status_json(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {}: the object has been modified; please apply your changes to the latest version and try again (injected by the sandbox's fault proxy)",
            uri.path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn watches_and_status_writes_are_told_apart() {
        let watch =
            "/apis/orglink.dev/v1alpha1/orglinks?watch=true&resourceVersion=123&timeoutSeconds=290";
        assert_eq!(
            classify(&Method::GET, &uri(watch)),
            RequestKind::Watch { resumes: true }
        );
        for any in ["&resourceVersion=0", "&resourceVersion=", ""] {
            let u = format!("/api/v1/secrets?watch=1{any}");
            assert_eq!(
                classify(&Method::GET, &uri(&u)),
                RequestKind::Watch { resumes: false },
                "{u}"
            );
        }
        let status = "/apis/orglink.dev/v1alpha1/namespaces/a/orgpairings/p/status?fieldManager=x";
        assert_eq!(
            classify(&Method::PATCH, &uri(status)),
            RequestKind::StatusWrite
        );
        assert_eq!(
            classify(&Method::PUT, &uri(status)),
            RequestKind::StatusWrite
        );
        assert_eq!(classify(&Method::GET, &uri(status)), RequestKind::Other);
        let list = "/apis/orglink.dev/v1alpha1/orglinks?resourceVersion=5";
        assert_eq!(classify(&Method::GET, &uri(list)), RequestKind::Other);
        let write = "/apis/orglink.dev/v1alpha1/namespaces/a/orglinks/l";
        assert_eq!(classify(&Method::PATCH, &uri(write)), RequestKind::Other);
    }

    #[test]
    fn no_faults_forwards_everything_unchanged() {
        let mut rng = StdRng::seed_from_u64(1);
        let none = ApiFaults::default();
        for kind in [
            RequestKind::Watch { resumes: true },
            RequestKind::StatusWrite,
            RequestKind::Other,
        ] {
            assert_eq!(
                choose(&kind, &none, &mut rng, true),
                Fault::Forward { cut_after: None }
            );
        }
    }

    #[test]
    fn each_fault_lands_only_where_it_belongs() {
        let mut rng = StdRng::seed_from_u64(2);
        let all = ApiFaults {
            latency: None,
            cut_watches_after: Some((Duration::from_secs(1), Duration::from_secs(3))),
            gone_rate: 1.0,
            conflict_rate: 1.0,
        };
        let resumes = RequestKind::Watch { resumes: true };
        assert_eq!(choose(&resumes, &all, &mut rng, true), Fault::GoneEvent);
        assert_eq!(choose(&resumes, &all, &mut rng, false), Fault::GoneResponse);
        // A watch from "any" version cannot be too old: it is cut later instead.
        match choose(&RequestKind::Watch { resumes: false }, &all, &mut rng, true) {
            Fault::Forward {
                cut_after: Some(after),
            } => {
                assert!(after >= Duration::from_secs(1) && after <= Duration::from_secs(3))
            }
            other => panic!("expected a cut watch, got {other:?}"),
        }
        assert_eq!(
            choose(&RequestKind::StatusWrite, &all, &mut rng, true),
            Fault::Conflict
        );
        assert_eq!(
            choose(&RequestKind::Other, &all, &mut rng, true),
            Fault::Forward { cut_after: None }
        );
    }

    #[test]
    fn rates_are_fractions_of_requests() {
        let mut rng = StdRng::seed_from_u64(3);
        let some = ApiFaults {
            conflict_rate: 0.25,
            ..ApiFaults::default()
        };
        let conflicts = (0..4000)
            .filter(|_| choose(&RequestKind::StatusWrite, &some, &mut rng, true) == Fault::Conflict)
            .count();
        assert!((800..1200).contains(&conflicts), "{conflicts} of 4000");
    }
}
