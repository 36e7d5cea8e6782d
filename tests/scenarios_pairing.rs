//! End-to-end scenarios of OrgPairing (authorized organizations): the real
//! kube-apiserver, the operator's controllers and the simulated Genesys Cloud. What
//! tests/scenarios.rs already covers (a grant with a role-less subject, revocation by
//! the trustor) is not repeated; these cover the rest of api.md's OrgPairing section:
//! the full handshake with roles, drift, disabling, the 48 h expiry, revocation by the
//! trustee and unknown role names.
//!
//! One control plane and one operator per test binary; each test has its own simulator
//! and namespaces, so the tests run in parallel.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, ListParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef, SubjectKind};
use orglink_operator::api::{
    OrgPairing, OrgPairingPhase, OrgPairingSpec, OrgPairingStatus, Organization, PairingGrant,
    PairingRequest,
};
use orglink_operator::sandbox::genesys_sim::SeedOrg;
use orglink_operator::sandbox::genesys_sim::state::Trust;
use support::{World, apply, eventually, genesys_as, peer};
use uuid::Uuid;

use support::WAIT;
const TRUSTOR: &str = "Acme Prod";
const TRUSTEE: &str = "MSP Prod";
/// The name of the trustee-side OrgPairing (in the MSP namespace).
const REQUEST: &str = "into-acme";
/// The name of the trustor-side OrgPairing (in the Acme namespace).
const GRANT: &str = "msp";

/// Waits until the OrgPairing `ns/name` satisfies `check`, and returns it.
async fn pairing_until(
    client: &kube::Client,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(&OrgPairing) -> bool,
) -> OrgPairing {
    let api: Api<OrgPairing> = Api::namespaced(client.clone(), ns);
    eventually(&format!("OrgPairing {ns}/{name}: {what}"), WAIT, || async {
        let p = api.get_opt(name).await.ok().flatten()?;
        check(&p).then_some(p)
    })
    .await
}

async fn pairing_phase(
    client: &kube::Client,
    ns: &str,
    name: &str,
    phase: OrgPairingPhase,
) -> OrgPairing {
    pairing_until(client, ns, name, &format!("phase {phase:?}"), |p| {
        p.status.as_ref().and_then(|s| s.phase) == Some(phase)
    })
    .await
}

fn status(p: &OrgPairing) -> &OrgPairingStatus {
    p.status
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no status", p.metadata.name.as_deref().unwrap()))
}

/// The condition `type_` of `p`, failing the test with the whole status when absent.
fn condition<'a>(p: &'a OrgPairing, type_: &str) -> &'a Condition {
    let s = status(p);
    s.conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {s:#?}"))
}

/// True when the condition `type_` has this status and reason.
fn has_condition(p: &OrgPairing, type_: &str, status: &str, reason: &str) -> bool {
    p.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == status && c.reason == reason)
    })
}

