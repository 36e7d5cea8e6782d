//! One Genesys session per managed Organization, shared by every reconcile of that org.
//!
//! A session holds the org's API client (token cache, rate limiter) and a snapshot of
//! what the org sees remotely: who it is, its linkable regions, its link list, its
//! trustees and trustors. OrgLink and OrgPairing reconciles read the snapshot instead of
//! calling the API themselves, so API reads grow with the number of orgs, not with the
//! number of relationships. Any write through the session marks the snapshot stale, so
//! the next decision is made on a fresh read (the lifecycle contract).

use crate::api::text::clean_name;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use super::members::MemberCache;
use crate::genesys::models::{
    LinkStatus, Organization as GenesysOrg, OrganizationLinkResponse, Trustee, Trustor,
};
use crate::genesys::{GenesysClient, GenesysError};

/// `namespace/name` of an Organization.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct OrgKey {
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl std::fmt::Display for OrgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// How long the org's identity (`organizations/me`, its linkable regions) is trusted
/// before it is read again. It changes only when the org is renamed or Genesys opens a
/// region to it; a new session (rotated Secret, new region or base URL) and a refresh on
/// demand read it at once. Reading it at every resync would make a settled org cost five
/// reads per resync instead of three.
pub(crate) const IDENTITY_MAX_AGE: Duration = Duration::from_secs(3_600);

/// When one part of a snapshot was read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadTime {
    pub(crate) started: Instant,
    pub(crate) started_wall: k8s_openapi::jiff::Timestamp,
    pub(crate) ended: Instant,
}

/// What one org sees remotely. Three parts, each read (and made stale) on its own: the
/// identity, the link list, and the trust lists (trustees and trustors). A write to
/// links makes only the link list stale, so the next look reads one list, not five.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    /// When the read of the older list part began: every list is at least this fresh.
    pub(crate) read_started: Instant,
    /// [`Snapshot::read_started`] on the wall clock (`status.observedAt`).
    pub(crate) read_started_wall: k8s_openapi::jiff::Timestamp,
    pub(crate) me: GenesysOrg,
    pub(crate) linkable_regions: Vec<String>,
    /// Each record shared by every version of the snapshot that holds it: a write of
    /// ours changes one record, and the reconciles still reading the version before
    /// keep it whole. Copied, an org's 100 records were copied at each of its 100
    /// requests, with several versions alive at once (issue 14, footprint).
    pub(crate) links: Vec<Arc<OrganizationLinkResponse>>,
    pub(crate) trustees: Vec<Trustee>,
    pub(crate) trustors: Vec<Trustor>,
    identity_read: ReadTime,
    links_read: ReadTime,
    trustees_read: ReadTime,
    trustors_read: ReadTime,
}

impl Snapshot {
    /// A snapshot of parts read at the given times (the lists' oldest start becomes
    /// [`Snapshot::read_started`]).
    fn assemble(
        identity: (GenesysOrg, Vec<String>, ReadTime),
        links: (Vec<Arc<OrganizationLinkResponse>>, ReadTime),
        trustees: (Vec<Trustee>, ReadTime),
        trustors: (Vec<Trustor>, ReadTime),
    ) -> Self {
        let oldest = [links.1, trustees.1, trustors.1]
            .into_iter()
            .min_by_key(|t| t.started)
            .unwrap_or(links.1);
        Snapshot {
            read_started: oldest.started,
            read_started_wall: oldest.started_wall,
            me: identity.0,
            linkable_regions: identity.1,
            identity_read: identity.2,
            links: links.0,
            links_read: links.1,
            trustees: trustees.0,
            trustees_read: trustees.1,
            trustors: trustors.0,
            trustors_read: trustors.1,
        }
    }

    /// When the read of the trustee list began: the members of a trust where we are
    /// trustor read before it are older than the list ([`super::members`]).
    pub(crate) fn trustees_read_started(&self) -> Instant {
        self.trustees_read.started
    }

    /// When the read of the trustor list began (as [`Self::trustees_read_started`], for
    /// the trusts where we are trustee).
    pub(crate) fn trustors_read_started(&self) -> Instant {
        self.trustors_read.started
    }

    /// The link record between us and `peer`, whichever side is listed as source.
    pub(crate) fn link_with(&self, peer: &str) -> Option<&OrganizationLinkResponse> {
        let me = self.me.id.as_str();
        self.links
            .iter()
            .find(|l| is_with(l, me, peer))
            .map(|l| &**l)
    }

    pub(crate) fn trustee(&self, org_id: &str) -> Option<&Trustee> {
        self.trustees.iter().find(|t| t.id == org_id)
    }

    pub(crate) fn trustor(&self, org_id: &str) -> Option<&Trustor> {
        self.trustors.iter().find(|t| t.id == org_id)
    }
}

/// What a write made here by another org does to our snapshot.
#[derive(Debug)]
enum Effect {
    /// The snapshot as a read after the write would show it.
    Next(Arc<Snapshot>),
    /// The snapshot shows it already: it was read after the write (a burst of objects
    /// makes a read and the other org's write cross often), nothing to change.
    Shown,
    /// Not certain what our list now shows: it is to be read again.
    Unknown,
}

