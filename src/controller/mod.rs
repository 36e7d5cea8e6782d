//! The operator: kube-runtime controllers for Organization, OrgLink and OrgPairing,
//! sharing one [`Context`].
//!
//! Each reconcile is small: find the acting org's session, read its shared snapshot,
//! run the pure decision of [`crate::lifecycle`], perform the calls, write the status
//! with server-side apply, emit Events. Errors become a status condition and an
//! exponential backoff, never a hot loop.

pub(crate) mod acting;
pub(crate) mod cached_link;
pub(crate) mod context;
pub(crate) mod credentials;
pub(crate) mod credentials_hold;
pub(crate) mod digest;
pub(crate) mod directory;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod members;
pub(crate) mod metrics;
pub(crate) mod org_changes;
pub(crate) mod organization;
pub(crate) mod orglink;
pub(crate) mod orgpairing;
pub(crate) mod pairing_cache;
pub(crate) mod reconciler;
pub(crate) mod requeue;
pub(crate) mod sessions;
pub(crate) mod slots;
pub(crate) mod status;
pub(crate) mod supervise;

#[cfg(test)]
mod glue_tests;
#[cfg(test)]
mod mock_api;

use std::collections::HashMap;
use std::sync::Arc;

use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

pub(crate) use crate::runtime::scope::Scope;
pub(crate) use context::{Context, ContextParts, Settings};
pub(crate) use error::Error;
pub(crate) use metrics::Metrics;

use crate::api::{OrgLink, OrgPairing, Organization};
use crate::runtime::index::{IndexWriter, Managed, SharedIndex};
use crate::runtime::scope::{Stores, Wakers};
use acting::Relationship;
use cached_link::CachedOrgLink;
use org_changes::Concerns;
use reconciler::{Cached, Reconciled};
use slots::SlotLimits;

/// How to run the controllers.
#[derive(Clone, Debug)]
pub(crate) struct OperatorOptions {
    pub(crate) scope: Scope,
    pub(crate) settings: Settings,
    /// The Event reporter's instance (the pod name).
    pub(crate) instance: Option<String>,
    /// Fires when this replica must stop acting at once (leadership lost): every
    /// in-flight reconcile is dropped at its next await, so nothing more is written.
    /// Shutdown, by contrast, lets in-flight reconciles finish.
    pub(crate) abort: tokio_util::sync::CancellationToken,
}

