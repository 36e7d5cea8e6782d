//! `OrgPairing` (short name `opair`): this org's side of one authorized-organization
//! pairing. Exactly one of `request` (we are the trustee) or `grant` (we are the trustor).

// kube's `printcolumn(...)` repeats `type_ = ...` once per column, which clippy takes for
// a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{EMAIL_PATTERN, PeerRef, UUID_PATTERN};

/// Genesys Cloud allows at most this many authorized users per pairing.
pub(crate) const MAX_USERS: usize = 25;

/// One authorized-organization pairing, seen from the referenced Organization.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "orglink.dev",
    version = "v1alpha1",
    kind = "OrgPairing",
    namespaced,
    status = "OrgPairingStatus",
    shortname = "opair",
    category = "genesys",
    derive = "PartialEq",
    doc = "This organization's side of a Genesys Cloud authorized-organization pairing.",
    printcolumn(name = "Organization", type_ = "string", json_path = ".spec.organizationRef"),
    printcolumn(name = "Side", type_ = "string", json_path = ".status.side"),
    printcolumn(name = "Peer", type_ = "string", json_path = ".spec.peer.organizationId"),
    printcolumn(name = "Pairing", type_ = "string", json_path = ".status.pairingId", priority = "1"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("has(self.spec.request) != has(self.spec.grant)").message("exactly one of spec.request (this org is the trustee asking for access) or spec.grant (this org is the trustor granting access) must be set")
)]
#[serde(rename_all = "camelCase")]
pub struct OrgPairingSpec {
    /// Name of the Organization (in this namespace) whose side this is. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.organizationRef is immutable: delete this OrgPairing and create a new one to pair another Organization"))]
    pub organization_ref: String,
    /// The org at the other end; it must be in the same region. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.peer is immutable: delete this OrgPairing and create a new one for another peer"))]
    pub peer: PeerRef,
    /// Trustee side: ask the peer for access for some of our users and groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<PairingRequest>,
    /// Trustor side: accept the peer's pairing and give its users and groups our roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<PairingGrant>,
}

/// The trustee's request: which of our users and groups need access to the peer.
///
/// Users may be named by ID (`users`) or by email (`userEmails`), groups by ID
/// (`groups`) or by name (`groupNames`): the operator looks names up in our org
/// (`POST /api/v2/users/search`, `POST /api/v2/groups/search`, docs/genesys-api.md §4.6)
/// and reports a name that matches no one or several in the `Ready` condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.users) ? size(self.users) : 0) + (has(self.groups) ? size(self.groups) : 0) + (has(self.userEmails) ? size(self.userEmails) : 0) + (has(self.groupNames) ? size(self.groupNames) : 0) > 0").message("spec.request names no users and no groups: list at least one user in spec.request.users (ID) or spec.request.userEmails, or one group in spec.request.groups (ID) or spec.request.groupNames"))]
#[x_kube(validation = Rule::new("(has(self.users) ? size(self.users) : 0) + (has(self.userEmails) ? size(self.userEmails) : 0) <= 25").message("spec.request.users and spec.request.userEmails name more than 25 users together; Genesys Cloud allows at most 25 authorized users per pairing: split them over groups"))]
pub struct PairingRequest {
    /// IDs of our users who need access (at most 25 with `userEmails`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25), inner(regex(pattern = UUID_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub users: Vec<String>,
    /// IDs of our groups who need access.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(regex(pattern = UUID_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub groups: Vec<String>,
    /// Emails of our users who need access, as an alternative to their IDs: each must
    /// match exactly one user of our org.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25), inner(length(min = 3, max = 254), regex(pattern = EMAIL_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub user_emails: Vec<String>,
    /// Names of our groups who need access, as an alternative to their IDs: each must
    /// match exactly one group of our org.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 256)), extend("x-kubernetes-list-type" = "set"))]
    pub group_names: Vec<String>,
}

