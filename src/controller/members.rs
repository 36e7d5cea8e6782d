//! The members of each trust as last read, per org session and peer org: on the trustee
//! side who is in it, on the trustor side who is in it with which roles (and their
//! emails and names, to match a grant's). Reading them costs two or more calls per trust
//! (users, groups, each group's roles); a pairing on its way reconciles several times a
//! second (each status write, each wake), and each look used to read them again.
//!
//! Members are kept exactly as long as the trust list they belong to: an entry counts
//! only when its read began after the snapshot's list was read
//! ([`super::sessions::Snapshot::trustors_read_started`], `trustees_read_started`), so
//! they are read again whenever the list is (at the look's `max_age`, the resync once
//! settled, or when marked stale by a peer's write). Our own writes to a trust forget
//! its members first, and then keep them as the writes left them; a list made stale
//! forgets them all.
//!
//! When both sides of a trust are managed here, they list the same members: the trustee
//! with `GET trustors/{trustor}/users|groups`, the trustor with `GET
//! trustees/{trustee}/users|groups` (and the roles). The trustor's reading is shared
//! ([`SharedMembers`], by trustee and trustor org ID), and the trustee takes it instead of
//! reading its own when it began within twice the age the trustee's look accepts: the
//! two sides look on their own (jittered) schedules, so a settled trustee takes the
//! reading of the trustor's last resync wherever in the interval the two fall, and a
//! settled pairing with both sides here costs the trustor's reads only. A reading that
//! differs from the one before (a member added or removed in Genesys) wakes the trustee
//! side at once, so membership, which is the trustee's to keep, is put back as soon as
//! the trustor sees it gone, as when the trustee read it itself. The two orgs' IDs come from
//! their own credentials (`organizations/me`), and what is shared is who is in the trust,
//! which either org may read; either side's write to the trust forgets the shared reading.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::sessions::{OrgSession, TrusteeMembers, TrustorMembers};
use crate::genesys::GenesysError;
use crate::genesys::models::TrustUser;
use crate::lifecycle::subjects::Directory;

/// Members of type `T`, by peer org ID, with when each read began.
pub(crate) struct MemberCache<T> {
    entries: parking_lot::Mutex<Entries<T>>,
}

struct Entries<T> {
    by_peer: HashMap<String, (Instant, T)>,
    /// The last forget: a read that began before it may have seen what was forgotten,
    /// so it is not kept.
    forgotten_at: Option<Instant>,
}

impl<T> Default for MemberCache<T> {
    fn default() -> Self {
        Self {
            entries: parking_lot::Mutex::new(Entries {
                by_peer: HashMap::new(),
                forgotten_at: None,
            }),
        }
    }
}

impl<T: Clone> MemberCache<T> {
    /// The members of the trust with `peer` if their read began at or after `since`.
    pub(crate) fn since(&self, peer: &str, since: Instant) -> Option<T> {
        let entries = self.entries.lock();
        let (started, members) = entries.by_peer.get(peer)?;
        (*started >= since).then(|| members.clone())
    }

    /// Keeps `members` of the trust with `peer`, read from `started`, unless something
    /// was forgotten since that read began.
    pub(crate) fn store(&self, peer: &str, started: Instant, members: T) {
        let mut entries = self.entries.lock();
        if entries.forgotten_at.is_some_and(|at| at > started) {
            return;
        }
        entries.by_peer.insert(peer.to_string(), (started, members));
    }

    /// Forgets the members of the trust with `peer` (we are about to change them).
    pub(crate) fn forget(&self, peer: &str) {
        let mut entries = self.entries.lock();
        entries.by_peer.remove(peer);
        entries.forgotten_at = Some(Instant::now());
    }

    /// Forgets every trust's members (the trust lists were made stale).
    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock();
        entries.by_peer.clear();
        entries.forgotten_at = Some(Instant::now());
    }
}

/// The trustor side's reading of each trust's members (user and group IDs), by
/// (trustee org ID, trustor org ID), for the trustee side to take.
#[derive(Default)]
pub(crate) struct SharedMembers {
    entries: parking_lot::Mutex<SharedEntries>,
}

