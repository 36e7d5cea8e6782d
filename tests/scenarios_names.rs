//! Names instead of UUIDs (issue 17 item 3): a trustee and a trustor OrgPairing with no
//! pairing ID in Git and no user or group ID either, users named by email and a group
//! by name on both sides, through a 48 h renewal, to RolesAssigned; and an email that
//! matches no one giving `SubjectNotFound` with nothing sent. Same fixture as
//! `scenarios_gitops.rs`: one control plane and operator per test binary, one
//! simulator per test.

mod support;

use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    OrgPairing, OrgPairingPhase, OrgPairingSpec, PairingGrant, PairingRequest,
};
use support::{
    World, apply, pairing_condition, pairing_phase, peer, renewed_pairing, request_pairing,
};

const USERS_SEARCH: &str = "POST /api/v2/users/search";
const GROUPS_SEARCH: &str = "POST /api/v2/groups/search";
const POST_PAIRING: &str = "POST /api/v2/orgauthorization/pairings";

fn role(name: &str) -> RoleRef {
    RoleRef {
        name: Some(name.into()),
        id: None,
        divisions: Vec::new(),
    }
}

#[tokio::test]
async fn users_by_email_and_a_group_by_name_through_a_renewal_to_roles_assigned() {
    // A 10 s resync: the renewal below moves the simulated clock, not the operator's,
    // which learns of the expiry by reading its pairing again, once a resync.
    let w = World::new("names", "10s").await;
    let (acme, msp) = (w.org("Acme Prod"), w.org("MSP Prod"));
    let (acme_ns, msp_ns) = (w.ns("Acme Prod").to_string(), w.ns("MSP Prod").to_string());
    w.ready("Acme Prod").await;
    w.ready("MSP Prod").await;
    let (ana, bo) = (&msp.users[0], &msp.users[1]);
    let group = &msp.groups[0];
    let email = |u: &orglink_operator::sandbox::genesys_sim::SeedMember| {
        u.email.clone().expect("seeded users have an email")
    };
    let grant = |user_role: &str| {
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
                    users: vec![
                        GrantSubject {
                            // Written in other case than the directory's: emails ignore it.
                            email: Some(email(ana).to_uppercase()),
                            roles: vec![role(user_role)],
                            ..GrantSubject::default()
                        },
                        GrantSubject {
                            email: Some(email(bo)),
                            roles: vec![role("Read only")],
                            ..GrantSubject::default()
                        },
                    ],
                    groups: vec![GrantSubject {
                        name: Some(group.name.clone()),
                        roles: vec![role("Read only")],
                        ..GrantSubject::default()
                    }],
                }),
            },
        )
    };
    // The grant first, with a role Acme does not have: it cannot accept before the
    // renewal, so the renewal is followed with names to match again.
    apply(&w.client, &acme_ns, &grant("No such role")).await;
    pairing_condition(
        &w,
        &acme_ns,
        "msp",
        "Ready",
        "WaitingForConfirmation",
        "spec.grant.pairingId is omitted",
    )
    .await;

    let request = PairingRequest {
        user_emails: vec![email(ana), email(bo)],
        group_names: vec![group.name.clone()],
        ..PairingRequest::default()
    };
    let waiting = request_pairing(&w, &msp_ns, "into-acme", &acme, request).await;
    let first = waiting.status.unwrap().pairing_id.unwrap();
    // The pairing names the users and the group the names resolved to.
    let made = w
        .sim
        .state()
        .all_pairings()
        .find(|p| p.id.to_string() == first)
        .cloned()
        .expect("the pairing in Genesys Cloud");
    let mut want_users = vec![ana.id, bo.id];
    want_users.sort();
    let mut got_users = made.users.clone();
    got_users.sort();
    assert_eq!(got_users, want_users);
    assert_eq!(made.groups, vec![group.id]);
    pairing_condition(
        &w,
        &acme_ns,
        "msp",
        "Ready",
        "UnknownRole",
        &format!("not accepting pairing {first} yet"),
    )
    .await;

    // Two days pass unaccepted: the trustee renews, the trustor follows the new ID.
    let second = renewed_pairing(&w, &msp_ns, "into-acme", &first).await;
    pairing_condition(
        &w,
        &acme_ns,
        "msp",
        "Ready",
        "UnknownRole",
        &format!("not accepting pairing {second} yet"),
    )
    .await;

    // The role fixed in Git: accepted, roles on each resolved user and the group.
    apply(&w.client, &acme_ns, &grant("Supervisor")).await;
    let authorized = pairing_phase(&w.client, &acme_ns, "msp", OrgPairingPhase::Authorized).await;
    pairing_phase(&w.client, &msp_ns, "into-acme", OrgPairingPhase::Authorized).await;
    let (status, _) = pairing_condition(
        &w,
        &acme_ns,
        "msp",
        "RolesAssigned",
        "RolesAssigned",
        "all 3 trustee users and groups hold at least one role",
    )
    .await;
    assert_eq!(status, "True");
    let trust = w
        .sim
        .state()
        .all_trusts()
        .find(|t| t.trustor == acme.id && t.trustee == msp.id)
        .cloned()
        .expect("the trust in Genesys Cloud");
    assert_eq!(trust.pairing_id.map(|p| p.to_string()), Some(second));
    let role_id = |name: &str| {
        acme.roles
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .id
            .to_string()
    };
    let subjects = authorized.status.unwrap().subjects;
    let roles_of = |id: uuid::Uuid| {
        let mut roles = subjects
            .iter()
            .find(|s| s.id == id.to_string())
            .unwrap_or_else(|| panic!("{id} in {subjects:?}"))
            .roles
            .clone();
        roles.sort();
        roles
    };
    assert_eq!(roles_of(ana.id), vec![role_id("Supervisor")]);
    assert_eq!(roles_of(bo.id), vec![role_id("Read only")]);
    assert_eq!(roles_of(group.id), vec![role_id("Read only")]);

    // Each email and the name were searched once, not on every reconcile (the trustee
    // reconciled through a pairing, a renewal and an acceptance meanwhile); the trustor
    // searched nothing (it matched the pairing's members).
    let stats = w.sim.stats();
    assert_eq!(stats.count(msp.id, USERS_SEARCH), 2, "{stats:?}");
    assert_eq!(stats.count(msp.id, GROUPS_SEARCH), 1, "{stats:?}");
    assert_eq!(stats.count(acme.id, USERS_SEARCH), 0, "{stats:?}");
    assert_eq!(stats.count(acme.id, GROUPS_SEARCH), 0, "{stats:?}");
}

