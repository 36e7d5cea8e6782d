//! Who manages which relationship: for every OrgLink and OrgPairing only its namespace,
//! name, organizationRef, peer and side, kept by (namespace, organizationRef, peer,
//! side) and folded from the watch events.
//!
//! Two readers ask it questions that would otherwise scan every cached object:
//! - the webhook, at each review: "does another object already manage this
//!   relationship?" ([`SharedIndex::manager`]);
//! - the controllers, at each reconcile and each wake: "which objects of this org have
//!   that peer?" ([`SharedIndex::with_peer`]) and "which objects does this org have?"
//!   ([`SharedIndex::of_org`]): the peer's side of a link here, the objects a peer's
//!   write or an Organization event concerns.
//!
//! Each is a hash lookup, whatever the number of objects (issue 14: 10,000 OrgLinks made
//! every reconcile and every Organization event walk all 10,000). Holding the projection
//! instead of the objects also keeps the webhook's memory flat.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use kube::runtime::watcher;
use parking_lot::RwLock;
use tokio::sync::watch;

use crate::api::{OrgLink, OrgPairing, Organization};

/// Which object manages a relationship: an OrgLink, or one side of an OrgPairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RelationshipKind {
    Link,
    PairingRequest,
    PairingGrant,
}

impl RelationshipKind {
    const ALL: [RelationshipKind; 3] = [Self::Link, Self::PairingRequest, Self::PairingGrant];
}

/// One organization's relationship of one kind with one peer, in one namespace: at most
/// one object may manage it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Relationship {
    pub(crate) kind: RelationshipKind,
    pub(crate) namespace: String,
    pub(crate) organization_ref: String,
    pub(crate) peer: String,
}

impl Relationship {
    pub(crate) fn new(
        kind: RelationshipKind,
        namespace: &str,
        organization_ref: &str,
        peer: &str,
    ) -> Self {
        Self {
            kind,
            namespace: namespace.to_owned(),
            organization_ref: organization_ref.to_owned(),
            peer: peer.to_owned(),
        }
    }
}

/// What the index keeps of an object: which relationship it manages.
pub(crate) trait Managed {
    /// `(namespace, name)` and the relationship, or `None` for an object without a
    /// namespace or name (never served by the API server; ignored).
    fn managed(&self) -> Option<((String, String), Relationship)>;
}

fn identity(meta: &kube::api::ObjectMeta) -> Option<(String, String)> {
    Some((meta.namespace.clone()?, meta.name.clone()?))
}

impl Managed for OrgLink {
    fn managed(&self) -> Option<((String, String), Relationship)> {
        let id = identity(&self.metadata)?;
        let relationship = Relationship::new(
            RelationshipKind::Link,
            &id.0,
            &self.spec.organization_ref,
            &self.spec.peer.organization_id,
        );
        Some((id, relationship))
    }
}

/// Organizations manage no relationship: their caches are found by key and keep no index.
impl Managed for Organization {
    fn managed(&self) -> Option<((String, String), Relationship)> {
        None
    }
}

impl Managed for OrgPairing {
    fn managed(&self) -> Option<((String, String), Relationship)> {
        let id = identity(&self.metadata)?;
        let kind = if self.spec.request.is_some() {
            RelationshipKind::PairingRequest
        } else {
            RelationshipKind::PairingGrant
        };
        let relationship = Relationship::new(
            kind,
            &id.0,
            &self.spec.organization_ref,
            &self.spec.peer.organization_id,
        );
        Some((id, relationship))
    }
}

/// The objects of one kind (OrgLink or OrgPairing) by the relationship they manage.
#[derive(Debug, Default)]
pub(crate) struct RelationshipIndex {
    /// Names of the objects managing each relationship (one, unless a second slipped in
    /// while the webhook was down), sorted so the answer does not depend on event order.
    managers: HashMap<Arc<Relationship>, BTreeSet<String>>,
    /// What each object manages, to move or drop it on update or delete.
    by_object: HashMap<(String, String), Arc<Relationship>>,
    /// The relationships of each org, by (namespace, organizationRef).
    by_org: HashMap<(String, String), HashSet<Arc<Relationship>>>,
}