#[derive(Default)]
struct SharedEntries {
    by_trust: HashMap<(String, String), (Instant, TrustorMembers)>,
    /// The last forget of each trust, as [`Entries::forgotten_at`] (until the trust is
    /// deleted: [`SharedMembers::drop_trust`]).
    forgotten_at: HashMap<(String, String), Instant>,
}

impl SharedMembers {
    /// The members of the trust from `trustee` to `trustor` if their read began at or
    /// after `since`.
    pub(crate) fn since(
        &self,
        trustee: &str,
        trustor: &str,
        since: Instant,
    ) -> Option<TrustorMembers> {
        let entries = self.entries.lock();
        let (started, members) = entries
            .by_trust
            .get(&(trustee.to_owned(), trustor.to_owned()))?;
        (*started >= since).then(|| members.clone())
    }

    /// Shares `members` of the trust from `trustee` to `trustor`, read from `started`,
    /// unless either side changed the trust since that read began. True when they differ
    /// from the reading shared before (the trustee side should look now).
    pub(crate) fn share(
        &self,
        trustee: &str,
        trustor: &str,
        started: Instant,
        members: TrustorMembers,
    ) -> bool {
        let key = (trustee.to_owned(), trustor.to_owned());
        let mut entries = self.entries.lock();
        if entries
            .forgotten_at
            .get(&key)
            .is_some_and(|at| *at > started)
        {
            return false;
        }
        let before = entries.by_trust.insert(key, (started, members.clone()));
        before.is_some_and(|(_, old)| old != members)
    }

    /// Drops all that is kept of the trust from `trustee` to `trustor` (deleted): nothing
    /// outlives it.
    pub(crate) fn drop_trust(&self, trustee: &str, trustor: &str) {
        let key = (trustee.to_owned(), trustor.to_owned());
        let mut entries = self.entries.lock();
        entries.by_trust.remove(&key);
        entries.forgotten_at.remove(&key);
    }

    /// Forgets every reading of a trust where `trustee` is the trustee that began before
    /// `at` (that org was refreshed: its side reads its members from Genesys again, or
    /// takes a reading begun since).
    pub(crate) fn forget_trustee_before(&self, trustee: &str, at: Instant) {
        let mut entries = self.entries.lock();
        let stale: Vec<(String, String)> = entries
            .by_trust
            .iter()
            .filter(|((of, _), (started, _))| of == trustee && *started < at)
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            entries.by_trust.remove(&key);
            entries.forgotten_at.insert(key, at);
        }
    }

    /// Forgets the members of the trust from `trustee` to `trustor` (a side is about to
    /// change them).
    pub(crate) fn forget(&self, trustee: &str, trustor: &str) {
        let key = (trustee.to_owned(), trustor.to_owned());
        let mut entries = self.entries.lock();
        entries.by_trust.remove(&key);
        entries.forgotten_at.insert(key, Instant::now());
    }
}

/// Since when a kept reading of a trust's members counts: since its trust list was read
/// (`list_read`), or, when `max_age` is given (a settled look), for that long.
pub(crate) fn kept_since(list_read: Instant, max_age: Option<Duration>, now: Instant) -> Instant {
    match max_age.and_then(|age| now.checked_sub(age)) {
        Some(oldest) => oldest.min(list_read),
        None => list_read,
    }
}

/// The trustee's way to the trustor side's reading: the shared readings, our org ID,
/// and how old a trust list the look accepts (a shared reading may be twice as old).
pub(crate) struct FromTrustor<'a> {
    pub(crate) shared: &'a SharedMembers,
    pub(crate) me: &'a str,
    pub(crate) max_age: Duration,
}

/// The members of the trust where we are trustee, with `peer` as trustor: kept since
/// `trusts_read`, or as the trustor side here read them within twice the look's
/// `max_age` (`from_trustor`), or read (users, groups).
pub(crate) async fn of_trustor(
    session: &OrgSession,
    peer: &str,
    trusts_read: Instant,
    from_trustor: Option<FromTrustor<'_>>,
) -> Result<TrustorMembers, GenesysError> {
    if let Some(members) = session.trustor_members.since(peer, trusts_read) {
        return Ok(members);
    }
    if let Some(from) = from_trustor
        && let Some(since) = Instant::now().checked_sub(from.max_age * 2)
        && let Some(members) = from.shared.since(from.me, peer, since)
    {
        return Ok(members);
    }
    let started = Instant::now();
    let users = session.client.list_trustor_users(peer).await?;
    let groups = session.client.list_trustor_groups(peer).await?;
    let members = (
        users.into_iter().map(|u| u.id).collect(),
        groups.into_iter().map(|g| g.id).collect(),
    );
    session
        .trustor_members
        .store(peer, started, members.clone());
    Ok(members)
}

