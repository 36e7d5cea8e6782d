//! The one reconcile every kind goes through. A kind ([`Reconciled`]) says how it
//! applies, how it cleans up and how its status looks; this module does the rest, the
//! same way for all three:
//!
//! - the finalizer ([`kube::runtime::finalizer`]): `apply` while the object lives,
//!   `cleanup` once it is being deleted, the finalizer removed when cleanup succeeded;
//! - the orphan escape hatch: the annotation `orglink.dev/on-delete: orphan` is read
//!   here, once, and handed to the kind's cleanup, whose lifecycle decides with it;
//! - a failed cleanup reported on the object (`Ready=False` reason `CleanupFailed`
//!   naming the escape hatch, and a Warning Event), and a failed apply as `ApiError`;
//! - the requeue: the lifecycle's [`Requeue`] as an [`Action`], or the error backoff,
//!   counted per object ([`ObjectKey`]) in one map that forgets deleted objects;
//! - one metric label vocabulary ([`super::error::labels`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Context, object_key};
use super::error::{Error, Failure, not_ready_class};
use super::status::apply_status;
use crate::api::conditions::{DesiredCondition, Status, reasons, types};
use crate::api::{FINALIZER, ON_DELETE_ANNOTATION};
use crate::lifecycle::Requeue;
use crate::lifecycle::deletion::{ORPHAN, leaves_remote};
use crate::lifecycle::health::set_with_health;
use crate::runtime::index::Managed;
use crate::runtime::scope::Wakers;

/// A kind the operator reconciles.
pub(crate) trait Reconciled:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Serialize
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The kind, as in metrics, logs and messages.
    const KIND: &'static str;
    /// What its controller caches: the kind itself, or a smaller form that gives the
    /// object back whole for a reconcile ([`super::cached_link`]).
    type Cached: Cached<Full = Self>;
    /// The status subresource.
    type Status: Clone + Default + PartialEq + Serialize + Send + Sync;

    fn status(&self) -> Option<&Self::Status>;
    /// The name of the Organization (in the object's namespace) it acts as: its
    /// reconciles share that org's [`super::slots::Slots`].
    fn acting_org(&self) -> &str;
    /// The channels that reconcile an object of this kind at once.
    fn wakers(ctx: &Context) -> &Wakers<Self::Cached>;
    fn conditions_mut(status: &mut Self::Status) -> &mut Vec<Condition>;

    /// One pass while the object lives. An [`Error::Failed`] is reported on the object
    /// ([`Reconciled::report_failure`], a Warning Event) and retried with backoff; any
    /// other error goes to the controller's error policy.
    fn apply(&self, ctx: &Context) -> impl Future<Output = Result<Next, Error>> + Send;

    /// What must happen before the finalizer goes. `orphan` is the escape hatch
    /// (`orglink.dev/on-delete: orphan`): the kind's lifecycle decides with it. An
    /// [`Error::Failed`] keeps the object, reported as `CleanupFailed`.
    fn cleanup(
        &self,
        ctx: &Context,
        orphan: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Writes the status of an apply that failed with `message` (`Ready=False` reason
    /// `ApiError`). Only kinds whose apply returns [`Error::Failed`] need it.
    fn report_failure(
        &self,
        _ctx: &Context,
        _message: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async { Ok(()) }
    }
}

/// An object as a controller caches it.
pub(crate) trait Cached:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Managed
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The object a reconcile reads.
    type Full;
    fn full(self: Arc<Self>) -> Arc<Self::Full>;
}

/// Organizations and OrgPairings are cached as they are: a few hundred at most.
macro_rules! cached_whole {
    ($($kind:ty),*) => {$(
        impl Cached for $kind {
            type Full = $kind;
            fn full(self: Arc<Self>) -> Arc<Self> {
                self
            }
        }
    )*};
}
cached_whole!(crate::api::Organization, crate::api::OrgPairing);

impl Cached for super::cached_link::CachedOrgLink {
    type Full = crate::api::OrgLink;
    fn full(self: Arc<Self>) -> Arc<crate::api::OrgLink> {
        Arc::new(self.as_ref().full())
    }
}

/// What an apply asks for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// It acted as the lifecycle decided: failures are reset, and it looks again as
    /// `requeue` says (soon, or at `resync` plus jitter), but never later than
    /// `at_latest`.
    Done {
        requeue: Requeue,
        resync: Duration,
        at_latest: Option<Duration>,
    },
    /// It acted as the lifecycle decided and the poll policy
    /// ([`crate::lifecycle::poll`], through [`super::requeue::after`]) set when to look
    /// again: failures are reset, and it looks again after this.
    Poll(Duration),
    /// It did not act this time (the Organization is not usable, an older object acts,
    /// the peer's request crossed ours): look again after this; failures are kept.
    Wait(Duration),
    /// Not Ready for `reason` (already in the status): counted under that reason's
    /// label and retried with backoff, but never later than `at_latest`.
    NotReady {
        reason: &'static str,
        at_latest: Option<Duration>,
    },
}

