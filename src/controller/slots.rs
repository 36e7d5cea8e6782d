//! How many reconciles run at once: at most `per_org` acting as one Organization, at
//! most `total` of all kinds together.
//!
//! Why per org: the reconciles of one org share its Genesys budget (its rate limiter),
//! so beyond a few at once they only wait for their turn to call. Taking the org's slot
//! first means those waiting do not hold the slots of every other org: a namespace whose
//! Genesys org is slow, rate-limited or unreachable holds at most `per_org` slots.
//!
//! Why in total: a reconcile's state is some kilobytes, held from its first await to its
//! end. Without a bound, 10,000 OrgLinks waiting on 100 orgs' budgets held 10,000 of
//! them (143 MiB of the `memory` bench's 268 MiB heap). A reconcile waiting here holds
//! only its object and the context: the caller allocates the reconcile itself once it
//! has its [`Slot`] (see [`super::admitted`]).
//!
//! Both waits are first come, first served (tokio's semaphores are fair). The per-org
//! entries exist only while a reconcile of that org holds or waits for a slot, so no
//! state outlives the org's work.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default of `--max-concurrent-reconciles`.
pub(crate) const DEFAULT_TOTAL: usize = 256;
/// The default of `--max-concurrent-reconciles-per-org`.
pub(crate) const DEFAULT_PER_ORG: usize = 4;

/// The limits, as set by the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotLimits {
    pub(crate) total: usize,
    pub(crate) per_org: usize,
}

impl Default for SlotLimits {
    fn default() -> Self {
        SlotLimits {
            total: DEFAULT_TOTAL,
            per_org: DEFAULT_PER_ORG,
        }
    }
}

/// The Organization a reconcile acts as: its namespace and name.
pub(crate) type OrgKey = (String, String);

/// The slots of one operator, shared by its controllers.
#[derive(Debug)]
pub(crate) struct Slots {
    total: Arc<Semaphore>,
    per_org: usize,
    orgs: Arc<Mutex<HashMap<OrgKey, Arc<Semaphore>>>>,
}

/// A reconcile's right to run; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    // Dropped in this order: the total first, then the org's (which may forget the org).
    _total: OwnedSemaphorePermit,
    _org: OrgSlot,
}

impl Slots {
    pub(crate) fn new(limits: SlotLimits) -> Self {
        Slots {
            total: Arc::new(Semaphore::new(limits.total.max(1))),
            per_org: limits.per_org.max(1),
            orgs: Arc::default(),
        }
    }

    /// Waits for a slot of `org`, then for one of the total.
    pub(crate) async fn take(&self, org: OrgKey) -> Slot {
        let org_slot = self.take_org(org).await;
        let total = self
            .total
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        Slot {
            _total: total,
            _org: org_slot,
        }
    }

    async fn take_org(&self, org: OrgKey) -> OrgSlot {
        let semaphore = self
            .orgs
            .lock()
            .entry(org.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_org)))
            .clone();
        let mut slot = OrgSlot {
            orgs: self.orgs.clone(),
            org,
            semaphore,
            held: false,
        };
        // Borrowed, not cloned: if this future is dropped while waiting, `slot`'s drop
        // sees only the map's reference besides its own and forgets the org.
        slot.semaphore
            .acquire()
            .await
            .expect("the semaphore is never closed")
            .forget();
        slot.held = true;
        slot
    }

    /// Organizations with a reconcile holding or waiting for a slot.
    #[cfg(test)]
    fn orgs_in_use(&self) -> usize {
        self.orgs.lock().len()
    }
}

/// A slot of one org (or the wait for one); forgets the org's entry when it was the last
/// to hold or wait for it.
#[derive(Debug)]
struct OrgSlot {
    orgs: Arc<Mutex<HashMap<OrgKey, Arc<Semaphore>>>>,
    org: OrgKey,
    semaphore: Arc<Semaphore>,
    /// Whether this holds one of the org's permits (taken and forgotten: given back by
    /// hand on drop).
    held: bool,
}

impl Drop for OrgSlot {
    fn drop(&mut self) {
        let mut orgs = self.orgs.lock();
        if self.held {
            self.semaphore.add_permits(1);
        }
        // Every other holder or waiter keeps a clone, taken under this lock: two
        // references (the map's and ours) mean nobody else needs the entry.
        if Arc::strong_count(&self.semaphore) == 2 {
            orgs.remove(&self.org);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::FutureExt;

    use super::*;

    fn org(name: &str) -> OrgKey {
        ("team-a".to_string(), name.to_string())
    }

    fn limits(total: usize, per_org: usize) -> Slots {
        Slots::new(SlotLimits { total, per_org })
    }

    #[tokio::test]
    async fn one_org_takes_at_most_its_share() {
        let slots = limits(10, 2);
        let a1 = slots.take(org("a")).await;
        let _a2 = slots.take(org("a")).await;
        assert!(slots.take(org("a")).now_or_never().is_none());
        drop(a1);
        assert!(slots.take(org("a")).now_or_never().is_some());
    }

    #[tokio::test]
    async fn an_org_waiting_for_its_turn_does_not_hold_the_others_back() {
        let slots = limits(3, 2);
        let _a1 = slots.take(org("a")).await;
        let _a2 = slots.take(org("a")).await;
        // A third reconcile of `a` waits for `a`, not on the total.
        let mut a3 = Box::pin(slots.take(org("a")));
        assert!((&mut a3).now_or_never().is_none());
        let b = slots.take(org("b")).now_or_never();
        assert!(b.is_some(), "b got the last of the total");
    }

    #[tokio::test]
    async fn the_total_bounds_all_orgs_together() {
        let slots = limits(2, 2);
        let a = slots.take(org("a")).await;
        let _b = slots.take(org("b")).await;
        let mut c = Box::pin(slots.take(org("c")));
        assert!((&mut c).now_or_never().is_none());
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(5), c).await;
        assert!(c.is_ok(), "c runs once a slot is free");
    }

    #[tokio::test]
    async fn waiters_are_served_first_come_first_served() {
        let slots = Arc::new(limits(10, 1));
        let first = slots.take(org("a")).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for n in 0..5 {
            let (slots, order) = (slots.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _slot = slots.take(org("a")).await;
                order.lock().push(n);
            }));
            // Let each waiter queue before the next.
            tokio::task::yield_now().await;
        }
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn no_entry_outlives_the_work_of_its_org() {
        let slots = limits(10, 1);
        let a = slots.take(org("a")).await;
        // A waiter that gives up (its reconcile was dropped) leaves nothing behind.
        let mut gave_up = Box::pin(slots.take(org("a")));
        assert!((&mut gave_up).now_or_never().is_none());
        drop(gave_up);
        let _b = slots.take(org("b")).await;
        assert_eq!(slots.orgs_in_use(), 2);
        drop(a);
        assert_eq!(slots.orgs_in_use(), 1);
        drop(_b);
        assert_eq!(slots.orgs_in_use(), 0);
    }
}
