//! Fault injection: what a flaky Genesys Cloud (or network) does to a client.
//!
//! Configured as a whole through `POST /_sim/faults` or [`super::SimHandle::set_faults`]:
//!
//! ```json
//! {"errorRate": 0.3, "errorStatuses": [503], "latencyMs": 50, "dropRate": 0.05,
//!  "tokenLifetimeSeconds": 5, "pathPrefix": "/api/v2/orgauthorization", "seed": 7}
//! ```
//!
//! Each request to a region (token endpoint and API, never `/_sim`) whose path below the
//! region starts with `pathPrefix` (default: all) is first delayed by `latencyMs`, then
//! with probability `dropRate` has its connection closed without an answer (before the
//! request is processed, so nothing changes), else with probability `errorRate` gets a
//! 5xx from `errorStatuses` (default 500, 502, 503, 504) in the ErrorBody shape, again
//! without being processed, else with probability `rateLimitRate` gets a 429 with
//! `Retry-After: retryAfterSeconds` (default 1; a storm with a long wait is e.g.
//! `{"rateLimitRate": 1, "retryAfterSeconds": 60}`), not processed either.
//! `tokenLifetimeSeconds` overrides `expires_in` of tokens issued from then on. `seed`
//! makes the random draws reproducible. The token endpoint refusing is
//! `{"errorRate": 1, "pathPrefix": "/oauth/token"}`; tokens revoked early is
//! `POST /_sim/tokens/expire`.

use axum::http::StatusCode;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The fault settings. The default injects nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Share (0–1) of requests answered by an injected 5xx.
    #[serde(default)]
    pub error_rate: f64,
    /// The statuses to draw from (each 500–599); empty means 500, 502, 503, 504.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_statuses: Vec<u16>,
    /// Added latency per request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share (0–1) of requests whose connection is dropped without an answer.
    #[serde(default)]
    pub drop_rate: f64,
    /// Share (0–1) of requests answered 429 with `Retry-After: retryAfterSeconds`.
    #[serde(default)]
    pub rate_limit_rate: f64,
    /// The `Retry-After` of injected 429s, in seconds (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// `expires_in` of newly issued tokens (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<u64>,
    /// Only requests whose path below the region starts with this are affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Seed of the random draws, for reproducible runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

const DEFAULT_ERROR_STATUSES: [u16; 4] = [500, 502, 503, 504];

impl FaultConfig {
    /// Refuses settings that make no sense, naming the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (field, rate) in [
            ("errorRate", self.error_rate),
            ("dropRate", self.drop_rate),
            ("rateLimitRate", self.rate_limit_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{field} must be between 0 and 1, got {rate}"));
            }
        }
        if self.error_rate + self.drop_rate + self.rate_limit_rate > 1.0 {
            return Err("errorRate + dropRate + rateLimitRate must not exceed 1".into());
        }
        if self.retry_after_seconds.is_some_and(|s| s > 3600) {
            return Err("retryAfterSeconds must be at most 3600".into());
        }
        if let Some(bad) = self
            .error_statuses
            .iter()
            .find(|s| !(500..=599).contains(*s))
        {
            return Err(format!(
                "errorStatuses must be 5xx statuses (500-599), got {bad}"
            ));
        }
        if self.token_lifetime_seconds == Some(0) {
            return Err("tokenLifetimeSeconds must be at least 1".into());
        }
        if self.latency_ms > 120_000 {
            return Err("latencyMs must be at most 120000".into());
        }
        Ok(())
    }

    fn applies_to(&self, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// What to do to one request, after the latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Serve it normally.
    Pass,
    /// Close the connection without an answer.
    Drop,
    /// Answer with this 5xx.
    Error(StatusCode),
    /// Answer 429 with this `Retry-After` (seconds).
    RateLimited(u64),
}

/// Draws the fault for one request: one uniform draw split into drop, error and pass.
pub(crate) fn decide(config: &FaultConfig, path: &str, rng: &mut impl Rng) -> FaultAction {
    if !config.applies_to(path)
        || (config.error_rate <= 0.0 && config.drop_rate <= 0.0 && config.rate_limit_rate <= 0.0)
    {
        return FaultAction::Pass;
    }
    let x: f64 = rng.random();
    if x < config.drop_rate {
        FaultAction::Drop
    } else if x < config.drop_rate + config.error_rate {
        let statuses: &[u16] = if config.error_statuses.is_empty() {
            &DEFAULT_ERROR_STATUSES
        } else {
            &config.error_statuses
        };
        let status = statuses[rng.random_range(0..statuses.len())];
        FaultAction::Error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
    } else if x < config.drop_rate + config.error_rate + config.rate_limit_rate {
        FaultAction::RateLimited(config.retry_after_seconds.unwrap_or(1))
    } else {
        FaultAction::Pass
    }
}

/// The live fault settings and their random source.
pub(crate) struct FaultInjector {
    inner: Mutex<(FaultConfig, StdRng)>,
}

impl Default for FaultInjector {
    fn default() -> Self {
        FaultInjector {
            inner: Mutex::new((FaultConfig::default(), StdRng::from_os_rng())),
        }
    }
}

