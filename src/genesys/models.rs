//! The JSON models of the Genesys Cloud Platform API v2 that the operator reads and writes,
//! with the exact wire names of `docs/genesys-api.md` (§3–§6).
//!
//! Rules every model follows, so that the real API (or a newer version of it) never breaks
//! the operator:
//! - unknown fields are ignored (no `deny_unknown_fields`): Genesys adds fields freely;
//! - everything the SDKs mark optional is an `Option` or a defaulted collection, and is left
//!   out when serializing (`skip_serializing_if`), so request bodies carry only what we mean;
//! - enums with a documented value set keep an `Unknown(String)` fallback
//!   ([`LinkStatus`]) so a new value is surfaced, not a decoding error;
//! - datetimes are ISO-8601 (`jiff::Timestamp`, read through [`super::wire_time`]), as the API
//!   sends them.
//!
//! Request and response models derive both `Serialize` and `Deserialize` so the simulated
//! Genesys Cloud can share them.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------
// Organizations (§3)
// ---------------------------------------------------------------------------------------

/// `Organization`: the body of `GET /api/v2/organizations/me`, and nested in trusts and
/// pairings (where Genesys may send only a few of the fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The organization ID (a UUID).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_country_code: Option<String>,
    /// The short name: globally unique, cannot be changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) third_party_org_name: Option<String>,
    #[serde(
        rename = "thirdPartyURI",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) third_party_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) features: Option<BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
    /// `active`, `inactive` or `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_site_id: Option<String>,
    #[serde(
        rename = "supportURI",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) support_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) voicemail_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) product_platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `OrgUser`: a user as nested in pairings and trusts (`createdBy`, `users`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUser {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Voice organization links (§5.2)
// ---------------------------------------------------------------------------------------

/// The `status` of an organization link. `Pending` is (per §5.2, inferred) an outgoing
/// request awaiting the other side, `ApprovalPending` an incoming one awaiting this org.
/// A value not in the documented set is kept verbatim in [`LinkStatus::Unknown`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LinkStatus {
    Approved,
    Pending,
    ApprovalPending,
    Rejected,
    /// A value this version of the operator does not know.
    Unknown(String),
}

impl LinkStatus {
    /// The wire spelling.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            LinkStatus::Approved => "Approved",
            LinkStatus::Pending => "Pending",
            LinkStatus::ApprovalPending => "ApprovalPending",
            LinkStatus::Rejected => "Rejected",
            LinkStatus::Unknown(other) => other,
        }
    }
}

impl From<String> for LinkStatus {
    fn from(value: String) -> Self {
        match value.as_str() {
            "Approved" => LinkStatus::Approved,
            "Pending" => LinkStatus::Pending,
            "ApprovalPending" => LinkStatus::ApprovalPending,
            "Rejected" => LinkStatus::Rejected,
            _ => LinkStatus::Unknown(value),
        }
    }
}