impl RelationshipIndex {
    /// An index of `objects`.
    pub(crate) fn of<K: Managed>(objects: impl IntoIterator<Item = K>) -> Self {
        let mut index = Self::default();
        for object in objects {
            index.apply(&object);
        }
        index
    }

    /// Records `object` (new or updated).
    pub(crate) fn apply<K: Managed>(&mut self, object: &K) {
        let Some((id, relationship)) = object.managed() else {
            return;
        };
        if self
            .by_object
            .get(&id)
            .is_some_and(|old| **old == relationship)
        {
            return;
        }
        self.remove_id(&id);
        let relationship = Arc::new(relationship);
        self.by_org
            .entry(org_of(&relationship))
            .or_default()
            .insert(relationship.clone());
        self.managers
            .entry(relationship.clone())
            .or_default()
            .insert(id.1.clone());
        self.by_object.insert(id, relationship);
    }

    /// Forgets `object`.
    pub(crate) fn delete<K: Managed>(&mut self, object: &K) {
        if let Some((id, _)) = object.managed() {
            self.remove_id(&id);
        }
    }

    fn remove_id(&mut self, id: &(String, String)) {
        let Some(old) = self.by_object.remove(id) else {
            return;
        };
        if let Some(names) = self.managers.get_mut(&old) {
            names.remove(&id.1);
            if names.is_empty() {
                self.managers.remove(&old);
                let org = org_of(&old);
                if let Some(relationships) = self.by_org.get_mut(&org) {
                    relationships.remove(&old);
                    if relationships.is_empty() {
                        self.by_org.remove(&org);
                    }
                }
            }
        }
    }

    /// The first (by name) object other than `except` that manages `relationship`.
    pub(crate) fn manager(&self, relationship: &Relationship, except: &str) -> Option<&str> {
        self.managers
            .get(relationship)?
            .iter()
            .map(String::as_str)
            .find(|name| *name != except)
    }

    /// The names of the objects of org `organization_ref` in `namespace` with `peer`,
    /// of every kind (both sides of a pairing), added to `names`.
    fn with_peer(
        &self,
        namespace: &str,
        organization_ref: &str,
        peer: &str,
        names: &mut Vec<String>,
    ) {
        for kind in RelationshipKind::ALL {
            let relationship = Relationship::new(kind, namespace, organization_ref, peer);
            if let Some(found) = self.managers.get(&relationship) {
                names.extend(found.iter().cloned());
            }
        }
    }

    /// The names of all objects of org `organization_ref` in `namespace`, added to `names`.
    fn of_org(&self, namespace: &str, organization_ref: &str, names: &mut Vec<String>) {
        let org = (namespace.to_owned(), organization_ref.to_owned());
        for relationship in self.by_org.get(&org).into_iter().flatten() {
            if let Some(found) = self.managers.get(relationship) {
                names.extend(found.iter().cloned());
            }
        }
    }

    /// How many objects are indexed.
    pub(crate) fn len(&self) -> usize {
        self.by_object.len()
    }
}

/// (namespace, organizationRef) of a relationship.
fn org_of(relationship: &Relationship) -> (String, String) {
    (
        relationship.namespace.clone(),
        relationship.organization_ref.clone(),
    )
}

/// The index of one kind over all watched partitions (one per watched namespace, or one
/// for the cluster); partitions hold disjoint namespaces.
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedIndex {
    partitions: Vec<Arc<RwLock<RelationshipIndex>>>,
}

impl SharedIndex {
    /// A fixed index (benchmarks, tests, dry runs).
    pub(crate) fn fixed(index: RelationshipIndex) -> Self {
        Self {
            partitions: vec![Arc::new(RwLock::new(index))],
        }
    }

