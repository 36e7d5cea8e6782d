//! The trustor side of an OrgPairing (`spec.grant`): check that the pairing comes from
//! `peer`, create the trust, converge enabled / expiry / roles, report subjects without
//! roles (`RolesAssigned=False`, reason `NoRoles`), and revoke on delete.
//!
//! Roles are the trustor's to give; membership is the trustee's to ask for (see
//! [`super::trustee`]). A trust member the grant does not list keeps no role, so it can
//! do nothing here; a grant subject the trust does not contain is reported, not added.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{Status, reasons, types};
use crate::api::orgpairing::{GrantSubject, SubjectKind, SubjectStatus};
use crate::api::{OrgPairingPhase, OrgPairingStatus, PairingGrant, PairingSide};

use super::Requeue;
use super::pairing::{PairingDecision, PairingLookup, pairing_expired};

/// The trust as the trustor sees it: `GET /orgauthorization/trustees/{peer}` with the
/// role IDs of each user and group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedTrustee {
    pub enabled: bool,
    pub expires_at: Option<Timestamp>,
    pub name: Option<String>,
    pub users: BTreeMap<String, BTreeSet<String>>,
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

/// A trustee user or group with the role IDs it should hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    pub id: String,
    pub role_ids: Vec<String>,
}

/// A call the trustor makes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrustorAction {
    /// `POST /orgauthorization/trustees`.
    CreateTrust {
        pairing_id: String,
        enabled: bool,
        expires_at: Option<Timestamp>,
        users: Vec<Member>,
        groups: Vec<Member>,
    },
    /// `PUT /trustees/{peer}` with `{enabled, dateExpired}`.
    UpdateTrust {
        enabled: bool,
        expires_at: Option<Timestamp>,
    },
    /// `PUT /trustees/{peer}/users/{id}/roles`.
    SetUserRoles(Member),
    /// `PUT /trustees/{peer}/groups/{id}/roles`.
    SetGroupRoles(Member),
    /// `DELETE /trustees/{peer}`: revoke.
    DeleteTrust,
}

impl std::fmt::Display for TrustorAction {
    /// What the call does, in the words of a condition message ("… failed: …").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustorAction::CreateTrust { pairing_id, .. } => {
                write!(f, "accepting pairing {pairing_id}")
            }
            TrustorAction::UpdateTrust { .. } => f.write_str("updating the trust"),
            TrustorAction::SetUserRoles(m) => write!(f, "setting the roles of user {}", m.id),
            TrustorAction::SetGroupRoles(m) => write!(f, "setting the roles of group {}", m.id),
            TrustorAction::DeleteTrust => f.write_str("revoking the trust"),
        }
    }
}

/// Everything the trustor decision needs.
#[derive(Clone, Debug)]
pub struct TrustorInput<'a> {
    pub grant: &'a PairingGrant,
    pub peer_org_id: &'a str,
    pub status: Option<&'a OrgPairingStatus>,
    /// `spec.grant.pairingId` looked up (only needed while there is no trust).
    pub pairing: PairingLookup,
    pub trust: Option<ObservedTrustee>,
    /// Role names used by the grant, resolved in our org: `None` for an unknown name.
    pub role_ids_by_name: &'a BTreeMap<String, Option<String>>,
    pub now: Timestamp,
}

pub type TrustorDecision = PairingDecision<TrustorAction>;

/// The role names a grant uses (for the controller to resolve).
pub fn role_names(grant: &PairingGrant) -> BTreeSet<String> {
    grant
        .users
        .iter()
        .chain(&grant.groups)
        .flat_map(|s| &s.roles)
        .filter_map(|r| r.name.clone())
        .collect()
}