#[tokio::test]
async fn an_unknown_email_is_a_clear_stalled_condition_and_nothing_is_sent() {
    let w = World::new("names-unknown", "1h").await;
    let (acme, msp) = (w.org("Acme Prod"), w.org("MSP Prod"));
    let msp_ns = w.ns("MSP Prod").to_string();
    w.ready("MSP Prod").await;
    let request = OrgPairing::new(
        "into-acme",
        OrgPairingSpec {
            organization_ref: msp_ns.clone(),
            peer: peer(&acme),
            request: Some(PairingRequest {
                user_emails: vec!["nobody@msp-prod.example".into()],
                group_names: vec![msp.groups[0].name.clone()],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    );
    apply(&w.client, &msp_ns, &request).await;
    let (status, message) = pairing_condition(
        &w,
        &msp_ns,
        "into-acme",
        "Ready",
        "SubjectNotFound",
        "nobody@msp-prod.example",
    )
    .await;
    assert_eq!(status, "False");
    assert_eq!(
        message,
        "spec.request.userEmails: email \"nobody@msp-prod.example\" matches no user in this organization; correct the email or name the user by ID"
    );
    let (stalled, _) = pairing_condition(
        &w,
        &msp_ns,
        "into-acme",
        "Stalled",
        "SubjectNotFound",
        "nobody@msp-prod.example",
    )
    .await;
    assert_eq!(stalled, "True");
    assert_eq!(
        w.sim.stats().count(msp.id, POST_PAIRING),
        0,
        "no pairing requested"
    );
}
