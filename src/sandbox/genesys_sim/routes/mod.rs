//! The axum handlers, one file per API area, and the renderings of state records as the
//! shared wire models ([`crate::genesys::models`]).
//!
//! Success statuses: 200 with a body for reads, creations and updates (Genesys answers
//! its POSTs with 200), 204 without a body for deletes and for the link approval PATCH
//! (documented as void).

pub(crate) mod directory;
pub(crate) mod links;
pub(crate) mod members;
pub(crate) mod oauth;
pub(crate) mod org;
pub(crate) mod pairings;
pub(crate) mod trustees;
pub(crate) mod trustors;

use jiff::Timestamp;
use uuid::Uuid;

use super::error::ApiError;
use super::http::body_id;
use super::state::{
    ALL_DIVISIONS, MemberGrant, MemberKind, Org, Pairing, RoleDivision, SimState, Trust,
    TrustMemberInput,
};
use crate::genesys::models;

/// Timestamps as Genesys writes them: ISO-8601, UTC, milliseconds, `Z` (admin answers).
pub(crate) fn timestamp(at: Timestamp) -> String {
    format!("{at:.3}")
}

pub(crate) fn organization(org: &Org) -> models::Organization {
    models::Organization {
        id: org.id.to_string(),
        name: Some(org.name.clone()),
        default_language: Some("en-us".into()),
        default_country_code: Some("US".into()),
        third_party_org_name: Some(org.short_name()),
        domain: Some(org.region.info().domain.to_string()),
        features: Some(Default::default()),
        version: Some(1),
        state: Some("active".into()),
        voicemail_enabled: Some(true),
        product_platform: Some("PureCloud".into()),
        self_uri: Some(format!("/api/v2/organizations/{}", org.id)),
        ..models::Organization::default()
    }
}

/// The organization `id` (which exists: trusts and pairings only name seeded orgs).
fn org_of(state: &SimState, id: Uuid) -> models::Organization {
    state
        .org(id)
        .map(organization)
        .unwrap_or_else(|| models::Organization {
            id: id.to_string(),
            ..models::Organization::default()
        })
}

pub(crate) fn trustee_view(state: &SimState, trust: &Trust) -> models::Trustee {
    models::Trustee {
        id: trust.trustee.to_string(),
        enabled: trust.enabled,
        uses_default_role: Some(false),
        has_full_access: Some(false),
        is_trusted_user: Some(false),
        date_created: Some(trust.created_at),
        date_expired: trust.date_expired,
        created_by: None,
        organization: Some(org_of(state, trust.trustee)),
        self_uri: Some(format!(
            "/api/v2/orgauthorization/trustees/{}",
            trust.trustee
        )),
    }
}

pub(crate) fn trustor_view(state: &SimState, trust: &Trust) -> models::Trustor {
    models::Trustor {
        id: trust.trustor.to_string(),
        enabled: trust.enabled,
        date_created: Some(trust.created_at),
        created_by: None,
        organization: Some(org_of(state, trust.trustor)),
        authorization: Some(models::TrusteeAuthorization {
            permissions: state.trust_permissions(trust),
        }),
        self_uri: Some(format!(
            "/api/v2/orgauthorization/trustors/{}",
            trust.trustor
        )),
    }
}

/// The roles a member holds and, while the trust is enabled, their permissions. Not the
/// divisions they were granted in: Genesys does not show them here.
pub(crate) fn member_authorization(
    state: &SimState,
    trust: &Trust,
    grant: &MemberGrant,
) -> models::UserAuthorization {
    let trustor = state.org(trust.trustor);
    let roles = grant
        .role_ids
        .iter()
        .filter_map(|id| trustor.and_then(|o| o.role(*id)))
        .map(|r| models::DomainRole {
            id: r.id.to_string(),
            name: Some(r.name.clone()),
        })
        .collect();
    let permissions = if trust.enabled {
        state.role_permissions(trust.trustor, grant.role_ids.iter().copied())
    } else {
        Vec::new()
    };
    models::UserAuthorization {
        roles,
        permissions,
        ..models::UserAuthorization::default()
    }
}

/// A user's email (users only).
fn member_email(state: &SimState, org: Uuid, id: Uuid) -> Option<String> {
    state
        .org(org)
        .and_then(|o| o.user(id))
        .and_then(|m| m.email.clone())
}

fn member_name(state: &SimState, org: Uuid, kind: MemberKind, id: Uuid) -> Option<String> {
    state
        .org(org)
        .and_then(|o| match kind {
            MemberKind::User => o.user(id),
            MemberKind::Group => o.group(id),
        })
        .map(|m| m.name.clone())
}

pub(crate) fn trust_user(
    state: &SimState,
    trust: &Trust,
    grant: &MemberGrant,
) -> models::TrustUser {
    models::TrustUser {
        id: grant.id.to_string(),
        name: member_name(state, trust.trustee, MemberKind::User, grant.id),
        email: member_email(state, trust.trustee, grant.id),
        state: Some("active".into()),
        version: Some(1),
        authorization: Some(member_authorization(state, trust, grant)),
        trust_user_details: Some(models::TrustUserDetails {
            date_created: Some(grant.added_at),
            created_by: None,
        }),
        self_uri: Some(format!("/api/v2/users/{}", grant.id)),
        ..models::TrustUser::default()
    }
}

fn group(state: &SimState, org: Uuid, id: Uuid, added: Timestamp) -> models::TrustGroup {
    models::TrustGroup {
        id: id.to_string(),
        name: member_name(state, org, MemberKind::Group, id),
        kind: Some("official".into()),
        rules_visible: Some(true),
        visibility: Some("public".into()),
        state: Some("active".into()),
        version: Some(1),
        date_created: Some(added),
        self_uri: Some(format!("/api/v2/groups/{id}")),
        ..models::TrustGroup::default()
    }
}

