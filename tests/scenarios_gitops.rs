//! GitOps scenarios (issue 17). Item 2, no copied IDs: both sides of a pairing declared
//! in this cluster, the trustor's grant with no `pairingId`; the trustor finds the
//! trustee OrgPairing that names it (mutual naming is the consent), follows its 48 h
//! renewal, and accepts the current pairing. Item 5, observe only: an object annotated
//! `orglink.dev/reconcile: observe` reports what it would do and does nothing. Same fixture as `scenarios_pairing.rs`: one control
//! plane and operator per test binary, one simulator per test.

mod support;

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{LinkDecision, OrgLink, OrgLinkPhase};
use orglink_operator::api::{
    OrgPairing, OrgPairingPhase, OrgPairingSpec, PairingGrant, PairingRequest,
};
use orglink_operator::lifecycle::observe::RECONCILE_ANNOTATION;
use support::{
    WAIT, World, apply, eventually, link, link_phase, pairing_condition, pairing_phase, peer,
    renewed_pairing, request_pairing,
};

/// Waits until `ns/name`'s Ready condition has `reason` and a message containing
/// `text`; returns the message.
async fn ready_says(w: &World, ns: &str, name: &str, reason: &str, text: &str) -> String {
    pairing_condition(w, ns, name, "Ready", reason, text)
        .await
        .1
}

#[tokio::test]
async fn a_grant_without_pairing_id_follows_the_trustee_in_the_cluster_through_a_renewal() {
    // A 10 s resync: the renewal below moves the simulated clock, not the operator's,
    // which learns of the expiry by reading its pairing again, once a resync.
    let w = World::new("gitops-pair", "10s").await;
    let (acme, msp) = (w.org("Acme Prod"), w.org("MSP Prod"));
    let (acme_ns, msp_ns) = (w.ns("Acme Prod").to_string(), w.ns("MSP Prod").to_string());
    w.ready("Acme Prod").await;
    w.ready("MSP Prod").await;
    let user = msp.users[0].id.to_string();
    let grant = |role: &str| {
        OrgPairing::new(
            "msp",
            OrgPairingSpec {
                organization_ref: acme_ns.clone(),
                peer: peer(&msp),
                request: None,
                grant: Some(PairingGrant {
                    pairing_id: None,
                    enabled: true,
                    expires_at: None,
                    users: vec![GrantSubject {
                        id: Some(user.clone()),
                        roles: vec![RoleRef {
                            name: Some(role.into()),
                            id: None,
                            divisions: Vec::new(),
                        }],
                        ..GrantSubject::default()
                    }],
                    groups: vec![],
                }),
            },
        )
    };

    // The trustor's grant first (a sync applies both in any order), with a role its org
    // does not have, so it cannot accept before the renewal: it waits for the trustee.
    apply(&w.client, &acme_ns, &grant("No such role")).await;
    ready_says(
        &w,
        &acme_ns,
        "msp",
        "WaitingForConfirmation",
        "spec.grant.pairingId is omitted",
    )
    .await;

    // The trustee's request: the trustor finds its pairing by itself.
    let request = PairingRequest {
        users: vec![user.clone()],
        groups: vec![],
        ..PairingRequest::default()
    };
    let waiting = request_pairing(&w, &msp_ns, "into-acme", &acme, request).await;
    let first = waiting.status.unwrap().pairing_id.unwrap();
    ready_says(
        &w,
        &acme_ns,
        "msp",
        "UnknownRole",
        &format!("not accepting pairing {first} yet"),
    )
    .await;

    // Two days pass unaccepted: the trustee renews, the trustor follows the new ID.
    let second = renewed_pairing(&w, &msp_ns, "into-acme", &first).await;
    ready_says(
        &w,
        &acme_ns,
        "msp",
        "UnknownRole",
        &format!("not accepting pairing {second} yet"),
    )
    .await;

    // The role fixed in Git: the current pairing is accepted, on both sides.
    apply(&w.client, &acme_ns, &grant("Supervisor")).await;
    let authorized = pairing_phase(&w.client, &acme_ns, "msp", OrgPairingPhase::Authorized).await;
    pairing_phase(&w.client, &msp_ns, "into-acme", OrgPairingPhase::Authorized).await;
    let trust = w
        .sim
        .state()
        .all_trusts()
        .find(|t| t.trustor == acme.id && t.trustee == msp.id)
        .cloned()
        .expect("the trust in Genesys Cloud");
    assert_eq!(
        trust.pairing_id.map(|p| p.to_string()),
        Some(second.clone())
    );
    let subjects = authorized.status.unwrap().subjects;
    let supervisor = acme.roles.iter().find(|r| r.name == "Supervisor").unwrap();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert_eq!(subjects[0].roles, vec![supervisor.id.to_string()]);
}

