//! The HTTPS server of the webhook: `POST /validate` (AdmissionReview v1), `/healthz`,
//! `/readyz`. Bodies over 1 MiB get 413, anything that is not an AdmissionReview v1 gets
//! 400, never a panic. The certificate is re-read when its files change, so a
//! cert-manager rotation needs no restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
use crate::genesys::ApiBaseUrlAllowlist;

/// Largest AdmissionReview accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// What every request sees: the caches and the operator's `spec.apiBaseUrl` allowlist.
#[derive(Clone)]
struct Shared {
    cache: CacheView,
    allowlist: Arc<ApiBaseUrlAllowlist>,
}

/// Builds the router over `cache`, judging `spec.apiBaseUrl` by `allowlist`.
pub(crate) fn router(cache: CacheView, allowlist: ApiBaseUrlAllowlist) -> Router {
    let shared = Shared {
        cache,
        allowlist: Arc::new(allowlist),
    };
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(shared): State<Shared>| async move {
                if shared.cache.view().is_some() {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet")
                }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

async fn validate(State(shared): State<Shared>, body: Bytes) -> Response {
    match answer(
        &body,
        shared.cache.view(),
        &shared.allowlist,
        Timestamp::now(),
    ) {
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
    allowlist: ApiBaseUrlAllowlist,
    shutdown: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    crate::runtime::tls::ensure_crypto_provider();
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
    // TCP_NODELAY, as Go's servers and clients set it: the API server waits on each
    // answer, and Nagle's algorithm could hold its last segment back for an ACK that
    // loopback delays (axum-server's default acceptor leaves it off).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    let server = axum_server::from_tcp(listener)?
        .acceptor(acceptor)
        .handle(handle);
    let app = router(cache, allowlist);
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::webhook::certs::WebhookCerts;

    async fn start(dir: &Path) -> (SocketAddr, CancellationToken) {
        let certs =
            WebhookCerts::generate(&["localhost".into()], &[Ipv4Addr::LOCALHOST.into()]).unwrap();
        certs.write_to(dir).unwrap();
        let shutdown = CancellationToken::new();
        let cache = CacheView::from_objects(vec![], vec![], vec![]);
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            dir,
            cache,
            ApiBaseUrlAllowlist::regions_only(),
            shutdown.clone(),
        )
        .await
        .unwrap();
        (addr, shutdown)
    }

    fn client(ca_pem: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    fn review_body() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u1",
                "kind": {"group": "orglink.dev", "version": "v1alpha1", "kind": "OrgLink"},
                "resource": {"group": "orglink.dev", "version": "v1alpha1", "resource": "orglinks"},
                "name": "l", "namespace": "team", "operation": "CREATE", "userInfo": {},
                "object": {"apiVersion": "orglink.dev/v1alpha1", "kind": "OrgLink",
                           "metadata": {"name": "l", "namespace": "team"},
                           "spec": {"organizationRef": "acme", "peer": {"organizationId": "23cc390c-9354-40e3-8e1f-39485d23d1f3", "region": "us-east-1"}}}
            }
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn answers_reviews_and_rejects_bad_bodies_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let (addr, shutdown) = start(dir.path()).await;
        let ca = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
        let http = client(&ca);
        let url = format!("https://127.0.0.1:{}/validate", addr.port());

        let ok = http.post(&url).body(review_body()).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let review: serde_json::Value = ok.json().await.unwrap();
        assert_eq!(review["response"]["uid"], "u1");
        assert_eq!(review["response"]["allowed"], true);

        let v1beta1 = http
            .post(&url)
            .body(r#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(v1beta1.status(), 400);
        assert!(
            v1beta1
                .text()
                .await
                .unwrap()
                .contains("admission.k8s.io/v1")
        );

        let garbage = http.post(&url).body("{{{").send().await.unwrap();
        assert_eq!(garbage.status(), 400);

        let huge = http
            .post(&url)
            .body(vec![b' '; MAX_BODY + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), 413);

        let health = http
            .get(format!("https://127.0.0.1:{}/readyz", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_rotated_certificate_is_served_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (addr, shutdown) = start(dir.path()).await;
        let rotated =
            WebhookCerts::generate(&["localhost".into()], &[Ipv4Addr::LOCALHOST.into()]).unwrap();
        let only_new = client(&rotated.ca_cert);
        let url = format!("https://127.0.0.1:{}/healthz", addr.port());
        assert!(
            only_new.get(&url).send().await.is_err(),
            "the new CA does not trust the old certificate"
        );
        // Make the change visible to an mtime poll even on coarse-grained filesystems.
        tokio::time::sleep(Duration::from_millis(20)).await;
        rotated.write_to(dir.path()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if only_new.get(&url).send().await.is_ok() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the rotated certificate was never served"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        shutdown.cancel();
    }
}
