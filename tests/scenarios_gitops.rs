//! GitOps without copied IDs (issue 17, item 2): both sides of a pairing declared in
//! this cluster, the trustor's grant with no `pairingId`. The trustor finds the trustee
//! OrgPairing that names it (mutual naming is the consent), follows its 48 h renewal,
//! and accepts the current pairing. Same fixture as `scenarios_pairing.rs`: one control
//! plane and operator per test binary, one simulator per test.

mod support;

use kube::api::{Api, Patch, PatchParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    OrgPairing, OrgPairingPhase, OrgPairingSpec, PairingGrant, PairingRequest, PeerRef,
};
use orglink_operator::sandbox::genesys_sim::SeedOrg;
use support::{WAIT, World, apply, eventually, pairing_phase};

fn peer(org: &SeedOrg) -> PeerRef {
    PeerRef {
        organization_id: org.id.to_string(),
        region: org.region,
    }
}

/// Waits until `ns/name`'s Ready condition has `reason` and a message containing
/// `text`; returns the message.
async fn ready_says(w: &World, ns: &str, name: &str, reason: &str, text: &str) -> String {
    let api: Api<OrgPairing> = Api::namespaced(w.client.clone(), ns);
    eventually(
        &format!("OrgPairing {ns}/{name}: Ready {reason} saying {text:?}"),
        WAIT,
        || async {
            let p = api.get_opt(name).await.ok().flatten()?;
            let c = p
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Ready")?;
            (c.reason == reason && c.message.contains(text)).then_some(c.message)
        },
    )
    .await
}

#[tokio::test]
async fn a_grant_without_pairing_id_follows_the_trustee_in_the_cluster_through_a_renewal() {
    let w = World::new("gitops-pair", "1h").await;
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
                        id: user.clone(),
                        roles: vec![RoleRef {
                            name: Some(role.into()),
                            id: None,
                        }],
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
    let request = OrgPairing::new(
        "into-acme",
        OrgPairingSpec {
            organization_ref: msp_ns.clone(),
            peer: peer(&acme),
            request: Some(PairingRequest {
                users: vec![user.clone()],
                groups: vec![],
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
    w.sim.advance_clock(chrono::Duration::hours(49)).unwrap();
    let pairings: Api<OrgPairing> = Api::namespaced(w.client.clone(), &msp_ns);
    let second = eventually("the trustee's pairing renewed", WAIT, || async {
        let id = pairings.get("into-acme").await.ok()?.status?.pairing_id?;
        (id != first).then_some(id)
    })
    .await;
    ready_says(
        &w,
        &acme_ns,
        "msp",
        "UnknownRole",
        &format!("not accepting pairing {second} yet"),
    )
    .await;

    // The role fixed in Git: the current pairing is accepted, on both sides.
    Api::<OrgPairing>::namespaced(w.client.clone(), &acme_ns)
        .patch(
            "msp",
            &PatchParams::apply("orglink-tests").force(),
            &Patch::Apply(&grant("Supervisor")),
        )
        .await
        .unwrap();
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
