//! `kubectl orglink`: see and answer Genesys Cloud organization links from kubectl.
//! Installed on PATH as `kubectl-orglink`, kubectl finds it as the `orglink` plugin.

use anyhow::Context;
use clap::{Parser, Subcommand};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

use orglink_operator::api::{LinkDecision, OrgLink, OrgPairing, Organization};
use orglink_operator::plugin::{build, render};

/// See and answer Genesys Cloud organization links and pairings.
#[derive(Debug, Parser)]
#[command(name = "kubectl orglink", version)]
struct Cli {
    /// Namespace (default: the kubeconfig context's namespace).
    #[arg(short, long, global = true)]
    namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long, global = true)]
    all_namespaces: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every org with its linked orgs, pending outgoing and incoming links, and pairings.
    Status,
    /// Incoming link requests waiting for us, across namespaces.
    Pending,
    /// Approve a link with PEER_ID: creates an OrgLink with decision Accept.
    Approve(Answer),
    /// Decline a link with PEER_ID: creates an OrgLink with decision Decline.
    Decline(Answer),
    /// Delete an OrgLink, which severs the link (or withdraws the request).
    Unlink { name: String },
    /// Ask again after a rejection or unlink by the peer (bumps spec.attempt).
    Retry { name: String },
}

#[derive(Debug, clap::Args)]
struct Answer {
    /// The other organization's ID.
    peer_id: String,
    /// The Organization (in the namespace) that answers.
    #[arg(long)]
    org: String,
    /// The peer's region; default: from the pending request on the Organization.
    #[arg(long)]
    peer_region: Option<String>,
    /// Name of the OrgLink (default link-<first 8 digits of the peer ID>).
    #[arg(long)]
    name: Option<String>,
    /// `yaml`: print the OrgLink for a GitOps commit instead of creating it.
    #[arg(short, long)]
    output: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let client = Client::try_default()
        .await
        .context("connecting to the cluster from the kubeconfig")?;
    let ns = cli
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let scoped = |all: bool| -> (Api<Organization>, Api<OrgLink>, Api<OrgPairing>) {
        if all {
            (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client.clone()),
            )
        } else {
            (
                Api::namespaced(client.clone(), &ns),
                Api::namespaced(client.clone(), &ns),
                Api::namespaced(client.clone(), &ns),
            )
        }
    };
    match cli.command {
        Command::Status => {
            let (orgs, links, pairings) = scoped(cli.all_namespaces);
            let lp = ListParams::default();
            let (o, l, p) = (
                orgs.list(&lp).await?,
                links.list(&lp).await?,
                pairings.list(&lp).await?,
            );
            print!("{}", render::status(&o.items, &l.items, &p.items));
        }
        Command::Pending => {
            // Across namespaces unless one was named.
            let (orgs, _, _) = scoped(cli.namespace.is_none() || cli.all_namespaces);
            print!(
                "{}",
                render::pending(&orgs.list(&ListParams::default()).await?.items)
            );
        }
        Command::Approve(a) => answer(&client, &ns, a, LinkDecision::Accept).await?,
        Command::Decline(a) => answer(&client, &ns, a, LinkDecision::Decline).await?,
        Command::Unlink { name } => {
            let links: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
            links
                .delete(&name, &DeleteParams::default())
                .await
                .with_context(|| format!("deleting OrgLink {ns}/{name}"))?;
            println!(
                "orglink.orglink.dev/{name} deleted: the operator severs the link before the object goes"
            );
        }
        Command::Retry { name } => {
            let links: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
            let link = links
                .get(&name)
                .await
                .with_context(|| format!("reading OrgLink {ns}/{name}"))?;
            let patch = build::retry_patch(&link);
            links
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            println!(
                "orglink.orglink.dev/{name} patched: spec.attempt is now {}",
                link.spec.attempt + 1
            );
        }
    }
    Ok(())
}

async fn answer(
    client: &Client,
    ns: &str,
    a: Answer,
    decision: LinkDecision,
) -> anyhow::Result<()> {
    let orgs: Api<Organization> = Api::namespaced(client.clone(), ns);
    let org = orgs
        .get(&a.org)
        .await
        .with_context(|| format!("reading Organization {ns}/{}", a.org))?;
    let link = build::answer_link(
        &org,
        &a.peer_id,
        a.peer_region.as_deref(),
        decision,
        a.name.as_deref(),
    )?;
    match a.output.as_deref() {
        Some("yaml") => print!("{}", serde_yaml::to_string(&link)?),
        Some(other) => anyhow::bail!("unsupported --output {other:?}; use -o yaml"),
        None => {
            let links: Api<OrgLink> = Api::namespaced(client.clone(), ns);
            let created = links.create(&PostParams::default(), &link).await?;
            println!(
                "orglink.orglink.dev/{} created ({decision:?})",
                created.name_any()
            );
        }
    }
    Ok(())
}