/// The members of the trust where we are trustor, with `peer` as trustee, with their
/// roles here: kept since `trusts_read`, or read. A reading is shared with the trustee
/// side when `share` holds our org ID and the shared readings; the flag says it differs
/// from the one shared before.
pub(crate) async fn of_trustee(
    session: &OrgSession,
    peer: &str,
    trusts_read: Instant,
    share: Option<(&SharedMembers, &str)>,
) -> Result<(TrusteeMembers, bool), GenesysError> {
    if let Some(members) = session.trustee_members.since(peer, trusts_read) {
        return Ok((members, false));
    }
    let started = Instant::now();
    let members = read_trustee_members(session, peer).await?;
    session
        .trustee_members
        .store(peer, started, members.clone());
    let changed = share.is_some_and(|(shared, me)| {
        let (users, groups, _) = &members;
        let ids = (
            users.keys().cloned().collect(),
            groups.keys().cloned().collect(),
        );
        shared.share(peer, me, started, ids)
    });
    Ok((members, changed))
}

/// Reads the members of the trust with `peer`: its users with their roles, its groups
/// with theirs, and their emails and names.
async fn read_trustee_members(
    session: &OrgSession,
    peer: &str,
) -> Result<TrusteeMembers, GenesysError> {
    let listed = session.client.list_trustee_users(peer).await?;
    let mut members = Directory::default();
    let mut users = BTreeMap::new();
    for id in users_without_roles(&listed) {
        let roles = session.client.get_trustee_user_roles(peer, &id).await?;
        users.insert(id, role_ids(roles));
    }
    for user in listed {
        members.add_user(&user.id, user.email.as_deref());
        if let Some(auth) = user.authorization {
            users.insert(user.id, role_ids(Some(auth)));
        }
    }
    let mut groups = BTreeMap::new();
    for group in session.client.list_trustee_groups(peer).await? {
        let roles = session
            .client
            .get_trustee_group_roles(peer, &group.id)
            .await?;
        members.add_group(&group.id, group.name.as_deref());
        groups.insert(group.id, role_ids(roles));
    }
    Ok((users, groups, members))
}

/// The listed trust users whose roles the listing does not show (no `authorization`):
/// their roles need a read of their own. An `authorization` without roles is an
/// answer (the user holds none), not a gap.
fn users_without_roles(listed: &[TrustUser]) -> Vec<String> {
    listed
        .iter()
        .filter(|u| u.authorization.is_none())
        .map(|u| u.id.clone())
        .collect()
}