/// (reason, note) of every Event about the object `name` in `ns`.
async fn events(client: &kube::Client, ns: &str, name: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// Waits for an Event about `ns/name` with `reason` whose note contains `needle`, and
/// returns the notes of all Events with that reason. (Events follow the status write.)
async fn event_note(
    client: &kube::Client,
    ns: &str,
    name: &str,
    reason: &str,
    needle: &str,
) -> Vec<String> {
    eventually(
        &format!("a {reason} Event about {ns}/{name} naming {needle}"),
        WAIT,
        || async {
            let notes: Vec<String> = events(client, ns, name)
                .await
                .into_iter()
                .filter(|(r, _)| r == reason)
                .map(|(_, n)| n)
                .collect();
            notes.iter().any(|n| n.contains(needle)).then_some(notes)
        },
    )
    .await
}

fn by_name(name: &str) -> RoleRef {
    RoleRef {
        name: Some(name.to_string()),
        id: None,
        divisions: Vec::new(),
    }
}

fn by_id(id: Uuid) -> RoleRef {
    RoleRef {
        name: None,
        id: Some(id.to_string()),
        divisions: Vec::new(),
    }
}

fn subject(id: Uuid, roles: Vec<RoleRef>) -> GrantSubject {
    GrantSubject {
        id: Some(id.to_string()),
        roles,
        ..GrantSubject::default()
    }
}

fn role_id(org: &SeedOrg, name: &str) -> Uuid {
    org.roles
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{} has no role {name}", org.name))
        .id
}

/// The permissions of the named roles of `org`, as a set.
fn permissions_of(org: &SeedOrg, roles: &[&str]) -> BTreeSet<String> {
    roles
        .iter()
        .flat_map(|name| {
            org.roles
                .iter()
                .find(|r| r.name == *name)
                .unwrap()
                .permissions
                .clone()
        })
        .collect()
}

/// The trustee side: MSP Prod asks Acme Prod for access for `users` and `groups`.
fn request(w: &World, users: &[Uuid], groups: &[Uuid]) -> OrgPairing {
    OrgPairing::new(
        REQUEST,
        OrgPairingSpec {
            organization_ref: w.ns(TRUSTEE).to_string(),
            peer: peer(&w.org(TRUSTOR)),
            request: Some(PairingRequest {
                users: users.iter().map(Uuid::to_string).collect(),
                groups: groups.iter().map(Uuid::to_string).collect(),
                ..PairingRequest::default()
            }),
            grant: None,
        },
    )
}

/// The trustor side: Acme Prod accepts `pairing_id` from MSP Prod.
fn grant(
    w: &World,
    pairing_id: &str,
    enabled: bool,
    users: Vec<GrantSubject>,
    groups: Vec<GrantSubject>,
) -> OrgPairing {
    OrgPairing::new(
        GRANT,
        OrgPairingSpec {
            organization_ref: w.ns(TRUSTOR).to_string(),
            peer: peer(&w.org(TRUSTEE)),
            request: None,
            grant: Some(PairingGrant {
                pairing_id: Some(pairing_id.to_string()),
                enabled,
                expires_at: None,
                users,
                groups,
            }),
        },
    )
}

/// Applies the trustee's request and returns its pairing ID once it waits for the
/// trustor.
async fn request_and_wait(w: &World, users: &[Uuid], groups: &[Uuid]) -> String {
    apply(&w.client, w.ns(TRUSTEE), &request(w, users, groups)).await;
    let waiting = pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    status(&waiting)
        .pairing_id
        .clone()
        .expect("the pairing ID in status")
}

/// The trust Acme Prod (trustor) grants MSP Prod (trustee), as the simulator holds it.
fn trust(w: &World) -> Option<Trust> {
    let (trustor, trustee) = (w.org(TRUSTOR).id, w.org(TRUSTEE).id);
    w.sim
        .state()
        .all_trusts()
        .find(|t| t.trustor == trustor && t.trustee == trustee)
        .cloned()
}

/// The role IDs the simulator says trustee user `user` holds in the trust.
fn held_roles(w: &World, user: Uuid) -> Option<BTreeSet<Uuid>> {
    trust(w).and_then(|t| t.users.get(&user).map(|m| m.role_ids.clone()))
}

/// MSP users `u1` and `u2` asked for, and granted Supervisor and Employee by name: the
/// grant side, once Authorized.
async fn supervisor_and_employee_granted(w: &World, u1: Uuid, u2: Uuid) -> OrgPairing {
    let pairing_id = request_and_wait(w, &[u1, u2], &[]).await;
    let subjects = vec![
        subject(u1, vec![by_name("Supervisor")]),
        subject(u2, vec![by_name("Employee")]),
    ];
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(w, &pairing_id, true, subjects, vec![]),
    )
    .await;
    pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await
}

/// Waits until `org`'s Organization status satisfies `check`.
async fn organization_until(
    w: &World,
    org: &str,
    what: &str,
    check: impl Fn(&orglink_operator::api::OrganizationStatus) -> bool,
) {
    let api: Api<Organization> = Api::namespaced(w.client.clone(), w.ns(org));
    let name = w.ns(org).to_string();
    eventually(&format!("Organization {name}: {what}"), WAIT, || async {
        let s = api.get(&name).await.ok()?.status?;
        check(&s).then_some(())
    })
    .await
}

