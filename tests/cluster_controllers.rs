//! What the sandbox's kube-controller-manager makes behave as in a real cluster:
//! deleting a namespace that holds linked and paired orgs cleans up in the simulated
//! Genesys Cloud and the namespace goes (whatever order the namespace controller
//! deletes the Secret, the Organization and the relationships in); objects with an
//! ownerReference are collected with their owner; `helm install` of the chart yields a
//! ReplicaSet and Pods that stay Pending (there are no nodes).
//!
//! One control plane and one operator for this test binary, one simulator per test
//! (the Helm test has a control plane of its own: the chart's fail-closed webhook has
//! no running pod behind it and would refuse the other tests' writes).

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    LinkDecision, OrgLinkPhase, OrgPairing, OrgPairingPhase, OrgPairingSpec, Organization,
    PairingGrant, PairingRequest, PeerRef,
};
use orglink_operator::lifecycle::credentials::CREDENTIALS_FINALIZER;
use orglink_operator::sandbox::genesys_sim::state::LinkViewStatus;
use orglink_operator::sandbox::{ControlPlane, ControlPlaneOptions};
use support::{World, apply, eventually, link, link_phase, pairing_phase};

/// The simulator's endpoint keys (`METHOD /template`) the tests count.
const DELETE_LINK: &str = "DELETE /api/v2/telephony/organization/link/{targetOrganizationId}";
const DELETE_TRUSTEE: &str = "DELETE /api/v2/orgauthorization/trustees/{trusteeOrgId}";

/// Deleting a namespace waits for finalizers, and the namespace controller retries
/// with a growing backoff: a generous wait.
const NAMESPACE_GONE: Duration = Duration::from_secs(240);

const PROD: &str = "Acme Prod";
const DR: &str = "Acme DR";
const MSP: &str = "MSP Prod";

/// How the namespace is taken down.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// `kubectl delete ns` alone: the namespace controller picks the order.
    NamespaceOnly,
    /// The credentials Secret first, then the namespace.
    SecretFirst,
    /// The Organization first, then the namespace.
    OrganizationFirst,
}

