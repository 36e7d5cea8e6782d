//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas
//! at most one acts (client-go's leaderelection protocol: holder identity, lease
//! duration, renew time, optimistic concurrency on the Lease's resourceVersion).
//!
//! Two leaders at once must be impossible, whatever the clocks and the network do:
//!
//! - **Expiry is judged as client-go does**: by how long *this* replica has seen the
//!   same Lease record unchanged, on its own monotonic clock ([`Observation`]), never by
//!   comparing the holder's `renewTime` with the local wall clock (a skewed clock on
//!   either side would otherwise let a standby take a lease that is being renewed).
//! - **The leader gives up in time**: each renewal attempt is bounded
//!   (`tokio::time::timeout`) by the time left before the renew deadline, counted from
//!   the start of the last successful renewal; at the deadline, or when another replica
//!   holds the Lease, [`Leadership::lost`] fires.
//! - **Nothing is written after the loss**: the controllers' reconcile futures select on
//!   [`Leadership::lost`] and are dropped at once (see [`crate::controller::run`]), then the
//!   controllers stop and the process exits to rejoin as a standby.
//!
//! Why this is safe: the leader's last successful write started at `t0`; it stops by
//! `t0 + renew_deadline`. A standby saw that record at some `t1 >= t0` and takes over
//! no earlier than `t1 + lease_duration`, and `lease_duration > renew_deadline` is
//! required ([`LeaseConfig::validate`]).
//!
//! [`decide`] and [`Observation::observe`] are the pure rules; [`Elector`] does one
//! attempt against the API server; [`acquire`] loops until this replica holds the Lease
//! and returns a [`Leadership`] that renews it in the background.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Settings of the election.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// This replica's identity (the pod name).
    pub(crate) identity: String,
    /// How long a standby waits, after it last saw the Lease change, before taking it.
    pub lease_duration: Duration,
    /// How long the leader keeps acting without a successful renewal. Shorter than
    /// `lease_duration`: the difference is the safety margin.
    pub renew_deadline: Duration,
    /// How often the holder renews, and how often a standby retries.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// client-go's defaults scaled to this operator: 15 s lease, 10 s renew deadline,
    /// 2 s retry period.
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
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// The three durations must nest: retry period < renew deadline < lease duration.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.lease_duration <= self.renew_deadline {
            return Err(format!(
                "leader election: the lease duration ({:?}) must be longer than the renew deadline ({:?}), or two replicas could act at once",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.renew_deadline <= self.retry_period {
            return Err(format!(
                "leader election: the renew deadline ({:?}) must be longer than the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if self.retry_period.is_zero() {
            return Err("leader election: the retry period must be greater than zero".into());
        }
        Ok(())
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }
}

/// What this replica last saw of the Lease and since when, on its monotonic clock.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Observation {
    record: Option<LeaseSpec>,
    since: Instant,
}

impl Observation {
    /// The observation after reading `current` at `now`: the time is kept while the
    /// record is unchanged, and restarts whenever anything in it changed (a renewal
    /// changes `renewTime`).
    pub(crate) fn observe(
        prev: Option<&Observation>,
        current: Option<&LeaseSpec>,
        now: Instant,
    ) -> Self {
        match prev {
            Some(prev) if prev.record.as_ref() == current => prev.clone(),
            _ => Observation {
                record: current.cloned(),
                since: now,
            },
        }
    }

    /// How long the record has been seen unchanged.
    pub(crate) fn unchanged_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }
}

/// What to do with the Lease as observed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Decision {
    /// Take it (absent, released or expired): write this spec.
    Acquire(LeaseSpec),
    /// We hold it: write this spec with a fresh renew time.
    Renew(LeaseSpec),
    /// Someone else holds a valid lease.
    Wait { holder: String },
}

