//! The operator: kube-runtime controllers for Organization, OrgLink and OrgPairing,
//! sharing one [`Context`].
//!
//! Each reconcile is small: find the acting org's session, read its shared snapshot,
//! run the pure decision of [`crate::lifecycle`], perform the calls, write the status
//! with server-side apply, emit Events. Errors become a status condition and an
//! exponential backoff, never a hot loop.

pub mod context;
pub mod credentials;
pub mod credentials_hold;
pub mod error;
pub mod events;
pub mod leader;
pub mod metrics;
pub mod org_changes;
pub mod organization;
pub mod orglink;
pub mod orgpairing;
pub mod probes;
pub mod requeue;
pub mod scope;
pub mod sessions;
pub mod status;
pub mod supervise;

use std::collections::HashMap;
use std::sync::Arc;

use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

pub use context::{Context, ContextParts, Settings};
pub use error::Error;
pub use metrics::Metrics;
pub use scope::Scope;

use crate::api::{OrgLink, OrgPairing, Organization};
use scope::{Stores, Wakers};

/// How to run the controllers.
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    pub scope: Scope,
    pub settings: Settings,
    /// The Event reporter's instance (the pod name).
    pub instance: Option<String>,
    /// Fires when this replica must stop acting at once (leadership lost): every
    /// in-flight reconcile is dropped at its next await, so nothing more is written.
    /// Shutdown, by contrast, lets in-flight reconciles finish.
    pub abort: tokio_util::sync::CancellationToken,
}

/// `reconcile`, dropped as soon as `abort` fires: the select is biased, so once the
/// token is cancelled the reconcile is never polled again.
fn abortable<K, C, F, Fut>(
    reconcile: F,
    abort: tokio_util::sync::CancellationToken,
) -> impl Fn(Arc<K>, Arc<C>) -> BoxFuture<'static, Result<Action, Error>>
where
    K: Send + Sync + 'static,
    C: Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<C>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    move |obj, ctx| {
        let abort = abort.clone();
        let work = reconcile(obj, ctx);
        async move {
            tokio::select! {
                biased;
                _ = abort.cancelled() => Err(Error::Aborted),
                result = work => result,
            }
        }
        .boxed()
    }
}

fn api_in<K>(client: &kube::Client, partition: &Option<String>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match partition {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A controller for `api` whose cache keeps no `managedFields`: no reconcile reads
/// them, and on an object written by several managers (the user's apply, our
/// finalizer and status) they are often larger than the rest of it.
fn controller_for<K>(api: Api<K>, wc: watcher::Config) -> Controller<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, wc)
        .default_backoff()
        .modify(|o: &mut K| o.meta_mut().managed_fields = None)
        .reflect(writer)
        .applied_objects();
    Controller::for_stream(stream, reader)
}

/// Metadata of the Secrets marked `orglink.dev/credentials: "true"` (see
/// [`credentials`]); a Secret that loses the label arrives as a deletion.
fn credential_secrets(
    client: &kube::Client,
    partition: &Option<String>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send + 'static
{
    let config = watcher::Config::default().labels(credentials::SECRET_SELECTOR);
    // An `Api` of `PartialObjectMeta` lists and watches metadata only.
    watcher(
        api_in::<PartialObjectMeta<Secret>>(client, partition),
        config,
    )
    .default_backoff()
    .touched_objects()
}

fn error_policy<K>(kind: &'static str) -> impl Fn(Arc<K>, &Error, Arc<Context>) -> Action
where
    K: Resource<DynamicType = ()>,
{
    move |obj, error, ctx| {
        if matches!(error, Error::Aborted) {
            // The controllers are stopping; nothing to retry on this replica.
            return Action::await_change();
        }
        let key = format!(
            "{kind}/{}/{}",
            obj.meta().namespace.clone().unwrap_or_default(),
            obj.meta().name.clone().unwrap_or_default()
        );
        ctx.metrics.observe_error(kind, error.class());
        let delay = ctx.backoff_after_failure(&key);
        tracing::warn!(%error, object = %key, retry_in = ?delay, "reconcile failed");
        Action::requeue(delay)
    }
}

/// `reconcile` with a panic contained to its object: the panic becomes
/// [`Error::Internal`] (so the error policy backs off as for any error), and the object
/// gets `Ready=False`, reason `InternalError`, and a Warning Event saying so. Every
/// other object goes on being reconciled.
fn contained<K, F, Fut>(
    kind: &'static str,
    reconcile: F,
) -> impl FnMut(Arc<K>, Arc<Context>) -> BoxFuture<'static, Result<Action, Error>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    move |obj, ctx| {
        let run = reconcile(obj.clone(), ctx.clone());
        async move {
            match supervise::catch_panic(run).await {
                Ok(result) => result,
                Err(panic) => {
                    tracing::error!(
                        kind,
                        namespace = obj.meta().namespace.as_deref().unwrap_or(""),
                        name = obj.meta().name.as_deref().unwrap_or(""),
                        %panic,
                        "reconcile panicked; the object is retried with backoff"
                    );
                    status::report_internal_error(&ctx, obj.as_ref(), &panic).await;
                    Err(Error::Internal(panic))
                }
            }
        }
        .boxed()
    }
}

