//! When an OrgLink or OrgPairing looks at Genesys Cloud again, and how old an org
//! snapshot it accepts when it does.
//!
//! A relationship that waits on its peer (a link request not yet approved, a pairing not
//! yet accepted) used to look every 10 s for as long as it waited, re-reading its org's
//! whole snapshot each time: an org with 100 requests to remote orgs that never answer
//! spent its Genesys budget on them forever. Now the wait backs off: it looks again
//! after as long as it has already waited (10 s, 10 s, 20 s, 40 s, ...: doubling), up to
//! the resync interval. A peer managed by this operator does not need the poll at all:
//! its answer wakes the waiting object at once (the controllers' wake-ups), so the
//! backoff only bounds how late an answer given elsewhere (the Genesys UI, another
//! operator) is seen.
//!
//! A settled relationship looks again at the resync interval. Either way the org's
//! snapshot is shared: a settled look accepts a snapshot as old as the resync, a waiting
//! one half its interval (so it always reads again what its own last look read), and
//! the objects of an org that look close together share one read.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use super::Requeue;
use crate::api::conditions::{find, types};

/// Once settled, a trust's members are read again at every this many resyncs
/// ([`PollPolicy::members_max_age`]); `orglink.dev/refresh` reads them at once.
pub(crate) const MEMBER_CHECK_RESYNCS: u32 = 3;

/// The intervals the decision works within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PollPolicy {
    /// The first look after a change, and the shortest interval while waiting.
    pub(crate) first: Duration,
    /// The Organization's resync interval: the longest any look is put off.
    pub(crate) resync: Duration,
}

impl PollPolicy {
    /// The resync, never shorter than `first`.
    fn ceiling(&self) -> Duration {
        self.resync.max(self.first)
    }

    /// How long to wait before the next look, for an object whose decision asked for
    /// `requeue` and which has been waiting since `waiting_since` (see [`waiting_since`]).
    /// The caller adds jitter to a [`Requeue::Resync`].
    pub(crate) fn next(
        &self,
        requeue: Requeue,
        waiting_since: Option<Timestamp>,
        now: Timestamp,
    ) -> Duration {
        match requeue {
            Requeue::Resync => self.ceiling(),
            Requeue::Soon => self.waiting_interval(waiting_since, now),
        }
    }

    /// How old a snapshot an object may decide on: once settled, the resync interval;
    /// while it waits, half its current interval. The snapshot its last look read is
    /// then always too old (that look was a whole interval ago), so every look while
    /// waiting sees Genesys as it is now, or as another object of the org read it since
    /// the middle of the interval. Accepting a whole interval instead let the snapshot
    /// age in step with the wait (the wait and the snapshot start together, and the
    /// wait's start is the `Ready` transition, stored to the second): a waiting object
    /// then never read again, and an answer given in the Genesys UI was not seen until
    /// something else read the org.
    pub(crate) fn max_age(
        &self,
        waiting: bool,
        waiting_since: Option<Timestamp>,
        now: Timestamp,
    ) -> Duration {
        if waiting {
            self.waiting_interval(waiting_since, now) / 2
        } else {
            self.ceiling()
        }
    }

    /// How old a trust's members (who is in it, with which roles) a look may decide on.
    /// While it waits, as old as the trust list it reads (`None`): the answer it waits
    /// for may be a member added. Once settled, [`MEMBER_CHECK_RESYNCS`] resyncs: a
    /// member or role changed in Genesys behind the operator's back is put back within
    /// them, and a settled org's reads stay at its snapshot's (issue 14: at most 3 reads
    /// per org per resync; a trust's members cost 2 calls and one per group).
    pub(crate) fn members_max_age(&self, waiting: bool) -> Option<Duration> {
        (!waiting).then(|| self.ceiling() * MEMBER_CHECK_RESYNCS)
    }

    /// As long as the object has waited so far, from `first` up to the resync.
    fn waiting_interval(&self, waiting_since: Option<Timestamp>, now: Timestamp) -> Duration {
        let waited = waiting_since
            .and_then(|since| now.duration_since(since).try_into().ok())
            .unwrap_or(Duration::ZERO);
        waited.clamp(self.first, self.ceiling())
    }
}

