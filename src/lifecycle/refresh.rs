//! Refresh on demand: when a new value of the Organization annotation
//! `orglink.dev/refresh` is due a fresh read of the org's view.
//!
//! An admin (or `kubectl orglink pending`) sets the annotation to any new value; the
//! operator re-reads the org's snapshot once and records the value in
//! `status.lastHandledRefresh`. Reads spend the org's API budget, which its OrgLinks and
//! OrgPairings share, so requests are coalesced:
//! - a request waits [`RefreshPolicy::coalesce`] after it was first seen, so a burst of
//!   requests within that window costs one read (the value current at read time is the
//!   one recorded);
//! - reads for refreshes are at least [`RefreshPolicy::min_interval`] apart from the
//!   previous read of any kind;
//! - a read that started after the request was first seen (a resync, or a read after
//!   one of the org's writes) answers it at no cost.
//!
//! Pure: the caller passes the times; the Organization controller keeps when it first
//! saw an unanswered request (in the org's session) and performs the read.

use std::time::{Duration, Instant};

/// The longest annotation value handled. The value is copied into status, so it is
/// bounded; a timestamp or a counter is all it needs to be.
pub(crate) const MAX_VALUE_LEN: usize = 256;

/// How refreshes are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RefreshPolicy {
    /// How long a request waits for others to join it before the read.
    pub(crate) coalesce: Duration,
    /// The least time between the previous read of the org and a read for a refresh.
    pub(crate) min_interval: Duration,
}

impl Default for RefreshPolicy {
    /// One second of coalescing; at most one refresh read per 5 s per org, which at 5
    /// calls per read is at most 60 of the default 200 requests a minute.
    fn default() -> Self {
        RefreshPolicy {
            coalesce: Duration::from_secs(1),
            min_interval: Duration::from_secs(5),
        }
    }
}

/// What the controller knows when it decides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RefreshInput<'a> {
    /// The annotation's value, if set.
    pub(crate) requested: Option<&'a str>,
    /// The value last recorded as handled (status, or the operator's memory of its
    /// own last write when the cache has not caught up).
    pub(crate) handled: &'a [Option<&'a str>],
    /// When the operator first saw the oldest request not yet handled.
    pub(crate) pending_since: Option<Instant>,
    /// When the read of the org's current snapshot started, if there is one.
    pub(crate) last_read_started: Option<Instant>,
    pub(crate) now: Instant,
}

/// What to do about the refresh annotation in this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RefreshDecision {
    /// Nothing asked, or the value was handled already.
    Idle,
    /// The value is longer than [`MAX_VALUE_LEN`]: refused, with this message.
    Refused(String),
    /// The current snapshot was read after the request was seen: record the value
    /// handled without another read.
    Covered,
    /// Read the snapshot now (then record the value).
    Read,
    /// Look again after this long (coalescing, or the minimum interval between reads).
    Wait(Duration),
}

/// Whether `input.requested` asks for a refresh that was not handled yet.
pub(crate) fn is_pending(input: &RefreshInput<'_>) -> bool {
    match input.requested {
        Some(value) => !input.handled.contains(&Some(value)),
        None => false,
    }
}

