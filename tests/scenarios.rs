//! End-to-end scenarios: the real kube-apiserver, the operator's controllers, the
//! simulated Genesys Cloud. One control plane and one operator per test binary; each
//! test has its own simulator and namespaces, so tests run in parallel.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams};
use orglink_operator::api::conditions::{find, is_true};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, OrgPairing, OrgPairingPhase, OrgPairingSpec, Organization,
    PairingGrant, PairingRequest, PeerRef,
};
use support::{World, apply, eventually, link, link_phase, pairing_phase};

use support::WAIT;

/// Waits until an Event with each of `wanted` reasons is recorded about `name`: the
/// controllers publish Events after writing the status that the tests wait on.
async fn events_seen(client: &kube::Client, ns: &str, name: &str, wanted: &[&str]) {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            seen = api
                .list(&ListParams::default())
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
                .filter_map(|e| e.reason)
                .collect::<Vec<_>>();
            if wanted.iter().all(|w| seen.iter().any(|r| r == w)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "Events {wanted:?} about {ns}/{name}; seen {seen:?}"
    );
}

#[tokio::test]
async fn two_managed_orgs_link_within_seconds_whatever_the_resync_interval() {
    // resyncInterval 1h: only the fast handshake can make this converge in time.
    let w = World::new("link", "1h").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    apply(
        &w.client,
        w.ns("Acme DR"),
        &link("to-prod", w.ns("Acme DR"), &prod, LinkDecision::Accept, 0),
    )
    .await;

    let ours = link_phase(&w.client, w.ns("Acme Prod"), "to-dr", OrgLinkPhase::Linked).await;
    let theirs = link_phase(&w.client, w.ns("Acme DR"), "to-prod", OrgLinkPhase::Linked).await;
    let status = ours.status.unwrap();
    assert_eq!(
        status.direction,
        Some(orglink_operator::api::LinkDirection::Outgoing)
    );
    assert_eq!(status.peer_name.as_deref(), Some("Acme DR"));
    assert!(status.linked_at.is_some());
    let linked = find(&status.conditions, "Linked").unwrap();
    assert_eq!(linked.status, "True");
    assert_eq!(linked.observed_generation, ours.metadata.generation);
    assert_eq!(
        theirs.status.unwrap().direction,
        Some(orglink_operator::api::LinkDirection::Incoming)
    );

    // The Organization's lists follow, with the peer's name.
    let orgs: Api<Organization> = Api::namespaced(w.client.clone(), w.ns("Acme Prod"));
    let name = w.ns("Acme Prod").to_string();
    let lists_dr = |o: Option<&Organization>| {
        o.and_then(|o| o.status.as_ref()).is_some_and(|s| {
            s.linked_organizations.iter().any(|l| {
                l.organization_id == dr.id.to_string() && l.name.as_deref() == Some("Acme DR")
            })
        })
    };
    let what = format!("Organization {name} (Acme Prod) lists Acme DR as linked");
    support::wait_for(&orgs, &name, &what, WAIT, lists_dr).await;

    // Events on the phase changes, and kubectl wait understands the condition.
    events_seen(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        &["Requested", "Linked"],
    )
    .await;
    let out = support::control_plane()
        .kubectl()
        .args([
            "wait",
            "--for=condition=Linked",
            "--timeout=30s",
            "-n",
            w.ns("Acme Prod"),
            "olink/to-dr",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const POST_LINK: &str = "POST /api/v2/telephony/organization/link";

/// Waits until the OrgLink `name` is `RejectedByPeer` for `attempt`.
async fn refused_for(w: &World, ns: &str, name: &str, attempt: i64) -> OrgLink {
    let api: Api<OrgLink> = Api::namespaced(w.client.clone(), ns);
    let refused = |l: Option<&OrgLink>| {
        l.and_then(|l| l.status.as_ref()).is_some_and(|s| {
            s.observed_attempt == Some(attempt) && s.phase == Some(OrgLinkPhase::RejectedByPeer)
        })
    };
    let what = format!("OrgLink {name} attempt {attempt} refused");
    support::wait_for(&api, name, &what, WAIT, refused)
        .await
        .expect("the OrgLink")
}

#[tokio::test]
async fn a_declined_request_is_not_repeated_until_attempt_changes() {
    let w = World::new("decline", "1h").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    let dr_admin = support::genesys_as(&w, &dr);
    let requests = || w.sim.stats().count(prod.id, POST_LINK);

    // The peer's admin rejects in Genesys Cloud (no OrgLink of Acme DR here).
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    dr_admin.reject_link(&prod.id.to_string()).await.unwrap();
    refused_for(&w, w.ns("Acme Prod"), "to-dr", 0).await;
    events_seen(&w.client, w.ns("Acme Prod"), "to-dr", &["RejectedByPeer"]).await;
    assert_eq!(requests(), 1);

    // A new attempt asks again, once, and is refused again.
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 1),
    )
    .await;
    eventually("the second request", WAIT, || async {
        (requests() == 2).then_some(())
    })
    .await;
    dr_admin.reject_link(&prod.id.to_string()).await.unwrap();
    refused_for(&w, w.ns("Acme Prod"), "to-dr", 1).await;
    assert_eq!(requests(), 2, "one request per attempt");

    // The peer declines here, in its own OrgLink: a new attempt is refused without a
    // request (the answer is known, and a request the peer removes leaves no record to
    // stop a second one after a crash).
    apply(
        &w.client,
        w.ns("Acme DR"),
        &link("no-prod", w.ns("Acme DR"), &prod, LinkDecision::Decline, 0),
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme DR"),
        "no-prod",
        OrgLinkPhase::Declined,
    )
    .await;
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 2),
    )
    .await;
    let refused = refused_for(&w, w.ns("Acme Prod"), "to-dr", 2).await;
    let ready = find(&refused.status.unwrap().conditions, "Ready")
        .cloned()
        .unwrap();
    assert!(
        ready
            .message
            .contains("in this cluster has spec.decision Decline"),
        "{ready:?}"
    );
    assert_eq!(requests(), 2, "nothing sent to a peer that declines here");
}