#[tokio::test]
async fn a_request_granted_with_roles_for_every_subject_is_authorized_on_both_sides() {
    let w = World::new("pair-full", "1h").await;
    let (acme, msp) = (w.org(TRUSTOR), w.org(TRUSTEE));
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let (u1, u2, g1) = (msp.users[0].id, msp.users[1].id, msp.groups[0].id);

    // Trustee: the pairing ID is in status and on a PairingCreated Event.
    let pairing_id = request_and_wait(&w, &[u1, u2], &[g1]).await;
    let waiting = pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    let authorized = condition(&waiting, "Authorized");
    assert_eq!(
        (authorized.status.as_str(), authorized.reason.as_str()),
        ("False", "WaitingForConfirmation")
    );
    let s = status(&waiting);
    let (created, expires) = (
        s.pairing_created_at.clone().expect("pairingCreatedAt").0,
        s.pairing_expires_at.clone().expect("pairingExpiresAt").0,
    );
    assert_eq!(
        expires.duration_since(created).as_secs(),
        48 * 3600,
        "a pairing expires 48 h after creation"
    );
    let remote = w
        .sim
        .state()
        .all_pairings()
        .find(|p| p.id.to_string() == pairing_id)
        .cloned()
        .expect("the pairing exists in Genesys Cloud");
    assert_eq!(remote.trustee, msp.id);
    assert_eq!(remote.users, vec![u1, u2]);
    assert_eq!(remote.groups, vec![g1]);
    event_note(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        "PairingCreated",
        &pairing_id,
    )
    .await;
    assert!(trust(&w).is_none(), "no trust before the trustor grants");

    // Trustor: roles by name and by ID, for every user and the group.
    let architect = role_id(&acme, "Architect access");
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(
            &w,
            &pairing_id,
            true,
            vec![
                subject(u1, vec![by_name("Supervisor")]),
                subject(u2, vec![by_id(architect)]),
            ],
            vec![subject(g1, vec![by_name("Employee")])],
        ),
    )
    .await;
    let granted = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    for type_ in ["Authorized", "RolesAssigned", "Ready"] {
        let c = condition(&granted, type_);
        assert_eq!(c.status, "True", "{type_}: {c:?}");
        assert_eq!(c.observed_generation, granted.metadata.generation);
    }
    assert_eq!(condition(&granted, "RolesAssigned").reason, "RolesAssigned");
    let s = status(&granted);
    assert_eq!(s.trustee_name.as_deref(), Some(TRUSTEE));
    let subjects: BTreeSet<(SubjectKind, String, Vec<String>)> = s
        .subjects
        .iter()
        .map(|x| (x.kind, x.id.clone(), x.roles.clone()))
        .collect();
    let supervisor = role_id(&acme, "Supervisor");
    let employee = role_id(&acme, "Employee");
    assert_eq!(
        subjects,
        BTreeSet::from([
            (
                SubjectKind::User,
                u1.to_string(),
                vec![supervisor.to_string()]
            ),
            (
                SubjectKind::User,
                u2.to_string(),
                vec![architect.to_string()]
            ),
            (
                SubjectKind::Group,
                g1.to_string(),
                vec![employee.to_string()]
            ),
        ])
    );
    assert!(s.subjects.iter().all(|x| x.divisions == "all"));

    // Genesys Cloud holds exactly those roles.
    let t = trust(&w).expect("the trust exists in Genesys Cloud");
    assert!(t.enabled);
    assert_eq!(
        t.pairing_id.map(|p| p.to_string()),
        Some(pairing_id.clone())
    );
    assert_eq!(t.users[&u1].role_ids, BTreeSet::from([supervisor]));
    assert_eq!(t.users[&u2].role_ids, BTreeSet::from([architect]));
    assert_eq!(t.groups[&g1].role_ids, BTreeSet::from([employee]));

    // Trustee: Authorized, with the permissions of the granted roles.
    let authorized = pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::Authorized,
    )
    .await;
    let c = condition(&authorized, "Authorized");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "Authorized")
    );
    assert_eq!(condition(&authorized, "Ready").status, "True");
    let s = status(&authorized);
    assert_eq!(s.trustor_name.as_deref(), Some(TRUSTOR));
    assert_eq!(s.pairing_id.as_deref(), Some(pairing_id.as_str()));
    let made = w
        .sim
        .state()
        .all_pairings()
        .filter(|p| p.trustee == msp.id)
        .count();
    assert_eq!(made, 1, "one pairing made for one request");
    let permissions: BTreeSet<String> = s.permissions.iter().cloned().collect();
    assert_eq!(
        permissions,
        permissions_of(&acme, &["Supervisor", "Architect access", "Employee"])
    );

    // Both Organizations list the trust.
    let msp_id = msp.id.to_string();
    organization_until(&w, TRUSTOR, "MSP Prod listed as an enabled trustee", |s| {
        s.trustees
            .iter()
            .any(|t| t.organization_id == msp_id && t.enabled && t.name.as_deref() == Some(TRUSTEE))
    })
    .await;
    let acme_id = acme.id.to_string();
    organization_until(&w, TRUSTEE, "Acme Prod listed as an enabled trustor", |s| {
        s.trustors
            .iter()
            .any(|t| t.organization_id == acme_id && t.enabled)
    })
    .await;
    event_note(
        &w.client,
        w.ns(TRUSTOR),
        GRANT,
        "Authorized",
        &format!("accepted pairing {pairing_id}"),
    )
    .await;
}

