//! Refresh on demand (issue 16): a request made in Genesys Cloud by a peer that no
//! OrgLink of this cluster manages is seen when an admin asks, not at the next resync.
//! Every Organization here resyncs hourly, so only a refresh can show it; the plugin is
//! the real `kubectl-orglink` binary, run by kubectl as a plugin. Same fixture as
//! `scenarios.rs`: one control plane and operator per test binary, one simulator per test.

mod support;

use kube::api::{Api, Patch, PatchParams};
use orglink_operator::api::{OrgLinkPhase, Organization, REFRESH_ANNOTATION};
use orglink_operator::genesys::{Credentials, GenesysClient, GenesysConfig};
use orglink_operator::sandbox::genesys_sim::seed::SeedOrg;
use orglink_operator::sandbox::genesys_sim::state::LinkViewStatus;
use support::{WAIT, World, eventually, kubectl_orglink, link_phase};

/// The five reads of one snapshot, as the simulator counts them (`METHOD /template`).
const SNAPSHOT_READS: [&str; 5] = [
    "GET /api/v2/organizations/me",
    "GET /api/v2/telephony/organization/link/regions",
    "GET /api/v2/telephony/organization/link",
    "GET /api/v2/orgauthorization/trustees",
    "GET /api/v2/orgauthorization/trustors",
];

/// A Genesys client acting as `org` with its own OAuth client, as the Genesys UI would.
fn api_as(w: &World, org: &SeedOrg) -> GenesysClient {
    GenesysClient::new(
        GenesysConfig::new(
            org.region,
            Credentials::new(org.client_id.clone(), org.client_secret.expose()),
        )
        .with_label(format!("test:{}", org.name))
        .with_api_base_url(w.sim.region_url(org.region)),
    )
    .expect("a Genesys client for the test")
}

fn snapshot_reads(w: &World, org: &SeedOrg) -> [u64; 5] {
    let stats = w.sim.stats();
    SNAPSHOT_READS.map(|endpoint| stats.count(org.id, endpoint))
}

#[tokio::test]
async fn an_unmanaged_peers_request_is_listed_when_asked_and_approve_links_it() {
    let w = World::new("refresh", "1h").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    let ns = w.ns("Acme Prod").to_string();
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;

    // Acme DR asks in Genesys Cloud; no OrgLink of this cluster is involved.
    api_as(&w, &dr)
        .create_link(&prod.id.to_string(), prod.region.code())
        .await
        .expect("the peer requests a link with its own credentials");

    // The view the operator has is from before the request, and says how old it is
    // (what issue 16 saw: nothing pending, and no age).
    let (ok, stale, err) = kubectl_orglink(&["pending", "-n", &ns, "--no-refresh"]).await;
    assert!(ok, "{err}");
    assert!(
        stale.starts_with("No incoming link requests are waiting (as of "),
        "{stale}"
    );

    // Asking for a fresh view lists it at once.
    let asking = std::time::Instant::now();
    let (ok, fresh, err) =
        kubectl_orglink(&["pending", "-n", &ns, "--refresh-timeout", "60s"]).await;
    // For the record (not asserted: speed belongs in benchmarks).
    println!(
        "kubectl orglink pending answered in {:.1?}:\n{fresh}",
        asking.elapsed()
    );
    assert!(ok, "{err}");
    assert!(!err.contains("warning"), "the operator answered: {err}");
    let row = fresh
        .lines()
        .find(|l| l.contains(&dr.id.to_string()))
        .unwrap_or_else(|| panic!("Acme DR's request is listed: {fresh}"));
    assert!(
        row.contains("Acme DR") && row.contains("us-east-1"),
        "{row}"
    );
    assert!(
        row.contains(&format!(
            "kubectl orglink approve {} --org {ns} -n {ns}",
            dr.id
        )),
        "{row}"
    );
    let orgs: Api<Organization> = Api::namespaced(w.client.clone(), &ns);
    let org = orgs.get(&ns).await.unwrap();
    let asked = org.metadata.annotations.unwrap()[REFRESH_ANNOTATION].clone();
    assert_eq!(
        org.status.unwrap().last_handled_refresh.as_deref(),
        Some(asked.as_str()),
        "the value the plugin set is recorded as handled"
    );

    // Approving it from the plugin creates the OrgLink, which approves in Genesys.
    let (ok, out, err) = kubectl_orglink(&[
        "approve",
        &dr.id.to_string(),
        "--org",
        &ns,
        "-n",
        &ns,
        "--refresh-timeout",
        "60s",
    ])
    .await;
    assert!(ok, "{out}{err}");
    let name = format!("link-{}", &dr.id.to_string()[..8]);
    assert!(
        out.contains(&format!("orglink.orglink.dev/{name} created (Accept)")),
        "{out}"
    );
    link_phase(&w.client, &ns, &name, OrgLinkPhase::Linked).await;
    let linked = w
        .sim
        .state()
        .links_of(prod.id)
        .unwrap()
        .into_iter()
        .find(|v| v.target_organization_id == dr.id)
        .map(|v| v.status);
    assert_eq!(
        linked,
        Some(LinkViewStatus::Approved),
        "Genesys says linked"
    );

    // And the Organization's view lists the link, with its age.
    let (ok, status, err) =
        kubectl_orglink(&["status", "-n", &ns, "--refresh-timeout", "60s"]).await;
    assert!(ok, "{err}");
    let linked_section = status
        .split("  Linked organizations (as of ")
        .nth(1)
        .and_then(|s| s.split("  Pending outgoing").next())
        .unwrap_or_else(|| panic!("a Linked organizations list with its age: {status}"));
    assert!(
        linked_section.contains(&dr.id.to_string()) && linked_section.contains("Acme DR"),
        "{status}"
    );
}

