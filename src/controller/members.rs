//! The members of each trust as last read, per org session and peer org: on the trustee
//! side who is in it, on the trustor side who is in it with which roles (and their
//! emails and names, to match a grant's). Reading them costs two or more calls per trust
//! (users, groups, each group's roles); a pairing on its way reconciles several times a
//! second (each status write, each wake), and each look used to read them again.
//!
//! Members are kept exactly as long as the trust list they belong to: an entry counts
//! only when its read began after the snapshot's trust lists were read
//! ([`super::sessions::Snapshot::trusts_read_started`]), so they are read again whenever
//! the trust list is (at the look's `max_age`, the resync once settled, or when marked
//! stale by a peer's write). Our own writes to a trust forget its members first, and a
//! trust list made stale forgets them all.

use std::collections::HashMap;
use std::time::Instant;

/// Members of type `T`, by peer org ID, with when each read began.
pub(crate) struct MemberCache<T> {
    entries: parking_lot::Mutex<Entries<T>>,
}

struct Entries<T> {
    by_peer: HashMap<String, (Instant, T)>,
    /// The last forget: a read that began before it may have seen what was forgotten,
    /// so it is not kept.
    forgotten_at: Option<Instant>,
}

impl<T> Default for MemberCache<T> {
    fn default() -> Self {
        Self {
            entries: parking_lot::Mutex::new(Entries {
                by_peer: HashMap::new(),
                forgotten_at: None,
            }),
        }
    }
}

impl<T: Clone> MemberCache<T> {
    /// The members of the trust with `peer` if their read began at or after `since`.
    pub(crate) fn since(&self, peer: &str, since: Instant) -> Option<T> {
        let entries = self.entries.lock();
        let (started, members) = entries.by_peer.get(peer)?;
        (*started >= since).then(|| members.clone())
    }

    /// Keeps `members` of the trust with `peer`, read from `started`, unless something
    /// was forgotten since that read began.
    pub(crate) fn store(&self, peer: &str, started: Instant, members: T) {
        let mut entries = self.entries.lock();
        if entries.forgotten_at.is_some_and(|at| at > started) {
            return;
        }
        entries.by_peer.insert(peer.to_string(), (started, members));
    }

    /// Forgets the members of the trust with `peer` (we are about to change them).
    pub(crate) fn forget(&self, peer: &str) {
        let mut entries = self.entries.lock();
        entries.by_peer.remove(peer);
        entries.forgotten_at = Some(Instant::now());
    }

    /// Forgets every trust's members (the trust lists were made stale).
    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock();
        entries.by_peer.clear();
        entries.forgotten_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn members_count_only_when_read_after_the_trust_list() {
        let cache = MemberCache::<u32>::default();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        cache.store("p", t1, 7);
        assert_eq!(cache.since("p", t0), Some(7));
        assert_eq!(cache.since("p", t1), Some(7));
        assert_eq!(
            cache.since("p", t1 + Duration::from_millis(1)),
            None,
            "list re-read"
        );
        assert_eq!(cache.since("q", t0), None);
    }

    #[test]
    fn a_read_that_began_before_a_forget_is_not_kept() {
        let cache = MemberCache::<u32>::default();
        let before = Instant::now();
        cache.store("p", before, 1);
        cache.forget("p");
        assert_eq!(cache.since("p", before), None);
        cache.store("p", before, 2);
        assert_eq!(cache.since("p", before), None, "began before the forget");
        let after = Instant::now();
        cache.store("p", after, 3);
        assert_eq!(cache.since("p", after), Some(3));
        cache.forget_all();
        assert_eq!(cache.since("p", after), None);
    }
}
