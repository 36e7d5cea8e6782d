//! `orglink-operator webhook-certs`: the Helm chart's init container when cert-manager
//! is not used (see [`crate::webhook::bootstrap`]).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::webhook::bootstrap::{Bootstrap, run as bootstrap};

#[derive(Clone, Debug, Args)]
pub(crate) struct WebhookCertsArgs {
    /// Secret holding the CA and serving certificate.
    #[arg(long)]
    pub(crate) secret_name: String,
    #[arg(long, env = "POD_NAMESPACE")]
    pub(crate) secret_namespace: String,
    /// Service the API server dials (its DNS names go into the certificate).
    #[arg(long)]
    pub(crate) service_name: String,
    #[arg(long, env = "POD_NAMESPACE")]
    pub(crate) service_namespace: String,
    /// ValidatingWebhookConfiguration whose caBundle is set.
    #[arg(long)]
    pub(crate) webhook_config_name: String,
    /// Where tls.crt and tls.key are written for the operator's webhook server.
    #[arg(long)]
    pub(crate) cert_dir: PathBuf,
}

pub(crate) fn run(args: WebhookCertsArgs) -> anyhow::Result<()> {
    super::logging::init(super::logging::LogFormat::Text);
    tokio::runtime::Runtime::new()?.block_on(async {
        let client = kube::Client::try_default()
            .await
            .context("no Kubernetes configuration: set KUBECONFIG or run in a cluster")?;
        bootstrap(
            client,
            Bootstrap {
                secret_name: &args.secret_name,
                secret_namespace: &args.secret_namespace,
                service_name: &args.service_name,
                service_namespace: &args.service_namespace,
                webhook_config_name: &args.webhook_config_name,
                cert_dir: &args.cert_dir,
            },
        )
        .await?;
        println!("webhook certificates ready in {}", args.cert_dir.display());
        Ok(())
    })
}