impl Effect {
    #[cfg(test)]
    fn next(self) -> Option<Arc<Snapshot>> {
        match self {
            Effect::Next(next) => Some(next),
            _ => None,
        }
    }
}

/// `current` with the request `request` to us added as we would list it, if it is to us
/// and we hold no record with its requester; [`Effect::Shown`] if the record we hold is
/// that request, pending our approval (the request succeeded, so Genesys held no other
/// link between us and the requester).
fn requested_by(
    current: &Snapshot,
    request: &crate::genesys::models::OrganizationLink,
    requester_name: Option<&str>,
) -> Effect {
    let me = current.me.id.as_str();
    let requester = request.source_organization_id.as_str();
    if request.target_organization_id != me || requester.is_empty() || requester == me {
        return Effect::Unknown;
    }
    if let Some(held) = current.link_with(requester) {
        return if held.status == Some(LinkStatus::ApprovalPending) {
            Effect::Shown
        } else {
            Effect::Unknown
        };
    }
    let mut next = current.clone();
    next.links.reserve_exact(1);
    next.links.push(Arc::new(OrganizationLinkResponse {
        source_organization_id: Some(me.to_owned()),
        target_organization_id: Some(requester.to_owned()),
        source_region: Some(request.target_region.clone()),
        target_region: Some(request.source_region.clone()),
        target_name: requester_name.map(str::to_owned),
        status: Some(LinkStatus::ApprovalPending),
    }));
    Effect::Next(Arc::new(clean_snapshot(next)))
}

/// `current` with our pending request to `peer` approved, if it holds one (named
/// `peer_name` if it has no name); [`Effect::Shown`] if it holds our request to `peer`
/// approved already (the approval succeeded, so it was of that request).
fn approved_by(current: &Snapshot, peer: &str, peer_name: Option<&str>) -> Effect {
    let me = current.me.id.as_str();
    let ours = |status: LinkStatus| {
        current.links.iter().position(|l| {
            is_with(l, me, peer)
                && l.source_organization_id.as_deref() == Some(me)
                && l.status.as_ref() == Some(&status)
        })
    };
    let Some(ours) = ours(LinkStatus::Pending) else {
        return match ours(LinkStatus::Approved) {
            Some(_) => Effect::Shown,
            None => Effect::Unknown,
        };
    };
    let mut next = current.clone();
    let record = Arc::make_mut(&mut next.links[ours]);
    record.status = Some(LinkStatus::Approved);
    if record.target_name.is_none() {
        record.target_name = peer_name.map(str::to_owned);
    }
    Effect::Next(Arc::new(clean_snapshot(next)))
}

/// Whether link record `l` of org `me` is the one with `peer`.
fn is_with(l: &OrganizationLinkResponse, me: &str, peer: &str) -> bool {
    let source = l.source_organization_id.as_deref().unwrap_or(me);
    let target = l.target_organization_id.as_deref().unwrap_or_default();
    (source == me && target == peer) || (source == peer && target == me)
}

/// The parts of a snapshot. The two trust lists are parts of their own: a trustee side
/// decides on the trustor list only, a trustor side on the trustee list only, and a
/// write of one side changes only the other org's list of the matching kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Parts {
    pub(crate) identity: bool,
    pub(crate) links: bool,
    /// `GET /orgauthorization/trustees`: the orgs we trust (we are their trustor).
    pub(crate) trustees: bool,
    /// `GET /orgauthorization/trustors`: the orgs that trust us (we are their trustee).
    pub(crate) trustors: bool,
}

impl Parts {
    pub(crate) const ALL: Parts = Parts {
        identity: true,
        links: true,
        trustees: true,
        trustors: true,
    };
    pub(crate) const LINKS: Parts = Parts {
        identity: false,
        links: true,
        trustees: false,
        trustors: false,
    };
    pub(crate) const TRUSTEES: Parts = Parts {
        identity: false,
        links: false,
        trustees: true,
        trustors: false,
    };
    pub(crate) const TRUSTORS: Parts = Parts {
        identity: false,
        links: false,
        trustees: false,
        trustors: true,
    };
    /// Both trust lists.
    pub(crate) const TRUSTS: Parts = Parts {
        identity: false,
        links: false,
        trustees: true,
        trustors: true,
    };

    fn any(self) -> bool {
        self.identity || self.links || self.trustees || self.trustors
    }
}

