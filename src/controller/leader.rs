//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas
//! exactly one acts (client-go's leaderelection protocol: holder identity, lease
//! duration, renew time, optimistic concurrency on the Lease's resourceVersion).
//!
//! [`decide`] is the pure rule; [`acquire`] loops until this replica holds the Lease
//! and returns a [`Leadership`] that renews it in the background and fires
//! [`Leadership::lost`] if it cannot. A leader that loses the Lease must stop acting
//! at once (the operator exits and is restarted as a standby).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use tokio_util::sync::CancellationToken;

/// Settings of the election.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews, and how often a standby retries.
    pub retry_period: Duration,
}

impl LeaseConfig {
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// What to do with the Lease as observed.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Take it (absent, released or expired): write this spec.
    Acquire(LeaseSpec),
    /// We hold it: write this spec with a fresh renew time.
    Renew(LeaseSpec),
    /// Someone else holds a valid lease.
    Wait { holder: String },
}

/// The election rule, pure: `current` is the Lease's spec (None when absent).
pub fn decide(
    current: Option<&LeaseSpec>,
    identity: &str,
    now: Timestamp,
    duration: Duration,
) -> Decision {
    let seconds = duration.as_secs().max(1) as i32;
    let fresh = |acquire: Option<MicroTime>, transitions: i32| LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(seconds),
        acquire_time: Some(acquire.unwrap_or(MicroTime(now))),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..Default::default()
    };
    let Some(spec) = current else {
        return Decision::Acquire(fresh(None, 0));
    };
    let transitions = spec.lease_transitions.unwrap_or(0);
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder == identity {
        return Decision::Renew(fresh(spec.acquire_time.clone(), transitions));
    }
    if holder.is_empty() {
        return Decision::Acquire(fresh(None, transitions + 1));
    }
    let valid_for =
        SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(seconds)));
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    if renewed + valid_for <= now {
        Decision::Acquire(fresh(None, transitions + 1))
    } else {
        Decision::Wait { holder }
    }
}

/// One attempt: read the Lease and write it if [`decide`] says so. Returns whether this
/// replica holds the Lease afterwards. A conflict (another writer won) is `Ok(false)`.
pub async fn try_acquire_or_renew(
    api: &Api<Lease>,
    config: &LeaseConfig,
) -> Result<bool, kube::Error> {
    let current = api.get_opt(&config.name).await?;
    let decision = decide(
        current.as_ref().and_then(|l| l.spec.as_ref()),
        &config.identity,
        Timestamp::now(),
        config.lease_duration,
    );
    let spec = match decision {
        Decision::Wait { .. } => return Ok(false),
        Decision::Acquire(spec) | Decision::Renew(spec) => spec,
    };
    let result = match current {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(config.name.clone()),
                    namespace: Some(config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(spec),
            };
            api.create(&PostParams::default(), &lease).await
        }
        Some(mut lease) => {
            lease.spec = Some(spec);
            api.replace(&config.name, &PostParams::default(), &lease)
                .await
        }
    };
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// This replica holds the Lease; renewal runs in the background.
pub struct Leadership {
    lost: CancellationToken,
    stop: CancellationToken,
    renewer: tokio::task::JoinHandle<()>,
    api: Api<Lease>,
    config: LeaseConfig,
}

impl Leadership {
    /// Fires when the Lease could not be renewed in time or another replica took it.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Stops renewing and clears the holder, so a standby takes over at once.
    pub async fn release(self) {
        self.stop.cancel();
        let _ = self.renewer.await;
        if self.lost.is_cancelled() {
            return;
        }
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await
            && let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(self.config.identity.as_str())
        {
            spec.holder_identity = None;
            let _ = self
                .api
                .replace(&self.config.name, &PostParams::default(), &lease)
                .await;
        }
    }
}

/// Waits until this replica holds the Lease (or `shutdown` fires: `None`).
pub async fn acquire(
    client: kube::Client,
    config: LeaseConfig,
    shutdown: CancellationToken,
) -> Option<Leadership> {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    loop {
        match try_acquire_or_renew(&api, &config).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, lease = %config.name, "leader election: cannot read or write the Lease")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(config.retry_period) => {}
        }
    }
    tracing::info!(identity = %config.identity, lease = %config.name, "became the leader");
    let lost = CancellationToken::new();
    let stop = CancellationToken::new();
    let renewer = tokio::spawn(renew(
        api.clone(),
        config.clone(),
        lost.clone(),
        stop.clone(),
    ));
    Some(Leadership {
        lost,
        stop,
        renewer,
        api,
        config,
    })
}

/// Renews every retry period; gives up (fires `lost`) when another replica holds the
/// Lease, or when no renewal succeeded for two thirds of the lease duration, so we stop
/// acting before a standby may take over.
async fn renew(
    api: Api<Lease>,
    config: LeaseConfig,
    lost: CancellationToken,
    stop: CancellationToken,
) {
    let deadline = config.lease_duration.mul_f64(2.0 / 3.0);
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(config.retry_period) => {}
        }
        match try_acquire_or_renew(&api, &config).await {
            Ok(true) => last_renewed = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!(lease = %config.name, "leadership lost: another replica holds the Lease");
                lost.cancel();
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "leader election: renewing the Lease failed");
                if last_renewed.elapsed() >= deadline {
                    tracing::error!(lease = %config.name, "leadership lost: the Lease could not be renewed in time");
                    lost.cancel();
                    return;
                }
            }
        }
    }
}

/// A default identity: `POD_NAME`, else the host name, plus a random suffix so two
/// processes on one host never share an identity.
pub fn default_identity() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "orglink-operator".to_string());
    format!("{base}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(15);

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn held_by(holder: &str, renewed: i64, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_string()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(at(0))),
            renew_time: Some(MicroTime(at(renewed))),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    #[test]
    fn an_absent_lease_is_acquired_with_no_transition() {
        let Decision::Acquire(spec) = decide(None, "a", at(5), D) else {
            panic!()
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_transitions, Some(0));
        assert_eq!(spec.lease_duration_seconds, Some(15));
    }

    #[test]
    fn the_holder_renews_and_keeps_its_acquire_time() {
        let Decision::Renew(spec) = decide(Some(&held_by("a", 3, 2)), "a", at(10), D) else {
            panic!()
        };
        assert_eq!(spec.renew_time, Some(MicroTime(at(10))));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(0))));
        assert_eq!(spec.lease_transitions, Some(2));
    }

    #[test]
    fn a_valid_lease_of_another_holder_is_waited_for() {
        assert_eq!(
            decide(Some(&held_by("b", 3, 0)), "a", at(17), D),
            Decision::Wait { holder: "b".into() }
        );
    }

    #[test]
    fn an_expired_or_released_lease_is_taken_over_with_a_transition() {
        // Renewed at 3 s, valid 15 s: expired from 18 s on.
        let Decision::Acquire(spec) = decide(Some(&held_by("b", 3, 4)), "a", at(18), D) else {
            panic!()
        };
        assert_eq!(spec.lease_transitions, Some(5));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(18))));
        let mut released = held_by("b", 3, 1);
        released.holder_identity = None;
        assert!(matches!(
            decide(Some(&released), "a", at(4), D),
            Decision::Acquire(_)
        ));
    }

    #[test]
    fn identities_are_unique_per_process() {
        assert_ne!(default_identity(), default_identity());
    }
}
