//! Lookups of our own org's users by email and groups by name, for OrgPairing requests
//! that name them so (docs/api.md, "Naming users and groups"), cached per org session:
//! a name that matched exactly one is trusted for an hour, one that did not for five
//! minutes ([`crate::lifecycle::subjects::lookup_max_age`]), so a settled pairing
//! costs no search per reconcile and a Stalled one is retried soon after the directory
//! is fixed. A new session (new credentials) starts with an empty cache.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use crate::genesys::GenesysError;
use crate::lifecycle::subjects::{Directory, lookup_max_age};

use super::sessions::OrgSession;

/// What one search found: `(id, email or name)` of each result.
type Found = Vec<(String, Option<String>)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    UserEmail,
    GroupName,
}

/// The cached searches of one org session, by kind and searched value.
#[derive(Default)]
pub(crate) struct DirectoryCache {
    entries: parking_lot::Mutex<HashMap<(Kind, String), (Instant, Found)>>,
}

impl DirectoryCache {
    fn fresh(&self, key: &(Kind, String), now: Instant) -> Option<Found> {
        let entries = self.entries.lock();
        let (at, found) = entries.get(key)?;
        let matched_one = found.len() == 1;
        (now.duration_since(*at) < lookup_max_age(matched_one)).then(|| found.clone())
    }

    fn store(&self, key: (Kind, String), at: Instant, found: Found) {
        self.entries.lock().insert(key, (at, found));
    }
}

/// The directory entries for `emails` and group `names`: each searched unless a fresh
/// answer is cached. Searches go one by one (a request names a handful).
pub(crate) async fn lookup(
    session: &OrgSession,
    emails: &BTreeSet<String>,
    names: &BTreeSet<String>,
) -> Result<Directory, GenesysError> {
    let mut dir = Directory::default();
    for email in emails {
        for (id, email) in &cached(session, Kind::UserEmail, email.trim()).await? {
            dir.add_user(id, email.as_deref());
        }
    }
    for name in names {
        for (id, name) in &cached(session, Kind::GroupName, name).await? {
            dir.add_group(id, name.as_deref());
        }
    }
    Ok(dir)
}

/// What a search for `value` finds: the cached answer while fresh, else a new search.
async fn cached(session: &OrgSession, kind: Kind, value: &str) -> Result<Found, GenesysError> {
    let key = match kind {
        Kind::UserEmail => (kind, value.to_lowercase()),
        Kind::GroupName => (kind, value.to_string()),
    };
    if let Some(found) = session.directory.fresh(&key, Instant::now()) {
        return Ok(found);
    }
    let at = Instant::now();
    let client = &session.client;
    let found: Found = match kind {
        Kind::UserEmail => (client.search_users_by_email(value).await?)
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect(),
        Kind::GroupName => (client.search_groups_by_name(value).await?)
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect(),
    };
    session.directory.store(key, at, found.clone());
    Ok(found)
}