/// The election rule, pure. `current` is the Lease's spec (None when absent);
/// `unchanged_for` is how long this replica has seen that same record ([`Observation`]);
/// `now` only fills the timestamps written, it never decides expiry.
pub(crate) fn decide(
    current: Option<&LeaseSpec>,
    config: &LeaseConfig,
    unchanged_for: Duration,
    now: Timestamp,
) -> Decision {
    let identity = config.identity.as_str();
    let fresh = |acquire: Option<MicroTime>, transitions: i32| LeaseSpec {
        holder_identity: Some(identity.to_string()),
        lease_duration_seconds: Some(config.lease_seconds()),
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
        return Decision::Acquire(fresh(None, transitions.saturating_add(1)));
    }
    // The holder's promise, but never shorter than ours: a record claiming a tiny
    // duration does not make us take over early.
    let promised = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .unwrap_or_default()
        .max(config.lease_duration);
    if unchanged_for >= promised {
        Decision::Acquire(fresh(None, transitions.saturating_add(1)))
    } else {
        Decision::Wait { holder }
    }
}

/// The outcome of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// This replica holds the Lease (acquired or renewed).
    Leading,
    /// Another replica holds a valid Lease.
    Standby { holder: String },
    /// Another writer changed the Lease between our read and our write.
    Conflict,
}

/// One replica's view of the election: the Lease API and what it last observed.
pub struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
    observed: Option<Observation>,
}

impl Elector {
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        }
    }

    /// One attempt: read the Lease, observe it, and write it if [`decide`] says so.
    pub async fn try_acquire_or_renew(&mut self) -> Result<Attempt, kube::Error> {
        let current = self.api.get_opt(&self.config.name).await?;
        let now = Instant::now();
        let spec = current.as_ref().and_then(|l| l.spec.as_ref());
        let observed = Observation::observe(self.observed.as_ref(), spec, now);
        let decision = decide(
            spec,
            &self.config,
            observed.unchanged_for(now),
            Timestamp::now(),
        );
        self.observed = Some(observed);
        let spec = match decision {
            Decision::Wait { holder } => return Ok(Attempt::Standby { holder }),
            Decision::Acquire(spec) | Decision::Renew(spec) => spec,
        };
        let result = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..Default::default()
                    },
                    spec: Some(spec.clone()),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            Some(mut lease) => {
                lease.spec = Some(spec.clone());
                self.api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
            }
        };
        match result {
            Ok(_) => {
                self.observed = Some(Observation {
                    record: Some(spec),
                    since: Instant::now(),
                });
                Ok(Attempt::Leading)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Conflict),
            Err(e) => Err(e),
        }
    }

    /// Clears the holder if it is still us, so a standby takes over at once.
    async fn release(&self) {
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

/// This replica holds the Lease; renewal runs in the background.
pub struct Leadership {
    lost: CancellationToken,
    stop: CancellationToken,
    renewer: tokio::task::JoinHandle<Elector>,
}

impl Leadership {
    /// Fires when the Lease could not be renewed before the renew deadline or another
    /// replica took it. Whatever acts for the leader must stop at once when it fires.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Stops renewing and clears the holder, so a standby takes over at once.
    pub async fn release(self) {
        self.stop.cancel();
        let Ok(elector) = self.renewer.await else {
            return;
        };
        if self.lost.is_cancelled() {
            return;
        }
        elector.release().await;
    }
}

/// Waits until this replica holds the Lease (or `shutdown` fires: `None`).
pub async fn acquire(
    client: kube::Client,
    config: LeaseConfig,
    shutdown: CancellationToken,
) -> Option<Leadership> {
    if let Err(error) = config.validate() {
        tracing::error!(%error, "leader election misconfigured");
        return None;
    }
    let mut elector = Elector::new(client, config);
    loop {
        // Bounded like a renewal, so a hung API call cannot stall the standby forever.
        let attempt = tokio::time::timeout(
            elector.config.renew_deadline,
            elector.try_acquire_or_renew(),
        )
        .await;
        match attempt {
            Ok(Ok(Attempt::Leading)) => break,
            Ok(Ok(Attempt::Standby { .. } | Attempt::Conflict)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, lease = %elector.config.name, "leader election: cannot read or write the Lease")
            }
            Err(_) => {
                tracing::warn!(lease = %elector.config.name, "leader election: the API server did not answer in time")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(elector.config.retry_period) => {}
        }
    }
    tracing::info!(identity = %elector.config.identity, lease = %elector.config.name, "became the leader");
    let lost = CancellationToken::new();
    let stop = CancellationToken::new();
    let renewer = tokio::spawn(renew(elector, lost.clone(), stop.clone()));
    Some(Leadership {
        lost,
        stop,
        renewer,
    })
}

/// Why the leader gives up, or `None` to keep going: the pure part of [`renew`].
pub(crate) fn renewal_verdict(attempt: &RenewalOutcome) -> Option<&'static str> {
    match attempt {
        RenewalOutcome::Renewed | RenewalOutcome::Failed => None,
        RenewalOutcome::TakenOver => Some("another replica holds the Lease"),
        RenewalOutcome::DeadlinePassed => {
            Some("the Lease could not be renewed before the renew deadline")
        }
    }
}