/// Reconciles `obj` of any [`Reconciled`] kind (see the module's doc).
pub(crate) async fn reconcile<K: Reconciled>(
    obj: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = obj
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let started = std::time::Instant::now();
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => apply(obj.as_ref(), &ctx).await,
            // Boxed: taken once per object, at its deletion; inline, its state would be
            // part of every reconcile's.
            Finalizer::Cleanup(obj) => Box::pin(cleanup(obj.as_ref(), &ctx)).await,
        }
    })
    .await
    .map_err(Error::from);
    ctx.metrics.observe_reconcile(K::KIND, started.elapsed());
    result
}

/// The error policy of every controller: one backoff counter per object, the error's
/// label counted.
pub(crate) fn error_policy<K: Reconciled>(
    obj: Arc<K::Cached>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    if matches!(error, Error::Aborted) {
        // The controllers are stopping; nothing to retry on this replica.
        return Action::await_change();
    }
    let key = object_key(obj.as_ref());
    ctx.metrics.observe_error(K::KIND, error.class());
    let delay = ctx.backoff_after_failure(&key);
    tracing::warn!(%error, object = %key, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn apply<K: Reconciled>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let key = object_key(obj);
    match obj.apply(ctx).await {
        Ok(Next::Done {
            requeue,
            resync,
            at_latest,
        }) => {
            ctx.reset_failures(&key);
            let after = match requeue {
                Requeue::Soon => ctx.settings.soon,
                Requeue::Resync => jittered(resync),
            };
            Ok(Action::requeue(no_later(after, at_latest)))
        }
        Ok(Next::Poll(after)) => {
            ctx.reset_failures(&key);
            Ok(Action::requeue(after))
        }
        Ok(Next::Wait(after)) => Ok(Action::requeue(after)),
        Ok(Next::NotReady { reason, at_latest }) => {
            ctx.metrics.observe_error(K::KIND, not_ready_class(reason));
            let after = ctx.backoff_after_failure(&key);
            Ok(Action::requeue(no_later(after, at_latest)))
        }
        Err(Error::Failed(failure)) => {
            let message = failure.to_string();
            if failure.reported_on_status() {
                obj.report_failure(ctx, &message).await?;
            }
            ctx.event(obj, EventType::Warning, reasons::API_ERROR, message)
                .await;
            ctx.metrics.observe_error(K::KIND, failure.class());
            Ok(Action::requeue(ctx.backoff_after_failure(&key)))
        }
        Err(other) => Err(other),
    }
}

fn no_later(after: Duration, at_latest: Option<Duration>) -> Duration {
    at_latest.map_or(after, |d| d.min(after))
}

async fn cleanup<K: Reconciled>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let orphan = leaves_remote(obj.annotations());
    match obj.cleanup(ctx, orphan).await {
        Ok(()) => {
            // The finalizer goes next: forget the object.
            ctx.reset_failures(&object_key(obj));
            ctx.metrics.set_phase(K::KIND, obj, None);
            Ok(Action::await_change())
        }
        Err(Error::Failed(failure)) => Err(cleanup_failed(obj, ctx, failure).await?),
        Err(other) => Err(other),
    }
}

/// Reports a failed cleanup on the object (`Ready=False` reason `CleanupFailed`, naming
/// the escape hatch, and a Warning Event) and returns the error that keeps it.
async fn cleanup_failed<K: Reconciled>(
    obj: &K,
    ctx: &Context,
    failure: Failure,
) -> Result<Error, Error> {
    let message = format!(
        "cleanup failed, the object is kept: {failure}. To delete it without touching Genesys Cloud, annotate it {ON_DELETE_ANNOTATION}={ORPHAN}"
    );
    let mut status = obj.status().cloned().unwrap_or_default();
    set_with_health(
        K::conditions_mut(&mut status),
        &[DesiredCondition::new(
            types::READY,
            Status::False,
            reasons::CLEANUP_FAILED,
            message.clone(),
        )],
        obj.meta().generation,
        Timestamp::now(),
    );
    if Some(&status) != obj.status() {
        apply_status(&ctx.client, obj, &status).await?;
    }
    ctx.event(
        obj,
        EventType::Warning,
        reasons::CLEANUP_FAILED,
        message.clone(),
    )
    .await;
    Ok(Error::CleanupFailed {
        message,
        source: failure,
    })
}

/// `interval` plus up to 10% jitter, so orgs created together do not resync together.
/// Saturating: no interval can overflow it.
pub(crate) fn jittered(interval: Duration) -> Duration {
    interval.saturating_add(interval.mul_f64(rand::random::<f64>() * 0.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sooner_of_the_two_wins() {
        let s = Duration::from_secs;
        assert_eq!(no_later(s(60), None), s(60));
        assert_eq!(no_later(s(60), Some(s(5))), s(5));
        assert_eq!(no_later(s(5), Some(s(60))), s(5));
    }

    #[test]
    fn jitter_adds_at_most_a_tenth_and_never_overflows() {
        let s = Duration::from_secs(100);
        for _ in 0..100 {
            let j = jittered(s);
            assert!(j >= s && j <= Duration::from_secs(110), "{j:?}");
        }
        assert_eq!(jittered(Duration::MAX), Duration::MAX);
    }
}
