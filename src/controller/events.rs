//! Publishing Kubernetes Events (`events.k8s.io/v1`) about our objects.
//!
//! kube-runtime's `Recorder` folds every Event of the same type, action and reason about
//! one object (within 6 minutes) into the first one's series and keeps the first one's
//! note. Our notes carry facts: a renewed pairing's `PairingCreated` would still show the
//! expired pairing's ID, and of two `RolesAssigned` in one reconcile only the first
//! member would be named. client-go's events/v1 recorder keys a series by the note as
//! well; so does this one: an identical Event repeats as a series (`count`,
//! `lastObservedTime`), an Event with another note is a new Event.

use std::num::NonZeroUsize;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use lru::LruCache;
use parking_lot::Mutex;

use super::digest::{Digest, Digester};
use crate::api::text::{EVENT_NOTE_MAX_BYTES, truncate};

/// The most of the object's name in an Event's name: 253 minus a dot and up to 32 hex
/// digits of the time.
const EVENT_NAME_PREFIX_MAX: usize = 253 - 33;

/// How long an Event may be continued as a series (kube-runtime's and client-go's value).
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);

/// What makes two Events the same occurrence: everything but the time. Only its
/// [`Digest`] is kept (16 bytes instead of its eight strings, the note up to 1 KB: at
/// 4,096 Events remembered, about 2 MiB of the `memory` bench's heap).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct EventKey {
    type_: &'static str,
    action: String,
    reason: String,
    note: Option<String>,
    regarding: RefKey,
    related: Option<RefKey>,
}

/// An object reference without its resourceVersion (which changes at every write).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RefKey {
    api_version: Option<String>,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
}

impl From<&ObjectReference> for RefKey {
    fn from(r: &ObjectReference) -> Self {
        RefKey {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            uid: r.uid.clone(),
        }
    }
}

fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

fn key(ev: &Event, regarding: &ObjectReference) -> EventKey {
    EventKey {
        type_: type_name(ev.type_),
        action: ev.action.clone(),
        reason: ev.reason.clone(),
        note: ev.note.clone(),
        regarding: RefKey::from(regarding),
        related: ev.secondary.as_ref().map(RefKey::from),
    }
}

/// What is kept of an Event sent: enough to continue it as a series (its name, how many
/// times it occurred, when last). Not the Event itself: at 10,000 objects each sending
/// a few Events in six minutes, whole Events were 22 MiB of the `memory` bench's heap
/// (and, kept for the window with no bound on their number, still 12 MiB as this).
#[derive(Clone, Debug, PartialEq)]
struct Sent {
    name: String,
    count: i32,
    last_seen: Timestamp,
}

/// What to write for `ev` at `now`.
#[derive(Debug)]
enum Next {
    /// A new Event.
    Create(Box<K8sEvent>),
    /// The same occurrence seen within [`SERIES_WINDOW`]: its series continued (a merge
    /// patch of `series` only).
    Continue { name: String, series: EventSeries },
}

impl Next {
    /// What to keep once it was written.
    fn sent(&self, now: Timestamp) -> Sent {
        match self {
            Next::Create(event) => Sent {
                name: event.name_any(),
                count: 1,
                last_seen: now,
            },
            Next::Continue { name, series } => Sent {
                name: name.clone(),
                count: series.count,
                last_seen: now,
            },
        }
    }
}

/// The Event to write for `ev` at `now`: the cached one continued as a series when it is
/// the same occurrence seen within [`SERIES_WINDOW`], otherwise a new one.
fn next_event(
    cached: Option<&Sent>,
    ev: &Event,
    regarding: &ObjectReference,
    reporter: &Reporter,
    now: Timestamp,
) -> Next {
    if let Some(previous) = cached.filter(|e| e.last_seen + SERIES_WINDOW > now) {
        return Next::Continue {
            name: previous.name.clone(),
            series: EventSeries {
                count: previous.count.saturating_add(1).max(2),
                last_observed_time: MicroTime(now),
            },
        };
    }
    Next::Create(Box::new(new_event(ev, regarding, reporter, now)))
}

