//! The retry policy, as pure functions: which failures are retried, after how long, and
//! when to give up (genesys-api.md §6.2).
//!
//! - 429: wait `Retry-After` (plus a little jitter so clones do not return in lock
//!   step); give up when it asks for more than [`RetryConfig::max_retry_after`] (180 s,
//!   as the official SDKs do) or after [`RetryConfig::max_rate_limit_retries`] 429s.
//!   The header is the remote's number: [`parse_retry_after`] never panics, and any
//!   value (`1e20`, `-1`, `NaN`, a date in the year 9999) is either refused or
//!   saturates at [`MAX_PARSED_RETRY_AFTER`], so nothing here can overflow.
//! - 5xx except 501 (Not Implemented will not get better) and retryable transport errors
//!   (connect, timeout, reset): jittered exponential backoff, at most
//!   [`RetryConfig::max_attempts`] attempts in all.
//! - 401: one retry with a fresh token (the cached one may have expired early or been
//!   revoked); a second 401 is final.
//! - Everything else (400, 403, 404, 409, …) is final: repeating it cannot change it.
//!
//! Every request is retried the same way whatever its method, as the SDKs do: the
//! failures retried here (5xx answered before processing, dropped connections) are far
//! likelier than a lost success, and the callers' creates read back a 409 as "exists".

use std::time::{Duration, SystemTime};

/// The retry settings of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts in all for a request failing with 5xx or a transport error (≥ 1).
    pub max_attempts: u32,
    /// 429 answers honoured (each waiting `Retry-After`) before giving up.
    pub max_rate_limit_retries: u32,
    /// First backoff step; doubles each attempt.
    pub base_delay: Duration,
    /// Upper bound of one backoff step.
    pub max_delay: Duration,
    /// A `Retry-After` above this is not waited for: the call fails as rate limited.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            max_rate_limit_retries: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(180),
        }
    }
}

impl RetryConfig {
    /// Refuses settings that cannot work, naming the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("retry.maxAttempts must be at least 1 (1 = no retries)".into());
        }
        if self.base_delay.is_zero() {
            return Err("retry.baseDelay must be greater than zero".into());
        }
        if self.max_delay < self.base_delay {
            return Err("retry.maxDelay must be at least retry.baseDelay".into());
        }
        if self.max_retry_after > MAX_RETRY_AFTER_LIMIT {
            return Err(format!(
                "retry.maxRetryAfter must be at most {} s",
                MAX_RETRY_AFTER_LIMIT.as_secs()
            ));
        }
        Ok(())
    }

    /// The backoff before retry number `retry` (1-based): `base * 2^(retry-1)` capped at
    /// `max_delay`, with "equal jitter" — half fixed, half random (`jitter` ∈ [0, 1)) — so
    /// the wait never collapses to zero yet concurrent clients spread out.
    pub(crate) fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let step = exponential(self.base_delay, retry, self.max_delay);
        let half = step / 2;
        half.saturating_add(half.mul_f64(unit(jitter)))
    }
}

/// The exponential step before attempt `n` (1-based) after a failure: `base * 2^(n-1)`,
/// capped at `max` (the doubling stops at 2^30, where any real cap has long been reached).
/// The one doubling of the crate: the client's retries jitter it ([`RetryConfig::backoff`]),
/// and the controllers' requeue after a failed reconcile is meant to use it too.
pub(crate) fn exponential(base: Duration, n: u32, max: Duration) -> Duration {
    let exp = n.saturating_sub(1).min(30);
    base.saturating_mul(1u32 << exp).min(max)
}

/// `jitter` forced into [0, 1] (NaN → 0), so `Duration::mul_f64` cannot panic on it.
fn unit(jitter: f64) -> f64 {
    if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    }
}

/// Why one attempt failed, as far as the policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An HTTP answer with a non-success status (and its `Retry-After`, if any).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The request got no HTTP answer.
    Transport(TransportKind),
}

/// Kinds of transport failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect (refused, DNS, reset during connect).
    Connect,
    /// The request timeout elapsed.
    Timeout,
    /// The server's certificate was refused: retrying cannot help.
    Certificate,
    /// Too many redirects, or a redirect the client refused.
    Redirect,
    /// The request could not be built (bad URL or header): a bug or misconfiguration.
    Builder,
    /// Connection closed or reset mid-request, body errors and the like.
    Other,
    /// The answer's body passed the size cap ([`super::http::MAX_BODY_BYTES`]): asking
    /// again would read the same.
    BodyTooLarge,
}