fn role_ids(auth: Option<crate::genesys::models::UserAuthorization>) -> BTreeSet<String> {
    auth.map(|a| a.roles.into_iter().map(|r| r.id).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn members_count_since_their_list_or_for_the_settled_age_whichever_is_longer() {
        let now = Instant::now() + Duration::from_secs(10_000);
        let list_read = now - Duration::from_secs(60);
        // Waiting: as old as the list.
        assert_eq!(kept_since(list_read, None, now), list_read);
        // Settled: for the members' age...
        let age = Duration::from_secs(900);
        assert_eq!(kept_since(list_read, Some(age), now), now - age);
        // ... and never less than since the list.
        let short = Duration::from_secs(5);
        assert_eq!(kept_since(list_read, Some(short), now), list_read);
    }

    #[test]
    fn a_refresh_of_the_trustee_org_drops_the_readings_shared_before_it() {
        let shared = SharedMembers::default();
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(5);
        let members = (ids(&["u1"]), ids(&[]));
        shared.share("msp", "acme", t0, members.clone());
        shared.share("msp", "initech", later, members.clone());
        shared.share("other", "acme", t0, members.clone());
        shared.forget_trustee_before("msp", t0 + Duration::from_secs(1));
        assert_eq!(
            shared.since("msp", "acme", t0),
            None,
            "read before the refresh"
        );
        assert!(shared.since("msp", "initech", t0).is_some(), "read since");
        assert!(
            shared.since("other", "acme", t0).is_some(),
            "another trustee"
        );
        // A read begun before the refresh and shared after it is not taken either.
        assert!(!shared.share("msp", "acme", t0, members));
        assert_eq!(shared.since("msp", "acme", t0), None);
    }

    #[test]
    fn the_trustors_reading_is_shared_by_trust_until_a_side_changes_it() {
        let shared = SharedMembers::default();
        let t0 = Instant::now();
        let members = (ids(&["u1"]), ids(&["g1"]));
        assert!(
            !shared.share("trustee", "trustor", t0, members.clone()),
            "the first"
        );
        assert_eq!(
            shared.since("trustee", "trustor", t0),
            Some(members.clone())
        );
        assert!(
            !shared.share("trustee", "trustor", t0, members.clone()),
            "the same"
        );
        let fewer = (ids(&[]), ids(&["g1"]));
        assert!(
            shared.share("trustee", "trustor", t0, fewer),
            "a member went"
        );
        assert!(shared.share("trustee", "trustor", t0, members.clone()));
        assert_eq!(
            shared.since("trustor", "trustee", t0),
            None,
            "the other direction"
        );
        assert_eq!(
            shared.since("trustee", "trustor", t0 + Duration::from_secs(1)),
            None,
            "too old"
        );
        shared.forget("trustee", "trustor");
        assert_eq!(shared.since("trustee", "trustor", t0), None);
        shared.share("trustee", "trustor", t0, members.clone());
        assert_eq!(
            shared.since("trustee", "trustor", t0),
            None,
            "read began before the write"
        );
        let after = Instant::now();
        let _ = shared.share("trustee", "trustor", after, members.clone());
        assert_eq!(shared.since("trustee", "trustor", after), Some(members));
        shared.drop_trust("trustee", "trustor");
        assert_eq!(shared.since("trustee", "trustor", after), None);
        assert!(
            shared.entries.lock().forgotten_at.is_empty(),
            "nothing outlives it"
        );
    }

    #[test]
    fn members_count_only_when_read_after_the_trust_list() {
        let cache = MemberCache::<u32>::default();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        cache.store("p", t1, 7);
        assert_eq!(cache.since("p", t0), Some(7));
        assert_eq!(cache.since("p", t1), Some(7));
        assert_eq!(
            cache.since("p", t1 + Duration::from_millis(1)),
            None,
            "list re-read"
        );
        assert_eq!(cache.since("q", t0), None);
    }

    #[test]
    fn a_read_that_began_before_a_forget_is_not_kept() {
        let cache = MemberCache::<u32>::default();
        let before = Instant::now();
        cache.store("p", before, 1);
        cache.forget("p");
        assert_eq!(cache.since("p", before), None);
        cache.store("p", before, 2);
        assert_eq!(cache.since("p", before), None, "began before the forget");
        let after = Instant::now();
        cache.store("p", after, 3);
        assert_eq!(cache.since("p", after), Some(3));
        cache.forget_all();
        assert_eq!(cache.since("p", after), None);
    }
}

#[cfg(test)]
mod listing_tests {
    use super::*;
    use crate::genesys::models::{DomainRole, UserAuthorization};

    fn user(id: &str, roles: Option<&[&str]>) -> TrustUser {
        TrustUser {
            id: id.into(),
            authorization: roles.map(|r| UserAuthorization {
                roles: r
                    .iter()
                    .map(|id| DomainRole {
                        id: id.to_string(),
                        name: None,
                    })
                    .collect(),
                ..UserAuthorization::default()
            }),
            ..TrustUser::default()
        }
    }

    #[test]
    fn only_users_listed_without_their_roles_need_a_read_of_their_own() {
        let listed = [
            user("u1", Some(&["r1"])),
            user("u2", None),
            user("u3", Some(&[])),
        ];
        assert_eq!(users_without_roles(&listed), vec!["u2".to_string()]);
        assert!(users_without_roles(&[]).is_empty());
    }
}