/// Since when an object has been in its current state: the last transition of its
/// `Ready` condition (the waiting phases all hold `Ready` Unknown or False, so a new
/// wait starts a new transition, and a wait that goes on keeps its time).
pub(crate) fn waiting_since(conditions: &[Condition]) -> Option<Timestamp> {
    find(conditions, types::READY).map(|c| c.last_transition_time.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use proptest::prelude::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn policy() -> PollPolicy {
        PollPolicy {
            first: S(10),
            resync: S(300),
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_wait_backs_off_from_ten_seconds_doubling_up_to_the_resync() {
        // (waited so far, next look after)
        let table = [
            (None, 10),
            (Some(0), 10),
            (Some(5), 10),
            (Some(10), 10),
            (Some(20), 20),
            (Some(40), 40),
            (Some(160), 160),
            (Some(299), 299),
            (Some(300), 300),
            (Some(3_600), 300),
            (Some(86_400 * 400), 300),
        ];
        for (waited, expected) in table {
            let since = waited.map(|w| at(-w));
            assert_eq!(
                policy().next(Requeue::Soon, since, at(0)),
                S(expected as u64),
                "waited {waited:?}"
            );
        }
    }

    #[test]
    fn the_looks_of_a_wait_double() {
        // Looking again after as long as it waited: 10, 20, 40, 80, 160, 300, 300...
        let p = policy();
        let since = at(0);
        let mut now = at(0);
        let mut looks = Vec::new();
        for _ in 0..8 {
            now = now + p.next(Requeue::Soon, Some(since), now);
            looks.push(now.as_second() - since.as_second());
        }
        assert_eq!(looks, [10, 20, 40, 80, 160, 320, 620, 920]);
    }

    #[test]
    fn a_settled_look_checks_a_trusts_members_every_third_resync_a_waiting_one_with_its_list() {
        let p = policy();
        assert_eq!(p.members_max_age(false), Some(S(900)));
        assert_eq!(p.members_max_age(true), None);
        // Never shorter than the first look, as the resync.
        let short = PollPolicy {
            first: S(10),
            resync: S(2),
        };
        assert_eq!(short.members_max_age(false), Some(S(30)));
    }

    #[test]
    fn a_settled_object_looks_at_the_resync_and_accepts_a_snapshot_that_old() {
        let p = policy();
        assert_eq!(p.next(Requeue::Resync, None, at(0)), S(300));
        assert_eq!(p.next(Requeue::Resync, Some(at(-5)), at(0)), S(300));
        assert_eq!(p.max_age(false, Some(at(-5)), at(0)), S(300));
        // A waiting object accepts a snapshot half as old as its current interval.
        assert_eq!(p.max_age(true, Some(at(-5)), at(0)), S(5));
        assert_eq!(p.max_age(true, Some(at(-100)), at(0)), S(50));
        assert_eq!(p.max_age(true, None, at(0)), S(5));
    }

    #[test]
    fn a_resync_shorter_than_the_first_look_never_inverts_the_bounds() {
        let p = PollPolicy {
            first: S(10),
            resync: S(1),
        };
        assert_eq!(p.next(Requeue::Soon, Some(at(-100)), at(0)), S(10));
        assert_eq!(p.next(Requeue::Resync, None, at(0)), S(10));
    }

    #[test]
    fn a_wait_that_starts_in_the_future_counts_as_just_begun() {
        // A clock skew between the writer of the condition and this replica.
        assert_eq!(policy().next(Requeue::Soon, Some(at(60)), at(0)), S(10));
    }

    #[test]
    fn the_wait_starts_at_the_ready_conditions_last_transition() {
        let ready = Condition {
            type_: "Ready".into(),
            status: "Unknown".into(),
            reason: "WaitingForConfirmation".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(at(-42)),
        };
        let other = Condition {
            type_: "Linked".into(),
            last_transition_time: Time(at(-7)),
            ..ready.clone()
        };
        assert_eq!(waiting_since(&[other.clone(), ready]), Some(at(-42)));
        assert_eq!(waiting_since(&[other]), None);
    }

    proptest! {
        #[test]
        fn every_interval_lies_between_the_first_look_and_the_resync(
            first in 1u64..120,
            resync in 1u64..86_400,
            waited in proptest::option::of(-86_400i64..10_000_000),
            soon in any::<bool>(),
        ) {
            let p = PollPolicy { first: S(first), resync: S(resync) };
            let requeue = if soon { Requeue::Soon } else { Requeue::Resync };
            let since = waited.map(|w| at(-w));
            let next = p.next(requeue, since, at(0));
            prop_assert!(next >= S(first) && next <= S(resync.max(first)));
            let age = p.max_age(soon, since, at(0));
            prop_assert!(age >= S(first) / 2 && age <= S(resync.max(first)));
        }

        /// The reproduction: a link request rejected in the Genesys UI was not seen for
        /// 90 s and more (the snapshot was never read again while the link waited).
        /// Every look of a waiting object reads again when no one else did, however the
        /// wait's start (stored to the second) and the last read are offset.
        #[test]
        fn every_look_while_waiting_reads_what_its_last_look_read_again(
            offset_ms in -1_000i64..1_000,
            resync in 10u64..7_200,
        ) {
            let p = PollPolicy { first: S(10), resync: S(resync) };
            let since = at(0);
            let mut last_read = since + k8s_openapi::jiff::SignedDuration::from_millis(offset_ms);
            let mut now = since;
            for _ in 0..20 {
                now += p.next(Requeue::Soon, Some(since), now);
                let age = now.duration_since(last_read);
                let max_age = p.max_age(true, Some(since), now);
                prop_assert!(
                    age >= k8s_openapi::jiff::SignedDuration::try_from(max_age).unwrap(),
                    "at {now}: a snapshot {age:?} old is accepted (max {max_age:?})"
                );
                last_read = now;
            }
        }

        #[test]
        fn waiting_longer_never_makes_the_next_look_sooner(
            waited in 0i64..1_000_000,
            more in 0i64..1_000_000,
        ) {
            let p = policy();
            let a = p.next(Requeue::Soon, Some(at(-waited)), at(0));
            let b = p.next(Requeue::Soon, Some(at(-waited - more)), at(0));
            prop_assert!(b >= a);
        }
    }
}