/// Which parts of `current` must be read for a caller that decides on the lists it
/// `needs` and accepts them `max_age` old: of those, the ones marked `stale` or older
/// than that; the identity when stale or older than [`IDENTITY_MAX_AGE`] (every caller
/// needs it); all when there is no snapshot yet.
///
/// A list the caller does not need is left as it is, stale or old, for the next caller
/// that needs it: an OrgLink waiting for its peer looks every few seconds, and used to
/// re-read the org's two trust lists each time as well as its link list (and a pairing
/// the link list), which was most of the reads of a converging org (issue 14).
pub(crate) fn parts_to_read(
    current: Option<&Snapshot>,
    stale: Parts,
    needs: Parts,
    max_age: Duration,
    now: Instant,
) -> Parts {
    let Some(s) = current else {
        return Parts::ALL;
    };
    let old = |t: &ReadTime, age: Duration| now.saturating_duration_since(t.ended) >= age;
    Parts {
        identity: stale.identity || old(&s.identity_read, max_age.max(IDENTITY_MAX_AGE)),
        links: needs.links && (stale.links || old(&s.links_read, max_age)),
        trustees: needs.trustees && (stale.trustees || old(&s.trustees_read, max_age)),
        trustors: needs.trustors && (stale.trustors || old(&s.trustors_read, max_age)),
    }
}

/// The API client and remote snapshot of one Organization.
pub(crate) struct OrgSession {
    pub(crate) key: OrgKey,
    pub(crate) client: GenesysClient,
    fingerprint: u64,
    snapshot: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    stale: StaleParts,
    refresh: parking_lot::Mutex<RefreshMemory>,
    roles: parking_lot::Mutex<RoleNames>,
    /// Division names resolved to IDs, kept like the role names ([`RoleNames`]).
    divisions: parking_lot::Mutex<RoleNames>,
    /// User and group lookups by email and name ([`super::directory`]).
    pub(crate) directory: super::directory::DirectoryCache,
    /// The members of the trusts where we are trustee, by trustor ([`super::members`]).
    pub(crate) trustor_members: MemberCache<TrustorMembers>,
    /// The members of the trusts where we are trustor, by trustee ([`super::members`]).
    pub(crate) trustee_members: MemberCache<TrusteeMembers>,
    /// The pairings this org made or looked up ([`super::pairing_cache`]).
    pub(crate) pairings: super::pairing_cache::PairingCache,
}

/// Who is in a trust where we are trustee: user IDs, group IDs.
pub(crate) type TrustorMembers = (BTreeSet<String>, BTreeSet<String>);

/// Who is in a trust where we are trustor, with their roles here (user and group ID →
/// role IDs), and their emails and names.
pub(crate) type TrusteeMembers = (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
    crate::lifecycle::subjects::Directory,
);

/// Role names of the org resolved to IDs, each with when it was read. Roles are the
/// org's configuration, like its identity: a grant's names are resolved once and kept
/// for [`IDENTITY_MAX_AGE`] instead of listing the org's roles at every look of every
/// trustor-side OrgPairing. A name no role has is not kept (it is asked again at the
/// next look, so a role created for it is found at once); a refresh on demand and a
/// failed role write forget them all.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoleNames {
    known: BTreeMap<String, (String, Instant)>,
}

impl RoleNames {
    /// The names of `wanted` that must be resolved (again) at `now`: those not known,
    /// or known for [`IDENTITY_MAX_AGE`] or longer.
    pub(crate) fn to_resolve(&self, wanted: &BTreeSet<String>, now: Instant) -> BTreeSet<String> {
        wanted
            .iter()
            .filter(|name| {
                self.known.get(*name).is_none_or(|(_, read)| {
                    now.saturating_duration_since(*read) >= IDENTITY_MAX_AGE
                })
            })
            .cloned()
            .collect()
    }

    /// Keeps what a resolution read at `read` found (names without a role are dropped).
    pub(crate) fn learn(&mut self, resolved: &BTreeMap<String, Option<String>>, read: Instant) {
        for (name, id) in resolved {
            match id {
                Some(id) => {
                    self.known.insert(name.clone(), (id.clone(), read));
                }
                None => {
                    self.known.remove(name);
                }
            }
        }
    }

    /// Every name of `wanted` with its role ID as known, `None` for the others.
    pub(crate) fn answer(&self, wanted: &BTreeSet<String>) -> BTreeMap<String, Option<String>> {
        wanted
            .iter()
            .map(|name| (name.clone(), self.known.get(name).map(|(id, _)| id.clone())))
            .collect()
    }
}

/// The parts marked stale since they were last read.
#[derive(Default)]
struct StaleParts {
    identity: AtomicBool,
    links: AtomicBool,
    trustees: AtomicBool,
    trustors: AtomicBool,
}

impl StaleParts {
    fn all() -> Self {
        let s = StaleParts::default();
        s.mark(Parts::ALL);
        s
    }

    fn mark(&self, parts: Parts) {
        for (flag, set) in [
            (&self.identity, parts.identity),
            (&self.links, parts.links),
            (&self.trustees, parts.trustees),
            (&self.trustors, parts.trustors),
        ] {
            if set {
                flag.store(true, Ordering::Release);
            }
        }
    }

    fn get(&self) -> Parts {
        Parts {
            identity: self.identity.load(Ordering::Acquire),
            links: self.links.load(Ordering::Acquire),
            trustees: self.trustees.load(Ordering::Acquire),
            trustors: self.trustors.load(Ordering::Acquire),
        }
    }