/// `reconcile` once it has a slot of its org ([`slots`]), boxed: the future kube-runtime
/// keeps is small until the reconcile starts. Without a slot the object is parked and
/// the reconcile ends at once; its turn wakes it. Should that wake be lost (the
/// controller stopped before it), it comes back after the shortest resync anyway.
fn admitted<K, F, Fut>(
    reconcile: F,
) -> impl Fn(Arc<K>, Arc<Context>) -> BoxFuture<'static, Result<Action, Error>>
where
    K: Reconciled,
    F: Fn(Arc<K>, Arc<Context>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    move |obj, ctx| {
        let reconcile = reconcile.clone();
        let org = (
            obj.namespace().unwrap_or_default(),
            obj.acting_org().to_string(),
        );
        let who = format!("{}/{}", K::KIND, obj.name_any());
        let target = ObjectRef::<K::Cached>::new(&obj.name_any()).within(&org.0);
        let wake = || -> slots::Wake {
            let ctx = Arc::downgrade(&ctx);
            Box::new(move || {
                if let Some(ctx) = ctx.upgrade() {
                    K::wakers(&ctx).wake_ref(target);
                }
            })
        };
        match ctx.slots.admit(org, &who, wake) {
            Some(slot) => async move {
                let result = reconcile(obj, ctx).boxed().await;
                drop(slot);
                result
            }
            .boxed(),
            None => futures::future::ready(Ok(Action::requeue(ctx.settings.min_resync))).boxed(),
        }
    }
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

/// A controller for `api` whose cache keeps neither `managedFields` nor `kubectl
/// apply`'s last-applied copy ([`crate::runtime::scope::trim_for_cache`]).
fn controller_for<K>(
    api: Api<K>,
    wc: watcher::Config,
    mut index: IndexWriter,
    limits: SlotLimits,
) -> Controller<K>
where
    K: Resource<DynamicType = ()>
        + Managed
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
        .modify(crate::runtime::scope::trim_for_cache::<K>)
        .map_ok(move |event| {
            index.apply(&event);
            event
        })
        .reflect(writer)
        .applied_objects();
    Controller::for_stream(stream, reader).with_config(
        kube::runtime::controller::Config::default().concurrency(limits.controller_concurrency()),
    )
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
                    // Boxed: inline, its state would be part of every reconcile's,
                    // in flight or waiting, for a path almost never taken.
                    Box::pin(status::report_internal_error(&ctx, obj.as_ref(), &panic)).await;
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
pub(crate) async fn run(
    client: kube::Client,
    options: OperatorOptions,
    metrics: Arc<Metrics>,
    shutdown: tokio_util::sync::CancellationToken,
    ready: impl FnOnce() + Send + 'static,
) -> anyhow::Result<()> {
    let wc = watcher::Config::default().any_semantic();
    let partitions = options.scope.partitions();

    let limits = options.settings.slots;
    let (org_controllers, org_wakers, organizations) =
        partitioned::<Organization>(&client, &partitions, &wc, limits);
    let (link_controllers, link_wakers, links) =
        partitioned::<CachedOrgLink>(&client, &partitions, &wc, limits);
    let (pairing_controllers, pairing_wakers, pairings) =
        partitioned::<OrgPairing>(&client, &partitions, &wc, limits);
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
        wake_links: link_wakers,
        wake_pairings: pairing_wakers,
        wake_organizations: org_wakers,
    }));
    let runner = Runner {
        shutdown: shutdown.clone(),
        abort: options.abort.clone(),
        ctx: ctx.clone(),
    };

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
                organization_of::<OrgLink>,
            )
            .watches(
                api_in::<OrgPairing>(&client, &partition),
                wc.clone(),
                organization_of::<OrgPairing>,
            );
        tasks.push(runner.task::<Organization>(&partition, controller, wake));
    }
    for (partition, controller, wake) in link_controllers {
        // An Organization becoming Ready (or changing) wakes the links it concerns.
        let controller = controller.watches(
            api_in::<Organization>(&client, &partition),
            wc.clone(),
            concerned_by(links.clone()),
        );
        tasks.push(runner.task::<OrgLink>(&partition, controller, wake));
    }
    for (partition, controller, wake) in pairing_controllers {
        // Likewise for pairings: the trustee and trustor lists name the peer.
        let controller = controller.watches(
            api_in::<Organization>(&client, &partition),
            wc.clone(),
            concerned_by(pairings.clone()),
        );
        tasks.push(runner.task::<OrgPairing>(&partition, controller, wake));
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

/// One controller of kind `K` per partition, each with the channel that wakes its
/// objects; the wakers and the caches of all partitions.
#[allow(clippy::type_complexity)]
fn partitioned<K: Cached>(
    client: &kube::Client,
    partitions: &[Option<String>],
    wc: &watcher::Config,
    limits: SlotLimits,
) -> (
    Vec<(
        Option<String>,
        Controller<K>,
        mpsc::UnboundedReceiver<ObjectRef<K>>,
    )>,
    Wakers<K>,
    Stores<K>,
) {
    let mut controllers = Vec::new();
    let mut wakers = HashMap::new();
    let mut index = SharedIndex::default();
    for partition in partitions {
        let (writer, _listed) = index.add_partition();
        let controller = controller_for(api_in::<K>(client, partition), wc.clone(), writer, limits);
        let (tx, rx) = mpsc::unbounded();
        wakers.insert(partition.clone(), tx);
        controllers.push((partition.clone(), controller, rx));
    }
    let stores = Stores::indexed(
        controllers.iter().map(|(_, c, _)| c.store()).collect(),
        index,
    );
    (controllers, Wakers::new(wakers), stores)
}

/// The Organization an OrgLink or OrgPairing belongs to (its status lists them).
fn organization_of<K: Relationship>(obj: K) -> Option<ObjectRef<Organization>> {
    let ns = obj.namespace().unwrap_or_default();
    Some(ObjectRef::<Organization>::new(obj.organization_ref()).within(&ns))
}

/// The objects of `store` that a change of an Organization concerns: those acting as
/// it, towards a peer the change is about ([`org_changes`]).
fn concerned_by<K: Cached>(
    store: Stores<K>,
) -> impl Fn(Organization) -> Vec<ObjectRef<K>> + Send + Sync + 'static {
    let views = org_changes::OrgViews::default();
    move |org: Organization| {
        let concerns = views.observe(&org);
        let ns = org.namespace().unwrap_or_default();
        let name = org.name_any();
        let objects = match concerns {
            Concerns::All => store.of_org(&ns, &name),
            Concerns::Peers(peers) => peers
                .iter()
                .flat_map(|peer| store.with_peer(&ns, &name, peer))
                .collect(),
        };
        objects
            .iter()
            .map(|o| ObjectRef::from_obj(o.as_ref()))
            .collect()
    }
}

/// What every controller runs with.
struct Runner {
    shutdown: tokio_util::sync::CancellationToken,
    abort: tokio_util::sync::CancellationToken,
    ctx: Arc<Context>,
}

impl Runner {
    /// `controller` as a supervised task: woken by `wake`, stopped by `shutdown`, each
    /// reconcile contained (a panic is an error of its object) and abortable
    /// (leadership lost), its errors through [`reconciler::error_policy`].
    fn task<K: Reconciled>(
        &self,
        partition: &Option<String>,
        controller: Controller<K::Cached>,
        wake: mpsc::UnboundedReceiver<ObjectRef<K::Cached>>,
    ) -> supervise::Task {
        let reconcile = abortable(admitted(reconciler::reconcile::<K>), self.abort.clone());
        let mut reconcile = contained(K::KIND, reconcile);
        supervise::Task {
            name: task_name(K::KIND, partition),
            run: controller
                .reconcile_on(wake)
                .graceful_shutdown_on(self.shutdown.clone().cancelled_owned())
                .run(
                    move |cached: Arc<K::Cached>, ctx| reconcile(cached.full(), ctx),
                    reconciler::error_policy::<K>,
                    self.ctx.clone(),
                )
                .for_each(|_| futures::future::ready(()))
                .boxed(),
        }
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