/// Decides the next step for a live (not deleting) trustor-side OrgPairing.
pub fn decide(input: TrustorInput<'_>) -> TrustorDecision {
    let grant = input.grant;
    let peer = input.peer_org_id;
    let prev_phase = input.status.and_then(|s| s.phase);
    let desired = Desired::resolve(grant, input.role_ids_by_name);
    let expires_at = grant.expires_at.as_ref().map(|t| t.0);

    if expires_at.is_some_and(|e| e <= input.now) {
        let msg = "spec.grant.expiresAt has passed: the trust has ended; set a later expiresAt (or remove it) to grant access again";
        return TrustorDecision::new(
            PairingSide::Trustor,
            OrgPairingPhase::Expired,
            Requeue::Resync,
        )
        .condition(types::AUTHORIZED, Status::False, reasons::EXPIRED, msg)
        .condition(types::READY, Status::False, reasons::EXPIRED, msg);
    }

    let Some(trust) = input.trust else {
        return without_trust(&input, prev_phase, desired, expires_at);
    };

    let mut actions = Vec::new();
    if trust.enabled != grant.enabled || !same_second(trust.expires_at, expires_at) {
        actions.push(TrustorAction::UpdateTrust {
            enabled: grant.enabled,
            expires_at,
        });
    }
    let mut subjects = Vec::new();
    let mut missing = Vec::new();
    for (kind, held, wanted) in [
        (SubjectKind::User, &trust.users, &desired.users),
        (SubjectKind::Group, &trust.groups, &desired.groups),
    ] {
        for (id, held_roles) in held {
            let target = match wanted.get(id) {
                // A subject with an unknown role name is left as it is: setting only the
                // known roles could take away a role the user meant to keep.
                Some(_) if desired.unknown_for.contains(id) => held_roles.clone(),
                Some(roles) => roles.clone(),
                None => BTreeSet::new(),
            };
            if &target != held_roles {
                let m = Member {
                    id: id.clone(),
                    role_ids: target.iter().cloned().collect(),
                };
                actions.push(match kind {
                    SubjectKind::User => TrustorAction::SetUserRoles(m),
                    SubjectKind::Group => TrustorAction::SetGroupRoles(m),
                });
            }
            subjects.push(subject(kind, id, &target));
        }
        missing.extend(
            wanted
                .keys()
                .filter(|id| !held.contains_key(*id))
                .map(|id| (kind, id.clone())),
        );
    }

    let (phase, authorized) = if grant.enabled {
        let mut msg = format!("organization {peer} has access to this organization");
        if !missing.is_empty() {
            msg.push_str(&format!(
                "; not in the trust because the trustee has not asked for them: {}",
                describe(&missing)
            ));
        }
        (
            OrgPairingPhase::Authorized,
            (Status::True, reasons::AUTHORIZED, msg),
        )
    } else {
        let msg = format!(
            "access for organization {peer} is disabled by spec.grant.enabled=false; roles are kept"
        );
        (
            OrgPairingPhase::Disabled,
            (Status::False, reasons::DISABLED, msg),
        )
    };
    let mut d = TrustorDecision::new(PairingSide::Trustor, phase, Requeue::Resync).condition(
        types::AUTHORIZED,
        authorized.0,
        authorized.1,
        authorized.2,
    );
    d = roles_condition(d, &subjects, &desired);
    d = with_ready(
        d,
        format!("trust with organization {peer} matches spec.grant"),
    );
    d.actions = actions;
    d.subjects = subjects;
    d.peer_name = trust.name;
    d
}

