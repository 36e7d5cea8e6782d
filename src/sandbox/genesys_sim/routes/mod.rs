//! The axum handlers, one file per API area, and the renderings of state records as
//! wire models they share.
//!
//! Success statuses: 200 with a body for reads, creations and updates (Genesys answers
//! its POSTs with 200), 204 without a body for deletes and for the link approval PATCH
//! (documented as void).

pub mod links;
pub mod members;
pub mod oauth;
pub mod org;
pub mod pairings;
pub mod trustees;
pub mod trustors;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::error::ApiError;
use super::http::body_id;
use super::state::{MemberGrant, MemberKind, Org, Pairing, SimState, Trust, TrustMemberInput};
use super::wire;

/// Timestamps as Genesys writes them: ISO-8601, UTC, milliseconds, `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO-8601 date of a request body; 400 naming the field otherwise.
pub fn parse_timestamp(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_field(
                field,
                format!("{raw:?} is not an ISO-8601 date-time (e.g. 2026-12-31T00:00:00.000Z)"),
            )
        })
}

pub fn organization(org: &Org) -> wire::Organization {
    wire::Organization {
        id: org.id.to_string(),
        name: org.name.clone(),
        default_language: "en-us".into(),
        default_country_code: "US".into(),
        third_party_org_name: org.short_name(),
        domain: org.region.info().domain.to_string(),
        version: 1,
        state: "active".into(),
        voicemail_enabled: true,
        product_platform: "PureCloud".into(),
        features: serde_json::Map::new(),
        self_uri: format!("/api/v2/organizations/{}", org.id),
    }
}

/// The organization `id` (which exists: trusts and pairings only name seeded orgs).
fn org_of(state: &SimState, id: Uuid) -> wire::Organization {
    state
        .org(id)
        .map(organization)
        .unwrap_or_else(|| wire::Organization {
            id: id.to_string(),
            name: String::new(),
            default_language: String::new(),
            default_country_code: String::new(),
            third_party_org_name: String::new(),
            domain: String::new(),
            version: 1,
            state: "deleted".into(),
            voicemail_enabled: false,
            product_platform: String::new(),
            features: serde_json::Map::new(),
            self_uri: format!("/api/v2/organizations/{id}"),
        })
}

pub fn trustee_view(state: &SimState, trust: &Trust) -> wire::Trustee {
    wire::Trustee {
        id: trust.trustee.to_string(),
        enabled: trust.enabled,
        uses_default_role: false,
        has_full_access: false,
        is_trusted_user: false,
        date_created: timestamp(trust.created_at),
        date_expired: trust.date_expired.map(timestamp),
        organization: org_of(state, trust.trustee),
        self_uri: format!("/api/v2/orgauthorization/trustees/{}", trust.trustee),
    }
}

pub fn trustor_view(state: &SimState, trust: &Trust) -> wire::Trustor {
    wire::Trustor {
        id: trust.trustor.to_string(),
        enabled: trust.enabled,
        date_created: timestamp(trust.created_at),
        organization: org_of(state, trust.trustor),
        authorization: wire::TrusteeAuthorization {
            permissions: state.trust_permissions(trust),
        },
        self_uri: format!("/api/v2/orgauthorization/trustors/{}", trust.trustor),
    }
}

/// The roles a member holds and, while the trust is enabled, their permissions.
pub fn member_authorization(
    state: &SimState,
    trust: &Trust,
    grant: &MemberGrant,
) -> wire::UserAuthorization {
    let trustor = state.org(trust.trustor);
    let roles = grant
        .role_ids
        .iter()
        .filter_map(|id| trustor.and_then(|o| o.role(*id)))
        .map(|r| wire::DomainRole {
            id: r.id.to_string(),
            name: r.name.clone(),
        })
        .collect();
    let permissions = if trust.enabled {
        state.role_permissions(trust.trustor, grant.role_ids.iter().copied())
    } else {
        Vec::new()
    };
    wire::UserAuthorization {
        roles,
        unused_roles: Vec::new(),
        permissions,
    }
}

