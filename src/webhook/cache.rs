//! The webhook's read-only view of the cluster: reflector caches of Organizations,
//! OrgLinks and OrgPairings. The webhook runs on every replica (standbys too), so it
//! keeps caches of its own instead of borrowing the leader's controllers'.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::rules::ClusterView;
use crate::api::{OrgLink, OrgPairing, Organization};
use crate::controller::scope::{Scope, Stores};

/// The three caches and whether they have all done their first list.
#[derive(Clone)]
pub struct CacheView {
    organizations: Stores<Organization>,
    links: Stores<OrgLink>,
    pairings: Stores<OrgPairing>,
    ready: Arc<AtomicBool>,
}

impl CacheView {
    /// Starts the watches (on the current runtime) for `scope`, until `shutdown`.
    pub fn start(client: kube::Client, scope: &Scope, shutdown: CancellationToken) -> Self {
        let organizations = Stores::new(start_kind::<Organization>(&client, scope, &shutdown));
        let links = Stores::new(start_kind::<OrgLink>(&client, scope, &shutdown));
        let pairings = Stores::new(start_kind::<OrgPairing>(&client, scope, &shutdown));
        let ready = Arc::new(AtomicBool::new(false));
        {
            let (o, l, p, ready) = (
                organizations.clone(),
                links.clone(),
                pairings.clone(),
                ready.clone(),
            );
            tokio::spawn(async move {
                o.wait_until_ready().await;
                l.wait_until_ready().await;
                p.wait_until_ready().await;
                ready.store(true, Ordering::Release);
                tracing::info!("webhook caches synced");
            });
        }
        Self {
            organizations,
            links,
            pairings,
            ready,
        }
    }

    /// A view over fixed objects, already synced (benchmarks, tests, dry runs).
    pub fn from_objects(
        organizations: Vec<Organization>,
        links: Vec<OrgLink>,
        pairings: Vec<OrgPairing>,
    ) -> Self {
        Self {
            organizations: Stores::new(vec![fixed_store(organizations)]),
            links: Stores::new(vec![fixed_store(links)]),
            pairings: Stores::new(vec![fixed_store(pairings)]),
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The view, once the caches are synced.
    pub fn view(&self) -> Option<&dyn ClusterView> {
        self.ready
            .load(Ordering::Acquire)
            .then_some(self as &dyn ClusterView)
    }
}

fn fixed_store<K>(objects: Vec<K>) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for object in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(object));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    reader
}

fn start_kind<K>(
    client: &kube::Client,
    scope: &Scope,
    shutdown: &CancellationToken,
) -> Vec<Store<K>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    scope
        .partitions()
        .into_iter()
        .map(|partition| {
            let api: Api<K> = match &partition {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let (reader, writer) = reflector::store();
            let stream = watcher(api, watcher::Config::default().any_semantic())
                .default_backoff()
                .modify(|o: &mut K| {
                    // Only spec and identity are needed; keep memory flat.
                    o.meta_mut().managed_fields = None;
                })
                .reflect(writer)
                .applied_objects();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                futures::pin_mut!(stream);
                loop {
                    let event = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        event = stream.next() => event,
                    };
                    match event {
                        None => return,
                        Some(Err(error)) => {
                            tracing::warn!(%error, kind = K::kind(&()).as_ref(), "webhook watch error")
                        }
                        Some(Ok(_)) => {}
                    }
                }
            });
            reader
        })
        .collect()
}

impl ClusterView for CacheView {
    fn organization(&self, namespace: &str, name: &str) -> Option<Organization> {
        self.organizations
            .get(&ObjectRef::new(name).within(namespace))
            .map(|o| o.as_ref().clone())
    }

    fn links(&self, namespace: &str) -> Vec<OrgLink> {
        self.links
            .state()
            .into_iter()
            .filter(|l| l.namespace().as_deref() == Some(namespace))
            .map(|l| l.as_ref().clone())
            .collect()
    }

    fn pairings(&self, namespace: &str) -> Vec<OrgPairing> {
        self.pairings
            .state()
            .into_iter()
            .filter(|p| p.namespace().as_deref() == Some(namespace))
            .map(|p| p.as_ref().clone())
            .collect()
    }
}