pub(crate) fn trust_group(
    state: &SimState,
    trust: &Trust,
    grant: &MemberGrant,
) -> models::TrustGroup {
    group(state, trust.trustee, grant.id, grant.added_at)
}

pub(crate) fn pairing_view(state: &SimState, pairing: &Pairing) -> models::TrustRequest {
    models::TrustRequest {
        id: pairing.id.to_string(),
        created_by: None,
        date_created: Some(pairing.created_at),
        trustee: Some(org_of(state, pairing.trustee)),
        users: pairing
            .users
            .iter()
            .map(|u| models::OrgUser {
                id: u.to_string(),
                name: member_name(state, pairing.trustee, MemberKind::User, *u),
                email: member_email(state, pairing.trustee, *u),
                state: Some("active".into()),
                version: Some(1),
                self_uri: Some(format!("/api/v2/users/{u}")),
                ..models::OrgUser::default()
            })
            .collect(),
        groups: pairing
            .groups
            .iter()
            .map(|g| group(state, pairing.trustee, *g, pairing.created_at))
            .collect(),
        self_uri: Some(format!("/api/v2/orgauthorization/pairings/{}", pairing.id)),
    }
}

/// Role IDs of a list of strings, 400 naming `field[i]` for a malformed one.
pub(crate) fn role_ids(field: &str, raw: &[String]) -> Result<Vec<Uuid>, ApiError> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| body_id(&format!("{field}[{i}]"), r))
        .collect()
}

/// The pairs of a `RoleDivisionGrants` at `field` (`roleDivisions`, or
/// `users[0].roleDivisions` in a trust): 400 naming `{field}.grants[i].roleId` for a
/// malformed role ID, `{field}.grants[i].divisionId` for a missing or malformed division
/// ID (a UUID, or `"*"` for all divisions). Whether role and division belong to the
/// trustor is a rule of [`super::state::trusts`].
pub(crate) fn role_division_pairs(
    field: &str,
    grants: &models::RoleDivisionGrants,
) -> Result<Vec<RoleDivision>, ApiError> {
    grants
        .grants
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let role_id = body_id(&format!("{field}.grants[{i}].roleId"), &g.role_id)?;
            let division_field = format!("{field}.grants[{i}].divisionId");
            let division_id = if g.division_id.trim().is_empty() {
                return Err(ApiError::bad_field(
                    division_field,
                    "required: a division ID, or \"*\" for all divisions",
                ));
            } else if g.division_id == ALL_DIVISIONS {
                ALL_DIVISIONS.to_string()
            } else {
                body_id(&division_field, &g.division_id)?.to_string()
            };
            Ok(RoleDivision {
                role_id,
                division_id,
            })
        })
        .collect()
}

/// A `TrustMemberCreate` as rule input; `field` is its place in the body (e.g. `users[2]`).
pub(crate) fn member_input(
    field: &str,
    raw: &models::TrustMemberCreate,
) -> Result<TrustMemberInput, ApiError> {
    let prefix = if field.is_empty() {
        String::new()
    } else {
        format!("{field}.")
    };
    let id = body_id(&format!("{prefix}id"), &raw.id)?;
    let role_ids = role_ids(&format!("{prefix}roleIds"), &raw.role_ids)?;
    let role_divisions = match &raw.role_divisions {
        Some(grants) => role_division_pairs(&format!("{prefix}roleDivisions"), grants)?,
        None => Vec::new(),
    };
    Ok(TrustMemberInput {
        id,
        role_ids,
        role_divisions,
    })
}

#[cfg(test)]
mod tests {
    use crate::genesys::models::{RoleDivisionGrants, RoleDivisionPair};

    fn grants(pairs: &[(&str, &str)]) -> RoleDivisionGrants {
        RoleDivisionGrants {
            grants: pairs
                .iter()
                .map(|(r, d)| RoleDivisionPair {
                    role_id: r.to_string(),
                    division_id: d.to_string(),
                })
                .collect(),
        }
    }

    const ROLE: &str = "00000000-0000-4000-8000-000000000001";
    const DIV: &str = "00000000-0000-4000-8000-00000000000d";

    #[test]
    fn role_division_pairs_keep_the_wildcard_and_canonical_ids() {
        let got = super::role_division_pairs(
            "roleDivisions",
            &grants(&[(ROLE, "*"), (ROLE, &DIV.to_uppercase())]),
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].division_id, "*");
        assert_eq!(got[1].division_id, DIV);
    }

    #[test]
    fn malformed_pairs_name_their_field() {
        for (pairs, field) in [
            (
                vec![(ROLE, "*"), ("nope", "*")],
                "roleDivisions.grants[1].roleId",
            ),
            (vec![(ROLE, "")], "roleDivisions.grants[0].divisionId"),
            (vec![(ROLE, "all")], "roleDivisions.grants[0].divisionId"),
        ] {
            let err = super::role_division_pairs("roleDivisions", &grants(&pairs)).unwrap_err();
            assert_eq!(err.details[0].field_name.as_deref(), Some(field));
        }
    }

    #[test]
    fn timestamps_have_exactly_three_fractional_digits_and_z() {
        let at: jiff::Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert_eq!(super::timestamp(at), "2026-11-24T10:00:00.000Z");
        let at: jiff::Timestamp = "2026-11-24T10:00:00.5Z".parse().unwrap();
        assert_eq!(super::timestamp(at), "2026-11-24T10:00:00.500Z");
    }
}
