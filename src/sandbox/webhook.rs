//! The webhook as the sandbox (and the end-to-end tests) run it: certificates for
//! 127.0.0.1 and a ValidatingWebhookConfiguration with a URL `clientConfig`, so the
//! real API server calls the operator's webhook on every write of the three kinds.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::api::{Api, Patch, PatchParams};

use crate::sandbox::wait::until;
use crate::webhook::certs::WebhookCerts;
use crate::webhook::configuration::{Endpoint, validating_webhook_configuration};

/// Name of the ValidatingWebhookConfiguration the sandbox registers.
pub const CONFIGURATION_NAME: &str = "orglink-operator";

/// Where the webhook must be served.
#[derive(Clone, Debug)]
pub struct Registered {
    pub addr: SocketAddr,
    pub cert_dir: PathBuf,
}

/// Picks a free port, writes certificates to `cert_dir` and registers the webhook.
pub async fn register(client: &kube::Client, cert_dir: &Path) -> anyhow::Result<Registered> {
    let port = crate::sandbox::control_plane::free_port()?;
    let certs = WebhookCerts::generate(&["localhost".to_string()], &[Ipv4Addr::LOCALHOST.into()])?;
    certs
        .write_to(cert_dir)
        .with_context(|| format!("writing {}", cert_dir.display()))?;
    let config = validating_webhook_configuration(
        CONFIGURATION_NAME,
        Endpoint::Url(format!("https://127.0.0.1:{port}/validate")),
        &certs.ca_cert,
    );
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .patch(
            CONFIGURATION_NAME,
            &PatchParams::apply("orglink-sandbox").force(),
            &Patch::Apply(&config),
        )
        .await
        .context("registering the ValidatingWebhookConfiguration")?;
    Ok(Registered {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        cert_dir: cert_dir.to_path_buf(),
    })
}

/// Waits until the webhook at `addr` answers `/readyz` (its caches are synced).
pub async fn wait_ready(
    addr: SocketAddr,
    cert_dir: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    crate::runtime::tls::ensure_crypto_provider();
    let ca = std::fs::read(cert_dir.join("ca.crt"))?;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .build()?;
    let url = format!("https://{addr}/readyz");
    let ready = until(timeout, Duration::from_millis(100), async || {
        let answer = client.get(&url).send().await;
        Ok::<_, anyhow::Error>(answer.is_ok_and(|r| r.status().is_success()).then_some(()))
    })
    .await?;
    ready.ok_or_else(|| {
        anyhow::anyhow!("the webhook at {url} did not become ready within {timeout:?}")
    })
}