impl TransportKind {
    /// What went wrong, in the words of an error message.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Connect => "connection",
            TransportKind::Timeout => "timeout",
            TransportKind::Certificate => "certificate",
            TransportKind::Redirect => "redirect",
            TransportKind::Builder => "request building",
            TransportKind::Other => "transport",
            TransportKind::BodyTooLarge => "answer size",
        }
    }

    /// Whether another attempt may succeed (the SDKs' list: all but redirect, scheme,
    /// header and certificate problems).
    pub(crate) fn is_retryable(self) -> bool {
        matches!(
            self,
            TransportKind::Connect | TransportKind::Timeout | TransportKind::Other
        )
    }
}

/// What has happened to a request so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AttemptState {
    /// Attempts that failed with 5xx or a transport error.
    pub(crate) failed_attempts: u32,
    /// 429 answers received.
    pub(crate) rate_limited: u32,
    /// Whether the token was already refreshed after a 401.
    pub(crate) refreshed_token: bool,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then send again.
    Retry(Duration),
    /// Fetch a new token, then send again at once.
    RefreshTokenAndRetry,
    /// Stop: the failure is the result.
    GiveUp(GiveUpReason),
}

/// Why the policy stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GiveUpReason {
    /// The failure is not one that retrying fixes.
    NotRetryable,
    /// Retryable, but the attempts are used up.
    AttemptsExhausted,
    /// 429 with a `Retry-After` above the maximum.
    RetryAfterTooLong,
}

/// True for the statuses retried with backoff: every 5xx except 501.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    (500..=599).contains(&status) && status != 501
}

/// Records `failure` in `state` and decides what to do next. `jitter` is a uniform
/// random number in [0, 1) (a parameter so the policy stays deterministic under test).
pub(crate) fn decide(
    config: &RetryConfig,
    state: &mut AttemptState,
    failure: Failure,
    jitter: f64,
) -> Decision {
    match failure {
        Failure::Status { status: 401, .. } => {
            if state.refreshed_token {
                Decision::GiveUp(GiveUpReason::NotRetryable)
            } else {
                state.refreshed_token = true;
                Decision::RefreshTokenAndRetry
            }
        }
        Failure::Status {
            status: 429,
            retry_after,
        } => {
            state.rate_limited = state.rate_limited.saturating_add(1);
            // Bounded even for a config that skipped `validate`.
            let limit = config.max_retry_after.min(MAX_RETRY_AFTER_LIMIT);
            if retry_after.is_some_and(|ra| ra > limit) {
                return Decision::GiveUp(GiveUpReason::RetryAfterTooLong);
            }
            if state.rate_limited > config.max_rate_limit_retries {
                return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
            }
            let wait = match retry_after {
                // A small spread (≤ 250 ms) so clones sharing a token do not all return
                // at the very same instant.
                Some(ra) => ra.saturating_add(Duration::from_millis(250).mul_f64(unit(jitter))),
                None => config.backoff(state.rate_limited, jitter),
            };
            Decision::Retry(wait)
        }
        Failure::Status { status, .. } if is_retryable_status(status) => {
            backoff(config, state, jitter)
        }
        Failure::Transport(kind) if kind.is_retryable() => backoff(config, state, jitter),
        _ => Decision::GiveUp(GiveUpReason::NotRetryable),
    }
}

fn backoff(config: &RetryConfig, state: &mut AttemptState, jitter: f64) -> Decision {
    state.failed_attempts = state.failed_attempts.saturating_add(1);
    if state.failed_attempts >= config.max_attempts {
        Decision::GiveUp(GiveUpReason::AttemptsExhausted)
    } else {
        Decision::Retry(config.backoff(state.failed_attempts, jitter))
    }
}

/// The largest `Retry-After` the parser returns: any longer value (`1e20`, a date in the
/// year 9999) becomes this. It is far above any sane [`RetryConfig::max_retry_after`],
/// so the policy refuses to wait ([`GiveUpReason::RetryAfterTooLong`]) rather than
/// waiting a day; it only exists so no arithmetic on a remote's number can overflow.
pub(crate) const MAX_PARSED_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// The largest [`RetryConfig::max_retry_after`] accepted: an hour.
pub(crate) const MAX_RETRY_AFTER_LIMIT: Duration = Duration::from_secs(3_600);

