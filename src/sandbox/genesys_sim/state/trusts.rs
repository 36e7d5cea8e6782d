//! Trusts: the trustor grants the trustee's users and groups its own roles
//! (genesys-api.md §4.1–4.4).
//!
//! Rules, with the answer for each breach:
//! - `POST /trustees` by the trustor names a `pairingId` (400 if absent): the pairing must
//!   exist (404), not be the trustor's own (400), come from an org of the trustor's region
//!   (400) and not be expired (400 `pairing.expired`). One trust per (trustor, trustee):
//!   a second is 409. At least one user or group (400); at most [`MAX_TRUST_USERS`] users
//!   (400); every user and group must be one the pairing names (400 naming it), every
//!   role ID a role of the trustor (400 naming it); `dateExpired` must be in the future.
//! - Roles are granted per division of the trustor org. `roleIds` (in a
//!   `TrustMemberCreate`) and `PUT .../roles` grant each role in all divisions (`"*"`);
//!   `roleDivisions` and `PUT .../roledivisions` grant each role in the division each
//!   pair names, which must be `"*"` or a division of the trustor (400 naming
//!   `roleDivisions.grants[i].divisionId` and the value). A member keeps, per role, the
//!   set of divisions it was granted in ([`MemberGrant::role_divisions`]); Genesys shows
//!   only the roles (`UserAuthorization`), never the divisions.
//! - A member without roles has no permissions; the trustee's view of the trust
//!   (`Trustor.authorization.permissions`) is the union of the permissions of all roles
//!   granted to its users and groups, and empty while the trust is disabled. Disabling
//!   keeps every role, so re-enabling restores the permissions.
//! - Members: the trustor adds trustee users and groups with roles (POST; 409 if already
//!   in the trust), the trustee promotes its own users and groups without roles (PUT;
//!   idempotent). Either way a member must belong to the trustee org (400) and the trust
//!   keeps at most 25 users (400). Unknown members are 404.
//! - Deleting the trust from either side removes it for both. A trust whose
//!   `dateExpired` has passed (simulated clock) is gone, exactly as if deleted.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use uuid::Uuid;

use super::{Org, SimState};
use crate::sandbox::genesys_sim::error::ApiError;

/// The `divisionId` that grants a role in every division of the trustor org.
pub const ALL_DIVISIONS: &str = "*";

/// At most 25 users of one org may access another org (Genesys help, genesys-api.md §1).
pub const MAX_TRUST_USERS: usize = 25;

/// Users and groups are handled alike; this says which one an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    /// `user` / `group`, for messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Group => "group",
        }
    }

    /// `users` / `groups`: the wire list name.
    pub(crate) fn list(self) -> &'static str {
        match self {
            MemberKind::User => "users",
            MemberKind::Group => "groups",
        }
    }

    fn in_org(self, org: &Org, id: Uuid) -> bool {
        match self {
            MemberKind::User => org.user(id).is_some(),
            MemberKind::Group => org.group(id).is_some(),
        }
    }
}

/// One trustee user or group inside a trust, with the trustor roles it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberGrant {
    pub(crate) id: Uuid,
    /// The trustor roles held: always the keys of [`Self::role_divisions`].
    pub role_ids: BTreeSet<Uuid>,
    /// Per role held, the divisions of the trustor org it was granted in, exactly as
    /// the last grant gave them: [`ALL_DIVISIONS`] (`"*"`, from `roleIds` or
    /// `PUT .../roles`) and/or division IDs (from `roleDivisions` or
    /// `PUT .../roledivisions`), as canonical lowercase UUIDs. Never an empty set.
    pub role_divisions: BTreeMap<Uuid, BTreeSet<String>>,
    pub(crate) added_at: Timestamp,
}

impl MemberGrant {
    fn new(id: Uuid, roles: BTreeMap<Uuid, BTreeSet<String>>, now: Timestamp) -> Self {
        let mut grant = MemberGrant {
            id,
            role_ids: BTreeSet::new(),
            role_divisions: BTreeMap::new(),
            added_at: now,
        };
        grant.replace_roles(roles);
        grant
    }

    /// Replaces every role (and its divisions), keeping `role_ids` in step.
    fn replace_roles(&mut self, roles: BTreeMap<Uuid, BTreeSet<String>>) {
        self.role_ids = roles.keys().copied().collect();
        self.role_divisions = roles;
    }
}

/// One `RoleDivisionPair` as rule input: a role, and the division it is granted in
/// ([`ALL_DIVISIONS`] or a division ID as canonical lowercase UUID text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleDivision {
    pub(crate) role_id: Uuid,
    pub(crate) division_id: String,
}

/// A trust between a trustor (granting) and a trustee (accessing) org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trust {
    pub trustor: Uuid,
    pub trustee: Uuid,
    pub enabled: bool,
    pub(crate) created_at: Timestamp,
    pub(crate) date_expired: Option<Timestamp>,
    pub pairing_id: Option<Uuid>,
    pub users: BTreeMap<Uuid, MemberGrant>,
    pub groups: BTreeMap<Uuid, MemberGrant>,
}

impl Trust {
    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        self.date_expired.is_some_and(|at| now >= at)
    }

    pub(crate) fn members(&self, kind: MemberKind) -> &BTreeMap<Uuid, MemberGrant> {
        match kind {
            MemberKind::User => &self.users,
            MemberKind::Group => &self.groups,
        }
    }

    fn members_mut(&mut self, kind: MemberKind) -> &mut BTreeMap<Uuid, MemberGrant> {
        match kind {
            MemberKind::User => &mut self.users,
            MemberKind::Group => &mut self.groups,
        }
    }
}

