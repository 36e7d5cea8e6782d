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

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::ObjectMeta;
use kube::runtime::watcher;
use parking_lot::RwLock;
use tokio::sync::watch;

use crate::api::{OrgLink, OrgLinkSpec, OrgPairing, Organization};

/// Which object manages a relationship: an OrgLink, or one side of an OrgPairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum RelationshipKind {
    Link,
    PairingRequest,
    PairingGrant,
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

/// What the index keeps of an object, borrowed from it: who it is and which relationship
/// it manages.
pub(crate) struct Entry<'a> {
    namespace: &'a str,
    name: &'a str,
    kind: RelationshipKind,
    organization_ref: &'a str,
    peer: &'a str,
}

impl<'a> Entry<'a> {
    /// The entry of an object with `meta`, or `None` without a namespace or name.
    pub(crate) fn new(
        meta: &'a ObjectMeta,
        kind: RelationshipKind,
        organization_ref: &'a str,
        peer: &'a str,
    ) -> Option<Self> {
        Some(Entry {
            namespace: meta.namespace.as_deref()?,
            name: meta.name.as_deref()?,
            kind,
            organization_ref,
            peer,
        })
    }
}

/// What the index keeps of an object: which relationship it manages.
pub(crate) trait Managed {
    /// The object's entry, or `None` for an object without a namespace or name (never
    /// served by the API server; ignored).
    fn managed(&self) -> Option<Entry<'_>>;
}

/// The entry of an OrgLink, whole or as the controllers cache it.
pub(crate) fn link_entry<'a>(meta: &'a ObjectMeta, spec: &'a OrgLinkSpec) -> Option<Entry<'a>> {
    Entry::new(
        meta,
        RelationshipKind::Link,
        &spec.organization_ref,
        &spec.peer.organization_id,
    )
}

impl Managed for OrgLink {
    fn managed(&self) -> Option<Entry<'_>> {
        link_entry(&self.metadata, &self.spec)
    }
}

/// Organizations manage no relationship: their caches are found by key and keep no index.
impl Managed for Organization {
    fn managed(&self) -> Option<Entry<'_>> {
        None
    }
}

impl Managed for OrgPairing {
    fn managed(&self) -> Option<Entry<'_>> {
        let kind = if self.spec.request.is_some() {
            RelationshipKind::PairingRequest
        } else {
            RelationshipKind::PairingGrant
        };
        Entry::new(
            &self.metadata,
            kind,
            &self.spec.organization_ref,
            &self.spec.peer.organization_id,
        )
    }
}

/// A string the index holds once however many entries name it: an org's namespace,
/// organizationRef and peer IDs repeat across its objects, and an object's name is both
/// a key and an answer.
type Text = Arc<str>;

/// The objects of one org with one peer, as (kind, name), sorted: one, unless a second
/// slipped in while the webhook was down, or the two sides of a pairing.
type PeerObjects = Vec<(RelationshipKind, Text)>;

/// What one object manages, to move or drop it on update or delete.
#[derive(Debug)]
struct Managing {
    kind: RelationshipKind,
    organization_ref: Text,
    peer: Text,
}

/// The objects of one kind (OrgLink or OrgPairing) by the relationship they manage.
///
/// About 300 bytes an object (issue 14: the first version, with a relationship of three
/// owned strings, a set per relationship and tuple keys, held about 600, in the webhook
/// and in the controllers alike).
#[derive(Debug, Default)]
pub(crate) struct RelationshipIndex {
    /// namespace → organizationRef → peer → the objects with that peer.
    orgs: HashMap<Text, HashMap<Text, HashMap<Text, PeerObjects>>>,
    /// namespace → name → what the object manages.
    objects: HashMap<Text, HashMap<Text, Managing>>,
    len: usize,
}

