//! The operator's plain-HTTP endpoints: `/metrics` (Prometheus text format) on the
//! metrics address, `/healthz` and `/readyz` on the health address.
//!
//! `/readyz` is 200 only once the caches have done their first list (and, with leader
//! election, whether or not this replica leads: a standby is ready to take over).
//! `/healthz` is 200 until a controller stopped on its own ([`Liveness::fail`]); then
//! 500 with the reason, so the kubelet restarts a process that no longer reconciles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

/// A condition readiness also waits for, e.g. the webhook's caches being synced.
type Gate = Arc<dyn Fn() -> bool + Send + Sync>;

/// Shared readiness: the flag set once the controllers' caches are synced (or at once
/// on a standby), and every gate added with [`Readiness::requiring`].
#[derive(Clone, Default)]
pub(crate) struct Readiness {
    flag: Arc<AtomicBool>,
    gates: Vec<Gate>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl Readiness {
    /// This readiness, also waiting for `gate`: a pod whose webhook still refuses every
    /// review ("caches syncing") must not be Ready, or writes fail while it serves.
    pub(crate) fn requiring(mut self, gate: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.gates.push(Arc::new(gate));
        self
    }

    pub(crate) fn set_ready(&self) {
        self.flag.store(true, Ordering::Release);
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.flag.load(Ordering::Acquire) && self.gates.iter().all(|gate| gate())
    }
}

/// Shared liveness: live until [`Liveness::fail`] records why not.
#[derive(Clone, Debug, Default)]
pub(crate) struct Liveness(Arc<parking_lot::Mutex<Option<String>>>);

impl Liveness {
    /// Marks the process as not live, keeping the first reason given.
    pub(crate) fn fail(&self, why: impl Into<String>) {
        self.0.lock().get_or_insert_with(|| why.into());
    }

    /// Why the process is not live, if it is not.
    pub(crate) fn failure(&self) -> Option<String> {
        self.0.lock().clone()
    }
}

/// Renders the metrics in the OpenMetrics text format (e.g. the controllers' registry).
type Encode = Arc<dyn Fn() -> String + Send + Sync>;

/// `/metrics`, answered with what `encode` renders at each scrape. A function rather than
/// the controllers' registry type, so the process plumbing depends on no controller.
pub(crate) fn metrics_router(encode: impl Fn() -> String + Send + Sync + 'static) -> Router {
    let encode: Encode = Arc::new(encode);
    Router::new()
        .route(
            "/metrics",
            get(|State(encode): State<Encode>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    encode(),
                )
            }),
        )
        .with_state(encode)
}

pub(crate) fn health_router(readiness: Readiness, liveness: Liveness) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(
                |State((_, liveness)): State<(Readiness, Liveness)>| async move {
                    match liveness.failure() {
                        None => (StatusCode::OK, "ok".to_string()).into_response(),
                        Some(why) => (StatusCode::INTERNAL_SERVER_ERROR, why).into_response(),
                    }
                },
            ),
        )
        .route(
            "/readyz",
            get(
                |State((readiness, _)): State<(Readiness, Liveness)>| async move {
                    if readiness.is_ready() {
                        (StatusCode::OK, "ok").into_response()
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet").into_response()
                    }
                },
            ),
        )
        .with_state((readiness, liveness))
}

/// Binds `addr` and serves `router` until `shutdown`; returns the bound address.
pub(crate) async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = result {
            tracing::error!(%error, "HTTP endpoint failed");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get_status(addr: SocketAddr, path: &str) -> (StatusCode, String) {
        crate::runtime::tls::ensure_crypto_provider();
        let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.text().await.unwrap())
    }

    #[tokio::test]
    async fn readyz_waits_for_the_flag_and_every_gate() {
        let open = Arc::new(AtomicBool::new(false));
        let gate = open.clone();
        let readiness = Readiness::default().requiring(move || gate.load(Ordering::Acquire));
        let shutdown = CancellationToken::new();
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            health_router(readiness.clone(), Liveness::default()),
            shutdown.clone(),
        )
        .await
        .unwrap();
        readiness.set_ready();
        // The controllers are ready, the webhook's caches are not.
        assert_eq!(
            get_status(addr, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        open.store(true, Ordering::Release);
        assert_eq!(get_status(addr, "/readyz").await.0, StatusCode::OK);
        shutdown.cancel();
    }

    #[tokio::test]
    async fn healthz_fails_once_a_controller_stopped() {
        let (readiness, liveness) = (Readiness::default(), Liveness::default());
        let shutdown = CancellationToken::new();
        let router = serve(
            "127.0.0.1:0".parse().unwrap(),
            health_router(readiness.clone(), liveness.clone()),
            shutdown.clone(),
        )
        .await
        .unwrap();
        assert_eq!(
            get_status(router, "/healthz").await,
            (StatusCode::OK, "ok".into())
        );
        assert_eq!(
            get_status(router, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        readiness.set_ready();
        liveness.fail("the OrgLink (all namespaces) controller panicked: boom");
        liveness.fail("a later reason is not kept");
        assert_eq!(
            get_status(router, "/healthz").await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the OrgLink (all namespaces) controller panicked: boom".into()
            )
        );
        assert_eq!(get_status(router, "/readyz").await.0, StatusCode::OK);
        shutdown.cancel();
    }
}
