//! The HTTPS server of the webhook: `POST /validate` (AdmissionReview v1), `/healthz`,
//! `/readyz`. Bodies over 1 MiB get 413, anything that is not an AdmissionReview v1 gets
//! 400, never a panic. The certificate is re-read when its files change, so a
//! cert-manager rotation needs no restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::tls_rustls::RustlsConfig;
use k8s_openapi::jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::cache::CacheView;
use super::review::answer;

/// Largest AdmissionReview accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// Builds the router over `cache`.
pub fn router(cache: CacheView) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(cache): State<CacheView>| async move {
                if cache.view().is_some() {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet")
                }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(cache)
}

async fn validate(State(cache): State<CacheView>, body: Bytes) -> Response {
    match answer(&body, cache.view(), Timestamp::now()) {
        Ok(review) => axum::Json(review).into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

/// Serves the webhook on `addr` with `cert_dir/tls.crt` and `tls.key` until `shutdown`.
/// Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    cert_dir: &Path,
    cache: CacheView,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    crate::genesys::tls::ensure_crypto_provider();
    let (cert, key) = (cert_dir.join("tls.crt"), cert_dir.join("tls.key"));
    let tls = RustlsConfig::from_pem_file(&cert, &key).await.map_err(|e| {
        anyhow::anyhow!(
            "webhook certificate {} / {}: {e} (mount a kubernetes.io/tls Secret there, run `orglink-operator webhook-certs`, or pass --no-webhook)",
            cert.display(),
            key.display()
        )
    })?;
    tokio::spawn(reload_on_change(tls.clone(), cert, key, shutdown.clone()));
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("webhook cannot listen on {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(Duration::from_secs(5)));
        });
    }
    let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle);
    let app = router(cache);
    tokio::spawn(async move {
        if let Err(error) = server.serve(app.into_make_service()).await {
            tracing::error!(%error, "webhook server failed");
        }
    });
    tracing::info!(addr = %bound, "serving the validating webhook");
    Ok(bound)
}

fn modified(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Polls the files' modification times and reloads the certificate when they change.
async fn reload_on_change(
    tls: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
    shutdown: CancellationToken,
) {
    let mut seen = (modified(&cert), modified(&key));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let now = (modified(&cert), modified(&key));
        if now != seen {
            match tls.reload_from_pem_file(&cert, &key).await {
                Ok(()) => {
                    tracing::info!("webhook certificate reloaded");
                    seen = now;
                }
                Err(error) => {
                    tracing::warn!(%error, "webhook certificate changed but cannot be loaded yet")
                }
            }
        }
    }
}