#[tokio::test]
async fn roles_changed_behind_the_operators_back_are_put_back_within_three_resyncs() {
    // A short resync: drift is only seen when the remote state is read again.
    let w = World::new("pair-drift", "2s").await;
    let (acme, msp) = (w.org(TRUSTOR), w.org(TRUSTEE));
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let (u1, u2) = (msp.users[0].id, msp.users[1].id);
    let granted = supervisor_and_employee_granted(&w, u1, u2).await;
    assert_eq!(condition(&granted, "RolesAssigned").status, "True");
    let (supervisor, employee, telephony) = (
        role_id(&acme, "Supervisor"),
        role_id(&acme, "Employee"),
        role_id(&acme, "Telephony admin"),
    );
    assert_eq!(held_roles(&w, u1), Some(BTreeSet::from([supervisor])));
    let before = events(&w.client, w.ns(TRUSTOR), GRANT)
        .await
        .into_iter()
        .filter(|(reason, _)| reason == "RolesAssigned")
        .count();
    assert_eq!(before, 0, "no role was set after the trust was created");

    // An Acme admin takes u1's role away and gives u2 an extra one, through the API
    // with Acme's own credentials, as the Genesys UI would.
    let admin = genesys_as(&w, &acme);
    let msp_id = msp.id.to_string();
    let removed = admin
        .clear_trustee_user_roles(&msp_id, &u1.to_string())
        .await
        .expect("removing u1's roles");
    assert_eq!(removed, orglink_operator::genesys::Removal::Removed);
    let changed = admin
        .set_trustee_user_roles(
            &msp_id,
            &u2.to_string(),
            &[employee.to_string(), telephony.to_string()],
        )
        .await
        .expect("adding a role to u2");
    assert_eq!(changed.roles.len(), 2, "{changed:?}");

    // The members are read again within three resyncs (the first look at most 10 s:
    // 30 s here) and the grant is put back: u1 has Supervisor again, u2 only Employee.
    eventually(
        "the roles of spec.grant restored in Genesys Cloud",
        WAIT,
        || async {
            (held_roles(&w, u1) == Some(BTreeSet::from([supervisor]))
                && held_roles(&w, u2) == Some(BTreeSet::from([employee])))
            .then_some(())
        },
    )
    .await;
    // ... and it was the operator that did it (an Event per member it set).
    for user in [u1, u2] {
        event_note(
            &w.client,
            w.ns(TRUSTOR),
            GRANT,
            "RolesAssigned",
            &format!("set 1 roles of user {user}"),
        )
        .await;
    }
    let after = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    assert_eq!(condition(&after, "RolesAssigned").status, "True");
    assert_eq!(condition(&after, "Authorized").status, "True");
    // The trustee side sees the permissions of the restored roles.
    pairing_until(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        "the permissions of Supervisor and Employee",
        |p| {
            let got: BTreeSet<String> = p
                .status
                .as_ref()
                .map(|s| s.permissions.iter().cloned().collect())
                .unwrap_or_default();
            got == permissions_of(&acme, &["Supervisor", "Employee"])
        },
    )
    .await;
}

#[tokio::test]
async fn a_member_removed_from_the_trust_in_genesys_is_put_back_with_its_roles() {
    // Membership is the trustee side's; with both sides here it takes the trustor
    // side's reading of the trust (shared, not read twice), which must still see this.
    let w = World::new("pair-member-drift", "2s").await;
    let (acme, msp) = (w.org(TRUSTOR), w.org(TRUSTEE));
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let (u1, u2) = (msp.users[0].id, msp.users[1].id);
    supervisor_and_employee_granted(&w, u1, u2).await;
    pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::Authorized,
    )
    .await;
    let employee = role_id(&acme, "Employee");
    assert_eq!(held_roles(&w, u2), Some(BTreeSet::from([employee])));

    // An MSP admin takes u2 out of the trust, as the Genesys UI would.
    let removed = genesys_as(&w, &msp)
        .remove_trustor_user(&acme.id.to_string(), &u2.to_string())
        .await
        .expect("removing u2 from the trust");
    assert_eq!(removed, orglink_operator::genesys::Removal::Removed);
    assert_eq!(held_roles(&w, u2), None);

    // The trustee side adds u2 back, and the trustor side gives it its role again.
    eventually("u2 back in the trust with Employee", WAIT, || async {
        (held_roles(&w, u2) == Some(BTreeSet::from([employee]))).then_some(())
    })
    .await;
    let stats = w.sim.stats();
    let added: u64 = stats.orgs[&msp.id.to_string()]
        .endpoints
        .iter()
        .filter(|(endpoint, _)| {
            endpoint.starts_with("PUT /api/v2/orgauthorization/trustors/")
                && endpoint.contains("/users/")
        })
        .map(|(_, n)| *n)
        .sum();
    assert!(added >= 1, "the trustee side put u2 back: {added} adds");
}

