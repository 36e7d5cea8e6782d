//! The simulated Genesys Cloud's data and rules, with no HTTP in sight.
//!
//! Every operation takes the calling org (the org whose token made the request) and the
//! simulated `now`, and returns either the result or the [`ApiError`] Genesys would
//! answer. That keeps each product rule a plain function that unit tests drive directly;
//! the HTTP layer only parses requests and renders these results as wire models.
//!
//! - [`links`]: voice organization links (request, approve/reject, unlink, regions).
//! - [`pairings`]: authorized-organization pairings (trust requests), 48 h expiry.
//! - [`trusts`]: trusts between a trustor and a trustee, their members and roles (each
//!   role in all divisions or in chosen ones).

pub(crate) mod links;
pub(crate) mod pairings;
pub(crate) mod trusts;

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use uuid::Uuid;

use super::error::ApiError;
use super::seed::{SeedDivision, SeedMember, SeedOrg, SeedRole};
use crate::api::Region;

pub use links::{Link, LinkStatus, LinkView, LinkViewStatus};
pub use pairings::{PAIRING_LIFETIME, Pairing};
pub use trusts::{
    ALL_DIVISIONS, MAX_TRUST_USERS, MemberGrant, MemberKind, RoleDivision, Trust, TrustCreate,
    TrustMemberInput,
};

/// A user or group of an org.
pub type Member = SeedMember;
/// A role of an org.
pub(crate) type Role = SeedRole;
/// A division of an org.
pub(crate) type Division = SeedDivision;

/// One simulated org: its directory and the regions it may link to. Credentials live in
/// the token service, not here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub(crate) id: Uuid,
    pub name: String,
    pub(crate) region: Region,
    pub(crate) users: Vec<Member>,
    pub(crate) groups: Vec<Member>,
    pub(crate) roles: Vec<Role>,
    /// Never empty; the first is the home division.
    pub(crate) divisions: Vec<Division>,
    pub(crate) linkable_regions: Vec<Region>,
}

impl Org {
    pub(crate) fn user(&self, id: Uuid) -> Option<&Member> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn group(&self, id: Uuid) -> Option<&Member> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub(crate) fn role(&self, id: Uuid) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    pub(crate) fn division(&self, id: Uuid) -> Option<&Division> {
        self.divisions.iter().find(|d| d.id == id)
    }

    /// Whether `id` is the org's home division.
    pub(crate) fn is_home_division(&self, id: Uuid) -> bool {
        self.divisions.first().is_some_and(|d| d.id == id)
    }

    /// The short name Genesys derives for an org (`thirdPartyOrgName`): lower case,
    /// words joined by hyphens.
    pub(crate) fn short_name(&self) -> String {
        self.name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl From<&SeedOrg> for Org {
    fn from(seed: &SeedOrg) -> Self {
        Org {
            id: seed.id,
            name: seed.name.clone(),
            region: seed.region,
            users: seed.users.clone(),
            groups: seed.groups.clone(),
            roles: seed.roles.clone(),
            divisions: seed.divisions.clone(),
            linkable_regions: seed.linkable_regions.clone(),
        }
    }
}

/// Everything the simulated cloud knows, across all regions.
#[derive(Clone, Debug, Default)]
pub struct SimState {
    orgs: BTreeMap<Uuid, Org>,
    /// Keyed by the unordered org pair (smaller ID first): at most one link record
    /// exists between two orgs, whichever side asked.
    links: BTreeMap<(Uuid, Uuid), Link>,
    pairings: HashMap<Uuid, Pairing>,
    /// Keyed by (trustor, trustee): one trust per ordered pair.
    trusts: BTreeMap<(Uuid, Uuid), Trust>,
    /// Every link request accepted, in order (a rejected record is replaced by the next
    /// request, so `links` alone cannot tell how many were sent).
    link_requests: Vec<LinkRequestRecord>,
}

/// One accepted `POST /api/v2/telephony/organization/link`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRequestRecord {
    pub requester: Uuid,
    pub target: Uuid,
    pub at: Timestamp,
}

impl SimState {
    /// A cloud holding the seeded orgs and no relationships.
    pub(crate) fn from_seed(orgs: &[SeedOrg]) -> Self {
        SimState {
            orgs: orgs.iter().map(|o| (o.id, Org::from(o))).collect(),
            ..SimState::default()
        }
    }