    /// Clears the flags of `parts` (they are about to be read).
    fn clear(&self, parts: Parts) {
        for (flag, set) in [
            (&self.identity, parts.identity),
            (&self.links, parts.links),
            (&self.trustees, parts.trustees),
            (&self.trustors, parts.trustors),
        ] {
            if set {
                flag.store(false, Ordering::Release);
            }
        }
    }
}

/// What the Organization controller remembers of the org's refresh requests
/// (annotation `orglink.dev/refresh`) between reconciles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RefreshMemory {
    /// When an unanswered request was first seen (the oldest one; later values join it).
    pub(crate) pending_since: Option<Instant>,
    /// The last value recorded as handled, until the cache shows the status written.
    pub(crate) last_handled: Option<String>,
}

impl std::fmt::Debug for OrgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSession")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl OrgSession {
    /// The snapshot, the parts it `needs` re-read when older than `max_age` or marked
    /// stale (see [`parts_to_read`]); the others are kept. Concurrent callers share one
    /// read.
    pub(crate) async fn snapshot(
        &self,
        needs: Parts,
        max_age: Duration,
    ) -> Result<Arc<Snapshot>, GenesysError> {
        let mut guard = self.snapshot.lock().await;
        let parts = parts_to_read(
            guard.as_deref(),
            self.stale.get(),
            needs,
            max_age,
            Instant::now(),
        );
        if let Some(current) = guard.as_ref()
            && !parts.any()
        {
            return Ok(current.clone());
        }
        // Cleared before the read: a part made stale while it is being read stays stale.
        self.stale.clear(parts);
        // Boxed: the four reads at once are some KB of state that only the one caller
        // who reads needs, not every reconcile that asks for the snapshot.
        let read = Box::pin(self.read(guard.as_deref(), parts));
        let fresh = read.await.inspect_err(|_| {
            // Keep them stale so the next caller retries the read.
            self.stale.mark(parts);
        })?;
        let fresh = Arc::new(fresh);
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// When the read of the current snapshot's lists started, if there is one.
    pub(crate) async fn last_read_started(&self) -> Option<Instant> {
        self.snapshot.lock().await.as_ref().map(|s| s.read_started)
    }

    /// The refresh requests remembered for this org.
    pub(crate) fn refresh_memory(&self) -> RefreshMemory {
        self.refresh.lock().clone()
    }

    /// Notes that an unanswered refresh request was seen at `now` (kept if an earlier
    /// one is still waiting), and returns since when one has been waiting.
    pub(crate) fn refresh_seen(&self, now: Instant) -> Instant {
        *self.refresh.lock().pending_since.get_or_insert(now)
    }

    /// Notes that `value` was recorded as handled: nothing waits any more.
    pub(crate) fn refresh_handled(&self, value: &str) {
        let mut memory = self.refresh.lock();
        memory.pending_since = None;
        memory.last_handled = Some(value.to_string());
    }

    /// Marks `parts` stale: the next [`OrgSession::snapshot`] re-reads them. The
    /// identity takes the resolved role names with it (both are the org's configuration).
    pub(crate) fn invalidate_parts(&self, parts: Parts) {
        self.stale.mark(parts);
        if parts.trustors {
            self.trustor_members.forget_all();
        }
        if parts.trustees {
            self.trustee_members.forget_all();
        }
        if parts.identity {
            self.forget_role_names();
        }
    }

    /// Resolves role names to IDs as [`GenesysClient::resolve_role_names`] does, reading
    /// only the names not known (see [`RoleNames`]).
    pub(crate) async fn resolve_role_names(
        &self,
        names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<String>>, GenesysError> {
        let now = Instant::now();
        let missing = self.roles.lock().to_resolve(names, now);
        if !missing.is_empty() {
            let resolved = self.client.resolve_role_names(&missing).await?;
            self.roles.lock().learn(&resolved, now);
            // Unknown names are not kept: answer them from this read.
            let mut answer = self.roles.lock().answer(names);
            answer.extend(resolved);
            return Ok(answer);
        }
        Ok(self.roles.lock().answer(names))
    }

    /// Resolves division names to IDs as [`GenesysClient::resolve_division_names`]
    /// does, reading only the names not known: divisions are the org's configuration,
    /// kept like role names ([`RoleNames`]).
    pub(crate) async fn resolve_division_names(
        &self,
        names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<String>>, GenesysError> {
        let now = Instant::now();
        let missing = self.divisions.lock().to_resolve(names, now);
        if missing.is_empty() {
            return Ok(self.divisions.lock().answer(names));
        }
        let resolved = self.client.resolve_division_names(&missing).await?;
        self.divisions.lock().learn(&resolved, now);
        let mut answer = self.divisions.lock().answer(names);
        answer.extend(resolved);
        Ok(answer)
    }

    /// Forgets the resolved role and division names: the next look resolves them again
    /// (a role write failed, perhaps because a role or division was deleted or renamed).
    pub(crate) fn forget_role_names(&self) {
        *self.roles.lock() = RoleNames::default();
        *self.divisions.lock() = RoleNames::default();
    }

    /// Records in the snapshot what a link write of ours to `peer` left in our list:
    /// `record`, or no record (`None`). The write's answer is as fresh as a read after
    /// it, so the next decision needs no read for it (the lifecycle contract). Without
    /// a snapshot the link list is marked stale instead.
    pub(crate) async fn record_link(&self, peer: &str, record: Option<OrganizationLinkResponse>) {
        self.record(Parts::LINKS, |s| {
            let me = s.me.id.clone();
            let kept_name = s.link_with(peer).and_then(|l| l.target_name.clone());
            s.links.retain(|l| !is_with(l, &me, peer));
            if let Some(mut record) = record {
                if record.target_name.is_none() {
                    record.target_name = kept_name;
                }
                s.links.reserve_exact(1);
                s.links.push(Arc::new(record));
            }
        })
        .await;
    }

    /// Records that `peer` approved the pending request of org `us` (this session's org,
    /// as its own credentials say: another ID in a forged status changes nothing here) to
    /// it, by its own write through its session here: our record with it, `Pending` from our side, becomes `Approved`,
    /// as a read after that write would show (the peer's approval answered 2xx only
    /// because our request was pending). Without that record, or a snapshot, the link
    /// list is marked stale instead. The list's read time is kept: the other records
    /// are no fresher than they were. `peer_name`: the peer's name as its own session
    /// read it (`organizations/me`), for a record that has none yet (our request's answer
    /// carries no name; a read would).
    pub(crate) async fn record_approved_by(&self, us: &str, peer: &str, peer_name: Option<&str>) {
        let mut guard = self.snapshot.lock().await;
        match guard
            .as_deref()
            .filter(|current| current.me.id == us)
            .map(|current| approved_by(current, peer, peer_name))
        {
            Some(Effect::Next(next)) => *guard = Some(next),
            Some(Effect::Shown) => {}
            Some(Effect::Unknown) | None => self.stale.mark(Parts::LINKS),
        }
    }

    /// Records the link request `request` that another org here just made to us
    /// (Genesys's answer to its `POST`), as our list shows a request to us: from our side
    /// (source us, target the requester, the regions likewise), `ApprovalPending`, named
    /// `requester_name` (its own `organizations/me`). When our list already holds a
    /// record with the requester, or there is no snapshot, the list is marked stale
    /// instead. The list's read time is kept, as for [`Self::record_approved_by`].
    pub(crate) async fn record_request_from(
        &self,
        request: &crate::genesys::models::OrganizationLink,
        requester_name: Option<&str>,
    ) {
        let mut guard = self.snapshot.lock().await;
        match guard
            .as_deref()
            .map(|current| requested_by(current, request, requester_name))
        {
            Some(Effect::Next(next)) => *guard = Some(next),
            Some(Effect::Shown) => {}
            Some(Effect::Unknown) | None => self.stale.mark(Parts::LINKS),
        }
    }

    /// Records what a trust write of ours (as trustor) left in our trustee list for
    /// `peer`: the trust Genesys returned, or none after a revocation. See
    /// [`OrgSession::record_link`].
    pub(crate) async fn record_trustee(&self, peer: &str, trust: Option<Trustee>) {
        self.record(Parts::TRUSTEES, |s| {
            s.trustees.retain(|t| t.id != peer);
            s.trustees.extend(trust);
        })
        .await;
    }

    /// Records what a trust write of ours (as trustee) left in our trustor list for
    /// `peer`: none after a revocation.
    pub(crate) async fn record_trustor(&self, peer: &str, trust: Option<Trustor>) {
        self.record(Parts::TRUSTORS, |s| {
            s.trustors.retain(|t| t.id != peer);
            s.trustors.extend(trust);
        })
        .await;
    }

    /// Applies `change` to the current snapshot, or marks `parts` stale without one.
    async fn record(&self, parts: Parts, change: impl FnOnce(&mut Snapshot)) {
        let mut guard = self.snapshot.lock().await;
        match guard.as_ref() {
            Some(current) => {
                let mut next = Snapshot::clone(current);
                change(&mut next);
                *guard = Some(Arc::new(clean_snapshot(next)));
            }
            None => self.stale.mark(parts),
        }
    }

    async fn read(
        &self,
        current: Option<&Snapshot>,
        parts: Parts,
    ) -> Result<Snapshot, GenesysError> {
        let timed = || (Instant::now(), k8s_openapi::jiff::Timestamp::now());
        let finish = |(started, started_wall): (Instant, k8s_openapi::jiff::Timestamp)| ReadTime {
            started,
            started_wall,
            ended: Instant::now(),
        };
        let identity = async {
            match current.filter(|_| !parts.identity) {
                Some(s) => Ok((s.me.clone(), s.linkable_regions.clone(), s.identity_read)),
                None => {
                    let t = timed();
                    let me = self.client.organization_me().await?;
                    let regions = self
                        .client
                        .linkable_regions()
                        .await?
                        .into_iter()
                        .filter_map(|r| r.region_name)
                        .collect();
                    Ok::<_, GenesysError>((me, regions, finish(t)))
                }
            }
        };
        let kept = |read: bool| current.filter(|_| !read);
        let links = list_part(
            kept(parts.links).map(|s| (s.links.clone(), s.links_read)),
            || async {
                let previous = current.map(|s| s.links.as_slice()).unwrap_or_default();
                Ok(share_unchanged(previous, self.client.list_links().await?))
            },
        );
        let trustees = list_part(
            kept(parts.trustees).map(|s| (s.trustees.clone(), s.trustees_read)),
            || self.client.list_trustees(),
        );
        let trustors = list_part(
            kept(parts.trustors).map(|s| (s.trustors.clone(), s.trustors_read)),
            || self.client.list_trustors(),
        );
        let (identity, links, trustees, trustors) =
            tokio::try_join!(identity, links, trustees, trustors)?;
        Ok(clean_snapshot(Snapshot::assemble(
            identity, links, trustees, trustors,
        )))
    }
}

/// The link records just read, each one the previous version holds unchanged taken
/// from it instead: a re-read then allocates only what changed, and the versions that
/// reconciles still hold share its records with the new one instead of each keeping
/// a copy of the org's list (issue 14, footprint).
fn share_unchanged(
    previous: &[Arc<OrganizationLinkResponse>],
    fresh: Vec<OrganizationLinkResponse>,
) -> Vec<Arc<OrganizationLinkResponse>> {
    fn key(l: &OrganizationLinkResponse) -> (Option<&str>, Option<&str>) {
        (
            l.source_organization_id.as_deref(),
            l.target_organization_id.as_deref(),
        )
    }
    let held: HashMap<_, &Arc<OrganizationLinkResponse>> =
        previous.iter().map(|l| (key(l), l)).collect();
    fresh
        .into_iter()
        .map(|l| match held.get(&key(&l)).copied() {
            Some(same) if **same == l => Arc::clone(same),
            _ => Arc::new(l),
        })
        .collect()
}

/// One list of a snapshot: as `kept`, or read now with `list` and timed.
async fn list_part<T, F, Fut>(
    kept: Option<(Vec<T>, ReadTime)>,
    list: F,
) -> Result<(Vec<T>, ReadTime), GenesysError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, GenesysError>>,
{
    if let Some(kept) = kept {
        return Ok(kept);
    }
    let (started, started_wall) = (Instant::now(), k8s_openapi::jiff::Timestamp::now());
    let items = list().await?;
    Ok((
        items,
        ReadTime {
            started,
            started_wall,
            ended: Instant::now(),
        },
    ))
}

/// The snapshot with every name, ID and region Genesys sent made safe to show
/// ([`crate::api::text::clean_name`]): they go into statuses, condition messages,
/// Events, logs and the plugin's terminal output. A real ID or name is unchanged.
pub(crate) fn clean_snapshot(mut s: Snapshot) -> Snapshot {
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
    // A record is copied only when something in it needs cleaning (never for what
    // Genesys really sends): the versions sharing it keep sharing it.
    let dirty = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| matches!(clean_name(v), std::borrow::Cow::Owned(_)))
    };
    for l in &mut s.links {
        let fields = [
            &l.source_organization_id,
            &l.target_organization_id,
            &l.source_region,
            &l.target_region,
            &l.target_name,
        ];
        if fields.into_iter().any(dirty) {
            let l = Arc::make_mut(l);
            clean_opt(&mut l.source_organization_id);
            clean_opt(&mut l.target_organization_id);
            clean_opt(&mut l.source_region);
            clean_opt(&mut l.target_region);
            clean_opt(&mut l.target_name);
        }
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
pub(crate) fn fingerprint(parts: &[&str]) -> u64 {
    let mut hasher = DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

/// The sessions of all managed Organizations.
#[derive(Default)]
pub(crate) struct Sessions {
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
    pub(crate) fn get(&self, key: &OrgKey) -> Option<Arc<OrgSession>> {
        self.by_key.read().get(key).cloned()
    }

    /// The session for `key`, replaced by `build()` when `fingerprint` differs from the
    /// current one's.
    pub(crate) fn ensure(
        &self,
        key: &OrgKey,
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
            client: build()?,
            fingerprint,
            snapshot: tokio::sync::Mutex::new(None),
            stale: StaleParts::all(),
            refresh: parking_lot::Mutex::new(RefreshMemory::default()),
            roles: parking_lot::Mutex::new(RoleNames::default()),
            divisions: parking_lot::Mutex::new(RoleNames::default()),
            directory: Default::default(),
            trustor_members: Default::default(),
            trustee_members: Default::default(),
            pairings: Default::default(),
        });
        self.by_key.write().insert(key.clone(), session.clone());
        Ok(session)
    }

    pub(crate) fn remove(&self, key: &OrgKey) {
        self.by_key.write().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_re_read_shares_the_records_the_previous_version_holds_unchanged() {
        let record = |target: &str, status: LinkStatus| OrganizationLinkResponse {
            source_organization_id: Some("me".into()),
            target_organization_id: Some(target.into()),
            source_region: Some("us-east-1".into()),
            target_region: Some("us-east-1".into()),
            target_name: None,
            status: Some(status),
        };
        let previous: Vec<_> = [
            record("a", LinkStatus::Pending),
            record("b", LinkStatus::Pending),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let fresh = vec![
            record("b", LinkStatus::Approved),
            record("a", LinkStatus::Pending),
            record("c", LinkStatus::Pending),
        ];
        let next = share_unchanged(&previous, fresh.clone());
        assert_eq!(
            next.iter().map(|l| (**l).clone()).collect::<Vec<_>>(),
            fresh,
            "the list as read, in its order"
        );
        assert!(Arc::ptr_eq(&next[1], &previous[0]), "a: unchanged, shared");
        assert!(!Arc::ptr_eq(&next[0], &previous[1]), "b: changed, new");
        assert_eq!(share_unchanged(&[], fresh.clone()).len(), 3);
    }

    #[test]
    fn a_peers_approval_turns_only_our_pending_request_to_it_approved() {
        let t0 = Instant::now();
        let read = ReadTime {
            started: t0,
            started_wall: k8s_openapi::jiff::Timestamp::now(),
            ended: t0,
        };
        let record = |source: &str, target: &str, status: LinkStatus| {
            Arc::new(OrganizationLinkResponse {
                source_organization_id: Some(source.into()),
                target_organization_id: Some(target.into()),
                source_region: Some("us-east-1".into()),
                target_region: Some("us-east-1".into()),
                target_name: Some(format!("{target} name")),
                status: Some(status),
            })
        };
        let me = GenesysOrg {
            id: "me".into(),
            ..GenesysOrg::default()
        };
        let s = Snapshot::assemble(
            (me, vec![], read),
            (
                vec![
                    record("me", "a", LinkStatus::Pending),
                    record("b", "me", LinkStatus::ApprovalPending),
                    record("me", "c", LinkStatus::Approved),
                ],
                read,
            ),
            (vec![], read),
            (vec![], read),
        );
        let next = approved_by(&s, "a", Some("other"))
            .next()
            .expect("our request to a");
        assert_eq!(
            next.link_with("a").unwrap().status,
            Some(LinkStatus::Approved)
        );
        assert_eq!(
            next.link_with("a").unwrap().target_name.as_deref(),
            Some("a name")
        );
        assert_eq!(next.links.len(), 3);
        // The records it did not change are the very ones of the version before.
        assert!(!Arc::ptr_eq(&s.links[0], &next.links[0]));
        assert!(Arc::ptr_eq(&s.links[1], &next.links[1]));
        assert!(Arc::ptr_eq(&s.links[2], &next.links[2]));
        // Cleaning copies only a record that needs it.
        let mut dirty = s.clone();
        Arc::make_mut(&mut dirty.links[2]).target_name = Some("c\u{7}name".into());
        let cleaned = clean_snapshot(dirty.clone());
        let name = cleaned.links[2].target_name.clone().unwrap();
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(Arc::ptr_eq(&dirty.links[0], &cleaned.links[0]));
        assert!(Arc::ptr_eq(&dirty.links[1], &cleaned.links[1]));
        assert_eq!(
            next.links_read.started, t0,
            "the list is no fresher than it was"
        );
        // Not ours to approve, or not there: read instead.
        assert!(matches!(approved_by(&s, "b", None), Effect::Unknown));
        assert!(matches!(approved_by(&s, "d", None), Effect::Unknown));
        // Our request to c approved already: read after the approval, nothing to do.
        assert!(matches!(approved_by(&s, "c", None), Effect::Shown));
        assert!(matches!(approved_by(&next, "a", None), Effect::Shown));
        // A record without a name (our request's answer) takes the peer's own.
        let mut unnamed = s.clone();
        Arc::make_mut(&mut unnamed.links[0]).target_name = None;
        let next = approved_by(&unnamed, "a", Some("A Corp")).next().unwrap();
        assert_eq!(
            next.link_with("a").unwrap().target_name.as_deref(),
            Some("A Corp")
        );
    }

    #[test]
    fn a_request_made_here_to_us_is_listed_as_ours_to_approve() {
        let t0 = Instant::now();
        let read = ReadTime {
            started: t0,
            started_wall: k8s_openapi::jiff::Timestamp::now(),
            ended: t0,
        };
        let me = GenesysOrg {
            id: "me".into(),
            ..GenesysOrg::default()
        };
        let s = Snapshot::assemble(
            (me, vec![], read),
            (vec![], read),
            (vec![], read),
            (vec![], read),
        );
        let request = |source: &str, target: &str| crate::genesys::models::OrganizationLink {
            source_organization_id: source.into(),
            target_organization_id: target.into(),
            source_region: "eu-west-1".into(),
            target_region: "us-east-1".into(),
            status: Some(LinkStatus::Pending),
        };
        let next = requested_by(&s, &request("a", "me"), Some("A Corp"))
            .next()
            .expect("a request to us");
        let listed = next.link_with("a").unwrap();
        assert_eq!(listed.source_organization_id.as_deref(), Some("me"));
        assert_eq!(listed.target_organization_id.as_deref(), Some("a"));
        assert_eq!(listed.source_region.as_deref(), Some("us-east-1"));
        assert_eq!(listed.target_region.as_deref(), Some("eu-west-1"));
        assert_eq!(listed.target_name.as_deref(), Some("A Corp"));
        assert_eq!(listed.status, Some(LinkStatus::ApprovalPending));
        // Not to us, or from us: read instead.
        assert!(matches!(
            requested_by(&s, &request("a", "b"), None),
            Effect::Unknown
        ));
        assert!(matches!(
            requested_by(&s, &request("me", "me"), None),
            Effect::Unknown
        ));
        // The request listed already, pending our approval (read after it): nothing to do.
        assert!(matches!(
            requested_by(&next, &request("a", "me"), None),
            Effect::Shown
        ));
        // Another record with the requester (our own request to it, crossing): read.
        let mut crossing = Snapshot::clone(&next);
        Arc::make_mut(&mut crossing.links[0]).status = Some(LinkStatus::Pending);
        assert!(matches!(
            requested_by(&crossing, &request("a", "me"), None),
            Effect::Unknown
        ));
    }

    #[test]
    fn a_caller_reads_only_the_lists_it_needs() {
        let t0 = Instant::now();
        let read_at = |secs: u64| {
            let at = t0 + Duration::from_secs(secs);
            ReadTime {
                started: at,
                started_wall: k8s_openapi::jiff::Timestamp::now(),
                ended: at,
            }
        };
        let s = Snapshot::assemble(
            (GenesysOrg::default(), vec![], read_at(0)),
            (vec![], read_at(0)),
            (vec![], read_at(25)),
            (vec![], read_at(0)),
        );
        let now = t0 + Duration::from_secs(30);
        let none = Parts::default();
        let lists = Parts {
            identity: false,
            ..Parts::ALL
        };
        let old_lists = Parts {
            trustees: false,
            ..lists
        };
        let s10 = Duration::from_secs(10);
        let s60 = Duration::from_secs(60);
        // (stale, needs, max_age) -> parts read
        let table = [
            // A link look that accepts 10 s reads the 30 s old link list only.
            (none, Parts::LINKS, s10, Parts::LINKS),
            // A trustor side: its trustee list is 5 s old, so nothing; a trustee side
            // reads its 30 s old trustor list, not the trustee list.
            (none, Parts::TRUSTEES, s10, none),
            (none, Parts::TRUSTORS, s10, Parts::TRUSTORS),
            // The Organization's look needs everything that is old.
            (none, Parts::ALL, s10, old_lists),
            (none, Parts::ALL, Duration::ZERO, lists),
            // Stale lists are read by whoever needs them, and only by them.
            (Parts::TRUSTS, Parts::LINKS, s60, none),
            (Parts::TRUSTS, Parts::TRUSTEES, s60, Parts::TRUSTEES),
            (Parts::TRUSTEES, Parts::TRUSTORS, s60, none),
            // The identity is every caller's, read when stale whatever it needs.
            (
                Parts::ALL,
                Parts::LINKS,
                s60,
                Parts {
                    trustees: false,
                    trustors: false,
                    ..Parts::ALL
                },
            ),
        ];
        for (stale, needs, max_age, expected) in table {
            assert_eq!(
                parts_to_read(Some(&s), stale, needs, max_age, now),
                expected,
                "stale {stale:?}, needs {needs:?}, max_age {max_age:?}"
            );
        }
        assert_eq!(
            parts_to_read(None, none, Parts::LINKS, s60, now),
            Parts::ALL
        );
    }

    #[test]
    fn role_names_are_read_once_then_kept_until_they_are_old() {
        let t0 = Instant::now();
        let mut roles = RoleNames::default();
        let wanted = names(&["Supervisor", "Ghost"]);
        assert_eq!(roles.to_resolve(&wanted, t0), wanted, "nothing known yet");
        let read: BTreeMap<String, Option<String>> = [
            ("Supervisor".to_string(), Some("r1".to_string())),
            ("Ghost".to_string(), None),
        ]
        .into();
        roles.learn(&read, t0);
        assert_eq!(
            roles.to_resolve(&wanted, t0 + Duration::from_secs(60)),
            names(&["Ghost"]),
            "a name without a role is asked again, a known one is not"
        );
        assert_eq!(roles.answer(&wanted), read);
        assert_eq!(
            roles.to_resolve(&wanted, t0 + IDENTITY_MAX_AGE),
            wanted,
            "known names are read again once as old as the identity may be"
        );
    }

    #[test]
    fn a_role_that_went_is_forgotten() {
        let t0 = Instant::now();
        let mut roles = RoleNames::default();
        roles.learn(
            &[("Supervisor".to_string(), Some("r1".to_string()))].into(),
            t0,
        );
        roles.learn(&[("Supervisor".to_string(), None)].into(), t0);
        let wanted = names(&["Supervisor"]);
        assert_eq!(roles.to_resolve(&wanted, t0), wanted);
        assert_eq!(roles.answer(&wanted)["Supervisor"], None);
    }
}
