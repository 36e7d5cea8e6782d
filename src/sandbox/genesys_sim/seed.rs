//! The seed file: which simulated orgs exist, with their OAuth clients, users, groups,
//! roles and divisions. A YAML list, one entry per org:
//!
//! ```yaml
//! - id: 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b   # canonical lowercase UUID
//!   name: Acme Prod
//!   region: us-east-1                          # a region code of genesys-api.md §2.2
//!   clientId: acme-prod-client
//!   clientSecret: acme-prod-secret
//!   linkableRegions: [us-east-1, us-west-2]    # optional; default: every region
//!   users:  [{id: <uuid>, name: Alice Anders}]
//!   groups: [{id: <uuid>, name: Tier 2 Support}]
//!   roles:  [{id: <uuid>, name: Supervisor, permissions: [routing:queue:view]}]
//!   divisions: [{id: <uuid>, name: Home}, {id: <uuid>, name: Sales}]   # optional
//! ```
//!
//! Divisions: the first listed is the org's home division. Every Genesys Cloud org has
//! one, so a given list must not be empty; without `divisions` the org gets `Home`,
//! `Sales` and `Support` with IDs derived from the org's ID ([`default_divisions`]).
//!
//! Validation is strict and every error names the entry (index and name) and the field,
//! because a typo in a seed would otherwise surface as a baffling 404 in some test.
//! IDs are globally unique (Genesys IDs are UUIDs across all orgs), as are client IDs.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use uuid::Uuid;

use crate::api::Region;

/// The default seed file, compiled in so tests and the sandbox agree on it.
pub(crate) const DEFAULT_SEED_YAML: &str =
    include_str!("../../../examples/sandbox/genesys-orgs.yaml");

/// The repository path of the default seed file.
pub(crate) const DEFAULT_SEED_PATH: &str = "examples/sandbox/genesys-orgs.yaml";

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A user or group of a seeded org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedMember {
    pub id: Uuid,
    pub name: String,
    /// Users: the email (`email` in the seed, else derived from the name and the org's
    /// name, as every Genesys Cloud user has one); groups: `None`.
    pub email: Option<String>,
}

/// The email a seeded user gets when the seed gives none: `first.last@org-name.example`
/// (lower case, other characters dropped), e.g. `alice.duarte@acme-prod.example`.
pub fn default_email(user_name: &str, org_name: &str) -> String {
    let part = |s: &str, sep: &str| {
        s.split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(sep)
    };
    format!("{}@{}.example", part(user_name, "."), part(org_name, "-"))
}

/// A role of a seeded org, with the permissions it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedRole {
    pub id: Uuid,
    pub name: String,
    pub permissions: Vec<String>,
}

/// A division of a seeded org (the first of an org's list is its home division).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedDivision {
    pub id: Uuid,
    pub name: String,
}

/// The names of the divisions an org gets when its seed entry lists none, home first.
pub const DEFAULT_DIVISION_NAMES: [&str; 3] = ["Home", "Sales", "Support"];

/// The divisions of an org whose seed entry lists none: [`DEFAULT_DIVISION_NAMES`],
/// the `n`-th (from 1) with the org's ID whose last 12 hex digits are XORed with
/// `d1d10000000n` — deterministic, distinct per org, and still a version-4 UUID.
pub fn default_divisions(org: Uuid) -> Vec<SeedDivision> {
    DEFAULT_DIVISION_NAMES
        .iter()
        .zip(1u128..)
        .map(|(name, n)| SeedDivision {
            id: Uuid::from_u128(org.as_u128() ^ (0xd1d1_0000_0000 | n)),
            name: (*name).to_string(),
        })
        .collect()
}

/// One validated org of the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedOrg {
    pub id: Uuid,
    pub name: String,
    pub region: Region,
    pub client_id: String,
    pub client_secret: Secret,
    pub users: Vec<SeedMember>,
    pub groups: Vec<SeedMember>,
    pub roles: Vec<SeedRole>,
    /// Never empty; the first is the home division.
    pub divisions: Vec<SeedDivision>,
    /// Regions this org may request voice links to (`GET .../link/regions`).
    pub linkable_regions: Vec<Region>,
}