/// Runs the three controllers until `shutdown` resolves. `ready` is called once every
/// cache has done its first list (the readiness probe). Returns an error as soon as a
/// controller stops without `shutdown` (see [`supervise::supervise`]): the process is
/// then no longer doing its job and must say so.
pub async fn run(
    client: kube::Client,
    options: OperatorOptions,
    metrics: Arc<Metrics>,
    shutdown: tokio_util::sync::CancellationToken,
    ready: impl FnOnce() + Send + 'static,
) -> anyhow::Result<()> {
    let wc = watcher::Config::default().any_semantic();
    let partitions = options.scope.partitions();

    let mut org_controllers = Vec::new();
    let mut link_controllers = Vec::new();
    let mut pairing_controllers = Vec::new();
    let (mut org_wakers, mut link_wakers, mut pairing_wakers) =
        (HashMap::new(), HashMap::new(), HashMap::new());
    for partition in &partitions {
        let orgs = controller_for(api_in::<Organization>(&client, partition), wc.clone());
        let links = controller_for(api_in::<OrgLink>(&client, partition), wc.clone());
        let pairings = controller_for(api_in::<OrgPairing>(&client, partition), wc.clone());
        let (tx, rx) = mpsc::unbounded();
        org_wakers.insert(partition.clone(), tx);
        org_controllers.push((partition.clone(), orgs, rx));
        let (tx, rx) = mpsc::unbounded();
        link_wakers.insert(partition.clone(), tx);
        link_controllers.push((partition.clone(), links, rx));
        let (tx, rx) = mpsc::unbounded();
        pairing_wakers.insert(partition.clone(), tx);
        pairing_controllers.push((partition.clone(), pairings, rx));
    }
    let organizations = Stores::new(org_controllers.iter().map(|(_, c, _)| c.store()).collect());
    let links = Stores::new(link_controllers.iter().map(|(_, c, _)| c.store()).collect());
    let pairings = Stores::new(
        pairing_controllers
            .iter()
            .map(|(_, c, _)| c.store())
            .collect(),
    );
    let ctx = Arc::new(Context::new(ContextParts {
        client: client.clone(),
        metrics,
        reporter: Reporter {
            controller: "orglink-operator".into(),
            instance: options.instance.clone(),
        },
        settings: options.settings.clone(),
        organizations: organizations.clone(),
        links: links.clone(),
        pairings: pairings.clone(),
        wake_links: Wakers::new(link_wakers),
        wake_pairings: Wakers::new(pairing_wakers),
        wake_organizations: Wakers::new(org_wakers),
    }));

    let mut tasks: Vec<supervise::Task> = Vec::new();
    for (partition, controller, wake) in org_controllers {
        let by_secret = organizations.clone();
        let controller = controller
            // A rotated credential, or a label added or removed, takes effect at once.
            // Only the metadata of labelled Secrets is watched: no Secret body is
            // cached, and unlabelled Secrets are not seen at all.
            .watches_stream(
                credential_secrets(&client, &partition),
                move |secret: PartialObjectMeta<Secret>| {
                    let ns = secret.namespace();
                    let name = secret.name_any();
                    by_secret
                        .state()
                        .into_iter()
                        .filter(|o| {
                            o.namespace() == ns && o.spec.credentials_secret_ref.name == name
                        })
                        .map(|o| ObjectRef::from_obj(o.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
            // The status lists follow the org's links and pairings.
            .watches(
                api_in::<OrgLink>(&client, &partition),
                wc.clone(),
                |link: OrgLink| {
                    let ns = link.namespace().unwrap_or_default();
                    Some(ObjectRef::<Organization>::new(&link.spec.organization_ref).within(&ns))
                },
            )
            .watches(
                api_in::<OrgPairing>(&client, &partition),
                wc.clone(),
                |p: OrgPairing| {
                    let ns = p.namespace().unwrap_or_default();
                    Some(ObjectRef::<Organization>::new(&p.spec.organization_ref).within(&ns))
                },
            )
            .reconcile_on(wake)
            .graceful_shutdown_on(shutdown.clone().cancelled_owned());
        tasks.push(supervised(
            organization::KIND,
            &partition,
            controller,
            organization::reconcile,
            options.abort.clone(),
            ctx.clone(),
        ));
    }
    for (partition, controller, wake) in link_controllers {
        let links_of_org = links.clone();
        let views = org_changes::OrgViews::default();
        let controller = controller
            // An Organization becoming Ready (or changing) wakes the links it concerns.
            .watches(
                api_in::<Organization>(&client, &partition),
                wc.clone(),
                move |org: Organization| {
                    let concerns = views.observe(&org);
                    let ns = org.namespace();
                    let name = org.name_any();
                    links_of_org
                        .state()
                        .into_iter()
                        .filter(|l| {
                            l.namespace() == ns
                                && l.spec.organization_ref == name
                                && concerns.includes(&l.spec.peer.organization_id)
                        })
                        .map(|l| ObjectRef::from_obj(l.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
            .reconcile_on(wake)
            .graceful_shutdown_on(shutdown.clone().cancelled_owned());
        tasks.push(supervised(
            orglink::KIND,
            &partition,
            controller,
            orglink::reconcile,
            options.abort.clone(),
            ctx.clone(),
        ));
    }
    for (partition, controller, wake) in pairing_controllers {
        let pairings_of_org = pairings.clone();
        let views = org_changes::OrgViews::default();
        let controller = controller
            // Likewise for pairings: the trustee and trustor lists name the peer.
            .watches(
                api_in::<Organization>(&client, &partition),
                wc.clone(),
                move |org: Organization| {
                    let concerns = views.observe(&org);
                    let ns = org.namespace();
                    let name = org.name_any();
                    pairings_of_org
                        .state()
                        .into_iter()
                        .filter(|p| {
                            p.namespace() == ns
                                && p.spec.organization_ref == name
                                && concerns.includes(&p.spec.peer.organization_id)
                        })
                        .map(|p| ObjectRef::from_obj(p.as_ref()))
                        .collect::<Vec<_>>()
                },
            )
            .reconcile_on(wake)
            .graceful_shutdown_on(shutdown.clone().cancelled_owned());
        tasks.push(supervised(
            orgpairing::KIND,
            &partition,
            controller,
            orgpairing::reconcile,
            options.abort.clone(),
            ctx.clone(),
        ));
    }
    let readiness = {
        let (o, l, p) = (organizations.clone(), links.clone(), pairings.clone());
        async move {
            o.wait_until_ready().await;
            l.wait_until_ready().await;
            p.wait_until_ready().await;
            ready();
        }
    };
    tokio::spawn(readiness);
    tracing::info!(scope = ?options.scope, "controllers started");
    let result = supervise::supervise(tasks, shutdown).await;
    match &result {
        Ok(()) => tracing::info!("controllers stopped"),
        Err(why) => tracing::error!(%why, "a controller stopped on its own"),
    }
    result.map_err(anyhow::Error::msg)
}

/// One controller as a supervised task: each reconcile contained (a panic is an error
/// of its object) and abortable (leadership lost), its errors through [`error_policy`].
fn supervised<K, F, Fut>(
    kind: &'static str,
    partition: &Option<String>,
    controller: Controller<K>,
    reconcile: F,
    abort: tokio_util::sync::CancellationToken,
    ctx: Arc<Context>,
) -> supervise::Task
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    supervise::Task {
        name: task_name(kind, partition),
        run: controller
            .run(
                contained(kind, abortable(reconcile, abort)),
                error_policy(kind),
                ctx,
            )
            .for_each(|_| futures::future::ready(()))
            .boxed(),
    }
}

/// E.g. `OrgLink (namespace team-a)` or `OrgLink (all namespaces)`.
fn task_name(kind: &str, partition: &Option<String>) -> String {
    match partition {
        Some(ns) => format!("{kind} (namespace {ns})"),
        None => format!("{kind} (all namespaces)"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A reconcile that has started writing, then waits (on a slow API call), then
    /// would write again.
    async fn two_writes(
        writes: Arc<AtomicUsize>,
        gate: Arc<tokio::sync::Notify>,
    ) -> Result<Action, Error> {
        writes.fetch_add(1, Ordering::SeqCst);
        gate.notified().await;
        writes.fetch_add(1, Ordering::SeqCst);
        Ok(Action::await_change())
    }

    #[tokio::test]
    async fn a_lost_leadership_drops_in_flight_reconciles_before_their_next_write() {
        let writes = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let abort = tokio_util::sync::CancellationToken::new();
        let reconcile = {
            let (writes, gate) = (writes.clone(), gate.clone());
            abortable(
                move |_: Arc<()>, _: Arc<()>| two_writes(writes.clone(), gate.clone()),
                abort.clone(),
            )
        };
        let in_flight = tokio::spawn(reconcile(Arc::new(()), Arc::new(())));
        while writes.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Lost: cancelled first; the API call then returns, but nothing more is written.
        abort.cancel();
        gate.notify_one();
        let result = in_flight.await.unwrap();
        assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
        assert_eq!(writes.load(Ordering::SeqCst), 1);
        // And a reconcile that starts afterwards never runs at all.
        let late = reconcile(Arc::new(()), Arc::new(())).await;
        assert!(matches!(late, Err(Error::Aborted)));
        assert_eq!(writes.load(Ordering::SeqCst), 1);
    }
}
