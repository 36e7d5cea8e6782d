//! The operator's Prometheus metrics (`prometheus-client`), served at `/metrics`.
//!
//! Label values are bounded: kinds, endpoint templates (never IDs), status codes,
//! phases. No object name, org ID or secret ever becomes a label.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::digest::{Digest, Digester};
use crate::genesys::metrics::{CallObserver, CallOutcome, CallRecord};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabels {
    pub(crate) kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ErrorLabels {
    pub(crate) kind: &'static str,
    pub(crate) error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CallLabels {
    pub(crate) method: String,
    pub(crate) endpoint: &'static str,
    pub(crate) code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PhaseLabels {
    pub(crate) kind: &'static str,
    pub(crate) phase: &'static str,
}

/// Every metric the operator exports.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) reconciles: Family<KindLabels, Counter>,
    pub(crate) reconcile_errors: Family<ErrorLabels, Counter>,
    pub(crate) reconcile_duration: Family<KindLabels, Histogram>,
    pub(crate) genesys_calls: Family<CallLabels, Counter>,
    pub(crate) genesys_rate_limited: Counter,
    pub(crate) relationships: Family<PhaseLabels, Gauge>,
    /// The phase each object was last reconciled into, so that the gauge counts every
    /// object once: what the reconcile saw as the previous phase may be stale (a cache
    /// behind the API server) or absent (an operator restart). Keyed by the digest of
    /// kind, namespace and name: 16 bytes an object, not its name again.
    phases: parking_lot::Mutex<std::collections::HashMap<Digest, &'static str>>,
    objects: Digester,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("orglink");
        let reconciles = Family::<KindLabels, Counter>::default();
        registry.register("reconciles", "Reconciles run, by kind", reconciles.clone());
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by kind and error class",
            reconcile_errors.clone(),
        );
        let reconcile_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile, by kind",
            reconcile_duration.clone(),
        );
        let genesys_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "genesys_api_calls",
            "HTTP calls to Genesys Cloud (each attempt), by method, endpoint template and status code",
            genesys_calls.clone(),
        );
        let genesys_rate_limited = Counter::default();
        registry.register(
            "genesys_api_rate_limited",
            "Answers from Genesys Cloud that were rate limits (429 or the token endpoint's rate-limit 400)",
            genesys_rate_limited.clone(),
        );
        let relationships = Family::<PhaseLabels, Gauge>::default();
        registry.register(
            "relationships",
            "OrgLinks and OrgPairings by phase (as last reconciled)",
            relationships.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            genesys_calls,
            genesys_rate_limited,
            relationships,
            phases: Default::default(),
            objects: Digester::new(),
        }
    }

    /// The text exposition format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// Counts one reconcile and its duration.
    pub(crate) fn observe_reconcile(&self, kind: &'static str, took: Duration) {
        self.reconciles.get_or_create(&KindLabels { kind }).inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn observe_error(&self, kind: &'static str, error: &'static str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels { kind, error })
            .inc();
    }

    /// Records `obj` (of `kind`) as being in `phase` (`None`: gone) in the
    /// relationships gauge.
    pub(crate) fn set_phase<K: kube::Resource>(
        &self,
        kind: &'static str,
        obj: &K,
        phase: Option<&'static str>,
    ) {
        let key = self.objects.of(&(
            kind,
            obj.meta().namespace.as_deref().unwrap_or_default(),
            obj.meta().name.as_deref().unwrap_or_default(),
        ));
        let from = {
            let mut phases = self.phases.lock();
            match &phase {
                Some(p) => phases.insert(key, p),
                None => phases.remove(&key),
            }
        };
        if from == phase {
            return;
        }
        if let Some(from) = from {
            self.relationships
                .get_or_create(&PhaseLabels { kind, phase: from })
                .dec();
        }
        if let Some(to) = phase {
            self.relationships
                .get_or_create(&PhaseLabels { kind, phase: to })
                .inc();
        }
    }

    /// An observer for the Genesys client that feeds `genesys_api_calls`.
    pub(crate) fn call_observer(self: &Arc<Self>) -> Arc<dyn CallObserver> {
        let metrics = self.clone();
        Arc::new(move |record: &CallRecord<'_>| {
            let code = match record.status {
                Some(status) => status.to_string(),
                None => record.outcome.as_str().to_string(),
            };
            metrics
                .genesys_calls
                .get_or_create(&CallLabels {
                    method: record.method.to_string(),
                    endpoint: record.endpoint,
                    code,
                })
                .inc();
            if record.outcome == CallOutcome::RateLimited {
                metrics.genesys_rate_limited.inc();
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_reconciles_calls_and_phases() {
        let metrics = Arc::new(Metrics::new());
        metrics.observe_reconcile("OrgLink", Duration::from_millis(12));
        metrics.observe_error("OrgLink", "api");
        let link = crate::api::OrgLink::new(
            "to-dr",
            serde_json::from_value(serde_json::json!({
                "organizationRef": "acme",
                "peer": {"organizationId": "0b6c4a1e-0000-4000-8000-00000000000a", "region": "us-east-1"},
            }))
            .unwrap(),
        );
        // Seen twice in one phase (a stale previous phase, a restart): counted once.
        metrics.set_phase("OrgLink", &link, Some("WaitingForConfirmation"));
        metrics.set_phase("OrgLink", &link, Some("Linked"));
        metrics.set_phase("OrgLink", &link, Some("Linked"));
        let observer = metrics.call_observer();
        observer.on_call(&CallRecord {
            client: "ns/acme",
            method: "GET",
            endpoint: "/api/v2/telephony/organization/link",
            status: Some(429),
            outcome: CallOutcome::RateLimited,
            attempt: 1,
            duration: Duration::from_millis(3),
        });
        let text = metrics.encode();
        assert!(
            text.contains("orglink_reconciles_total{kind=\"OrgLink\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("orglink_relationships{kind=\"OrgLink\",phase=\"Linked\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "orglink_relationships{kind=\"OrgLink\",phase=\"WaitingForConfirmation\"} 0"
            ),
            "{text}"
        );
        assert!(text.contains("code=\"429\""), "{text}");
        assert!(
            text.contains("orglink_genesys_api_rate_limited_total 1"),
            "{text}"
        );
        assert!(!text.contains("ns/acme"), "no object names as labels");
        assert!(!text.contains("to-dr"), "no object names as labels");
    }
}