/// What one renewal round came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenewalOutcome {
    Renewed,
    /// An error or a write conflict, with time left to try again.
    Failed,
    TakenOver,
    DeadlinePassed,
}

/// The time left for a renewal attempt started at `now`, when the last successful one
/// started at `last_renewed`; zero once the deadline has passed.
pub(crate) fn time_left(last_renewed: Instant, renew_deadline: Duration, now: Instant) -> Duration {
    (last_renewed + renew_deadline).saturating_duration_since(now)
}

/// Renews every retry period, each attempt bounded by the time left before the renew
/// deadline; fires `lost` (and returns) when another replica holds the Lease or the
/// deadline passes. Returns the elector for [`Leadership::release`].
async fn renew(mut elector: Elector, lost: CancellationToken, stop: CancellationToken) -> Elector {
    let deadline = elector.config.renew_deadline;
    let mut last_renewed = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return elector,
            _ = tokio::time::sleep(elector.config.retry_period) => {}
        }
        let started = Instant::now();
        let left = time_left(last_renewed, deadline, started);
        let outcome = if left.is_zero() {
            RenewalOutcome::DeadlinePassed
        } else {
            match tokio::time::timeout(left, elector.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Leading)) => RenewalOutcome::Renewed,
                Ok(Ok(Attempt::Standby { .. })) => RenewalOutcome::TakenOver,
                Ok(Ok(Attempt::Conflict)) => RenewalOutcome::Failed,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "leader election: renewing the Lease failed");
                    RenewalOutcome::Failed
                }
                Err(_) => RenewalOutcome::DeadlinePassed,
            }
        };
        if outcome == RenewalOutcome::Renewed {
            last_renewed = started;
        }
        if let Some(why) = renewal_verdict(&outcome) {
            // Cancel first: the reconciles select on `lost` and are dropped before
            // anything else happens.
            lost.cancel();
            tracing::error!(lease = %elector.config.name, "leadership lost: {why}");
            return elector;
        }
    }
}

