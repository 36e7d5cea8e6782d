//! `orglink-operator sandbox`: the embedded sandbox for the demo and for trying the
//! operator without a cluster or a Genesys Cloud account.
//!
//! It starts a real Kubernetes control plane (etcd, kube-apiserver and
//! kube-controller-manager; no nodes, see [`crate::sandbox::control_plane`]), installs the CRDs, writes `DIR/kubeconfig`,
//! starts the simulated Genesys Cloud (unless `--no-genesys`) and keeps running
//! until Ctrl-C or SIGTERM, when everything it started is stopped and removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::runtime::kube_client::KubeClients;
use crate::runtime::signals::shutdown_signal;
use crate::sandbox::control_plane::{ControlPlane, ControlPlaneOptions};
use crate::sandbox::crds::install_crds;
use crate::sandbox::genesys_sim::cluster::register_organizations;
use crate::sandbox::genesys_sim::launch::{SeedSource, describe, start_for_sandbox};

/// Options of `orglink-operator sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Where the sandbox keeps its files (kubeconfig, genesys-url).
    #[arg(long, default_value = ".orglink-sandbox")]
    pub(crate) state_dir: PathBuf,
    /// Port of the Kubernetes API server (default: a free one).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Seed file of the simulated orgs (default examples/sandbox/genesys-orgs.yaml).
    #[arg(long)]
    pub(crate) genesys_orgs: Option<PathBuf>,
    /// Run only the simulated Genesys Cloud (no control plane).
    #[arg(long, conflicts_with_all = ["no_genesys", "port", "with_organizations", "demo", "no_controller_manager"])]
    pub(crate) genesys_only: bool,
    /// Leave out the simulated Genesys Cloud.
    #[arg(long, conflicts_with_all = ["with_organizations", "demo"])]
    pub(crate) no_genesys: bool,
    /// Leave out kube-controller-manager: the bare API server, as envtest runs it
    /// (deleted namespaces then stay Terminating and owned objects are not collected).
    #[arg(long)]
    pub(crate) no_controller_manager: bool,
    /// Leave out the operator.
    #[arg(long, conflicts_with = "demo")]
    pub(crate) no_operator: bool,
    /// Create a namespace, Secret and Organization for each seeded org.
    #[arg(long)]
    pub(crate) with_organizations: bool,
    /// Run the scripted demo and exit.
    #[arg(long)]
    pub(crate) demo: bool,
}

/// Runs the sandbox until Ctrl-C or SIGTERM.
pub(crate) fn run(args: SandboxArgs) -> anyhow::Result<()> {
    // The control plane is polled while it starts; those failures are expected.
    super::logging::init_with_default(
        super::logging::LogFormat::Text,
        "warn,kube_client::client::builder=off",
    );
    std::fs::create_dir_all(&args.state_dir)
        .with_context(|| format!("creating --state-dir {}", args.state_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        if args.genesys_only {
            return run_genesys_only(&args).await;
        }
        run_cluster(&args).await
    })
}

async fn run_genesys_only(args: &SandboxArgs) -> anyhow::Result<()> {
    let seed = SeedSource::from_flag(args.genesys_orgs.clone());
    let handle = start_for_sandbox(&args.state_dir, &seed).await?;
    for line in describe(&handle) {
        println!("{line}");
    }
    println!(
        "URL written to {}/genesys-url. Press Ctrl-C to stop.",
        args.state_dir.display()
    );
    shutdown_signal().await?;
    handle.shutdown().await;
    Ok(())
}

