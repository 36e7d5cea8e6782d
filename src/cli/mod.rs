//! The `orglink-operator` command line: one file per subcommand.

use clap::{Parser, Subcommand};

pub(crate) mod crdgen;
#[cfg(feature = "sandbox")]
pub(crate) mod demo;
pub(crate) mod logging;
pub mod run;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub(crate) mod webhook_certs;

/// Manage Genesys Cloud organization links and pairings from Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "orglink-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the CustomResourceDefinitions of all three kinds as one multi-document YAML.
    Crdgen,
    /// Run the operator: controllers, leader election, metrics and health endpoints.
    Run(run::RunArgs),
    /// Run the embedded sandbox: a real Kubernetes control plane, the simulated Genesys
    /// Cloud and the operator, on this machine.
    #[cfg(feature = "sandbox")]
    Sandbox(sandbox::SandboxArgs),
    /// Create or reuse the webhook's CA and serving certificate in a Secret, make the
    /// ValidatingWebhookConfiguration trust it, and write tls.crt/tls.key (init container).
    WebhookCerts(webhook_certs::WebhookCertsArgs),
}

/// Runs the chosen subcommand, after installing the process's rustls crypto provider
/// (once, before any TLS client or server exists: see [`crate::runtime::tls`]).
pub fn main(cli: Cli) -> anyhow::Result<()> {
    crate::runtime::tls::ensure_crypto_provider();
    match cli.command {
        Command::Crdgen => crdgen::run(),
        Command::Run(args) => run::run(args),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => sandbox::run(args),
        Command::WebhookCerts(args) => webhook_certs::run(args),
    }
}
