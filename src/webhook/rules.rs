//! The admission rules of api.md, each a small pure function over the object being
//! written, the previous version (on UPDATE) and a read-only view of the cluster.
//!
//! Every denial names the field, the value and the fix. The CRD schema already holds
//! the context-free rules with the webhook down; the webhook repeats them so the
//! message is as good, and adds the ones that need the cluster's state.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;

use crate::api::common::{is_canonical_uuid, is_email};
use crate::api::orgpairing::MAX_USERS;
use crate::api::orgpairing::{GrantSubject, SubjectKind};
use crate::api::regions::valid_codes;
use crate::api::{OrgLink, OrgPairing, Organization, PairingGrant, PeerRef, Region};
use crate::genesys::ApiBaseUrlAllowlist;

/// What the rules may know about the cluster (backed by a reflector cache of
/// Organizations and an index of OrgLinks and OrgPairings in production). Each question
/// is one lookup: a review costs the same with ten objects in the cluster or 100,000.
pub trait ClusterView {
    fn organization(&self, namespace: &str, name: &str) -> Option<Arc<Organization>>;
    /// The name of an object other than `except` (the first by name) that already
    /// manages `relationship`.
    fn manager(&self, relationship: &Relationship, except: &str) -> Option<String>;
}

pub use crate::runtime::index::Relationship;
pub(crate) use crate::runtime::index::RelationshipKind;

/// The outcome of all rules: denied if any denial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub denials: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

impl Verdict {
    pub(crate) fn allowed(&self) -> bool {
        self.denials.is_empty()
    }

    fn deny(&mut self, message: impl Into<String>) {
        self.denials.push(message.into());
    }

    fn extend(&mut self, denials: impl IntoIterator<Item = String>) {
        self.denials.extend(denials);
    }
}

/// The object of a CREATE or UPDATE, as JSON (the raw form is checked first, so an
/// unknown region gets a message naming it rather than a deserialization error).
pub struct Write<'a> {
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub object: &'a serde_json::Value,
    pub old: Option<&'a serde_json::Value>,
}

/// Runs every rule that applies to `write`. `allowlist` is the operator's own (the
/// webhook runs in the operator's process with its flags), so an Organization the
/// operator would refuse to connect is refused here already.
pub fn check(
    write: &Write<'_>,
    view: &dyn ClusterView,
    allowlist: &ApiBaseUrlAllowlist,
    now: Timestamp,
) -> Verdict {
    let mut verdict = Verdict::default();
    let region_field = match write.kind {
        "Organization" => "spec.region",
        _ => "spec.peer.region",
    };
    if let Some(denial) = unknown_region(region_field, pointer(write.object, region_field)) {
        verdict.deny(denial);
        return verdict;
    }
    match write.kind {
        "Organization" => match Organization::deserialize(write.object) {
            Ok(org) => verdict.extend(api_base_url_not_allowed(
                allowlist,
                org.spec.api_base_url.as_deref(),
            )),
            Err(e) => verdict.deny(format!("the Organization cannot be read: {e}")),
        },
        "OrgLink" => match OrgLink::deserialize(write.object) {
            Ok(link) => {
                let old = write.old.and_then(|o| OrgLink::deserialize(o).ok());
                check_link(&mut verdict, write, &link, old.as_ref(), view);
            }
            Err(e) => verdict.deny(format!("the OrgLink cannot be read: {e}")),
        },
        "OrgPairing" => {
            if let Some(denial) = request_xor_grant(write.object) {
                verdict.deny(denial);
                return verdict;
            }
            match OrgPairing::deserialize(write.object) {
                Ok(pairing) => {
                    let old = write.old.and_then(|o| OrgPairing::deserialize(o).ok());
                    check_pairing(&mut verdict, write, &pairing, old.as_ref(), view, now);
                }
                Err(e) => verdict.deny(format!("the OrgPairing cannot be read: {e}")),
            }
        }
        other => verdict.deny(format!("kind {other} is not served by this webhook")),
    }
    verdict
}

