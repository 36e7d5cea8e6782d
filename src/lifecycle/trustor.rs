//! The trustor side of an OrgPairing (`spec.grant`): check that the pairing comes from
//! `peer`, create the trust, converge enabled / expiry / roles, report subjects without
//! roles (`RolesAssigned=False`, reason `NoRoles`), and revoke on delete.
//!
//! Roles are the trustor's to give; membership is the trustee's to ask for (see
//! [`super::trustee`]). A trust member the grant does not list keeps no role, so it can
//! do nothing here; a grant subject the trust does not contain is reported, not added.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;

use crate::api::common::is_canonical_uuid;
use crate::api::conditions::{Status, reasons, types};
use crate::api::orgpairing::{RoleRef, ScopedRole, SubjectKind, SubjectStatus};
use crate::api::{OrgPairingPhase, OrgPairingStatus, PairingGrant, PairingSide};

use super::Requeue;
use super::pairing::{ObservedPairing, PairingDecision, PairingLookup, pairing_expired};

/// The trust as the trustor sees it: `GET /orgauthorization/trustees/{peer}` with the
/// role IDs of each user and group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ObservedTrustee {
    pub(crate) enabled: bool,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) name: Option<String>,
    pub(crate) users: BTreeMap<String, BTreeSet<String>>,
    pub(crate) groups: BTreeMap<String, BTreeSet<String>>,
}

/// A trustee user or group with the role IDs it should hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) role_ids: Vec<String>,
    /// The roles of `role_ids` given in some divisions only: role ID → division IDs.
    /// The others are given in all divisions.
    pub(crate) scoped: BTreeMap<String, BTreeSet<String>>,
}

/// Roles given in some divisions only: role ID → division IDs.
pub(crate) type Scoped = BTreeMap<String, BTreeSet<String>>;

/// The divisions value meaning all divisions (Genesys Cloud's `*`).
pub(crate) use crate::genesys::ALL_DIVISIONS;

/// A call the trustor makes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TrustorAction {
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
pub(crate) struct TrustorInput<'a> {
    pub(crate) grant: &'a PairingGrant,
    pub(crate) peer_org_id: &'a str,
    pub(crate) status: Option<&'a OrgPairingStatus>,
    /// Which pairing ID to accept ([`pairing_id_source`]).
    pub(crate) pairing_id: PairingIdSource,
    /// That pairing ID looked up (only needed while there is no trust).
    pub(crate) pairing: PairingLookup,
    pub(crate) trust: Option<ObservedTrustee>,
    /// Role names used by the grant, resolved in our org: `None` for an unknown name.
    pub(crate) role_ids_by_name: &'a BTreeMap<String, Option<String>>,
    /// Division names used by the grant, resolved in our org: `None` for an unknown name.
    pub(crate) division_ids_by_name: &'a BTreeMap<String, Option<String>>,
    pub(crate) now: Timestamp,
}

pub(crate) type TrustorDecision = PairingDecision<TrustorAction>;

/// The role names a grant uses (for the controller to resolve).
pub(crate) fn role_names(grant: &PairingGrant) -> BTreeSet<String> {
    grant
        .users
        .iter()
        .chain(&grant.groups)
        .flat_map(|s| &s.roles)
        .filter_map(|r| r.name.clone())
        .collect()
}

/// The division names a grant uses (for the controller to resolve): every `divisions`
/// entry that is neither a division ID nor `*`.
pub(crate) fn division_names(grant: &PairingGrant) -> BTreeSet<String> {
    grant
        .users
        .iter()
        .chain(&grant.groups)
        .flat_map(|s| &s.roles)
        .flat_map(|r| &r.divisions)
        .filter(|d| d.as_str() != ALL_DIVISIONS && !is_canonical_uuid(d))
        .cloned()
        .collect()
}

/// Where the pairing ID a trustor accepts comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PairingIdSource {
    /// `spec.grant.pairingId`.
    Spec(String),
    /// `status.pairingId` of the trustee's OrgPairing `from` (namespace/name) in this
    /// cluster, for a grant without `pairingId`.
    Cluster { id: String, from: String },
    /// A grant without `pairingId`, and no trustee OrgPairing of this cluster with a
    /// pairing ID names us.
    NotInCluster,
}

