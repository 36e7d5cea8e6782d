//! The webhook's read-only view of the cluster: a reflector cache of Organizations and
//! an index of OrgLinks and OrgPairings by the relationship they manage (see
//! [`crate::runtime::index`]). The webhook runs on every replica (standbys too), so it keeps
//! caches of its own instead of borrowing the leader's controllers'.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::rules::{ClusterView, Relationship, RelationshipKind};
use crate::api::{OrgLink, OrgPairing, Organization};
use crate::runtime::index::{Managed, RelationshipIndex, SharedIndex};
use crate::runtime::scope::{Scope, Stores};

/// The caches and whether they have all done their first list.
#[derive(Clone)]
pub struct CacheView {
    organizations: Stores<Organization>,
    links: SharedIndex,
    pairings: SharedIndex,
    ready: Arc<AtomicBool>,
}

impl CacheView {
    /// Starts the watches (on the current runtime) for `scope`, until `shutdown`.
    pub fn start(client: kube::Client, scope: &Scope, shutdown: CancellationToken) -> Self {
        let organizations = Stores::new(start_organizations(&client, scope, &shutdown));
        let (links, links_ready) = start_index::<OrgLink>(&client, scope, &shutdown);
        let (pairings, pairings_ready) = start_index::<OrgPairing>(&client, scope, &shutdown);
        let ready = Arc::new(AtomicBool::new(false));
        {
            let (o, ready) = (organizations.clone(), ready.clone());
            tokio::spawn(async move {
                o.wait_until_ready().await;
                for mut listed in links_ready.into_iter().chain(pairings_ready) {
                    if listed.wait_for(|done| *done).await.is_err() {
                        return; // shut down before the first list
                    }
                }
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

    /// A view over fixed objects, already synced (benchmarks, tests, dry runs), kept as
    /// the watches keep them (so the rules' tests run on trimmed Organizations).
    pub fn from_objects(
        mut organizations: Vec<Organization>,
        links: Vec<OrgLink>,
        pairings: Vec<OrgPairing>,
    ) -> Self {
        organizations.iter_mut().for_each(trim_organization);
        Self {
            organizations: Stores::new(vec![fixed_store(organizations)]),
            links: SharedIndex::fixed(RelationshipIndex::of(links)),
            pairings: SharedIndex::fixed(RelationshipIndex::of(pairings)),
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The view, once the caches are synced.
    pub(crate) fn view(&self) -> Option<&dyn ClusterView> {
        self.ready
            .load(Ordering::Acquire)
            .then_some(self as &dyn ClusterView)
    }

    /// How many OrgLinks and OrgPairings are indexed.
    pub fn indexed(&self) -> (usize, usize) {
        (self.links.len(), self.pairings.len())
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

/// Keeps of an Organization only what the rules read: its spec, and of its status the
/// org ID and linkable regions. Its lists of links and trusts (one entry per peer: 20 KB
/// for an org with 100 peers) are dropped.
fn trim_organization(org: &mut Organization) {
    crate::runtime::scope::trim_for_cache(org);
    if let Some(status) = org.status.as_mut() {
        status.linked_organizations = Vec::new();
        status.pending_outgoing_links = Vec::new();
        status.pending_incoming_links = Vec::new();
        status.trustees = Vec::new();
        status.trustors = Vec::new();
        status.conditions = Vec::new();
    }
}

fn start_organizations(
    client: &kube::Client,
    scope: &Scope,
    shutdown: &CancellationToken,
) -> Vec<Store<Organization>> {
    scope
        .partitions()
        .into_iter()
        .map(|partition| {
            let api: Api<Organization> = match &partition {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            let (reader, writer) = reflector::store();
            let stream = watcher(api, watcher::Config::default().any_semantic())
                .default_backoff()
                .modify(trim_organization)
                .reflect(writer)
                .applied_objects();
            drive(Organization::kind(&()), stream, shutdown.clone(), |_| {});
            reader
        })
        .collect()
}

/// Watches `K` in every partition of `scope` and folds the events into an index; the
/// receivers turn true once each partition has done its first list.
fn start_index<K>(
    client: &kube::Client,
    scope: &Scope,
    shutdown: &CancellationToken,
) -> (SharedIndex, Vec<watch::Receiver<bool>>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Managed
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let mut index = SharedIndex::default();
    let mut ready = Vec::new();
    for partition in scope.partitions() {
        let api: Api<K> = match &partition {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let (mut writer, listed) = index.add_partition();
        ready.push(listed);
        let stream = watcher(api, watcher::Config::default().any_semantic()).default_backoff();
        drive(K::kind(&()), stream, shutdown.clone(), move |event| {
            writer.apply(&event)
        });
    }
    (index, ready)
}

impl ClusterView for CacheView {
    fn organization(&self, namespace: &str, name: &str) -> Option<Arc<Organization>> {
        self.organizations
            .get(&ObjectRef::new(name).within(namespace))
    }

    fn manager(&self, relationship: &Relationship, except: &str) -> Option<String> {
        match relationship.kind {
            RelationshipKind::Link => self.links.manager(relationship, except),
            RelationshipKind::PairingRequest | RelationshipKind::PairingGrant => {
                self.pairings.manager(relationship, except)
            }
        }
    }
}

/// Runs a watch stream on its own task until it ends or `shutdown`, handing each event to
/// `on_event` and logging errors (the watcher's backoff retries them).
fn drive<T, S>(
    kind: std::borrow::Cow<'static, str>,
    stream: S,
    shutdown: CancellationToken,
    mut on_event: impl FnMut(T) + Send + 'static,
) where
    S: futures::Stream<Item = Result<T, watcher::Error>> + Send + 'static,
    T: Send + 'static,
{
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
                    tracing::warn!(%error, kind = kind.as_ref(), "webhook watch error")
                }
                Some(Ok(event)) => on_event(event),
            }
        }
    });
}
