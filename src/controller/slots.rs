//! How many reconciles run at once acting as one Organization: at most `per_org`.
//!
//! Why per org: the reconciles of one org share its Genesys budget (its rate limiter),
//! so beyond a few at once they only wait for their turn to call. A namespace whose
//! Genesys org is slow, rate-limited or unreachable thus holds at most `per_org` of the
//! controller's running reconciles; every other org's go on.
//!
//! A reconcile that finds its org's slots taken does not wait for one: it is **parked**
//! and returns at once, and the first slot of that org to come back wakes the first
//! object parked (first come, first served; one woken whose slot a newcomer took first
//! is next again). Waiting in the reconcile would keep it in
//! kube-runtime's table of running reconciles (some hundreds of bytes each, polled all
//! at every wake, the table never shrinking: 9 MiB and much of the CPU of the `memory`
//! bench's 10,000 OrgLinks over 100 orgs); a parked object holds only its name and how
//! to wake it. The number of reconciles of one kind running at once, all orgs
//! together, is kube-runtime's own limit (`--max-concurrent-reconciles`), under which
//! the others wait in its queue as bare references.
//!
//! An org's entry exists only while a reconcile of that org runs or is parked, so no
//! state outlives the org's work.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

/// The default of `--max-concurrent-reconciles`.
pub(crate) const DEFAULT_TOTAL: usize = 256;
/// The default of `--max-concurrent-reconciles-per-org`.
pub(crate) const DEFAULT_PER_ORG: usize = 4;

/// The limits, as set by the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotLimits {
    /// Reconciles of one kind at once (kube-runtime's limit).
    pub(crate) total: usize,
    /// Reconciles acting as one org at once (these slots).
    pub(crate) per_org: usize,
}

impl SlotLimits {
    /// `total` as kube-runtime takes it (at most 65,535; 0 would mean unlimited).
    pub(crate) fn controller_concurrency(&self) -> u16 {
        self.total.clamp(1, u16::MAX as usize) as u16
    }
}

impl Default for SlotLimits {
    fn default() -> Self {
        SlotLimits {
            total: DEFAULT_TOTAL,
            per_org: DEFAULT_PER_ORG,
        }
    }
}

/// (namespace, Organization name).
pub(crate) type OrgKey = (String, String);

/// How to reconcile a parked object when its turn comes.
pub(crate) type Wake = Box<dyn FnOnce() + Send>;

/// One org's running reconciles and parked objects (by kind and name, to park each once).
#[derive(Default)]
struct OrgTurns {
    running: usize,
    parked: VecDeque<(String, Wake)>,
    /// Objects woken whose reconcile has not come yet (at most `per_org`, the newest):
    /// one that finds its slot taken by a newcomer goes back to the front of the queue,
    /// not the back. One that never comes (deleted meanwhile) is forgotten as others are
    /// woken, or with the org's entry.
    woken: VecDeque<String>,
}

/// The per-org slots.
#[derive(Debug)]
pub(crate) struct Slots {
    per_org: usize,
    orgs: Arc<Mutex<HashMap<OrgKey, OrgTurns>>>,
}

impl std::fmt::Debug for OrgTurns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgTurns")
            .field("running", &self.running)
            .field("parked", &self.parked.len())
            .finish()
    }
}

/// A running reconcile's slot of its org; dropping it wakes the next parked object.
#[derive(Debug)]
pub(crate) struct Slot {
    orgs: Arc<Mutex<HashMap<OrgKey, OrgTurns>>>,
    org: OrgKey,
    per_org: usize,
}

impl Slots {
    pub(crate) fn new(limits: SlotLimits) -> Self {
        Slots {
            per_org: limits.per_org.max(1),
            orgs: Arc::default(),
        }
    }