    pub fn org(&self, id: Uuid) -> Option<&Org> {
        self.orgs.get(&id)
    }

    /// All orgs, ordered by ID.
    pub(crate) fn orgs(&self) -> impl Iterator<Item = &Org> {
        self.orgs.values()
    }

    /// The org making a call. Tokens are only issued to seeded orgs and orgs are never
    /// removed, so a miss means the token is not ours: 401.
    pub(crate) fn caller(&self, id: Uuid) -> Result<&Org, ApiError> {
        self.orgs.get(&id).ok_or_else(ApiError::bad_credentials)
    }

    /// The caller's roles, by name (sorted); `names` empty means all, otherwise the role
    /// names must match one of them exactly (`GET /authorization/roles?name=`).
    pub(crate) fn roles(&self, caller: Uuid, names: &[String]) -> Result<Vec<&Role>, ApiError> {
        let org = self.caller(caller)?;
        let mut roles: Vec<&Role> = org
            .roles
            .iter()
            .filter(|r| names.is_empty() || names.contains(&r.name))
            .collect();
        roles.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(roles)
    }

    /// The caller's divisions, by name (sorted); `names` empty means all, otherwise the
    /// division names must match one of them exactly
    /// (`GET /authorization/divisions?name=`). Only the caller's own org's divisions.
    pub(crate) fn divisions(
        &self,
        caller: Uuid,
        names: &[String],
    ) -> Result<Vec<&Division>, ApiError> {
        let org = self.caller(caller)?;
        let mut divisions: Vec<&Division> = org
            .divisions
            .iter()
            .filter(|d| names.is_empty() || names.contains(&d.name))
            .collect();
        divisions.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(divisions)
    }

