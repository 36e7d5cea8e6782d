//! The simulated clock: wall time plus an offset that tests move forward.
//!
//! Everything in the simulator that Genesys measures in wall-clock time reads this clock:
//! pairing expiry (48 h), trust `dateExpired`, `dateCreated` stamps and access-token
//! lifetimes. Advancing it by 49 h therefore expires pairings *and* the tokens issued
//! before the jump, exactly as 49 real hours would. Rate-limit windows and injected
//! latency are deliberately *not* on this clock: a client waits them out in real time
//! (`Retry-After`), so they use the monotonic clock.

use jiff::{RoundMode, SignedDuration, Timestamp, TimestampRound, Unit};
use parking_lot::Mutex;

/// Wall time shifted by an offset that only grows.
#[derive(Debug, Default)]
pub(crate) struct SimClock {
    offset: Mutex<SignedDuration>,
}

/// Why the clock refused to move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Time only moves forward: a pairing that expired must stay expired.
    #[error("the simulated clock only moves forward; got a negative advance of {0}")]
    Backwards(SignedDuration),
}

impl SimClock {
    /// A clock that starts at the current wall time.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The simulated now, to the millisecond (as Genesys timestamps are).
    pub(crate) fn now(&self) -> Timestamp {
        let offset = *self.offset.lock();
        let now = Timestamp::now()
            .saturating_add(offset)
            .unwrap_or(Timestamp::MAX);
        now.round(
            TimestampRound::new()
                .smallest(Unit::Millisecond)
                .mode(RoundMode::Trunc),
        )
        .unwrap_or(now)
    }

    /// How far the clock has been moved ahead of wall time in total.
    pub(crate) fn offset(&self) -> SignedDuration {
        *self.offset.lock()
    }

    /// Moves the clock forward by `by` and returns the new simulated now.
    pub(crate) fn advance(&self, by: SignedDuration) -> Result<Timestamp, ClockError> {
        if by.is_negative() {
            return Err(ClockError::Backwards(by));
        }
        let mut offset = self.offset.lock();
        *offset = offset.saturating_add(by);
        drop(offset);
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_by_at_least_the_amount() {
        let clock = SimClock::new();
        let before = clock.now();
        let after = clock.advance(SignedDuration::from_hours(49)).unwrap();
        assert!(after.duration_since(before) >= SignedDuration::from_hours(49));
        assert!(clock.now() >= after);
        assert_eq!(clock.offset(), SignedDuration::from_hours(49));
        assert_eq!(
            after.subsec_nanosecond() % 1_000_000,
            0,
            "millisecond precision"
        );
    }

    #[test]
    fn offsets_accumulate() {
        let clock = SimClock::new();
        clock.advance(SignedDuration::from_hours(1)).unwrap();
        clock.advance(SignedDuration::from_mins(30)).unwrap();
        assert_eq!(clock.offset(), SignedDuration::from_mins(90));
    }

    #[test]
    fn going_backwards_is_refused_and_changes_nothing() {
        let clock = SimClock::new();
        let err = clock.advance(SignedDuration::from_secs(-5)).unwrap_err();
        assert!(matches!(err, ClockError::Backwards(_)));
        assert!(err.to_string().contains("only moves forward"));
        assert_eq!(clock.offset(), SignedDuration::ZERO);
    }
}