    /// Adds an empty partition and returns the writer that keeps it and whether it has
    /// done its first list.
    pub(crate) fn add_partition(&mut self) -> (IndexWriter, watch::Receiver<bool>) {
        let shared = Arc::new(RwLock::new(RelationshipIndex::default()));
        self.partitions.push(shared.clone());
        let (ready, ready_rx) = watch::channel(false);
        (
            IndexWriter {
                shared,
                relist: None,
                ready,
            },
            ready_rx,
        )
    }

    /// See [`RelationshipIndex::manager`].
    pub(crate) fn manager(&self, relationship: &Relationship, except: &str) -> Option<String> {
        self.partitions
            .iter()
            .find_map(|p| p.read().manager(relationship, except).map(str::to_owned))
    }

    /// The names of the objects of org `organization_ref` in `namespace` whose peer is
    /// `peer` (every kind; sorted, each once).
    pub(crate) fn with_peer(
        &self,
        namespace: &str,
        organization_ref: &str,
        peer: &str,
    ) -> Vec<String> {
        let mut names = Vec::new();
        for p in &self.partitions {
            p.read()
                .with_peer(namespace, organization_ref, peer, &mut names);
        }
        names.sort();
        names.dedup();
        names
    }

    /// The names of all objects of org `organization_ref` in `namespace` (sorted, each
    /// once).
    pub(crate) fn of_org(&self, namespace: &str, organization_ref: &str) -> Vec<String> {
        let mut names = Vec::new();
        for p in &self.partitions {
            p.read().of_org(namespace, organization_ref, &mut names);
        }
        names.sort();
        names.dedup();
        names
    }

    /// How many objects are indexed.
    pub(crate) fn len(&self) -> usize {
        self.partitions.iter().map(|p| p.read().len()).sum()
    }
}

/// Folds one partition's watch events into its index, with the reflector's semantics:
/// a (re)list is built aside and replaces the index when complete, so objects deleted
/// while the watch was down disappear and readers never see a half-listed index.
pub(crate) struct IndexWriter {
    shared: Arc<RwLock<RelationshipIndex>>,
    relist: Option<RelationshipIndex>,
    ready: watch::Sender<bool>,
}

