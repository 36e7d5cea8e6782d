//! The operator's Kubernetes clients: one for the work, whose calls in flight are
//! bounded, and one of its own for the leader Lease.
//!
//! kube's client speaks HTTP/1.1, so every call in flight holds a connection to the API
//! server of its own, with its TLS state and buffers, and its connection pool keeps
//! each of them for 90 s after. Unbounded, a burst of reconciles opened 185 connections
//! at once in the `memory` bench (10,000 OrgLinks, 256 reconciles at a time): 7.4 MiB of
//! hyper's buffers in the heap profile, and an API server so busy that applying the
//! OrgLinks took five times as long (issue 14). The API server answers no faster for
//! being asked more at once; a bound holds the connections to it and makes the rest
//! wait their turn, in order.
//!
//! A call counts until its answer's headers arrive: a watch holds its connection for as
//! long as it streams, but not a place in the bound, so no number of watches starves
//! the other calls.
//!
//! The Lease has a client of its own, outside the bound: a renewal that waited behind
//! a burst of status writes could miss its deadline and give up the leadership in the
//! middle of the work (client-go's leader election has its own client for the same
//! reason).

use tower::limit::ConcurrencyLimitLayer;

use super::tls::ensure_crypto_provider;

/// The default of `--max-kube-api-calls-in-flight`. In the `memory` bench 16 took the
/// 10,000 OrgLinks as fast as 32 (applied in 25 s, all requested at 140 s) with fewer
/// connections and requests waiting in the burst: a peak of 63.0 MiB against 64.3.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// The clients an operator runs on.
#[derive(Clone)]
pub struct KubeClients {
    /// Controllers, the webhook's cache, Events.
    pub work: kube::Client,
    /// The leader Lease only.
    pub lease: kube::Client,
}

impl KubeClients {
    /// Clients of `config`: the work's with at most `max_in_flight` calls in flight.
    pub fn new(config: kube::Config, max_in_flight: usize) -> Result<Self, kube::Error> {
        Ok(Self {
            work: bounded(config.clone(), max_in_flight)?,
            lease: unbounded(config)?,
        })
    }
}

/// One client for both, as given (tests and tools that bring their own).
impl From<kube::Client> for KubeClients {
    fn from(client: kube::Client) -> Self {
        Self {
            work: client.clone(),
            lease: client,
        }
    }
}

/// A client of `config` with at most `max_in_flight` calls awaiting their answer.
pub fn bounded(config: kube::Config, max_in_flight: usize) -> Result<kube::Client, kube::Error> {
    ensure_crypto_provider();
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&ConcurrencyLimitLayer::new(max_in_flight.max(1)))
        .build())
}

fn unbounded(config: kube::Config) -> Result<kube::Client, kube::Error> {
    ensure_crypto_provider();
    kube::Client::try_from(config)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use axum::body::Body;
    use futures::StreamExt as _;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::Api;

    use super::*;

    /// A server that answers every GET of a ConfigMap after `delay`, counting the
    /// requests it holds at once; `watch` requests get a body that never ends.
    struct Server {
        url: String,
        most_at_once: Arc<AtomicUsize>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn server(delay: Duration) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (now, most_at_once) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let most = most_at_once.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (now, most) = (now.clone(), most.clone());
            async move {
                if uri.query().unwrap_or_default().contains("watch=true") {
                    let forever = futures::stream::pending::<Result<Vec<u8>, Infallible>>();
                    return axum::response::Response::new(Body::from_stream(forever));
                }
                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(at_once, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                now.fetch_sub(1, Ordering::SeqCst);
                let name = uri
                    .path()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let body = serde_json::json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": "default"},
                });
                axum::response::Response::new(Body::from(body.to_string()))
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server {
            url,
            most_at_once,
            task,
        }
    }

    fn config(url: &str) -> kube::Config {
        kube::Config::new(url.parse().unwrap())
    }

    #[tokio::test]
    async fn no_more_calls_than_the_bound_are_in_flight_and_the_rest_wait_their_turn() {
        let server = server(Duration::from_millis(30)).await;
        let clients = KubeClients::new(config(&server.url), 3).unwrap();
        let api: Api<ConfigMap> = Api::namespaced(clients.work, "default");
        let gets = (0..12).map(|i| {
            let api = api.clone();
            async move { api.get(&format!("cm-{i}")).await }
        });
        let answers = futures::future::join_all(gets).await;
        assert!(answers.iter().all(Result::is_ok), "every call is answered");
        assert_eq!(server.most_at_once.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_lease_client_is_outside_the_bound() {
        let server = server(Duration::from_millis(30)).await;
        let clients = KubeClients::new(config(&server.url), 1).unwrap();
        let (work, lease) = (
            Api::<ConfigMap>::namespaced(clients.work, "default"),
            Api::<ConfigMap>::namespaced(clients.lease, "default"),
        );
        let (a, b) = tokio::join!(work.get("work"), lease.get("lease"));
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(server.most_at_once.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn open_watches_take_no_place_in_the_bound() {
        let server = server(Duration::ZERO).await;
        let client = bounded(config(&server.url), 1).unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let params = kube::api::WatchParams::default();
        // Three watches stream (never ending) while a bound of one still answers a get;
        // a watch that kept its place would leave the second one waiting forever.
        let calls = async {
            let mut watches = Vec::new();
            for _ in 0..3 {
                watches.push(api.watch(&params, "0").await.unwrap().boxed());
            }
            api.get("after").await
        };
        let got = tokio::time::timeout(Duration::from_secs(10), calls).await;
        assert!(matches!(got, Ok(Ok(_))), "{got:?}");
    }
}
