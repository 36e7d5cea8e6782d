//! Two operator replicas with leader election against one simulated Genesys Cloud: only
//! the leader acts, and when it goes the standby takes over and converges new objects.
//!
//! A test binary of its own, without the shared operator of `support::operator()`
//! (which watches every namespace): here only the two replicas run.

mod support;

use std::net::SocketAddr;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use orglink_operator::api::conditions::is_true;
use orglink_operator::api::{LinkDecision, OrgLinkPhase, Organization};
use orglink_operator::cli::run::{RunArgs, run_operator};
use orglink_operator::sandbox::control_plane::free_port;
use orglink_operator::sandbox::genesys_sim::cluster::{org_objects, slug};
use orglink_operator::sandbox::genesys_sim::seed::{SeedOrg, default_seed};
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig, SimHandle, StatsSnapshot};
use support::{apply, eventually, link_phase};
use tokio_util::sync::CancellationToken;

use support::WAIT;
const LEASE: &str = "orglink-replicas";
const POST_LINK: &str = "POST /api/v2/telephony/organization/link";
const ANSWER_LINK: &str =
    "PATCH /api/v2/telephony/organization/link/approve/{requestingOrganizationId}";
const DELETE_LINK: &str = "DELETE /api/v2/telephony/organization/link/{targetOrganizationId}";
const TOKEN: &str = "POST /oauth/token";

struct Replica {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    metrics: SocketAddr,
}

/// Starts one replica watching `ns`, electing a leader on the Lease `LEASE` in `ns`.
async fn replica(ns: &str) -> Replica {
    let client = support::client().await;
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let args = RunArgs {
        namespace: Some(ns.to_string()),
        leader_elect: true,
        lease_name: LEASE.to_string(),
        lease_namespace: Some(ns.to_string()),
        metrics_addr: metrics,
        health_addr: "127.0.0.1:0".parse().unwrap(),
        webhook_addr: "127.0.0.1:0".parse().unwrap(),
        webhook_cert_dir: std::env::temp_dir(),
        no_webhook: true,
        log_format: orglink_operator::cli::logging::LogFormat::Text,
        min_resync_interval: std::time::Duration::from_secs(30).into(),
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_operator(client, args, stop.clone()));
    Replica {
        stop,
        task,
        metrics,
    }
}

/// Whether the replica has reconciled anything or called Genesys Cloud (samples, not
/// just the `# HELP` lines every registry prints).
fn has_acted(metrics: &str) -> bool {
    metrics.contains("orglink_reconciles_total{")
        || metrics.contains("orglink_genesys_api_calls_total{")
}

fn total(stats: &StatsSnapshot, endpoint: &str) -> u64 {
    stats
        .orgs
        .values()
        .filter_map(|o| o.endpoints.get(endpoint))
        .sum()
}

