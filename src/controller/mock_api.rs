//! A mocked Kubernetes API server for unit tests of the controllers' glue: a local HTTP
//! server that records every request and answers like an empty API server (empty lists,
//! 404 for single objects, writes echoed back), so one reconcile of any kind runs
//! without a control plane and a test reads exactly what it wrote.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use kube::runtime::events::Reporter;
use kube::runtime::reflector;
use kube::runtime::watcher;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::context::{Context, ContextParts, Settings};
use super::metrics::Metrics;
use crate::api::Organization;
use crate::runtime::scope::{Stores, Wakers};

/// One request the reconcile made.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Value,
}

impl Seen {
    /// E.g. `PATCH /apis/orglink.dev/v1alpha1/namespaces/team-a/orglinks/l1/status`.
    pub(crate) fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The mocked API server and a client of it.
pub(crate) struct MockApi {
    pub(crate) client: kube::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for MockApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockApi {
    /// Starts a server whose writes (PATCH, PUT, POST) answer `echo`, the object the
    /// reconcile works on, as the API server would after applying them.
    pub(crate) async fn start(echo: Value) -> MockApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let addr = listener.local_addr().expect("a bound address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
            let (record, echo) = (record.clone(), echo.clone());
            async move {
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let seen = Seen {
                    method: method.clone(),
                    path: uri.path().to_string(),
                    body,
                };
                let (status, answer) = answer(&seen, echo);
                record.lock().push(seen);
                (status, axum::Json(answer))
            }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the mock API server runs");
        });
        let url = format!("http://{addr}").parse().expect("a URL");
        let client = kube::Client::try_from(kube::Config::new(url)).expect("a client");
        MockApi {
            client,
            seen,
            server,
        }
    }

    /// Every request so far, in order.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }

    /// The requests so far as `METHOD path` lines.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.seen().iter().map(Seen::line).collect()
    }

    /// A context on this server with `organizations` in its cache and nothing else.
    pub(crate) fn context(&self, organizations: Vec<Organization>) -> Arc<Context> {
        let (store, mut writer) = reflector::store();
        for org in organizations {
            writer.apply_watcher_event(&watcher::Event::Apply(org));
        }
        Arc::new(Context::new(ContextParts {
            client: self.client.clone(),
            metrics: Arc::new(Metrics::new()),
            reporter: Reporter {
                controller: "orglink-operator-test".into(),
                instance: None,
            },
            settings: Settings::default(),
            organizations: Stores::new(vec![store]),
            links: Stores::new(vec![]),
            pairings: Stores::new(vec![]),
            wake_links: Wakers::new(HashMap::new()),
            wake_pairings: Wakers::new(HashMap::new()),
            wake_organizations: Wakers::new(HashMap::new()),
        }))
    }
}

/// The answer of an empty API server: a list is empty, a single object is not found,
/// a write returns `echo`.
fn answer(seen: &Seen, echo: Value) -> (StatusCode, Value) {
    match seen.method {
        Method::GET if is_collection(&seen.path) => (
            StatusCode::OK,
            json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []}),
        ),
        Method::GET => (
            StatusCode::NOT_FOUND,
            json!({
                "apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                "message": format!("{} not found", seen.path), "reason": "NotFound", "code": 404
            }),
        ),
        Method::POST => (StatusCode::CREATED, seen.body.clone()),
        _ => (StatusCode::OK, echo),
    }
}

/// `…/namespaces/{ns}/{plural}` (a list) rather than `…/{plural}/{name}[/status]`;
/// anything not namespaced is a list across namespaces.
fn is_collection(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match parts.iter().position(|p| *p == "namespaces") {
        Some(i) => parts.len() - i - 1 == 2,
        None => true,
    }
}
