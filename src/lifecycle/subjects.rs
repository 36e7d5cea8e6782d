//! Trustee users and groups named by email or name instead of ID (docs/api.md,
//! "Naming users and groups"): given what the lookups found, turn a request or a grant
//! into the IDs Genesys Cloud takes, or say which email or name matches no one or
//! several.
//!
//! Where the names are looked up is the controller's business: the trustee searches its
//! own directory (`POST /api/v2/users/search`, `POST /api/v2/groups/search`); the
//! trustor cannot search the trustee's, so it matches among the users and groups the
//! trustee put in the pairing or the trust (which carry their email and name). Either
//! way the result arrives here as a [`Directory`].
//!
//! Emails match case-insensitively (Genesys keeps them lower case and its search
//! ignores case); group names match exactly, so `Tier 1` and `tier 1` are different
//! groups and a misspelt name is reported rather than guessed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::api::common::is_canonical_uuid;
use crate::api::conditions::{Status, reasons, types};
use crate::api::orgpairing::{GrantSubject, SubjectKind};
use crate::api::{OrgPairingPhase, OrgPairingStatus, PairingGrant, PairingRequest, PairingSide};

use super::pairing::PairingDecision;

/// Who answers to which email and group name, as looked up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    /// Lower-cased email → IDs of the users with that email.
    users: BTreeMap<String, BTreeSet<String>>,
    /// Group name → IDs of the groups with that name.
    groups: BTreeMap<String, BTreeSet<String>>,
}

impl Directory {
    /// Records a user found with `email` (ignored when the user has none, or when the
    /// ID is not a well-formed UUID: a remote's answer is checked before any of it is
    /// written into a trust).
    pub fn add_user(&mut self, id: &str, email: Option<&str>) {
        if !is_canonical_uuid(id) {
            return;
        }
        if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
            self.users
                .entry(email.to_lowercase())
                .or_default()
                .insert(id.to_string());
        }
    }

    /// Records a group found with `name` (ignored when the group has none or the ID is
    /// not a well-formed UUID).
    pub fn add_group(&mut self, id: &str, name: Option<&str>) {
        if !is_canonical_uuid(id) {
            return;
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            self.groups
                .entry(name.to_string())
                .or_default()
                .insert(id.to_string());
        }
    }

    fn user(&self, email: &str) -> Match {
        Match::of(self.users.get(&email.trim().to_lowercase()))
    }

    fn group(&self, name: &str) -> Match {
        Match::of(self.groups.get(name))
    }
}

enum Match {
    One(String),
    None,
    Several(Vec<String>),
}

impl Match {
    fn of(ids: Option<&BTreeSet<String>>) -> Match {
        match ids {
            Some(ids) if ids.len() == 1 => {
                Match::One(ids.iter().next().cloned().unwrap_or_default())
            }
            Some(ids) if ids.len() > 1 => Match::Several(ids.iter().cloned().collect()),
            _ => Match::None,
        }
    }
}

/// An email or group name that does not name exactly one user or group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unresolved {
    pub kind: SubjectKind,
    /// The email or name as the spec writes it.
    pub key: String,
    /// The IDs it matches: none, or several.
    pub matches: Vec<String>,
}

/// The emails and group names a request asks to look up.
pub fn request_names(request: &PairingRequest) -> (BTreeSet<String>, BTreeSet<String>) {
    (
        request.user_emails.iter().cloned().collect(),
        request.group_names.iter().cloned().collect(),
    )
}

/// `request` with its `userEmails` and `groupNames` replaced by the IDs they name
/// (merged into `users` and `groups`, sorted, without duplicates), or every email and
/// name that names no one or several.
pub fn resolve_request(
    request: &PairingRequest,
    dir: &Directory,
) -> Result<PairingRequest, Vec<Unresolved>> {
    let mut users: BTreeSet<String> = request.users.iter().cloned().collect();
    let mut groups: BTreeSet<String> = request.groups.iter().cloned().collect();
    let mut unresolved = Vec::new();
    for email in &request.user_emails {
        take(
            SubjectKind::User,
            email,
            dir.user(email),
            &mut users,
            &mut unresolved,
        );
    }
    for name in &request.group_names {
        take(
            SubjectKind::Group,
            name,
            dir.group(name),
            &mut groups,
            &mut unresolved,
        );
    }
    if !unresolved.is_empty() {
        return Err(unresolved);
    }
    Ok(PairingRequest {
        users: users.into_iter().collect(),
        groups: groups.into_iter().collect(),
        user_emails: vec![],
        group_names: vec![],
    })
}