    /// A slot of `org` for object `who` (its kind and name), or `None` when the org's
    /// slots are all taken: then `who` is parked, and `wake` (made only then) runs when
    /// its turn comes. Parked again before its turn, it keeps its place and the newest
    /// `wake`; given a slot, it leaves the queue.
    pub(crate) fn admit(
        &self,
        org: OrgKey,
        who: &str,
        wake: impl FnOnce() -> Wake,
    ) -> Option<Slot> {
        let mut orgs = self.orgs.lock();
        let turns = orgs.entry(org.clone()).or_default();
        let queued = turns.parked.iter().position(|(w, _)| w == who);
        let was_woken = turns.woken.iter().position(|w| w == who);
        if let Some(at) = was_woken {
            turns.woken.remove(at);
        }
        if turns.running < self.per_org {
            turns.running += 1;
            if let Some(at) = queued {
                turns.parked.remove(at);
            }
            drop(orgs);
            return Some(Slot {
                orgs: self.orgs.clone(),
                org,
                per_org: self.per_org,
            });
        }
        match (queued, was_woken) {
            (Some(at), _) => turns.parked[at].1 = wake(),
            // Its turn came and a newcomer took the slot first: it is next again.
            (None, Some(_)) => turns.parked.push_front((who.to_string(), wake())),
            (None, None) => turns.parked.push_back((who.to_string(), wake())),
        }
        None
    }

