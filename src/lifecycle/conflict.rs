//! One relationship per org and peer: which of several objects acts.
//!
//! The webhook refuses a second OrgLink (or a second OrgPairing of the same side) for
//! the same `organizationRef` and peer, but two can still exist: applied at the same
//! moment (each admitted before the webhook's cache saw the other), or while the
//! webhook was down or not installed. Two objects acting on one remote relationship
//! would fight (one requests, the other unlinks). So the controller decides too: of
//! the objects that claim one relationship, the oldest (`creationTimestamp`, then name)
//! acts; every other one performs no remote action, also not on deletion, and says
//! which object acts (`Ready=False`, reason `Conflict`).

use k8s_openapi::jiff::Timestamp;

/// One object claiming a relationship: its name and creation time (`None` sorts last:
/// the API server always sets it, so only an object not yet stored lacks it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claimant<'a> {
    pub(crate) name: &'a str,
    pub(crate) created: Option<Timestamp>,
}

impl Claimant<'_> {
    fn order_key(&self) -> (bool, Option<Timestamp>, &str) {
        (self.created.is_none(), self.created, self.name)
    }
}

/// Whether `me` may act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// `me` is the oldest claimant: it acts.
    Act,
    /// Another object acts; `me` does nothing remotely.
    Yield { actor: String },
}

/// Decides among `me` and `siblings` (the other objects of the same namespace, kind,
/// `organizationRef`, peer and, for OrgPairings, side). `siblings` may contain `me`
/// again (it comes from a cache); it is ignored there.
pub(crate) fn turn(me: &Claimant<'_>, siblings: &[Claimant<'_>]) -> Turn {
    let oldest = siblings
        .iter()
        .filter(|s| s.name != me.name)
        .chain(std::iter::once(me))
        .min_by(|a, b| a.order_key().cmp(&b.order_key()))
        .expect("me is always a claimant");
    if oldest.name == me.name {
        Turn::Act
    } else {
        Turn::Yield {
            actor: oldest.name.to_string(),
        }
    }
}

/// The `Ready` message of an object that yields to `actor`.
pub(crate) fn conflict_message(
    kind: &str,
    actor: &str,
    organization_ref: &str,
    peer: &str,
) -> String {
    format!(
        "{kind} {actor} already manages the relationship of Organization {organization_ref} with {peer} (it is older), so this object does nothing in Genesys Cloud, also not when deleted; delete this object, or edit {actor} instead"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Option<Timestamp> {
        Some(Timestamp::from_second(1_800_000_000 + s).unwrap())
    }

    fn c(name: &str, created: Option<Timestamp>) -> Claimant<'_> {
        Claimant { name, created }
    }

    #[test]
    fn the_oldest_acts_then_the_first_name() {
        let act = Turn::Act;
        let to = |a: &str| Turn::Yield {
            actor: a.to_string(),
        };
        let table: Vec<(Claimant, Vec<Claimant>, Turn)> = vec![
            // alone
            (c("a", at(5)), vec![], act.clone()),
            // the cache lists me as well
            (c("a", at(5)), vec![c("a", at(5))], act.clone()),
            // older sibling
            (c("b", at(5)), vec![c("a", at(3))], to("a")),
            // younger sibling
            (c("a", at(3)), vec![c("b", at(5))], act.clone()),
            // same second: the name decides
            (c("b", at(3)), vec![c("a", at(3))], to("a")),
            (c("a", at(3)), vec![c("b", at(3))], act.clone()),
            // no timestamp yet sorts last
            (c("a", None), vec![c("z", at(9))], to("z")),
            (c("z", at(9)), vec![c("a", None)], act.clone()),
            // several: the oldest of all
            (
                c("m", at(4)),
                vec![c("x", at(6)), c("k", at(2)), c("b", at(2))],
                to("b"),
            ),
        ];
        for (me, siblings, want) in table {
            assert_eq!(turn(&me, &siblings), want, "{me:?} among {siblings:?}");
        }
    }

    #[test]
    fn exactly_one_of_a_group_acts_and_all_others_name_it() {
        let group = [c("c", at(1)), c("a", at(2)), c("b", at(1)), c("d", None)];
        let turns: Vec<Turn> = group.iter().map(|me| turn(me, &group)).collect();
        assert_eq!(turns.iter().filter(|t| **t == Turn::Act).count(), 1);
        for t in turns {
            if let Turn::Yield { actor } = t {
                assert_eq!(actor, "b");
            }
        }
    }

    proptest::proptest! {
        /// Whatever the group (unique names, any times), every member agrees on one actor.
        #[test]
        fn every_member_agrees_on_exactly_one_actor(
            times in proptest::collection::btree_map("[a-e]{1,3}", proptest::option::of(0i64..5), 1..8)
        ) {
            let group: Vec<Claimant> = times
                .iter()
                .map(|(name, t)| c(name, t.and_then(at)))
                .collect();
            let turns: Vec<Turn> = group.iter().map(|me| turn(me, &group)).collect();
            proptest::prop_assert_eq!(turns.iter().filter(|t| **t == Turn::Act).count(), 1);
            let actors: std::collections::BTreeSet<&str> = turns
                .iter()
                .filter_map(|t| match t {
                    Turn::Yield { actor } => Some(actor.as_str()),
                    Turn::Act => None,
                })
                .collect();
            proptest::prop_assert!(actors.len() <= 1);
        }
    }

    #[test]
    fn the_message_names_the_actor_and_the_fix() {
        let m = conflict_message(
            "OrgLink",
            "to-dr",
            "acme-prod",
            "23cc390c-9354-40e3-8e1f-39485d23d1f3",
        );
        for needle in [
            "OrgLink to-dr",
            "acme-prod",
            "23cc390c",
            "delete this object",
        ] {
            assert!(m.contains(needle), "{needle}: {m}");
        }
    }
}