fn without_trust(
    input: &TrustorInput<'_>,
    prev_phase: Option<OrgPairingPhase>,
    desired: Desired,
    expires_at: Option<Timestamp>,
) -> TrustorDecision {
    let peer = input.peer_org_id;
    let grant = input.grant;
    let new = |phase, reason, msg: String| {
        TrustorDecision::new(PairingSide::Trustor, phase, Requeue::Resync)
            .condition(types::AUTHORIZED, Status::False, reason, msg.clone())
            .condition(types::READY, Status::False, reason, msg)
    };
    if matches!(
        prev_phase,
        Some(OrgPairingPhase::Authorized | OrgPairingPhase::Disabled | OrgPairingPhase::Revoked)
    ) {
        return new(
            OrgPairingPhase::Revoked,
            reasons::REVOKED,
            format!(
                "the trust with organization {peer} was removed; access is revoked. A new pairing ID from the trustee is needed to grant access again"
            ),
        );
    }
    let pairing = match &input.pairing {
        PairingLookup::Found(p) => p,
        PairingLookup::NotFound | PairingLookup::NotLooked => {
            return new(
                OrgPairingPhase::Error,
                reasons::PAIRING_NOT_FOUND,
                format!(
                    "pairing {} was not found in Genesys Cloud; ask organization {peer} for a current pairing ID and set spec.grant.pairingId",
                    grant.pairing_id
                ),
            );
        }
    };
    if pairing.trustee_org_id != peer {
        return new(
            OrgPairingPhase::Error,
            reasons::PAIRING_FROM_OTHER_ORGANIZATION,
            format!(
                "pairing {} was created by organization {}, not by spec.peer.organizationId {peer}; check the pairing ID or the peer",
                pairing.id, pairing.trustee_org_id
            ),
        );
    }
    if pairing_expired(pairing.created_at, input.now) {
        return new(
            OrgPairingPhase::Expired,
            reasons::EXPIRED,
            format!(
                "pairing {} expired 48 h after it was created; ask organization {peer} for a new pairing ID",
                pairing.id
            ),
        );
    }
    if !desired.unknown.is_empty() {
        let msg = format!(
            "not accepting pairing {} yet: {}",
            pairing.id,
            unknown_roles_message(&desired.unknown)
        );
        let mut d =
            TrustorDecision::new(PairingSide::Trustor, OrgPairingPhase::Error, Requeue::Soon)
                .condition(
                    types::AUTHORIZED,
                    Status::False,
                    reasons::WAITING_FOR_CONFIRMATION,
                    msg.clone(),
                )
                .condition(
                    types::ROLES_ASSIGNED,
                    Status::False,
                    reasons::UNKNOWN_ROLE,
                    unknown_roles_message(&desired.unknown),
                )
                .condition(types::READY, Status::False, reasons::UNKNOWN_ROLE, msg);
        d.peer_name = pairing.trustee_name.clone();
        return d;
    }

    // Accept: grant every subject the pairing names, each with its roles.
    let pick =
        |wanted: &BTreeMap<String, BTreeSet<String>>, offered: &BTreeSet<String>| -> Vec<Member> {
            wanted
                .iter()
                .filter(|(id, _)| offered.contains(*id))
                .map(|(id, roles)| Member {
                    id: id.clone(),
                    role_ids: roles.iter().cloned().collect(),
                })
                .collect()
        };
    let users = pick(&desired.users, &pairing.users);
    let groups = pick(&desired.groups, &pairing.groups);
    let mut not_offered: Vec<(SubjectKind, String)> = Vec::new();
    not_offered.extend(
        desired
            .users
            .keys()
            .filter(|id| !pairing.users.contains(*id))
            .map(|id| (SubjectKind::User, id.clone())),
    );
    not_offered.extend(
        desired
            .groups
            .keys()
            .filter(|id| !pairing.groups.contains(*id))
            .map(|id| (SubjectKind::Group, id.clone())),
    );
    if users.is_empty() && groups.is_empty() {
        // Stalled: only a change to spec.grant (or a new pairing) moves this on.
        let mut d = new(
            OrgPairingPhase::Error,
            reasons::WAITING_FOR_CONFIRMATION,
            format!(
                "none of the users and groups in spec.grant are named by pairing {}: {}; list the trustee's users and groups from the pairing",
                pairing.id,
                describe(&not_offered)
            ),
        );
        d.conditions = super::health::with_stalled(&d.conditions);
        return d;
    }
    let subjects: Vec<SubjectStatus> = users
        .iter()
        .map(|m| {
            subject(
                SubjectKind::User,
                &m.id,
                &m.role_ids.iter().cloned().collect(),
            )
        })
        .chain(groups.iter().map(|m| {
            subject(
                SubjectKind::Group,
                &m.id,
                &m.role_ids.iter().cloned().collect(),
            )
        }))
        .collect();
    let (phase, status, reason) = if grant.enabled {
        (
            OrgPairingPhase::Authorized,
            Status::True,
            reasons::AUTHORIZED,
        )
    } else {
        (OrgPairingPhase::Disabled, Status::False, reasons::DISABLED)
    };
    let mut msg = format!("accepted pairing {} from organization {peer}", pairing.id);
    if !not_offered.is_empty() {
        msg.push_str(&format!(
            "; not named by the pairing, so not granted: {}",
            describe(&not_offered)
        ));
    }
    let mut d = TrustorDecision::new(PairingSide::Trustor, phase, Requeue::Soon).condition(
        types::AUTHORIZED,
        status,
        reason,
        msg,
    );
    d = roles_condition(d, &subjects, &desired);
    d = with_ready(d, "trust created as spec.grant asks".to_string());
    d.actions = vec![TrustorAction::CreateTrust {
        pairing_id: grant.pairing_id.clone(),
        enabled: grant.enabled,
        expires_at,
        users,
        groups,
    }];
    d.subjects = subjects;
    d.peer_name = pairing.trustee_name.clone();
    d
}

