//! The pairings one org has seen, by ID: what `POST /orgauthorization/pairings` answered
//! or `GET /orgauthorization/pairings/{id}` last returned.
//!
//! A pairing never changes once made: its trustee, users and groups are fixed, and it
//! lapses 48 h after creation (computed from `dateCreated`, not read). The trustee side
//! used to read its own pairing at every look while it waited to be accepted (three reads
//! per pairing on the way to Authorized, issue 14), although it had made the pairing
//! itself a moment before, and looks several times a second on its way (each status
//! write, each wake). Now a pairing seen is kept, and read again only when older than the
//! caller accepts: the trustee, which made it, once a resync (what a read can still
//! tell it, that the pairing is gone before its time, which Genesys Cloud has no call
//! for, is then noticed within a resync); the trustor, which reads the pairing to accept
//! it, at its look's `max_age` ([`crate::lifecycle::poll`]).
//!
//! Only pairings with a creation time are kept (without one the expiry is unknown), and
//! none longer than [`KEPT_AT_MOST`], so the cache stays as small as the org's open
//! pairings.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::genesys::models::TrustRequest;

/// The longest a pairing is kept, whatever the caller accepts.
pub(crate) const KEPT_AT_MOST: Duration = Duration::from_secs(3_600);

/// Pairings by ID, each with when it was seen.
#[derive(Default)]
pub(crate) struct PairingCache {
    seen: parking_lot::Mutex<HashMap<String, (Instant, TrustRequest)>>,
}

impl PairingCache {
    /// The pairing `id` as seen less than `max_age` ago (and less than [`KEPT_AT_MOST`]).
    pub(crate) fn get(&self, id: &str, max_age: Duration, now: Instant) -> Option<TrustRequest> {
        let seen = self.seen.lock();
        let (at, pairing) = seen.get(id)?;
        let age = now.saturating_duration_since(*at);
        (age < max_age.min(KEPT_AT_MOST)).then(|| pairing.clone())
    }

    /// Keeps `pairing`, seen at `now`, if it has a creation time; drops what is too old.
    pub(crate) fn keep(&self, pairing: &TrustRequest, now: Instant) {
        let mut seen = self.seen.lock();
        seen.retain(|_, (at, _)| now.saturating_duration_since(*at) < KEPT_AT_MOST);
        if pairing.date_created.is_some() {
            seen.insert(pairing.id.clone(), (now, pairing.clone()));
        }
    }

    /// Forgets pairing `id` (read and not found).
    pub(crate) fn forget(&self, id: &str) {
        self.seen.lock().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn pairing(id: &str, created: bool) -> TrustRequest {
        let mut p: TrustRequest =
            serde_json::from_value(serde_json::json!({"id": id})).expect("a pairing");
        p.date_created = created.then(Timestamp::now);
        p
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_pairing_is_kept_as_long_as_the_caller_accepts_and_an_hour_at_most() {
        let t0 = Instant::now();
        let cache = PairingCache::default();
        cache.keep(&pairing("p1", true), t0);
        assert!(cache.get("p1", S(300), t0 + S(299)).is_some());
        assert!(
            cache.get("p1", S(300), t0 + S(300)).is_none(),
            "as old as the look accepts"
        );
        assert!(cache.get("p1", S(86_400), t0 + S(3_599)).is_some());
        assert!(
            cache.get("p1", S(86_400), t0 + S(3_600)).is_none(),
            "an hour at most"
        );
        assert!(cache.get("p2", S(300), t0).is_none(), "never seen");
    }

    #[test]
    fn one_without_a_creation_time_is_not_kept_and_one_not_found_is_forgotten() {
        let t0 = Instant::now();
        let cache = PairingCache::default();
        cache.keep(&pairing("p1", false), t0);
        assert!(cache.get("p1", S(300), t0).is_none());
        cache.keep(&pairing("p2", true), t0);
        cache.forget("p2");
        assert!(cache.get("p2", S(300), t0).is_none());
    }

    #[test]
    fn old_pairings_are_dropped_when_another_is_kept() {
        let t0 = Instant::now();
        let cache = PairingCache::default();
        cache.keep(&pairing("old", true), t0);
        cache.keep(&pairing("new", true), t0 + KEPT_AT_MOST);
        assert_eq!(cache.seen.lock().len(), 1);
    }
}
