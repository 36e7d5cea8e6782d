//! Divisions of our own org, `GET /api/v2/authorization/divisions` (paged): the trustor
//! side resolves the division names of a grant to the IDs that
//! `PUT .../roledivisions` takes ([`super::trustees`]).
//!
//! Required OAuth permission: `authorization:division:view`. As for roles
//! ([`super::roles`]), one name is looked up with the endpoint's `name` filter and several
//! names with one listing of all divisions (orgs have a handful to a few hundred),
//! matched here exactly.
//!
//! The division ID `"*"` means "all divisions" in a role grant (the Genesys convention;
//! the Terraform provider's `genesyscloud_user_roles` documents `'*'` for all divisions).
//! It is never the ID of a listed division, so a listing that claims it is ignored rather
//! than turning a grant meant for one division into a grant in all of them.

use std::collections::{BTreeMap, BTreeSet};

use super::client::GenesysClient;
use super::error::GenesysError;
use super::models::Division;

const DIVISIONS: &str = "/api/v2/authorization/divisions";

/// The division ID that stands for every division of the org in a role grant.
pub const ALL_DIVISIONS: &str = "*";

impl GenesysClient {
    /// The org's divisions, across all pages: those named `name`, or all of them.
    pub async fn list_divisions(&self, name: Option<&str>) -> Result<Vec<Division>, GenesysError> {
        let mut query = Vec::new();
        if let Some(name) = name {
            query.push(("name", name.to_string()));
        }
        self.list_all(DIVISIONS, &[], query).await
    }

    /// Resolves division names to IDs: every asked name maps to its division's ID, or
    /// `None` when the org has no division of that name. A name shared by several
    /// divisions resolves to the smallest ID, so the answer is stable.
    pub async fn resolve_division_names(
        &self,
        names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<String>>, GenesysError> {
        let Some(filter) = super::roles::name_filter(names) else {
            return Ok(BTreeMap::new());
        };
        let divisions = self.list_divisions(filter).await?;
        Ok(match_division_names(names, &divisions))
    }
}

/// Pure part of [`GenesysClient::resolve_division_names`]: names are matched exactly
/// (case-sensitively), so a misspelt name is reported as unknown rather than guessed.
/// A listed division whose ID is empty or the all-divisions wildcard `"*"` is not a
/// division one can be granted in and matches nothing.
pub(crate) fn match_division_names(
    names: &BTreeSet<String>,
    divisions: &[Division],
) -> BTreeMap<String, Option<String>> {
    super::roles::match_names(names, divisions, |d| {
        is_division_id(&d.id).then_some((&d.name, &d.id))
    })
}

/// Whether `id` can name one division: not blank, not the wildcard.
fn is_division_id(id: &str) -> bool {
    !id.trim().is_empty() && id != ALL_DIVISIONS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn division(id: &str, name: &str) -> Division {
        Division {
            id: id.into(),
            name: name.into(),
            ..Division::default()
        }
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn names_resolve_exactly_and_missing_ones_are_none() {
        let divisions = [
            division("d2", "Sales"),
            division("d1", "Sales"),
            division("d3", "support"),
            division("d4", "Support"),
            division("d5", "Home"),
        ];
        let got = match_division_names(&names(&["Sales", "Support", "Ghost"]), &divisions);
        assert_eq!(got["Sales"].as_deref(), Some("d1"));
        assert_eq!(got["Support"].as_deref(), Some("d4"));
        assert_eq!(got["Ghost"], None);
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn the_wildcard_and_blank_ids_never_resolve_a_name() {
        let divisions = [
            division("*", "Sales"),
            division(" ", "Home"),
            division("d9", "Home"),
        ];
        let got = match_division_names(&names(&["Sales", "Home"]), &divisions);
        assert_eq!(got["Sales"], None);
        assert_eq!(got["Home"].as_deref(), Some("d9"));
    }

    #[test]
    fn no_names_no_answers() {
        let got = match_division_names(&BTreeSet::new(), &[division("d1", "Home")]);
        assert!(got.is_empty());
    }
}