/// The decision for one reconcile.
pub(crate) fn decide(input: &RefreshInput<'_>, policy: RefreshPolicy) -> RefreshDecision {
    let Some(value) = input.requested else {
        return RefreshDecision::Idle;
    };
    if !is_pending(input) {
        return RefreshDecision::Idle;
    }
    if value.len() > MAX_VALUE_LEN {
        return RefreshDecision::Refused(format!(
            "annotation {} is {} bytes long; set it to a value of at most {MAX_VALUE_LEN} bytes (the current time, for example)",
            crate::api::REFRESH_ANNOTATION,
            value.len()
        ));
    }
    // First seen now when the caller has no earlier sighting.
    let since = input.pending_since.unwrap_or(input.now);
    if let Some(read) = input.last_read_started
        && read >= since
    {
        return RefreshDecision::Covered;
    }
    let mut due = since + policy.coalesce;
    if let Some(read) = input.last_read_started {
        due = due.max(read + policy.min_interval);
    }
    if input.now >= due {
        RefreshDecision::Read
    } else {
        RefreshDecision::Wait(due - input.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// `decide` at `now` seconds after a fixed origin, with times given as seconds.
    fn at(
        requested: Option<&str>,
        handled: Option<&str>,
        since: Option<f64>,
        read: Option<f64>,
        now: f64,
    ) -> RefreshDecision {
        let t0 = Instant::now();
        let handled = [handled];
        decide(
            &RefreshInput {
                requested,
                handled: &handled,
                pending_since: since.map(|s| t0 + secs(s)),
                last_read_started: read.map(|r| t0 + secs(r)),
                now: t0 + secs(now),
            },
            RefreshPolicy::default(),
        )
    }

    #[test]
    fn decisions_table() {
        use RefreshDecision::*;
        let rows: &[(&str, RefreshDecision, RefreshDecision)] = &[
            (
                "no annotation",
                at(None, None, None, Some(0.0), 100.0),
                Idle,
            ),
            (
                "value already handled",
                at(Some("a"), Some("a"), None, Some(0.0), 100.0),
                Idle,
            ),
            (
                "first sight waits the coalescing second",
                at(Some("b"), Some("a"), None, Some(0.0), 100.0),
                Wait(secs(1.0)),
            ),
            (
                "half-way through the window",
                at(Some("b"), Some("a"), Some(100.0), Some(0.0), 100.5),
                Wait(secs(0.5)),
            ),
            (
                "window over, last read long ago: read",
                at(Some("b"), Some("a"), Some(100.0), Some(0.0), 101.0),
                Read,
            ),
            (
                "never read and never handled: read after the window",
                at(Some("b"), None, Some(100.0), None, 101.2),
                Read,
            ),
            (
                "a read 2 s before the request: wait for 5 s after it",
                at(Some("b"), Some("a"), Some(100.0), Some(98.0), 101.0),
                Wait(secs(2.0)),
            ),
            (
                "a read that started after the request was seen answers it",
                at(Some("b"), Some("a"), Some(100.0), Some(100.3), 100.4),
                Covered,
            ),
            (
                "a read starting the same instant answers it",
                at(Some("b"), Some("a"), Some(100.0), Some(100.0), 100.0),
                Covered,
            ),
        ];
        for (what, got, want) in rows {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn the_operators_own_memory_counts_as_handled() {
        let t0 = Instant::now();
        let handled = [Some("old"), Some("new")];
        let input = RefreshInput {
            requested: Some("new"),
            handled: &handled,
            pending_since: None,
            last_read_started: None,
            now: t0,
        };
        assert!(!is_pending(&input));
        assert_eq!(
            decide(&input, RefreshPolicy::default()),
            RefreshDecision::Idle
        );
    }

    #[test]
    fn an_oversized_value_is_refused_with_the_limit() {
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        match at(Some(&long), None, None, None, 0.0) {
            RefreshDecision::Refused(message) => {
                assert!(message.contains("orglink.dev/refresh"), "{message}");
                assert!(message.contains("257 bytes"), "{message}");
                assert!(message.contains("at most 256"), "{message}");
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        let fits = "x".repeat(MAX_VALUE_LEN);
        assert_eq!(
            at(Some(&fits), None, Some(0.0), None, 1.0),
            RefreshDecision::Read
        );
    }

    /// Simulates the controller: requests arrive at `arrivals` (seconds), each one
    /// waking a reconcile; scheduled wake-ups run too. Returns the times of the reads.
    fn simulate(arrivals: &[f64], policy: RefreshPolicy) -> Vec<f64> {
        let t0 = Instant::now();
        let mut events: Vec<(f64, Option<usize>)> = arrivals
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, Some(i)))
            .collect();
        let mut requested: Option<String> = None;
        let mut handled: Option<String> = None;
        let mut since: Option<Instant> = None;
        let mut last_read: Option<Instant> = None;
        let mut reads = Vec::new();
        let mut guard = 0;
        while !events.is_empty() {
            guard += 1;
            assert!(guard < 10_000, "no progress");
            events.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (t, arrival) = events.remove(0);
            if let Some(i) = arrival {
                requested = Some(format!("r{i}"));
            }
            let now = t0 + secs(t);
            let handled_list = [handled.as_deref()];
            let input = RefreshInput {
                requested: requested.as_deref(),
                handled: &handled_list,
                pending_since: since,
                last_read_started: last_read,
                now,
            };
            if is_pending(&input) && since.is_none() {
                since = Some(now);
            }
            match decide(&input, policy) {
                RefreshDecision::Idle | RefreshDecision::Refused(_) => {}
                RefreshDecision::Covered => {
                    handled = requested.clone();
                    since = None;
                }
                RefreshDecision::Read => {
                    reads.push(t);
                    last_read = Some(now);
                    handled = requested.clone();
                    since = None;
                }
                RefreshDecision::Wait(d) => events.push((t + d.as_secs_f64(), None)),
            }
        }
        assert_eq!(handled, requested, "the last request is always handled");
        reads
    }

    #[test]
    fn ten_requests_within_a_second_cost_one_read() {
        let arrivals: Vec<f64> = (0..10).map(|i| 10.0 + i as f64 * 0.09).collect();
        assert_eq!(simulate(&arrivals, RefreshPolicy::default()), vec![11.0]);
    }

    proptest! {
        /// However requests arrive, every one is answered by a read that started after
        /// it, reads are at least the minimum interval apart, and a burst within the
        /// coalescing window costs one read.
        #[test]
        fn reads_are_spaced_and_every_request_is_answered(
            mut arrivals in proptest::collection::vec(0.0f64..60.0, 1..40),
        ) {
            arrivals.sort_by(f64::total_cmp);
            let policy = RefreshPolicy::default();
            let reads = simulate(&arrivals, policy);
            for pair in reads.windows(2) {
                prop_assert!(pair[1] - pair[0] >= policy.min_interval.as_secs_f64() - 1e-9);
            }
            let last = *arrivals.last().unwrap();
            prop_assert!(reads.iter().any(|r| *r >= last), "the last request got a read after it");
            prop_assert!(reads.len() <= arrivals.len());
            if last - arrivals[0] < policy.coalesce.as_secs_f64() {
                prop_assert_eq!(reads.len(), 1);
            }
        }
    }
}