const POST_LINK: &str = "POST /api/v2/telephony/organization/link";

/// An OrgLink annotated `orglink.dev/reconcile: observe` says what it would do (request
/// the link), Ready False `ObserveOnly`, and sends nothing; without the annotation it
/// requests; annotated again and deleted, it leaves the request in Genesys alone.
#[tokio::test]
async fn an_observed_link_reports_without_acting() {
    let w = World::new("gitops-observe", "1h").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    let ns = w.ns("Acme Prod").to_string();
    w.ready("Acme Prod").await;
    let mut observed = link("to-dr", &ns, &dr, LinkDecision::Accept, 0);
    observed
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(RECONCILE_ANNOTATION.into(), "observe".into());
    apply(&w.client, &ns, &observed).await;

    let links: Api<OrgLink> = Api::namespaced(w.client.clone(), &ns);
    let ready = eventually("OrgLink to-dr: Ready ObserveOnly", WAIT, || async {
        let l = links.get_opt("to-dr").await.ok().flatten()?;
        l.status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready" && c.reason == "ObserveOnly")
    })
    .await;
    assert_eq!(ready.status, "False");
    assert!(
        ready
            .message
            .contains(&format!("would be requesting a link to {}", dr.id)),
        "{}",
        ready.message
    );
    let stalled = links.get("to-dr").await.unwrap().status.unwrap().conditions;
    assert!(
        stalled
            .iter()
            .any(|c| c.type_ == "Stalled" && c.status == "True"),
        "observe only is Stalled for GitOps tools until the annotation goes: {stalled:?}"
    );
    assert_eq!(w.sim.stats().count(prod.id, POST_LINK), 0, "nothing sent");
    let remote = |w: &World| {
        w.sim
            .state()
            .links_of(prod.id)
            .unwrap()
            .into_iter()
            .any(|v| v.target_organization_id == dr.id)
    };
    assert!(!remote(&w));

    // Without the annotation the operator acts: it requests the link.
    let annotate = |value: Option<&str>| serde_json::json!({"metadata": {"annotations": {RECONCILE_ANNOTATION: value}}});
    links
        .patch(
            "to-dr",
            &PatchParams::default(),
            &Patch::Merge(&annotate(None)),
        )
        .await
        .unwrap();
    link_phase(
        &w.client,
        &ns,
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    assert_eq!(w.sim.stats().count(prod.id, POST_LINK), 1);
    assert!(remote(&w));

    // Observed again, deleting it leaves Genesys Cloud alone.
    links
        .patch(
            "to-dr",
            &PatchParams::default(),
            &Patch::Merge(&annotate(Some("observe"))),
        )
        .await
        .unwrap();
    links
        .delete("to-dr", &DeleteParams::default())
        .await
        .unwrap();
    eventually("OrgLink to-dr gone", WAIT, || async {
        matches!(links.get_opt("to-dr").await, Ok(None)).then_some(())
    })
    .await;
    assert!(remote(&w), "the request is still in Genesys Cloud");
}
