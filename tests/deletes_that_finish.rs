//! Deletes that finish even when the operator restarts in the middle: a namespace is
//! deleted while the operator is down, and the operator that starts afterwards has no
//! session for the (now Terminating) Organizations. Their cleanup connects on demand
//! with the credentials Secret, which the `orglink.dev/credentials-in-use` finalizer
//! kept, so the link is severed in the simulated Genesys Cloud and the namespace goes.
//!
//! A test binary of its own: the operator here watches one namespace and is stopped
//! and started by the test, instead of the shared `support::operator()`.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams};
use orglink_operator::api::conditions::is_true;
use orglink_operator::api::{LinkDecision, OrgLinkPhase, Organization};
use orglink_operator::cli::run::{RunArgs, run_operator};
use orglink_operator::lifecycle::credentials::CREDENTIALS_FINALIZER;
use orglink_operator::sandbox::genesys_sim::cluster::{org_objects, slug};
use orglink_operator::sandbox::genesys_sim::seed::default_seed;
use orglink_operator::sandbox::genesys_sim::state::LinkViewStatus;
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig};
use support::{WAIT, apply, eventually, link_phase};
use tokio_util::sync::CancellationToken;

const DELETE_LINK: &str = "DELETE /api/v2/telephony/organization/link/{targetOrganizationId}";

struct Operator {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// An operator watching only `ns`, without leader election or webhook.
async fn start_operator(ns: &str) -> Operator {
    let client = support::client().await;
    let args = RunArgs {
        namespace: Some(ns.to_string()),
        ..RunArgs::loopback(&["127.0.0.1"])
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_operator(client, args, stop.clone()));
    Operator { stop, task }
}

impl Operator {
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the operator stops")
            .expect("the operator task")
            .expect("the operator exits cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_deleted_while_the_operator_is_down_is_cleaned_up_after_it_restarts() {
    let client = support::client().await;
    let ns = support::namespace(&client, "restart").await;
    let sim = GenesysSim::start(SimConfig::new(default_seed()))
        .await
        .expect("simulator");
    let prod = sim.org_by_name("Acme Prod").unwrap().clone();
    let dr = sim.org_by_name("Acme DR").unwrap().clone();
    // Both orgs in the one namespace, each with its Secret and Organization.
    for org in [&prod, &dr] {
        let name = slug(&org.name);
        let mut objects = org_objects(org, &name, &sim.region_url(org.region));
        objects.secret.metadata.namespace = Some(ns.clone());
        objects.organization.metadata.namespace = Some(ns.clone());
        objects.organization.spec.resync_interval = Some("1h".into());
        apply::<Secret>(&client, &ns, &objects.secret).await;
        apply(&client, &ns, &objects.organization).await;
    }
    let (prod_name, dr_name) = (slug(&prod.name), slug(&dr.name));

    let operator = start_operator(&ns).await;
    let orgs: Api<Organization> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for name in [&prod_name, &dr_name] {
        eventually(&format!("Organization {name} Ready"), WAIT, || async {
            let s = orgs.get_opt(name).await.ok().flatten()?.status?;
            is_true(&s.conditions, "Ready").then_some(())
        })
        .await;
        let secret = format!("{name}-oauth");
        eventually(&format!("Secret {secret} held"), WAIT, || async {
            let s = secrets.get_opt(&secret).await.ok()??;
            s.metadata
                .finalizers?
                .contains(&CREDENTIALS_FINALIZER.to_string())
                .then_some(())
        })
        .await;
    }
    // A reciprocal link, Linked on both sides.
    apply(
        &client,
        &ns,
        &support::link("to-dr", &prod_name, &dr, LinkDecision::Accept, 0),
    )
    .await;
    apply(
        &client,
        &ns,
        &support::link("to-prod", &dr_name, &prod, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(&client, &ns, "to-dr", OrgLinkPhase::Linked).await;
    link_phase(&client, &ns, "to-prod", OrgLinkPhase::Linked).await;

    // The operator goes; the namespace is deleted while it is down.
    operator.stop().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .unwrap();
    for name in [&prod_name, &dr_name] {
        eventually(
            &format!("Organization {name} being deleted"),
            WAIT,
            || async {
                let o = orgs.get_opt(name).await.ok()??;
                o.metadata.deletion_timestamp.map(|_| ())
            },
        )
        .await;
    }
    // Nothing was cleaned up remotely yet.
    let linked = |state: &orglink_operator::sandbox::genesys_sim::SimState| {
        state
            .links_of(prod.id)
            .unwrap()
            .iter()
            .any(|v| v.target_organization_id == dr.id && v.status == LinkViewStatus::Approved)
    };
    assert!(linked(&sim.state()));

    // A new operator, with no session for the Terminating Organizations, finishes it.
    let operator = start_operator(&ns).await;
    eventually(
        &format!("namespace {ns} gone"),
        Duration::from_secs(240),
        || async { namespaces.get_opt(&ns).await.ok()?.is_none().then_some(()) },
    )
    .await;
    operator.stop().await;
    assert!(!linked(&sim.state()), "the link is still there");
    let stats = sim.stats();
    let deletes = stats.count(prod.id, DELETE_LINK) + stats.count(dr.id, DELETE_LINK);
    assert!(deletes >= 1, "no unlink call: {stats:?}");
}
