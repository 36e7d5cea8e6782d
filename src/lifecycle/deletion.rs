//! What deleting an OrgLink or OrgPairing may do before its finalizer goes: whether
//! it touches Genesys Cloud at all. What it then calls is the kind's own
//! `decide_deletion` ([`super::link`], [`super::trustee`], [`super::trustor`]), given
//! the same `orphan` flag.

use std::collections::BTreeMap;

use super::conflict::Turn;
use crate::api::ON_DELETE_ANNOTATION;

/// The value of [`ON_DELETE_ANNOTATION`] that leaves the remote relationship alone.
pub(crate) const ORPHAN: &str = "orphan";

/// True when the object asks to be deleted without touching Genesys Cloud
/// (`orglink.dev/on-delete: orphan`); any other value, or none, revokes.
pub(crate) fn orphan_requested(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(ON_DELETE_ANNOTATION)
        .is_some_and(|v| v == ORPHAN)
}

/// True when deleting the object must leave Genesys Cloud alone: it asks to be orphaned,
/// or it only observes (`orglink.dev/reconcile: observe`, see [`super::observe`]).
pub(crate) fn leaves_remote(annotations: &BTreeMap<String, String>) -> bool {
    orphan_requested(annotations)
        || !super::observe::deletion_acts(super::observe::mode(Some(annotations)))
}

/// How a deletion goes, decided before anything is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deletion {
    /// Remove the finalizer without reading or calling Genesys Cloud: the object is
    /// orphaned (the escape hatch when cleanup cannot succeed), or it yields to an older
    /// object and so never touched the relationship.
    LeaveRemote,
    /// Read the remote state and perform what the kind's `decide_deletion` returns.
    Revoke,
}

/// Whether deleting an object that is `orphan` and has `turn` touches Genesys Cloud.
pub(crate) fn plan(orphan: bool, turn: &Turn) -> Deletion {
    match (orphan, turn) {
        (true, _) | (_, Turn::Yield { .. }) => Deletion::LeaveRemote,
        (false, Turn::Act) => Deletion::Revoke,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_acting_object_without_orphan_touches_the_remote() {
        let yields = Turn::Yield {
            actor: "older".into(),
        };
        for (orphan, turn, expected) in [
            (false, Turn::Act, Deletion::Revoke),
            (true, Turn::Act, Deletion::LeaveRemote),
            (false, yields.clone(), Deletion::LeaveRemote),
            (true, yields, Deletion::LeaveRemote),
        ] {
            assert_eq!(plan(orphan, &turn), expected, "orphan={orphan} {turn:?}");
        }
    }

    #[test]
    fn only_the_value_orphan_orphans() {
        let with = |v: &str| BTreeMap::from([(ON_DELETE_ANNOTATION.to_string(), v.to_string())]);
        assert!(orphan_requested(&with("orphan")));
        for other in ["", "Orphan", "delete", "orphan "] {
            assert!(!orphan_requested(&with(other)), "{other:?}");
        }
        assert!(!orphan_requested(&BTreeMap::new()));
        let unrelated = BTreeMap::from([("orglink.dev/refresh".to_string(), "orphan".to_string())]);
        assert!(!orphan_requested(&unrelated));
    }

    #[test]
    fn an_observed_object_leaves_the_remote_like_an_orphan() {
        let with = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(leaves_remote(&with(ON_DELETE_ANNOTATION, "orphan")));
        assert!(leaves_remote(&with("orglink.dev/reconcile", "observe")));
        assert!(!leaves_remote(&with("orglink.dev/reconcile", "act")));
        assert!(!leaves_remote(&BTreeMap::new()));
    }
}
