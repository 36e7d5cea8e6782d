//! Request accounting for tests and benchmarks (`GET /_sim/stats`).
//!
//! Every request that reaches a region is counted once, under the org it acts for (from
//! its bearer token, or the OAuth client for token requests; `anonymous` when neither is
//! known) and its endpoint template, e.g. `GET /api/v2/orgauthorization/trustees/{trusteeOrgId}`.
//! Requests answered by 429, by an injected error or by a dropped connection are counted
//! too, and additionally in their own counters: the benchmark question "how many calls
//! did the operator make per relationship" includes its failed attempts.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The org key of requests with no known org.
pub(crate) const ANONYMOUS: &str = "anonymous";

/// Counters of one org.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgStats {
    /// All requests of this org.
    pub(crate) total: u64,
    /// Requests answered by 429.
    pub(crate) rate_limited: u64,
    /// Requests per `METHOD /template`.
    pub endpoints: BTreeMap<String, u64>,
}

/// A snapshot of all counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    /// All requests to any region.
    pub total: u64,
    /// Requests answered by 429 (API) or the token endpoint's rate-limit 400.
    pub rate_limited: u64,
    /// Requests answered by an injected 5xx.
    pub injected_errors: u64,
    /// Requests whose connection was dropped on purpose.
    pub dropped_connections: u64,
    /// Per org ID (or `anonymous`).
    pub orgs: BTreeMap<String, OrgStats>,
}

impl StatsSnapshot {
    /// Requests of `org` to `endpoint` (`METHOD /template`).
    pub fn count(&self, org: Uuid, endpoint: &str) -> u64 {
        self.orgs
            .get(&org.to_string())
            .and_then(|o| o.endpoints.get(endpoint))
            .copied()
            .unwrap_or(0)
    }

    /// 429s of `org`.
    pub fn org_rate_limited(&self, org: Uuid) -> u64 {
        self.orgs
            .get(&org.to_string())
            .map_or(0, |o| o.rate_limited)
    }
}

/// How a counted request ended, when it ended specially.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    RateLimited,
    InjectedError,
    Dropped,
}

/// The live counters.
#[derive(Default)]
pub(crate) struct Stats {
    inner: Mutex<StatsSnapshot>,
}

fn key(org: Option<Uuid>) -> String {
    org.map_or_else(|| ANONYMOUS.to_string(), |o| o.to_string())
}

impl Stats {
    /// Counts one request.
    pub(crate) fn record(&self, org: Option<Uuid>, endpoint: &str) {
        let mut s = self.inner.lock();
        s.total += 1;
        let o = s.orgs.entry(key(org)).or_default();
        o.total += 1;
        *o.endpoints.entry(endpoint.to_string()).or_default() += 1;
    }

    /// Notes how an already counted request ended.
    pub(crate) fn outcome(&self, org: Option<Uuid>, outcome: Outcome) {
        let mut s = self.inner.lock();
        match outcome {
            Outcome::RateLimited => {
                s.rate_limited += 1;
                s.orgs.entry(key(org)).or_default().rate_limited += 1;
            }
            Outcome::InjectedError => s.injected_errors += 1,
            Outcome::Dropped => s.dropped_connections += 1,
        }
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.inner.lock().clone()
    }

    pub(crate) fn reset(&self) {
        *self.inner.lock() = StatsSnapshot::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_org_and_endpoint_with_outcomes() {
        let stats = Stats::default();
        let org = Uuid::from_u128(1);
        stats.record(Some(org), "GET /api/v2/organizations/me");
        stats.record(Some(org), "GET /api/v2/organizations/me");
        stats.record(Some(org), "POST /oauth/token");
        stats.outcome(Some(org), Outcome::RateLimited);
        stats.record(None, "GET /api/v2/organizations/me");
        stats.outcome(None, Outcome::Dropped);
        let s = stats.snapshot();
        assert_eq!(s.total, 4);
        assert_eq!(s.count(org, "GET /api/v2/organizations/me"), 2);
        assert_eq!(s.count(org, "POST /oauth/token"), 1);
        assert_eq!(s.orgs[&org.to_string()].total, 3);
        assert_eq!(s.org_rate_limited(org), 1);
        assert_eq!(s.rate_limited, 1);
        assert_eq!(s.dropped_connections, 1);
        assert_eq!(s.orgs[ANONYMOUS].total, 1);
        stats.reset();
        assert_eq!(stats.snapshot(), StatsSnapshot::default());
    }
}
