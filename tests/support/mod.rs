//! Shared fixtures of the end-to-end tests: one real control plane per test binary
//! (started on first use), one namespace per test.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use orglink_operator::sandbox::{ControlPlane, ControlPlaneOptions};

/// The control plane of this test binary, with the CRDs installed. It lives until the
/// process exits; the process registry stops it then (statics are never dropped).
///
/// Fails the test with the launcher's message (which says to run `make kube-assets`)
/// when the binaries are missing: an end-to-end test never passes without its cluster.
pub fn control_plane() -> &'static ControlPlane {
    static CP: OnceLock<ControlPlane> = OnceLock::new();
    CP.get_or_init(|| {
        // Started on a runtime of its own: each #[tokio::test] has a runtime that
        // ends with the test, and the control plane must outlive them all.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
            rt.block_on(async {
                let cp = ControlPlane::start(ControlPlaneOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("sandbox control plane did not start: {e}"));
                let client = cp.client().await.expect("admin client");
                orglink_operator::sandbox::crds::install_crds(client, Duration::from_secs(60))
                    .await
                    .expect("installing the CRDs");
                cp
            })
        })
        .join()
        .unwrap_or_else(|_| panic!("starting the sandbox control plane panicked"))
    })
}

/// An admin client bound to the calling test's runtime.
pub async fn client() -> kube::Client {
    control_plane().client().await.expect("admin client")
}

/// Creates a namespace named `{prefix}-{random}` for one test.
pub async fn namespace(client: &kube::Client, prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("creating the test namespace");
    name
}

/// Polls `check` every 100 ms until it returns `Some`, or panics with `what` after
/// `timeout` (generous: these are correctness waits, not speed checks).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
