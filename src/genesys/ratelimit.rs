//! The per-organization request budget: a token bucket that keeps one org's client (all
//! its clones) under a configurable rate, by default 200 requests/minute with a burst of
//! 20 — comfortably under Genesys's 300 requests/minute per token (genesys-api.md §6.2).
//!
//! Genesys counts requests in one-minute windows, so what matters is the most requests
//! any 60 s span can hold: `burst + requests_per_minute` (220 by default). Keep that
//! below 300 when changing the settings.
//!
//! The arithmetic ([`Bucket`]) is pure and takes the time as an argument, so it is tested
//! with a made-up clock; [`RateLimiter`] wraps it with a mutex and tokio's sleep. The
//! bucket works by reservation (the generic cell rate algorithm): each caller takes the
//! next free slot at once and then sleeps until it, so waiters are served in order and
//! nobody polls. A 429 pauses the whole bucket until its `Retry-After` has passed, so
//! the other calls of the org wait too instead of collecting their own 429s.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// The longest pause [`RateLimiter::pause_for`] makes (the retry policy never asks for
/// more than its `maxRetryAfter`, itself at most an hour).
const MAX_PAUSE: Duration = Duration::from_secs(3_600);

/// The rate settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Sustained requests per minute (≥ 1).
    pub requests_per_minute: u32,
    /// Requests that may go at once after a quiet period (≥ 1).
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests_per_minute: 200,
            burst: 20,
        }
    }
}

impl RateLimitConfig {
    /// Refuses settings that cannot work, naming the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.requests_per_minute == 0 {
            return Err("rateLimit.requestsPerMinute must be at least 1".into());
        }
        if self.burst == 0 {
            return Err("rateLimit.burst must be at least 1".into());
        }
        Ok(())
    }

    /// The time between two requests at the sustained rate.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.requests_per_minute.max(1)
    }
}

/// The bucket's state, with the time passed in.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    interval: Duration,
    /// How far ahead of the sustained schedule a burst may run.
    tolerance: Duration,
    /// Theoretical arrival time of the next request at the sustained rate.
    tat: Instant,
    /// No request before this (set by a 429).
    paused_until: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub(crate) fn new(config: RateLimitConfig, now: Instant) -> Self {
        let interval = config.interval();
        Bucket {
            interval,
            tolerance: interval * config.burst.max(1).saturating_sub(1),
            tat: now,
            paused_until: now,
        }
    }

    /// Takes the next slot for a request made at `now`; returns when it may be sent
    /// (`now` itself when there is budget left).
    pub(crate) fn reserve(&mut self, now: Instant) -> Instant {
        let earliest = self.tat.checked_sub(self.tolerance).unwrap_or(now);
        let slot = now.max(earliest).max(self.paused_until);
        self.tat = self.tat.max(slot) + self.interval;
        slot
    }

    /// Holds every request until `until` (a 429's `Retry-After`).
    pub(crate) fn pause_until(&mut self, until: Instant) {
        self.paused_until = self.paused_until.max(until);
    }

    /// When the pause set by [`Bucket::pause_until`] ends.
    pub(crate) fn paused_until(&self) -> Instant {
        self.paused_until
    }
}

