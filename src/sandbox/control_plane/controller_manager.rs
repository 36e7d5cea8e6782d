//! The sandbox's `kube-controller-manager`: the cluster's own controllers, so that
//! deleting a namespace, an owner or a Deployment's ReplicaSet does what it does in a
//! real cluster (finalizers hold a namespace in `Terminating`, the garbage collector
//! follows ownerReferences, Deployments get ReplicaSets and Pods).
//!
//! Only the controllers that work without nodes run: no scheduler and no kubelet exist,
//! so Pods are created and stay `Pending`. The process authenticates as
//! `system:kube-controller-manager` with its own client certificate and gives each
//! controller its own ServiceAccount token (`--use-service-account-credentials`), as a
//! kubeadm cluster does, so the bootstrap RBAC of the API server is what lets each
//! controller act. It signs the legacy token Secrets with the private half of the key
//! the API server verifies ServiceAccount tokens with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::Api;

use super::process::Supervised;
use super::{ControlPlaneError, io_err};
use crate::sandbox::wait::until;

/// The controllers the sandbox runs (names as `kube-controller-manager --help` lists
/// them for `--controllers`). Left out: everything about nodes, volumes, cloud
/// providers and certificate signing, which have nothing to act on without nodes.
pub(crate) const CONTROLLERS: &[&str] = &[
    // Deleting a namespace deletes its contents, waiting for their finalizers.
    "namespace-controller",
    // ownerReferences: dependents are deleted with their owner.
    "garbage-collector-controller",
    // The `default` ServiceAccount of every namespace (Pods need it to be admitted),
    // legacy token Secrets, and the `kube-root-ca.crt` ConfigMap tokens are read with.
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    // Deployment -> ReplicaSet -> Pods (which stay Pending).
    "deployment-controller",
    "replicaset-controller",
    // Services' endpoints (empty: no Pod is ever ready).
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    // PodDisruptionBudget status (the Helm chart ships one).
    "disruption-controller",
];

/// The files the controller manager reads.
pub(super) struct ControllerManagerFiles<'a> {
    pub(crate) kubeconfig: &'a Path,
    pub(crate) ca_cert: &'a Path,
    pub(crate) service_account_key: &'a Path,
    pub(crate) serving_cert: &'a Path,
    pub(crate) serving_key: &'a Path,
}

/// Starts `binary` serving `/healthz` on `127.0.0.1:port`, logging to
/// `DIR/kube-controller-manager.log`.
pub(super) fn start(
    binary: &Path,
    dir: &Path,
    files: &ControllerManagerFiles<'_>,
    port: u16,
) -> Result<Supervised, ControlPlaneError> {
    let mut command = Command::new(binary);
    command
        .arg(format!("--kubeconfig={}", files.kubeconfig.display()))
        // One instance: nothing to elect, and no Lease renewals to wait for.
        .arg("--leader-elect=false")
        .arg(format!("--controllers={}", CONTROLLERS.join(",")))
        .arg("--use-service-account-credentials=true")
        .arg(format!(
            "--service-account-private-key-file={}",
            files.service_account_key.display()
        ))
        .arg(format!("--root-ca-file={}", files.ca_cert.display()))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={port}"))
        .arg(format!("--tls-cert-file={}", files.serving_cert.display()))
        .arg(format!(
            "--tls-private-key-file={}",
            files.serving_key.display()
        ))
        .arg(format!("--cert-dir={}", dir.join("kcm-certs").display()))
        .arg("--profiling=false");
    Supervised::spawn(
        "kube-controller-manager",
        command,
        &dir.join("kube-controller-manager.log"),
    )
    .map_err(io_err(format!("starting {}", binary.display())))
}

/// Waits until the controller manager answers `/healthz` with `ok` and its
/// ServiceAccount controller has created the `default` ServiceAccount of the `default`
/// namespace: the controllers run and their credentials work.
pub(super) async fn wait_ready(
    proc: &mut Supervised,
    port: u16,
    ca_cert: &str,
    client: &kube::Client,
    timeout: Duration,
) -> Result<(), ControlPlaneError> {
    let probe = healthz_client(ca_cert)?;
    let url = format!("https://127.0.0.1:{port}/healthz");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    // The ServiceAccount is one probe among the process and /healthz: the loop polls the
    // process anyway, so a watch of it (`await_condition`) would not save the loop.
    let mut healthy = false;
    let ready = until(timeout, Duration::from_millis(100), async || {
        proc.ensure_running()?;
        if !healthy {
            healthy = is_ok(&probe, &url).await;
        }
        Ok::<_, ControlPlaneError>(
            (healthy && matches!(accounts.get_opt("default").await, Ok(Some(_)))).then_some(()),
        )
    })
    .await?;
    ready.ok_or_else(|| proc.not_ready(timeout))
}

fn healthz_client(ca_cert: &str) -> Result<reqwest::Client, ControlPlaneError> {
    crate::runtime::tls::ensure_crypto_provider();
    let client_error = |e: reqwest::Error| ControlPlaneError::Io {
        context: "building the controller manager's health probe".into(),
        source: std::io::Error::other(e),
    };
    let ca = reqwest::Certificate::from_pem(ca_cert.as_bytes()).map_err(client_error)?;
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(client_error)
}

async fn is_ok(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => response
            .text()
            .await
            .map(|body| body.trim() == "ok")
            .unwrap_or(false),
        _ => false,
    }
}

/// Where the controller manager's kubeconfig goes.
pub(super) fn kubeconfig_path(dir: &Path) -> PathBuf {
    dir.join("kube-controller-manager.kubeconfig")
}