#[tokio::test]
async fn disabling_a_grant_disables_the_trustee_side_and_re_enabling_authorizes_again() {
    let w = World::new("pair-disable", "1h").await;
    let (acme, msp) = (w.org(TRUSTOR), w.org(TRUSTEE));
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let u1 = msp.users[0].id;
    let pairing_id = request_and_wait(&w, &[u1], &[]).await;
    let subjects = || vec![subject(u1, vec![by_name("Supervisor")])];
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(&w, &pairing_id, true, subjects(), vec![]),
    )
    .await;
    pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::Authorized,
    )
    .await;
    let supervisor = role_id(&acme, "Supervisor");

    // Off: the trust is disabled in Genesys Cloud, the roles are kept.
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(&w, &pairing_id, false, subjects(), vec![]),
    )
    .await;
    let off = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Disabled).await;
    let c = condition(&off, "Authorized");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "Disabled")
    );
    assert_eq!(c.observed_generation, off.metadata.generation);
    assert_eq!(
        condition(&off, "RolesAssigned").status,
        "True",
        "disabling keeps the roles"
    );
    let t = trust(&w).expect("a disabled trust still exists");
    assert!(!t.enabled);
    assert_eq!(t.users[&u1].role_ids, BTreeSet::from([supervisor]));

    let trustee_off =
        pairing_phase(&w.client, w.ns(TRUSTEE), REQUEST, OrgPairingPhase::Disabled).await;
    let c = condition(&trustee_off, "Authorized");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "Disabled")
    );
    assert!(
        has_condition(&trustee_off, "Stalled", "True", "Disabled"),
        "the peer switched access off: {:?}",
        status(&trustee_off).conditions
    );
    assert!(
        status(&trustee_off).permissions.is_empty(),
        "no permission while disabled: {:?}",
        status(&trustee_off).permissions
    );
    let msp_id = msp.id.to_string();
    organization_until(&w, TRUSTOR, "MSP Prod listed as a disabled trustee", |s| {
        s.trustees
            .iter()
            .any(|t| t.organization_id == msp_id && !t.enabled)
    })
    .await;

    // On again: Authorized on both sides, with the kept roles' permissions.
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(&w, &pairing_id, true, subjects(), vec![]),
    )
    .await;
    let on = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    assert_eq!(condition(&on, "Authorized").status, "True");
    assert!(trust(&w).expect("the trust").enabled);
    let trustee_on = pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::Authorized,
    )
    .await;
    let c = condition(&trustee_on, "Authorized");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "Authorized")
    );
    let permissions: BTreeSet<String> = status(&trustee_on).permissions.iter().cloned().collect();
    assert_eq!(permissions, permissions_of(&acme, &["Supervisor"]));
    for (reason, enabled) in [("Disabled", false), ("Enabled", true)] {
        event_note(
            &w.client,
            w.ns(TRUSTOR),
            GRANT,
            reason,
            &format!("enabled={enabled}"),
        )
        .await;
    }
}