impl From<LinkStatus> for String {
    fn from(value: LinkStatus) -> Self {
        match value {
            LinkStatus::Unknown(other) => other,
            known => known.as_str().to_string(),
        }
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `CreateOrganizationLink`: body of `POST /api/v2/telephony/organization/link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateOrganizationLink {
    /// The org asked to link.
    pub(crate) target_organization_id: String,
    /// The AWS region code the target is hosted in, e.g. `us-east-1`.
    pub(crate) target_region: String,
}

/// `OrganizationLink`: response of `POST /api/v2/telephony/organization/link`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationLink {
    #[serde(default)]
    pub source_organization_id: String,
    #[serde(default)]
    pub target_organization_id: String,
    #[serde(default)]
    pub source_region: String,
    #[serde(default)]
    pub target_region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LinkStatus>,
}

/// `OrganizationLinkResponse`: one item of `GET /api/v2/telephony/organization/link` (a
/// bare array). Every field is optional in the SDK schema.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationLinkResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_organization_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_organization_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_region: Option<String>,
    /// The name of the linking organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LinkStatus>,
}

/// `OrganizationLinkApprovalRequest`: body of
/// `PATCH /api/v2/telephony/organization/link/approve/{requestingOrganizationId}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganizationLinkApprovalRequest {
    /// `true` approves, `false` rejects.
    pub(crate) approval: bool,
}

/// `RegionResponse`: one item of `GET /api/v2/telephony/organization/link/regions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionResponse {
    /// A region the caller may link to, e.g. `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Authorized organizations (§4.4)
// ---------------------------------------------------------------------------------------

/// `TrustRequestCreate`: body of `POST /api/v2/orgauthorization/pairings`. At least one
/// user or one group must be named.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrustRequestCreate {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) user_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) group_ids: Vec<String>,
}

/// `TrustRequest`: a pairing. Its `id` is the pairing ID; it expires 48 h after
/// `dateCreated`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustRequest {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created_by: Option<OrgUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub date_created: Option<Timestamp>,
    /// The trustee organization that generated the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustee: Option<Organization>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<OrgUser>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<TrustGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `RoleDivisionPair`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDivisionPair {
    pub role_id: String,
    pub division_id: String,
}

/// `RoleDivisionGrants`: body of `PUT .../roledivisions` and part of `TrustMemberCreate`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDivisionGrants {
    #[serde(default)]
    pub grants: Vec<RoleDivisionPair>,
}

/// `TrustMemberCreate`: a trustee user or group (by ID) with the trustor's roles to grant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustMemberCreate {
    /// The trustee user or group ID.
    pub id: String,
    /// Trustor role IDs, granted in all divisions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_divisions: Option<RoleDivisionGrants>,
}

/// `TrustCreate`: body of `POST /api/v2/orgauthorization/trustees` (the trustor accepts a
/// pairing).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustCreate {
    /// Proves that the trustee agrees; required except for Customer Care default trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_id: Option<String>,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<TrustMemberCreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<TrustMemberCreate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub date_expired: Option<Timestamp>,
}

/// `TrustUpdate`: body of `PUT /api/v2/orgauthorization/trustees/{trusteeOrgId}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustUpdate {
    /// When false no trustee user has access, though users and roles are kept.
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub date_expired: Option<Timestamp>,
}