fn member_name(state: &SimState, org: Uuid, kind: MemberKind, id: Uuid) -> String {
    state
        .org(org)
        .and_then(|o| match kind {
            MemberKind::User => o.user(id),
            MemberKind::Group => o.group(id),
        })
        .map(|m| m.name.clone())
        .unwrap_or_default()
}

pub fn trust_user(state: &SimState, trust: &Trust, grant: &MemberGrant) -> wire::TrustUser {
    wire::TrustUser {
        id: grant.id.to_string(),
        name: member_name(state, trust.trustee, MemberKind::User, grant.id),
        state: "active".into(),
        version: 1,
        authorization: member_authorization(state, trust, grant),
        trust_user_details: wire::TrustUserDetails {
            date_created: timestamp(grant.added_at),
        },
        self_uri: format!("/api/v2/users/{}", grant.id),
    }
}

fn group(state: &SimState, org: Uuid, id: Uuid, added: DateTime<Utc>) -> wire::TrustGroup {
    wire::TrustGroup {
        id: id.to_string(),
        name: member_name(state, org, MemberKind::Group, id),
        kind: "official".into(),
        rules_visible: true,
        visibility: "public".into(),
        state: "active".into(),
        version: 1,
        date_created: timestamp(added),
        self_uri: format!("/api/v2/groups/{id}"),
    }
}

pub fn trust_group(state: &SimState, trust: &Trust, grant: &MemberGrant) -> wire::TrustGroup {
    group(state, trust.trustee, grant.id, grant.added_at)
}

pub fn pairing_view(state: &SimState, pairing: &Pairing) -> wire::TrustRequest {
    wire::TrustRequest {
        id: pairing.id.to_string(),
        date_created: timestamp(pairing.created_at),
        trustee: org_of(state, pairing.trustee),
        users: pairing
            .users
            .iter()
            .map(|u| wire::OrgUser {
                id: u.to_string(),
                name: member_name(state, pairing.trustee, MemberKind::User, *u),
                state: "active".into(),
                version: 1,
                self_uri: format!("/api/v2/users/{u}"),
            })
            .collect(),
        groups: pairing
            .groups
            .iter()
            .map(|g| group(state, pairing.trustee, *g, pairing.created_at))
            .collect(),
        self_uri: format!("/api/v2/orgauthorization/pairings/{}", pairing.id),
    }
}

/// Role IDs of a list of strings, 400 naming `field[i]` for a malformed one.
pub fn role_ids(field: &str, raw: &[String]) -> Result<Vec<Uuid>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| body_id(&format!("{field}[{i}]"), r))
        .collect()
}

/// The role IDs of a `RoleDivisionGrants`: divisions are not simulated (every role is
/// granted in all divisions), but each pair must be well formed.
pub fn grant_role_ids(
    field: &str,
    grants: &wire::RoleDivisionGrants,
) -> Result<Vec<Uuid>, ApiError> {
    let mut ids = Vec::new();
    for (i, g) in grants.grants.iter().enumerate() {
        let id = body_id(&format!("{field}.grants[{i}].roleId"), &g.role_id)?;
        if g.division_id.trim().is_empty() {
            return Err(ApiError::bad_field(
                format!("{field}.grants[{i}].divisionId"),
                "required",
            ));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A `TrustMemberCreate` as rule input; `field` is its place in the body (e.g. `users[2]`).
pub fn member_input(
    field: &str,
    raw: &wire::TrustMemberCreate,
) -> Result<TrustMemberInput, ApiError> {
    let prefix = if field.is_empty() {
        String::new()
    } else {
        format!("{field}.")
    };
    let id = raw
        .id
        .as_deref()
        .ok_or_else(|| ApiError::bad_field(format!("{prefix}id"), "required"))?;
    let id = body_id(&format!("{prefix}id"), id)?;
    let mut roles = role_ids(&format!("{prefix}roleIds"), &raw.role_ids)?;
    if let Some(grants) = &raw.role_divisions {
        for r in grant_role_ids(&format!("{prefix}roleDivisions"), grants)? {
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
    }
    Ok(TrustMemberInput {
        id,
        role_ids: roles,
    })
}