/// A [`Bucket`] shared by every clone of one org's client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    bucket: Mutex<Bucket>,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            bucket: Mutex::new(Bucket::new(config, Instant::now())),
        }
    }

    /// Waits for the next slot; returns how long it waited. A caller that wakes up
    /// inside a pause set meanwhile (another call got a 429) takes a new slot after the
    /// pause instead of going at once, so a pause never turns into a burst.
    pub(crate) async fn acquire(&self) -> Duration {
        let start = Instant::now();
        let mut now = start;
        loop {
            let slot = self.bucket.lock().reserve(now);
            if slot > now {
                tokio::time::sleep_until(slot).await;
            }
            now = Instant::now();
            if self.bucket.lock().paused_until() <= now {
                return slot - start;
            }
        }
    }

    /// Holds every request of this org for `delay` from now.
    /// At most [`MAX_PAUSE`], so no delay can overflow the clock.
    pub(crate) fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay.min(MAX_PAUSE);
        self.bucket.lock().pause_until(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn config(rpm: u32, burst: u32) -> RateLimitConfig {
        RateLimitConfig {
            requests_per_minute: rpm,
            burst,
        }
    }

    #[test]
    fn default_stays_under_genesys_300_per_minute() {
        let c = RateLimitConfig::default();
        assert_eq!(c.requests_per_minute, 200);
        assert!(c.requests_per_minute + c.burst < 300);
        assert_eq!(c.interval(), ms(300));
    }

    #[test]
    fn a_full_bucket_lets_the_burst_through_then_spaces_requests() {
        let t0 = Instant::now();
        let mut b = Bucket::new(config(60, 3), t0); // one per second, burst 3
        let slots: Vec<Duration> = (0..6).map(|_| b.reserve(t0) - t0).collect();
        assert_eq!(
            slots,
            vec![ms(0), ms(0), ms(0), ms(1000), ms(2000), ms(3000)]
        );
    }

    #[test]
    fn the_bucket_refills_while_idle_but_never_beyond_the_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::new(config(60, 3), t0);
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), t0);
        }
        // Two seconds later, two slots have come back.
        let t2 = t0 + ms(2000);
        assert_eq!(b.reserve(t2), t2);
        assert_eq!(b.reserve(t2), t2);
        assert_eq!(b.reserve(t2), t2 + ms(1000));
        // After an hour of silence: still only a burst of 3.
        let later = t0 + Duration::from_secs(3600);
        let slots: Vec<Duration> = (0..4).map(|_| b.reserve(later) - later).collect();
        assert_eq!(slots, vec![ms(0), ms(0), ms(0), ms(1000)]);
    }

    #[test]
    fn no_sixty_second_window_holds_more_than_burst_plus_rate() {
        // Many callers hammering at arbitrary times: count slots per window.
        let c = RateLimitConfig::default();
        let t0 = Instant::now();
        let mut b = Bucket::new(c, t0);
        let mut slots = Vec::new();
        let mut now = t0;
        for i in 0..2000u64 {
            // Bursty arrivals: clumps of 50 every ~7 s.
            if i % 50 == 0 {
                now += ms(7_000);
            }
            slots.push(b.reserve(now));
        }
        slots.sort();
        let max_in_window = (0..slots.len())
            .map(|i| {
                slots[i..]
                    .iter()
                    .take_while(|s| **s - slots[i] < Duration::from_secs(60))
                    .count()
            })
            .max()
            .unwrap();
        assert!(
            max_in_window <= (c.burst + c.requests_per_minute) as usize,
            "{max_in_window}"
        );
        assert!(max_in_window < 300);
    }

    #[test]
    fn a_pause_holds_every_request_and_keeps_the_spacing_after() {
        let t0 = Instant::now();
        let mut b = Bucket::new(config(60, 2), t0);
        b.pause_until(t0 + ms(5000));
        // An earlier pause never shortens a later one.
        b.pause_until(t0 + ms(1000));
        assert_eq!(b.paused_until(), t0 + ms(5000));
        let slots: Vec<Duration> = (0..4).map(|_| b.reserve(t0) - t0).collect();
        assert_eq!(slots, vec![ms(5000), ms(5000), ms(6000), ms(7000)]);
    }

    #[test]
    fn validation_names_the_field() {
        assert!(config(1, 1).validate().is_ok());
        assert!(
            config(0, 1)
                .validate()
                .unwrap_err()
                .contains("requestsPerMinute")
        );
        assert!(config(1, 0).validate().unwrap_err().contains("burst"));
    }

    #[tokio::test]
    async fn the_limiter_sleeps_until_the_slot() {
        // Lower bounds only: a sleep never ends early, however loaded the machine.
        let limiter = RateLimiter::new(config(6000, 1)); // one per 10 ms
        let start = Instant::now();
        assert_eq!(limiter.acquire().await, Duration::ZERO);
        assert!(limiter.acquire().await > Duration::ZERO);
        assert!(Instant::now() - start >= ms(10));
        limiter.pause_for(ms(100));
        limiter.acquire().await;
        assert!(Instant::now() - start >= ms(110));
    }
}