impl IndexWriter {
    pub(crate) fn apply<K: Managed>(&mut self, event: &watcher::Event<K>) {
        match event {
            watcher::Event::Init => self.relist = Some(RelationshipIndex::default()),
            watcher::Event::InitApply(object) => {
                if let Some(relist) = &mut self.relist {
                    relist.apply(object);
                }
            }
            watcher::Event::InitDone => {
                if let Some(relist) = self.relist.take() {
                    let old = std::mem::replace(&mut *self.shared.write(), relist);
                    // Dropped outside the lock: freeing a large index takes a while.
                    drop(old);
                }
                self.ready.send_replace(true);
            }
            watcher::Event::Apply(object) => self.shared.write().apply(object),
            watcher::Event::Delete(object) => self.shared.write().delete(object),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PEER: &str = "23cc390c-9354-40e3-8e1f-39485d23d1f3";

    fn link(name: &str, org: &str, peer: &str) -> OrgLink {
        serde_json::from_value(json!({
            "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgLink",
            "metadata": {"name": name, "namespace": "team"},
            "spec": {"organizationRef": org, "peer": {"organizationId": peer, "region": "us-east-1"}}
        }))
        .unwrap()
    }

    fn acme_peer() -> Relationship {
        Relationship::new(RelationshipKind::Link, "team", "acme", PEER)
    }

    #[test]
    fn updates_move_and_deletes_drop_an_object() {
        let mut index = RelationshipIndex::of([link("a", "acme", PEER)]);
        assert_eq!(index.manager(&acme_peer(), "new"), Some("a"));
        assert_eq!(index.manager(&acme_peer(), "a"), None);
        index.apply(&link("a", "other", PEER));
        assert_eq!(index.manager(&acme_peer(), "new"), None);
        index.apply(&link("b", "acme", PEER));
        index.apply(&link("c", "acme", PEER));
        assert_eq!(index.manager(&acme_peer(), "b"), Some("c"));
        index.delete(&link("c", "acme", PEER));
        index.delete(&link("a", "other", PEER));
        assert_eq!(index.manager(&acme_peer(), "new"), Some("b"));
        assert_eq!(index.len(), 1);
    }

    fn pairing(name: &str, org: &str, peer: &str, side: &str) -> OrgPairing {
        let side = match side {
            "request" => json!({"request": {"users": ["6e8c1a52-1f1a-4a4e-9a8b-1c2d3e4f5a6b"]}}),
            _ => json!({"grant": {"pairingId": "7e8c1a52-1f1a-4a4e-9a8b-1c2d3e4f5a6b"}}),
        };
        let mut spec = json!({"organizationRef": org, "peer": {"organizationId": peer, "region": "us-east-1"}});
        spec.as_object_mut()
            .unwrap()
            .extend(side.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgPairing",
            "metadata": {"name": name, "namespace": "team"},
            "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn an_orgs_objects_are_found_by_org_and_by_peer() {
        let mut shared = SharedIndex::default();
        let (mut writer, _) = shared.add_partition();
        for l in [
            link("a", "acme", PEER),
            link("b", "acme", "other-peer"),
            link("c", "globex", PEER),
        ] {
            writer.apply(&watcher::Event::Apply(l));
        }
        assert_eq!(shared.with_peer("team", "acme", PEER), ["a"]);
        assert_eq!(shared.of_org("team", "acme"), ["a", "b"]);
        assert_eq!(shared.of_org("elsewhere", "acme"), Vec::<String>::new());
        // Moved to another org: found there only; deleted: found nowhere.
        writer.apply(&watcher::Event::Apply(link("b", "globex", PEER)));
        assert_eq!(shared.of_org("team", "acme"), ["a"]);
        assert_eq!(shared.with_peer("team", "globex", PEER), ["b", "c"]);
        writer.apply(&watcher::Event::Delete(link("c", "globex", PEER)));
        writer.apply(&watcher::Event::Delete(link("b", "globex", PEER)));
        assert_eq!(shared.of_org("team", "globex"), Vec::<String>::new());
        let org = ("team".to_string(), "globex".to_string());
        assert!(!shared.partitions[0].read().by_org.contains_key(&org));
    }

    #[test]
    fn both_sides_of_a_pairing_are_found_by_peer() {
        let index = RelationshipIndex::of([
            pairing("asks", "acme", PEER, "request"),
            pairing("gives", "acme", PEER, "grant"),
            pairing("else", "acme", "other-peer", "grant"),
        ]);
        let shared = SharedIndex::fixed(index);
        assert_eq!(shared.with_peer("team", "acme", PEER), ["asks", "gives"]);
        assert_eq!(shared.of_org("team", "acme"), ["asks", "else", "gives"]);
    }

    #[test]
    fn a_relist_replaces_the_index_when_done() {
        let mut shared = SharedIndex::default();
        let (mut writer, ready) = shared.add_partition();
        writer.apply(&watcher::Event::<OrgLink>::Init);
        writer.apply(&watcher::Event::InitApply(link("a", "acme", PEER)));
        assert!(!*ready.borrow());
        assert_eq!(shared.manager(&acme_peer(), "new"), None);
        writer.apply(&watcher::Event::<OrgLink>::InitDone);
        assert!(*ready.borrow());
        assert_eq!(shared.manager(&acme_peer(), "new").as_deref(), Some("a"));
        // "a" was deleted while the watch was down: the relist forgets it.
        writer.apply(&watcher::Event::<OrgLink>::Init);
        writer.apply(&watcher::Event::InitApply(link("b", "acme", "other-peer")));
        assert_eq!(shared.manager(&acme_peer(), "new").as_deref(), Some("a"));
        writer.apply(&watcher::Event::<OrgLink>::InitDone);
        assert_eq!(shared.manager(&acme_peer(), "new"), None);
        writer.apply(&watcher::Event::Apply(link("c", "acme", PEER)));
        assert_eq!(shared.manager(&acme_peer(), "new").as_deref(), Some("c"));
        writer.apply(&watcher::Event::Delete(link("c", "acme", PEER)));
        assert_eq!(shared.len(), 1);
    }
}
