//! Which relationships in an Organization's status lists no object declares
//! (docs/api.md, "Adopt and audit"): `unmanaged: true` on their entries, so a team
//! adopting the operator sees what was made in the Genesys Cloud UI and not in Git, and
//! `kubectl orglink audit` can print the manifest that adopts each.
//!
//! It costs no call to Genesys Cloud: the lists are the snapshot the Organization
//! already reads, and what is declared comes from the controllers' caches of OrgLinks
//! and OrgPairings (the caller folds them into [`Declared`]).

use std::collections::BTreeSet;

use crate::api::OrganizationStatus;

/// The peers an Organization's objects name, by kind of relationship.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    /// Peers of its OrgLinks (either decision: a Decline declares the link too).
    pub links: BTreeSet<String>,
    /// Peers of its trustee-side OrgPairings (`spec.request`): they are our trustors.
    pub trustors: BTreeSet<String>,
    /// Peers of its trustor-side OrgPairings (`spec.grant`): they are our trustees.
    pub trustees: BTreeSet<String>,
}

/// Marks every entry of `status`'s lists that `declared` does not name, and clears the
/// mark of those it does.
pub fn mark_unmanaged(status: &mut OrganizationStatus, declared: &Declared) {
    let link = |id: &str| !declared.links.contains(id);
    for l in &mut status.linked_organizations {
        l.unmanaged = link(&l.organization_id);
    }
    for l in status
        .pending_outgoing_links
        .iter_mut()
        .chain(status.pending_incoming_links.iter_mut())
    {
        l.unmanaged = link(&l.organization_id);
    }
    for t in &mut status.trustors {
        t.unmanaged = !declared.trustors.contains(&t.organization_id);
    }
    for t in &mut status.trustees {
        t.unmanaged = !declared.trustees.contains(&t.organization_id);
    }
}

/// Drops the members of every trust entry that is no longer unmanaged: they are kept
/// only for `kubectl orglink audit` to adopt an unmanaged trust.
pub fn forget_managed_members(status: &mut OrganizationStatus) {
    for t in status.trustors.iter_mut().chain(status.trustees.iter_mut()) {
        if !t.unmanaged {
            t.members = None;
        }
    }
}

/// How many entries are unmanaged: the tests' tally of what [`mark_unmanaged`] marked.
#[cfg(test)]
fn unmanaged_count(status: &OrganizationStatus) -> usize {
    status
        .linked_organizations
        .iter()
        .filter(|l| l.unmanaged)
        .count()
        + status
            .pending_outgoing_links
            .iter()
            .chain(&status.pending_incoming_links)
            .filter(|l| l.unmanaged)
            .count()
        + status
            .trustees
            .iter()
            .chain(&status.trustors)
            .filter(|t| t.unmanaged)
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::organization::{LinkedOrganization, PendingLink, TrustSummary};

    const A: &str = "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d";
    const B: &str = "3f1c2a9e-5b7d-4e2a-9c41-7a0d2b6e8f10";

    fn linked(id: &str) -> LinkedOrganization {
        LinkedOrganization {
            organization_id: id.into(),
            name: None,
            region: None,
            unmanaged: false,
        }
    }

    fn pending(id: &str) -> PendingLink {
        PendingLink {
            organization_id: id.into(),
            region: None,
            name: None,
            unmanaged: false,
        }
    }

    fn trust(id: &str) -> TrustSummary {
        TrustSummary {
            members: None,
            organization_id: id.into(),
            name: None,
            enabled: true,
            unmanaged: false,
        }
    }

    fn status() -> OrganizationStatus {
        OrganizationStatus {
            linked_organizations: vec![linked(A)],
            pending_outgoing_links: vec![pending(B)],
            pending_incoming_links: vec![pending(A)],
            trustees: vec![trust(A)],
            trustors: vec![trust(B)],
            ..Default::default()
        }
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    /// Rows: what is declared → which entries stay unmanaged.
    #[test]
    fn entries_no_object_declares_are_unmanaged() {
        let none = Declared::default();
        let mut s = status();
        mark_unmanaged(&mut s, &none);
        assert_eq!(unmanaged_count(&s), 5);

        // A link declaration covers the link lists only, with that peer only.
        let mut s = status();
        mark_unmanaged(
            &mut s,
            &Declared {
                links: set(&[A]),
                ..Default::default()
            },
        );
        assert!(!s.linked_organizations[0].unmanaged);
        assert!(!s.pending_incoming_links[0].unmanaged);
        assert!(s.pending_outgoing_links[0].unmanaged);
        assert!(s.trustees[0].unmanaged, "a link does not declare a trust");

        // A trustee-side OrgPairing declares the trustor entry, not the trustee one.
        let mut s = status();
        mark_unmanaged(
            &mut s,
            &Declared {
                trustors: set(&[A, B]),
                ..Default::default()
            },
        );
        assert!(!s.trustors[0].unmanaged);
        assert!(s.trustees[0].unmanaged);

        let mut s = status();
        let all = Declared {
            links: set(&[A, B]),
            trustors: set(&[B]),
            trustees: set(&[A]),
        };
        mark_unmanaged(&mut s, &all);
        assert_eq!(unmanaged_count(&s), 0);
        // Marks are recomputed, not accumulated: an object deleted makes it unmanaged again.
        mark_unmanaged(&mut s, &none);
        assert_eq!(unmanaged_count(&s), 5);
    }

    #[test]
    fn a_managed_entry_is_not_written_at_all() {
        let mut s = status();
        mark_unmanaged(
            &mut s,
            &Declared {
                links: set(&[A]),
                ..Default::default()
            },
        );
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["linkedOrganizations"][0].get("unmanaged").is_none());
        assert_eq!(json["pendingOutgoingLinks"][0]["unmanaged"], true);
    }
}
