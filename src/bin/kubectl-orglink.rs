//! `kubectl orglink`: see and answer Genesys Cloud organization links from kubectl.
//! Installed on PATH as `kubectl-orglink`, kubectl finds it as the `orglink` plugin.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

use orglink_operator::api::{LinkDecision, OrgLink, OrgPairing, Organization};
use orglink_operator::plugin::refresh::Waiter;
use orglink_operator::plugin::{audit, build, export, refresh, render};

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
    /// Show the Organizations' views as they are, without asking the operator to re-read
    /// them first (pending, status, approve and decline ask by default).
    #[arg(long, global = true)]
    no_refresh: bool,
    /// How long to wait for the operator's fresh read before showing the view it has.
    #[arg(long, global = true, default_value = "20s", value_parser = humantime::parse_duration)]
    refresh_timeout: std::time::Duration,
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
    /// Relationships in Genesys Cloud that no object declares (with a manifest that
    /// adopts each), and objects whose relationship Genesys Cloud does not show.
    Audit {
        /// `yaml`: print only the adopting manifests, as one YAML stream.
        #[arg(short, long)]
        output: Option<String>,
    },
    /// Authorized-organization pairings.
    #[command(subcommand)]
    Pairing(PairingCommand),
}

#[derive(Debug, Subcommand)]
enum PairingCommand {
    /// Print the trustor's OrgPairing (spec.grant, pairingId filled) for the trustee
    /// OrgPairing NAME, to commit or apply on the trustor's side.
    Export(Export),
}

#[derive(Debug, clap::Args)]
struct Export {
    /// The trustee's OrgPairing (spec.request) in the namespace.
    name: String,
    /// The trustor's Organization (spec.organizationRef of the printed OrgPairing).
    #[arg(long)]
    trustor_org: String,
    /// Namespace of the printed OrgPairing (default: none, so `kubectl apply -n` decides).
    #[arg(long)]
    trustor_namespace: Option<String>,
    /// Name of the printed OrgPairing (default: NAME).
    #[arg(long = "as")]
    as_name: Option<String>,
    /// A role of the trustor org (by name) for every user and group; repeat for more.
    #[arg(long = "role")]
    roles: Vec<String>,
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
    orglink_operator::runtime::tls::ensure_crypto_provider();
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
    let fresh = Fresh {
        client: client.clone(),
        skip: cli.no_refresh,
        timeout: cli.refresh_timeout,
    };
    match cli.command {
        Command::Status => {
            let (orgs, links, pairings) = scoped(cli.all_namespaces);
            let lp = ListParams::default();
            let o = fresh.list(&orgs, &lp).await?;
            let (l, p) = (links.list(&lp).await?, pairings.list(&lp).await?);
            print!(
                "{}",
                render::status(&o, &l.items, &p.items, Timestamp::now())
            );
        }
        Command::Pending => {
            // Across namespaces unless one was named.
            let (orgs, _, _) = scoped(cli.namespace.is_none() || cli.all_namespaces);
            let o = fresh.list(&orgs, &ListParams::default()).await?;
            print!("{}", render::pending(&o, Timestamp::now()));
        }
        Command::Audit { output } => {
            let (orgs, links, pairings) = scoped(cli.all_namespaces);
            let lp = ListParams::default();
            let o = fresh.list(&orgs, &lp).await?;
            let (l, p) = (links.list(&lp).await?, pairings.list(&lp).await?);
            match output.as_deref() {
                Some("yaml") => print!("{}", audit::manifests(&o, &l.items, &p.items)),
                Some(other) => anyhow::bail!("unsupported --output {other:?}; use -o yaml"),
                None => print!(
                    "{}",
                    audit::report(&o, &l.items, &p.items, Timestamp::now())
                ),
            }
        }
        Command::Approve(a) => answer(&fresh, &ns, a, LinkDecision::Accept).await?,
        Command::Decline(a) => answer(&fresh, &ns, a, LinkDecision::Decline).await?,
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
        Command::Pairing(PairingCommand::Export(e)) => export(&client, &ns, e).await?,
    }
    Ok(())
}

