//! The OrgLink as the controllers cache it (issue 14, footprint).
//!
//! The controllers keep every OrgLink of the cluster in memory; a reconcile reads its
//! own object whole, but most of a cached object's bytes were its status conditions:
//! four per object (`Ready`, `Linked`, `Reconciling`, `Stalled`), each four owned
//! strings, about 1.1 KB an object of the 1.7 KB it took (17 MiB for 10,000). Yet their
//! type, status and reason come from a vocabulary of a few dozen words (and a few dozen
//! combinations of them), `Reconciling` repeats `Ready`'s message, and `Stalled`'s is one
//! sentence for all objects. Here a condition's type, status and reason are one
//! [`Wording`] and its message an [`Arc<str>`], each shared with every other condition, of
//! this object or any other, that says the same ([`Vocabulary`]): a condition takes 56
//! bytes, not the 96 of four shared strings.
//!
//! Nothing is lost: [`CachedOrgLink::full`] gives a reconcile the `OrgLink` the API server
//! served, less only what no cache keeps ([`trim_for_cache`]).

use std::borrow::{Borrow, Cow};
use std::collections::HashSet;
use std::hash::Hash;
use std::sync::{Arc, LazyLock};

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::Resource;
use kube::api::ObjectMeta;
use parking_lot::Mutex;
use serde::Deserialize;

use crate::api::{LinkDirection, OrgLink, OrgLinkPhase, OrgLinkSpec, OrgLinkStatus};
use crate::runtime::index::{Entry, Managed, link_entry};
use crate::runtime::scope::trim_for_cache;

/// A string shared by every condition that says it.
type Text = Arc<str>;

/// An OrgLink as cached: its metadata (trimmed) and spec as served, its status with
/// shared strings.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "OrgLink")]
pub(crate) struct CachedOrgLink {
    /// Without its uid: kube-runtime copies the metadata's uid into every reference it
    /// keeps of the object (the store's key, the scheduler's two), 48 bytes each.
    pub(crate) metadata: ObjectMeta,
    uid: Option<String>,
    pub(crate) spec: OrgLinkSpec,
    status: Option<CachedStatus>,
}

#[derive(Clone, Debug)]
struct CachedStatus {
    observed_generation: Option<i64>,
    phase: Option<OrgLinkPhase>,
    direction: Option<LinkDirection>,
    peer_name: Option<String>,
    linked_at: Option<Time>,
    observed_attempt: Option<i64>,
    conditions: Box<[CachedCondition]>,
}

#[derive(Clone, Debug)]
struct CachedCondition {
    wording: Arc<Wording>,
    message: Text,
    last_transition_time: Time,
    observed_generation: Option<i64>,
}

impl CachedOrgLink {
    /// `status.phase`.
    pub(crate) fn phase(&self) -> Option<OrgLinkPhase> {
        self.status.as_ref().and_then(|s| s.phase)
    }

    /// `status.observedAttempt`.
    pub(crate) fn observed_attempt(&self) -> Option<i64> {
        self.status.as_ref().and_then(|s| s.observed_attempt)
    }

    /// The OrgLink whole, for a reconcile.
    pub(crate) fn full(&self) -> OrgLink {
        OrgLink {
            metadata: ObjectMeta {
                uid: self.uid.clone(),
                ..self.metadata.clone()
            },
            spec: self.spec.clone(),
            status: self.status.as_ref().map(CachedStatus::full),
        }
    }
}

impl From<OrgLink> for CachedOrgLink {
    fn from(mut link: OrgLink) -> Self {
        trim_for_cache(&mut link);
        Self {
            uid: link.metadata.uid.take(),
            metadata: link.metadata,
            spec: link.spec,
            status: link.status.map(CachedStatus::from),
        }
    }
}

impl From<OrgLinkStatus> for CachedStatus {
    fn from(status: OrgLinkStatus) -> Self {
        let mut said: Vec<Text> = Vec::new();
        let conditions = status
            .conditions
            .into_iter()
            .map(|c| CachedCondition {
                wording: WORDINGS.share(Wording {
                    type_: c.type_,
                    status: c.status,
                    reason: c.reason,
                }),
                message: said_before(&mut said, c.message),
                last_transition_time: c.last_transition_time,
                observed_generation: c.observed_generation,
            })
            .collect();
        Self {
            observed_generation: status.observed_generation,
            phase: status.phase,
            direction: status.direction,
            peer_name: status.peer_name,
            linked_at: status.linked_at,
            observed_attempt: status.observed_attempt,
            conditions,
        }
    }
}

/// `message` as one of this object's messages already holds it, else as the vocabulary
/// holds it.
fn said_before(said: &mut Vec<Text>, message: String) -> Text {
    if let Some(same) = said.iter().find(|m| ***m == *message) {
        return same.clone();
    }
    let text = MESSAGES.share(message);
    said.push(text.clone());
    text
}