fn pointer<'a>(object: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
    object.pointer(&format!("/{}", field.replace('.', "/")))
}

fn check_link(
    v: &mut Verdict,
    w: &Write<'_>,
    link: &OrgLink,
    old: Option<&OrgLink>,
    view: &dyn ClusterView,
) {
    v.extend(peer_id(&link.spec.peer));
    if let Some(old) = old {
        v.extend(immutable(
            "spec.organizationRef",
            &old.spec.organization_ref,
            &link.spec.organization_ref,
        ));
        v.extend(immutable_peer(&old.spec.peer, &link.spec.peer));
    }
    let org = view.organization(w.namespace, &link.spec.organization_ref);
    match &org {
        None => v.warnings.push(missing_organization(
            w.namespace,
            &link.spec.organization_ref,
        )),
        Some(org) => {
            v.extend(peer_is_self(org, &link.spec.peer));
            v.extend(link_region_not_linkable(org, &link.spec.peer));
        }
    }
    let relationship = Relationship::new(
        RelationshipKind::Link,
        w.namespace,
        &link.spec.organization_ref,
        &link.spec.peer.organization_id,
    );
    v.extend(second_side(
        "OrgLink",
        &link.spec.organization_ref,
        &link.spec.peer.organization_id,
        view.manager(&relationship, w.name).as_deref(),
    ));
}

fn check_pairing(
    v: &mut Verdict,
    w: &Write<'_>,
    pairing: &OrgPairing,
    old: Option<&OrgPairing>,
    view: &dyn ClusterView,
    now: Timestamp,
) {
    let spec = &pairing.spec;
    v.extend(peer_id(&spec.peer));
    if let Some(request) = &spec.request {
        v.extend(empty_request(
            request.users.len() + request.user_emails.len(),
            request.groups.len() + request.group_names.len(),
        ));
        let users_field = if request.user_emails.is_empty() {
            "spec.request.users"
        } else {
            "spec.request.users and spec.request.userEmails"
        };
        v.extend(too_many_users(
            users_field,
            request.users.len() + request.user_emails.len(),
        ));
        v.extend(ids(
            "spec.request.users",
            request.users.iter().map(String::as_str),
        ));
        v.extend(ids(
            "spec.request.groups",
            request.groups.iter().map(String::as_str),
        ));
        v.extend(emails(
            "spec.request.userEmails",
            request.user_emails.iter().map(String::as_str),
        ));
    }
    if let Some(grant) = &spec.grant {
        v.extend(too_many_users("spec.grant.users", grant.users.len()));
        v.extend(subjects(
            "spec.grant.users",
            SubjectKind::User,
            &grant.users,
        ));
        v.extend(subjects(
            "spec.grant.groups",
            SubjectKind::Group,
            &grant.groups,
        ));
        for (field, list) in [
            ("spec.grant.users", &grant.users),
            ("spec.grant.groups", &grant.groups),
        ] {
            for (i, s) in list.iter().enumerate() {
                for (j, role) in s.roles.iter().enumerate() {
                    v.extend(role_divisions(
                        &format!("{field}[{i}].roles[{j}].divisions"),
                        &role.divisions,
                    ));
                }
            }
        }
        v.warnings.extend(admin_without_expiry(grant));
        let old_expiry = old
            .and_then(|o| o.spec.grant.as_ref())
            .and_then(|g| g.expires_at.as_ref());
        if let Some(expires) = &grant.expires_at
            && Some(expires) != old_expiry
        {
            v.extend(expires_in_past(expires.0, now));
        }
    }
    if let Some(old) = old {
        v.extend(immutable(
            "spec.organizationRef",
            &old.spec.organization_ref,
            &spec.organization_ref,
        ));
        v.extend(immutable_peer(&old.spec.peer, &spec.peer));
        v.extend(side_changed(
            old.spec.request.is_some(),
            spec.request.is_some(),
        ));
    }
    match view.organization(w.namespace, &spec.organization_ref) {
        None => v
            .warnings
            .push(missing_organization(w.namespace, &spec.organization_ref)),
        Some(org) => {
            v.extend(peer_is_self(&org, &spec.peer));
            v.extend(pairing_across_regions(&org, &spec.peer));
        }
    }
    let (kind, label) = if spec.request.is_some() {
        (
            RelationshipKind::PairingRequest,
            "OrgPairing (request side)",
        )
    } else {
        (RelationshipKind::PairingGrant, "OrgPairing (grant side)")
    };
    let relationship = Relationship::new(
        kind,
        w.namespace,
        &spec.organization_ref,
        &spec.peer.organization_id,
    );
    v.extend(second_side(
        label,
        &spec.organization_ref,
        &spec.peer.organization_id,
        view.manager(&relationship, w.name).as_deref(),
    ));
}

