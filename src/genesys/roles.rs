//! Roles of our own org, `GET /api/v2/authorization/roles` (paged): the trustor side
//! resolves the role names of a grant to the IDs the trust endpoints take.
//!
//! The endpoint's `name` filter takes one name (a single string in the SDKs, unlike its
//! list-valued `id` and `permission` filters), so one name is looked up with the filter
//! and several names with one listing of all roles (orgs have tens to a few hundred,
//! one to three pages), matched here. `userCount=false` spares Genesys counting members.

use std::collections::{BTreeMap, BTreeSet};

use super::client::GenesysClient;
use super::error::GenesysError;
use super::models::OrganizationRole;

const ROLES: &str = "/api/v2/authorization/roles";

impl GenesysClient {
    /// The org's roles, across all pages: those named `name`, or all of them.
    pub async fn list_roles(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<OrganizationRole>, GenesysError> {
        let mut query = vec![("userCount", "false".to_string())];
        if let Some(name) = name {
            query.push(("name", name.to_string()));
        }
        self.list_all(ROLES, &[], query).await
    }

    /// Resolves role names to IDs: every asked name maps to its role's ID, or `None` when
    /// the org has no role of that name. A name shared by several roles resolves to the
    /// smallest ID, so the answer is stable.
    pub async fn resolve_role_names(
        &self,
        names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<String>>, GenesysError> {
        let Some(filter) = name_filter(names) else {
            return Ok(BTreeMap::new());
        };
        let roles = self.list_roles(filter).await?;
        Ok(match_role_names(names, &roles))
    }
}

/// How a listing is asked to resolve `names`: `None` when there is nothing to resolve
/// (no call), else the listing's `name` filter: the one name, or no filter (the whole
/// listing, matched here) for several, since the filter takes one name.
pub(crate) fn name_filter(names: &BTreeSet<String>) -> Option<Option<&str>> {
    match names.len() {
        0 => None,
        1 => Some(names.iter().next().map(String::as_str)),
        _ => Some(None),
    }
}

/// Pure part of [`GenesysClient::resolve_role_names`]: names are matched exactly
/// (case-sensitively), so a misspelt name is reported as unknown rather than guessed.
pub(crate) fn match_role_names(
    names: &BTreeSet<String>,
    roles: &[OrganizationRole],
) -> BTreeMap<String, Option<String>> {
    match_names(names, roles, |r| Some((&r.name, &r.id)))
}

/// Each of `names` with the smallest ID among the `items` of that exact name, or `None`;
/// `named` gives an item's name and ID, or `None` for an item that cannot be named.
pub(crate) fn match_names<T>(
    names: &BTreeSet<String>,
    items: &[T],
    named: impl Fn(&T) -> Option<(&String, &String)>,
) -> BTreeMap<String, Option<String>> {
    names
        .iter()
        .map(|name| {
            let id = items
                .iter()
                .filter_map(&named)
                .filter(|(n, _)| *n == name)
                .map(|(_, id)| id.clone())
                .min();
            (name.clone(), id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str) -> OrganizationRole {
        OrganizationRole {
            id: id.into(),
            name: name.into(),
            ..OrganizationRole::default()
        }
    }

    #[test]
    fn names_resolve_exactly_and_missing_ones_are_none() {
        let names: BTreeSet<String> = ["Supervisor", "Employee", "Ghost"]
            .into_iter()
            .map(String::from)
            .collect();
        let roles = [
            role("r2", "Supervisor"),
            role("r1", "Supervisor"),
            role("r3", "employee"),
            role("r4", "Employee"),
            role("r5", "Unasked"),
        ];
        let got = match_role_names(&names, &roles);
        assert_eq!(got["Supervisor"].as_deref(), Some("r1"));
        assert_eq!(got["Employee"].as_deref(), Some("r4"));
        assert_eq!(got["Ghost"], None);
        assert_eq!(got.len(), 3);
    }
}