#[tokio::test]
async fn an_ungranted_pairing_is_renewed_after_48_hours_without_a_hot_loop() {
    // The simulated clock moves and the operator's does not, so the operator learns of
    // the expiry from Genesys Cloud: by reading its pairing again, at each resync.
    let w = World::new("pair-expiry", "10s").await;
    let msp = w.org(TRUSTEE);
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let u1 = msp.users[0].id;
    let first = request_and_wait(&w, &[u1], &[]).await;
    let first_status = status(
        &pairing_phase(
            &w.client,
            w.ns(TRUSTEE),
            REQUEST,
            OrgPairingPhase::WaitingForConfirmation,
        )
        .await,
    )
    .clone();
    let first_created = first_status.pairing_created_at.clone().unwrap().0;
    let msp_pairings = || -> Vec<orglink_operator::sandbox::genesys_sim::state::Pairing> {
        w.sim
            .state()
            .all_pairings()
            .filter(|p| p.trustee == msp.id)
            .cloned()
            .collect()
    };
    assert_eq!(msp_pairings().len(), 1, "one pairing while it is valid");

    // Nobody grants it; two days pass.
    w.sim
        .advance_clock(jiff::SignedDuration::from_hours(49))
        .unwrap();

    let renewed = pairing_until(&w.client, w.ns(TRUSTEE), REQUEST, "a new pairing ID", |p| {
        p.status
            .as_ref()
            .and_then(|s| s.pairing_id.as_deref())
            .is_some_and(|id| id != first)
    })
    .await;
    let s = status(&renewed).clone();
    let second = s.pairing_id.clone().unwrap();
    assert_eq!(s.phase, Some(OrgPairingPhase::WaitingForConfirmation));
    let c = condition(&renewed, "Authorized");
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "WaitingForConfirmation")
    );
    let created = s.pairing_created_at.clone().unwrap().0;
    let expires = s.pairing_expires_at.clone().unwrap().0;
    assert!(
        created.duration_since(first_created).as_secs() >= 49 * 3600,
        "the new pairing was made after the clock moved: {first_created} then {created}"
    );
    assert_eq!(expires.duration_since(created).as_secs(), 48 * 3600);

    // Genesys Cloud: the old pairing is expired, the new one valid, for the same users.
    let now = w.sim.now();
    let pairings = msp_pairings();
    let old = pairings.iter().find(|p| p.id.to_string() == first).unwrap();
    let new = pairings
        .iter()
        .find(|p| p.id.to_string() == second)
        .expect("the new pairing exists in Genesys Cloud");
    assert!(old.is_expired(now), "{old:?} at {now}");
    assert!(!new.is_expired(now), "{new:?} at {now}");
    assert_eq!(new.users, vec![u1]);
    // Each pairing has its own Event, carrying its own ID.
    let notes = event_note(&w.client, w.ns(TRUSTEE), REQUEST, "PairingCreated", &second).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&first) && !n.contains(&second)),
        "{notes:?}"
    );

    // No hot loop: the new pairing is kept, and polled at a calm pace. While it waits,
    // the trustee reads it about every 10 s, plus once each time a local org with the
    // peer's ID acts (the other tests' worlds use the same seeded org IDs, so their
    // trustors wake this trustee too); a loop would read it many times a second.
    let get = "GET /api/v2/orgauthorization/pairings/{pairingId}";
    let post = "POST /api/v2/orgauthorization/pairings";
    let before = w.sim.stats();
    let window = Duration::from_secs(25);
    tokio::time::sleep(window).await;
    let after = w.sim.stats();
    let (gets, posts) = (
        after.count(msp.id, get) - before.count(msp.id, get),
        after.count(msp.id, post) - before.count(msp.id, post),
    );
    assert_eq!(posts, 0, "no pairing made in {window:?} after the renewal");
    let calls: Vec<(String, u64)> = after.orgs[&msp.id.to_string()]
        .endpoints
        .iter()
        .map(|(e, n)| (e.clone(), n - before.count(msp.id, e)))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(
        gets <= 30,
        "{gets} reads of the pairing in {window:?}: a hot loop; MSP's calls then: {calls:?}"
    );
    assert_eq!(msp_pairings().len(), 2, "{:?}", msp_pairings());
    let still = pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    assert_eq!(status(&still).pairing_id.as_deref(), Some(second.as_str()));
    let c = condition(&still, "Authorized");
    assert!(
        c.message.contains(&second),
        "the message names the pairing waiting for the trustor: {c:?}"
    );

    // The new pairing is the one that works: the trustor accepts it.
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(
            &w,
            &second,
            true,
            vec![subject(u1, vec![by_name("Supervisor")])],
            vec![],
        ),
    )
    .await;
    pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::Authorized,
    )
    .await;
    let t = trust(&w).expect("the trust");
    assert_eq!(t.pairing_id.map(|p| p.to_string()), Some(second));
}