/// Both sides of a link declared in `ns`; waits until both are Linked.
async fn handshake(client: &kube::Client, ns: &str, a: &SeedOrg, b: &SeedOrg) {
    let (a_name, b_name) = (slug(&a.name), slug(&b.name));
    let (ab, ba) = (
        format!("{a_name}-to-{b_name}"),
        format!("{b_name}-to-{a_name}"),
    );
    apply(
        client,
        ns,
        &support::link(&ab, &a_name, b, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(client, ns, &ab, OrgLinkPhase::WaitingForConfirmation).await;
    apply(
        client,
        ns,
        &support::link(&ba, &b_name, a, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(client, ns, &ab, OrgLinkPhase::Linked).await;
    link_phase(client, ns, &ba, OrgLinkPhase::Linked).await;
}

async fn lease_holder(client: &kube::Client, ns: &str) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), ns);
    api.get_opt(LEASE)
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
        .filter(|h| !h.is_empty())
}

/// Secret and Organization of each org in the one namespace `ns`, named by its slug.
async fn register(client: &kube::Client, ns: &str, sim: &SimHandle, orgs: &[&SeedOrg]) {
    for org in orgs {
        let name = slug(&org.name);
        let mut objects = org_objects(org, &name, &sim.region_url(org.region));
        objects.secret.metadata.namespace = Some(ns.to_string());
        objects.organization.metadata.namespace = Some(ns.to_string());
        objects.organization.spec.resync_interval = Some("1h".into());
        apply::<Secret>(client, ns, &objects.secret).await;
        apply(client, ns, &objects.organization).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_acts_and_the_standby_takes_over() {
    let client = support::client().await;
    let ns = support::namespace(&client, "replicas").await;
    let sim = GenesysSim::start(SimConfig::new(default_seed()))
        .await
        .expect("simulator");
    let prod = sim.org_by_name("Acme Prod").unwrap().clone();
    let dr = sim.org_by_name("Acme DR").unwrap().clone();
    let msp = sim.org_by_name("MSP Prod").unwrap().clone();
    register(&client, &ns, &sim, &[&prod, &dr, &msp]).await;

    let replicas = [replica(&ns).await, replica(&ns).await];
    let orgs: Api<Organization> = Api::namespaced(client.clone(), &ns);
    for org in [&prod, &dr, &msp] {
        let name = slug(&org.name);
        eventually(&format!("Organization {name} Ready"), WAIT, || async {
            let s = orgs.get_opt(&name).await.ok().flatten()?.status?;
            is_true(&s.conditions, "Ready").then_some(())
        })
        .await;
    }

    // Exactly one replica acts: the other serves its metrics but has done nothing.
    let acted = eventually("both replicas serve /metrics", WAIT, || async {
        let a = support::metrics_text(replicas[0].metrics).await?;
        let b = support::metrics_text(replicas[1].metrics).await?;
        Some([has_acted(&a), has_acted(&b)])
    })
    .await;
    assert_eq!(
        acted.iter().filter(|a| **a).count(),
        1,
        "exactly one replica reconciled: {acted:?}"
    );
    let leader = acted.iter().position(|a| *a).unwrap();
    let standby = 1 - leader;
    let first_holder = lease_holder(&client, &ns).await.expect("a Lease holder");

    handshake(&client, &ns, &prod, &dr).await;
    let stats = sim.stats();
    assert_eq!(total(&stats, POST_LINK), 1, "one link request: {stats:?}");
    assert_eq!(total(&stats, ANSWER_LINK), 1, "one approval: {stats:?}");
    for org in [&prod, &dr, &msp] {
        assert_eq!(
            stats.count(org.id, TOKEN),
            1,
            "one OAuth token for {} (one replica talks to Genesys Cloud)",
            org.name
        );
    }
    let standby_metrics = support::metrics_text(replicas[standby].metrics)
        .await
        .unwrap();
    assert!(!has_acted(&standby_metrics), "{standby_metrics}");

    // The leader goes (SIGTERM-like: its token is cancelled; it releases the Lease).
    let [a, b] = replicas;
    let (gone, survivor) = if leader == 0 { (a, b) } else { (b, a) };
    gone.stop.cancel();
    tokio::time::timeout(WAIT, gone.task)
        .await
        .expect("the leader stops")
        .expect("the leader task")
        .expect("the leader exits cleanly");
    let second_holder = eventually("the standby holds the Lease", WAIT, || async {
        lease_holder(&client, &ns)
            .await
            .filter(|h| *h != first_holder)
    })
    .await;
    assert_ne!(second_holder, first_holder);

    // The new leader converges a new relationship, and leaves the old one alone.
    handshake(&client, &ns, &prod, &msp).await;
    let stats = sim.stats();
    assert_eq!(total(&stats, POST_LINK), 2, "one more request: {stats:?}");
    assert_eq!(
        total(&stats, ANSWER_LINK),
        2,
        "one more approval: {stats:?}"
    );
    assert_eq!(total(&stats, DELETE_LINK), 0, "{stats:?}");
    for org in [&prod, &dr, &msp] {
        assert_eq!(
            stats.count(org.id, TOKEN),
            2,
            "a token per leader for {}",
            org.name
        );
    }
    link_phase(&client, &ns, "acme-prod-to-acme-dr", OrgLinkPhase::Linked).await;
    link_phase(&client, &ns, "acme-dr-to-acme-prod", OrgLinkPhase::Linked).await;
    let survivor_metrics = support::metrics_text(survivor.metrics).await.unwrap();
    assert!(has_acted(&survivor_metrics), "{survivor_metrics}");

    survivor.stop.cancel();
    tokio::time::timeout(WAIT, survivor.task)
        .await
        .expect("the second leader stops")
        .expect("its task")
        .expect("it exits cleanly");
}