/// The trustor's grant: accept a pairing and assign our roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.users) ? size(self.users) : 0) + (has(self.groups) ? size(self.groups) : 0) > 0").message("spec.grant names no users and no groups: list at least one trustee user in spec.grant.users or group in spec.grant.groups"))]
pub struct PairingGrant {
    /// The pairing ID the trustee handed over; checked to come from `peer`. Omit it when
    /// the trustee's OrgPairing is in this cluster: the operator then accepts the
    /// `status.pairingId` of the OrgPairing that requests access from us with `peer` as
    /// its Organization (both naming each other is the consent), and follows its 48 h
    /// renewals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub pairing_id: Option<String>,
    /// `false` turns access off while keeping the roles.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// When the trust ends (RFC 3339). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Trustee users (by `id` or `email`) and the roles of ours they get (at most 25).
    /// Each user once: the webhook refuses duplicates (the list cannot be keyed by
    /// `id`, which an entry by email does not have, and a pairwise CEL rule would cost
    /// quadratic time on every write).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25))]
    #[x_kube(validation = Rule::new("self.all(s, !has(s.name))").message("spec.grant.users: a user is named by id or email, not name (name is for groups in spec.grant.groups)"))]
    pub users: Vec<GrantSubject>,
    /// Trustee groups (by `id` or `name`) and the roles of ours they get.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[x_kube(validation = Rule::new("self.all(s, !has(s.email))").message("spec.grant.groups: a group is named by id or name, not email (email is for users in spec.grant.users)"))]
    pub groups: Vec<GrantSubject>,
}

fn default_true() -> bool {
    true
}

/// A trustee user or group and the roles it gets in our org. Named by exactly one of
/// `id`, `email` (users) or `name` (groups); an email or name is matched among the
/// users and groups the trustee put in the pairing (or the trust), since the trustor
/// cannot search the trustee's directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.id) ? 1 : 0) + (has(self.email) ? 1 : 0) + (has(self.name) ? 1 : 0) == 1").message("a trustee subject names exactly one of id (e.g. {id: <uuid>}), email (users, e.g. {email: ana@example.com}) or name (groups, e.g. {name: Tier 1 Support})"))]
pub struct GrantSubject {
    /// The trustee org's user or group ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 36), regex(pattern = UUID_PATTERN))]
    pub id: Option<String>,
    /// A trustee user's email (users only), matched case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 254), regex(pattern = EMAIL_PATTERN))]
    pub email: Option<String>,
    /// A trustee group's name (groups only), matched exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub name: Option<String>,
    /// Roles of our org, by name or ID. None: authorized, but can do nothing here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub roles: Vec<RoleRef>,
}

/// A role of the trustor org, by exactly one of name or ID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.name) != has(self.id)").message("a role names exactly one of name (e.g. {name: Supervisor}) or id (e.g. {id: <role uuid>})"))]
pub struct RoleRef {
    /// Divisions of our org the role is given in, each by name or ID, `*` for all.
    /// Empty (the default): all divisions, as Genesys gives a role without divisions.
    /// Least privilege: a supervisor of one business unit needs its division only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    #[x_kube(validation = Rule::new("self.all(d, size(d) >= 1 && size(d) <= 256)").message("a division is named by its name or ID (1 to 256 characters), or * for all divisions"))]
    pub divisions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub id: Option<String>,
}

/// Which side of the pairing this object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PairingSide {
    /// We asked for access (`spec.request`).
    Trustee,
    /// We grant access (`spec.grant`).
    Trustor,
}

impl PairingSide {
    /// The side as users see it in `kubectl orglink` and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PairingSide::Trustee => "Trustee",
            PairingSide::Trustor => "Trustor",
        }
    }
}

/// Where the pairing stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OrgPairingPhase {
    Requesting,
    WaitingForConfirmation,
    Authorized,
    Disabled,
    Revoked,
    Expired,
    Error,
}