/// A member to add: a trustee user or group ID and trustor roles, in all divisions
/// (`roleIds`) or per division (`roleDivisions.grants`); both may be given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustMemberInput {
    pub(crate) id: Uuid,
    pub(crate) role_ids: Vec<Uuid>,
    pub(crate) role_divisions: Vec<RoleDivision>,
}

impl TrustMemberInput {
    /// The roles to hold, each with its divisions: the union of `roleIds` (all
    /// divisions) and `roleDivisions`.
    fn roles(&self) -> BTreeMap<Uuid, BTreeSet<String>> {
        let mut roles = in_all_divisions(&self.role_ids);
        for (role, divisions) in by_division(&self.role_divisions) {
            roles.entry(role).or_default().extend(divisions);
        }
        roles
    }
}

/// Each role in all divisions (`roleIds`, `PUT .../roles`).
fn in_all_divisions(role_ids: &[Uuid]) -> BTreeMap<Uuid, BTreeSet<String>> {
    role_ids
        .iter()
        .map(|r| (*r, BTreeSet::from([ALL_DIVISIONS.to_string()])))
        .collect()
}

/// Each role in the divisions its pairs name (`roleDivisions`, `PUT .../roledivisions`).
fn by_division(pairs: &[RoleDivision]) -> BTreeMap<Uuid, BTreeSet<String>> {
    let mut roles: BTreeMap<Uuid, BTreeSet<String>> = BTreeMap::new();
    for p in pairs {
        roles
            .entry(p.role_id)
            .or_default()
            .insert(p.division_id.clone());
    }
    roles
}

/// The parsed `TrustCreate` body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustCreate {
    pub pairing_id: Option<Uuid>,
    pub enabled: bool,
    pub users: Vec<TrustMemberInput>,
    pub groups: Vec<TrustMemberInput>,
    pub date_expired: Option<Timestamp>,
}

/// Who adds a member: the trustor (POST, with roles, 409 on a repeat) or the trustee
/// (PUT, without roles, idempotent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddedBy {
    Trustor,
    Trustee,
}

fn check_future(field: &str, at: Option<Timestamp>, now: Timestamp) -> Result<(), ApiError> {
    match at {
        Some(at) if at <= now => Err(ApiError::bad_field(
            field,
            format!("{} is not in the future (now is {})", at, now),
        )),
        _ => Ok(()),
    }
}

fn check_roles(trustor: &Org, field: &str, role_ids: &[Uuid]) -> Result<(), ApiError> {
    for (j, role) in role_ids.iter().enumerate() {
        if trustor.role(*role).is_none() {
            return Err(ApiError::bad_field(
                format!("{field}[{j}]"),
                format!("{role} is not a role of this (the trustor) organization"),
            )
            .with_entity(role.to_string(), None));
        }
    }
    Ok(())
}

/// The pairs of a `RoleDivisionGrants` at `field` (e.g. `users[0].roleDivisions`): each
/// role a role of the trustor, each division `"*"` or a division of the trustor.
fn check_role_divisions(
    trustor: &Org,
    field: &str,
    pairs: &[RoleDivision],
) -> Result<(), ApiError> {
    for (i, p) in pairs.iter().enumerate() {
        if trustor.role(p.role_id).is_none() {
            return Err(ApiError::bad_field(
                format!("{field}.grants[{i}].roleId"),
                format!(
                    "{} is not a role of this (the trustor) organization",
                    p.role_id
                ),
            )
            .with_entity(p.role_id.to_string(), None));
        }
        if p.division_id == ALL_DIVISIONS {
            continue;
        }
        let known = Uuid::parse_str(&p.division_id)
            .ok()
            .is_some_and(|d| trustor.division(d).is_some());
        if !known {
            return Err(ApiError::bad_field(
                format!("{field}.grants[{i}].divisionId"),
                format!(
                    "{:?} is not a division of this (the trustor) organization; use \"*\" for all divisions",
                    p.division_id
                ),
            )
            .with_entity(p.division_id.clone(), None));
        }
    }
    Ok(())
}

/// The roles of a member to add; `prefix` is its place in the body (`users[2].`).
fn check_member(trustor: &Org, prefix: &str, input: &TrustMemberInput) -> Result<(), ApiError> {
    check_roles(trustor, &format!("{prefix}roleIds"), &input.role_ids)?;
    check_role_divisions(
        trustor,
        &format!("{prefix}roleDivisions"),
        &input.role_divisions,
    )
}

fn no_trust(trustor: Uuid, trustee: Uuid) -> ApiError {
    ApiError::not_found(format!(
        "no trust from trustor organization {trustor} to trustee organization {trustee}"
    ))
}