#[tokio::test]
async fn deleting_an_orglink_unlinks_and_the_peer_sees_unlinked_by_peer() {
    let w = World::new("unlink", "1h").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0),
    )
    .await;
    apply(
        &w.client,
        w.ns("Acme DR"),
        &link("to-prod", w.ns("Acme DR"), &prod, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(&w.client, w.ns("Acme Prod"), "to-dr", OrgLinkPhase::Linked).await;
    link_phase(&w.client, w.ns("Acme DR"), "to-prod", OrgLinkPhase::Linked).await;

    let api: Api<OrgLink> = Api::namespaced(w.client.clone(), w.ns("Acme DR"));
    api.delete("to-prod", &DeleteParams::default())
        .await
        .unwrap();
    support::wait_gone(
        &api,
        "to-prod",
        "DR's OrgLink to-prod gone after its cleanup",
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::UnlinkedByPeer,
    )
    .await;
    let state = w.sim.state();
    assert!(
        state.links_of(prod.id).unwrap().is_empty(),
        "the remote link is severed"
    );
}

#[tokio::test]
async fn the_orphan_annotation_leaves_the_remote_request_alone() {
    let w = World::new("orphan", "1h").await;
    let dr = w.org("Acme DR");
    let prod = w.org("Acme Prod");
    w.ready("Acme Prod").await;
    let mut obj = link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0);
    obj.metadata.annotations =
        Some([("orglink.dev/on-delete".to_string(), "orphan".to_string())].into());
    apply(&w.client, w.ns("Acme Prod"), &obj).await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    let api: Api<OrgLink> = Api::namespaced(w.client.clone(), w.ns("Acme Prod"));
    api.delete("to-dr", &DeleteParams::default()).await.unwrap();
    support::wait_gone(&api, "to-dr", "OrgLink to-dr gone").await;
    let views = w.sim.state().links_of(prod.id).unwrap();
    assert_eq!(views.len(), 1, "the pending request stays in Genesys Cloud");
}

