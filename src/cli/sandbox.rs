//! `orglink-operator sandbox`: the embedded sandbox for the demo and for trying the
//! operator without a cluster or a Genesys Cloud account.
//!
//! Today it runs the simulated Genesys Cloud (`--genesys-only`). The control plane
//! (etcd + kube-apiserver) and the operator join this command in later work; their
//! flags are accepted by the parser so scripts stay stable, and asking for what is not
//! there yet fails with a message that says so instead of being ignored.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::sandbox::genesys_sim::launch::{SeedSource, describe, start_for_sandbox};

/// Options of `orglink-operator sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Where the sandbox keeps its files (kubeconfig, genesys-url).
    #[arg(long, default_value = ".orglink-sandbox")]
    pub state_dir: PathBuf,
    /// Port of the Kubernetes API server (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Seed file of the simulated orgs (default examples/sandbox/genesys-orgs.yaml).
    #[arg(long)]
    pub genesys_orgs: Option<PathBuf>,
    /// Run only the simulated Genesys Cloud.
    #[arg(long)]
    pub genesys_only: bool,
    /// Leave out the simulated Genesys Cloud.
    #[arg(long)]
    pub no_genesys: bool,
    /// Leave out the operator.
    #[arg(long)]
    pub no_operator: bool,
    /// Create a namespace, Secret and Organization for each seeded org.
    #[arg(long)]
    pub with_organizations: bool,
    /// Run the scripted demo and exit.
    #[arg(long)]
    pub demo: bool,
}

const NOT_YET: &str = "the sandbox's Kubernetes control plane (etcd + kube-apiserver) and the operator are not available in this build yet; run `orglink-operator sandbox --genesys-only` for the simulated Genesys Cloud alone";

/// Runs the sandbox until Ctrl-C.
pub fn run(args: SandboxArgs) -> anyhow::Result<()> {
    if !args.genesys_only
        || args.no_genesys
        || args.with_organizations
        || args.demo
        || args.port.is_some()
    {
        bail!(NOT_YET);
    }
    std::fs::create_dir_all(&args.state_dir)
        .with_context(|| format!("creating --state-dir {}", args.state_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let seed = SeedSource::from_flag(args.genesys_orgs.clone());
        let handle = start_for_sandbox(&args.state_dir, &seed).await?;
        for line in describe(&handle) {
            println!("{line}");
        }
        println!(
            "URL written to {}/genesys-url. Press Ctrl-C to stop.",
            args.state_dir.display()
        );
        tokio::signal::ctrl_c().await?;
        drop(handle);
        Ok(())
    })
}