#[tokio::test]
async fn deleting_the_trustee_side_revokes_and_the_trustor_sees_revoked() {
    let w = World::new("pair-leave", "1h").await;
    let msp = w.org(TRUSTEE);
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let u1 = msp.users[0].id;
    let pairing_id = request_and_wait(&w, &[u1], &[]).await;
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(
            &w,
            &pairing_id,
            true,
            vec![subject(u1, vec![by_name("Supervisor")])],
            vec![],
        ),
    )
    .await;
    pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::Authorized,
    )
    .await;
    assert!(trust(&w).is_some());

    // The trustee leaves: its cleanup deletes the trust (DELETE /trustors/{id}).
    let api: Api<OrgPairing> = Api::namespaced(w.client.clone(), w.ns(TRUSTEE));
    api.delete(REQUEST, &DeleteParams::default()).await.unwrap();
    eventually(
        "the trustee OrgPairing gone after its cleanup",
        WAIT,
        || async { api.get_opt(REQUEST).await.ok()?.is_none().then_some(()) },
    )
    .await;
    assert!(trust(&w).is_none(), "the trust is gone in Genesys Cloud");

    let revoked = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Revoked).await;
    let c = condition(&revoked, "Authorized");
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "Revoked"));
    assert_eq!(condition(&revoked, "Ready").status, "False");
    // Nothing changes without a new pairing: kstatus reads Failed (docs/api.md, "Health").
    assert!(has_condition(&revoked, "Stalled", "True", "Revoked"));
    assert!(has_condition(&revoked, "Reconciling", "False", "Revoked"));
    let msp_id = msp.id.to_string();
    organization_until(&w, TRUSTOR, "MSP Prod no longer a trustee", |s| {
        !s.trustees.iter().any(|t| t.organization_id == msp_id)
    })
    .await;

    // The trustor does not re-create the trust from the (still valid) pairing.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(
        trust(&w).is_none(),
        "the trust was re-created: {:?}",
        trust(&w)
    );
    let still = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Revoked).await;
    assert_eq!(condition(&still, "Authorized").reason, "Revoked");
}

#[tokio::test]
async fn a_grant_naming_an_unknown_role_is_an_error_naming_the_role() {
    let w = World::new("pair-role", "1h").await;
    let (acme, msp) = (w.org(TRUSTOR), w.org(TRUSTEE));
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let (u1, u2) = (msp.users[0].id, msp.users[1].id);
    let pairing_id = request_and_wait(&w, &[u1, u2], &[]).await;

    // A misspelt role: nothing is granted (not even u2's valid role), and the condition
    // names the role.
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(
            &w,
            &pairing_id,
            true,
            vec![
                subject(u1, vec![by_name("Supervisr")]),
                subject(u2, vec![by_name("Supervisor")]),
            ],
            vec![],
        ),
    )
    .await;
    let blocked = pairing_until(
        &w.client,
        w.ns(TRUSTOR),
        GRANT,
        "RolesAssigned=False UnknownRole",
        |p| has_condition(p, "RolesAssigned", "False", "UnknownRole"),
    )
    .await;
    let c = condition(&blocked, "RolesAssigned");
    assert!(c.message.contains("\"Supervisr\""), "{c:?}");
    assert_eq!(c.observed_generation, blocked.metadata.generation);
    let ready = condition(&blocked, "Ready");
    assert_eq!(ready.status, "False");
    assert!(ready.message.contains("Supervisr"), "{ready:?}");
    let stalled = condition(&blocked, "Stalled");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "UnknownRole")
    );
    assert_eq!(stalled.observed_generation, blocked.metadata.generation);
    let authorized = condition(&blocked, "Authorized");
    assert_eq!(authorized.status, "False");
    assert_ne!(status(&blocked).phase, Some(OrgPairingPhase::Authorized));
    assert!(trust(&w).is_none(), "no trust with a half-resolved grant");
    let trustee = pairing_phase(
        &w.client,
        w.ns(TRUSTEE),
        REQUEST,
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    assert_eq!(status(&trustee).pairing_id.as_deref(), Some(&*pairing_id));

    // Fixed: accepted.
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(
            &w,
            &pairing_id,
            true,
            vec![
                subject(u1, vec![by_name("Supervisor")]),
                subject(u2, vec![by_name("Supervisor")]),
            ],
            vec![],
        ),
    )
    .await;
    let ok = pairing_until(
        &w.client,
        w.ns(TRUSTOR),
        GRANT,
        "Authorized with RolesAssigned=True",
        |p| {
            p.status.as_ref().and_then(|s| s.phase) == Some(OrgPairingPhase::Authorized)
                && has_condition(p, "RolesAssigned", "True", "RolesAssigned")
        },
    )
    .await;
    assert_eq!(condition(&ok, "Ready").status, "True");
    let supervisor = role_id(&acme, "Supervisor");
    assert_eq!(held_roles(&w, u1), Some(BTreeSet::from([supervisor])));
    assert_eq!(held_roles(&w, u2), Some(BTreeSet::from([supervisor])));

    // A later edit to an unknown role is reported, and u2 keeps what it has rather
    // than losing its role to a half-resolved list.
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &grant(
            &w,
            &pairing_id,
            true,
            vec![
                subject(u1, vec![by_name("Supervisor")]),
                subject(u2, vec![by_name("Supervisor"), by_name("Ghost role")]),
            ],
            vec![],
        ),
    )
    .await;
    let edited = pairing_until(
        &w.client,
        w.ns(TRUSTOR),
        GRANT,
        "RolesAssigned=False UnknownRole for the new generation",
        |p| {
            p.status.as_ref().and_then(|s| s.observed_generation) == p.metadata.generation
                && has_condition(p, "RolesAssigned", "False", "UnknownRole")
        },
    )
    .await;
    let c = condition(&edited, "RolesAssigned");
    assert!(c.message.contains("\"Ghost role\""), "{c:?}");
    assert!(!c.message.contains("\"Supervisor\""), "{c:?}");
    assert_eq!(condition(&edited, "Ready").status, "False");
    assert_eq!(held_roles(&w, u2), Some(BTreeSet::from([supervisor])));
    assert!(trust(&w).expect("the trust stays").enabled);
}