/// `Trustee`: the trustor's view of a trust. `id` is the trustee org ID.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trustee {
    pub id: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) uses_default_role: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) has_full_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) is_trusted_user: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub(crate) date_created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub date_expired: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created_by: Option<OrgUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) organization: Option<Organization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `TrusteeAuthorization`: what trustee users may do in the trustor org.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrusteeAuthorization {
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// `Trustor`: the trustee's view of a trust. `id` is the trustor org ID.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trustor {
    pub id: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub(crate) date_created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created_by: Option<OrgUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) organization: Option<Organization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<TrusteeAuthorization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `DomainRole`: a role reference `{id, name}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainRole {
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
}

/// `UserAuthorization`: the roles (and resulting permissions) of a trusted user or group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAuthorization {
    #[serde(default)]
    pub roles: Vec<DomainRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) unused_roles: Vec<DomainRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// `ResourcePermissionPolicy[]`, kept as raw JSON: the operator never interprets it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) permission_policies: Vec<serde_json::Value>,
}

impl UserAuthorization {
    /// The IDs of the granted roles.
    pub fn role_ids(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.id.clone()).collect()
    }
}

/// `trustUserDetails` of a `TrustUser`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrustUserDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub(crate) date_created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created_by: Option<OrgUser>,
}

/// `TrustUser`: a trustee user in a trust. Genesys sends a full user object; this is the
/// subset the operator needs (the rest is ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustUser {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<UserAuthorization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) trust_user_details: Option<TrustUserDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `TrustGroup`: a trustee group in a trust or pairing (subset of the full group object).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustGroup {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// `official` or `social`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rules_visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) member_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub(crate) date_modified: Option<Timestamp>,
    /// When the group was added to the trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "super::wire_time")]
    pub(crate) date_created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created_by: Option<OrgUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Roles and divisions
// ---------------------------------------------------------------------------------------

/// `OrganizationRole`: one item of `GET /api/v2/authorization/roles`, used to resolve role
/// names to IDs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRole {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_role_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) role_needs_update: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `AuthzDivision`: one item of `GET /api/v2/authorization/divisions`, used to resolve
/// division names to the IDs a role grant takes (`RoleDivisionPair.divisionId`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Division {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// Whether this is the org's home division (every org has exactly one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_division: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Paging, errors, OAuth (§6, §2.1)
// ---------------------------------------------------------------------------------------

/// The classic paged listing (`TrustEntityListing`, `TrustorEntityListing`,
/// `TrustUserEntityListing`, `TrustGroupEntityListing`, `OrganizationRoleEntityListing`,
/// `AuthzDivisionEntityListing`).
/// `pageNumber` is 1-based.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) first_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Listing {
            entities: Vec::new(),
            page_size: None,
            page_number: None,
            total: None,
            page_count: None,
            first_uri: None,
            next_uri: None,
            previous_uri: None,
            last_uri: None,
            self_uri: None,
        }
    }
}

/// One entry of `ErrorBody.details`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) field_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) entity_name: Option<String>,
}

/// `ErrorBody.limit`: the limit that was hit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<i64>,
}

/// `ErrorBody`: the body of every Genesys API error (§6.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    /// A stable code, e.g. `too.many.requests.retry.after`, `not.found`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) entity_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message_with_params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message_params: Option<BTreeMap<String, String>>,
    /// The correlation ID (also in the `ININ-Correlation-Id` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) details: Vec<ErrorDetail>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) errors: Vec<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<ErrorLimit>,
}

/// The OAuth token endpoint's response, success or error (§2.1). Wire names are
/// snake_case, as OAuth specifies.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_type: Option<String>,
    /// Lifetime in seconds. Read leniently (see [`lenient_seconds`]): the token is
    /// what matters, and a nonsense lifetime must not hide it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_seconds"
    )]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    /// e.g. `invalid_client`, `invalid_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Genesys spells the explanation `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// The RFC 6749 spelling of the explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_description: Option<String>,
}

/// A count of seconds from a remote: a negative number is 0, a fraction or a number
/// beyond `u64` saturates (`1e20` → `u64::MAX`), and anything that is not a number
/// (a string, an object, NaN) is `None`. Callers clamp the value to their own range.
fn lenient_seconds<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_i64()
                .map(|_| 0) // a negative integer
                .or_else(|| n.as_f64().filter(|f| !f.is_nan()).map(|f| f as u64))
        }),
        _ => None,
    })
}

impl TokenResponse {
    /// The error explanation, whichever field carries it.
    pub(crate) fn error_text(&self) -> Option<&str> {
        self.error_description
            .as_deref()
            .or(self.description.as_deref())
    }
}

/// Tokens are secrets: `Debug` shows only whether one is present.
impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("TokenResponse")
            .field("access_token", &redact(&self.access_token))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &redact(&self.refresh_token))
            .field("error", &self.error)
            .field("description", &self.description)
            .field("error_description", &self.error_description)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// Users and groups search (§4.6)
// ---------------------------------------------------------------------------------------

/// `UserSearchCriteria` / `GroupSearchCriteria`: one clause of a search query. `type`
/// is `EXACT`, `CONTAINS`, `STARTS_WITH`, … ; `fields` the fields it applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchCriteria {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// `UserSearchRequest` / `GroupSearchRequest`: body of `POST /api/v2/users/search` and
/// `POST /api/v2/groups/search` (the subset the operator sends; `sortBy`, `expand`, …
/// are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    #[serde(default)]
    pub query: Vec<SearchCriteria>,
}

/// `UsersSearchResponse` / `GroupsSearchResponse`: one page of results. Genesys leaves
/// `results` out when nothing matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<T>,
}

/// `User` (subset): a user of our own org, as the users search returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

/// `Group` (subset): a group of our own org, as the groups search returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_uri: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn organization_me_with_every_documented_field_and_extras() {
        let body = json!({
            "id": "96fe284b-6172-47f7-bd08-b439e763686c",
            "name": "Acme Prod",
            "defaultLanguage": "en-us",
            "defaultCountryCode": "US",
            "thirdPartyOrgName": "acme-prod",
            "thirdPartyURI": "https://acme.example",
            "domain": "acme",
            "features": {"purecloud": true, "realtimeCIC": false},
            "version": 12,
            "state": "active",
            "defaultSiteId": "site-1",
            "supportURI": "https://support.example",
            "voicemailEnabled": true,
            "productPlatform": "PureCloud",
            "selfUri": "/api/v2/organizations/96fe284b-6172-47f7-bd08-b439e763686c",
            "someFutureField": {"nested": [1, 2, 3]}
        });
        let org: Organization = serde_json::from_value(body).unwrap();
        assert_eq!(org.id, "96fe284b-6172-47f7-bd08-b439e763686c");
        assert_eq!(org.name.as_deref(), Some("Acme Prod"));
        assert_eq!(org.third_party_org_name.as_deref(), Some("acme-prod"));
        assert_eq!(org.third_party_uri.as_deref(), Some("https://acme.example"));
        assert_eq!(org.support_uri.as_deref(), Some("https://support.example"));
        assert!(org.features.as_ref().unwrap()["purecloud"]);
        assert_eq!(org.version, Some(12));
        assert_eq!(org.voicemail_enabled, Some(true));
        // Round trip keeps the odd URI spellings.
        let back = serde_json::to_value(&org).unwrap();
        assert_eq!(back["thirdPartyURI"], "https://acme.example");
        assert_eq!(back["supportURI"], "https://support.example");
        assert!(back.get("someFutureField").is_none());
    }

    #[test]
    fn link_status_known_values_and_unknown_fallback() {
        for s in ["Approved", "Pending", "ApprovalPending", "Rejected"] {
            let st: LinkStatus = serde_json::from_value(json!(s)).unwrap();
            assert!(!matches!(st, LinkStatus::Unknown(_)), "{s}");
            assert_eq!(serde_json::to_value(&st).unwrap(), json!(s));
        }
        let st: LinkStatus = serde_json::from_value(json!("Suspended")).unwrap();
        assert_eq!(st, LinkStatus::Unknown("Suspended".into()));
        assert_eq!(serde_json::to_value(&st).unwrap(), json!("Suspended"));
        assert_eq!(st.to_string(), "Suspended");
    }

    #[test]
    fn organization_link_models() {
        let create = CreateOrganizationLink {
            target_organization_id: "t".into(),
            target_region: "us-east-1".into(),
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            json!({"targetOrganizationId": "t", "targetRegion": "us-east-1"})
        );

        let link: OrganizationLink = serde_json::from_value(json!({
            "sourceOrganizationId": "s", "targetOrganizationId": "t",
            "sourceRegion": "us-east-1", "targetRegion": "eu-west-1",
            "status": "Pending", "linkId": "extra"
        }))
        .unwrap();
        assert_eq!(link.status, Some(LinkStatus::Pending));
        assert_eq!(link.target_region, "eu-west-1");

        let list: Vec<OrganizationLinkResponse> = serde_json::from_value(json!([
            {"sourceOrganizationId": "s", "targetOrganizationId": "t",
             "sourceRegion": "us-east-1", "targetRegion": "us-east-1",
             "targetName": "Beta", "status": "ApprovalPending", "x": 1},
            {"targetOrganizationId": "u", "status": "SomethingNew"},
            {}
        ]))
        .unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].target_name.as_deref(), Some("Beta"));
        assert_eq!(list[0].status, Some(LinkStatus::ApprovalPending));
        assert_eq!(
            list[1].status,
            Some(LinkStatus::Unknown("SomethingNew".into()))
        );
        assert_eq!(list[2], OrganizationLinkResponse::default());

        assert_eq!(
            serde_json::to_value(OrganizationLinkApprovalRequest { approval: false }).unwrap(),
            json!({"approval": false})
        );
        let regions: Vec<RegionResponse> = serde_json::from_value(
            json!([{"regionName": "us-east-1"}, {"regionName": "us-west-2", "z": null}]),
        )
        .unwrap();
        assert_eq!(regions[1].region_name.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn pairing_request_and_response() {
        let create = TrustRequestCreate {
            user_ids: vec!["u1".into()],
            group_ids: vec![],
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            json!({"userIds": ["u1"]})
        );

        let pairing: TrustRequest = serde_json::from_value(json!({
            "id": "p-1",
            "createdBy": {"id": "admin", "name": "Admin", "selfUri": "/api/v2/users/admin"},
            "dateCreated": "2026-03-01T10:00:00.000Z",
            "trustee": {"id": "org-a", "name": "Acme"},
            "users": [{"id": "u1", "name": "Ann", "state": "active", "version": 1, "extra": true}],
            "groups": [{"id": "g1", "name": "Ops", "type": "official", "rulesVisible": true,
                        "visibility": "public", "memberCount": 3, "images": [], "owners": []}],
            "selfUri": "/api/v2/orgauthorization/pairings/p-1",
            "newThing": 42
        }))
        .unwrap();
        assert_eq!(pairing.id, "p-1");
        assert_eq!(pairing.date_created, Some(ts("2026-03-01T10:00:00Z")));
        assert_eq!(pairing.trustee.as_ref().unwrap().id, "org-a");
        assert_eq!(pairing.users[0].name.as_deref(), Some("Ann"));
        assert_eq!(pairing.groups[0].kind.as_deref(), Some("official"));
        assert_eq!(pairing.groups[0].member_count, Some(3));
        assert_eq!(pairing.created_by.unwrap().id, "admin");
    }

    #[test]
    fn trust_create_and_update_bodies() {
        let body = TrustCreate {
            pairing_id: Some("p-1".into()),
            enabled: true,
            users: vec![TrustMemberCreate {
                id: "u1".into(),
                role_ids: vec!["r1".into()],
                role_divisions: None,
            }],
            groups: vec![TrustMemberCreate {
                id: "g1".into(),
                role_ids: vec![],
                role_divisions: Some(RoleDivisionGrants {
                    grants: vec![RoleDivisionPair {
                        role_id: "r2".into(),
                        division_id: "*".into(),
                    }],
                }),
            }],
            date_expired: Some(ts("2026-04-01T00:00:00Z")),
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            json!({
                "pairingId": "p-1",
                "enabled": true,
                "users": [{"id": "u1", "roleIds": ["r1"]}],
                "groups": [{"id": "g1", "roleDivisions": {"grants": [{"roleId": "r2", "divisionId": "*"}]}}],
                "dateExpired": "2026-04-01T00:00:00Z"
            })
        );
        let back: TrustCreate = serde_json::from_value(v).unwrap();
        assert_eq!(back, body);

        assert_eq!(
            serde_json::to_value(TrustUpdate {
                enabled: false,
                date_expired: None
            })
            .unwrap(),
            json!({"enabled": false})
        );
    }

    #[test]
    fn trustee_and_trustor() {
        let trustee: Trustee = serde_json::from_value(json!({
            "id": "org-a", "enabled": true, "usesDefaultRole": false, "hasFullAccess": false,
            "isTrustedUser": false, "dateCreated": "2026-03-01T10:00:00Z",
            "dateExpired": "2026-06-01T00:00:00.000Z",
            "createdBy": {"id": "admin"}, "organization": {"id": "org-a", "name": "Acme"},
            "selfUri": "/api/v2/orgauthorization/trustees/org-a", "unknown": "x"
        }))
        .unwrap();
        assert!(trustee.enabled);
        assert_eq!(trustee.date_expired, Some(ts("2026-06-01T00:00:00Z")));
        assert_eq!(trustee.organization.unwrap().name.as_deref(), Some("Acme"));

        let trustor: Trustor = serde_json::from_value(json!({
            "id": "org-b", "enabled": false, "dateCreated": "2026-03-01T10:00:00Z",
            "organization": {"id": "org-b"},
            "authorization": {"permissions": ["directory:user:view", "routing:queue:view"]},
            "selfUri": "/api/v2/orgauthorization/trustors/org-b"
        }))
        .unwrap();
        assert!(!trustor.enabled);
        assert_eq!(trustor.authorization.unwrap().permissions.len(), 2);
    }

    #[test]
    fn trust_user_group_and_user_authorization() {
        let user: TrustUser = serde_json::from_value(json!({
            "id": "u1", "name": "Ann", "email": "ann@acme.example", "username": "ann",
            "state": "active", "version": 3,
            "division": {"id": "d", "name": "Home"},
            "authorization": {
                "roles": [{"id": "r1", "name": "Supervisor"}],
                "unusedRoles": [],
                "permissions": ["routing:queue:view"],
                "permissionPolicies": [{"domain": "routing", "entityName": "queue"}]
            },
            "trustUserDetails": {"dateCreated": "2026-03-01T10:00:00Z", "createdBy": {"id": "admin"}},
            "groups": [], "selfUri": "/api/v2/users/u1"
        }))
        .unwrap();
        let auth = user.authorization.as_ref().unwrap();
        assert_eq!(auth.role_ids(), vec!["r1".to_string()]);
        assert_eq!(auth.permission_policies.len(), 1);
        assert_eq!(
            user.trust_user_details.unwrap().created_by.unwrap().id,
            "admin"
        );

        let roles: UserAuthorization = serde_json::from_value(json!({"roles": []})).unwrap();
        assert!(roles.roles.is_empty() && roles.permissions.is_empty());

        let group: TrustGroup = serde_json::from_value(json!({
            "id": "g1", "name": "Ops", "type": "official", "rulesVisible": true,
            "visibility": "members", "dateCreated": "2026-03-01T10:00:00Z",
            "dateModified": "2026-03-01T09:00:00Z", "state": "active", "version": 2,
            "addresses": [], "callsEnabled": false, "createdBy": {"id": "admin"}
        }))
        .unwrap();
        assert_eq!(group.visibility.as_deref(), Some("members"));
        assert_eq!(
            serde_json::to_value(&group).unwrap()["type"],
            json!("official")
        );
    }

    #[test]
    fn listing_of_trustees_and_roles() {
        let page: Listing<Trustee> = serde_json::from_value(json!({
            "entities": [{"id": "org-a", "enabled": true}],
            "pageSize": 25, "pageNumber": 1, "total": 26, "pageCount": 2,
            "firstUri": "/api/v2/orgauthorization/trustees?pageSize=25&pageNumber=1",
            "nextUri": "/api/v2/orgauthorization/trustees?pageSize=25&pageNumber=2",
            "lastUri": "/api/v2/orgauthorization/trustees?pageSize=25&pageNumber=2",
            "selfUri": "/api/v2/orgauthorization/trustees?pageSize=25&pageNumber=1",
            "previousUri": null
        }))
        .unwrap();
        assert_eq!(page.entities.len(), 1);
        assert_eq!(page.page_count, Some(2));
        assert_eq!(page.total, Some(26));
        assert!(page.next_uri.is_some() && page.previous_uri.is_none());

        let roles: Listing<OrganizationRole> = serde_json::from_value(json!({
            "entities": [{"id": "r1", "name": "Supervisor", "permissions": ["a:b:c"],
                          "permissionPolicies": [], "userCount": 4, "default": false,
                          "base": false, "selfUri": "/api/v2/authorization/roles/r1"}],
            "pageSize": 25, "pageNumber": 1, "total": 1, "pageCount": 1
        }))
        .unwrap();
        assert_eq!(roles.entities[0].name, "Supervisor");
        assert_eq!(roles.entities[0].user_count, Some(4));

        let divisions: Listing<Division> = serde_json::from_value(json!({
            "entities": [{"id": "d1", "name": "Home", "description": "", "homeDivision": true,
                          "objectCounts": {"queues": 3}, "selfUri": "/api/v2/authorization/divisions/d1"},
                         {"id": "d2", "name": "Sales"}],
            "pageSize": 25, "pageNumber": 1, "total": 2, "pageCount": 1
        }))
        .unwrap();
        assert_eq!(divisions.entities[0].home_division, Some(true));
        assert_eq!(divisions.entities[1].name, "Sales");
        assert_eq!(divisions.entities[1].home_division, None);

        let empty: Listing<Trustee> = serde_json::from_value(json!({})).unwrap();
        assert!(empty.entities.is_empty());
    }

    #[test]
    fn error_body_429_shape_from_the_announcement() {
        let err: ErrorBody = serde_json::from_value(json!({
            "message": "Rate limit exceeded the maximum. Retry the request in [42] seconds",
            "code": "too.many.requests.retry.after",
            "status": 429,
            "contextId": "c0ffee",
            "details": [],
            "errors": [],
            "limit": {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": 300},
            "messageWithParams": "Retry the request in [{seconds}] seconds",
            "messageParams": {"seconds": "42"},
            "extraThing": 1
        }))
        .unwrap();
        assert_eq!(err.code.as_deref(), Some("too.many.requests.retry.after"));
        assert_eq!(err.status, Some(429));
        assert_eq!(err.context_id.as_deref(), Some("c0ffee"));
        assert_eq!(err.limit.unwrap().value, Some(300));
        assert_eq!(err.message_params.unwrap()["seconds"], "42");

        let nested: ErrorBody = serde_json::from_value(json!({
            "message": "bad", "code": "bad.request", "status": 400,
            "details": [{"errorCode": "x", "fieldName": "userIds"}],
            "errors": [{"message": "inner", "code": "inner.code"}]
        }))
        .unwrap();
        assert_eq!(nested.details[0].field_name.as_deref(), Some("userIds"));
        assert_eq!(nested.errors[0].code.as_deref(), Some("inner.code"));
    }

    #[test]
    fn token_response_success_error_and_redacted_debug() {
        let ok: TokenResponse = serde_json::from_value(json!({
            "access_token": "s3cr3t-token", "token_type": "bearer", "expires_in": 86399,
            "scope": "ignored"
        }))
        .unwrap();
        assert_eq!(ok.expires_in, Some(86399));
        // Absurd lifetimes still give the token (the client caps the lifetime).
        for (raw, expected) in [
            (json!(u64::MAX), Some(u64::MAX)),
            (json!(1e20), Some(u64::MAX)),
            (json!(-1), Some(0)),
            (json!(-1.5), Some(0)),
            (json!(12.7), Some(12)),
            (json!("3600"), None),
            (json!(null), None),
            (json!({"a": 1}), None),
        ] {
            let t: TokenResponse =
                serde_json::from_value(json!({"access_token": "t", "expires_in": raw.clone()}))
                    .unwrap();
            assert_eq!(t.expires_in, expected, "{raw}");
            assert_eq!(t.access_token.as_deref(), Some("t"));
        }
        let dbg = format!("{ok:?}");
        assert!(!dbg.contains("s3cr3t-token"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");

        let err: TokenResponse = serde_json::from_value(json!({
            "error": "invalid_request",
            "description": "rate limit exceeded; retry later",
            "error_description": "rate limit exceeded; retry later"
        }))
        .unwrap();
        assert_eq!(err.error.as_deref(), Some("invalid_request"));
        assert_eq!(err.error_text(), Some("rate limit exceeded; retry later"));
        let genesys_style: TokenResponse = serde_json::from_value(
            json!({"error": "invalid_client", "description": "client not found"}),
        )
        .unwrap();
        assert_eq!(genesys_style.error_text(), Some("client not found"));
    }
}