impl SimState {
    /// `POST /api/v2/orgauthorization/trustees` by the trustor `caller`.
    pub(crate) fn create_trust(
        &mut self,
        caller: Uuid,
        input: &TrustCreate,
        now: Timestamp,
    ) -> Result<&Trust, ApiError> {
        self.prune(now);
        let trustor = self.caller(caller)?;
        let pairing_id = input.pairing_id.ok_or_else(|| {
            ApiError::bad_field(
                "pairingId",
                "required: the trustee's pairing ID proves that it agrees to the trust",
            )
        })?;
        let pairing = self.usable_pairing(caller, pairing_id, now)?;
        let trustee = pairing.trustee;
        if self.trusts.contains_key(&(caller, trustee)) {
            return Err(ApiError::conflict(format!(
                "a trust with trustee organization {trustee} already exists; update it or delete it first"
            )));
        }
        if input.users.is_empty() && input.groups.is_empty() {
            return Err(ApiError::bad_field(
                "users",
                "at least one user or one group is required",
            ));
        }
        if input.users.len() > MAX_TRUST_USERS {
            return Err(ApiError::bad_field(
                "users",
                format!(
                    "at most {MAX_TRUST_USERS} users can be authorized to access another organization; got {}",
                    input.users.len()
                ),
            ));
        }
        for (kind, members, named) in [
            (MemberKind::User, &input.users, &pairing.users),
            (MemberKind::Group, &input.groups, &pairing.groups),
        ] {
            let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
            for (i, id) in ids.iter().enumerate() {
                if ids[..i].contains(id) {
                    return Err(ApiError::bad_field(
                        format!("{}[{i}].id", kind.list()),
                        format!("{} {id} is listed twice", kind.noun()),
                    ));
                }
                if !named.contains(id) {
                    return Err(ApiError::bad_field(
                        format!("{}[{i}].id", kind.list()),
                        format!(
                            "{} {id} is not named by pairing {pairing_id}; only the users and groups the trustee put in the pairing can be trusted",
                            kind.noun()
                        ),
                    )
                    .with_entity(id.to_string(), None));
                }
            }
            for (i, m) in members.iter().enumerate() {
                check_member(trustor, &format!("{}[{i}].", kind.list()), m)?;
            }
        }
        check_future("dateExpired", input.date_expired, now)?;
        let grants = |members: &[TrustMemberInput]| {
            members
                .iter()
                .map(|m| (m.id, MemberGrant::new(m.id, m.roles(), now)))
                .collect()
        };
        let trust = Trust {
            trustor: caller,
            trustee,
            enabled: input.enabled,
            created_at: now,
            date_expired: input.date_expired,
            pairing_id: Some(pairing_id),
            users: grants(&input.users),
            groups: grants(&input.groups),
        };
        self.trusts.insert((caller, trustee), trust);
        Ok(&self.trusts[&(caller, trustee)])
    }

    /// `GET /trustees`: the trusts the trustor `caller` granted, oldest first.
    pub(crate) fn trusts_granted_by(
        &mut self,
        caller: Uuid,
        now: Timestamp,
    ) -> Result<Vec<&Trust>, ApiError> {
        self.prune(now);
        self.caller(caller)?;
        Ok(sorted(self.trusts.values().filter(|t| t.trustor == caller)))
    }

    /// `GET /trustors`: the trusts granted to the trustee `caller`, oldest first.
    pub(crate) fn trusts_granted_to(
        &mut self,
        caller: Uuid,
        now: Timestamp,
    ) -> Result<Vec<&Trust>, ApiError> {
        self.prune(now);
        self.caller(caller)?;
        Ok(sorted(self.trusts.values().filter(|t| t.trustee == caller)))
    }

    /// One trust; `GET /trustees/{trustee}` (caller = trustor) and
    /// `GET /trustors/{trustor}` (caller = trustee).
    pub(crate) fn trust(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        now: Timestamp,
    ) -> Result<&Trust, ApiError> {
        self.prune(now);
        self.trusts
            .get(&(trustor, trustee))
            .ok_or_else(|| no_trust(trustor, trustee))
    }

    /// `PUT /trustees/{trustee}` (`TrustUpdate`): replaces `enabled` and `dateExpired`
    /// (an absent `dateExpired` clears it). Roles are kept whatever `enabled` says.
    pub(crate) fn update_trust(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        enabled: bool,
        date_expired: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<&Trust, ApiError> {
        self.prune(now);
        check_future("dateExpired", date_expired, now)?;
        let trust = self
            .trusts
            .get_mut(&(trustor, trustee))
            .ok_or_else(|| no_trust(trustor, trustee))?;
        trust.enabled = enabled;
        trust.date_expired = date_expired;
        Ok(trust)
    }

    /// `DELETE /trustees/{trustee}` by the trustor or `DELETE /trustors/{trustor}` by the
    /// trustee: revokes the trust for both at once.
    pub(crate) fn delete_trust(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.prune(now);
        self.trusts
            .remove(&(trustor, trustee))
            .map(|_| ())
            .ok_or_else(|| no_trust(trustor, trustee))
    }

    /// Adds a trustee user or group to a trust (see [`AddedBy`]).
    pub(crate) fn add_member(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        kind: MemberKind,
        input: &TrustMemberInput,
        by: AddedBy,
        now: Timestamp,
    ) -> Result<&MemberGrant, ApiError> {
        self.prune(now);
        let trust = self
            .trusts
            .get(&(trustor, trustee))
            .ok_or_else(|| no_trust(trustor, trustee))?;
        let trustee_org = self.caller(trustee)?;
        let trustor_org = self.caller(trustor)?;
        if !kind.in_org(trustee_org, input.id) {
            return Err(ApiError::bad_field(
                "id",
                format!(
                    "{} is not a {} of the trustee organization {trustee}",
                    input.id,
                    kind.noun()
                ),
            )
            .with_entity(input.id.to_string(), None));
        }
        let exists = trust.members(kind).contains_key(&input.id);
        match (exists, by) {
            (true, AddedBy::Trustor) => {
                return Err(ApiError::conflict(format!(
                    "{} {} is already in the trust; set its roles instead",
                    kind.noun(),
                    input.id
                )));
            }
            (true, AddedBy::Trustee) => {}
            (false, _) => {
                if kind == MemberKind::User && trust.users.len() >= MAX_TRUST_USERS {
                    return Err(ApiError::bad_field(
                        "id",
                        format!(
                            "the trust already has {MAX_TRUST_USERS} users, the most that can access another organization"
                        ),
                    ));
                }
                check_member(trustor_org, "", input)?;
            }
        }
        let trust = self
            .trusts
            .get_mut(&(trustor, trustee))
            .expect("checked above");
        Ok(trust
            .members_mut(kind)
            .entry(input.id)
            .or_insert_with(|| MemberGrant::new(input.id, input.roles(), now)))
    }

    /// One member of a trust.
    pub(crate) fn member(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        kind: MemberKind,
        id: Uuid,
        now: Timestamp,
    ) -> Result<&MemberGrant, ApiError> {
        self.trust(trustor, trustee, now)?
            .members(kind)
            .get(&id)
            .ok_or_else(|| not_member(kind, id))
    }

    /// Removes a member from a trust (either side).
    pub(crate) fn remove_member(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        kind: MemberKind,
        id: Uuid,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.prune(now);
        self.trusts
            .get_mut(&(trustor, trustee))
            .ok_or_else(|| no_trust(trustor, trustee))?
            .members_mut(kind)
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| not_member(kind, id))
    }