async fn answer(fresh: &Fresh, ns: &str, a: Answer, decision: LinkDecision) -> anyhow::Result<()> {
    let client = &fresh.client;
    let orgs: Api<Organization> = Api::namespaced(client.clone(), ns);
    let by_name = ListParams::default().fields(&format!("metadata.name={}", a.org));
    let org = fresh
        .list(&orgs, &by_name)
        .await
        .with_context(|| format!("reading Organization {ns}/{}", a.org))?
        .into_iter()
        .next()
        .with_context(|| format!("Organization {ns}/{} not found", a.org))?;
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

/// `pairing export`: reads the trustee's OrgPairing and its Organization, prints the
/// trustor's manifest (src/plugin/export.rs decides what goes in it).
async fn export(client: &Client, ns: &str, e: Export) -> anyhow::Result<()> {
    let pairings: Api<OrgPairing> = Api::namespaced(client.clone(), ns);
    let trustee = pairings
        .get(&e.name)
        .await
        .with_context(|| format!("reading OrgPairing {ns}/{}", e.name))?;
    let orgs: Api<Organization> = Api::namespaced(client.clone(), ns);
    let org_name = &trustee.spec.organization_ref;
    let org = orgs
        .get(org_name)
        .await
        .with_context(|| format!("reading Organization {ns}/{org_name}"))?;
    let opts = export::ExportOptions {
        name: e.as_name,
        namespace: e.trustor_namespace,
        trustor_org: e.trustor_org,
        roles: e.roles,
    };
    let grant = export::grant_for(&trustee, &org, &opts)?;
    print!(
        "{}{}",
        export::header(&trustee, &org, Timestamp::now()),
        serde_yaml::to_string(&grant)?
    );
    Ok(())
}

/// Lists Organizations, after asking the operator to re-read each one (annotation
/// `orglink.dev/refresh`) and waiting, bounded, until it has; unless `--no-refresh`.
struct Fresh {
    client: Client,
    skip: bool,
    timeout: Duration,
}

impl Fresh {
    async fn list(
        &self,
        api: &Api<Organization>,
        lp: &ListParams,
    ) -> anyhow::Result<Vec<Organization>> {
        let orgs = api.list(lp).await?.items;
        if self.skip || orgs.is_empty() {
            return Ok(orgs);
        }
        let mut waiting = self.ask(&orgs).await;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut latest = orgs;
        while !waiting.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            latest = api.list(lp).await?.items;
            // An Organization deleted meanwhile answers nothing: stop waiting for it.
            waiting.retain(|k, _| latest.iter().any(|o| key(o) == *k));
            for org in &latest {
                if let Some(w) = waiting.get_mut(&key(org))
                    && w.answered(org)
                {
                    waiting.remove(&key(org));
                    if let Some(message) = refresh::failed_read_message(org, Timestamp::now()) {
                        eprintln!("warning: {message}");
                    }
                }
            }
        }
        for org in &latest {
            if let Some(w) = waiting.get(&key(org)) {
                let message =
                    refresh::timeout_message(org, w.value(), self.timeout, Timestamp::now());
                eprintln!("warning: {message}");
            }
        }
        Ok(latest)
    }

    /// Sets the refresh annotation on every org, a few at a time; returns a waiter for
    /// each org that took it (the others are reported and shown as they are).
    async fn ask(&self, orgs: &[Organization]) -> BTreeMap<(String, String), Waiter> {
        let value = refresh::request_value(Timestamp::now());
        let patch = refresh::request_patch(&value);
        let asked: Vec<_> = futures::stream::iter(orgs.iter().cloned())
            .map(|org| {
                let (client, patch) = (self.client.clone(), patch.clone());
                async move {
                    let api: Api<Organization> =
                        Api::namespaced(client, org.metadata.namespace.as_deref().unwrap_or(""));
                    let result = api
                        .patch(
                            &org.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await;
                    (org, result)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut waiting = BTreeMap::new();
        for (org, result) in asked {
            match result {
                Ok(_) => {
                    waiting.insert(key(&org), Waiter::new(&value));
                }
                Err(e) => eprintln!(
                    "warning: {}",
                    refresh::not_asked_message(&org, &e.to_string(), Timestamp::now())
                ),
            }
        }
        waiting
    }
}

fn key(org: &Organization) -> (String, String) {
    (org.namespace().unwrap_or_default(), org.name_any())
}