/// Why a seed file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("seed {origin} is not a YAML list of orgs: {source}")]
    Syntax {
        origin: String,
        source: serde_yaml::Error,
    },
    #[error("seed {origin}: entry {index} ({org}): field `{field}`: {problem}")]
    Invalid {
        origin: String,
        index: usize,
        org: String,
        field: String,
        problem: String,
    },
    #[error("seed {origin} defines no organizations; add at least one entry")]
    Empty { origin: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawOrg {
    id: String,
    name: String,
    region: String,
    client_id: String,
    client_secret: Secret,
    #[serde(default)]
    users: Vec<RawMember>,
    #[serde(default)]
    groups: Vec<RawMember>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    divisions: Option<Vec<RawDivision>>,
    #[serde(default)]
    linkable_regions: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDivision {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    id: String,
    name: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    id: String,
    name: String,
    #[serde(default)]
    permissions: Vec<String>,
}

/// Reads and validates a seed file.
pub(crate) fn load_seed_file(path: &Path) -> Result<Vec<SeedOrg>, SeedError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_seed(&text, &path.display().to_string())
}

/// The compiled-in default seed ([`DEFAULT_SEED_PATH`]).
pub fn default_seed() -> Vec<SeedOrg> {
    parse_seed(DEFAULT_SEED_YAML, DEFAULT_SEED_PATH)
        .expect("the default seed file is valid (checked by a unit test)")
}

/// Parses and validates seed YAML; `origin` names it in errors (a path, usually).
pub(crate) fn parse_seed(yaml: &str, origin: &str) -> Result<Vec<SeedOrg>, SeedError> {
    let raw: Vec<RawOrg> = serde_yaml::from_str(yaml).map_err(|source| SeedError::Syntax {
        origin: origin.to_string(),
        source,
    })?;
    if raw.is_empty() {
        return Err(SeedError::Empty {
            origin: origin.to_string(),
        });
    }
    let mut validator = Validator {
        origin,
        ids: HashMap::new(),
        client_ids: HashMap::new(),
    };
    raw.into_iter()
        .enumerate()
        .map(|(index, org)| validator.org(index, org))
        .collect()
}

struct Validator<'a> {
    origin: &'a str,
    /// Every UUID seen so far → where (for the duplicate message).
    ids: HashMap<Uuid, String>,
    client_ids: HashMap<String, String>,
}

struct Entry<'a> {
    origin: &'a str,
    index: usize,
    org: String,
}