// ---- the rules ----

/// A region must be one of Genesys Cloud's regions.
pub(crate) fn unknown_region(field: &str, value: Option<&serde_json::Value>) -> Option<String> {
    let value = value?;
    let code = value.as_str().unwrap_or_default();
    if Region::from_code(code).is_some() {
        return None;
    }
    Some(format!(
        "{field}: unknown region {value}; use one of: {}",
        valid_codes()
    ))
}

/// `spec.apiBaseUrl` must be where the operator may send credentials: a region host,
/// or on the `--allow-api-base-url` list (plain http only with `--allow-insecure-http`).
pub(crate) fn api_base_url_not_allowed(
    allowlist: &ApiBaseUrlAllowlist,
    api_base_url: Option<&str>,
) -> Option<String> {
    allowlist.check(api_base_url?).err()
}

/// The peer's org ID must be a canonical lower-case UUID.
pub(crate) fn peer_id(peer: &PeerRef) -> Option<String> {
    (!is_canonical_uuid(&peer.organization_id)).then(|| {
        format!(
            "spec.peer.organizationId: {:?} is not a canonical lower-case UUID; copy the org ID from Admin > Organization Settings (e.g. 0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d)",
            peer.organization_id
        )
    })
}

/// User and group IDs must be canonical UUIDs and listed once.
pub(crate) fn ids<'a>(field: &str, values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut denials = Vec::new();
    for (i, id) in values.enumerate() {
        if !is_canonical_uuid(id) {
            denials.push(format!("{field}[{i}]: {id:?} is not a canonical lower-case UUID; use the ID from Genesys Cloud"));
        }
        if !seen.insert(id) {
            denials.push(format!(
                "{field}[{i}]: {id} is listed more than once; list each ID once"
            ));
        }
    }
    denials
}

/// User emails must look like emails and be listed once (case-insensitively: Genesys
/// matches emails regardless of case).
pub(crate) fn emails<'a>(field: &str, values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut denials = Vec::new();
    for (i, email) in values.enumerate() {
        if !is_email(email) {
            denials.push(format!(
                "{field}[{i}]: {email:?} is not an email address; write the user's email as in Genesys Cloud (e.g. ana@example.com)"
            ));
        }
        if !seen.insert(email.to_lowercase()) {
            denials.push(format!(
                "{field}[{i}]: {email} is listed more than once; list each user once"
            ));
        }
    }
    denials
}

