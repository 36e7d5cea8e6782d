//! `orglink-operator run`: the operator. Controllers for the three kinds, leader
//! election on a Lease, `/metrics`, `/healthz` and `/readyz`, graceful shutdown on
//! SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::logging::{LogFormat, init};
use crate::controller::slots::{self, SlotLimits};
use crate::controller::{Metrics, OperatorOptions, Settings};
use crate::genesys::ApiBaseUrlAllowlist;
use crate::runtime::kube_client::{self, KubeClients};
use crate::runtime::leader::{LeaseConfig, acquire, default_identity};
use crate::runtime::probes::{Liveness, Readiness, health_router, metrics_router, serve};
use crate::runtime::scope::Scope;
use crate::runtime::signals::shutdown_signal;

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
    /// Also allow this `spec.apiBaseUrl`: a host (`proxy.example.com`: any https URL on
    /// it) or a URL prefix (`https://proxy.example.com:8443/genesys`). Repeatable, or
    /// comma-separated in the variable. The Genesys Cloud region API hosts are always
    /// allowed; anything else is refused, with nothing sent.
    #[arg(
        long = "allow-api-base-url",
        env = "ORGLINK_ALLOW_API_BASE_URL",
        value_name = "HOST_OR_URL_PREFIX",
        value_delimiter = ','
    )]
    pub allow_api_base_url: Vec<String>,
    /// Permit plain `http://` for allowed `spec.apiBaseUrl`s (credentials unencrypted:
    /// local simulators and test servers only).
    #[arg(long, env = "ORGLINK_ALLOW_INSECURE_HTTP")]
    pub allow_insecure_http: bool,
    /// The shortest resync used: an Organization's shorter `resyncInterval` is raised to
    /// this (e.g. `30s`, `1m`).
    #[arg(long, default_value = "30s")]
    pub min_resync_interval: humantime::Duration,
    /// How many reconciles of one kind (Organization, OrgLink, OrgPairing) run at once,
    /// all orgs together. With `--namespace a,b` each listed namespace has its own
    /// controllers, and so this many of each kind (the limit is kube-runtime's, set per
    /// controller). Each one running holds some kilobytes; one waiting for its turn, a
    /// reference of about 200 bytes.
    #[arg(long, default_value_t = slots::DEFAULT_TOTAL as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_reconciles: u32,
    /// How many reconciles acting as one Organization run at once. They share the
    /// org's Genesys request budget, so more would only wait for it; and an org that is
    /// slow or unreachable holds no more than this of the total. The others of that org
    /// are parked and woken in turn.
    #[arg(long, default_value_t = slots::DEFAULT_PER_ORG as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_reconciles_per_org: u32,
    /// How many calls to the Kubernetes API server are awaiting their answer at once,
    /// all controllers and the webhook's cache together; the others wait their turn.
    /// Each one holds a connection (kube's client speaks HTTP/1.1) with its TLS state
    /// and buffers; a watch counts only until its stream starts. The leader Lease has
    /// a connection of its own, outside this bound.
    #[arg(long, default_value_t = kube_client::DEFAULT_MAX_IN_FLIGHT as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_kube_api_calls_in_flight: u32,
}

impl RunArgs {
    /// The operator on loopback: every namespace, no leader election, no webhook,
    /// probes and metrics on free ports, and `spec.apiBaseUrl` allowed for the given
    /// simulator hosts or URL prefixes, plain `http://` included (the sandbox's, the
    /// demo's and the tests' simulators). Callers adjust fields.
    pub fn loopback(simulators: &[&str]) -> Self {
        Self {
            namespace: None,
            leader_elect: false,
            lease_name: "orglink-operator".into(),
            lease_namespace: None,
            metrics_addr: "127.0.0.1:0".parse().expect("static address"),
            health_addr: "127.0.0.1:0".parse().expect("static address"),
            webhook_addr: "127.0.0.1:0".parse().expect("static address"),
            webhook_cert_dir: std::env::temp_dir(),
            no_webhook: true,
            log_format: LogFormat::Text,
            allow_api_base_url: simulators.iter().map(|h| h.to_string()).collect(),
            allow_insecure_http: !simulators.is_empty(),
            // Loopback runs are for watching changes converge: resyncs as short as asked.
            min_resync_interval: std::time::Duration::from_secs(1).into(),
            max_concurrent_reconciles: slots::DEFAULT_TOTAL as u32,
            max_concurrent_reconciles_per_org: slots::DEFAULT_PER_ORG as u32,
            max_kube_api_calls_in_flight: kube_client::DEFAULT_MAX_IN_FLIGHT as u32,
        }
    }

    /// The `spec.apiBaseUrl` allowlist of these flags; the error names the bad flag.
    pub(crate) fn allowlist(&self) -> anyhow::Result<ApiBaseUrlAllowlist> {
        ApiBaseUrlAllowlist::new(&self.allow_api_base_url, self.allow_insecure_http)
            .map_err(|e| anyhow::anyhow!(e))
    }
}