fn take(
    kind: SubjectKind,
    key: &str,
    found: Match,
    into: &mut BTreeSet<String>,
    unresolved: &mut Vec<Unresolved>,
) {
    match found {
        Match::One(id) => {
            into.insert(id);
        }
        Match::None => unresolved.push(Unresolved {
            kind,
            key: key.to_string(),
            matches: vec![],
        }),
        Match::Several(matches) => unresolved.push(Unresolved {
            kind,
            key: key.to_string(),
            matches,
        }),
    }
}

/// True when a grant names some subject by email or name (the trustor then needs the
/// members' details from the pairing or the trust).
pub fn grant_uses_names(grant: &PairingGrant) -> bool {
    grant
        .users
        .iter()
        .chain(&grant.groups)
        .any(|s| s.id.is_none())
}

/// `grant` with every subject named by ID: emails and group names resolved in `dir`.
/// Two entries that come to the same ID (an ID and the same user's email) become one
/// with the roles of both, so neither entry's roles are silently dropped.
pub fn resolve_grant(
    grant: &PairingGrant,
    dir: &Directory,
) -> Result<PairingGrant, Vec<Unresolved>> {
    let mut unresolved = Vec::new();
    let mut resolve = |kind: SubjectKind, subjects: &[GrantSubject]| -> Vec<GrantSubject> {
        let mut by_id: BTreeMap<String, GrantSubject> = BTreeMap::new();
        for s in subjects {
            let found = match (&s.id, &s.email, &s.name) {
                (Some(id), _, _) => Match::One(id.clone()),
                (None, Some(email), _) if kind == SubjectKind::User => dir.user(email),
                (None, _, Some(name)) if kind == SubjectKind::Group => dir.group(name),
                // A user by name or a group by email: the schema refuses it; nothing
                // to look up, so it names no one.
                _ => Match::None,
            };
            let key =
                s.id.clone()
                    .or_else(|| s.email.clone())
                    .or_else(|| s.name.clone())
                    .unwrap_or_default();
            let mut ids = BTreeSet::new();
            take(kind, &key, found, &mut ids, &mut unresolved);
            if let Some(id) = ids.into_iter().next() {
                let entry = by_id.entry(id.clone()).or_insert_with(|| GrantSubject {
                    id: Some(id),
                    ..GrantSubject::default()
                });
                for role in &s.roles {
                    if !entry.roles.contains(role) {
                        entry.roles.push(role.clone());
                    }
                }
            }
        }
        by_id.into_values().collect()
    };
    let users = resolve(SubjectKind::User, &grant.users);
    let groups = resolve(SubjectKind::Group, &grant.groups);
    if !unresolved.is_empty() {
        return Err(unresolved);
    }
    Ok(PairingGrant {
        users,
        groups,
        ..grant.clone()
    })
}

/// The `Ready` reason for `unresolved`: `SubjectNotFound` when some name matches no
/// one, else `SubjectAmbiguous`.
pub fn reason(unresolved: &[Unresolved]) -> &'static str {
    if unresolved.iter().any(|u| u.matches.is_empty()) {
        reasons::SUBJECT_NOT_FOUND
    } else {
        reasons::SUBJECT_AMBIGUOUS
    }
}

/// What the condition says: each email or name, what it matched, and the fix. `field`
/// is `spec.request` or `spec.grant`; `scope` says where the names were looked up
/// ("in this organization", "among the users and groups of pairing …").
pub fn message(unresolved: &[Unresolved], field: &str, scope: &str) -> String {
    let mut sorted = unresolved.to_vec();
    sorted.sort();
    sorted.dedup();
    let parts: Vec<String> = sorted
        .iter()
        .map(|u| {
            let (what, by, list) = match (u.kind, field) {
                (SubjectKind::User, "spec.request") => ("user", "email", "userEmails"),
                (SubjectKind::Group, "spec.request") => ("group", "name", "groupNames"),
                (SubjectKind::User, _) => ("user", "email", "users"),
                (SubjectKind::Group, _) => ("group", "name", "groups"),
            };
            if u.matches.is_empty() {
                format!(
                    "{field}.{list}: {by} {:?} matches no {what} {scope}; correct the {by} or name the {what} by ID",
                    u.key
                )
            } else {
                format!(
                    "{field}.{list}: {by} {:?} matches {} {what}s {scope} ({}); name the {what} by ID instead",
                    u.key,
                    u.matches.len(),
                    some_of(&u.matches)
                )
            }
        })
        .collect();
    parts.join("; ")
}

