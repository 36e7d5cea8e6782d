//! `orglink-operator run`: the operator. Controllers for the three kinds, leader
//! election on a Lease, `/metrics`, `/healthz` and `/readyz`, graceful shutdown on
//! SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::logging::{LogFormat, init};
use crate::controller::leader::{LeaseConfig, acquire, default_identity};
use crate::controller::probes::{Liveness, Readiness, health_router, metrics_router, serve};
use crate::controller::{Metrics, OperatorOptions, Scope, Settings};

/// Options of `orglink-operator run`.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// Namespaces to watch, comma-separated (default: all).
    #[arg(long, env = "ORGLINK_NAMESPACE")]
    pub namespace: Option<String>,
    /// Hold a Lease so that of several replicas only one acts.
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "orglink-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (default: POD_NAMESPACE, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Address of `/metrics`.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Address of `/healthz` and `/readyz`.
    #[arg(long, default_value = "0.0.0.0:8081")]
    pub health_addr: SocketAddr,
    /// Address of the validating webhook (HTTPS).
    #[arg(long, default_value = "0.0.0.0:9443")]
    pub webhook_addr: SocketAddr,
    /// Directory with the webhook's `tls.crt` and `tls.key`.
    #[arg(long, default_value = "/tmp/k8s-webhook-server/serving-certs")]
    pub webhook_cert_dir: std::path::PathBuf,
    /// Do not serve the validating webhook.
    #[arg(long)]
    pub no_webhook: bool,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The shortest resync used: an Organization's shorter `resyncInterval` is raised to
    /// this (e.g. `30s`, `1m`).
    #[arg(long, default_value = "30s")]
    pub min_resync_interval: humantime::Duration,
}

/// Runs the operator until SIGTERM or Ctrl-C.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    init(args.log_format);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        crate::genesys::tls::ensure_crypto_provider();
        let client = kube::Client::try_default()
            .await
            .context("no Kubernetes configuration: set KUBECONFIG or run in a cluster")?;
        let shutdown = CancellationToken::new();
        {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _ = super::sandbox::shutdown_signal().await;
                tracing::info!("shutting down");
                shutdown.cancel();
            });
        }
        run_operator(client, args, shutdown).await
    })
}

/// The operator on an existing client, until `shutdown` (used by `run` and the sandbox).
pub async fn run_operator(
    client: kube::Client,
    args: RunArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let scope = Scope::parse(args.namespace.as_deref());
    if !args.no_webhook {
        // Every replica serves the webhook, leader or not.
        let cache =
            crate::webhook::cache::CacheView::start(client.clone(), &scope, shutdown.clone());
        crate::webhook::server::serve(
            args.webhook_addr,
            &args.webhook_cert_dir,
            cache,
            shutdown.clone(),
        )
        .await?;
    }
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::default();
    let liveness = Liveness::default();
    let bound = serve(
        args.metrics_addr,
        metrics_router(metrics.clone()),
        shutdown.clone(),
    )
    .await?;
    tracing::info!(addr = %bound, "serving /metrics");
    let bound = serve(
        args.health_addr,
        health_router(readiness.clone(), liveness.clone()),
        shutdown.clone(),
    )
    .await?;
    tracing::info!(addr = %bound, "serving /healthz and /readyz");

    let identity = default_identity();
    let leadership = if args.leader_elect {
        let namespace = args
            .lease_namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let config = LeaseConfig::new(namespace, args.lease_name.clone(), identity.clone());
        tracing::info!(%identity, lease = %args.lease_name, "waiting to become the leader");
        // A standby is ready: it serves probes and takes over when the leader goes.
        readiness.set_ready();
        match acquire(client.clone(), config, shutdown.clone()).await {
            Some(leadership) => Some(leadership),
            None => return Ok(()),
        }
    } else {
        None
    };
    let controllers_stop = shutdown.child_token();
    if let Some(leadership) = &leadership {
        let lost = leadership.lost();
        let stop = controllers_stop.clone();
        tokio::spawn(async move {
            lost.cancelled().await;
            stop.cancel();
        });
    }
    let options = OperatorOptions {
        scope,
        settings: Settings {
            min_resync: args.min_resync_interval.into(),
            ..Settings::default()
        },
        instance: Some(identity),
    };
    let ready = readiness.clone();
    if let Err(error) = crate::controller::run(
        client,
        options,
        metrics,
        controllers_stop.clone(),
        move || ready.set_ready(),
    )
    .await
    {
        // `/healthz` fails from now on (the sandbox keeps serving it); `run` exits
        // non-zero with this error.
        liveness.fail(format!("{error:#}"));
        if let Some(leadership) = leadership {
            leadership.release().await;
        }
        return Err(error.context("the operator stopped reconciling"));
    }
    if let Some(leadership) = leadership {
        let lost = leadership.lost().is_cancelled();
        leadership.release().await;
        if lost && !shutdown.is_cancelled() {
            anyhow::bail!("leadership lost; exiting so that a restart rejoins as a standby");
        }
    }
    Ok(())
}