/// What deleting a trustor-side OrgPairing must do: delete the trust, unless `orphan`.
pub fn decide_deletion(trust_exists: bool, orphan: bool) -> Vec<TrustorAction> {
    if trust_exists && !orphan {
        vec![TrustorAction::DeleteTrust]
    } else {
        vec![]
    }
}

/// The grant with role names resolved to IDs.
struct Desired {
    users: BTreeMap<String, BTreeSet<String>>,
    groups: BTreeMap<String, BTreeSet<String>>,
    /// Role names that do not exist in our org.
    unknown: BTreeSet<String>,
    /// Subjects that reference an unknown role name.
    unknown_for: BTreeSet<String>,
}

impl Desired {
    fn resolve(grant: &PairingGrant, by_name: &BTreeMap<String, Option<String>>) -> Desired {
        let mut unknown = BTreeSet::new();
        let mut unknown_for = BTreeSet::new();
        let mut resolve_all = |subjects: &[GrantSubject]| {
            subjects
                .iter()
                .map(|s| {
                    let mut ids = BTreeSet::new();
                    for r in &s.roles {
                        match (&r.id, &r.name) {
                            (Some(id), _) => {
                                ids.insert(id.clone());
                            }
                            (None, Some(name)) => match by_name.get(name).cloned().flatten() {
                                Some(id) => {
                                    ids.insert(id);
                                }
                                None => {
                                    unknown.insert(name.clone());
                                    unknown_for.insert(s.id.clone());
                                }
                            },
                            (None, None) => {}
                        }
                    }
                    (s.id.clone(), ids)
                })
                .collect::<BTreeMap<_, _>>()
        };
        let users = resolve_all(&grant.users);
        let groups = resolve_all(&grant.groups);
        Desired {
            users,
            groups,
            unknown,
            unknown_for,
        }
    }
}

fn subject(kind: SubjectKind, id: &str, roles: &BTreeSet<String>) -> SubjectStatus {
    SubjectStatus {
        kind,
        id: id.to_string(),
        roles: roles.iter().cloned().collect(),
        divisions: "all".to_string(),
    }
}