/// At most [`MATCHES_SHOWN`] of `ids`, then how many more: a search may answer with
/// hundreds, and a condition message is read by people and kept in etcd.
fn some_of(ids: &[String]) -> String {
    let shown = ids
        .iter()
        .take(MATCHES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match ids.len().saturating_sub(MATCHES_SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// How many of an ambiguous name's matches a message lists.
const MATCHES_SHOWN: usize = 5;

/// The decision when some email or name does not resolve: nothing is called (a request
/// or a trust made from part of the list would give access to the wrong set of
/// people); `Ready` False with [`reason`] and [`message`], and `Stalled`, since only a
/// change of the spec or of the directory moves it on. The last phase is kept.
pub fn unresolved<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    unresolved: &[Unresolved],
    scope: &str,
) -> PairingDecision<A> {
    let field = match side {
        PairingSide::Trustee => "spec.request",
        PairingSide::Trustor => "spec.grant",
    };
    let phase = prev.and_then(|s| s.phase).unwrap_or(OrgPairingPhase::Error);
    let mut d = PairingDecision::new(side, phase, super::Requeue::Resync).condition(
        types::READY,
        Status::False,
        reason(unresolved),
        message(unresolved, field, scope),
    );
    if let Some(prev) = prev {
        d.permissions = prev.permissions.clone();
        d.subjects = prev.subjects.clone();
        d.peer_name = prev.trustee_name.clone().or(prev.trustor_name.clone());
    }
    d
}

/// How long a user or group lookup is trusted before it is repeated: an hour for a
/// name that matched exactly one (IDs do not change; a renamed user is caught within
/// the hour), five minutes for one that did not (someone is probably fixing it, and
/// the object is Stalled until then).
pub fn lookup_max_age(matched_one: bool) -> Duration {
    if matched_one {
        Duration::from_secs(3_600)
    } else {
        Duration::from_secs(300)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::api::orgpairing::RoleRef;
    use crate::lifecycle::health::{Health, health_of};

    const U1: &str = "00000000-0000-4000-8000-000000000001";
    const U2: &str = "00000000-0000-4000-8000-000000000002";
    const G1: &str = "00000000-0000-4000-8000-0000000000a1";
    const G2: &str = "00000000-0000-4000-8000-0000000000a2";

    fn dir() -> Directory {
        let mut d = Directory::default();
        d.add_user(U1, Some("Ana@Example.com"));
        d.add_user(U2, Some("twin@example.com"));
        d.add_user(
            "00000000-0000-4000-8000-000000000003",
            Some("twin@example.com"),
        );
        d.add_user("00000000-0000-4000-8000-000000000004", None);
        d.add_group(G1, Some("Tier 1 Support"));
        d.add_group(G2, Some("Night"));
        d.add_group("00000000-0000-4000-8000-0000000000a3", Some("Night"));
        d
    }

    #[test]
    fn a_remote_id_that_is_not_a_uuid_is_not_recorded() {
        let mut d = Directory::default();
        d.add_user("../../admin", Some("ana@example.com"));
        d.add_group("00000000-0000-4000-8000-0000000000A1", Some("Night"));
        assert_eq!(d, Directory::default());
    }

    #[test]
    fn an_ambiguous_message_lists_five_matches_and_counts_the_rest() {
        let mut d = Directory::default();
        for i in 0..300 {
            d.add_user(
                &format!("00000000-0000-4000-8000-{i:012}"),
                Some("all@example.com"),
            );
        }
        let err = resolve_request(&request(&[], &["all@example.com"], &[], &[]), &d).unwrap_err();
        let text = message(&err, "spec.request", "in this organization");
        assert!(text.contains("matches 300 users"), "{text}");
        assert!(
            text.contains("and 295 more); name the user by ID instead"),
            "{text}"
        );
        assert_eq!(
            text.matches("00000000-0000-4000-8000-").count(),
            5,
            "{text}"
        );
    }

    fn request(users: &[&str], emails: &[&str], groups: &[&str], names: &[&str]) -> PairingRequest {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        PairingRequest {
            users: v(users),
            groups: v(groups),
            user_emails: v(emails),
            group_names: v(names),
        }
    }

    /// (emails, group names) → Ok(users, groups) or Err(unresolved keys with match counts).
    #[test]
    fn request_table() {
        type Row<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            Result<(Vec<&'a str>, Vec<&'a str>), Vec<(&'a str, usize)>>,
        );
        let rows: &[Row] = &[
            (&["ana@example.com"], &[], Ok((vec![U1], vec![]))),
            (&["ANA@EXAMPLE.COM "], &[], Ok((vec![U1], vec![]))),
            (&[], &["Tier 1 Support"], Ok((vec![], vec![G1]))),
            (
                &["ana@example.com"],
                &["Tier 1 Support"],
                Ok((vec![U1], vec![G1])),
            ),
            (
                &["nobody@example.com"],
                &[],
                Err(vec![("nobody@example.com", 0)]),
            ),
            (
                &["twin@example.com"],
                &[],
                Err(vec![("twin@example.com", 2)]),
            ),
            // Group names match exactly: case matters.
            (&[], &["tier 1 support"], Err(vec![("tier 1 support", 0)])),
            (&[], &["Night"], Err(vec![("Night", 2)])),
            (
                &["nobody@example.com", "ana@example.com"],
                &["Night"],
                Err(vec![("nobody@example.com", 0), ("Night", 2)]),
            ),
        ];
        for (emails, names, want) in rows {
            let got = resolve_request(&request(&[], emails, &[], names), &dir());
            match (got, want) {
                (Ok(r), Ok((users, groups))) => {
                    assert_eq!(r.users, *users, "{emails:?} {names:?}");
                    assert_eq!(r.groups, *groups, "{emails:?} {names:?}");
                    assert!(r.user_emails.is_empty() && r.group_names.is_empty());
                }
                (Err(u), Err(want)) => {
                    let got: Vec<(&str, usize)> = u
                        .iter()
                        .map(|u| (u.key.as_str(), u.matches.len()))
                        .collect();
                    assert_eq!(&got, want, "{emails:?} {names:?}");
                }
                (got, want) => panic!("{emails:?} {names:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn ids_and_emails_of_the_same_user_merge() {
        let r = resolve_request(&request(&[U1], &["ana@example.com"], &[G1], &[]), &dir()).unwrap();
        assert_eq!(r.users, vec![U1]);
        assert_eq!(r.groups, vec![G1]);
    }

    fn subject(
        id: Option<&str>,
        email: Option<&str>,
        name: Option<&str>,
        role: &str,
    ) -> GrantSubject {
        GrantSubject {
            id: id.map(String::from),
            email: email.map(String::from),
            name: name.map(String::from),
            roles: vec![RoleRef {
                name: Some(role.into()),
                id: None,
                divisions: Vec::new(),
            }],
        }
    }

    fn grant(users: Vec<GrantSubject>, groups: Vec<GrantSubject>) -> PairingGrant {
        PairingGrant {
            pairing_id: None,
            enabled: true,
            expires_at: None,
            users,
            groups,
        }
    }

    #[test]
    fn grant_subjects_resolve_and_merge_their_roles() {
        let g = grant(
            vec![
                subject(Some(U1), None, None, "Supervisor"),
                subject(None, Some("ana@example.com"), None, "Agent"),
            ],
            vec![subject(None, None, Some("Tier 1 Support"), "Agent")],
        );
        assert!(grant_uses_names(&g));
        let r = resolve_grant(&g, &dir()).unwrap();
        assert!(!grant_uses_names(&r));
        assert_eq!(r.users.len(), 1);
        assert_eq!(r.users[0].id.as_deref(), Some(U1));
        let roles: Vec<_> = r.users[0]
            .roles
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        assert_eq!(roles, ["Supervisor", "Agent"]);
        assert_eq!(r.groups[0].id.as_deref(), Some(G1));
    }

    #[test]
    fn unresolved_grant_subjects_are_all_reported() {
        let g = grant(
            vec![subject(None, Some("ghost@example.com"), None, "Agent")],
            vec![subject(None, None, Some("Night"), "Agent")],
        );
        let u = resolve_grant(&g, &dir()).unwrap_err();
        assert_eq!(reason(&u), reasons::SUBJECT_NOT_FOUND);
        let msg = message(
            &u,
            "spec.grant",
            "among the users and groups of pairing p-1",
        );
        assert_eq!(
            msg,
            format!(
                "spec.grant.users: email \"ghost@example.com\" matches no user among the users and groups of pairing p-1; correct the email or name the user by ID; spec.grant.groups: name \"Night\" matches 2 groups among the users and groups of pairing p-1 ({G2}, 00000000-0000-4000-8000-0000000000a3); name the group by ID instead"
            )
        );
    }

    #[test]
    fn only_ambiguity_reads_ambiguous() {
        let u =
            resolve_request(&request(&[], &["twin@example.com"], &[], &[]), &dir()).unwrap_err();
        assert_eq!(reason(&u), reasons::SUBJECT_AMBIGUOUS);
        assert!(message(&u, "spec.request", "in this organization").starts_with(
            "spec.request.userEmails: email \"twin@example.com\" matches 2 users in this organization"
        ));
    }

    #[test]
    fn the_unresolved_decision_is_stalled_and_calls_nothing() {
        let prev = OrgPairingStatus {
            phase: Some(OrgPairingPhase::Authorized),
            pairing_id: Some("p-1".into()),
            ..OrgPairingStatus::default()
        };
        let u = vec![Unresolved {
            kind: SubjectKind::User,
            key: "ghost@example.com".into(),
            matches: vec![],
        }];
        let d: PairingDecision<()> = unresolved(
            PairingSide::Trustee,
            Some(&prev),
            &u,
            "in this organization",
        );
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, OrgPairingPhase::Authorized);
        let ready = d
            .conditions
            .iter()
            .find(|c| c.type_ == types::READY)
            .unwrap();
        assert_eq!(ready.reason, reasons::SUBJECT_NOT_FOUND);
        assert!(ready.message.contains("ghost@example.com"));
        assert_eq!(health_of(ready), Health::Failed);
        let fresh: PairingDecision<()> = unresolved(PairingSide::Trustor, None, &u, "x");
        assert_eq!(fresh.phase, OrgPairingPhase::Error);
    }

    #[test]
    fn failed_lookups_are_repeated_sooner() {
        assert!(lookup_max_age(false) < lookup_max_age(true));
    }

    proptest! {
        /// Whatever the directory and the names: a resolved request names only IDs, each
        /// the single match of one of its names or one of its own IDs; an unresolved one
        /// lists exactly the names that matched zero or several.
        #[test]
        fn resolution_is_exact(
            people in proptest::collection::vec((0u8..6, 0u8..4), 0..12),
            asked in proptest::collection::btree_set(0u8..5, 0..5),
        ) {
            let mut d = Directory::default();
            let id = |n: u8| format!("00000000-0000-4000-8000-{n:012}");
            let email = |e: u8| format!("u{e}@example.com");
            for (who, mail) in &people {
                d.add_user(&id(*who), Some(&email(*mail)));
            }
            let emails: Vec<String> = asked.iter().map(|e| email(*e)).collect();
            let req = PairingRequest { user_emails: emails.clone(), ..PairingRequest::default() };
            let count = |e: &String| -> BTreeSet<String> {
                people.iter().filter(|(_, m)| &email(*m) == e).map(|(w, _)| id(*w)).collect()
            };
            match resolve_request(&req, &d) {
                Ok(r) => {
                    prop_assert!(r.user_emails.is_empty());
                    let want: BTreeSet<String> = emails.iter().flat_map(count).collect();
                    prop_assert_eq!(r.users.iter().cloned().collect::<BTreeSet<_>>(), want);
                    for e in &emails { prop_assert_eq!(count(e).len(), 1); }
                }
                Err(u) => {
                    let bad: BTreeSet<String> = emails.iter().filter(|e| count(e).len() != 1).cloned().collect();
                    prop_assert_eq!(u.iter().map(|u| u.key.clone()).collect::<BTreeSet<_>>(), bad);
                    for x in &u { prop_assert_eq!(x.matches.len(), count(&x.key).len()); }
                }
            }
        }
    }
}
