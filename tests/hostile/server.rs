//! A hostile Genesys Cloud endpoint for tests: one loopback HTTP server that answers
//! the token endpoint and every API path with the misbehaviour it is set to
//! ([`Behaviour`]), or each request with the next one in turn
//! ([`HostileServer::rotate`]). It also runs a second listener, the "other host" its
//! redirects point at, which counts every request it receives: a client that followed
//! a redirect (and carried credentials there) shows up in [`HostileServer::stolen`].
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;

/// What the server does with an API call (the token endpoint hands out tokens,
/// except in the behaviours that are about it).
#[derive(Clone, Debug, PartialEq)]
pub enum Behaviour {
    /// Plays it straight: `/organizations/me` answers an org with a harmless name.
    Honest,
    /// 429 with this `Retry-After` value (`1e20`, `-1`, `NaN`, an HTTP-date…).
    RetryAfter(String),
    /// 200 claiming a 10 GiB `Content-Length`, then trickling bytes.
    HugeContentLength,
    /// 200 streaming this many bytes of JSON-ish garbage without a length.
    HugeBody(usize),
    /// 200 with a body that is not the JSON model.
    Malformed,
    /// Listings that never end: every page full, `pageCount` 4 billion, a `nextUri`.
    EndlessPages,
    /// 302 to the other host (with the credentials, if the client follows).
    Redirect,
    /// Errors that quote the client secret back (from the Basic auth it was sent):
    /// in an error message, a code, a token error description and a decoding error.
    EchoSecret,
    /// Names full of terminal escapes, newlines and bidi overrides.
    ControlCharacters,
    /// The token endpoint claims `expires_in` of `u64::MAX`; API calls are honest.
    EndlessToken,
}

/// Every hostile behaviour, for rotating through.
pub fn all_hostile() -> Vec<Behaviour> {
    vec![
        Behaviour::RetryAfter("1e20".into()),
        Behaviour::RetryAfter("-1".into()),
        Behaviour::RetryAfter("NaN".into()),
        Behaviour::RetryAfter("18446744073709551616".into()),
        Behaviour::RetryAfter("Fri, 31 Dec 9999 23:59:59 GMT".into()),
        Behaviour::HugeContentLength,
        Behaviour::HugeBody(16 * 1024 * 1024),
        Behaviour::Malformed,
        Behaviour::EndlessPages,
        Behaviour::Redirect,
        Behaviour::EchoSecret,
        Behaviour::ControlCharacters,
        Behaviour::EndlessToken,
    ]
}

pub const ORG_ID: &str = "6a1f5b2c-0d3e-4f5a-8b6c-7d8e9f0a1b2c";

struct Shared {
    mode: Mutex<Mode>,
    /// The client secret last seen in a Basic auth header.
    seen_secret: Mutex<Option<String>>,
    requests: AtomicUsize,
    stolen: Arc<AtomicUsize>,
    other_host: SocketAddr,
}

enum Mode {
    Fixed(Behaviour),
    Rotate(Vec<Behaviour>, usize),
}

/// A running hostile server (stops with the test's runtime).
pub struct HostileServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl HostileServer {
    pub async fn start(behaviour: Behaviour) -> Self {
        let stolen = Arc::new(AtomicUsize::new(0));
        let other = {
            let stolen = stolen.clone();
            Router::new().fallback(move || {
                let stolen = stolen.clone();
                async move {
                    stolen.fetch_add(1, Ordering::SeqCst);
                    "thanks"
                }
            })
        };
        let other_host = serve(other).await;
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Fixed(behaviour)),
            seen_secret: Mutex::new(None),
            requests: AtomicUsize::new(0),
            stolen,
            other_host,
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let addr = serve(app).await;
        HostileServer { addr, shared }
    }

    /// `http://127.0.0.1:port`: the Organization's `apiBaseUrl`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.shared.mode.lock() = Mode::Fixed(behaviour);
    }

    /// Each request gets the next behaviour of `behaviours`, round and round.
    pub fn rotate(&self, behaviours: Vec<Behaviour>) {
        *self.shared.mode.lock() = Mode::Rotate(behaviours, 0);
    }

    /// Requests the hostile server answered.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The client secret the server was sent (and echoes back in `EchoSecret`).
    pub fn seen_secret(&self) -> Option<String> {
        self.shared.seen_secret.lock().clone()
    }

    /// Requests that reached the other host (followed redirects).
    pub fn stolen(&self) -> usize {
        self.shared.stolen.load(Ordering::SeqCst)
    }
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn next_behaviour(shared: &Shared) -> Behaviour {
    match &mut *shared.mode.lock() {
        Mode::Fixed(b) => b.clone(),
        Mode::Rotate(list, i) => {
            let b = list[*i % list.len()].clone();
            *i += 1;
            b
        }
    }
}

