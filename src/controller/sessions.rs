//! One Genesys session per managed Organization, shared by every reconcile of that org.
//!
//! A session holds the org's API client (token cache, rate limiter) and a snapshot of
//! what the org sees remotely: who it is, its linkable regions, its link list, its
//! trustees and trustors. OrgLink and OrgPairing reconciles read the snapshot instead of
//! calling the API themselves, so API reads grow with the number of orgs, not with the
//! number of relationships. Any write through the session marks the snapshot stale, so
//! the next decision is made on a fresh read (the lifecycle contract).

use crate::api::text::clean_name;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::api::Region;
use crate::genesys::models::{
    Organization as GenesysOrg, OrganizationLinkResponse, Trustee, Trustor,
};
use crate::genesys::{GenesysClient, GenesysError};

/// `namespace/name` of an Organization.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgKey {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for OrgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What one org sees remotely, read in one go.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// When the read began: everything in the snapshot is at least this fresh.
    pub read_started: Instant,
    /// [`Snapshot::read_started`] on the wall clock (`status.observedAt`).
    pub read_started_wall: k8s_openapi::jiff::Timestamp,
    /// When the read ended (the snapshot's age for `max_age`).
    pub fetched_at: Instant,
    pub me: GenesysOrg,
    pub linkable_regions: Vec<String>,
    pub links: Vec<OrganizationLinkResponse>,
    pub trustees: Vec<Trustee>,
    pub trustors: Vec<Trustor>,
}

impl Snapshot {
    /// The link record between us and `peer`, whichever side is listed as source.
    pub fn link_with(&self, peer: &str) -> Option<&OrganizationLinkResponse> {
        let me = self.me.id.as_str();
        self.links.iter().find(|l| {
            let source = l.source_organization_id.as_deref().unwrap_or(me);
            let target = l.target_organization_id.as_deref().unwrap_or_default();
            (source == me && target == peer) || (source == peer && target == me)
        })
    }

    pub fn trustee(&self, org_id: &str) -> Option<&Trustee> {
        self.trustees.iter().find(|t| t.id == org_id)
    }

    pub fn trustor(&self, org_id: &str) -> Option<&Trustor> {
        self.trustors.iter().find(|t| t.id == org_id)
    }
}

/// The API client and remote snapshot of one Organization.
pub struct OrgSession {
    pub key: OrgKey,
    pub region: Region,
    pub client: GenesysClient,
    fingerprint: u64,
    snapshot: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    stale: AtomicBool,
    refresh: parking_lot::Mutex<RefreshMemory>,
}

/// What the Organization controller remembers of the org's refresh requests
/// (annotation `orglink.dev/refresh`) between reconciles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshMemory {
    /// When an unanswered request was first seen (the oldest one; later values join it).
    pub pending_since: Option<Instant>,
    /// The last value recorded as handled, until the cache shows the status written.
    pub last_handled: Option<String>,
}

impl std::fmt::Debug for OrgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSession")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl OrgSession {
    /// The snapshot, re-read when older than `max_age` or marked stale. Concurrent
    /// callers share one read.
    pub async fn snapshot(&self, max_age: Duration) -> Result<Arc<Snapshot>, GenesysError> {
        let mut guard = self.snapshot.lock().await;
        if let Some(current) = guard.as_ref()
            && !self.stale.load(Ordering::Acquire)
            && current.fetched_at.elapsed() < max_age
        {
            return Ok(current.clone());
        }
        self.stale.store(false, Ordering::Release);
        let fresh = Arc::new(self.read().await.inspect_err(|_| {
            // Keep it stale so the next caller retries the read.
            self.stale.store(true, Ordering::Release);
        })?);
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// The last snapshot read, if any, without reading.
    pub async fn cached(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.lock().await.clone()
    }

    /// When the read of the current snapshot started, if there is one.
    pub async fn last_read_started(&self) -> Option<Instant> {
        self.snapshot.lock().await.as_ref().map(|s| s.read_started)
    }

    /// The refresh requests remembered for this org.
    pub fn refresh_memory(&self) -> RefreshMemory {
        self.refresh.lock().clone()
    }

    /// Notes that an unanswered refresh request was seen at `now` (kept if an earlier
    /// one is still waiting), and returns since when one has been waiting.
    pub fn refresh_seen(&self, now: Instant) -> Instant {
        *self.refresh.lock().pending_since.get_or_insert(now)
    }

    /// Notes that `value` was recorded as handled: nothing waits any more.
    pub fn refresh_handled(&self, value: &str) {
        let mut memory = self.refresh.lock();
        memory.pending_since = None;
        memory.last_handled = Some(value.to_string());
    }

    /// Marks the snapshot stale: the next [`OrgSession::snapshot`] re-reads.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Release);
    }

    async fn read(&self) -> Result<Snapshot, GenesysError> {
        let read_started = Instant::now();
        let read_started_wall = k8s_openapi::jiff::Timestamp::now();
        let me = self.client.organization_me().await?;
        let linkable_regions = self
            .client
            .linkable_regions()
            .await?
            .into_iter()
            .filter_map(|r| r.region_name)
            .collect();
        let links = self.client.list_links().await?;
        let trustees = self.client.list_trustees().await?;
        let trustors = self.client.list_trustors().await?;
        Ok(clean_snapshot(Snapshot {
            read_started,
            read_started_wall,
            fetched_at: Instant::now(),
            me,
            linkable_regions,
            links,
            trustees,
            trustors,
        }))
    }
}