/// Parses a `Retry-After` header: delay-seconds (`42`, leniently also `1.5`) or an
/// HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, a date in the past meaning now).
/// `None` for anything else, negative, NaN or infinite values included. The remote
/// chooses this number: every conversion is checked, and values above
/// [`MAX_PARSED_RETRY_AFTER`] saturate at it.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only too many of them can fail to parse, and that is "huge".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_PARSED_RETRY_AFTER));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(
            Duration::try_from_secs_f64(secs)
                .unwrap_or(Duration::MAX)
                .min(MAX_PARSED_RETRY_AFTER),
        );
    }
    let at = match jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value) {
        Ok(at) => at,
        // A well-formed HTTP-date past the end of jiff's range (the last hours of year
        // 9999) overflows its timestamp: it is as far off as a date gets.
        Err(_) if jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", value).is_ok() => {
            jiff::Timestamp::MAX
        }
        Err(_) => return None,
    };
    let now = jiff::Timestamp::try_from(now).ok()?;
    let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_PARSED_RETRY_AFTER))
}

/// A delay named in the token endpoint's rate-limit description, e.g. `rate limit
/// exceeded; retry the request in 12 seconds` → 12 s. `None` when it names none.
pub(crate) fn delay_in_text(text: &str) -> Option<Duration> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\[?(\d{1,5})\]?\s*(?:seconds?|secs?|s)\b")
            .expect("the delay pattern is valid")
    });
    RE.captures(text)
        .and_then(|c| c[1].parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// True when a token endpoint error is its rate limit (HTTP 400 `invalid_request` whose
/// description says `rate limit exceeded`, genesys-api.md §2.1) rather than a real
/// request error.
pub(crate) fn is_token_rate_limit(
    status: u16,
    error: Option<&str>,
    description: Option<&str>,
) -> bool {
    (status == 400 || status == 429)
        && error.is_none_or(|e| e == "invalid_request")
        && description.is_some_and(|d| d.to_ascii_lowercase().contains("rate limit exceeded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy as _;

    fn status(status: u16) -> Failure {
        Failure::Status {
            status,
            retry_after: None,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn client_errors_are_final() {
        let c = RetryConfig::default();
        for s in [400, 403, 404, 409, 410, 422, 501] {
            let mut st = AttemptState::default();
            assert_eq!(
                decide(&c, &mut st, status(s), 0.5),
                Decision::GiveUp(GiveUpReason::NotRetryable),
                "{s}"
            );
        }
    }

    #[test]
    fn server_errors_back_off_and_stop_after_max_attempts() {
        let c = RetryConfig::default();
        for s in [500, 502, 503, 504, 599] {
            let mut st = AttemptState::default();
            let mut waits = vec![];
            loop {
                match decide(&c, &mut st, status(s), 0.0) {
                    Decision::Retry(d) => waits.push(d),
                    Decision::GiveUp(r) => {
                        assert_eq!(r, GiveUpReason::AttemptsExhausted);
                        break;
                    }
                    other => panic!("{other:?}"),
                }
            }
            // 5 attempts in all = 4 waits, doubling (jitter 0 = half of each step).
            assert_eq!(
                waits,
                vec![
                    Duration::from_millis(250),
                    Duration::from_millis(500),
                    Duration::from_millis(1000),
                    Duration::from_millis(2000)
                ],
                "{s}"
            );
        }
    }

    #[test]
    fn the_exponential_step_doubles_from_the_base_up_to_the_cap() {
        let (base, max) = (Duration::from_millis(500), secs(15));
        let steps: Vec<_> = (0..=7).map(|n| exponential(base, n, max)).collect();
        assert_eq!(steps[0], base, "attempt 0 counts as the first");
        assert_eq!(steps[1], base);
        assert_eq!(steps[2], secs(1));
        assert_eq!(steps[3], secs(2));
        assert_eq!(steps[6], secs(15), "16 s is capped");
        assert_eq!(exponential(base, u32::MAX, max), max, "no overflow");
        assert_eq!(
            exponential(secs(u64::MAX / 2), 3, Duration::MAX),
            Duration::MAX
        );
    }

    #[test]
    fn backoff_is_jittered_within_half_to_full_step_and_capped() {
        let c = RetryConfig::default();
        for retry in 1..40 {
            let lo = c.backoff(retry, 0.0);
            let hi = c.backoff(retry, 0.999_999);
            assert!(lo <= hi);
            assert!(hi <= c.max_delay, "{retry}: {hi:?}");
            assert!(lo >= c.base_delay / 2);
            assert!(hi <= lo * 2 + Duration::from_millis(1));
        }
        assert_eq!(c.backoff(30, 0.0), secs(15));
        assert_eq!(c.backoff(1, 2.0), c.backoff(1, 1.0), "jitter is clamped");
    }

    #[test]
    fn transport_errors_retry_unless_hopeless() {
        let c = RetryConfig::default();
        for kind in [
            TransportKind::Connect,
            TransportKind::Timeout,
            TransportKind::Other,
        ] {
            let mut st = AttemptState::default();
            assert!(matches!(
                decide(&c, &mut st, Failure::Transport(kind), 0.1),
                Decision::Retry(_)
            ));
        }
        for kind in [
            TransportKind::Certificate,
            TransportKind::Redirect,
            TransportKind::Builder,
            TransportKind::BodyTooLarge,
        ] {
            let mut st = AttemptState::default();
            assert_eq!(
                decide(&c, &mut st, Failure::Transport(kind), 0.1),
                Decision::GiveUp(GiveUpReason::NotRetryable)
            );
        }
    }

    #[test]
    fn rate_limits_wait_retry_after_and_give_up_above_180s() {
        let c = RetryConfig::default();
        let mut st = AttemptState::default();
        let d = decide(
            &c,
            &mut st,
            Failure::Status {
                status: 429,
                retry_after: Some(secs(42)),
            },
            0.0,
        );
        assert_eq!(d, Decision::Retry(secs(42)));
        let d = decide(
            &c,
            &mut st,
            Failure::Status {
                status: 429,
                retry_after: Some(secs(42)),
            },
            0.999,
        );
        let Decision::Retry(wait) = d else {
            panic!("{d:?}")
        };
        assert!(wait >= secs(42) && wait < secs(42) + Duration::from_millis(250));
        // Exactly 180 s is still waited for; 181 s is not.
        let mut st = AttemptState::default();
        assert_eq!(
            decide(
                &c,
                &mut st,
                Failure::Status {
                    status: 429,
                    retry_after: Some(secs(180))
                },
                0.0
            ),
            Decision::Retry(secs(180))
        );
        assert_eq!(
            decide(
                &c,
                &mut st,
                Failure::Status {
                    status: 429,
                    retry_after: Some(secs(181))
                },
                0.0
            ),
            Decision::GiveUp(GiveUpReason::RetryAfterTooLong)
        );
    }

    #[test]
    fn rate_limits_have_their_own_budget_and_backoff_without_retry_after() {
        let c = RetryConfig {
            max_rate_limit_retries: 3,
            ..RetryConfig::default()
        };
        let mut st = AttemptState::default();
        for i in 1..=3 {
            let d = decide(&c, &mut st, status(429), 0.0);
            assert_eq!(d, Decision::Retry(c.backoff(i, 0.0)));
        }
        assert_eq!(
            decide(&c, &mut st, status(429), 0.0),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
        // 429s did not use the 5xx budget.
        assert_eq!(st.failed_attempts, 0);
    }

    #[test]
    fn a_401_refreshes_the_token_once() {
        let c = RetryConfig::default();
        let mut st = AttemptState::default();
        assert_eq!(
            decide(&c, &mut st, status(401), 0.0),
            Decision::RefreshTokenAndRetry
        );
        assert_eq!(
            decide(&c, &mut st, status(401), 0.0),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
        // Even with retries disabled.
        let none = RetryConfig {
            max_attempts: 1,
            max_rate_limit_retries: 0,
            ..RetryConfig::default()
        };
        let mut st = AttemptState::default();
        assert_eq!(
            decide(&none, &mut st, status(401), 0.0),
            Decision::RefreshTokenAndRetry
        );
        let mut st = AttemptState::default();
        assert_eq!(
            decide(&none, &mut st, status(503), 0.0),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn retry_after_parsing() {
        let now = SystemTime::UNIX_EPOCH + secs(1_445_412_480); // 2015-10-21T07:28:00Z
        assert_eq!(parse_retry_after("42", now), Some(secs(42)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(secs(0)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in [
            "", "soon", "-5", "-1", "-0.5", "NaN", "inf", "-inf", "+inf", "1e",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    /// Issue 11, reproduction 2: `Retry-After: 1e20` panicked in `Duration::from_secs_f64`.
    /// Absurd values saturate at [`MAX_PARSED_RETRY_AFTER`] and the policy gives up
    /// instead of waiting.
    #[test]
    fn absurd_retry_after_values_saturate_and_are_refused_not_panicked_on() {
        let now = SystemTime::UNIX_EPOCH + secs(1_445_412_480);
        for huge in [
            "1e20",
            "1E308",
            "18446744073709551616",
            "99999999999999999999999999999",
            "18446744073709551615.9",
            "1.7976931348623157e308",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let parsed = parse_retry_after(huge, now);
            assert_eq!(parsed, Some(MAX_PARSED_RETRY_AFTER), "{huge:?}");
            let mut st = AttemptState::default();
            assert_eq!(
                decide(
                    &RetryConfig::default(),
                    &mut st,
                    Failure::Status {
                        status: 429,
                        retry_after: parsed
                    },
                    0.999
                ),
                Decision::GiveUp(GiveUpReason::RetryAfterTooLong),
                "{huge:?}"
            );
        }
        // A date long past means now, however far back.
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        // Even a policy configured to wait longer never waits past the ceiling, and
        // adding the jitter cannot overflow.
        let patient = RetryConfig {
            max_retry_after: Duration::MAX,
            ..RetryConfig::default()
        };
        assert!(patient.validate().is_err(), "maxRetryAfter is bounded");
        let mut st = AttemptState::default();
        let d = decide(
            &patient,
            &mut st,
            Failure::Status {
                status: 429,
                retry_after: Some(Duration::MAX),
            },
            0.999,
        );
        assert_eq!(d, Decision::GiveUp(GiveUpReason::RetryAfterTooLong));
    }

    proptest::proptest! {
        /// No header value makes the parser or the policy panic, and no wait exceeds
        /// `max_retry_after` plus the 250 ms spread.
        #[test]
        fn no_retry_after_header_panics_or_waits_past_the_maximum(
            value in proptest::prop_oneof![
                "\\PC{0,40}",
                "[-+]?[0-9]{0,30}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?",
                proptest::num::f64::ANY.prop_map(|f| f.to_string()),
            ],
            jitter in 0.0f64..1.0,
        ) {
            let now = SystemTime::now();
            let parsed = parse_retry_after(&value, now);
            if let Some(d) = parsed {
                proptest::prop_assert!(d <= MAX_PARSED_RETRY_AFTER);
            }
            let c = RetryConfig::default();
            let mut st = AttemptState::default();
            if let Decision::Retry(wait) = decide(&c, &mut st, Failure::Status { status: 429, retry_after: parsed }, jitter) {
                proptest::prop_assert!(wait <= c.max_retry_after + Duration::from_millis(250));
            }
        }
    }

    #[test]
    fn token_rate_limit_recognition_and_delay() {
        assert!(is_token_rate_limit(
            400,
            Some("invalid_request"),
            Some("rate limit exceeded; retry the request in 12 seconds")
        ));
        assert!(is_token_rate_limit(
            400,
            None,
            Some("invalid_request (Rate limit exceeded; try later)")
        ));
        assert!(!is_token_rate_limit(
            400,
            Some("invalid_request"),
            Some("grant_type is required")
        ));
        assert!(!is_token_rate_limit(
            401,
            Some("invalid_client"),
            Some("rate limit exceeded")
        ));
        assert_eq!(
            delay_in_text("rate limit exceeded; retry the request in 12 seconds"),
            Some(secs(12))
        );
        assert_eq!(
            delay_in_text("Retry the request in [42] seconds"),
            Some(secs(42))
        );
        assert_eq!(delay_in_text("rate limit exceeded"), None);
    }

    #[test]
    fn config_validation_names_the_field() {
        assert!(RetryConfig::default().validate().is_ok());
        let e = RetryConfig {
            max_attempts: 0,
            ..RetryConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("maxAttempts"), "{e}");
        let e = RetryConfig {
            max_delay: Duration::from_millis(1),
            ..RetryConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("maxDelay"), "{e}");
    }
}