impl PairingIdSource {
    /// The ID to look up, if any.
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            Self::Spec(id) | Self::Cluster { id, .. } => Some(id),
            Self::NotInCluster => None,
        }
    }
}

/// A trustee-side OrgPairing of this cluster, as [`pairing_id_source`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalRequest {
    /// namespace/name.
    pub(crate) key: String,
    /// `metadata.creationTimestamp`.
    pub(crate) created: Option<Timestamp>,
    /// `spec.peer.organizationId`: whom it asks for access.
    pub(crate) asks: String,
    /// `status.organizationId` of its Organization: who asks (None: not connected yet).
    pub(crate) asker: Option<String>,
    /// `status.pairingId`.
    pub(crate) pairing_id: Option<String>,
}

/// The pairing ID a grant accepts: `spec.grant.pairingId` when set; else, as for links,
/// mutual naming is the consent: the `status.pairingId` of the trustee-side OrgPairing
/// of this cluster whose Organization is our `peer` and that asks `us` for access (the
/// oldest, then by name, when several do; the webhook allows one per side and peer).
/// The trustee renews an unaccepted pairing every 48 h, so this is read again on every
/// reconcile.
pub(crate) fn pairing_id_source(
    grant: &PairingGrant,
    us: &str,
    peer: &str,
    requests: &[LocalRequest],
) -> PairingIdSource {
    if let Some(id) = grant.pairing_id.as_ref().filter(|id| !id.is_empty()) {
        return PairingIdSource::Spec(id.clone());
    }
    requests
        .iter()
        .filter(|r| r.asks == us && r.asker.as_deref() == Some(peer))
        .filter_map(|r| {
            let id = r.pairing_id.clone().filter(|id| !id.is_empty())?;
            Some((r.created, r.key.clone(), id))
        })
        .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))
        .map_or(PairingIdSource::NotInCluster, |(_, from, id)| {
            PairingIdSource::Cluster { id, from }
        })
}