    /// `PUT .../users|groups/{id}/roles`: replaces the member's roles (empty = none),
    /// each granted in all divisions; `DELETE .../roles` is this with none.
    pub(crate) fn set_member_roles(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        kind: MemberKind,
        id: Uuid,
        role_ids: &[Uuid],
        now: Timestamp,
    ) -> Result<&MemberGrant, ApiError> {
        self.prune(now);
        check_roles(self.caller(trustor)?, "roleIds", role_ids)?;
        self.replace_member_roles(trustor, trustee, kind, id, in_all_divisions(role_ids))
    }

    /// `PUT .../users|groups/{id}/roledivisions`: replaces the member's roles with the
    /// roles of `pairs`, each in the divisions its pairs name (no pairs = no roles).
    pub(crate) fn set_member_role_divisions(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        kind: MemberKind,
        id: Uuid,
        pairs: &[RoleDivision],
        now: Timestamp,
    ) -> Result<&MemberGrant, ApiError> {
        self.prune(now);
        check_role_divisions(self.caller(trustor)?, "roleDivisions", pairs)?;
        self.replace_member_roles(trustor, trustee, kind, id, by_division(pairs))
    }

    fn replace_member_roles(
        &mut self,
        trustor: Uuid,
        trustee: Uuid,
        kind: MemberKind,
        id: Uuid,
        roles: BTreeMap<Uuid, BTreeSet<String>>,
    ) -> Result<&MemberGrant, ApiError> {
        let member = self
            .trusts
            .get_mut(&(trustor, trustee))
            .ok_or_else(|| no_trust(trustor, trustee))?
            .members_mut(kind)
            .get_mut(&id)
            .ok_or_else(|| not_member(kind, id))?;
        member.replace_roles(roles);
        Ok(member)
    }

    /// The permissions the trustee's users hold in the trustor org through `trust`:
    /// the union over every role of every member; none while the trust is disabled.
    pub(crate) fn trust_permissions(&self, trust: &Trust) -> Vec<String> {
        if !trust.enabled {
            return Vec::new();
        }
        let roles = trust
            .users
            .values()
            .chain(trust.groups.values())
            .flat_map(|m| m.role_ids.iter().copied());
        self.role_permissions(trust.trustor, roles)
    }

    /// The union of the permissions of `roles` of `org`, sorted.
    pub(crate) fn role_permissions(
        &self,
        org: Uuid,
        roles: impl IntoIterator<Item = Uuid>,
    ) -> Vec<String> {
        let Some(org) = self.orgs.get(&org) else {
            return Vec::new();
        };
        let set: BTreeSet<&String> = roles
            .into_iter()
            .filter_map(|r| org.role(r))
            .flat_map(|r| r.permissions.iter())
            .collect();
        set.into_iter().cloned().collect()
    }

    /// Every trust (for admin inspection and tests).
    pub fn all_trusts(&self) -> impl Iterator<Item = &Trust> {
        self.trusts.values()
    }
}

fn not_member(kind: MemberKind, id: Uuid) -> ApiError {
    ApiError::not_found(format!("{} {id} is not in the trust", kind.noun()))
}