/// The snapshot with every name, ID and region Genesys sent made safe to show
/// ([`crate::api::text::clean_name`]): they go into statuses, condition messages,
/// Events, logs and the plugin's terminal output. A real ID or name is unchanged.
pub fn clean_snapshot(mut s: Snapshot) -> Snapshot {
    fn clean(v: &mut String) {
        if let std::borrow::Cow::Owned(c) = clean_name(v) {
            *v = c;
        }
    }
    fn clean_opt(v: &mut Option<String>) {
        if let Some(v) = v.as_mut() {
            clean(v);
        }
    }
    clean(&mut s.me.id);
    clean_opt(&mut s.me.name);
    s.linkable_regions.iter_mut().for_each(clean);
    for l in &mut s.links {
        clean_opt(&mut l.source_organization_id);
        clean_opt(&mut l.target_organization_id);
        clean_opt(&mut l.source_region);
        clean_opt(&mut l.target_region);
        clean_opt(&mut l.target_name);
    }
    for t in &mut s.trustees {
        clean(&mut t.id);
        if let Some(o) = t.organization.as_mut() {
            clean(&mut o.id);
            clean_opt(&mut o.name);
        }
    }
    for t in &mut s.trustors {
        clean(&mut t.id);
        if let Some(o) = t.organization.as_mut() {
            clean(&mut o.id);
            clean_opt(&mut o.name);
        }
    }
    s
}

/// Fingerprint of everything a session is built from; a change (rotated Secret, new
/// region or base URL) replaces the session.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut hasher = DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

/// The sessions of all managed Organizations.
#[derive(Default)]
pub struct Sessions {
    by_key: RwLock<HashMap<OrgKey, Arc<OrgSession>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("count", &self.by_key.read().len())
            .finish()
    }
}

impl Sessions {
    pub fn get(&self, key: &OrgKey) -> Option<Arc<OrgSession>> {
        self.by_key.read().get(key).cloned()
    }

    /// The session for `key`, replaced by `build()` when `fingerprint` differs from the
    /// current one's.
    pub fn ensure(
        &self,
        key: &OrgKey,
        region: Region,
        fingerprint: u64,
        build: impl FnOnce() -> Result<GenesysClient, GenesysError>,
    ) -> Result<Arc<OrgSession>, GenesysError> {
        if let Some(current) = self.get(key)
            && current.fingerprint == fingerprint
        {
            return Ok(current);
        }
        let session = Arc::new(OrgSession {
            key: key.clone(),
            region,
            client: build()?,
            fingerprint,
            snapshot: tokio::sync::Mutex::new(None),
            stale: AtomicBool::new(true),
            refresh: parking_lot::Mutex::new(RefreshMemory::default()),
        });
        self.by_key.write().insert(key.clone(), session.clone());
        Ok(session)
    }

    pub fn remove(&self, key: &OrgKey) {
        self.by_key.write().remove(key);
    }

    /// Sessions whose last snapshot says they are org `org_id` (for fast handshakes).
    pub async fn by_org_id(&self, org_id: &str) -> Vec<Arc<OrgSession>> {
        let all: Vec<Arc<OrgSession>> = self.by_key.read().values().cloned().collect();
        let mut found = Vec::new();
        for session in all {
            if let Some(snapshot) = session.cached().await
                && snapshot.me.id == org_id
            {
                found.push(session);
            }
        }
        found
    }
}