/// Runs the operator until SIGTERM or Ctrl-C.
pub(crate) fn run(args: RunArgs) -> anyhow::Result<()> {
    init(args.log_format);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let config = kube::Config::infer()
            .await
            .context("no Kubernetes configuration: set KUBECONFIG or run in a cluster")?;
        let clients = KubeClients::new(config, args.max_kube_api_calls_in_flight as usize)
            .context("cannot build the Kubernetes client")?;
        let shutdown = CancellationToken::new();
        {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _ = shutdown_signal().await;
                tracing::info!("shutting down");
                shutdown.cancel();
            });
        }
        run_operator(clients, args, shutdown).await
    })
}

/// The operator on existing clients, until `shutdown` (used by `run` and the sandbox);
/// one client serves as both when given one.
pub async fn run_operator(
    clients: impl Into<KubeClients>,
    args: RunArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let KubeClients {
        work: client,
        lease: lease_client,
    } = clients.into();
    let scope = Scope::parse(args.namespace.as_deref());
    let allowlist = args.allowlist()?;
    tracing::info!(allowed = %allowlist.describe(), "spec.apiBaseUrl allowlist");
    let mut readiness = Readiness::default();
    if !args.no_webhook {
        // Every replica serves the webhook, leader or not, and is Ready only once the
        // webhook can answer (before, it refuses every review as "still loading").
        let cache =
            crate::webhook::cache::CacheView::start(client.clone(), &scope, shutdown.clone());
        let synced = cache.clone();
        readiness = readiness.requiring(move || synced.view().is_some());
        crate::webhook::server::serve(
            args.webhook_addr,
            &args.webhook_cert_dir,
            cache,
            allowlist.clone(),
            shutdown.clone(),
        )
        .await?;
    }
    let metrics = Arc::new(Metrics::new());
    let liveness = Liveness::default();
    let bound = serve(
        args.metrics_addr,
        metrics_router({
            let metrics = metrics.clone();
            move || metrics.encode()
        }),
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
        config.validate().map_err(|e| anyhow::anyhow!(e))?;
        tracing::info!(%identity, lease = %args.lease_name, "waiting to become the leader");
        // A standby is ready: it serves probes and takes over when the leader goes.
        readiness.set_ready();
        match acquire(lease_client, config, shutdown.clone()).await {
            Some(leadership) => Some(leadership),
            None => return Ok(()),
        }
    } else {
        None
    };
    // On leadership loss: in-flight reconciles are dropped at once (`abort`, the very
    // token the renewer cancels), then the controllers stop.
    let abort = leadership.as_ref().map(|l| l.lost()).unwrap_or_default();
    let controllers_stop = shutdown.child_token();
    {
        let (abort, stop) = (abort.clone(), controllers_stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = abort.cancelled() => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        });
    }
    let options = OperatorOptions {
        scope,
        settings: Settings {
            allowlist,
            min_resync: args.min_resync_interval.into(),
            slots: SlotLimits {
                total: args.max_concurrent_reconciles as usize,
                per_org: args.max_concurrent_reconciles_per_org as usize,
            },
            ..Settings::default()
        },
        instance: Some(identity),
        abort,
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn run_args(argv: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(["orglink-operator", "run"].iter().chain(argv))?;
        match cli.command {
            Command::Run(args) => Ok(args),
            _ => unreachable!("parsed `run`"),
        }
    }

    #[test]
    fn the_kube_api_bound_defaults_to_16_and_refuses_zero_naming_the_flag() {
        let default = run_args(&[]).unwrap();
        assert_eq!(default.max_kube_api_calls_in_flight, 16);
        let raised = run_args(&["--max-kube-api-calls-in-flight=64"]).unwrap();
        assert_eq!(raised.max_kube_api_calls_in_flight, 64);
        let e = run_args(&["--max-kube-api-calls-in-flight=0"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--max-kube-api-calls-in-flight"), "{e}");
    }

    #[test]
    fn the_allowlist_flags_repeat_and_default_to_the_region_hosts_only() {
        let default = run_args(&[]).unwrap();
        assert!(default.allow_api_base_url.is_empty() && !default.allow_insecure_http);
        assert_eq!(
            default.allowlist().unwrap(),
            ApiBaseUrlAllowlist::regions_only()
        );
        let args = run_args(&[
            "--allow-api-base-url",
            "proxy.example.com",
            "--allow-api-base-url=http://127.0.0.1:18080",
            "--allow-insecure-http",
        ])
        .unwrap();
        let list = args.allowlist().unwrap();
        assert_eq!(list.entries().len(), 2);
        assert_eq!(list.check("http://127.0.0.1:18080/us-east-1"), Ok(()));
        // An http entry without --allow-insecure-http stops the start, naming both flags.
        let e = run_args(&["--allow-api-base-url", "http://127.0.0.1:18080"])
            .unwrap()
            .allowlist()
            .unwrap_err()
            .to_string();
        assert!(e.contains("--allow-insecure-http"), "{e}");
    }
}