impl CachedStatus {
    fn full(&self) -> OrgLinkStatus {
        OrgLinkStatus {
            observed_generation: self.observed_generation,
            phase: self.phase,
            direction: self.direction,
            peer_name: self.peer_name.clone(),
            linked_at: self.linked_at.clone(),
            observed_attempt: self.observed_attempt,
            conditions: self.conditions.iter().map(CachedCondition::full).collect(),
        }
    }
}

impl CachedCondition {
    fn full(&self) -> Condition {
        Condition {
            type_: self.wording.type_.clone(),
            status: self.wording.status.clone(),
            reason: self.wording.reason.clone(),
            message: self.message.to_string(),
            last_transition_time: self.last_transition_time.clone(),
            observed_generation: self.observed_generation,
        }
    }
}

impl Resource for CachedOrgLink {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        OrgLink::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        OrgLink::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        OrgLink::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        OrgLink::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl Managed for CachedOrgLink {
    fn managed(&self) -> Option<Entry<'_>> {
        link_entry(&self.metadata, &self.spec)
    }
}

/// A condition's type, status and reason: what it says, in words of a small vocabulary.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Wording {
    type_: String,
    status: String,
    reason: String,
}

/// Values conditions repeat (their wordings, their messages), each held once.
///
/// Bounded: a status is written by this operator, but anyone allowed to write the status
/// subresource could fill it with words of their own. Past [`Vocabulary::MAX_WORDS`],
/// values no cached object holds any more are dropped (looked for once every
/// `MAX_WORDS` values refused, so a table full of held values costs nothing per value),
/// and a new value that still finds no room is simply not shared.
struct Vocabulary<T: ?Sized> {
    words: Mutex<Words<T>>,
}

struct Words<T: ?Sized> {
    held: HashSet<Arc<T>>,
    refused_since_sweep: usize,
}

static WORDINGS: LazyLock<Vocabulary<Wording>> = LazyLock::new(Vocabulary::new);
static MESSAGES: LazyLock<Vocabulary<str>> = LazyLock::new(Vocabulary::new);

impl<T: ?Sized + Hash + Eq> Vocabulary<T> {
    const MAX_WORDS: usize = 4_096;

    fn new() -> Self {
        Self {
            words: Mutex::new(Words {
                held: HashSet::new(),
                refused_since_sweep: 0,
            }),
        }
    }