fn roles_condition(
    d: TrustorDecision,
    subjects: &[SubjectStatus],
    desired: &Desired,
) -> TrustorDecision {
    if !desired.unknown.is_empty() {
        return d.condition(
            types::ROLES_ASSIGNED,
            Status::False,
            reasons::UNKNOWN_ROLE,
            unknown_roles_message(&desired.unknown),
        );
    }
    let without: Vec<(SubjectKind, String)> = subjects
        .iter()
        .filter(|s| s.roles.is_empty())
        .map(|s| (s.kind, s.id.clone()))
        .collect();
    if without.is_empty() {
        d.condition(
            types::ROLES_ASSIGNED,
            Status::True,
            reasons::ROLES_ASSIGNED,
            format!(
                "all {} trustee users and groups hold at least one role",
                subjects.len()
            ),
        )
    } else {
        d.condition(
            types::ROLES_ASSIGNED,
            Status::False,
            reasons::NO_ROLES,
            format!(
                "no role, so they can do nothing in this organization: {}; add roles in spec.grant",
                describe(&without)
            ),
        )
    }
}

/// `Ready`: the trust matches the grant. Subjects without roles are what the grant asks
/// for (flagged by `RolesAssigned`), so only an unknown role name makes it False.
fn with_ready(d: TrustorDecision, ok_message: String) -> TrustorDecision {
    let unknown = d
        .conditions
        .iter()
        .any(|c| c.type_ == types::ROLES_ASSIGNED && c.reason == reasons::UNKNOWN_ROLE);
    if unknown {
        d.condition(
            types::READY,
            Status::False,
            reasons::UNKNOWN_ROLE,
            "spec.grant names a role that does not exist; see the RolesAssigned condition",
        )
    } else {
        d.condition(types::READY, Status::True, reasons::UP_TO_DATE, ok_message)
    }
}

fn unknown_roles_message(unknown: &BTreeSet<String>) -> String {
    let names: Vec<String> = unknown.iter().map(|n| format!("{n:?}")).collect();
    format!(
        "no role named {} exists in this organization; fix the name in spec.grant or use {{id: <role id>}}",
        names.join(", ")
    )
}