    /// Drops what has lapsed by `now`: trusts past their `dateExpired` behave as revoked.
    /// Pairings are kept after expiry so that using one yields the expired error rather
    /// than a bare 404.
    fn prune(&mut self, now: Timestamp) {
        self.trusts.retain(|_, t| !t.is_expired(now));
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A small deterministic cloud for the rule tests.
    use super::*;
    use crate::sandbox::genesys_sim::seed::{
        Secret, SeedDivision, SeedMember, SeedRole, default_email,
    };

    pub(crate) fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    pub(crate) const ACME: u128 = 0xA000;
    pub(crate) const DR: u128 = 0xB000;
    pub(crate) const MSP: u128 = 0xC000;
    pub(crate) const EU: u128 = 0xD000;

    pub(crate) fn org(base: u128, name: &str, region: Region, users: u128) -> SeedOrg {
        SeedOrg {
            id: id(base),
            name: name.into(),
            region,
            client_id: format!("{name}-client"),
            client_secret: Secret::new("secret"),
            users: (1..=users)
                .map(|i| SeedMember {
                    id: id(base + i),
                    name: format!("{name} user {i}"),
                    email: Some(default_email(&format!("user {i}"), name)),
                })
                .collect(),
            groups: (1..=3)
                .map(|i| SeedMember {
                    id: id(base + 0x100 + i),
                    name: format!("{name} group {i}"),
                    email: None,
                })
                .collect(),
            roles: vec![
                SeedRole {
                    id: id(base + 0x200 + 1),
                    name: "Supervisor".into(),
                    permissions: vec![
                        "routing:queue:view".into(),
                        "quality:evaluation:view".into(),
                    ],
                },
                SeedRole {
                    id: id(base + 0x200 + 2),
                    name: "Architect access".into(),
                    permissions: vec!["architect:flow:view".into(), "routing:queue:view".into()],
                },
                SeedRole {
                    id: id(base + 0x200 + 3),
                    name: "Empty".into(),
                    permissions: vec![],
                },
            ],
            divisions: ["Home", "Sales", "Support"]
                .iter()
                .zip(1..)
                .map(|(name, n)| SeedDivision {
                    id: id(base + 0x300 + n),
                    name: (*name).into(),
                })
                .collect(),
            linkable_regions: if region == Region::EuWest1 {
                vec![Region::EuWest1, Region::EuCentral1]
            } else {
                Region::all().collect()
            },
        }
    }

    /// Acme Prod, Acme DR and MSP Prod (30 users) in us-east-1; Globex EU in eu-west-1
    /// (which may only link within the EU).
    pub(crate) fn state() -> SimState {
        SimState::from_seed(&[
            org(ACME, "Acme Prod", Region::UsEast1, 5),
            org(DR, "Acme DR", Region::UsEast1, 5),
            org(MSP, "MSP Prod", Region::UsEast1, 30),
            org(EU, "Globex EU", Region::EuWest1, 5),
        ])
    }

    pub(crate) fn user(org: u128, n: u128) -> Uuid {
        id(org + n)
    }

    pub(crate) fn group(org: u128, n: u128) -> Uuid {
        id(org + 0x100 + n)
    }

    pub(crate) fn role(org: u128, n: u128) -> Uuid {
        id(org + 0x200 + n)
    }

    /// Division `n` of `org`: 1 Home, 2 Sales, 3 Support.
    pub(crate) fn division(org: u128, n: u128) -> Uuid {
        id(org + 0x300 + n)
    }

    pub(crate) fn t0() -> Timestamp {
        "2026-11-24T10:00:00Z".parse().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;

    #[test]
    fn roles_filter_by_exact_name_and_sort() {
        let s = state();
        let all = s.roles(id(ACME), &[]).unwrap();
        let names: Vec<_> = all.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Architect access", "Empty", "Supervisor"]);
        let sup = s.roles(id(ACME), &["Supervisor".into()]).unwrap();
        assert_eq!(sup.len(), 1);
        assert_eq!(sup[0].id, role(ACME, 1));
        assert!(
            s.roles(id(ACME), &["supervisor".into()])
                .unwrap()
                .is_empty()
        );
        assert!(s.roles(id(ACME), &["Super".into()]).unwrap().is_empty());
    }

    #[test]
    fn divisions_are_the_callers_own_filtered_by_exact_name_and_sorted() {
        let s = state();
        let all = s.divisions(id(ACME), &[]).unwrap();
        let got: Vec<_> = all.iter().map(|d| (d.name.as_str(), d.id)).collect();
        assert_eq!(
            got,
            [
                ("Home", division(ACME, 1)),
                ("Sales", division(ACME, 2)),
                ("Support", division(ACME, 3))
            ]
        );
        let sales = s.divisions(id(MSP), &["Sales".into()]).unwrap();
        assert_eq!(sales.len(), 1);
        assert_eq!(sales[0].id, division(MSP, 2));
        assert!(s.divisions(id(ACME), &["sales".into()]).unwrap().is_empty());
        assert!(s.org(id(ACME)).unwrap().is_home_division(division(ACME, 1)));
        assert!(!s.org(id(ACME)).unwrap().is_home_division(division(ACME, 2)));
        assert_eq!(s.divisions(id(1), &[]).unwrap_err().code, "bad.credentials");
    }

    #[test]
    fn unknown_caller_is_unauthorized() {
        let s = state();
        assert_eq!(s.caller(id(1)).unwrap_err().code, "bad.credentials");
    }

    #[test]
    fn short_name_is_a_lowercase_slug() {
        let s = state();
        assert_eq!(s.org(id(ACME)).unwrap().short_name(), "acme-prod");
    }
}