/// Decides the next step for a live (not deleting) trustor-side OrgPairing.
pub(crate) fn decide(input: TrustorInput<'_>) -> TrustorDecision {
    let grant = input.grant;
    let peer = input.peer_org_id;
    let prev_phase = input.status.and_then(|s| s.phase);
    let desired = Desired::resolve(grant, input.role_ids_by_name, input.division_ids_by_name);
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
    let recorded = recorded_scopes(input.status);
    for (kind, held, wanted) in [
        (SubjectKind::User, &trust.users, &desired.users),
        (SubjectKind::Group, &trust.groups, &desired.groups),
    ] {
        for (id, held_roles) in held {
            let given = recorded
                .get(&(kind, id.clone()))
                .cloned()
                .unwrap_or_default();
            let (target, scoped) = match wanted.get(id) {
                // A subject with an unknown role or division name is left as it is:
                // setting only the known roles could take away a role the user meant
                // to keep.
                Some(_) if desired.unknown_for.contains(id) => (held_roles.clone(), given.clone()),
                Some(roles) => (roles.clone(), desired.scoped_of(kind, id)),
                None => (BTreeSet::new(), Scoped::new()),
            };
            // The divisions cannot be read back: what the status says was given stands
            // for them, so a change in the spec is given again.
            if &target != held_roles || scoped != given {
                let m = Member {
                    id: id.clone(),
                    role_ids: target.iter().cloned().collect(),
                    scoped: scoped.clone(),
                };
                actions.push(match kind {
                    SubjectKind::User => TrustorAction::SetUserRoles(m),
                    SubjectKind::Group => TrustorAction::SetGroupRoles(m),
                });
            }
            subjects.push(subject(kind, id, &target, &scoped));
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
    match pairing_to_accept(input, prev_phase, &desired) {
        Ok((pairing_id, pairing)) => accept(input, pairing_id, pairing, &desired, expires_at),
        Err(d) => *d,
    }
}

/// A decision that grants nothing: `Authorized` and `Ready` False with `reason`.
fn not_granted(phase: OrgPairingPhase, reason: &'static str, msg: String) -> TrustorDecision {
    TrustorDecision::new(PairingSide::Trustor, phase, Requeue::Resync)
        .condition(types::AUTHORIZED, Status::False, reason, msg.clone())
        .condition(types::READY, Status::False, reason, msg)
}

/// The pairing to accept (its ID and what Genesys shows of it), or the decision that
/// says why there is none yet: the trust was removed (revoked), the ID is not known, the
/// pairing is missing, another org's, expired, or a role of the grant is unknown.
fn pairing_to_accept<'i>(
    input: &'i TrustorInput<'_>,
    prev_phase: Option<OrgPairingPhase>,
    desired: &Desired,
) -> Result<(&'i str, &'i ObservedPairing), Box<TrustorDecision>> {
    let peer = input.peer_org_id;
    let new = |phase, reason, msg| Box::new(not_granted(phase, reason, msg));
    if matches!(
        prev_phase,
        Some(OrgPairingPhase::Authorized | OrgPairingPhase::Disabled | OrgPairingPhase::Revoked)
    ) {
        return Err(new(
            OrgPairingPhase::Revoked,
            reasons::REVOKED,
            format!(
                "the trust with organization {peer} was removed; access is revoked. A new pairing ID from the trustee is needed to grant access again"
            ),
        ));
    }
    // A grant without pairingId waits, Reconciling, for the trustee's OrgPairing in this
    // cluster to have a current pairing: it may be applied later in the same sync, and it
    // renews an expired pairing by itself.
    let waiting = |msg: String| {
        let d = TrustorDecision::new(
            PairingSide::Trustor,
            OrgPairingPhase::WaitingForConfirmation,
            Requeue::Soon,
        )
        .condition(
            types::AUTHORIZED,
            Status::False,
            reasons::WAITING_FOR_CONFIRMATION,
            msg.clone(),
        )
        .condition(
            types::READY,
            Status::False,
            reasons::WAITING_FOR_CONFIRMATION,
            msg,
        );
        Box::new(d)
    };
    let (pairing_id, from) = match &input.pairing_id {
        PairingIdSource::Spec(id) => (id.as_str(), None),
        PairingIdSource::Cluster { id, from } => (id.as_str(), Some(from.as_str())),
        PairingIdSource::NotInCluster => {
            return Err(waiting(format!(
                "spec.grant.pairingId is omitted and no OrgPairing in this cluster requests access from us for organization {peer} yet (spec.request, spec.peer naming our organization, its Organization being {peer}, with a status.pairingId); create it there, or set spec.grant.pairingId to the pairing ID the trustee hands over"
            )));
        }
    };
    let pairing = match (&input.pairing, from) {
        (PairingLookup::Found(p), _) => p,
        (PairingLookup::NotFound | PairingLookup::NotLooked, Some(from)) => {
            return Err(waiting(format!(
                "pairing {pairing_id} of OrgPairing {from} is not in Genesys Cloud (any more); waiting for that OrgPairing to show its new pairing"
            )));
        }
        (PairingLookup::NotFound | PairingLookup::NotLooked, None) => {
            return Err(new(
                OrgPairingPhase::Error,
                reasons::PAIRING_NOT_FOUND,
                format!(
                    "pairing {pairing_id} was not found in Genesys Cloud; ask organization {peer} for a current pairing ID and set spec.grant.pairingId"
                ),
            ));
        }
    };
    if pairing.trustee_org_id != peer {
        return Err(new(
            OrgPairingPhase::Error,
            reasons::PAIRING_FROM_OTHER_ORGANIZATION,
            format!(
                "pairing {} was created by organization {}, not by spec.peer.organizationId {peer}; check the pairing ID or the peer",
                pairing.id, pairing.trustee_org_id
            ),
        ));
    }
    if pairing_expired(pairing.created_at, input.now)
        && let Some(from) = from
    {
        return Err(waiting(format!(
            "pairing {} of OrgPairing {from} expired 48 h after it was created; waiting for that OrgPairing to renew it",
            pairing.id
        )));
    }
    if pairing_expired(pairing.created_at, input.now) {
        return Err(new(
            OrgPairingPhase::Expired,
            reasons::EXPIRED,
            format!(
                "pairing {} expired 48 h after it was created; ask organization {peer} for a new pairing ID",
                pairing.id
            ),
        ));
    }
    if desired.has_unknown() {
        let (reason, why) = desired.unknown_reason();
        let msg = format!("not accepting pairing {} yet: {why}", pairing.id);
        let mut d =
            TrustorDecision::new(PairingSide::Trustor, OrgPairingPhase::Error, Requeue::Soon)
                .condition(
                    types::AUTHORIZED,
                    Status::False,
                    reasons::WAITING_FOR_CONFIRMATION,
                    msg.clone(),
                )
                .condition(types::ROLES_ASSIGNED, Status::False, reason, why)
                .condition(types::READY, Status::False, reason, msg);
        d.peer_name = pairing.trustee_name.clone();
        return Err(Box::new(d));
    }
    Ok((pairing_id, pairing))
}

/// Accepts `pairing`: the trust, with every subject of the grant the pairing names and
/// its roles; the others are named in the message, and a grant that names none of them
/// is stalled.
fn accept(
    input: &TrustorInput<'_>,
    pairing_id: &str,
    pairing: &ObservedPairing,
    desired: &Desired,
    expires_at: Option<Timestamp>,
) -> TrustorDecision {
    let peer = input.peer_org_id;
    let grant = input.grant;
    let pick = |kind: SubjectKind,
                wanted: &BTreeMap<String, BTreeSet<String>>,
                offered: &BTreeSet<String>|
     -> Vec<Member> {
        wanted
            .iter()
            .filter(|(id, _)| offered.contains(*id))
            .map(|(id, roles)| Member {
                id: id.clone(),
                role_ids: roles.iter().cloned().collect(),
                scoped: desired.scoped_of(kind, id),
            })
            .collect()
    };
    let users = pick(SubjectKind::User, &desired.users, &pairing.users);
    let groups = pick(SubjectKind::Group, &desired.groups, &pairing.groups);
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
        let mut d = not_granted(
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
    let member = |kind, m: &Member| {
        subject(
            kind,
            &m.id,
            &m.role_ids.iter().cloned().collect(),
            &m.scoped,
        )
    };
    let subjects: Vec<SubjectStatus> = users
        .iter()
        .map(|m| member(SubjectKind::User, m))
        .chain(groups.iter().map(|m| member(SubjectKind::Group, m)))
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
    d = roles_condition(d, &subjects, desired);
    d = with_ready(d, "trust created as spec.grant asks".to_string());
    d.actions = vec![TrustorAction::CreateTrust {
        pairing_id: pairing_id.to_string(),
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
pub(crate) fn decide_deletion(trust_exists: bool, orphan: bool) -> Vec<TrustorAction> {
    if trust_exists && !orphan {
        vec![TrustorAction::DeleteTrust]
    } else {
        vec![]
    }
}

/// The grant with role and division names resolved to IDs.
struct Desired {
    users: BTreeMap<String, BTreeSet<String>>,
    groups: BTreeMap<String, BTreeSet<String>>,
    /// The roles each subject gets in some divisions only.
    scoped: BTreeMap<(SubjectKind, String), Scoped>,
    /// Role names that do not exist in our org.
    unknown: BTreeSet<String>,
    /// Division names that do not exist in our org.
    unknown_divisions: BTreeSet<String>,
    /// Subjects that reference an unknown role or division name.
    unknown_for: BTreeSet<String>,
}

impl Desired {
    fn resolve(
        grant: &PairingGrant,
        roles_by_name: &BTreeMap<String, Option<String>>,
        divisions_by_name: &BTreeMap<String, Option<String>>,
    ) -> Desired {
        let mut d = Desired {
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            scoped: BTreeMap::new(),
            unknown: BTreeSet::new(),
            unknown_divisions: BTreeSet::new(),
            unknown_for: BTreeSet::new(),
        };
        // Subjects named by email or name were given their IDs by
        // `subjects::resolve_grant` before the decision; one still without is skipped.
        for (kind, subjects) in [
            (SubjectKind::User, &grant.users),
            (SubjectKind::Group, &grant.groups),
        ] {
            for s in subjects {
                let Some(sid) = s.id.clone() else { continue };
                let (roles, scoped) =
                    d.resolve_roles(&sid, &s.roles, roles_by_name, divisions_by_name);
                if !scoped.is_empty() {
                    d.scoped.insert((kind, sid.clone()), scoped);
                }
                match kind {
                    SubjectKind::User => d.users.insert(sid, roles),
                    SubjectKind::Group => d.groups.insert(sid, roles),
                };
            }
        }
        d
    }

    /// The role IDs of one subject `sid`, and those of them given in some divisions
    /// only. A role named twice, once in all divisions, is given in all.
    fn resolve_roles(
        &mut self,
        sid: &str,
        refs: &[RoleRef],
        roles_by_name: &BTreeMap<String, Option<String>>,
        divisions_by_name: &BTreeMap<String, Option<String>>,
    ) -> (BTreeSet<String>, Scoped) {
        let mut ids = BTreeSet::new();
        let mut everywhere = BTreeSet::new();
        let mut scoped = Scoped::new();
        for r in refs {
            let id = match (&r.id, &r.name) {
                (Some(id), _) => Some(id.clone()),
                (None, Some(name)) => {
                    let id = roles_by_name.get(name).cloned().flatten();
                    if id.is_none() {
                        self.unknown.insert(name.clone());
                        self.unknown_for.insert(sid.to_string());
                    }
                    id
                }
                (None, None) => None,
            };
            let divisions = self.resolve_divisions(sid, &r.divisions, divisions_by_name);
            let Some(id) = id else { continue };
            ids.insert(id.clone());
            match divisions {
                None => {
                    everywhere.insert(id);
                }
                Some(divisions) => scoped.entry(id).or_default().extend(divisions),
            }
        }
        scoped.retain(|role, _| !everywhere.contains(role));
        (ids, scoped)
    }

    /// The division IDs of a role's `divisions`, or `None` for all divisions (none
    /// named, or `*` among them). Names are resolved; an unknown one is recorded.
    fn resolve_divisions(
        &mut self,
        sid: &str,
        divisions: &[String],
        divisions_by_name: &BTreeMap<String, Option<String>>,
    ) -> Option<BTreeSet<String>> {
        if divisions.is_empty() || divisions.iter().any(|d| d == ALL_DIVISIONS) {
            return None;
        }
        let mut ids = BTreeSet::new();
        for d in divisions {
            if is_canonical_uuid(d) {
                ids.insert(d.clone());
            } else if let Some(id) = divisions_by_name.get(d).cloned().flatten() {
                ids.insert(id);
            } else {
                self.unknown_divisions.insert(d.clone());
                self.unknown_for.insert(sid.to_string());
            }
        }
        Some(ids)
    }

    /// The roles `(kind, id)` gets in some divisions only.
    fn scoped_of(&self, kind: SubjectKind, id: &str) -> Scoped {
        self.scoped
            .get(&(kind, id.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// True when a role or division name is unknown (the grant cannot be given as
    /// written).
    fn has_unknown(&self) -> bool {
        !self.unknown.is_empty() || !self.unknown_divisions.is_empty()
    }

    /// The reason and message of [`Desired::has_unknown`].
    fn unknown_reason(&self) -> (&'static str, String) {
        let mut parts = Vec::new();
        if !self.unknown.is_empty() {
            parts.push(unknown_roles_message(&self.unknown));
        }
        if !self.unknown_divisions.is_empty() {
            let names: Vec<String> = self
                .unknown_divisions
                .iter()
                .map(|n| format!("{n:?}"))
                .collect();
            parts.push(format!(
                "no division named {} exists in this organization; fix the name in spec.grant or use the division ID",
                names.join(", ")
            ));
        }
        let reason = if self.unknown.is_empty() {
            reasons::UNKNOWN_DIVISION
        } else {
            reasons::UNKNOWN_ROLE
        };
        (reason, parts.join("; "))
    }
}

/// The roles in some divisions only that the status records for each subject (what
/// the operator last gave: Genesys Cloud does not show a member's divisions).
fn recorded_scopes(status: Option<&OrgPairingStatus>) -> BTreeMap<(SubjectKind, String), Scoped> {
    status
        .map(|s| s.subjects.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|s| !s.scoped_roles.is_empty())
        .map(|s| {
            let scoped = s
                .scoped_roles
                .iter()
                .map(|r| (r.role_id.clone(), r.division_ids.iter().cloned().collect()))
                .collect();
            ((s.kind, s.id.clone()), scoped)
        })
        .collect()
}

fn subject(
    kind: SubjectKind,
    id: &str,
    roles: &BTreeSet<String>,
    scoped: &Scoped,
) -> SubjectStatus {
    SubjectStatus {
        kind,
        id: id.to_string(),
        roles: roles.iter().cloned().collect(),
        divisions: if scoped.is_empty() { "all" } else { "scoped" }.to_string(),
        scoped_roles: scoped
            .iter()
            .map(|(role, divisions)| ScopedRole {
                role_id: role.clone(),
                division_ids: divisions.iter().cloned().collect(),
            })
            .collect(),
    }
}

fn roles_condition(
    d: TrustorDecision,
    subjects: &[SubjectStatus],
    desired: &Desired,
) -> TrustorDecision {
    if desired.has_unknown() {
        let (reason, message) = desired.unknown_reason();
        return d.condition(types::ROLES_ASSIGNED, Status::False, reason, message);
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
    let unknown = d.conditions.iter().find(|c| {
        c.type_ == types::ROLES_ASSIGNED
            && matches!(c.reason, reasons::UNKNOWN_ROLE | reasons::UNKNOWN_DIVISION)
    });
    if let Some(reason) = unknown.map(|c| c.reason) {
        let what = if reason == reasons::UNKNOWN_ROLE {
            "role"
        } else {
            "division"
        };
        d.condition(
            types::READY,
            Status::False,
            reason,
            format!(
                "spec.grant names a {what} that does not exist; see the RolesAssigned condition"
            ),
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
        .map(|(k, id)| format!("{} {id}", k.as_str()))
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
            pairing_id: pairing_id_source(g, TRUSTOR, TRUSTEE, &[]),
            pairing,
            trust,
            role_ids_by_name: &roles,
            division_ids_by_name: &divisions(),
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

    /// A trustee OrgPairing of this cluster: asks `asks`, from an Organization `asker`.
    fn local(
        key: &str,
        hours: i64,
        asks: &str,
        asker: Option<&str>,
        id: Option<&str>,
    ) -> LocalRequest {
        LocalRequest {
            key: key.into(),
            created: Some(t(hours)),
            asks: asks.into(),
            asker: asker.map(Into::into),
            pairing_id: id.map(Into::into),
        }
    }

    fn without_id() -> PairingGrant {
        PairingGrant {
            pairing_id: None,
            ..grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![])
        }
    }

    #[test]
    fn the_pairing_id_comes_from_the_spec_or_from_the_trustee_naming_us() {
        let ours = local("msp/into-acme", 0, TRUSTOR, Some(TRUSTEE), Some("p-7"));
        let cluster = |id: &str, from: &str| PairingIdSource::Cluster {
            id: id.into(),
            from: from.into(),
        };
        for (what, g, requests, want) in [
            (
                "the spec's ID wins",
                grant(vec![], vec![]),
                vec![ours.clone()],
                PairingIdSource::Spec("p-1".into()),
            ),
            (
                "nothing in the cluster",
                without_id(),
                vec![],
                PairingIdSource::NotInCluster,
            ),
            (
                "the trustee naming us",
                without_id(),
                vec![ours.clone()],
                cluster("p-7", "msp/into-acme"),
            ),
            (
                "asks another org",
                without_id(),
                vec![local("msp/x", 0, U1, Some(TRUSTEE), Some("p-8"))],
                PairingIdSource::NotInCluster,
            ),
            (
                "asked by another org, or one not connected yet",
                without_id(),
                vec![
                    local("other/x", 0, TRUSTOR, Some(U2), Some("p-8")),
                    local("msp/y", 0, TRUSTOR, None, Some("p-9")),
                ],
                PairingIdSource::NotInCluster,
            ),
            (
                "no pairing yet",
                without_id(),
                vec![local("msp/into-acme", 0, TRUSTOR, Some(TRUSTEE), None)],
                PairingIdSource::NotInCluster,
            ),
            (
                "the oldest of two",
                without_id(),
                vec![
                    local("msp/newer", 2, TRUSTOR, Some(TRUSTEE), Some("p-new")),
                    local("msp/older", 1, TRUSTOR, Some(TRUSTEE), Some("p-old")),
                ],
                cluster("p-old", "msp/older"),
            ),
        ] {
            assert_eq!(
                pairing_id_source(&g, TRUSTOR, TRUSTEE, &requests),
                want,
                "{what}"
            );
        }
    }

    fn decide_from(
        source: PairingIdSource,
        pairing: PairingLookup,
        now: Timestamp,
    ) -> TrustorDecision {
        let roles = roles();
        let g = without_id();
        decide(TrustorInput {
            grant: &g,
            peer_org_id: TRUSTEE,
            status: None,
            pairing_id: source,
            pairing,
            trust: None,
            role_ids_by_name: &roles,
            division_ids_by_name: &divisions(),
            now,
        })
    }

    /// Without an ID and without the trustee's OrgPairing, or while that one's pairing is
    /// gone or expired (it renews it), the grant waits, Reconciling, and looks again soon.
    #[test]
    fn a_grant_without_id_waits_for_the_trustee_in_the_cluster() {
        let from = || PairingIdSource::Cluster {
            id: "p-7".into(),
            from: "msp/into-acme".into(),
        };
        for (what, d) in [
            (
                "no trustee OrgPairing",
                decide_from(
                    PairingIdSource::NotInCluster,
                    PairingLookup::NotLooked,
                    t(1),
                ),
            ),
            (
                "its pairing is gone",
                decide_from(from(), PairingLookup::NotFound, t(1)),
            ),
            (
                "its pairing expired",
                decide_from(
                    from(),
                    PairingLookup::Found(pairing("p-7", TRUSTEE, t(0), &[U1], &[])),
                    t(49),
                ),
            ),
        ] {
            assert!(d.actions.is_empty(), "{what}");
            assert_eq!(d.phase, OrgPairingPhase::WaitingForConfirmation, "{what}");
            assert_eq!(d.requeue, Requeue::Soon, "{what}");
            let ready = cond(&d, types::READY);
            assert_eq!(
                (ready.status, ready.reason),
                (Status::False, reasons::WAITING_FOR_CONFIRMATION),
                "{what}"
            );
        }
        let d = decide_from(
            PairingIdSource::NotInCluster,
            PairingLookup::NotLooked,
            t(1),
        );
        assert!(
            cond(&d, types::READY)
                .message
                .contains("set spec.grant.pairingId"),
            "says the way out"
        );
    }

    #[test]
    fn a_grant_without_id_accepts_the_trustees_current_pairing() {
        let d = decide_from(
            PairingIdSource::Cluster {
                id: "p-7".into(),
                from: "msp/into-acme".into(),
            },
            PairingLookup::Found(pairing("p-7", TRUSTEE, t(0), &[U1], &[])),
            t(1),
        );
        let [
            CreateTrust {
                pairing_id, users, ..
            },
        ] = d.actions.as_slice()
        else {
            panic!("one CreateTrust: {:?}", d.actions);
        };
        assert_eq!(pairing_id, "p-7");
        assert_eq!(users[0].role_ids, vec![SUPERVISOR_ID.to_string()]);
        assert_eq!(d.phase, OrgPairingPhase::Authorized);
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
                    role_ids: vec![SUPERVISOR_ID.into(), ARCHITECT_ID.into()],
                    scoped: Scoped::new(),
                }],
                groups: vec![Member {
                    id: G1.into(),
                    role_ids: vec![ARCHITECT_ID.into()],
                    scoped: Scoped::new(),
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

    fn in_divisions(role: RoleRef, divisions: &[&str]) -> RoleRef {
        RoleRef {
            divisions: divisions.iter().map(|d| d.to_string()).collect(),
            ..role
        }
    }

    fn scoped(pairs: &[(&str, &[&str])]) -> Scoped {
        pairs
            .iter()
            .map(|(r, ds)| (r.to_string(), set(ds)))
            .collect()
    }

    #[test]
    fn a_role_in_named_divisions_is_given_in_those_divisions_only() {
        let g = grant(
            vec![grant_subject(
                U1,
                vec![
                    in_divisions(by_name("Supervisor"), &["Sales", SUPPORT_ID]),
                    in_divisions(by_id(ARCHITECT_ID), &["*"]),
                ],
            )],
            vec![],
        );
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        let CreateTrust { users, .. } = &d.actions[0] else {
            panic!("{:?}", d.actions)
        };
        assert_eq!(
            users[0].scoped,
            scoped(&[(SUPERVISOR_ID, &[SALES_ID, SUPPORT_ID])])
        );
        assert_eq!(d.subjects[0].divisions, "scoped");
        assert_eq!(d.subjects[0].scoped_roles.len(), 1);
        assert_eq!(
            d.subjects[0].scoped_roles[0].division_ids,
            vec![SALES_ID, SUPPORT_ID]
        );
    }

    #[test]
    fn a_change_of_divisions_is_given_again_though_genesys_does_not_show_them() {
        let sales = grant(
            vec![grant_subject(
                U1,
                vec![in_divisions(by_name("Supervisor"), &["Sales"])],
            )],
            vec![],
        );
        let trust = || held(&[(U1, &[SUPERVISOR_ID])], true);
        // The roles match; the status records no divisions (given in all): given again.
        let d = decide_with(
            &sales,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::NotLooked,
            Some(trust()),
            t(1),
        );
        let want = Member {
            id: U1.into(),
            role_ids: vec![SUPERVISOR_ID.into()],
            scoped: scoped(&[(SUPERVISOR_ID, &[SALES_ID])]),
        };
        assert_eq!(d.actions, vec![SetUserRoles(want)]);
        // Recorded in the status: the next look does nothing.
        let after = OrgPairingStatus {
            phase: Some(d.phase),
            subjects: d.subjects.clone(),
            ..Default::default()
        };
        let again = decide_with(
            &sales,
            Some(after.clone()),
            PairingLookup::NotLooked,
            Some(trust()),
            t(2),
        );
        assert!(again.actions.is_empty(), "{:?}", again.actions);
        // Back to all divisions in the spec: given again, without divisions.
        let all = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
        let back = decide_with(
            &all,
            Some(after),
            PairingLookup::NotLooked,
            Some(trust()),
            t(3),
        );
        assert_eq!(
            back.actions,
            vec![SetUserRoles(Member {
                id: U1.into(),
                role_ids: vec![SUPERVISOR_ID.into()],
                scoped: Scoped::new(),
            })]
        );
    }

    #[test]
    fn an_unknown_division_blocks_like_an_unknown_role_and_names_it() {
        let g = grant(
            vec![grant_subject(
                U1,
                vec![in_divisions(by_name("Supervisor"), &["Nowhere"])],
            )],
            vec![],
        );
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(&g, None, PairingLookup::Found(p), None, t(1));
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        let c = cond(&d, types::ROLES_ASSIGNED);
        assert_eq!(
            (c.status, c.reason),
            (Status::False, reasons::UNKNOWN_DIVISION)
        );
        assert!(
            c.message.contains("no division named \"Nowhere\""),
            "{}",
            c.message
        );
        assert_eq!(cond(&d, types::READY).reason, reasons::UNKNOWN_DIVISION);
        // With a trust: the subject is left as it is.
        let trust = held(&[(U1, &[ARCHITECT_ID])], true);
        let d = decide_with(
            &g,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::NotLooked,
            Some(trust),
            t(2),
        );
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        assert_eq!(cond(&d, types::READY).reason, reasons::UNKNOWN_DIVISION);
    }

    #[test]
    fn division_names_are_those_that_are_neither_ids_nor_all() {
        let g = grant(
            vec![grant_subject(
                U1,
                vec![in_divisions(
                    by_name("Supervisor"),
                    &["Sales", SALES_ID, "*"],
                )],
            )],
            vec![grant_subject(
                G1,
                vec![in_divisions(by_id(ARCHITECT_ID), &["Support"])],
            )],
        );
        assert_eq!(division_names(&g), set(&["Sales", "Support"]));
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
                    role_ids: vec![SUPERVISOR_ID.into()],
                    scoped: Scoped::new(),
                }),
                SetUserRoles(Member {
                    id: U3.into(),
                    role_ids: vec![],
                    scoped: Scoped::new(),
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
            scoped: Scoped::new(),
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
