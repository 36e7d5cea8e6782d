//! What the operator watches: every namespace, or a list of them (`--namespace a,b`).
//!
//! A list is served by one set of controllers per namespace sharing one
//! [`Context`](crate::controller::Context), and the webhook keeps one cache per namespace
//! too: a reflector over several namespaces' watch streams
//! cannot be one store, since each stream's re-list replaces the whole store. So the
//! lookups go through [`Stores`] (all the per-namespace caches) and wake-ups through
//! [`Wakers`] (routed to the controller of the object's namespace). The OrgLink and
//! OrgPairing caches carry an [`index`](super::index) beside them, so that finding an
//! org's objects, or those with one peer, does not walk the whole cache.

use std::collections::HashMap;
use std::sync::Arc;

use futures::channel::mpsc::UnboundedSender;
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};

use super::index::SharedIndex;

/// The annotation `kubectl apply` (client-side, and Argo CD by default) writes: the whole
/// object as last applied, as JSON.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops from a cached object what no reconcile or review reads and what is often
/// larger than the rest of it: `managedFields` (one entry per manager: the user's apply,
/// our finalizer, our status) and `kubectl apply`'s copy of the whole object.
pub(crate) fn trim_for_cache<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// Namespaces watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespaces(Vec<String>),
}

impl Scope {
    /// From `--namespace`: empty means all; otherwise a comma-separated list.
    pub fn parse(flag: Option<&str>) -> Self {
        let list: Vec<String> = flag
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if list.is_empty() {
            Scope::All
        } else {
            Scope::Namespaces(list)
        }
    }

    /// `None` for all namespaces, else each namespace.
    pub(crate) fn partitions(&self) -> Vec<Option<String>> {
        match self {
            Scope::All => vec![None],
            Scope::Namespaces(list) => list.iter().cloned().map(Some).collect(),
        }
    }
}

/// The read-only caches of one kind, one per watched partition, and (for OrgLinks and
/// OrgPairings) their index by org and peer.
pub struct Stores<K: Resource<DynamicType = ()> + Clone + 'static> {
    stores: Vec<Store<K>>,
    index: SharedIndex,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Clone for Stores<K> {
    fn clone(&self) -> Self {
        Self {
            stores: self.stores.clone(),
            index: self.index.clone(),
        }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Stores<K> {
    /// Caches without an index: [`Self::with_peer`] and [`Self::of_org`] find nothing
    /// (Organizations, found by their key).
    pub(crate) fn new(stores: Vec<Store<K>>) -> Self {
        Self::indexed(stores, SharedIndex::default())
    }

    /// Caches with the index kept from the same watch events.
    pub(crate) fn indexed(stores: Vec<Store<K>>, index: SharedIndex) -> Self {
        Self { stores, index }
    }

    /// The objects of org `organization_ref` in `namespace` with peer org `peer`.
    pub(crate) fn with_peer(
        &self,
        namespace: &str,
        organization_ref: &str,
        peer: &str,
    ) -> Vec<Arc<K>> {
        self.named(
            namespace,
            self.index.with_peer(namespace, organization_ref, peer),
        )
    }

    /// The objects of org `organization_ref` in `namespace`.
    pub(crate) fn of_org(&self, namespace: &str, organization_ref: &str) -> Vec<Arc<K>> {
        self.named(namespace, self.index.of_org(namespace, organization_ref))
    }

    /// The cached objects of these names (the index is updated just before the cache,
    /// so a name may briefly have no object yet, or one already gone: left out).
    fn named(&self, namespace: &str, names: Vec<String>) -> Vec<Arc<K>> {
        names
            .into_iter()
            .filter_map(|name| self.get(&ObjectRef::new(&name).within(namespace)))
            .collect()
    }

    pub(crate) fn get(&self, key: &ObjectRef<K>) -> Option<Arc<K>> {
        self.stores.iter().find_map(|s| s.get(key))
    }

    pub(crate) fn state(&self) -> Vec<Arc<K>> {
        self.stores.iter().flat_map(|s| s.state()).collect()
    }

    /// Waits until every cache has done its first list.
    pub(crate) async fn wait_until_ready(&self) {
        for store in &self.stores {
            let _ = store.wait_until_ready().await;
        }
    }
}

/// Senders that make a controller reconcile an object now.
pub struct Wakers<K: Resource<DynamicType = ()>> {
    by_partition: HashMap<Option<String>, UnboundedSender<ObjectRef<K>>>,
}

impl<K: Resource<DynamicType = ()>> Wakers<K> {
    pub(crate) fn new(
        by_partition: HashMap<Option<String>, UnboundedSender<ObjectRef<K>>>,
    ) -> Self {
        Self { by_partition }
    }

    /// Wakes `obj` (as cached or whole) through the controller that watches its
    /// namespace.
    pub(crate) fn wake<R: Resource>(&self, obj: &R) {
        let meta = obj.meta();
        let mut target = ObjectRef::new(meta.name.as_deref().unwrap_or_default());
        target.namespace = meta.namespace.clone();
        self.wake_ref(target);
    }

    /// Wakes the object `target` refers to.
    pub(crate) fn wake_ref(&self, target: ObjectRef<K>) {
        let sender = self
            .by_partition
            .get(&target.namespace)
            .or_else(|| self.by_partition.get(&None));
        if let Some(sender) = sender {
            let _ = sender.unbounded_send(target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_namespace_flag() {
        assert_eq!(Scope::parse(None), Scope::All);
        assert_eq!(Scope::parse(Some("")), Scope::All);
        assert_eq!(
            Scope::parse(Some("team-a, team-b,")),
            Scope::Namespaces(vec!["team-a".into(), "team-b".into()])
        );
        assert_eq!(
            Scope::parse(Some("x")).partitions(),
            vec![Some("x".to_string())]
        );
    }

    #[test]
    fn a_cached_object_keeps_our_annotations_but_not_kubectls_copy_or_managed_fields() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
        let mut link = crate::api::OrgLink::new(
            "to-dr",
            serde_json::from_value(serde_json::json!({
                "organizationRef": "acme",
                "peer": {"organizationId": "00000000-0000-0000-0000-000000000001", "region": "us-east-1"}
            }))
            .unwrap(),
        );
        link.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
        link.metadata.annotations = Some(
            [
                (
                    LAST_APPLIED.to_string(),
                    "{\"whole\":\"object\"}".to_string(),
                ),
                ("orglink.dev/on-delete".to_string(), "orphan".to_string()),
            ]
            .into(),
        );
        trim_for_cache(&mut link);
        assert_eq!(link.metadata.managed_fields, None);
        let kept: Vec<&String> = link.metadata.annotations.as_ref().unwrap().keys().collect();
        assert_eq!(kept, ["orglink.dev/on-delete"]);
    }
}
