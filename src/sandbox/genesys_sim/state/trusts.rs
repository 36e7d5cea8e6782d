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
    pub role_ids: BTreeSet<Uuid>,
    pub(crate) added_at: Timestamp,
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

/// A member to add: a trustee user or group ID and trustor role IDs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustMemberInput {
    pub(crate) id: Uuid,
    pub(crate) role_ids: Vec<Uuid>,
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
                check_roles(
                    trustor,
                    &format!("{}[{i}].roleIds", kind.list()),
                    &m.role_ids,
                )?;
            }
        }
        check_future("dateExpired", input.date_expired, now)?;
        let grants = |members: &[TrustMemberInput]| {
            members
                .iter()
                .map(|m| {
                    (
                        m.id,
                        MemberGrant {
                            id: m.id,
                            role_ids: m.role_ids.iter().copied().collect(),
                            added_at: now,
                        },
                    )
                })
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
                check_roles(trustor_org, "roleIds", &input.role_ids)?;
            }
        }
        let trust = self
            .trusts
            .get_mut(&(trustor, trustee))
            .expect("checked above");
        Ok(trust
            .members_mut(kind)
            .entry(input.id)
            .or_insert_with(|| MemberGrant {
                id: input.id,
                role_ids: input.role_ids.iter().copied().collect(),
                added_at: now,
            }))
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

    /// `PUT .../users|groups/{id}/roles`: replaces the member's roles (empty = none).
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
        let member = self
            .trusts
            .get_mut(&(trustor, trustee))
            .ok_or_else(|| no_trust(trustor, trustee))?
            .members_mut(kind)
            .get_mut(&id)
            .ok_or_else(|| not_member(kind, id))?;
        member.role_ids = role_ids.iter().copied().collect();
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
        }
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
}