#[tokio::test]
async fn a_burst_of_ten_refresh_requests_costs_one_snapshot() {
    let w = World::new("refresh-burst", "1h").await;
    let prod = w.org("Acme Prod");
    let ns = w.ns("Acme Prod").to_string();
    w.ready("Acme Prod").await;
    let orgs: Api<Organization> = Api::namespaced(w.client.clone(), &ns);
    let before_status = orgs.get(&ns).await.unwrap().status.unwrap();
    let before = snapshot_reads(&w, &prod);
    assert!(
        before.iter().all(|n| *n >= 1),
        "read once when it became Ready: {before:?}"
    );
    let asked_at = k8s_openapi::jiff::Timestamp::now();

    // Ten requests at once, as ten admins running `kubectl orglink pending` would.
    let patches = (0..10).map(|i| {
        let orgs = orgs.clone();
        let ns = ns.clone();
        async move {
            let patch = serde_json::json!({
                "metadata": {"annotations": {REFRESH_ANNOTATION: format!("burst-{i}")}}
            });
            orgs.patch(&ns, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .expect("setting the refresh annotation");
        }
    });
    futures::future::join_all(patches).await;
    let last =
        orgs.get(&ns).await.unwrap().metadata.annotations.unwrap()[REFRESH_ANNOTATION].clone();

    let status = eventually(
        &format!("Organization {ns} records refresh {last} as handled"),
        WAIT,
        || async {
            let s = orgs.get(&ns).await.ok()?.status?;
            (s.last_handled_refresh.as_deref() == Some(last.as_str())).then_some(s)
        },
    )
    .await;
    let after = snapshot_reads(&w, &prod);
    let spent: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    assert_eq!(
        spent,
        vec![1; 5],
        "one snapshot ({SNAPSHOT_READS:?}) for the burst"
    );
    let observed = status.observed_at.clone().expect("observedAt").0;
    assert!(
        observed >= asked_at && status.observed_at != before_status.observed_at,
        "the view was read after the requests: {observed} vs asked at {asked_at}"
    );
}