async fn run_cluster(args: &SandboxArgs) -> anyhow::Result<()> {
    eprintln!(
        "Starting the sandbox control plane (etcd + kube-apiserver{})...",
        if args.no_controller_manager {
            ""
        } else {
            " + kube-controller-manager"
        }
    );
    let control_plane = ControlPlane::start(ControlPlaneOptions {
        api_port: args.port,
        controller_manager: !args.no_controller_manager,
        ..ControlPlaneOptions::default()
    })
    .await?;
    let client = control_plane.client().await?;
    install_crds(client.clone(), Duration::from_secs(60)).await?;
    let kubeconfig = args.state_dir.join("kubeconfig");
    control_plane
        .write_kubeconfig(&kubeconfig)
        .with_context(|| format!("writing {}", kubeconfig.display()))?;

    let sim = if args.no_genesys {
        None
    } else {
        let seed = SeedSource::from_flag(args.genesys_orgs.clone());
        Some(start_for_sandbox(&args.state_dir, &seed).await?)
    };
    if (args.with_organizations || args.demo)
        && let Some(sim) = &sim
    {
        let applied = register_organizations(client.clone(), sim).await?;
        eprintln!(
            "Registered {} organizations (a namespace, Secret and Organization each).",
            applied.len()
        );
    }

    let shutdown = tokio_util::sync::CancellationToken::new();
    let operator = if args.no_operator {
        None
    } else {
        let sim_url = sim.as_ref().map(|s| s.url());
        let run_args = register_webhook(&client, &args.state_dir, sim_url).await?;
        let webhook = (run_args.webhook_addr, run_args.webhook_cert_dir.clone());
        // The operator's clients as `run` builds them: its calls in flight bounded.
        let clients = KubeClients::new(
            control_plane.kube_config().await?,
            run_args.max_kube_api_calls_in_flight as usize,
        )?;
        let stop = shutdown.clone();
        let handle = tokio::spawn(async move {
            if let Err(error) = super::run::run_operator(clients, run_args, stop).await {
                eprintln!("the operator stopped: {error:#}");
            }
        });
        crate::sandbox::webhook::wait_ready(webhook.0, &webhook.1, Duration::from_secs(60)).await?;
        Some(handle)
    };

    if args.demo {
        let result = match &sim {
            Some(sim) => super::demo::run(client.clone(), sim).await,
            None => Err(anyhow::anyhow!("--demo needs the simulated Genesys Cloud")),
        };
        shutdown.cancel();
        if let Some(operator) = operator {
            let _ = operator.await;
        }
        if let Some(sim) = sim {
            sim.shutdown().await;
        }
        drop(control_plane);
        return result;
    }

    print_banner(
        &control_plane,
        &kubeconfig,
        sim.as_ref().map(describe),
        operator.is_some(),
    );
    shutdown_signal().await?;
    eprintln!("Stopping the sandbox...");
    shutdown.cancel();
    if let Some(operator) = operator {
        let _ = operator.await;
    }
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    drop(control_plane);
    Ok(())
}

/// The operator's arguments with the webhook served where the sandbox registered it.
async fn register_webhook(
    client: &kube::Client,
    state_dir: &Path,
    simulator_url: Option<&str>,
) -> anyhow::Result<super::run::RunArgs> {
    let registered =
        crate::sandbox::webhook::register(client, &state_dir.join("webhook-certs")).await?;
    let mut args = operator_args(simulator_url);
    args.no_webhook = false;
    args.webhook_addr = registered.addr;
    args.webhook_cert_dir = registered.cert_dir;
    Ok(args)
}

/// The operator as the sandbox runs it: every namespace, no leader election (one
/// replica), probes and metrics on free loopback ports, and the simulator's URL (plain
/// http, on loopback) allowed as `spec.apiBaseUrl`; nothing else besides the Genesys
/// Cloud hosts.
fn operator_args(simulator_url: Option<&str>) -> super::run::RunArgs {
    let allowed: Vec<&str> = simulator_url.into_iter().collect();
    super::run::RunArgs::loopback(&allowed)
}

fn print_banner(
    control_plane: &ControlPlane,
    kubeconfig: &Path,
    genesys: Option<Vec<String>>,
    operator: bool,
) {
    let kubeconfig = std::fs::canonicalize(kubeconfig).unwrap_or_else(|_| kubeconfig.into());
    println!(
        "Kubernetes control plane {} ready in {:.1} s, CRDs installed.",
        control_plane.url(),
        control_plane.started_in().as_secs_f64()
    );
    println!("{}", control_plane.controller_manager().describe());
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!(
        "  kubectl ({} matching the API server): {}",
        crate::sandbox::control_plane::KUBE_VERSION,
        control_plane.kubectl_path().display()
    );
    println!("  try: kubectl get crds; kubectl get genesys -A");
    for line in genesys.unwrap_or_default() {
        println!("{line}");
    }
    if operator {
        println!("The operator is running in this process (logs below; RUST_LOG=debug for more).");
    }
    println!("Press Ctrl-C to stop; everything the sandbox started is stopped and removed.");
}