/// A default identity: `POD_NAME`, else the host name, plus a random suffix so two
/// processes on one host never share an identity.
pub(crate) fn default_identity() -> String {
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

    fn config(identity: &str) -> LeaseConfig {
        LeaseConfig::new("ns", "lease", identity)
    }

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

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn an_absent_lease_is_acquired_with_no_transition() {
        let Decision::Acquire(spec) = decide(None, &config("a"), S(0), at(5)) else {
            panic!()
        };
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_transitions, Some(0));
        assert_eq!(spec.lease_duration_seconds, Some(15));
    }

    #[test]
    fn the_holder_renews_and_keeps_its_acquire_time() {
        let Decision::Renew(spec) = decide(Some(&held_by("a", 3, 2)), &config("a"), S(0), at(10))
        else {
            panic!()
        };
        assert_eq!(spec.renew_time, Some(MicroTime(at(10))));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(0))));
        assert_eq!(spec.lease_transitions, Some(2));
    }

    #[test]
    fn expiry_is_judged_by_how_long_this_replica_saw_the_record_unchanged() {
        let lease = held_by("b", 3, 4);
        // Seen unchanged for less than the lease duration: wait, whatever renewTime says
        // (here it is far in the past by our wall clock: a skewed holder clock).
        for unchanged in [S(0), S(14)] {
            assert_eq!(
                decide(Some(&lease), &config("a"), unchanged, at(10_000)),
                Decision::Wait { holder: "b".into() }
            );
        }
        // Seen unchanged for the whole lease duration: take over, one transition more.
        let Decision::Acquire(spec) = decide(Some(&lease), &config("a"), S(15), at(18)) else {
            panic!()
        };
        assert_eq!(spec.lease_transitions, Some(5));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(18))));
        // A renewTime in the future (holder clock ahead) does not extend the wait either.
        let ahead = held_by("b", 100_000, 0);
        assert!(matches!(
            decide(Some(&ahead), &config("a"), S(15), at(18)),
            Decision::Acquire(_)
        ));
    }

    #[test]
    fn a_record_promising_a_short_lease_does_not_shorten_our_wait() {
        let mut lease = held_by("b", 3, 0);
        lease.lease_duration_seconds = Some(1);
        assert_eq!(
            decide(Some(&lease), &config("a"), S(5), at(18)),
            Decision::Wait { holder: "b".into() }
        );
        lease.lease_duration_seconds = Some(60);
        assert_eq!(
            decide(Some(&lease), &config("a"), S(30), at(18)),
            Decision::Wait { holder: "b".into() }
        );
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let mut released = held_by("b", 3, 1);
        released.holder_identity = None;
        assert!(matches!(
            decide(Some(&released), &config("a"), S(0), at(4)),
            Decision::Acquire(_)
        ));
    }

    #[test]
    fn observation_restarts_whenever_the_record_changes() {
        let t0 = Instant::now();
        let first = Observation::observe(None, Some(&held_by("b", 3, 0)), t0);
        let same = Observation::observe(Some(&first), Some(&held_by("b", 3, 0)), t0 + S(9));
        assert_eq!(same.unchanged_for(t0 + S(9)), S(9));
        let renewed = Observation::observe(Some(&same), Some(&held_by("b", 5, 0)), t0 + S(10));
        assert_eq!(renewed.unchanged_for(t0 + S(12)), S(2));
        let gone = Observation::observe(Some(&renewed), None, t0 + S(13));
        assert_eq!(gone.unchanged_for(t0 + S(13)), S(0));
        // A clock that seems to go backwards never underflows.
        assert_eq!(gone.unchanged_for(t0), S(0));
    }

    #[test]
    fn each_renewal_attempt_gets_only_the_time_left_before_the_deadline() {
        let t0 = Instant::now();
        assert_eq!(time_left(t0, S(10), t0 + S(2)), S(8));
        assert_eq!(time_left(t0, S(10), t0 + S(10)), S(0));
        assert_eq!(time_left(t0, S(10), t0 + S(30)), S(0));
        assert_eq!(renewal_verdict(&RenewalOutcome::Renewed), None);
        assert_eq!(renewal_verdict(&RenewalOutcome::Failed), None);
        assert!(renewal_verdict(&RenewalOutcome::TakenOver).is_some());
        assert!(renewal_verdict(&RenewalOutcome::DeadlinePassed).is_some());
    }

    #[test]
    fn the_leader_stops_before_any_standby_may_start() {
        // The safety margin of the module docs, for the defaults and as a rule.
        let c = config("a");
        assert_eq!(c.validate(), Ok(()));
        assert!(c.renew_deadline < c.lease_duration);
        let mut bad = config("a");
        bad.renew_deadline = bad.lease_duration;
        assert!(bad.validate().unwrap_err().contains("two replicas"));
        let mut bad = config("a");
        bad.retry_period = bad.renew_deadline;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn identities_are_unique_per_process() {
        assert_ne!(default_identity(), default_identity());
    }
}