fn sorted<'a>(trusts: impl Iterator<Item = &'a Trust>) -> Vec<&'a Trust> {
    let mut v: Vec<_> = trusts.collect();
    v.sort_by_key(|t| (t.created_at, t.trustor, t.trustee));
    v
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use axum::http::StatusCode;
    use jiff::SignedDuration;

    const P: u128 = 0xF00D;

    /// MSP (trustee) pairs users 1–3 and group 1 with ACME (trustor).
    fn paired() -> SimState {
        let mut s = state();
        s.create_pairing(
            id(MSP),
            &[user(MSP, 1), user(MSP, 2), user(MSP, 3)],
            &[group(MSP, 1)],
            id(P),
            t0(),
        )
        .unwrap();
        s
    }

    fn member(uid: Uuid, roles: &[Uuid]) -> TrustMemberInput {
        TrustMemberInput {
            id: uid,
            role_ids: roles.to_vec(),
            role_divisions: Vec::new(),
        }
    }

    fn pair(role: Uuid, division: &str) -> RoleDivision {
        RoleDivision {
            role_id: role,
            division_id: division.to_string(),
        }
    }

    fn all() -> BTreeSet<String> {
        BTreeSet::from([ALL_DIVISIONS.to_string()])
    }

    fn divisions(s: &mut SimState, kind: MemberKind, m: Uuid) -> BTreeMap<Uuid, BTreeSet<String>> {
        let g = s.member(id(ACME), id(MSP), kind, m, t0()).unwrap();
        assert_eq!(
            g.role_ids,
            g.role_divisions.keys().copied().collect::<BTreeSet<_>>()
        );
        g.role_divisions.clone()
    }

    fn create(users: Vec<TrustMemberInput>, groups: Vec<TrustMemberInput>) -> TrustCreate {
        TrustCreate {
            pairing_id: Some(id(P)),
            enabled: true,
            users,
            groups,
            date_expired: None,
        }
    }

    fn trusted() -> SimState {
        let mut s = paired();
        s.create_trust(
            id(ACME),
            &create(vec![member(user(MSP, 1), &[])], vec![]),
            t0(),
        )
        .unwrap();
        s
    }

    fn permissions(s: &mut SimState) -> Vec<String> {
        let t = s.trust(id(ACME), id(MSP), t0()).unwrap().clone();
        s.trust_permissions(&t)
    }

    #[test]
    fn a_trust_needs_a_pairing_id() {
        let mut s = paired();
        let mut input = create(vec![member(user(MSP, 1), &[])], vec![]);
        input.pairing_id = None;
        let err = s.create_trust(id(ACME), &input, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.details[0].field_name.as_deref(), Some("pairingId"));
    }

    #[test]
    fn creating_a_trust_makes_it_visible_from_both_sides() {
        let mut s = paired();
        let t = s
            .create_trust(
                id(ACME),
                &create(
                    vec![member(user(MSP, 1), &[role(ACME, 1)])],
                    vec![member(group(MSP, 1), &[])],
                ),
                t0(),
            )
            .unwrap()
            .clone();
        assert_eq!((t.trustor, t.trustee), (id(ACME), id(MSP)));
        assert_eq!(t.pairing_id, Some(id(P)));
        assert_eq!(t.created_at, t0());
        assert_eq!(s.trusts_granted_by(id(ACME), t0()).unwrap(), [&t]);
        assert_eq!(s.trusts_granted_to(id(MSP), t0()).unwrap(), [&t]);
        assert!(s.trusts_granted_by(id(MSP), t0()).unwrap().is_empty());
        assert!(s.trusts_granted_to(id(ACME), t0()).unwrap().is_empty());
    }

    #[test]
    fn the_pairing_must_exist_be_fresh_and_foreign() {
        let mut s = paired();
        let input = create(vec![member(user(MSP, 1), &[])], vec![]);
        // Unknown pairing.
        let mut unknown = input.clone();
        unknown.pairing_id = Some(id(0xBAD));
        let err = s.create_trust(id(ACME), &unknown, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        // The trustee cannot trust itself with its own pairing.
        let err = s.create_trust(id(MSP), &input, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        // Expired after 48 h.
        let late = t0() + SignedDuration::from_hours(48) + SignedDuration::from_secs(1);
        let err = s.create_trust(id(ACME), &input, late).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.code, "pairing.expired");
        // Just in time works.
        s.create_trust(id(ACME), &input, t0() + SignedDuration::from_hours(47))
            .unwrap();
    }

    #[test]
    fn trustor_and_trustee_must_share_a_region() {
        let mut s = paired();
        let err = s
            .create_trust(
                id(EU),
                &create(vec![member(user(MSP, 1), &[])], vec![]),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("same region"), "{}", err.message);
        assert!(s.trusts_granted_to(id(MSP), t0()).unwrap().is_empty());
    }

    #[test]
    fn one_trust_per_pair() {
        let mut s = trusted();
        let err = s
            .create_trust(
                id(ACME),
                &create(vec![member(user(MSP, 2), &[])], vec![]),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        // Another trustor may use the same pairing.
        s.create_trust(
            id(DR),
            &create(vec![member(user(MSP, 2), &[])], vec![]),
            t0(),
        )
        .unwrap();
        assert_eq!(s.trusts_granted_to(id(MSP), t0()).unwrap().len(), 2);
    }

    #[test]
    fn members_must_be_named_by_the_pairing() {
        let mut s = paired();
        // MSP user 4 exists but is not in the pairing.
        let err = s
            .create_trust(
                id(ACME),
                &create(
                    vec![member(user(MSP, 1), &[]), member(user(MSP, 4), &[])],
                    vec![],
                ),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.starts_with("users[1].id:"), "{}", err.message);
        let err = s
            .create_trust(
                id(ACME),
                &create(vec![], vec![member(group(MSP, 2), &[])]),
                t0(),
            )
            .unwrap_err();
        assert!(err.message.starts_with("groups[0].id:"), "{}", err.message);
        let err = s
            .create_trust(id(ACME), &create(vec![], vec![]), t0())
            .unwrap_err();
        assert!(err.message.contains("at least one user or one group"));
        let err = s
            .create_trust(
                id(ACME),
                &create(
                    vec![member(user(MSP, 1), &[]), member(user(MSP, 1), &[])],
                    vec![],
                ),
                t0(),
            )
            .unwrap_err();
        assert!(err.message.contains("listed twice"));
    }

    #[test]
    fn roles_must_belong_to_the_trustor() {
        let mut s = paired();
        // A role of the trustee is not a role of the trustor.
        let err = s
            .create_trust(
                id(ACME),
                &create(
                    vec![member(user(MSP, 1), &[role(ACME, 1), role(MSP, 1)])],
                    vec![],
                ),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message.starts_with("users[0].roleIds[1]:"),
            "{}",
            err.message
        );
    }

    #[test]
    fn expiry_date_must_be_in_the_future() {
        let mut s = paired();
        let mut input = create(vec![member(user(MSP, 1), &[])], vec![]);
        input.date_expired = Some(t0());
        let err = s.create_trust(id(ACME), &input, t0()).unwrap_err();
        assert_eq!(err.details[0].field_name.as_deref(), Some("dateExpired"));
    }

    #[test]
    fn no_permissions_until_roles_are_set() {
        let mut s = trusted();
        assert!(permissions(&mut s).is_empty());
        s.set_member_roles(
            id(ACME),
            id(MSP),
            MemberKind::User,
            user(MSP, 1),
            &[role(ACME, 1)],
            t0(),
        )
        .unwrap();
        assert_eq!(
            permissions(&mut s),
            ["quality:evaluation:view", "routing:queue:view"]
        );
        // A group's roles add to the union; shared permissions appear once.
        s.add_member(
            id(ACME),
            id(MSP),
            MemberKind::Group,
            &member(group(MSP, 1), &[role(ACME, 2)]),
            AddedBy::Trustor,
            t0(),
        )
        .unwrap();
        assert_eq!(
            permissions(&mut s),
            [
                "architect:flow:view",
                "quality:evaluation:view",
                "routing:queue:view"
            ]
        );
        // Clearing roles removes the permissions again.
        s.set_member_roles(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), &[], t0())
            .unwrap();
        s.set_member_roles(
            id(ACME),
            id(MSP),
            MemberKind::Group,
            group(MSP, 1),
            &[],
            t0(),
        )
        .unwrap();
        assert!(permissions(&mut s).is_empty());
    }

    #[test]
    fn disabling_keeps_roles_but_grants_nothing() {
        let mut s = trusted();
        s.set_member_roles(
            id(ACME),
            id(MSP),
            MemberKind::User,
            user(MSP, 1),
            &[role(ACME, 1)],
            t0(),
        )
        .unwrap();
        s.update_trust(id(ACME), id(MSP), false, None, t0())
            .unwrap();
        assert!(permissions(&mut s).is_empty());
        let m = s
            .member(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), t0())
            .unwrap();
        assert_eq!(
            m.role_ids.iter().copied().collect::<Vec<_>>(),
            [role(ACME, 1)]
        );
        s.update_trust(id(ACME), id(MSP), true, None, t0()).unwrap();
        assert_eq!(permissions(&mut s).len(), 2);
    }

    #[test]
    fn deleting_revokes_for_both_sides() {
        // Both routes (`DELETE /trustees/{trustee}` by the trustor and
        // `DELETE /trustors/{trustor}` by the trustee) name the same (trustor, trustee).
        let mut s = trusted();
        s.delete_trust(id(ACME), id(MSP), t0()).unwrap();
        assert!(s.trusts_granted_by(id(ACME), t0()).unwrap().is_empty());
        assert!(s.trusts_granted_to(id(MSP), t0()).unwrap().is_empty());
        let err = s.trust(id(ACME), id(MSP), t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(
            s.delete_trust(id(ACME), id(MSP), t0()).unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_trust_past_its_expiry_behaves_as_revoked() {
        let mut s = trusted();
        let at = t0() + SignedDuration::from_hours(24 * 7);
        s.update_trust(id(ACME), id(MSP), true, Some(at), t0())
            .unwrap();
        assert!(
            s.trust(id(ACME), id(MSP), at - SignedDuration::from_secs(1))
                .is_ok()
        );
        assert_eq!(
            s.trust(id(ACME), id(MSP), at).unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert!(s.trusts_granted_to(id(MSP), at).unwrap().is_empty());
        // A new trust can then be made (the pairing is long expired, so make a new one).
        s.create_pairing(id(MSP), &[user(MSP, 1)], &[], id(P + 1), at)
            .unwrap();
        let mut input = create(vec![member(user(MSP, 1), &[])], vec![]);
        input.pairing_id = Some(id(P + 1));
        s.create_trust(id(ACME), &input, at).unwrap();
    }

    #[test]
    fn updating_replaces_enabled_and_expiry() {
        let mut s = trusted();
        let at = t0() + SignedDuration::from_hours(24);
        let t = s
            .update_trust(id(ACME), id(MSP), false, Some(at), t0())
            .unwrap();
        assert_eq!((t.enabled, t.date_expired), (false, Some(at)));
        let t = s.update_trust(id(ACME), id(MSP), true, None, t0()).unwrap();
        assert_eq!((t.enabled, t.date_expired), (true, None));
        let err = s
            .update_trust(
                id(ACME),
                id(MSP),
                true,
                Some(t0() - SignedDuration::from_hours(1)),
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let err = s
            .update_trust(id(DR), id(MSP), true, None, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_trustor_adds_members_once_the_trustee_idempotently() {
        let mut s = trusted();
        // Any user of the trustee org, not only those of the pairing.
        s.add_member(
            id(ACME),
            id(MSP),
            MemberKind::User,
            &member(user(MSP, 10), &[role(ACME, 1)]),
            AddedBy::Trustor,
            t0(),
        )
        .unwrap();
        let err = s
            .add_member(
                id(ACME),
                id(MSP),
                MemberKind::User,
                &member(user(MSP, 10), &[]),
                AddedBy::Trustor,
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        // The trustee promoting an existing member keeps its roles.
        let m = s
            .add_member(
                id(ACME),
                id(MSP),
                MemberKind::User,
                &member(user(MSP, 10), &[]),
                AddedBy::Trustee,
                t0(),
            )
            .unwrap();
        assert_eq!(m.role_ids.len(), 1);
        // A user of another org cannot be added.
        let err = s
            .add_member(
                id(ACME),
                id(MSP),
                MemberKind::User,
                &member(user(DR, 1), &[]),
                AddedBy::Trustee,
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        // Roles of the trustee are refused.
        let err = s
            .add_member(
                id(ACME),
                id(MSP),
                MemberKind::Group,
                &member(group(MSP, 2), &[role(MSP, 1)]),
                AddedBy::Trustor,
                t0(),
            )
            .unwrap_err();
        assert!(err.message.starts_with("roleIds[0]:"), "{}", err.message);
    }

    #[test]
    fn a_trust_holds_at_most_25_users() {
        let mut s = trusted();
        for n in 2..=25 {
            s.add_member(
                id(ACME),
                id(MSP),
                MemberKind::User,
                &member(user(MSP, n), &[]),
                AddedBy::Trustee,
                t0(),
            )
            .unwrap();
        }
        let err = s
            .add_member(
                id(ACME),
                id(MSP),
                MemberKind::User,
                &member(user(MSP, 26), &[]),
                AddedBy::Trustee,
                t0(),
            )
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("25"));
        // Groups are not capped by the user limit.
        s.add_member(
            id(ACME),
            id(MSP),
            MemberKind::Group,
            &member(group(MSP, 3), &[]),
            AddedBy::Trustee,
            t0(),
        )
        .unwrap();
    }

    #[test]
    fn removing_members_and_unknown_members() {
        let mut s = trusted();
        s.remove_member(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), t0())
            .unwrap();
        let err = s
            .remove_member(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        let err = s
            .member(id(ACME), id(MSP), MemberKind::Group, group(MSP, 1), t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        let err = s
            .set_member_roles(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), &[], t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn setting_unknown_roles_is_refused_and_changes_nothing() {
        let mut s = trusted();
        let err = s
            .set_member_roles(
                id(ACME),
                id(MSP),
                MemberKind::User,
                user(MSP, 1),
                &[role(ACME, 1), id(0x999)],
                t0(),
            )
            .unwrap_err();
        assert!(err.message.starts_with("roleIds[1]:"), "{}", err.message);
        assert!(
            s.member(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), t0())
                .unwrap()
                .role_ids
                .is_empty()
        );
    }

    #[test]
    fn a_disabled_trust_can_be_created() {
        let mut s = paired();
        let mut input = create(vec![member(user(MSP, 1), &[role(ACME, 1)])], vec![]);
        input.enabled = false;
        let t = s.create_trust(id(ACME), &input, t0()).unwrap().clone();
        assert!(!t.enabled);
        assert!(s.trust_permissions(&t).is_empty());
    }

    #[test]
    fn roles_without_divisions_are_granted_in_all_of_them() {
        let mut s = paired();
        s.create_trust(
            id(ACME),
            &create(vec![member(user(MSP, 1), &[role(ACME, 1)])], vec![]),
            t0(),
        )
        .unwrap();
        assert_eq!(
            divisions(&mut s, MemberKind::User, user(MSP, 1)),
            BTreeMap::from([(role(ACME, 1), all())])
        );
        s.set_member_roles(
            id(ACME),
            id(MSP),
            MemberKind::User,
            user(MSP, 1),
            &[role(ACME, 2), role(ACME, 3)],
            t0(),
        )
        .unwrap();
        assert_eq!(
            divisions(&mut s, MemberKind::User, user(MSP, 1)),
            BTreeMap::from([(role(ACME, 2), all()), (role(ACME, 3), all())])
        );
    }

    #[test]
    fn role_divisions_are_stored_exactly_and_replaced_whole() {
        let mut s = trusted();
        let sales = division(ACME, 2).to_string();
        let support = division(ACME, 3).to_string();
        s.set_member_role_divisions(
            id(ACME),
            id(MSP),
            MemberKind::User,
            user(MSP, 1),
            &[
                pair(role(ACME, 1), &sales),
                pair(role(ACME, 1), &support),
                pair(role(ACME, 2), ALL_DIVISIONS),
                pair(role(ACME, 1), &sales),
            ],
            t0(),
        )
        .unwrap();
        assert_eq!(
            divisions(&mut s, MemberKind::User, user(MSP, 1)),
            BTreeMap::from([
                (role(ACME, 1), BTreeSet::from([sales.clone(), support])),
                (role(ACME, 2), all()),
            ])
        );
        // Permissions do not depend on the divisions.
        assert_eq!(permissions(&mut s).len(), 3);
        // A new grant replaces every role; no pairs means no roles.
        s.set_member_role_divisions(
            id(ACME),
            id(MSP),
            MemberKind::User,
            user(MSP, 1),
            &[pair(role(ACME, 3), &sales)],
            t0(),
        )
        .unwrap();
        assert_eq!(
            divisions(&mut s, MemberKind::User, user(MSP, 1)),
            BTreeMap::from([(role(ACME, 3), BTreeSet::from([sales]))])
        );
        s.set_member_role_divisions(id(ACME), id(MSP), MemberKind::User, user(MSP, 1), &[], t0())
            .unwrap();
        assert!(divisions(&mut s, MemberKind::User, user(MSP, 1)).is_empty());
    }

    #[test]
    fn divisions_must_be_the_wildcard_or_the_trustors() {
        let mut s = trusted();
        s.set_member_role_divisions(
            id(ACME),
            id(MSP),
            MemberKind::User,
            user(MSP, 1),
            &[pair(role(ACME, 1), &division(ACME, 1).to_string())],
            t0(),
        )
        .unwrap();
        let before = divisions(&mut s, MemberKind::User, user(MSP, 1));
        let other_org = division(MSP, 2).to_string();
        for (pairs, field) in [
            (
                vec![pair(role(ACME, 1), "*"), pair(role(ACME, 2), &other_org)],
                "roleDivisions.grants[1].divisionId",
            ),
            (
                vec![pair(role(ACME, 1), &id(0x999).to_string())],
                "roleDivisions.grants[0].divisionId",
            ),
            (
                vec![pair(role(ACME, 1), "all")],
                "roleDivisions.grants[0].divisionId",
            ),
            (
                vec![pair(role(MSP, 1), "*")],
                "roleDivisions.grants[0].roleId",
            ),
        ] {
            let err = s
                .set_member_role_divisions(
                    id(ACME),
                    id(MSP),
                    MemberKind::User,
                    user(MSP, 1),
                    &pairs,
                    t0(),
                )
                .unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert_eq!(err.details[0].field_name.as_deref(), Some(field));
            if field.ends_with("divisionId") {
                let value = &pairs.last().unwrap().division_id;
                assert!(err.message.contains(value.as_str()), "{}", err.message);
            }
            // Nothing changed.
            assert_eq!(divisions(&mut s, MemberKind::User, user(MSP, 1)), before);
        }
    }

    #[test]
    fn a_member_create_with_role_ids_and_role_divisions_holds_their_union() {
        let mut s = paired();
        let sales = division(ACME, 2).to_string();
        let mut u = member(user(MSP, 1), &[role(ACME, 1)]);
        u.role_divisions = vec![pair(role(ACME, 1), &sales), pair(role(ACME, 2), &sales)];
        let mut g = member(group(MSP, 1), &[]);
        g.role_divisions = vec![pair(role(ACME, 3), ALL_DIVISIONS)];
        s.create_trust(id(ACME), &create(vec![u], vec![g]), t0())
            .unwrap();
        assert_eq!(
            divisions(&mut s, MemberKind::User, user(MSP, 1)),
            BTreeMap::from([
                (
                    role(ACME, 1),
                    BTreeSet::from([ALL_DIVISIONS.to_string(), sales.clone()])
                ),
                (role(ACME, 2), BTreeSet::from([sales.clone()])),
            ])
        );
        assert_eq!(
            divisions(&mut s, MemberKind::Group, group(MSP, 1)),
            BTreeMap::from([(role(ACME, 3), all())])
        );
        // Added later by the trustor: the same rules, the same field names.
        let mut late = member(user(MSP, 2), &[]);
        late.role_divisions = vec![pair(role(ACME, 1), &division(DR, 1).to_string())];
        let err = s
            .add_member(
                id(ACME),
                id(MSP),
                MemberKind::User,
                &late,
                AddedBy::Trustor,
                t0(),
            )
            .unwrap_err();
        assert_eq!(
            err.details[0].field_name.as_deref(),
            Some("roleDivisions.grants[0].divisionId")
        );
        late.role_divisions = vec![pair(role(ACME, 1), &sales)];
        s.add_member(
            id(ACME),
            id(MSP),
            MemberKind::User,
            &late,
            AddedBy::Trustor,
            t0(),
        )
        .unwrap();
        assert_eq!(
            divisions(&mut s, MemberKind::User, user(MSP, 2)),
            BTreeMap::from([(role(ACME, 1), BTreeSet::from([sales]))])
        );
    }

    #[test]
    fn a_trust_create_names_the_bad_division_of_the_member() {
        let mut s = paired();
        let mut g = member(group(MSP, 1), &[]);
        g.role_divisions = vec![pair(role(ACME, 1), &division(EU, 1).to_string())];
        let err = s
            .create_trust(
                id(ACME),
                &create(vec![member(user(MSP, 1), &[])], vec![g]),
                t0(),
            )
            .unwrap_err();
        assert_eq!(
            err.details[0].field_name.as_deref(),
            Some("groups[0].roleDivisions.grants[0].divisionId")
        );
        assert!(s.trusts_granted_by(id(ACME), t0()).unwrap().is_empty());
    }
}
