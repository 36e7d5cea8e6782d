//! Builders shared by the lifecycle tests.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::api::orgpairing::{GrantSubject, RoleRef};
use crate::api::{PairingGrant, PairingRequest};

use super::pairing::ObservedPairing;

pub(crate) const TRUSTEE: &str = "96fe284b-6172-47f7-bd08-b439e763686c";
pub(crate) const TRUSTOR: &str = "3f1c2a9e-5b7d-4e2a-9c41-7a0d2b6e8f10";
pub(crate) const U1: &str = "11111111-1111-4111-8111-111111111111";
pub(crate) const U2: &str = "22222222-2222-4222-8222-222222222222";
pub(crate) const U3: &str = "33333333-3333-4333-8333-333333333333";
pub(crate) const G1: &str = "44444444-4444-4444-8444-444444444444";
pub(crate) const SUPERVISOR_ID: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
pub(crate) const ARCHITECT_ID: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

pub(crate) fn t(hours: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap() + SignedDuration::from_hours(hours)
}

pub(crate) fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn request(users: &[&str], groups: &[&str]) -> PairingRequest {
    PairingRequest {
        users: users.iter().map(|s| s.to_string()).collect(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
        ..PairingRequest::default()
    }
}

pub(crate) fn pairing(
    id: &str,
    trustee: &str,
    created: Timestamp,
    users: &[&str],
    groups: &[&str],
) -> ObservedPairing {
    ObservedPairing {
        id: id.into(),
        trustee_org_id: trustee.into(),
        trustee_name: Some("MSP Prod".into()),
        created_at: created,
        users: set(users),
        groups: set(groups),
    }
}

pub(crate) fn by_name(name: &str) -> RoleRef {
    RoleRef {
        name: Some(name.into()),
        id: None,
        divisions: Vec::new(),
    }
}

pub(crate) fn by_id(id: &str) -> RoleRef {
    RoleRef {
        name: None,
        id: Some(id.into()),
        divisions: Vec::new(),
    }
}

pub(crate) fn grant_subject(id: &str, roles: Vec<RoleRef>) -> GrantSubject {
    GrantSubject {
        id: Some(id.into()),
        roles,
        ..GrantSubject::default()
    }
}

pub(crate) fn grant(users: Vec<GrantSubject>, groups: Vec<GrantSubject>) -> PairingGrant {
    PairingGrant {
        pairing_id: Some("p-1".into()),
        enabled: true,
        expires_at: None,
        users,
        groups,
    }
}

pub(crate) const SALES_ID: &str = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
pub(crate) const SUPPORT_ID: &str = "dddddddd-dddd-4ddd-8ddd-dddddddddddd";

/// The divisions of the trustor org, by name.
pub(crate) fn divisions() -> BTreeMap<String, Option<String>> {
    BTreeMap::from([
        ("Sales".to_string(), Some(SALES_ID.to_string())),
        ("Support".to_string(), Some(SUPPORT_ID.to_string())),
    ])
}

/// The roles of the trustor org, by name.
pub(crate) fn roles() -> BTreeMap<String, Option<String>> {
    BTreeMap::from([
        ("Supervisor".to_string(), Some(SUPERVISOR_ID.to_string())),
        (
            "Architect access".to_string(),
            Some(ARCHITECT_ID.to_string()),
        ),
    ])
}