/// `text` as held in `map`'s keys, or new.
fn intern<V>(map: &HashMap<Text, V>, text: &str) -> Text {
    map.get_key_value(text)
        .map_or_else(|| Text::from(text), |(held, _)| held.clone())
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
        let Some(e) = object.managed() else {
            return;
        };
        let held = self.objects.get(e.namespace).and_then(|o| o.get(e.name));
        if held.is_some_and(|old| {
            old.kind == e.kind
                && *old.organization_ref == *e.organization_ref
                && *old.peer == *e.peer
        }) {
            return;
        }
        self.remove(e.namespace, e.name);
        let namespace = intern(&self.orgs, e.namespace);
        let of_namespace = self.orgs.entry(namespace.clone()).or_default();
        let organization_ref = intern(of_namespace, e.organization_ref);
        let peers = of_namespace.entry(organization_ref.clone()).or_default();
        let peer = intern(peers, e.peer);
        let name = Text::from(e.name);
        let with_peer = peers.entry(peer.clone()).or_default();
        let at = with_peer
            .binary_search_by(|(kind, n)| (*kind, &**n).cmp(&(e.kind, e.name)))
            .unwrap_or_else(|at| at);
        // Exactly as long as needed: almost every (org, peer) has one object, and a
        // first insert would reserve four (72 bytes more each, 10,000 times over).
        with_peer.reserve_exact(1);
        with_peer.insert(at, (e.kind, name.clone()));
        let managing = Managing {
            kind: e.kind,
            organization_ref,
            peer,
        };
        self.objects
            .entry(namespace)
            .or_default()
            .insert(name, managing);
        self.len += 1;
    }

    /// Forgets `object`.
    pub(crate) fn delete<K: Managed>(&mut self, object: &K) {
        if let Some(e) = object.managed() {
            self.remove(e.namespace, e.name);
        }
    }

    /// Forgets object `name` in `namespace`, and every map it leaves empty.
    fn remove(&mut self, namespace: &str, name: &str) {
        let Some(of_namespace) = self.objects.get_mut(namespace) else {
            return;
        };
        let Some(old) = of_namespace.remove(name) else {
            return;
        };
        if of_namespace.is_empty() {
            self.objects.remove(namespace);
        }
        self.len -= 1;
        let Some(orgs) = self.orgs.get_mut(namespace) else {
            return;
        };
        if let Some(peers) = orgs.get_mut(&old.organization_ref) {
            if let Some(with_peer) = peers.get_mut(&old.peer) {
                with_peer.retain(|(kind, n)| !(*kind == old.kind && &**n == name));
                if with_peer.is_empty() {
                    peers.remove(&old.peer);
                }
            }
            if peers.is_empty() {
                orgs.remove(&old.organization_ref);
            }
        }
        if orgs.is_empty() {
            self.orgs.remove(namespace);
        }
    }

    /// The peers of org `organization_ref` in `namespace`.
    fn peers(
        &self,
        namespace: &str,
        organization_ref: &str,
    ) -> Option<&HashMap<Text, PeerObjects>> {
        self.orgs.get(namespace)?.get(organization_ref)
    }

    /// The first (by name) object other than `except` that manages `relationship`.
    pub(crate) fn manager(&self, relationship: &Relationship, except: &str) -> Option<&str> {
        self.peers(&relationship.namespace, &relationship.organization_ref)?
            .get(relationship.peer.as_str())?
            .iter()
            .filter(|(kind, _)| *kind == relationship.kind)
            .map(|(_, name)| &**name)
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
        let found = self
            .peers(namespace, organization_ref)
            .and_then(|peers| peers.get(peer));
        names.extend(found.into_iter().flatten().map(|(_, n)| n.to_string()));
    }

    /// The names of all objects of org `organization_ref` in `namespace`, added to `names`.
    fn of_org(&self, namespace: &str, organization_ref: &str, names: &mut Vec<String>) {
        let peers = self
            .peers(namespace, organization_ref)
            .into_iter()
            .flatten();
        names.extend(peers.flat_map(|(_, o)| o.iter().map(|(_, n)| n.to_string())));
    }

    /// How many objects are indexed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
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
    fn an_org_and_peer_with_one_object_hold_room_for_one() {
        let index = RelationshipIndex::of([link("a", "acme", PEER)]);
        let with_peer = &index.orgs["team"]["acme"][PEER];
        assert_eq!((with_peer.len(), with_peer.capacity()), (1, 1));
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
        let index = shared.partitions[0].read();
        assert!(index.peers("team", "globex").is_none());
        assert!(!index.objects["team"].contains_key("b"));
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

    proptest::proptest! {
        /// After any sequence of applies and deletes, the index answers as a scan of the
        /// objects left would, and holds nothing of the objects gone.
        #[test]
        fn answers_as_a_scan_of_the_objects_would(
            ops in proptest::collection::vec((0..5usize, 0..3usize, 0..3usize, proptest::bool::ANY), 0..40)
        ) {
            let (names, orgs, peers) = (["a", "b", "c", "d", "e"], ["acme", "globex", "initech"], ["p1", "p2", "p3"]);
            let mut index = RelationshipIndex::default();
            let mut model: HashMap<&str, (&str, &str)> = HashMap::new();
            for (n, o, p, keep) in ops {
                let object = link(names[n], orgs[o], peers[p]);
                if keep {
                    index.apply(&object);
                    model.insert(names[n], (orgs[o], peers[p]));
                } else {
                    index.delete(&object);
                    model.remove(names[n]);
                }
            }
            let shared = SharedIndex::fixed(index);
            proptest::prop_assert_eq!(shared.len(), model.len());
            for org in orgs {
                let mut of_org: Vec<String> = model.iter().filter(|(_, (o, _))| *o == org).map(|(n, _)| n.to_string()).collect();
                of_org.sort();
                proptest::prop_assert_eq!(shared.of_org("team", org), of_org.clone());
                for peer in peers {
                    let with: Vec<String> = of_org.iter().filter(|n| model[n.as_str()].1 == peer).cloned().collect();
                    proptest::prop_assert_eq!(shared.with_peer("team", org, peer), with.clone());
                    let relationship = Relationship::new(RelationshipKind::Link, "team", org, peer);
                    for except in names {
                        let first = with.iter().find(|n| *n != except).cloned();
                        proptest::prop_assert_eq!(shared.manager(&relationship, except), first);
                    }
                }
            }
            let index = shared.partitions[0].read();
            let held: usize = index.orgs.values().flat_map(|o| o.values()).flat_map(|p| p.values()).map(Vec::len).sum();
            proptest::prop_assert_eq!(held, model.len());
            proptest::prop_assert!(index.orgs.values().all(|o| !o.is_empty() && o.values().all(|p| !p.is_empty())));
        }
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