impl OrgPairingPhase {
    /// The phase as users see it: in `status.phase`, Event reasons and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgPairingPhase::Requesting => "Requesting",
            OrgPairingPhase::WaitingForConfirmation => "WaitingForConfirmation",
            OrgPairingPhase::Authorized => "Authorized",
            OrgPairingPhase::Disabled => "Disabled",
            OrgPairingPhase::Revoked => "Revoked",
            OrgPairingPhase::Expired => "Expired",
            OrgPairingPhase::Error => "Error",
        }
    }
}

impl std::fmt::Display for OrgPairingPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kind of a granted subject.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum SubjectKind {
    User,
    Group,
}

impl SubjectKind {
    /// The kind as messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Group => "group",
        }
    }
}

/// What a trustee user or group holds in our org.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectStatus {
    pub kind: SubjectKind,
    pub id: String,
    /// Role IDs granted.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `all` when every role is given in all divisions, else `scoped` (see
    /// `scopedRoles`).
    pub divisions: String,
    /// The roles given in some divisions only, with their division IDs, as last given
    /// by the operator. Genesys Cloud does not show a trust member's divisions, so this
    /// is the operator's memory of them: a change of `divisions` in the spec is given
    /// again; a change made in the Genesys UI is not seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped_roles: Vec<ScopedRole>,
}

/// A role given in some divisions only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopedRole {
    pub role_id: String,
    pub division_ids: Vec<String>,
}

/// A pairing being asked for (`status.pairingRequested`): when, and for which users and
/// groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingIntent {
    /// When the operator was about to call `POST /orgauthorization/pairings`.
    pub requested_at: Time,
    /// The user IDs of that request, sorted.
    #[serde(default)]
    pub users: Vec<String>,
    /// The group IDs of that request, sorted.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// What the operator observed and did for this pairing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgPairingStatus {
    /// The `metadata.generation` this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<OrgPairingPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<PairingSide>,
    /// Trustee side: the pairing ID to hand to the trustor (also on an Event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_id: Option<String>,
    /// Trustee side: when the pairing was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_created_at: Option<Time>,
    /// Trustee side: when the pairing request expires (48 h after creation) unless accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_expires_at: Option<Time>,
    /// Trustee side: a pairing the operator is asking Genesys Cloud for, written before
    /// the call and removed with the status that records the new pairing's ID. Found
    /// after a restart, it means the operator stopped between the two: a pairing may
    /// exist whose ID nobody knows (Genesys Cloud cannot list pairings), so no second
    /// one is made for the same request until that one has lapsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_requested: Option<PairingIntent>,
    /// Trustee side: what the trustor granted, once authorized.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Trustor side: the trustee org's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustee_name: Option<String>,
    /// Trustee side: the trustor org's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustor_name: Option<String>,
    /// Trustor side: the roles each trustee user and group holds in our org.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<SubjectStatus>,
    /// `Ready`, `Authorized` and (trustor side) `RolesAssigned`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl OrgPairingSpec {
    /// The side this spec declares (`None` only for an invalid spec with both or neither).
    pub fn side(&self) -> Option<PairingSide> {
        match (&self.request, &self.grant) {
            (Some(_), None) => Some(PairingSide::Trustee),
            (None, Some(_)) => Some(PairingSide::Trustor),
            _ => None,
        }
    }
}

#[cfg(test)]
mod phase_tests {
    use super::OrgPairingPhase::*;

    #[test]
    fn a_phase_reads_as_it_is_written_in_status() {
        for phase in [
            Requesting,
            WaitingForConfirmation,
            Authorized,
            Disabled,
            Revoked,
            Expired,
            Error,
        ] {
            let wire = serde_json::to_value(phase).unwrap();
            assert_eq!(wire.as_str(), Some(phase.as_str()));
            assert_eq!(phase.to_string(), phase.as_str());
        }
    }
}