#[tokio::test]
async fn a_pairing_is_authorized_with_roles_and_revoked_on_delete() {
    let w = World::new("pair", "1h").await;
    let (prod, msp) = (w.org("Acme Prod"), w.org("MSP Prod"));
    w.ready("Acme Prod").await;
    w.ready("MSP Prod").await;
    let (u1, u2) = (msp.users[0].id.to_string(), msp.users[1].id.to_string());
    let request = OrgPairing::new(
        "into-acme",
        OrgPairingSpec {
            organization_ref: w.ns("MSP Prod").to_string(),
            peer: PeerRef {
                organization_id: prod.id.to_string(),
                region: prod.region,
            },
            request: Some(PairingRequest {
                users: vec![u1.clone(), u2.clone()],
                groups: vec![],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    );
    apply(&w.client, w.ns("MSP Prod"), &request).await;
    let waiting = pairing_phase(
        &w.client,
        w.ns("MSP Prod"),
        "into-acme",
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    let pairing_id = waiting
        .status
        .unwrap()
        .pairing_id
        .expect("pairing ID in status");
    events_seen(
        &w.client,
        w.ns("MSP Prod"),
        "into-acme",
        &["PairingCreated"],
    )
    .await;

    let grant = OrgPairing::new(
        "msp",
        OrgPairingSpec {
            organization_ref: w.ns("Acme Prod").to_string(),
            peer: PeerRef {
                organization_id: msp.id.to_string(),
                region: msp.region,
            },
            request: None,
            grant: Some(PairingGrant {
                pairing_id: Some(pairing_id),
                enabled: true,
                expires_at: None,
                users: vec![
                    GrantSubject {
                        id: Some(u1.clone()),
                        roles: vec![RoleRef {
                            name: Some("Supervisor".into()),
                            id: None,
                            divisions: Vec::new(),
                        }],
                        ..GrantSubject::default()
                    },
                    GrantSubject {
                        id: Some(u2.clone()),
                        roles: vec![],
                        ..GrantSubject::default()
                    },
                ],
                groups: vec![],
            }),
        },
    );
    apply(&w.client, w.ns("Acme Prod"), &grant).await;
    let authorized = pairing_phase(
        &w.client,
        w.ns("Acme Prod"),
        "msp",
        OrgPairingPhase::Authorized,
    )
    .await;
    let status = authorized.status.unwrap();
    assert!(is_true(&status.conditions, "Authorized"));
    let roles = find(&status.conditions, "RolesAssigned").expect("RolesAssigned");
    assert_eq!(
        (roles.status.as_str(), roles.reason.as_str()),
        ("False", "NoRoles")
    );
    assert!(
        roles.message.contains(&u2),
        "names the subject without a role: {}",
        roles.message
    );
    assert!(!roles.message.contains(&u1), "{}", roles.message);
    pairing_phase(
        &w.client,
        w.ns("MSP Prod"),
        "into-acme",
        OrgPairingPhase::Authorized,
    )
    .await;

    // Revoke: deleting the trustor side deletes the trust; the trustee sees Revoked.
    let api: Api<OrgPairing> = Api::namespaced(w.client.clone(), w.ns("Acme Prod"));
    api.delete("msp", &DeleteParams::default()).await.unwrap();
    support::wait_gone(&api, "msp", "trustor OrgPairing msp gone").await;
    pairing_phase(
        &w.client,
        w.ns("MSP Prod"),
        "into-acme",
        OrgPairingPhase::Revoked,
    )
    .await;
}

#[tokio::test]
async fn organization_credentials_missing_rejected_then_rotated() {
    let w = World::new("creds", "1h").await;
    let ns = w.ns("Initech West").to_string();
    w.ready("Initech West").await;
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &ns);
    let orgs: Api<Organization> = Api::namespaced(w.client.clone(), &ns);
    let secret_name = format!("{ns}-oauth");
    let reason = |wanted: &'static str| {
        let orgs = orgs.clone();
        let ns = ns.clone();
        async move {
            let ready_of = |o: &Organization| {
                find(&o.status.as_ref()?.conditions, "Ready")
                    .filter(|c| c.reason == wanted)
                    .map(|c| c.message.clone())
            };
            let what = format!("Organization {ns} Ready reason {wanted}");
            let reached = |o: Option<&Organization>| o.and_then(ready_of).is_some();
            let org = support::wait_for(&orgs, &ns, &what, WAIT, reached).await;
            org.as_ref().and_then(ready_of).expect("the condition held")
        }
    };
    // A wrong secret is rejected, and the message names the Secret but not its value.
    let good = secrets.get(&secret_name).await.unwrap();
    let mut bad = good.clone();
    bad.metadata.managed_fields = None;
    bad.data.as_mut().unwrap().insert(
        "clientSecret".into(),
        k8s_openapi::ByteString(b"not-the-secret".to_vec()),
    );
    secrets
        .replace(&secret_name, &Default::default(), &bad)
        .await
        .unwrap();
    let message = reason("CredentialsRejected").await;
    assert!(message.contains(&secret_name), "{message}");
    assert!(!message.contains("not-the-secret"), "{message}");
    // Rotating back takes effect at once (the Secret is watched).
    let mut fixed = secrets.get(&secret_name).await.unwrap();
    fixed.data = good.data.clone();
    secrets
        .replace(&secret_name, &Default::default(), &fixed)
        .await
        .unwrap();
    reason("Connected").await;
    // A deleted Secret says which one and what keys it needs; it is kept (Terminating)
    // for the cleanup of the Organization's OrgLinks and OrgPairings, not used otherwise.
    secrets
        .delete(&secret_name, &DeleteParams::default())
        .await
        .unwrap();
    let message = reason("CredentialsMissing").await;
    assert!(
        message.contains("clientId") && message.contains("clientSecret"),
        "{message}"
    );
    assert!(message.contains("being deleted"), "{message}");
    let kept = secrets.get(&secret_name).await.unwrap();
    assert!(kept.metadata.deletion_timestamp.is_some());
    // Deleting the Organization releases it.
    orgs.delete(&ns, &DeleteParams::default()).await.unwrap();
    let what = format!("the Secret {secret_name} gone with its Organization");
    support::wait_gone(&secrets, &secret_name, &what).await;
}

#[tokio::test]
async fn metrics_count_reconciles_and_genesys_calls() {
    let w = World::new("metrics", "1h").await;
    w.ready("Acme Prod").await;
    let addr = support::operator();
    let body = eventually("metrics served", WAIT, || support::metrics_text(addr)).await;
    assert!(
        body.contains("orglink_reconciles_total{kind=\"Organization\"}"),
        "{body}"
    );
    assert!(body.contains("orglink_genesys_api_calls_total"), "{body}");
    assert!(
        body.contains("endpoint=\"/api/v2/organizations/me\""),
        "{body}"
    );
}

/// `kubectl apply` through the real API server and the operator's webhook: whether it
/// succeeded, and all it printed.
fn kubectl_apply(ns: &str, yaml: &str) -> (bool, String) {
    let (ok, out, err) = support::kubectl(&["apply", "-n", ns, "-f", "-"], Some(yaml));
    (ok, format!("{out}{err}"))
}

#[tokio::test]
async fn the_webhook_rejects_at_apply_time_what_can_never_work() {
    let w = World::new("admit", "1h").await;
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    let (prod_ns, globex, dr) = (
        w.ns("Acme Prod").to_string(),
        w.org("Globex EU"),
        w.org("Acme DR"),
    );

    // A pairing across regions: the schema cannot know, the webhook does.
    let across = format!(
        "apiVersion: orglink.dev/v1alpha1\nkind: OrgPairing\nmetadata: {{name: eu}}\nspec:\n  organizationRef: {prod_ns}\n  peer: {{organizationId: {}, region: eu-west-1}}\n  request: {{users: [{}]}}\n",
        globex.id,
        w.org("Acme Prod").users[0].id
    );
    let (ok, out) = kubectl_apply(&prod_ns, &across);
    assert!(!ok, "{out}");
    assert!(out.contains("denied the request"), "{out}");
    assert!(
        out.contains("spec.peer.region: eu-west-1 differs from Organization"),
        "{out}"
    );
    assert!(out.contains("same region"), "{out}");

    // A link with oneself.
    let own = w.org("Acme Prod").id;
    let selfie = format!(
        "apiVersion: orglink.dev/v1alpha1\nkind: OrgLink\nmetadata: {{name: me}}\nspec:\n  organizationRef: {prod_ns}\n  peer: {{organizationId: {own}, region: us-east-1}}\n"
    );
    let (ok, out) = kubectl_apply(&prod_ns, &selfie);
    assert!(!ok && out.contains("is the ID of Organization"), "{out}");

    // A second OrgLink for the same org and peer.
    let first = format!(
        "apiVersion: orglink.dev/v1alpha1\nkind: OrgLink\nmetadata: {{name: first}}\nspec:\n  organizationRef: {prod_ns}\n  peer: {{organizationId: {}, region: us-east-1}}\n",
        dr.id
    );
    let (ok, out) = kubectl_apply(&prod_ns, &first);
    assert!(ok, "{out}");
    let api: Api<OrgLink> = Api::namespaced(w.client.clone(), &prod_ns);
    eventually("webhook cache sees the first OrgLink", WAIT, || async {
        let second = first.replace("name: first", "name: second");
        let (ok, out) = kubectl_apply(&prod_ns, &second);
        (!ok && out.contains("OrgLink first already manages")).then_some(())
    })
    .await;
    assert!(api.get_opt("second").await.unwrap().is_none());

    // A missing Organization is a warning, not a rejection (GitOps may create it later).
    let later = first.replace("name: first", "name: later").replace(
        &format!("organizationRef: {prod_ns}"),
        "organizationRef: not-yet",
    );
    let (ok, out) = kubectl_apply(&prod_ns, &later);
    assert!(ok, "{out}");
    assert!(
        out.contains("Warning: spec.organizationRef: no Organization not-yet"),
        "{out}"
    );
}