impl FaultInjector {
    pub(crate) fn config(&self) -> FaultConfig {
        self.inner.lock().0.clone()
    }

    /// Replaces the settings (validated); a `seed` restarts the random sequence.
    pub(crate) fn set(&self, config: FaultConfig) -> Result<(), String> {
        config.validate()?;
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        *self.inner.lock() = (config, rng);
        Ok(())
    }

    /// The latency to add and the action for a request to `path` (below the region).
    pub(crate) fn draw(&self, path: &str) -> (std::time::Duration, FaultAction) {
        let mut inner = self.inner.lock();
        let (config, rng) = &mut *inner;
        let latency = if config.applies_to(path) {
            std::time::Duration::from_millis(config.latency_ms)
        } else {
            std::time::Duration::ZERO
        };
        (latency, decide(config, path, rng))
    }

    /// The token lifetime override, if any.
    pub(crate) fn token_lifetime(&self) -> Option<u64> {
        self.inner.lock().0.token_lifetime_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(config: &FaultConfig, n: usize) -> (usize, usize) {
        let mut rng = StdRng::seed_from_u64(42);
        let mut drops = 0;
        let mut errors = 0;
        for _ in 0..n {
            match decide(config, "/api/v2/x", &mut rng) {
                FaultAction::Drop => drops += 1,
                FaultAction::Error(s) => {
                    assert!(s.is_server_error());
                    errors += 1
                }
                FaultAction::Pass => {}
                FaultAction::RateLimited(_) => panic!("no 429s were asked for"),
            }
        }
        (drops, errors)
    }

    #[test]
    fn no_faults_by_default() {
        assert_eq!(draws(&FaultConfig::default(), 1000), (0, 0));
    }

    #[test]
    fn rates_one_always_fault() {
        let all_errors = FaultConfig {
            error_rate: 1.0,
            ..FaultConfig::default()
        };
        assert_eq!(draws(&all_errors, 200), (0, 200));
        let all_drops = FaultConfig {
            drop_rate: 1.0,
            ..FaultConfig::default()
        };
        assert_eq!(draws(&all_drops, 200), (200, 0));
    }

    #[test]
    fn a_thirty_percent_error_rate_hits_about_thirty_percent() {
        // Seeded, so deterministic; the bounds only guard against a broken split.
        let config = FaultConfig {
            error_rate: 0.3,
            drop_rate: 0.1,
            ..FaultConfig::default()
        };
        let (drops, errors) = draws(&config, 10_000);
        assert!((2_700..3_300).contains(&errors), "{errors}");
        assert!((800..1_200).contains(&drops), "{drops}");
    }

    #[test]
    fn chosen_statuses_are_used_and_the_prefix_limits_the_scope() {
        let config = FaultConfig {
            error_rate: 1.0,
            error_statuses: vec![503],
            path_prefix: Some("/api/v2/orgauthorization".into()),
            ..FaultConfig::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            decide(&config, "/api/v2/orgauthorization/trustees", &mut rng),
            FaultAction::Error(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(decide(&config, "/oauth/token", &mut rng), FaultAction::Pass);
    }

    #[test]
    fn invalid_settings_are_refused_naming_the_field() {
        let bad = [
            (
                FaultConfig {
                    error_rate: 1.5,
                    ..FaultConfig::default()
                },
                "errorRate",
            ),
            (
                FaultConfig {
                    drop_rate: -0.1,
                    ..FaultConfig::default()
                },
                "dropRate",
            ),
            (
                FaultConfig {
                    error_statuses: vec![404],
                    ..FaultConfig::default()
                },
                "errorStatuses",
            ),
            (
                FaultConfig {
                    token_lifetime_seconds: Some(0),
                    ..FaultConfig::default()
                },
                "tokenLifetimeSeconds",
            ),
        ];
        let injector = FaultInjector::default();
        for (config, field) in bad {
            let err = injector.set(config).unwrap_err();
            assert!(err.contains(field), "{err}");
        }
        assert_eq!(injector.config(), FaultConfig::default());
    }

    #[test]
    fn a_429_storm_answers_every_request_with_its_retry_after() {
        let config = FaultConfig {
            rate_limit_rate: 1.0,
            retry_after_seconds: Some(60),
            ..FaultConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            assert_eq!(
                decide(&config, "/api/v2/x", &mut rng),
                FaultAction::RateLimited(60)
            );
        }
        let too_much = FaultConfig {
            rate_limit_rate: 0.6,
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        assert!(too_much.validate().unwrap_err().contains("rateLimitRate"));
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let config = FaultConfig {
            error_rate: 0.5,
            seed: Some(9),
            ..FaultConfig::default()
        };
        let injector = FaultInjector::default();
        injector.set(config.clone()).unwrap();
        let first: Vec<_> = (0..50).map(|_| injector.draw("/x").1).collect();
        injector.set(config).unwrap();
        let second: Vec<_> = (0..50).map(|_| injector.draw("/x").1).collect();
        assert_eq!(first, second);
    }
}