impl Entry<'_> {
    fn err(&self, field: impl Into<String>, problem: impl Into<String>) -> SeedError {
        SeedError::Invalid {
            origin: self.origin.to_string(),
            index: self.index,
            org: self.org.clone(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    fn uuid(&self, field: &str, value: &str) -> Result<Uuid, SeedError> {
        match Uuid::parse_str(value) {
            Ok(id) if id.hyphenated().to_string() == value => Ok(id),
            _ => Err(self.err(
                field,
                format!(
                    "{value:?} is not a canonical UUID (8-4-4-4-12 lowercase hex, e.g. 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b)"
                ),
            )),
        }
    }

    fn non_empty(&self, field: &str, value: &str) -> Result<(), SeedError> {
        if value.trim().is_empty() {
            Err(self.err(field, "must not be empty"))
        } else {
            Ok(())
        }
    }

    fn region(&self, field: &str, value: &str) -> Result<Region, SeedError> {
        value
            .parse::<Region>()
            .map_err(|e| self.err(field, e.to_string()))
    }
}

impl Validator<'_> {
    fn claim_id(&mut self, entry: &Entry<'_>, field: &str, id: Uuid) -> Result<(), SeedError> {
        let here = format!("entry {} ({}) `{field}`", entry.index, entry.org);
        if let Some(previous) = self.ids.insert(id, here) {
            return Err(entry.err(
                field,
                format!("duplicate id {id}, already used by {previous}; ids must be unique across the whole seed"),
            ));
        }
        Ok(())
    }

    /// The users (`org_name` given: each gets an email) or the groups (`None`: an
    /// email is refused) of one org.
    fn members(
        &mut self,
        entry: &Entry<'_>,
        list: &str,
        raw: Vec<RawMember>,
        org_name: Option<&str>,
    ) -> Result<Vec<SeedMember>, SeedError> {
        raw.into_iter()
            .enumerate()
            .map(|(i, m)| {
                let id = entry.uuid(&format!("{list}[{i}].id"), &m.id)?;
                self.claim_id(entry, &format!("{list}[{i}].id"), id)?;
                entry.non_empty(&format!("{list}[{i}].name"), &m.name)?;
                let email = match (org_name, m.email) {
                    (None, Some(_)) => {
                        return Err(entry.err(
                            format!("{list}[{i}].email"),
                            "groups have no email; remove it",
                        ));
                    }
                    (None, None) => None,
                    (Some(_), Some(email)) if !crate::api::common::is_email(&email) => {
                        return Err(entry.err(
                            format!("{list}[{i}].email"),
                            format!("{email:?} is not an email address"),
                        ));
                    }
                    (Some(_), Some(email)) => Some(email),
                    (Some(org), None) => Some(default_email(&m.name, org)),
                };
                Ok(SeedMember {
                    id,
                    name: m.name,
                    email,
                })
            })
            .collect()
    }

    fn org(&mut self, index: usize, raw: RawOrg) -> Result<SeedOrg, SeedError> {
        let label = if raw.name.trim().is_empty() {
            raw.id.clone()
        } else {
            raw.name.clone()
        };
        let entry = Entry {
            origin: self.origin,
            index,
            org: format!("{label:?}"),
        };
        let id = entry.uuid("id", &raw.id)?;
        self.claim_id(&entry, "id", id)?;
        entry.non_empty("name", &raw.name)?;
        let region = entry.region("region", &raw.region)?;
        entry.non_empty("clientId", &raw.client_id)?;
        if let Some(previous) = self
            .client_ids
            .insert(raw.client_id.clone(), entry.org.clone())
        {
            return Err(entry.err(
                "clientId",
                format!(
                    "client id {:?} is already the client of {previous}; each org needs its own OAuth client",
                    raw.client_id
                ),
            ));
        }
        if raw.client_secret.expose().is_empty() {
            return Err(entry.err("clientSecret", "must not be empty"));
        }
        let users = self.members(&entry, "users", raw.users, Some(raw.name.as_str()))?;
        let groups = self.members(&entry, "groups", raw.groups, None)?;
        let mut role_names = BTreeSet::new();
        let mut roles = Vec::with_capacity(raw.roles.len());
        for (i, r) in raw.roles.into_iter().enumerate() {
            let id = entry.uuid(&format!("roles[{i}].id"), &r.id)?;
            self.claim_id(&entry, &format!("roles[{i}].id"), id)?;
            entry.non_empty(&format!("roles[{i}].name"), &r.name)?;
            if !role_names.insert(r.name.clone()) {
                return Err(entry.err(
                    format!("roles[{i}].name"),
                    format!(
                        "duplicate role name {:?}; role names are unique within an org (they are looked up by name)",
                        r.name
                    ),
                ));
            }
            for (j, p) in r.permissions.iter().enumerate() {
                entry.non_empty(&format!("roles[{i}].permissions[{j}]"), p)?;
            }
            roles.push(SeedRole {
                id,
                name: r.name,
                permissions: r.permissions,
            });
        }
        let divisions = self.divisions(&entry, id, raw.divisions)?;
        let linkable_regions = match raw.linkable_regions {
            None => Region::all().collect(),
            Some(codes) => {
                let mut seen = BTreeSet::new();
                let mut regions = Vec::with_capacity(codes.len());
                for (i, code) in codes.iter().enumerate() {
                    let field = format!("linkableRegions[{i}]");
                    let region = entry.region(&field, code)?;
                    if !seen.insert(region) {
                        return Err(entry.err(field, format!("duplicate region {code}")));
                    }
                    regions.push(region);
                }
                regions
            }
        };
        Ok(SeedOrg {
            id,
            name: raw.name,
            region,
            client_id: raw.client_id,
            client_secret: raw.client_secret,
            users,
            groups,
            roles,
            divisions,
            linkable_regions,
        })
    }

    /// The divisions of one org: the given list (validated like roles: canonical unique
    /// IDs, non-empty names unique within the org, since grants name them), or the
    /// defaults when none is given.
    fn divisions(
        &mut self,
        entry: &Entry<'_>,
        org: Uuid,
        raw: Option<Vec<RawDivision>>,
    ) -> Result<Vec<SeedDivision>, SeedError> {
        let Some(raw) = raw else {
            let defaults = default_divisions(org);
            for (i, d) in defaults.iter().enumerate() {
                self.claim_id(entry, &format!("divisions[{i}].id (default)"), d.id)?;
            }
            return Ok(defaults);
        };
        if raw.is_empty() {
            return Err(entry.err(
                "divisions",
                "must not be empty: every org has at least its home division; leave `divisions` out for the defaults (Home, Sales, Support)",
            ));
        }
        let mut names = BTreeSet::new();
        let mut divisions = Vec::with_capacity(raw.len());
        for (i, d) in raw.into_iter().enumerate() {
            let id = entry.uuid(&format!("divisions[{i}].id"), &d.id)?;
            self.claim_id(entry, &format!("divisions[{i}].id"), id)?;
            entry.non_empty(&format!("divisions[{i}].name"), &d.name)?;
            if !names.insert(d.name.clone()) {
                return Err(entry.err(
                    format!("divisions[{i}].name"),
                    format!(
                        "duplicate division name {:?}; division names are unique within an org (they are looked up by name)",
                        d.name
                    ),
                ));
            }
            divisions.push(SeedDivision { id, name: d.name });
        }
        Ok(divisions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG_A: &str = "11111111-1111-4111-8111-111111111111";
    const ORG_B: &str = "22222222-2222-4222-8222-222222222222";
    const USER: &str = "3333aaaa-3333-4333-8333-33333333cccc";

    fn one_org(extra: &str) -> String {
        format!(
            "- id: {ORG_A}\n  name: Acme Prod\n  region: us-east-1\n  clientId: a\n  clientSecret: s3cr3t-value\n{extra}"
        )
    }

    fn invalid(yaml: &str) -> (String, String) {
        match parse_seed(yaml, "test.yaml").unwrap_err() {
            SeedError::Invalid {
                field,
                problem,
                org,
                ..
            } => (field, format!("{org} {problem}")),
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn the_default_seed_is_valid_and_has_the_promised_orgs() {
        let orgs = default_seed();
        let in_region = |r: Region| orgs.iter().filter(|o| o.region == r).count();
        assert!(in_region(Region::UsEast1) >= 3);
        assert!(in_region(Region::EuWest1) >= 1);
        for name in ["Acme Prod", "Acme DR", "MSP Prod", "Globex EU"] {
            let org = orgs.iter().find(|o| o.name == name).expect(name);
            assert!(org.users.len() >= 3, "{name} users");
            assert!(org.groups.len() >= 2, "{name} groups");
            assert!(org.roles.len() >= 2, "{name} roles");
        }
        // The 25-user cap must be testable with real users of one org.
        assert!(orgs.iter().any(|o| o.users.len() > 25));
    }

    #[test]
    fn a_minimal_org_gets_every_region_as_linkable() {
        let orgs = parse_seed(&one_org(""), "t").unwrap();
        assert_eq!(orgs[0].linkable_regions.len(), Region::all().count());
        assert!(orgs[0].users.is_empty());
    }

    #[test]
    fn users_have_an_email_given_or_derived_and_groups_none() {
        let orgs = parse_seed(
            &one_org(&format!(
                "  users:\n    - {{id: {USER}, name: Ana Ölund-Sá}}\n    - {{id: 00000000-0000-4000-8000-00000000000b, name: Bo, email: bo@corp.example}}\n  groups: [{{id: 00000000-0000-4000-8000-00000000000c, name: Night}}]\n"
            )),
            "t",
        )
        .unwrap();
        assert_eq!(
            orgs[0].users[0].email.as_deref(),
            Some("ana.lunds@acme-prod.example")
        );
        assert_eq!(orgs[0].users[1].email.as_deref(), Some("bo@corp.example"));
        assert_eq!(orgs[0].groups[0].email, None);
        assert_eq!(
            default_email("Nikhil Eriksen", "MSP Prod"),
            "nikhil.eriksen@msp-prod.example"
        );
        let (field, _) = invalid(&one_org(&format!(
            "  groups: [{{id: {USER}, name: G, email: g@x.example}}]\n"
        )));
        assert_eq!(field, "groups[0].email");
        let (field, _) = invalid(&one_org(&format!(
            "  users: [{{id: {USER}, name: U, email: not an email}}]\n"
        )));
        assert_eq!(field, "users[0].email");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let orgs = parse_seed(&one_org(""), "t").unwrap();
        let debug = format!("{:?}", orgs[0]);
        assert!(!debug.contains("s3cr3t-value"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn unknown_region_names_entry_and_field() {
        let yaml = one_org("").replace("us-east-1", "us-east-9");
        let err = parse_seed(&yaml, "test.yaml").unwrap_err().to_string();
        assert!(err.contains("entry 0 (\"Acme Prod\")"), "{err}");
        assert!(err.contains("field `region`"), "{err}");
        assert!(err.contains("us-east-9"), "{err}");
    }

    #[test]
    fn bad_and_uppercase_uuids_are_refused() {
        let (field, _) = invalid(&one_org("").replace(ORG_A, "not-a-uuid"));
        assert_eq!(field, "id");
        let (field, problem) = invalid(&one_org(&format!(
            "  users: [{{id: {}, name: Al}}]\n",
            USER.to_uppercase()
        )));
        assert_eq!(field, "users[0].id");
        assert!(problem.contains("canonical"), "{problem}");
    }

    #[test]
    fn duplicate_ids_across_orgs_and_lists_are_refused() {
        let yaml = format!(
            "{}- id: {ORG_B}\n  name: B\n  region: us-east-1\n  clientId: b\n  clientSecret: x\n  groups: [{{id: {ORG_A}, name: G}}]\n",
            one_org("")
        );
        let (field, problem) = invalid(&yaml);
        assert_eq!(field, "groups[0].id");
        assert!(problem.contains("duplicate id"), "{problem}");
        assert!(problem.contains("entry 0"), "{problem}");
    }

    #[test]
    fn duplicate_client_ids_and_role_names_are_refused() {
        let yaml = format!(
            "{}- id: {ORG_B}\n  name: B\n  region: us-east-1\n  clientId: a\n  clientSecret: x\n",
            one_org("")
        );
        assert_eq!(invalid(&yaml).0, "clientId");
        let roles =
            format!("  roles:\n  - {{id: {USER}, name: Sup}}\n  - {{id: {ORG_B}, name: Sup}}\n");
        assert_eq!(invalid(&one_org(&roles)).0, "roles[1].name");
    }

    #[test]
    fn divisions_default_to_home_sales_support_with_derived_ids() {
        let orgs = parse_seed(&one_org(""), "t").unwrap();
        let names: Vec<_> = orgs[0].divisions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, DEFAULT_DIVISION_NAMES);
        let org = Uuid::parse_str(ORG_A).unwrap();
        assert_eq!(orgs[0].divisions, default_divisions(org));
        let ids: BTreeSet<Uuid> = orgs[0].divisions.iter().map(|d| d.id).collect();
        assert_eq!(ids.len(), 3);
        for d in &orgs[0].divisions {
            assert_ne!(d.id, org);
            assert_eq!(d.id.get_version_num(), 4, "{}", d.id);
        }
        // Another org gets other IDs.
        let other = default_divisions(Uuid::parse_str(ORG_B).unwrap());
        assert!(other.iter().all(|d| !ids.contains(&d.id)));
        // Every org of the default seed has them, the IDs unique across the seed.
        let all = default_seed();
        let seen: BTreeSet<Uuid> = all
            .iter()
            .flat_map(|o| o.divisions.iter().map(|d| d.id))
            .collect();
        assert_eq!(seen.len(), all.len() * 3);
        assert!(all.iter().all(|o| o.divisions[0].name == "Home"));
    }

    #[test]
    fn given_divisions_are_kept_and_checked() {
        const D1: &str = "44444444-4444-4444-8444-444444444444";
        const D2: &str = "55555555-5555-4555-8555-555555555555";
        let orgs = parse_seed(
            &one_org(&format!(
                "  divisions: [{{id: {D1}, name: Main}}, {{id: {D2}, name: EMEA}}]\n"
            )),
            "t",
        )
        .unwrap();
        let got: Vec<_> = orgs[0]
            .divisions
            .iter()
            .map(|d| (d.id.to_string(), d.name.as_str()))
            .collect();
        assert_eq!(got, [(D1.to_string(), "Main"), (D2.to_string(), "EMEA")]);

        let (field, problem) = invalid(&one_org("  divisions: []\n"));
        assert_eq!(field, "divisions");
        assert!(problem.contains("home division"), "{problem}");
        let (field, _) = invalid(&one_org("  divisions: [{id: nope, name: Main}]\n"));
        assert_eq!(field, "divisions[0].id");
        let (field, _) = invalid(&one_org(&format!(
            "  divisions: [{{id: {D1}, name: Main}}, {{id: {D2}, name: \"  \"}}]\n"
        )));
        assert_eq!(field, "divisions[1].name");
        let (field, problem) = invalid(&one_org(&format!(
            "  divisions: [{{id: {D1}, name: Main}}, {{id: {D2}, name: Main}}]\n"
        )));
        assert_eq!(field, "divisions[1].name");
        assert!(problem.contains("duplicate division name"), "{problem}");
        let (field, problem) = invalid(&one_org(&format!(
            "  divisions: [{{id: {D1}, name: Main}}, {{id: {D1}, name: EMEA}}]\n"
        )));
        assert_eq!(field, "divisions[1].id");
        assert!(problem.contains("duplicate id"), "{problem}");
        // A division ID is unique across the seed too, like every other ID.
        let (field, _) = invalid(&one_org(&format!(
            "  roles: [{{id: {D1}, name: Sup}}]\n  divisions: [{{id: {D1}, name: Main}}]\n"
        )));
        assert_eq!(field, "divisions[0].id");
        assert!(matches!(
            parse_seed(
                &one_org(&format!(
                    "  divisions: [{{id: {D1}, name: M, home: true}}]\n"
                )),
                "t"
            ),
            Err(SeedError::Syntax { .. })
        ));
    }

    #[test]
    fn linkable_regions_are_checked() {
        let (field, _) = invalid(&one_org("  linkableRegions: [us-east-1, mars-1]\n"));
        assert_eq!(field, "linkableRegions[1]");
        let (field, _) = invalid(&one_org("  linkableRegions: [us-east-1, us-east-1]\n"));
        assert_eq!(field, "linkableRegions[1]");
        let orgs = parse_seed(&one_org("  linkableRegions: [eu-west-1]\n"), "t").unwrap();
        assert_eq!(orgs[0].linkable_regions, vec![Region::EuWest1]);
    }

    #[test]
    fn empty_names_unknown_fields_and_empty_files_are_refused() {
        assert_eq!(invalid(&one_org("").replace("Acme Prod", "\"\"")).0, "name");
        assert!(matches!(
            parse_seed(&one_org("  colour: blue\n"), "t"),
            Err(SeedError::Syntax { .. })
        ));
        assert!(matches!(
            parse_seed("[]", "t"),
            Err(SeedError::Empty { .. })
        ));
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load_seed_file(Path::new("/nonexistent/seed.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/seed.yaml"));
    }
}
