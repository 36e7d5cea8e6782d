//! `orglink.dev/reconcile: observe` (docs/api.md, "Observe only"): an OrgLink or
//! OrgPairing that reads Genesys Cloud and reports, but changes nothing there, for a
//! first rollout next to relationships made in the UI (as Crossplane's observe-only
//! management policy and Flux's `reconcile: disabled` allow).
//!
//! The decision functions return the status *after* their actions; in observe mode the
//! actions are not taken, so that status would be untrue. When a decision has actions,
//! [`hold`] replaces it with the status the caller builds for "held back" (the last
//! phase kept, `Ready` False, reason `ObserveOnly`, naming what would be done); when it
//! has none, the decision already describes Genesys Cloud as it is and is written as is.
//! Deleting an observed object leaves Genesys Cloud alone, as `on-delete: orphan` does.

use std::collections::BTreeMap;

use super::Requeue;
use super::link::{self, LinkDecisionOut};
use super::pairing::{self, PairingDecision};
use crate::api::{OrgLinkStatus, OrgPairingStatus, PairingSide};

/// The annotation; its one value is [`OBSERVE`]. Any other value, or none, acts.
pub const RECONCILE_ANNOTATION: &str = "orglink.dev/reconcile";
pub(crate) const OBSERVE: &str = "observe";

/// Whether the operator acts on an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Act,
    Observe,
}

/// The mode an object's annotations ask for.
pub(crate) fn mode(annotations: Option<&BTreeMap<String, String>>) -> Mode {
    match annotations.and_then(|a| a.get(RECONCILE_ANNOTATION)) {
        Some(v) if v.trim() == OBSERVE => Mode::Observe,
        _ => Mode::Act,
    }
}

/// The `Ready` message of an object that holds back `would` (each "doing what").
pub(crate) fn message(would: &[String]) -> String {
    format!(
        "observe only ({RECONCILE_ANNOTATION}: {OBSERVE}): would be {}; remove the annotation to let the operator act",
        would.join(", then ")
    )
}

/// `decided` when the operator acts or there is nothing to do; otherwise what
/// `held_back` builds from the message naming the actions not taken.
pub(crate) fn hold<D>(
    mode: Mode,
    would: &[String],
    decided: D,
    held_back: impl FnOnce(&str) -> D,
) -> D {
    match mode {
        Mode::Observe if !would.is_empty() => held_back(&message(would)),
        _ => decided,
    }
}

/// The OrgLink status of a held-back decision: looked at again at the resync interval.
pub(crate) fn link_held(prev: Option<&OrgLinkStatus>, message: &str) -> LinkDecisionOut {
    let mut d = link::observe_only(prev, message);
    d.requeue = Requeue::Resync;
    d
}

/// The OrgPairing status of a held-back decision: looked at again at the resync interval.
pub(crate) fn pairing_held<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    message: &str,
) -> PairingDecision<A> {
    let mut d = pairing::observe_only(side, prev, message);
    d.requeue = Requeue::Resync;
    d
}

/// Whether deleting the object may touch Genesys Cloud.
pub(crate) fn deletion_acts(mode: Mode) -> bool {
    mode == Mode::Act
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{Status, reasons, types};
    use crate::api::{OrgLinkPhase, OrgPairingPhase};

    fn annotated(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(RECONCILE_ANNOTATION.to_string(), value.to_string())])
    }

    #[test]
    fn only_observe_observes() {
        for (annotations, want) in [
            (None, Mode::Act),
            (Some(BTreeMap::new()), Mode::Act),
            (Some(annotated("observe")), Mode::Observe),
            (Some(annotated(" observe ")), Mode::Observe),
            (Some(annotated("Observe")), Mode::Act),
            (Some(annotated("")), Mode::Act),
        ] {
            assert_eq!(mode(annotations.as_ref()), want, "{annotations:?}");
        }
        assert!(deletion_acts(Mode::Act));
        assert!(!deletion_acts(Mode::Observe));
    }

    #[test]
    fn a_decision_without_actions_is_written_as_it_is() {
        for m in [Mode::Act, Mode::Observe] {
            assert_eq!(hold(m, &[], "decided", |_| "held"), "decided");
        }
        assert_eq!(
            hold(Mode::Act, &["x".into()], "decided", |_| "held"),
            "decided"
        );
    }

    #[test]
    fn held_back_actions_are_named_and_ready_says_observe_only() {
        let would = vec![
            "requesting a link to p".to_string(),
            "approving it".to_string(),
        ];
        let msg = hold(Mode::Observe, &would, String::new(), |m| m.to_string());
        assert!(
            msg.contains("would be requesting a link to p, then approving it"),
            "{msg}"
        );
        assert!(msg.contains("remove the annotation"), "{msg}");

        let linked = OrgLinkStatus {
            phase: Some(OrgLinkPhase::Linked),
            ..Default::default()
        };
        let d = link_held(Some(&linked), &msg);
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, OrgLinkPhase::Linked, "the last phase is kept");
        assert_eq!(d.requeue, Requeue::Resync, "no hot loop");
        let ready = d
            .conditions
            .iter()
            .find(|c| c.type_ == types::READY)
            .unwrap();
        assert_eq!(
            (ready.status, ready.reason),
            (Status::False, reasons::OBSERVE_ONLY)
        );
        assert_eq!(link_held(None, &msg).phase, OrgLinkPhase::Requesting);

        let p: PairingDecision<()> = pairing_held(PairingSide::Trustor, None, &msg);
        assert_eq!(p.phase, OrgPairingPhase::Requesting);
        assert_eq!(p.requeue, Requeue::Resync);
        let ready = p
            .conditions
            .iter()
            .find(|c| c.type_ == types::READY)
            .unwrap();
        assert_eq!(
            (ready.status, ready.reason),
            (Status::False, reasons::OBSERVE_ONLY)
        );
    }
}