/// The client secret of a `Basic` authorization header.
fn basic_secret(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_string())
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(secret) = basic_secret(request.headers()) {
        *shared.seen_secret.lock() = Some(secret);
    }
    let secret = shared.seen_secret.lock().clone().unwrap_or_default();
    let path = request.uri().path().to_string();
    let behaviour = next_behaviour(&shared);
    if path.ends_with("/oauth/token") {
        return token(&behaviour, &secret, &shared);
    }
    api(&behaviour, &path, &secret, &shared)
}

fn token(behaviour: &Behaviour, secret: &str, shared: &Shared) -> Response {
    match behaviour {
        Behaviour::EchoSecret => json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("client secret {secret} looks wrong"),
            }),
        ),
        Behaviour::Redirect => redirect(shared),
        Behaviour::HugeBody(n) => huge_body(*n),
        Behaviour::EndlessToken => json(
            StatusCode::OK,
            serde_json::json!({"access_token": "hostile-token", "token_type": "bearer", "expires_in": u64::MAX}),
        ),
        _ => json(
            StatusCode::OK,
            serde_json::json!({"access_token": "hostile-token", "token_type": "bearer", "expires_in": 86400}),
        ),
    }
}

fn redirect(shared: &Shared) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(
            header::LOCATION,
            format!("http://{}/api/v2/organizations/me", shared.other_host),
        )
        .body(Body::empty())
        .unwrap()
}

fn huge_body(bytes: usize) -> Response {
    let chunk = axum::body::Bytes::from(vec![b'['; 64 * 1024]);
    let chunks = bytes.div_ceil(chunk.len());
    let stream = futures::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::convert::Infallible>(chunk.clone())),
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn honest_org(name: &str) -> serde_json::Value {
    serde_json::json!({"id": ORG_ID, "name": name, "domain": "hostile", "state": "active"})
}

fn api(behaviour: &Behaviour, path: &str, secret: &str, shared: &Shared) -> Response {
    let listing = path.contains("/trustees") || path.contains("/trustors");
    match behaviour {
        Behaviour::Honest | Behaviour::EndlessToken => honest(path),
        Behaviour::RetryAfter(value) => {
            let mut r = json(
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({"message": "slow down", "code": "too.many.requests.retry.after", "status": 429}),
            );
            if let Ok(v) = HeaderValue::from_str(value) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Behaviour::HugeContentLength => {
            // A few bytes, then nothing more (the connection stays open).
            use futures::StreamExt as _;
            let stream = futures::stream::iter([Ok::<_, std::convert::Infallible>(
                axum::body::Bytes::from_static(b"{\"id\":"),
            )])
            .chain(futures::stream::pending());
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, "10737418240")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Behaviour::HugeBody(n) => huge_body(*n),
        Behaviour::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": 42, \"name\": [",
        )
            .into_response(),
        Behaviour::EndlessPages if listing => json(
            StatusCode::OK,
            serde_json::json!({
                "entities": [{"id": ORG_ID, "enabled": true}],
                "pageSize": 1, "pageNumber": 1, "pageCount": u32::MAX, "total": u64::MAX,
                "nextUri": format!("{path}?pageNumber=2"),
            }),
        ),
        Behaviour::EndlessPages => honest(path),
        Behaviour::Redirect => redirect(shared),
        Behaviour::EchoSecret if path.ends_with("/organizations/me") => json(
            StatusCode::OK,
            // `features` is a map: decoding fails quoting the string.
            serde_json::json!({"id": ORG_ID, "name": "Echo", "features": secret}),
        ),
        Behaviour::EchoSecret => json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "message": format!("your secret is {secret}"),
                "code": secret,
                "status": 400,
                "messageParams": {"secret": secret},
            }),
        ),
        Behaviour::ControlCharacters if path.ends_with("/organizations/me") => json(
            StatusCode::OK,
            honest_org("Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\nINFO forged log line\u{202e}"),
        ),
        Behaviour::ControlCharacters if listing => json(
            StatusCode::OK,
            serde_json::json!({
                "entities": [{"id": ORG_ID, "enabled": true,
                    "organization": {"id": ORG_ID, "name": "Trust\r\n\u{1b}[31mred"}}],
                "pageCount": 1, "total": 1,
            }),
        ),
        Behaviour::ControlCharacters => honest(path),
    }
}

fn honest(path: &str) -> Response {
    if path.ends_with("/organizations/me") {
        json(StatusCode::OK, honest_org("Hostile Org"))
    } else if path.contains("/trustees") || path.contains("/trustors") {
        json(
            StatusCode::OK,
            serde_json::json!({"entities": [], "pageCount": 1, "total": 0}),
        )
    } else if path.ends_with("/link/regions") {
        json(
            StatusCode::OK,
            serde_json::json!([{"regionName": "us-east-1"}]),
        )
    } else if path.ends_with("/organization/link") || path.contains("/organization/links") {
        json(StatusCode::OK, serde_json::json!([]))
    } else {
        json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"message": "not here", "code": "not.found", "status": 404}),
        )
    }
}