/// The divisions the simulator says trustee user `user` holds `role` in (`*`: all).
fn held_divisions(w: &World, user: Uuid, role: Uuid) -> Option<BTreeSet<String>> {
    trust(w).and_then(|t| t.users.get(&user)?.role_divisions.get(&role).cloned())
}

/// Least privilege (issue 17 item 4): a role given in one named division only, then the
/// spec changed to a division by ID and to all divisions, each given at once although
/// Genesys Cloud does not show a member's divisions; an unknown division name is a clear
/// Stalled condition that leaves the member as it is.
#[tokio::test]
async fn a_role_scoped_to_divisions_follows_the_spec() {
    let w = World::new("pair-divisions", "1h").await;
    let (acme, msp) = (w.org(TRUSTOR), w.org(TRUSTEE));
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let u1 = msp.users[0].id;
    let supervisor = role_id(&acme, "Supervisor");
    let division = |name: &str| {
        acme.divisions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.id.to_string())
            .expect("a seeded division")
    };
    let pairing_id = request_and_wait(&w, &[u1], &[]).await;
    let scoped = |divisions: &[&str]| {
        grant(
            &w,
            &pairing_id,
            true,
            vec![subject(
                u1,
                vec![RoleRef {
                    divisions: divisions.iter().map(|d| d.to_string()).collect(),
                    ..by_name("Supervisor")
                }],
            )],
            vec![],
        )
    };

    // Accepted with the role in Sales only.
    apply(&w.client, w.ns(TRUSTOR), &scoped(&["Sales"])).await;
    let granted = pairing_phase(&w.client, w.ns(TRUSTOR), GRANT, OrgPairingPhase::Authorized).await;
    assert_eq!(
        held_divisions(&w, u1, supervisor),
        Some(BTreeSet::from([division("Sales")]))
    );
    let subject_status = &status(&granted).subjects[0];
    assert_eq!(subject_status.divisions, "scoped");
    assert_eq!(
        subject_status.scoped_roles[0].division_ids,
        vec![division("Sales")]
    );

    // Support by ID as well: given again at once.
    let support = division("Support");
    apply(
        &w.client,
        w.ns(TRUSTOR),
        &scoped(&["Sales", support.as_str()]),
    )
    .await;
    eventually("Supervisor in Sales and Support", WAIT, || async {
        (held_divisions(&w, u1, supervisor)
            == Some(BTreeSet::from([division("Sales"), support.clone()])))
        .then_some(())
    })
    .await;

    // Back to all divisions.
    apply(&w.client, w.ns(TRUSTOR), &scoped(&[])).await;
    eventually("Supervisor in all divisions", WAIT, || async {
        (held_divisions(&w, u1, supervisor) == Some(BTreeSet::from(["*".to_string()])))
            .then_some(())
    })
    .await;

    // A division Acme does not have: Stalled, named, and the member left as it is.
    apply(&w.client, w.ns(TRUSTOR), &scoped(&["Nowhere"])).await;
    let blocked = pairing_until(
        &w.client,
        w.ns(TRUSTOR),
        GRANT,
        "RolesAssigned=False UnknownDivision",
        |p| has_condition(p, "RolesAssigned", "False", "UnknownDivision"),
    )
    .await;
    assert!(
        condition(&blocked, "RolesAssigned")
            .message
            .contains("no division named \"Nowhere\""),
        "{:?}",
        condition(&blocked, "RolesAssigned")
    );
    assert_eq!(condition(&blocked, "Stalled").status, "True");
    assert_eq!(
        held_divisions(&w, u1, supervisor),
        Some(BTreeSet::from(["*".to_string()]))
    );
}
