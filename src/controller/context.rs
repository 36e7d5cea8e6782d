//! What every reconcile shares: the kube client, the per-org Genesys sessions, the
//! read-only caches of the three kinds, metrics, the Event recorder, and the channels
//! that wake a locally managed peer at once (fast handshakes).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::Resource;
use kube::api::DynamicObject;
use kube::runtime::events::{Event, EventType, Reporter};
use kube::runtime::reflector::ObjectRef;
use parking_lot::Mutex;

use super::cached_link::CachedOrgLink;
use super::events::EventPublisher;
use super::metrics::Metrics;
use super::sessions::{OrgKey, Parts, Sessions};
use super::slots::{SlotLimits, Slots};
use crate::genesys::SharedHttp;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{is_true, types};
use crate::api::{LinkDecision, OrgLinkPhase, OrgLinkStatus, OrgPairing, Organization};
use crate::genesys::{ApiBaseUrlAllowlist, RateLimitConfig, RetryConfig};
use crate::lifecycle::link::{LocalPeer, leave_request_to_peer, will_request as will_request_link};
use crate::lifecycle::observe;
use crate::runtime::scope::{Stores, Wakers};

/// The field manager of every status the operator writes.
pub(crate) const FIELD_MANAGER: &str = "orglink-operator";

/// Tunables of the controllers.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// How soon to look again while waiting on a peer or after a change.
    pub(crate) soon: Duration,
    /// First retry after an error; doubles per consecutive failure.
    pub(crate) error_backoff: Duration,
    /// Cap of the error backoff.
    pub(crate) max_error_backoff: Duration,
    /// Client-side rate limit per org.
    pub(crate) rate_limit: RateLimitConfig,
    /// Retries of the Genesys client.
    pub(crate) retry: RetryConfig,
    /// Where an Organization's `spec.apiBaseUrl` may send its credentials.
    pub(crate) allowlist: ApiBaseUrlAllowlist,
    /// The shortest resync used, whatever an Organization's `resyncInterval` says
    /// (`--min-resync-interval`): a tenant cannot make the operator poll its org in a loop.
    pub(crate) min_resync: Duration,
    /// How many reconciles run at once, in total and per org
    /// (`--max-concurrent-reconciles`, `--max-concurrent-reconciles-per-org`).
    pub(crate) slots: SlotLimits,
}

/// The default of [`Settings::min_resync`].
pub(crate) const DEFAULT_MIN_RESYNC: Duration = Duration::from_secs(30);

impl Settings {
    /// The resync interval of `org`: its `resyncInterval` (already clamped to the
    /// schema's range), raised to [`Settings::min_resync`].
    pub(crate) fn resync_of(&self, org: &Organization) -> Duration {
        org.spec
            .resync_interval()
            .max(self.min_resync)
            .min(crate::api::organization::MAX_RESYNC_INTERVAL)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            soon: Duration::from_secs(10),
            error_backoff: Duration::from_secs(2),
            max_error_backoff: Duration::from_secs(300),
            rate_limit: RateLimitConfig::default(),
            retry: RetryConfig::default(),
            allowlist: ApiBaseUrlAllowlist::regions_only(),
            min_resync: DEFAULT_MIN_RESYNC,
            slots: SlotLimits::default(),
        }
    }
}

/// Shared by all reconciles.
pub(crate) struct Context {
    pub(crate) client: kube::Client,
    pub(crate) sessions: Sessions,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) recorder: EventPublisher,
    pub(crate) settings: Settings,
    pub(crate) organizations: Stores<Organization>,
    pub(crate) links: Stores<CachedOrgLink>,
    pub(crate) pairings: Stores<OrgPairing>,
    pub(crate) wake_links: Wakers<CachedOrgLink>,
    pub(crate) wake_pairings: Wakers<OrgPairing>,
    pub(crate) wake_organizations: Wakers<Organization>,
    /// Each trust's members as its trustor side here last read them, for the trustee
    /// side ([`super::members`]).
    pub(crate) trust_members: super::members::SharedMembers,
    /// Who may reconcile now ([`Slots`]).
    pub(crate) slots: Slots,
    /// The HTTP client every org's Genesys client shares ([`SharedHttp`]).
    pub(crate) http: Arc<SharedHttp>,
    /// Consecutive failures per object, of every kind: one counter an object, reset
    /// on success and forgotten once the object is gone.
    failures: Mutex<HashMap<ObjectKey, u32>>,
}

/// The key of any object in the failure counts: its kind, namespace and name.
pub(crate) type ObjectKey = ObjectRef<DynamicObject>;

