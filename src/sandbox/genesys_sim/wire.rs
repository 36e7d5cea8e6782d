//! The JSON bodies the simulator reads and writes, with the wire names of
//! genesys-api.md §3–§5 (camelCase as in the SDKs' `attribute_map`).
//!
//! Request bodies keep IDs as strings so that a malformed one is answered with a 400 that
//! names the field, as Genesys does, rather than a generic decoding error.

use serde::{Deserialize, Serialize};

// ---- requests ----

/// `POST /telephony/organization/link`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrganizationLink {
    pub target_organization_id: Option<String>,
    pub target_region: Option<String>,
}

/// `PATCH /telephony/organization/link/approve/{id}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationLinkApprovalRequest {
    pub approval: Option<bool>,
}

/// `POST /orgauthorization/pairings`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustRequestCreate {
    #[serde(default)]
    pub user_ids: Vec<String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
}

/// One `RoleDivisionPair`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDivisionPair {
    pub role_id: String,
    pub division_id: String,
}

/// `RoleDivisionGrants` (body of `PUT .../roledivisions`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDivisionGrants {
    #[serde(default)]
    pub grants: Vec<RoleDivisionPair>,
}

/// `TrustMemberCreate`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustMemberCreate {
    pub id: Option<String>,
    #[serde(default)]
    pub role_ids: Vec<String>,
    #[serde(default)]
    pub role_divisions: Option<RoleDivisionGrants>,
}

/// `TrustCreate` (`POST /orgauthorization/trustees`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustCreate {
    pub pairing_id: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub users: Vec<TrustMemberCreate>,
    #[serde(default)]
    pub groups: Vec<TrustMemberCreate>,
    pub date_expired: Option<String>,
}

/// `TrustUpdate` (`PUT /orgauthorization/trustees/{id}`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustUpdate {
    pub enabled: Option<bool>,
    pub date_expired: Option<String>,
}

// ---- responses ----

/// `Organization` (`GET /organizations/me`, and nested in trusts and pairings).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub default_language: String,
    pub default_country_code: String,
    pub third_party_org_name: String,
    pub domain: String,
    pub version: i64,
    pub state: String,
    pub voicemail_enabled: bool,
    pub product_platform: String,
    pub features: serde_json::Map<String, serde_json::Value>,
    pub self_uri: String,
}

/// `OrganizationLink` (`POST /telephony/organization/link`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationLink {
    pub source_organization_id: String,
    pub target_organization_id: String,
    pub source_region: String,
    pub target_region: String,
    pub status: String,
}

/// `OrganizationLinkResponse` (items of `GET /telephony/organization/link`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationLinkResponse {
    pub source_organization_id: String,
    pub target_organization_id: String,
    pub source_region: String,
    pub target_region: String,
    pub target_name: String,
    pub status: String,
}

/// `RegionResponse`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionResponse {
    pub region_name: String,
}

/// `OrgUser` (users of a pairing).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUser {
    pub id: String,
    pub name: String,
    pub state: String,
    pub version: i64,
    pub self_uri: String,
}

/// `DomainRole`.
#[derive(Clone, Debug, Serialize)]
pub struct DomainRole {
    pub id: String,
    pub name: String,
}

/// `UserAuthorization` (roles of a trusted user or group).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAuthorization {
    pub roles: Vec<DomainRole>,
    pub unused_roles: Vec<DomainRole>,
    pub permissions: Vec<String>,
}

/// `trustUserDetails` / the trust details of a group.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustUserDetails {
    pub date_created: String,
}

/// `TrustUser`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustUser {
    pub id: String,
    pub name: String,
    pub state: String,
    pub version: i64,
    pub authorization: UserAuthorization,
    pub trust_user_details: TrustUserDetails,
    pub self_uri: String,
}

/// `TrustGroup`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustGroup {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub rules_visible: bool,
    pub visibility: String,
    pub state: String,
    pub version: i64,
    pub date_created: String,
    pub self_uri: String,
}

/// `TrustRequest` (a pairing).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustRequest {
    pub id: String,
    pub date_created: String,
    pub trustee: Organization,
    pub users: Vec<OrgUser>,
    pub groups: Vec<TrustGroup>,
    pub self_uri: String,
}

/// `Trustee` (the trustor's view of a trust).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trustee {
    pub id: String,
    pub enabled: bool,
    pub uses_default_role: bool,
    pub has_full_access: bool,
    pub is_trusted_user: bool,
    pub date_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_expired: Option<String>,
    pub organization: Organization,
    pub self_uri: String,
}

/// `TrusteeAuthorization`.
#[derive(Clone, Debug, Serialize)]
pub struct TrusteeAuthorization {
    pub permissions: Vec<String>,
}

/// `Trustor` (the trustee's view of a trust).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trustor {
    pub id: String,
    pub enabled: bool,
    pub date_created: String,
    pub organization: Organization,
    pub authorization: TrusteeAuthorization,
    pub self_uri: String,
}

/// `OrganizationRole` (`GET /authorization/roles`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRole {
    pub id: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub default: bool,
    pub base: bool,
    pub user_count: i64,
    pub self_uri: String,
}