    /// `value`, shared with every other holder of the same when there is room.
    fn share<V: Borrow<T> + Into<Arc<T>>>(&self, value: V) -> Arc<T> {
        let mut words = self.words.lock();
        if let Some(held) = words.held.get(value.borrow()) {
            return held.clone();
        }
        let shared: Arc<T> = value.into();
        if words.held.len() >= Self::MAX_WORDS {
            words.refused_since_sweep += 1;
            if words.refused_since_sweep < Self::MAX_WORDS {
                return shared;
            }
            words.refused_since_sweep = 0;
            words.held.retain(|w| Arc::strong_count(w) > 1);
            if words.held.len() >= Self::MAX_WORDS {
                return shared;
            }
        }
        words.held.insert(shared.clone());
        shared
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.words.lock().held.len()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;
    use proptest::prelude::*;

    use super::*;
    use crate::api::{LinkDecision, PeerRef};

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            last_transition_time: Time(Timestamp::from_second(1_700_000_000).unwrap()),
            observed_generation: Some(2),
        }
    }

    fn link(name: &str, conditions: Vec<Condition>) -> OrgLink {
        let mut link = OrgLink::new(
            name,
            OrgLinkSpec {
                organization_ref: "acme".into(),
                peer: PeerRef {
                    organization_id: "23cc390c-9354-40e3-8e1f-39485d23d1f3".into(),
                    region: crate::api::Region::UsEast1,
                },
                decision: LinkDecision::Accept,
                attempt: 0,
            },
        );
        link.metadata.namespace = Some("team-a".into());
        link.metadata.uid = Some("5b0e8e0a-0c3e-4f3c-9d4e-0d1f2a3b4c5d".into());
        link.metadata.resource_version = Some("4711".into());
        link.metadata.finalizers = Some(vec![crate::api::FINALIZER.into()]);
        link.status = Some(OrgLinkStatus {
            observed_generation: Some(2),
            phase: Some(OrgLinkPhase::WaitingForConfirmation),
            direction: Some(LinkDirection::Outgoing),
            peer_name: Some("Peer Org".into()),
            linked_at: None,
            observed_attempt: Some(0),
            conditions,
        });
        link
    }

    fn waiting(peer: &str) -> Vec<Condition> {
        let message =
            format!("link request sent to organization {peer}; waiting for it to approve");
        vec![
            condition("Ready", "False", "WaitingForConfirmation", &message),
            condition("Linked", "False", "WaitingForConfirmation", &message),
            condition("Reconciling", "True", "WaitingForConfirmation", &message),
            condition(
                "Stalled",
                "False",
                "WaitingForConfirmation",
                "the controller keeps working toward the spec (see Reconciling)",
            ),
        ]
    }

    #[test]
    fn a_cached_link_gives_back_the_link_as_served() {
        let served = link("l1", waiting("p1"));
        assert_eq!(CachedOrgLink::from(served.clone()).full(), served);
        let bare = OrgLink {
            status: None,
            ..served.clone()
        };
        assert_eq!(CachedOrgLink::from(bare.clone()).full(), bare);
    }

    #[test]
    fn references_to_a_cached_link_carry_no_uid_but_the_link_does() {
        let cached = CachedOrgLink::from(link("l1", waiting("p1")));
        let reference = kube::runtime::reflector::ObjectRef::from_obj(&cached);
        assert_eq!(reference.extra.uid, None);
        assert_eq!(reference.name, "l1");
        assert_eq!(
            cached.full().metadata.uid.as_deref(),
            Some("5b0e8e0a-0c3e-4f3c-9d4e-0d1f2a3b4c5d")
        );
    }

    #[test]
    fn what_no_cache_keeps_is_dropped_on_the_way_in() {
        let mut served = link("l1", waiting("p1"));
        served.metadata.managed_fields = Some(vec![Default::default()]);
        served.metadata.annotations = Some(
            [
                (
                    "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                    "{}".to_string(),
                ),
                ("keep".to_string(), "me".to_string()),
            ]
            .into(),
        );
        let full = CachedOrgLink::from(served).full();
        assert_eq!(full.metadata.managed_fields, None);
        assert_eq!(
            full.metadata.annotations,
            Some([("keep".to_string(), "me".to_string())].into())
        );
    }

    #[test]
    fn conditions_share_their_words_and_messages() {
        let a = CachedOrgLink::from(link("a", waiting("p1")));
        let b = CachedOrgLink::from(link("b", waiting("p2")));
        let (ca, cb) = (
            &a.status.as_ref().unwrap().conditions,
            &b.status.as_ref().unwrap().conditions,
        );
        // Within an object: Ready, Linked and Reconciling say the same message.
        assert!(Arc::ptr_eq(&ca[0].message, &ca[1].message));
        assert!(Arc::ptr_eq(&ca[0].message, &ca[2].message));
        // Across objects: the vocabulary and Stalled's sentence.
        assert!(Arc::ptr_eq(&ca[0].wording, &cb[0].wording));
        assert!(Arc::ptr_eq(&ca[3].wording, &cb[3].wording));
        assert!(!Arc::ptr_eq(&ca[0].wording, &ca[1].wording));
        assert!(Arc::ptr_eq(&ca[3].message, &cb[3].message));
        assert!(!Arc::ptr_eq(&ca[0].message, &cb[0].message));
    }

    #[test]
    fn the_vocabulary_stays_bounded_and_forgets_words_no_one_holds() {
        let vocabulary = Vocabulary::<str>::new();
        let max = Vocabulary::<str>::MAX_WORDS;
        // Words someone keeps fill it; a word beyond is not shared, but still right.
        let kept: Vec<Text> = (0..max)
            .map(|i| vocabulary.share(format!("w{i}")))
            .collect();
        let extra = vocabulary.share(String::from("extra"));
        assert_eq!(&*extra, "extra");
        assert_eq!(vocabulary.len(), max);
        drop(kept);
        // Once they are let go, a sweep makes room again.
        let mut shared = None;
        for i in 0..=max {
            shared = Some(vocabulary.share(format!("new{i}")));
        }
        assert!(vocabulary.len() <= max);
        let again = vocabulary.share(format!("new{max}"));
        assert!(Arc::ptr_eq(&again, shared.as_ref().unwrap()));
    }

    fn any_condition() -> impl Strategy<Value = Condition> {
        (
            prop::sample::select(vec!["Ready", "Linked", "Reconciling", "Stalled", "X"]),
            prop::sample::select(vec!["True", "False", "Unknown"]),
            // Few distinct words: the vocabulary is the process's, shared with the
            // other tests here, which must find room in it.
            prop::sample::select(vec!["", "Linked", "WaitingForConfirmation", "Ünïcode"]),
            prop::sample::select(vec!["", "waiting", "the same \"quoted\" text", "日本語 ✓"]),
            0i64..2_000_000_000,
            prop::option::of(0i64..10),
        )
            .prop_map(|(t, s, r, m, at, g)| Condition {
                type_: t.into(),
                status: s.into(),
                reason: r.into(),
                message: m.into(),
                last_transition_time: Time(Timestamp::from_second(at).unwrap()),
                observed_generation: g,
            })
    }

    proptest! {
        #[test]
        fn any_status_comes_back_as_it_went_in(
            conditions in prop::collection::vec(any_condition(), 0..6),
            peer_name in prop::option::of(".{0,20}"), // not a shared word
            attempt in prop::option::of(0i64..5),
        ) {
            let mut served = link("l", conditions);
            let status = served.status.as_mut().unwrap();
            status.peer_name = peer_name;
            status.observed_attempt = attempt;
            prop_assert_eq!(CachedOrgLink::from(served.clone()).full(), served);
        }
    }
}