/// The [`ObjectKey`] of `obj`.
pub(crate) fn object_key<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectKey {
    ObjectRef::from_obj(obj).erase()
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// The parts a [`Context`] is built from.
pub(crate) struct ContextParts {
    pub(crate) client: kube::Client,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) reporter: Reporter,
    pub(crate) settings: Settings,
    pub(crate) organizations: Stores<Organization>,
    pub(crate) links: Stores<CachedOrgLink>,
    pub(crate) pairings: Stores<OrgPairing>,
    pub(crate) wake_links: Wakers<CachedOrgLink>,
    pub(crate) wake_pairings: Wakers<OrgPairing>,
    pub(crate) wake_organizations: Wakers<Organization>,
}

impl Context {
    pub(crate) fn new(parts: ContextParts) -> Self {
        Self {
            recorder: EventPublisher::new(parts.client.clone(), parts.reporter),
            client: parts.client,
            sessions: Sessions::default(),
            metrics: parts.metrics,
            slots: Slots::new(parts.settings.slots),
            http: Arc::default(),
            settings: parts.settings,
            organizations: parts.organizations,
            links: parts.links,
            pairings: parts.pairings,
            wake_links: parts.wake_links,
            wake_pairings: parts.wake_pairings,
            wake_organizations: parts.wake_organizations,
            trust_members: Default::default(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes an Event about `obj`; a failure to publish is logged, never fatal.
    pub(crate) async fn event<K>(&self, obj: &K, type_: EventType, reason: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(note),
            action: "Reconcile".to_string(),
            secondary: None,
        };
        // Boxed: the publish (the Event and the API call that writes it, 4.5 KB) would
        // otherwise be part of the state of every reconcile that may send one, in
        // flight or waiting, though few of them ever do.
        let regarding = obj.object_ref(&());
        let publish = Box::pin(self.recorder.publish(&event, &regarding));
        if let Err(error) = publish.await {
            tracing::warn!(%error, reason, "could not publish an Event");
        }
    }

    /// The delay before retrying `key` after its `n`-th consecutive failure.
    pub(crate) fn backoff_after_failure(&self, key: &ObjectKey) -> Duration {
        let mut failures = self.failures.lock();
        let n = failures.entry(key.clone()).or_insert(0);
        *n = n.saturating_add(1);
        let base = crate::genesys::retry::exponential(
            self.settings.error_backoff,
            *n,
            self.settings.max_error_backoff,
        );
        // Up to 20% jitter so objects failing together do not retry together.
        let jitter = base.mul_f64(rand::random::<f64>() * 0.2);
        base + jitter
    }

    /// Forgets the failures of `key`: after a successful reconcile, and once the
    /// object is gone (so the map holds only objects that exist and are failing).
    pub(crate) fn reset_failures(&self, key: &ObjectKey) {
        self.failures.lock().remove(key);
    }

    /// How many objects have failures on record (tests of the bookkeeping).
    #[cfg(test)]
    pub(crate) fn failing_objects(&self) -> usize {
        self.failures.lock().len()
    }

    /// Wakes the objects of locally managed orgs that have `peer_org_id` as their org
    /// ID and `my_org_id` as their peer: the `changed` parts of their snapshot are marked
    /// stale and they are reconciled at once, instead of at their next look.
    pub(crate) fn wake_peer(&self, my_org_id: &str, peer_org_id: &str, changed: Parts) {
        for org in self.organizations_of(peer_org_id) {
            let key = org_key(&org);
            if let Some(session) = self.sessions.get(&key) {
                session.invalidate_parts(changed);
            }
            self.wake_organizations.wake(org.as_ref());
            for link in self.links.with_peer(&key.namespace, &key.name, my_org_id) {
                self.wake_links.wake(link.as_ref());
            }
            for pairing in self
                .pairings
                .with_peer(&key.namespace, &key.name, my_org_id)
            {
                self.wake_pairings.wake(pairing.as_ref());
            }
        }
    }

    /// After our approval of the pending request of `peer_org_id`, made as `my_org_id`
    /// (named `my_name`):
    /// the peer's sessions here record the link as approved
    /// ([`super::sessions::OrgSession::record_approved_by`]) instead of reading their
    /// link list again, and the peer's objects are woken.
    pub(crate) async fn peer_request_approved(
        &self,
        my_org_id: &str,
        my_name: Option<&str>,
        peer_org_id: &str,
    ) {
        for org in self.organizations_of(peer_org_id) {
            if let Some(session) = self.sessions.get(&org_key(&org)) {
                session
                    .record_approved_by(peer_org_id, my_org_id, my_name)
                    .await;
            }
        }
        self.wake_peer(my_org_id, peer_org_id, Parts::default());
    }

    /// After our link request to `peer_org_id` succeeded (`request`: Genesys's answer),
    /// made as `my_org_id` (named `my_name`): the peer's sessions here record the
    /// incoming request ([`super::sessions::OrgSession::record_request_from`]) instead of
    /// reading their link list again, and the peer's objects are woken.
    pub(crate) async fn peer_request_received(
        &self,
        my_org_id: &str,
        my_name: Option<&str>,
        peer_org_id: &str,
        request: &crate::genesys::models::OrganizationLink,
    ) {
        for org in self.organizations_of(peer_org_id) {
            if let Some(session) = self.sessions.get(&org_key(&org)) {
                session.record_request_from(request, my_name).await;
            }
        }
        self.wake_peer(my_org_id, peer_org_id, Parts::default());
    }

    /// Whether the peer org `peer_org_id` is managed here: a Ready Organization of that
    /// org ID, not being deleted. Its side of a relationship, once declared, acts through
    /// this operator, and its writes wake ours with the changed list marked stale; so a
    /// wait on it need not poll Genesys (issue 14: "a locally managed peer still wakes it
    /// at once"). An answer given for it outside (the Genesys UI) is seen at the resync.
    pub(crate) fn peer_org_here(&self, peer_org_id: &str) -> bool {
        self.organizations_of(peer_org_id).iter().any(|org| {
            org.metadata.deletion_timestamp.is_none()
                && org
                    .status
                    .as_ref()
                    .is_some_and(|s| is_true(&s.conditions, types::READY))
        })
    }

    /// The cached Organizations whose status holds org ID `org_id`.
    fn organizations_of(&self, org_id: &str) -> Vec<Arc<Organization>> {
        self.organizations
            .state()
            .into_iter()
            .filter(|org| {
                org.status
                    .as_ref()
                    .and_then(|s| s.organization_id.as_deref())
                    == Some(org_id)
            })
            .collect()
    }

    /// The peer's side of the link when an Organization of the peer org `peer_org_id`
    /// in this cluster has an OrgLink back to `my_org_id` ([`LocalPeer`]): then a
    /// pending request of the peer is the ordinary handshake, not something made
    /// outside to adopt, and what that OrgLink declares and records decides what this
    /// side may send or remove. `prev` (our status) and `now` time the wait for the
    /// peer's request ([`leave_request_to_peer`]). `None` for a peer managed elsewhere.
    pub(crate) fn local_peer(
        &self,
        my_org_id: &str,
        peer_org_id: &str,
        prev: Option<&OrgLinkStatus>,
        now: Timestamp,
    ) -> Option<LocalPeer> {
        let peer_orgs: Vec<(OrgKey, bool)> = self
            .organizations
            .state()
            .iter()
            .filter(|org| {
                org.status
                    .as_ref()
                    .and_then(|s| s.organization_id.as_deref())
                    == Some(peer_org_id)
            })
            .map(|org| {
                let acting = org.metadata.deletion_timestamp.is_none()
                    && org
                        .status
                        .as_ref()
                        .is_some_and(|s| is_true(&s.conditions, types::READY));
                (org_key(org), acting)
            })
            .collect();
        let links = peer_orgs.iter().flat_map(|(key, acting)| {
            self.links
                .with_peer(&key.namespace, &key.name, my_org_id)
                .into_iter()
                .map(|link| (link, *acting))
        });
        let mut peer = LocalPeer::default();
        let mut declared = false;
        let mut will_request = false;
        let mut declines = false;
        for (link, acting) in links {
            declared = true;
            if link.metadata.deletion_timestamp.is_some() {
                continue;
            }
            match link.spec.decision {
                LinkDecision::Decline => declines = true,
                LinkDecision::Accept => {
                    peer.accepts = true;
                    peer.linked |= link.phase() == Some(OrgLinkPhase::Linked)
                        && link.observed_attempt() == Some(link.spec.attempt);
                    will_request |= acting
                        && observe::mode(link.metadata.annotations.as_ref()) == observe::Mode::Act
                        && will_request_link(&link.spec, link.phase(), link.observed_attempt());
                }
            }
        }
        if !declared {
            return None;
        }
        peer.declines = declines && !peer.accepts;
        peer.asks_first = leave_request_to_peer(my_org_id, peer_org_id, will_request, prev, now);
        Some(peer)
    }
}

/// The key of an Organization object.
pub(crate) fn org_key(org: &Organization) -> OrgKey {
    OrgKey {
        namespace: org.metadata.namespace.clone().unwrap_or_default(),
        name: org.metadata.name.clone().unwrap_or_default(),
    }
}