/// Each trustee subject of a grant is named by exactly one of `id`, `email` (users) or
/// `name` (groups), in a valid form, and no subject is listed twice.
pub(crate) fn subjects(field: &str, kind: SubjectKind, list: &[GrantSubject]) -> Vec<String> {
    let (what, alt) = match kind {
        SubjectKind::User => ("user", "email"),
        SubjectKind::Group => ("group", "name"),
    };
    let mut seen = BTreeSet::new();
    let mut denials = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let named = [s.id.is_some(), s.email.is_some(), s.name.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        let wrong = match kind {
            SubjectKind::User => s.name.as_ref().map(|_| "name"),
            SubjectKind::Group => s.email.as_ref().map(|_| "email"),
        };
        if let Some(wrong) = wrong {
            denials.push(format!(
                "{field}[{i}]: a {what} is named by id or {alt}, not {wrong}; use {{{alt}: ...}} or {{id: <uuid>}}"
            ));
            continue;
        }
        if named != 1 {
            denials.push(format!(
                "{field}[{i}]: name the {what} by exactly one of id or {alt} (e.g. {{{alt}: ...}}); {named} are set"
            ));
            continue;
        }
        if let Some(id) = &s.id
            && !is_canonical_uuid(id)
        {
            denials.push(format!(
                "{field}[{i}].id: {id:?} is not a canonical lower-case UUID; use the ID from Genesys Cloud or name the {what} by {alt}"
            ));
        }
        if let Some(email) = &s.email
            && !is_email(email)
        {
            denials.push(format!(
                "{field}[{i}].email: {email:?} is not an email address; write the user's email as in Genesys Cloud (e.g. ana@example.com)"
            ));
        }
        let key =
            s.id.clone()
                .or_else(|| s.email.as_ref().map(|e| e.to_lowercase()))
                .or_else(|| s.name.clone())
                .unwrap_or_default();
        if !seen.insert(key.clone()) {
            denials.push(format!(
                "{field}[{i}]: {key} is listed more than once; list each {what} once, with all its roles"
            ));
        }
    }
    denials
}

