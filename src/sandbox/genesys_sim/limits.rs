//! Rate limits (genesys-api.md §6.2).
//!
//! - API requests: at most `requestsPerWindow` (default 300) per `windowSeconds`
//!   (default 60) per access token, counted in fixed windows that start at a token's
//!   first request. Over the limit the answer is 429 `too.many.requests.retry.after`
//!   with `Retry-After` = whole seconds until the window ends (at least 1). Refused
//!   requests do not count against the window.
//! - Token requests: optionally at most `tokenRequestsPerWindow` per OAuth client per
//!   window, answered like Genesys's login service does: 400 `invalid_request (rate
//!   limit exceeded; ...)`. Off by default (Genesys does not document the number).
//!
//! Windows run on the monotonic clock, not the simulated one: a client honours
//! `Retry-After` by actually waiting. Tests shrink the window through the admin endpoint
//! to provoke 429 storms in a few seconds.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The configurable limits (JSON body of `POST /_sim/rate-limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// API requests allowed per token per window (Genesys: 300 per minute).
    #[serde(default = "default_requests")]
    pub requests_per_window: u32,
    /// Window length in seconds (Genesys: 60).
    #[serde(default = "default_window")]
    pub window_seconds: u64,
    /// Token requests allowed per OAuth client per window; `None` = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_requests_per_window: Option<u32>,
}

fn default_requests() -> u32 {
    300
}

fn default_window() -> u64 {
    60
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests_per_window: default_requests(),
            window_seconds: default_window(),
            token_requests_per_window: None,
        }
    }
}

impl RateLimitConfig {
    /// Refuses limits that would make every request fail or never reset.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.requests_per_window == 0 {
            return Err("requestsPerWindow must be at least 1".into());
        }
        if self.window_seconds == 0 {
            return Err("windowSeconds must be at least 1".into());
        }
        if self.token_requests_per_window == Some(0) {
            return Err(
                "tokenRequestsPerWindow must be at least 1 (or absent for no limit)".into(),
            );
        }
        Ok(())
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.window_seconds)
    }
}

/// One fixed window of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    started: Instant,
    count: u32,
}

impl Window {
    pub(crate) fn new(now: Instant) -> Self {
        Window {
            started: now,
            count: 0,
        }
    }

    /// Admits one request at `now`, or says how many whole seconds until it would be.
    pub(crate) fn admit(&mut self, now: Instant, limit: u32, length: Duration) -> Result<(), u64> {
        if now >= self.started + length {
            *self = Window::new(now);
        }
        if self.count < limit {
            self.count += 1;
            Ok(())
        } else {
            let left = (self.started + length).saturating_duration_since(now);
            Err(left.as_secs_f64().ceil().max(1.0) as u64)
        }
    }
}

/// Fixed-window counters per key (token or client ID).
pub(crate) struct RateLimiter {
    config: Mutex<RateLimitConfig>,
    api: Mutex<HashMap<String, Window>>,
    token: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config: Mutex::new(config),
            api: Mutex::new(HashMap::new()),
            token: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn config(&self) -> RateLimitConfig {
        *self.config.lock()
    }

    /// Replaces the limits and starts every window afresh.
    pub(crate) fn set_config(&self, config: RateLimitConfig) -> Result<(), String> {
        config.validate()?;
        *self.config.lock() = config;
        self.api.lock().clear();
        self.token.lock().clear();
        Ok(())
    }

    /// Admits one API request made with `token`; `Err(retry_after_secs)` if over.
    pub(crate) fn admit_api(&self, token: &str) -> Result<(), u64> {
        let config = self.config();
        admit(
            &self.api,
            token,
            config.requests_per_window,
            config.window(),
        )
    }

    /// Admits one token request of `client_id`; `Err(retry_after_secs)` if over.
    pub(crate) fn admit_token(&self, client_id: &str) -> Result<(), u64> {
        let config = self.config();
        match config.token_requests_per_window {
            None => Ok(()),
            Some(limit) => admit(&self.token, client_id, limit, config.window()),
        }
    }
}

fn admit(
    windows: &Mutex<HashMap<String, Window>>,
    key: &str,
    limit: u32,
    length: Duration,
) -> Result<(), u64> {
    let now = Instant::now();
    let mut windows = windows.lock();
    if windows.len() > 10_000 {
        // Forget windows that ended long ago (old tokens), so memory stays flat.
        windows.retain(|_, w| now < w.started + length * 2);
    }
    windows
        .entry(key.to_string())
        .or_insert_with(|| Window::new(now))
        .admit(now, limit, length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_up_to_the_limit_then_says_when_to_retry() {
        let t = Instant::now();
        let minute = Duration::from_secs(60);
        let mut w = Window::new(t);
        for _ in 0..300 {
            w.admit(t, 300, minute).unwrap();
        }
        assert_eq!(w.admit(t + Duration::from_secs(18), 300, minute), Err(42));
        assert_eq!(
            w.admit(t + Duration::from_millis(59_500), 300, minute),
            Err(1)
        );
        // Refused requests did not count: the next window starts clean.
        w.admit(t + minute, 300, minute).unwrap();
        assert_eq!(w.count, 1);
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let t = Instant::now();
        let mut w = Window::new(t);
        w.admit(t, 1, Duration::from_secs(2)).unwrap();
        assert_eq!(
            w.admit(t + Duration::from_millis(100), 1, Duration::from_secs(2)),
            Err(2)
        );
    }

    #[test]
    fn limits_are_per_key() {
        let limiter = RateLimiter::new(RateLimitConfig {
            requests_per_window: 2,
            window_seconds: 60,
            token_requests_per_window: None,
        });
        limiter.admit_api("a").unwrap();
        limiter.admit_api("a").unwrap();
        assert!(limiter.admit_api("a").is_err());
        limiter.admit_api("b").unwrap();
        // Token requests are unlimited by default.
        for _ in 0..100 {
            limiter.admit_token("client").unwrap();
        }
    }

    #[test]
    fn changing_the_config_resets_windows_and_bad_configs_are_refused() {
        let limiter = RateLimiter::new(RateLimitConfig {
            requests_per_window: 1,
            ..RateLimitConfig::default()
        });
        limiter.admit_api("a").unwrap();
        assert!(limiter.admit_api("a").is_err());
        limiter
            .set_config(RateLimitConfig {
                requests_per_window: 1,
                window_seconds: 60,
                token_requests_per_window: Some(1),
            })
            .unwrap();
        limiter.admit_api("a").unwrap();
        limiter.admit_token("c").unwrap();
        assert!(limiter.admit_token("c").is_err());
        for bad in [
            RateLimitConfig {
                requests_per_window: 0,
                ..RateLimitConfig::default()
            },
            RateLimitConfig {
                window_seconds: 0,
                ..RateLimitConfig::default()
            },
            RateLimitConfig {
                token_requests_per_window: Some(0),
                ..RateLimitConfig::default()
            },
        ] {
            assert!(limiter.set_config(bad).is_err());
        }
        assert_eq!(limiter.config().token_requests_per_window, Some(1));
    }

    #[test]
    fn the_default_is_genesys_300_per_minute() {
        let c: RateLimitConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, RateLimitConfig::default());
        assert_eq!((c.requests_per_window, c.window_seconds), (300, 60));
    }
}