/// Acme Prod's namespace with an OrgLink Linked to Acme DR (reciprocal) and an
/// OrgPairing granting MSP Prod access (Authorized), then the namespace deleted in
/// `order`: the link is severed and the trust revoked in Genesys Cloud, and the
/// namespace disappears.
async fn namespace_deletion_cleans_up_remotely(prefix: &str, order: Order) {
    let w = World::new(prefix, "1h").await;
    let (prod, dr, msp) = (w.org(PROD), w.org(DR), w.org(MSP));
    for org in [PROD, DR, MSP] {
        w.ready(org).await;
    }
    let (ns, dr_ns, msp_ns) = (
        w.ns(PROD).to_string(),
        w.ns(DR).to_string(),
        w.ns(MSP).to_string(),
    );

    // A reciprocal link: both sides accept.
    apply(
        &w.client,
        &ns,
        &link("to-dr", &ns, &dr, LinkDecision::Accept, 0),
    )
    .await;
    apply(
        &w.client,
        &dr_ns,
        &link("to-prod", &dr_ns, &prod, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(&w.client, &ns, "to-dr", OrgLinkPhase::Linked).await;
    link_phase(&w.client, &dr_ns, "to-prod", OrgLinkPhase::Linked).await;

    // MSP Prod asks Acme Prod for access; Acme Prod grants it with a role.
    let user = msp.users[0].id;
    let request = OrgPairing::new(
        "into-acme",
        OrgPairingSpec {
            organization_ref: msp_ns.clone(),
            peer: PeerRef {
                organization_id: prod.id.to_string(),
                region: prod.region,
            },
            request: Some(PairingRequest {
                users: vec![user.to_string()],
                groups: vec![],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    );
    apply(&w.client, &msp_ns, &request).await;
    let waiting = pairing_phase(
        &w.client,
        &msp_ns,
        "into-acme",
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    let pairing_id = waiting.status.unwrap().pairing_id.expect("pairing ID");
    let grant = OrgPairing::new(
        "msp",
        OrgPairingSpec {
            organization_ref: ns.clone(),
            peer: PeerRef {
                organization_id: msp.id.to_string(),
                region: msp.region,
            },
            request: None,
            grant: Some(PairingGrant {
                pairing_id: Some(pairing_id),
                enabled: true,
                expires_at: None,
                users: vec![GrantSubject {
                    id: Some(user.to_string()),
                    roles: vec![RoleRef {
                        name: Some("Employee".into()),
                        id: None,
                        divisions: Vec::new(),
                    }],
                    ..GrantSubject::default()
                }],
                groups: vec![],
            }),
        },
    );
    apply(&w.client, &ns, &grant).await;
    pairing_phase(&w.client, &ns, "msp", OrgPairingPhase::Authorized).await;
    let trust_exists = || {
        w.sim
            .state()
            .all_trusts()
            .any(|t| t.trustor == prod.id && t.trustee == msp.id)
    };
    assert!(trust_exists());

    // The operator holds the credentials Secret while the Organization uses it.
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &ns);
    let secret_name = format!("{ns}-oauth");
    eventually("the credentials Secret held", support::WAIT, || async {
        let s = secrets.get_opt(&secret_name).await.ok()??;
        s.metadata
            .finalizers?
            .contains(&CREDENTIALS_FINALIZER.to_string())
            .then_some(())
    })
    .await;

    match order {
        Order::NamespaceOnly => {}
        Order::SecretFirst => {
            secrets
                .delete(&secret_name, &DeleteParams::default())
                .await
                .unwrap();
            // Kept (Terminating) while the Organization needs it.
            let held = secrets.get(&secret_name).await.unwrap();
            assert!(held.metadata.deletion_timestamp.is_some());
        }
        Order::OrganizationFirst => {
            let orgs: Api<Organization> = Api::namespaced(w.client.clone(), &ns);
            orgs.delete(&ns, &DeleteParams::default()).await.unwrap();
            // Kept (Terminating) while its OrgLink and OrgPairing need it.
            let held = orgs.get(&ns).await.unwrap();
            assert!(held.metadata.deletion_timestamp.is_some());
        }
    }
    let (ok, out, err) = support::kubectl(&["delete", "namespace", &ns, "--wait=false"], None);
    assert!(ok, "{err}");
    assert!(out.contains("deleted"), "{out}");

    let namespaces: Api<Namespace> = Api::all(w.client.clone());
    eventually(
        &format!("namespace {ns} gone ({order:?})"),
        NAMESPACE_GONE,
        || async { namespaces.get_opt(&ns).await.ok()?.is_none().then_some(()) },
    )
    .await;

    // Genesys Cloud: the link severed on both sides, the trust revoked.
    let state = w.sim.state();
    assert!(
        !state
            .links_of(prod.id)
            .unwrap()
            .iter()
            .any(|v| v.target_organization_id == dr.id),
        "the link with Acme DR is still there: {:?}",
        state.links_of(prod.id)
    );
    assert!(
        !state
            .links_of(dr.id)
            .unwrap()
            .iter()
            .any(|v| v.target_organization_id == prod.id && v.status == LinkViewStatus::Approved)
    );
    assert!(
        !trust_exists(),
        "the trust granted to MSP Prod is still there"
    );
    let stats = w.sim.stats();
    assert_eq!(stats.count(prod.id, DELETE_LINK), 1, "one unlink");
    assert_eq!(stats.count(prod.id, DELETE_TRUSTEE), 1, "one revocation");

    // The peers see it: Acme DR's OrgLink is unlinked by its peer, MSP's pairing revoked.
    link_phase(&w.client, &dr_ns, "to-prod", OrgLinkPhase::UnlinkedByPeer).await;
    pairing_phase(&w.client, &msp_ns, "into-acme", OrgPairingPhase::Revoked).await;
}

#[tokio::test]
async fn deleting_a_namespace_unlinks_and_revokes_in_genesys_and_the_namespace_goes() {
    namespace_deletion_cleans_up_remotely("ns-del", Order::NamespaceOnly).await;
}

#[tokio::test]
async fn deleting_the_secret_first_still_cleans_up_when_the_namespace_goes() {
    namespace_deletion_cleans_up_remotely("ns-del-secret", Order::SecretFirst).await;
}

#[tokio::test]
async fn deleting_the_organization_first_still_cleans_up_when_the_namespace_goes() {
    namespace_deletion_cleans_up_remotely("ns-del-org", Order::OrganizationFirst).await;
}

fn config_map(name: &str, owner: Option<&ConfigMap>) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: owner.map(|o| {
                vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    name: o.metadata.name.clone().unwrap(),
                    uid: o.metadata.uid.clone().unwrap(),
                    // Foreground deletion of the owner waits for this dependent.
                    block_owner_deletion: Some(true),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn owned_objects_are_collected_with_their_owner() {
    let client = support::client().await;
    let ns = support::namespace(&client, "gc").await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();

    // Background deletion: the owner goes at once, its dependent after it.
    let owner = maps.create(&pp, &config_map("owner", None)).await.unwrap();
    maps.create(&pp, &config_map("owned", Some(&owner)))
        .await
        .unwrap();
    maps.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    eventually("the owned ConfigMap collected", support::WAIT, || async {
        maps.get_opt("owned").await.ok()?.is_none().then_some(())
    })
    .await;

    // Foreground deletion: the owner is kept until its dependents are gone.
    let owner = maps.create(&pp, &config_map("parent", None)).await.unwrap();
    for child in ["child-a", "child-b"] {
        maps.create(&pp, &config_map(child, Some(&owner)))
            .await
            .unwrap();
    }
    maps.delete("parent", &DeleteParams::foreground())
        .await
        .unwrap();
    eventually(
        "the parent and its children collected",
        support::WAIT,
        || async {
            let parent = maps.get_opt("parent").await.ok()?;
            // (The namespace also holds kube-root-ca.crt, from the root CA publisher.)
            let children = maps
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .iter()
                .filter(|m| {
                    m.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("child-"))
                })
                .count();
            assert!(
                parent.is_some() || children == 0,
                "the parent went before its {children} children"
            );
            (parent.is_none() && children == 0).then_some(())
        },
    )
    .await;
}

/// Runs `helm ARGS` with the helm `make tools` builds ([`support::helm_path`]).
fn helm(args: &[&str]) -> std::process::Output {
    std::process::Command::new(support::helm_path())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run helm: {e}"))
}

#[tokio::test]
async fn helm_install_yields_a_replicaset_and_pending_pods() {
    // A control plane of its own (see the module docs).
    let cp = ControlPlane::start(ControlPlaneOptions::default())
        .await
        .expect("control plane");
    let client = cp.client().await.unwrap();
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/orglink-operator");
    let kubeconfig = cp.kubeconfig_path().to_str().unwrap().to_string();
    let out = helm(&[
        "install",
        "olk",
        chart,
        "--namespace",
        "orglink-system",
        "--create-namespace",
        "--kubeconfig",
        &kubeconfig,
    ]);
    assert!(
        out.status.success(),
        "helm install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let ns = "orglink-system";
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let deployment = deployments.get("olk-orglink-operator").await.unwrap();
    let replicas = deployment.spec.replicas.unwrap_or(1);
    let uid = deployment.metadata.uid.clone().unwrap();

    // The deployment controller creates a ReplicaSet owned by the Deployment...
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let set = eventually("the Deployment's ReplicaSet", support::WAIT, || async {
        let list = sets.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|rs| {
            rs.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|o| o.uid == uid))
        })
    })
    .await;
    assert_eq!(set.spec.replicas, Some(replicas));
    let set_uid = set.metadata.uid.clone().unwrap();

    // ...and the replicaset controller its Pods, which stay Pending: no scheduler, no node.
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let owned = eventually(
        &format!("{replicas} Pods of the ReplicaSet"),
        support::WAIT,
        || async {
            let list = pods.list(&ListParams::default()).await.ok()?;
            let owned: Vec<Pod> = list
                .items
                .into_iter()
                .filter(|p| {
                    p.metadata
                        .owner_references
                        .as_ref()
                        .is_some_and(|o| o.iter().any(|o| o.uid == set_uid))
                })
                .collect();
            (owned.len() == replicas as usize).then_some(owned)
        },
    )
    .await;
    for pod in owned {
        let name = pod.metadata.name.clone().unwrap_or_default();
        assert_eq!(
            pod.status.and_then(|s| s.phase).as_deref(),
            Some("Pending"),
            "{name}"
        );
        let spec = pod.spec.unwrap();
        assert_eq!(spec.node_name, None, "{name} was bound to a node");
        assert_eq!(
            spec.service_account_name.as_deref(),
            Some("olk-orglink-operator"),
            "{name}"
        );
    }
}