/// A role's `divisions`: each named once, and `*` (all divisions) alone, since a role
/// given in all divisions and in some is given in all.
pub(crate) fn role_divisions(field: &str, divisions: &[String]) -> Vec<String> {
    let mut denials = Vec::new();
    if divisions.len() > 1 && divisions.iter().any(|d| d == "*") {
        denials.push(format!(
            "{field}: \"*\" (all divisions) is listed with other divisions; keep \"*\" alone, or list only the divisions the role is for"
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, d) in divisions.iter().enumerate() {
        if d.trim().is_empty() {
            denials.push(format!(
                "{field}[{i}]: empty; name a division of this organization by name or ID, or \"*\" for all"
            ));
        } else if !seen.insert(d.as_str()) {
            denials.push(format!(
                "{field}[{i}]: {d:?} is listed more than once; list each division once"
            ));
        }
    }
    denials
}

/// Warns when a grant gives a role named like an administrator's ("Admin", "Master
/// Admin", "Billing Admin", …) with no `expiresAt`: least privilege says such access
/// should end by itself. A warning, not a denial: it may be intended.
pub(crate) fn admin_without_expiry(grant: &PairingGrant) -> Option<String> {
    if grant.expires_at.is_some() {
        return None;
    }
    let admin: BTreeSet<&str> = grant
        .users
        .iter()
        .chain(&grant.groups)
        .flat_map(|s| &s.roles)
        .filter_map(|r| r.name.as_deref())
        .filter(|name| is_admin_role(name))
        .collect();
    (!admin.is_empty()).then(|| {
        format!(
            "spec.grant gives {} without spec.grant.expiresAt: the peer keeps administrator access until someone revokes it; set expiresAt (RFC 3339) or grant a narrower role",
            admin.iter().map(|n| format!("role {n:?}")).collect::<Vec<_>>().join(", ")
        )
    })
}

/// True for a role name containing the word "admin" (any case): "Admin", "Master
/// Admin", "Telephony Admin", "admin-lite". "Administrator" counts too.
pub fn is_admin_role(name: &str) -> bool {
    name.split(|c: char| !c.is_alphanumeric()).any(|word| {
        let w = word.to_lowercase();
        w == "admin" || w == "administrator"
    })
}

/// At most 25 users per pairing.
pub(crate) fn too_many_users(field: &str, count: usize) -> Option<String> {
    (count > MAX_USERS).then(|| {
        format!(
            "{field}: {count} users listed; Genesys Cloud allows at most {MAX_USERS} authorized users per pairing (use groups for more people)"
        )
    })
}

/// Exactly one of request and grant (checked on the raw object, before typing).
pub(crate) fn request_xor_grant(object: &serde_json::Value) -> Option<String> {
    let has = |f: &str| {
        object
            .pointer(&format!("/spec/{f}"))
            .is_some_and(|v| !v.is_null())
    };
    match (has("request"), has("grant")) {
        (true, true) => Some("spec: both request and grant are set; set request on the trustee side (asking for access) or grant on the trustor side (giving it), not both".into()),
        (false, false) => Some("spec: neither request nor grant is set; set request (we ask the peer for access) or grant (we give the peer's pairing access)".into()),
        _ => None,
    }
}

/// A request must name someone.
pub(crate) fn empty_request(users: usize, groups: usize) -> Option<String> {
    (users == 0 && groups == 0).then(|| {
        "spec.request: no users and no groups; list at least one user (users by ID, userEmails by email) or group (groups by ID, groupNames by name) that needs access".to_string()
    })
}

/// organizationRef and peer cannot change.
pub(crate) fn immutable(field: &str, old: &str, new: &str) -> Option<String> {
    (old != new).then(|| {
        format!("{field}: changed from {old:?} to {new:?}; it is immutable: delete this object and create a new one")
    })
}

pub(crate) fn immutable_peer(old: &PeerRef, new: &PeerRef) -> Option<String> {
    (old != new).then(|| {
        format!(
            "spec.peer: changed from {}/{} to {}/{}; it is immutable: delete this object and create a new one",
            old.organization_id, old.region, new.organization_id, new.region
        )
    })
}

/// The side (request or grant) of an OrgPairing cannot change.
pub(crate) fn side_changed(old_is_request: bool, new_is_request: bool) -> Option<String> {
    (old_is_request != new_is_request).then(|| {
        "spec: an OrgPairing cannot switch between request and grant; delete it and create the other side as a new object".to_string()
    })
}

/// No link or pairing with oneself.
pub(crate) fn peer_is_self(org: &Organization, peer: &PeerRef) -> Option<String> {
    let own = org.status.as_ref()?.organization_id.as_deref()?;
    (own == peer.organization_id).then(|| {
        format!(
            "spec.peer.organizationId: {own} is the ID of Organization {} itself; name the other organization",
            org.metadata.name.clone().unwrap_or_default()
        )
    })
}

/// An OrgLink's peer region must be linkable by the org, when that is known.
pub(crate) fn link_region_not_linkable(org: &Organization, peer: &PeerRef) -> Option<String> {
    let linkable = &org.status.as_ref()?.linkable_regions;
    if linkable.is_empty() || linkable.iter().any(|r| r == peer.region.code()) {
        return None;
    }
    Some(format!(
        "spec.peer.region: Organization {} cannot link to region {}; it can link to: {}",
        org.metadata.name.clone().unwrap_or_default(),
        peer.region,
        linkable.join(", ")
    ))
}

/// Pairings only within one region.
pub(crate) fn pairing_across_regions(org: &Organization, peer: &PeerRef) -> Option<String> {
    (org.spec.region != peer.region).then(|| {
        format!(
            "spec.peer.region: {} differs from Organization {}'s region {}; authorized organizations must be in the same region",
            peer.region,
            org.metadata.name.clone().unwrap_or_default(),
            org.spec.region
        )
    })
}

/// One object per org, peer (and pairing side): `other` is another object managing
/// the same relationship, if the view knows one.
pub(crate) fn second_side(
    kind: &str,
    organization_ref: &str,
    peer: &str,
    other: Option<&str>,
) -> Option<String> {
    let other = other?;
    Some(format!(
        "spec.peer.organizationId: {kind} {other} already manages {organization_ref}'s relationship with {peer}; edit that object instead of adding a second one"
    ))
}

/// `expiresAt` must be in the future.
pub(crate) fn expires_in_past(expires: Timestamp, now: Timestamp) -> Option<String> {
    (expires <= now).then(|| {
        format!("spec.grant.expiresAt: {expires} is in the past; set a future time, or remove it for no expiry")
    })
}

/// The warning for an organizationRef that names nothing (GitOps may create it later).
pub(crate) fn missing_organization(namespace: &str, name: &str) -> String {
    format!(
        "spec.organizationRef: no Organization {name} in namespace {namespace} yet; nothing happens until it exists"
    )
}