/// A new Event for `ev` at `now`.
fn new_event(
    ev: &Event,
    regarding: &ObjectReference,
    reporter: &Reporter,
    now: Timestamp,
) -> K8sEvent {
    K8sEvent {
        action: Some(ev.action.clone()),
        reason: Some(ev.reason.clone()),
        // The API server refuses a longer note, and with it the Event.
        note: ev
            .note
            .as_deref()
            .map(|n| truncate(n, EVENT_NOTE_MAX_BYTES).into_owned()),
        type_: Some(type_name(ev.type_).to_string()),
        event_time: Some(MicroTime(now)),
        regarding: Some(regarding.clone()),
        related: ev.secondary.clone(),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(
            reporter
                .instance
                .clone()
                .unwrap_or_else(|| reporter.controller.clone()),
        ),
        metadata: ObjectMeta {
            namespace: regarding.namespace.clone(),
            // `<object>.<hex time>` as client-go names them, the object's name cut so
            // the whole stays within the 253 characters of a name.
            name: Some(format!(
                "{}.{:x}",
                truncate(
                    regarding.name.as_deref().unwrap_or(&reporter.controller),
                    EVENT_NAME_PREFIX_MAX
                )
                .trim_end_matches('…'),
                now.as_nanosecond()
            )),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// How many Events are remembered to continue as series: client-go's event correlator
/// keeps as many (`maxLruCacheEntries`). Beyond it the least recently sent is forgotten,
/// and a repeat of it starts a new Event instead of counting on the old one.
const REMEMBERED: NonZeroUsize = NonZeroUsize::new(4096).expect("not zero");

/// Publishes Events, continuing identical ones as series. Shared by all reconciles.
pub(crate) struct EventPublisher {
    client: kube::Client,
    reporter: Reporter,
    recent: Mutex<LruCache<Digest, Sent>>,
    digester: Digester,
}

impl EventPublisher {
    pub(crate) fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            recent: Mutex::new(LruCache::new(REMEMBERED)),
            digester: Digester::new(),
        }
    }

    /// Creates the Event, or continues the series of the same Event published lately.
    pub(crate) async fn publish(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = self.digester.of(&key(ev, regarding));
        let next = {
            let mut recent = self.recent.lock();
            next_event(recent.get(&key), ev, regarding, &self.reporter, now)
        };
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let written = match next {
            Next::Create(event) => api
                .create(&PostParams::default(), &event)
                .await
                .map(|_| Next::Create(event)),
            Next::Continue { name, series } => {
                let patch = serde_json::json!({ "series": series });
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    Ok(_) => Ok(Next::Continue { name, series }),
                    // The Event was deleted meanwhile (TTL or by hand): start a new one.
                    Err(_) => {
                        let fresh = new_event(ev, regarding, &self.reporter, now);
                        api.create(&PostParams::default(), &fresh)
                            .await
                            .map(|_| Next::Create(Box::new(fresh)))
                    }
                }
            }
        };
        let mut recent = self.recent.lock();
        match written {
            Ok(next) => {
                recent.put(key, next.sent(now));
                Ok(())
            }
            Err(error) => {
                recent.pop(&key);
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter() -> Reporter {
        Reporter {
            controller: "orglink-operator".into(),
            instance: None,
        }
    }

    fn regarding() -> ObjectReference {
        ObjectReference {
            api_version: Some("orglink.dev/v1alpha1".into()),
            kind: Some("OrgPairing".into()),
            namespace: Some("team-msp".into()),
            name: Some("into-acme".into()),
            uid: Some("u-1".into()),
            ..Default::default()
        }
    }

    fn event(reason: &str, note: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some(note.into()),
            action: "Reconcile".into(),
            secondary: None,
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn the_note_tells_events_apart() {
        let first = event("PairingCreated", "created pairing p-1");
        let renewed = event("PairingCreated", "created pairing p-2");
        assert_ne!(key(&first, &regarding()), key(&renewed, &regarding()));
        assert_eq!(
            key(&first, &regarding()),
            key(
                &event("PairingCreated", "created pairing p-1"),
                &regarding()
            )
        );
        // As kept: the same for the same occurrence, apart for different ones.
        let digester = Digester::new();
        let kept = |ev: &Event| digester.of(&key(ev, &regarding()));
        assert_ne!(kept(&first), kept(&renewed));
        assert_eq!(
            kept(&first),
            kept(&event("PairingCreated", "created pairing p-1"))
        );
    }

    fn created(next: Next) -> K8sEvent {
        match next {
            Next::Create(e) => *e,
            Next::Continue { .. } => panic!("a series was continued: {next:?}"),
        }
    }

    #[test]
    fn a_new_event_carries_its_own_note() {
        let e = created(next_event(
            None,
            &event("PairingCreated", "created pairing p-2"),
            &regarding(),
            &reporter(),
            at(0),
        ));
        assert_eq!(e.note.as_deref(), Some("created pairing p-2"));
        assert_eq!(e.reason.as_deref(), Some("PairingCreated"));
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        assert_eq!(e.metadata.namespace.as_deref(), Some("team-msp"));
        assert!(e.metadata.name.unwrap().starts_with("into-acme."));
        assert!(e.series.is_none());
    }

    #[test]
    fn long_notes_and_names_are_cut_to_what_the_api_server_accepts() {
        let note = format!("{}\u{1F980}", "x".repeat(1022)); // 1,026 bytes
        let mut long = regarding();
        long.name = Some("n".repeat(253));
        let e = created(next_event(
            None,
            &event("ApiError", &note),
            &long,
            &reporter(),
            at(0),
        ));
        let kept = e.note.unwrap();
        assert!(kept.len() <= EVENT_NOTE_MAX_BYTES, "{}", kept.len());
        assert!(kept.ends_with('…'));
        assert!(e.metadata.name.unwrap().len() <= 253);
    }

    #[test]
    fn a_repeat_within_six_minutes_continues_the_series() {
        let ev = event("ApiError", "GET failed");
        let first = next_event(None, &ev, &regarding(), &reporter(), at(0));
        let name = created(next_event(None, &ev, &regarding(), &reporter(), at(0)))
            .metadata
            .name
            .unwrap();
        let kept = first.sent(at(0));
        assert_eq!((kept.name.as_str(), kept.count), (name.as_str(), 1));
        let second = next_event(Some(&kept), &ev, &regarding(), &reporter(), at(60));
        let Next::Continue { name: same, series } = &second else {
            panic!("{second:?}")
        };
        assert_eq!((same, series.count), (&name, 2));
        assert_eq!(series.last_observed_time.0, at(60));
        let third = next_event(
            Some(&second.sent(at(60))),
            &ev,
            &regarding(),
            &reporter(),
            at(400),
        );
        let Next::Continue { series, .. } = &third else {
            panic!("the window runs from the last occurrence: {third:?}")
        };
        assert_eq!(series.count, 3);
        let late = next_event(
            Some(&third.sent(at(400))),
            &ev,
            &regarding(),
            &reporter(),
            at(800),
        );
        assert!(
            created(late).series.is_none(),
            "a repeat after the window is a new Event"
        );
    }

    #[test]
    fn at_most_as_many_events_as_client_go_are_remembered() {
        let mut recent: LruCache<Digest, Sent> = LruCache::new(REMEMBERED);
        let digester = Digester::new();
        let key = |n: usize| digester.of(&key(&event("ApiError", &format!("n{n}")), &regarding()));
        for n in 0..=REMEMBERED.get() {
            recent.put(
                key(n),
                Sent {
                    name: format!("e{n}"),
                    count: 1,
                    last_seen: at(0),
                },
            );
        }
        assert_eq!(recent.len(), 4096);
        assert!(!recent.contains(&key(0)), "the least recent is forgotten");
        assert!(recent.contains(&key(4096)));
    }
}