fn describe(subjects: &[(SubjectKind, String)]) -> String {
    subjects
        .iter()
        .map(|(k, id)| format!("{k:?} {id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Genesys stores dates to the second or millisecond; compare at the second.
fn same_second(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    a.map(|t| t.as_second()) == b.map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::DesiredCondition;
    use crate::lifecycle::testkit::*;
    use TrustorAction::*;

    fn decide_with(
        g: &PairingGrant,
        prev: Option<OrgPairingStatus>,
        pairing: PairingLookup,
        trust: Option<ObservedTrustee>,
        now: Timestamp,
    ) -> TrustorDecision {
        let roles = roles();
        decide(TrustorInput {
            grant: g,
            peer_org_id: TRUSTEE,
            status: prev.as_ref(),
            pairing,
            trust,
            role_ids_by_name: &roles,
            now,
        })
    }

    fn cond<'a>(d: &'a TrustorDecision, t: &str) -> &'a DesiredCondition {
        d.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    fn prev(phase: OrgPairingPhase) -> Option<OrgPairingStatus> {
        Some(OrgPairingStatus {
            phase: Some(phase),
            ..Default::default()
        })
    }

    fn held(users: &[(&str, &[&str])], enabled: bool) -> ObservedTrustee {
        ObservedTrustee {
            enabled,
            expires_at: None,
            name: Some("MSP Prod".into()),
            users: users
                .iter()
                .map(|(id, r)| (id.to_string(), set(r)))
                .collect(),
            groups: BTreeMap::new(),
        }
    }

    #[test]
    fn accepts_a_pairing_from_the_peer_with_roles_by_name_and_id() {
        let g = grant(
            vec![grant_subject(
                U1,
                vec![by_name("Supervisor"), by_id(ARCHITECT_ID)],
            )],
            vec![grant_subject(G1, vec![by_name("Architect access")])],
        );
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[G1]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        assert_eq!(
            d.actions,
            vec![CreateTrust {
                pairing_id: "p-1".into(),
                enabled: true,
                expires_at: None,
                users: vec![Member {
                    id: U1.into(),
                    role_ids: vec![SUPERVISOR_ID.into(), ARCHITECT_ID.into()]
                }],
                groups: vec![Member {
                    id: G1.into(),
                    role_ids: vec![ARCHITECT_ID.into()]
                }],
            }]
        );
        assert_eq!(d.phase, OrgPairingPhase::Authorized);
        assert_eq!(cond(&d, types::ROLES_ASSIGNED).status, Status::True);
        assert_eq!(cond(&d, types::READY).status, Status::True);
        assert_eq!(d.subjects.len(), 2);
        assert_eq!(d.subjects[0].divisions, "all");
        assert_eq!(d.peer_name.as_deref(), Some("MSP Prod"));
    }

    #[test]
    fn refuses_a_pairing_from_another_org() {
        let g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        let other = "c5d2e8f1-7a3b-4c6d-9e0f-1a2b3c4d5e6f";
        let p = pairing("p-1", other, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        assert!(d.actions.is_empty());
        assert_eq!(
            cond(&d, types::AUTHORIZED).reason,
            reasons::PAIRING_FROM_OTHER_ORGANIZATION
        );
        assert!(cond(&d, types::AUTHORIZED).message.contains(other));
    }

    #[test]
    fn missing_and_expired_pairings_are_reported() {
        let g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        let d = decide_with(&g, None, PairingLookup::NotFound, None, t(1));
        assert!(d.actions.is_empty());
        assert_eq!(
            cond(&d, types::AUTHORIZED).reason,
            reasons::PAIRING_NOT_FOUND
        );
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(49));
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, OrgPairingPhase::Expired);
        assert_eq!(cond(&d, types::AUTHORIZED).reason, reasons::EXPIRED);
    }

    /// A grant none of whose subjects the pairing names is stuck until spec.grant
    /// changes: Stalled, although its reason (WaitingForConfirmation) alone reads
    /// InProgress.
    #[test]
    fn a_grant_naming_none_of_the_pairings_subjects_is_stalled() {
        let g = grant(vec![grant_subject(U2, vec![by_name("Supervisor")])], vec![]);
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, OrgPairingPhase::Error);
        assert_eq!(cond(&d, types::STALLED).status, Status::True);
        assert_eq!(cond(&d, types::RECONCILING).status, Status::False);
        let s = super::super::pairing::next_status(None, &d, Default::default(), Some(1), t(1));
        let stalled: Vec<_> = s
            .conditions
            .iter()
            .filter(|c| c.type_ == types::STALLED)
            .collect();
        assert_eq!(stalled.len(), 1);
        assert_eq!(stalled[0].status, "True");
    }

    #[test]
    fn an_unknown_role_name_blocks_acceptance_and_is_named() {
        let g = grant(vec![grant_subject(U1, vec![by_name("Supervisr")])], vec![]);
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        assert!(d.actions.is_empty());
        let c = cond(&d, types::ROLES_ASSIGNED);
        assert_eq!((c.status, c.reason), (Status::False, reasons::UNKNOWN_ROLE));
        assert!(c.message.contains("\"Supervisr\""), "{}", c.message);
        assert_eq!(cond(&d, types::READY).status, Status::False);
    }

    #[test]
    fn subjects_without_roles_are_named_by_no_roles() {
        let g = grant(
            vec![
                grant_subject(U1, vec![by_name("Supervisor")]),
                grant_subject(U2, vec![]),
            ],
            vec![],
        );
        let p = pairing("p-1", TRUSTEE, t(0), &[U1, U2], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        assert_eq!(d.actions.len(), 1);
        let c = cond(&d, types::ROLES_ASSIGNED);
        assert_eq!((c.status, c.reason), (Status::False, reasons::NO_ROLES));
        assert!(
            c.message.contains(U2) && !c.message.contains(U1),
            "{}",
            c.message
        );
        assert_eq!(
            cond(&d, types::READY).status,
            Status::True,
            "what the grant asks for"
        );
    }

    #[test]
    fn drift_in_roles_is_put_back_and_unlisted_members_lose_their_roles() {
        let g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        let trust = held(&[(U1, &[]), (U3, &[ARCHITECT_ID])], true);
        let d = decide_with(
            &g,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::NotLooked,
            Some(trust),
            t(5),
        );
        assert_eq!(
            d.actions,
            vec![
                SetUserRoles(Member {
                    id: U1.into(),
                    role_ids: vec![SUPERVISOR_ID.into()]
                }),
                SetUserRoles(Member {
                    id: U3.into(),
                    role_ids: vec![]
                }),
            ]
        );
        let c = cond(&d, types::ROLES_ASSIGNED);
        assert_eq!(c.reason, reasons::NO_ROLES);
        assert!(c.message.contains(U3));
    }

    #[test]
    fn enabled_and_expiry_converge() {
        let mut g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        g.enabled = false;
        let trust = held(&[(U1, &[SUPERVISOR_ID])], true);
        let d = decide_with(
            &g,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::NotLooked,
            Some(trust),
            t(5),
        );
        assert_eq!(
            d.actions,
            vec![UpdateTrust {
                enabled: false,
                expires_at: None
            }]
        );
        assert_eq!(d.phase, OrgPairingPhase::Disabled);
        assert_eq!(cond(&d, types::AUTHORIZED).reason, reasons::DISABLED);
        assert_eq!(
            cond(&d, types::ROLES_ASSIGNED).status,
            Status::True,
            "disabling keeps roles"
        );
    }

    #[test]
    fn a_grant_past_its_expiry_is_expired() {
        let mut g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        g.expires_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t(2)));
        let d = decide_with(
            &g,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::NotLooked,
            Some(held(&[(U1, &[SUPERVISOR_ID])], true)),
            t(3),
        );
        assert_eq!(d.phase, OrgPairingPhase::Expired);
        assert!(d.actions.is_empty());
    }

    #[test]
    fn a_trust_removed_by_the_trustee_is_revoked_not_recreated() {
        let g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(
            &g,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::Found(p),
            None,
            t(2),
        );
        assert_eq!(d.phase, OrgPairingPhase::Revoked);
        assert!(d.actions.is_empty());
    }

    #[test]
    fn subjects_the_pairing_does_not_name_are_left_out_and_reported() {
        let g = grant(
            vec![
                grant_subject(U1, vec![by_name("Supervisor")]),
                grant_subject(U3, vec![by_name("Supervisor")]),
            ],
            vec![],
        );
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        let TrustorAction::CreateTrust { users, .. } = &d.actions[0] else {
            panic!("{:?}", d.actions)
        };
        assert_eq!(
            users.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            vec![U1]
        );
        assert!(cond(&d, types::AUTHORIZED).message.contains(U3));
    }

    #[test]
    fn role_names_lists_each_name_once() {
        let g = grant(
            vec![grant_subject(
                U1,
                vec![by_name("Supervisor"), by_id(ARCHITECT_ID)],
            )],
            vec![grant_subject(G1, vec![by_name("Supervisor")])],
        );
        assert_eq!(role_names(&g), set(&["Supervisor"]));
    }

    #[test]
    fn actions_read_as_words_not_as_debug() {
        let member = Member {
            id: "u1".into(),
            role_ids: vec![],
        };
        for (action, text) in [
            (
                CreateTrust {
                    pairing_id: "p1".into(),
                    enabled: true,
                    expires_at: None,
                    users: vec![],
                    groups: vec![],
                },
                "accepting pairing p1",
            ),
            (
                UpdateTrust {
                    enabled: false,
                    expires_at: None,
                },
                "updating the trust",
            ),
            (SetUserRoles(member.clone()), "setting the roles of user u1"),
            (SetGroupRoles(member), "setting the roles of group u1"),
            (DeleteTrust, "revoking the trust"),
        ] {
            assert_eq!(action.to_string(), text);
        }
    }
}