    #[cfg(test)]
    fn orgs_in_use(&self) -> usize {
        self.orgs.lock().len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let next = {
            let mut orgs = self.orgs.lock();
            let Some(turns) = orgs.get_mut(&self.org) else {
                return;
            };
            turns.running -= 1;
            let next = turns.parked.pop_front();
            if let Some((who, _)) = &next {
                if turns.woken.len() == self.per_org {
                    turns.woken.pop_front();
                }
                turns.woken.push_back(who.clone());
            }
            if turns.running == 0 && turns.parked.is_empty() {
                orgs.remove(&self.org);
            }
            next
        };
        // Outside the lock: waking sends on the controller's channel.
        if let Some((_, wake)) = next {
            wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn org(name: &str) -> OrgKey {
        ("team-a".to_string(), name.to_string())
    }

    fn per_org(n: usize) -> Slots {
        Slots::new(SlotLimits {
            total: 10,
            per_org: n,
        })
    }

    /// A wake that records `who` in `woken`.
    fn recorder(woken: &Arc<Mutex<Vec<&'static str>>>, who: &'static str) -> impl FnOnce() -> Wake {
        let woken = woken.clone();
        move || Box::new(move || woken.lock().push(who)) as Wake
    }

    /// Asks for a slot of org `a` for `who` and checks that `who` is parked, its wake
    /// recording `label`.
    fn parks(slots: &Slots, who: &str, woken: &Arc<Mutex<Vec<&'static str>>>, label: &'static str) {
        let slot = slots.admit(org("a"), who, recorder(woken, label));
        assert!(slot.is_none(), "{who} is parked");
    }

    fn never() -> Wake {
        panic!("a wake was made for an object that got a slot")
    }

    #[test]
    fn one_org_takes_at_most_its_share() {
        let slots = per_org(2);
        let woken = Arc::default();
        let a1 = slots.admit(org("a"), "OrgLink/a1", never).unwrap();
        let _a2 = slots.admit(org("a"), "OrgLink/a2", never).unwrap();
        parks(&slots, "OrgLink/a3", &woken, "a3");
        drop(a1);
        assert_eq!(*woken.lock(), ["a3"]);
        assert!(slots.admit(org("a"), "OrgLink/a3", never).is_some());
    }

    #[test]
    fn an_org_whose_slots_are_taken_does_not_hold_the_others_back() {
        let slots = per_org(2);
        let woken = Arc::default();
        let _a1 = slots.admit(org("a"), "OrgLink/a1", never).unwrap();
        let _a2 = slots.admit(org("a"), "OrgLink/a2", never).unwrap();
        parks(&slots, "OrgLink/a3", &woken, "a3");
        assert!(slots.admit(org("b"), "OrgLink/b1", never).is_some());
        assert!(woken.lock().is_empty());
    }

    #[test]
    fn parked_objects_are_woken_first_come_first_served() {
        let slots = per_org(1);
        let woken = Arc::default();
        let mut running = slots.admit(org("a"), "OrgLink/first", never);
        for who in ["one", "two", "three"] {
            let name = format!("OrgLink/{who}");
            parks(&slots, &name, &woken, who);
        }
        for who in ["one", "two", "three"] {
            drop(running.take());
            assert_eq!(woken.lock().last(), Some(&who));
            running = slots.admit(org("a"), &format!("OrgLink/{who}"), never);
            assert!(running.is_some(), "{who} gets the slot it was woken for");
        }
    }

    #[test]
    fn an_object_parked_twice_keeps_its_place_and_its_newest_wake() {
        let slots = per_org(1);
        let woken = Arc::default();
        let running = slots.admit(org("a"), "OrgLink/first", never);
        parks(&slots, "OrgLink/x", &woken, "x (old)");
        parks(&slots, "OrgLink/y", &woken, "y");
        parks(&slots, "OrgLink/x", &woken, "x (new)");
        drop(running);
        assert_eq!(*woken.lock(), ["x (new)"]);
    }

    #[test]
    fn an_object_given_a_slot_leaves_the_queue() {
        let slots = per_org(1);
        let woken = Arc::default();
        let first = slots.admit(org("a"), "OrgLink/first", never);
        parks(&slots, "OrgLink/y", &woken, "y");
        parks(&slots, "OrgLink/x", &woken, "x");
        drop(first);
        // y was woken, but x (changed meanwhile) comes first and takes the slot.
        let x = slots.admit(org("a"), "OrgLink/x", never);
        assert!(x.is_some());
        parks(&slots, "OrgLink/y", &woken, "y again");
        drop(x);
        assert_eq!(*woken.lock(), ["y", "y again"]);
        drop(slots.admit(org("a"), "OrgLink/y", never));
        assert_eq!(slots.orgs_in_use(), 0);
    }

    #[test]
    fn an_object_whose_slot_a_newcomer_took_is_next_again() {
        let slots = per_org(1);
        let woken = Arc::default();
        let first = slots.admit(org("a"), "OrgLink/first", never);
        parks(&slots, "OrgLink/x", &woken, "x");
        parks(&slots, "OrgLink/y", &woken, "y");
        drop(first);
        // x was woken, but a newcomer asked first and took the slot.
        let newcomer = slots.admit(org("a"), "OrgLink/new", never);
        assert!(newcomer.is_some());
        parks(&slots, "OrgLink/x", &woken, "x again");
        drop(newcomer);
        assert_eq!(
            *woken.lock(),
            ["x", "x again"],
            "x before y, who waited less"
        );
    }

    #[test]
    fn objects_woken_and_never_seen_again_are_not_remembered_for_long() {
        let slots = per_org(2);
        let woken = Arc::default();
        let mut running: Vec<_> = ["r1", "r2"]
            .iter()
            .map(|r| slots.admit(org("a"), r, never))
            .collect();
        let gone: Vec<String> = (0..50).map(|i| format!("OrgLink/gone-{i}")).collect();
        for who in &gone {
            parks(&slots, who, &woken, "gone");
        }
        // Each slot that comes back wakes one; the woken never come (deleted), and
        // a newcomer takes each slot instead.
        for i in 0..gone.len() {
            running.remove(0);
            running.push(slots.admit(org("a"), &format!("OrgLink/new-{i}"), never));
        }
        let orgs = slots.orgs.lock();
        assert!(orgs[&org("a")].woken.len() <= 2);
    }

    #[test]
    fn no_entry_outlives_the_work_of_its_org() {
        let slots = per_org(1);
        let wakes = Arc::new(AtomicUsize::new(0));
        let a = slots.admit(org("a"), "OrgLink/a", never);
        let counted = {
            let wakes = wakes.clone();
            move || Box::new(move || _ = wakes.fetch_add(1, Ordering::SeqCst)) as Wake
        };
        assert!(slots.admit(org("a"), "OrgLink/parked", counted).is_none());
        let b = slots.admit(org("b"), "OrgLink/b", never);
        assert_eq!(slots.orgs_in_use(), 2);
        drop(a);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        // The parked object was woken but deleted meanwhile: nothing of `a` is left.
        assert_eq!(slots.orgs_in_use(), 1);
        drop(b);
        assert_eq!(slots.orgs_in_use(), 0);
    }
}
