//! Whether an Organization's credentials Secret is held by the
//! [`CREDENTIALS_FINALIZER`] so that deletes finish.
//!
//! Deleting an OrgLink or OrgPairing unlinks or revokes in Genesys Cloud, which needs
//! the acting Organization's OAuth client. The Organization's own finalizer keeps the
//! Organization until its OrgLinks and OrgPairings are gone; this finalizer keeps its
//! Secret as long, so deleting a whole namespace (where the namespace controller
//! deletes the Secret, the Organization and the relationships in whatever order it
//! likes) still cleans up remotely. The Secret is held while an Organization that names
//! it exists and either is not being deleted or still has dependents.

/// The finalizer the operator puts on a credentials Secret while it is in use.
pub const CREDENTIALS_FINALIZER: &str = "orglink.dev/credentials-in-use";

/// One Organization of the Secret's namespace, as far as holding its Secret goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OrganizationUse<'a> {
    pub(crate) name: &'a str,
    /// `spec.credentialsSecretRef.name`.
    pub(crate) secret: &'a str,
    /// Has a deletionTimestamp.
    pub(crate) deleting: bool,
    /// OrgLinks or OrgPairings still name it in `organizationRef`.
    pub(crate) has_dependents: bool,
}

/// Whether the Secret named `secret` is still needed by one of `organizations`.
/// `releasing` names an Organization whose cleanup has just verified it has no
/// dependents left (its view is fresher than the list's), so it does not count.
pub(crate) fn secret_in_use(
    secret: &str,
    organizations: &[OrganizationUse<'_>],
    releasing: Option<&str>,
) -> bool {
    organizations.iter().any(|org| {
        org.secret == secret && Some(org.name) != releasing && (!org.deleting || org.has_dependents)
    })
}

/// The Secret as far as its finalizers go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SecretState {
    pub(crate) held: bool,
    /// Has a deletionTimestamp.
    pub(crate) deleting: bool,
}

/// What to do with the Secret's finalizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HoldChange {
    Add,
    Remove,
    /// Nothing to change (or nothing that can be changed).
    Keep,
}

/// The finalizer change for a Secret in `state` that is (or is not) `in_use`. A
/// Secret already being deleted cannot get a new finalizer (the API server refuses to
/// add one), so one deleted before the operator held it is left as it is: cleanup then
/// uses the connection the operator already has, if any.
pub(crate) fn decide_hold(state: SecretState, in_use: bool) -> HoldChange {
    match (in_use, state.held, state.deleting) {
        (true, false, false) => HoldChange::Add,
        (false, true, _) => HoldChange::Remove,
        _ => HoldChange::Keep,
    }
}

/// The `Ready` message of an Organization whose Secret is being deleted. Such a Secret
/// is no longer used for new work (the user asked for it to go) but is kept, and read,
/// for the cleanup of the Organization's OrgLinks and OrgPairings.
pub(crate) fn secret_being_deleted(
    namespace: &str,
    secret: &str,
    id_key: &str,
    secret_key: &str,
) -> String {
    format!(
        "Secret {namespace}/{secret} (spec.credentialsSecretRef.name) is being deleted; it is kept (finalizer {CREDENTIALS_FINALIZER}) only so that deleting this Organization's OrgLinks and OrgPairings can still clean up in Genesys Cloud. Point spec.credentialsSecretRef at another Secret with keys {id_key} and {secret_key}, or delete the Organization"
    )
}

/// `finalizers` after `change` (order kept, the operator's entry added last).
pub(crate) fn finalizers_after(finalizers: &[String], change: HoldChange) -> Vec<String> {
    let others = finalizers
        .iter()
        .filter(|f| f.as_str() != CREDENTIALS_FINALIZER)
        .cloned();
    match change {
        HoldChange::Add => others
            .chain(std::iter::once(CREDENTIALS_FINALIZER.to_string()))
            .collect(),
        HoldChange::Remove => others.collect(),
        HoldChange::Keep => finalizers.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn org<'a>(name: &'a str, secret: &'a str, deleting: bool, deps: bool) -> OrganizationUse<'a> {
        OrganizationUse {
            name,
            secret,
            deleting,
            has_dependents: deps,
        }
    }

    #[test]
    fn a_secret_is_in_use_while_a_live_or_still_needed_organization_names_it() {
        // (organizations, releasing, in use?)
        let cases: Vec<(Vec<OrganizationUse>, Option<&str>, bool)> = vec![
            (vec![], None, false),
            (vec![org("a", "creds", false, false)], None, true),
            (vec![org("a", "other", false, true)], None, false),
            // Being deleted: needed only until its OrgLinks and OrgPairings are gone.
            (vec![org("a", "creds", true, true)], None, true),
            (vec![org("a", "creds", true, false)], None, false),
            // The Organization whose cleanup releases does not count, even if the
            // list still shows dependents it has just seen go.
            (vec![org("a", "creds", true, true)], Some("a"), false),
            // Another Organization sharing the Secret keeps it.
            (
                vec![
                    org("a", "creds", true, false),
                    org("b", "creds", false, false),
                ],
                Some("a"),
                true,
            ),
            (
                vec![
                    org("a", "creds", true, false),
                    org("b", "creds", true, true),
                ],
                Some("a"),
                true,
            ),
            (
                vec![
                    org("a", "creds", true, false),
                    org("b", "creds", true, false),
                ],
                Some("a"),
                false,
            ),
        ];
        for (orgs, releasing, expected) in cases {
            assert_eq!(
                secret_in_use("creds", &orgs, releasing),
                expected,
                "{orgs:?} releasing {releasing:?}"
            );
        }
    }

    #[test]
    fn the_finalizer_is_added_while_in_use_and_removed_after() {
        let s = |held, deleting| SecretState { held, deleting };
        // (state, in use, change)
        let cases = [
            (s(false, false), true, HoldChange::Add),
            (s(true, false), true, HoldChange::Keep),
            // Deleted before it was held: a new finalizer would be refused.
            (s(false, true), true, HoldChange::Keep),
            (s(true, true), true, HoldChange::Keep),
            (s(true, false), false, HoldChange::Remove),
            (s(true, true), false, HoldChange::Remove),
            (s(false, false), false, HoldChange::Keep),
            (s(false, true), false, HoldChange::Keep),
        ];
        for (state, in_use, expected) in cases {
            assert_eq!(decide_hold(state, in_use), expected, "{state:?} {in_use}");
        }
    }

    #[test]
    fn a_secret_being_deleted_is_named_with_the_way_forward() {
        let m = secret_being_deleted("team", "acme-oauth", "clientId", "clientSecret");
        for part in [
            "team/acme-oauth",
            CREDENTIALS_FINALIZER,
            "clientId",
            "clientSecret",
            "spec.credentialsSecretRef",
        ] {
            assert!(m.contains(part), "{part} missing from {m}");
        }
    }

    #[test]
    fn other_finalizers_are_kept_in_order() {
        let current = vec!["a/x".to_string(), "b/y".to_string()];
        assert_eq!(
            finalizers_after(&current, HoldChange::Add),
            ["a/x", "b/y", CREDENTIALS_FINALIZER]
        );
        let held = finalizers_after(&current, HoldChange::Add);
        assert_eq!(finalizers_after(&held, HoldChange::Remove), current);
        assert_eq!(finalizers_after(&current, HoldChange::Keep), current);
    }

    proptest! {
        /// Adding is idempotent and removing takes out exactly the operator's entry.
        #[test]
        fn add_and_remove_touch_only_our_entry(
            others in proptest::collection::vec("[a-z]{1,5}/[a-z]{1,5}", 0..5),
            held in any::<bool>(),
        ) {
            let mut current = others.clone();
            if held {
                current.push(CREDENTIALS_FINALIZER.to_string());
            }
            let added = finalizers_after(&current, HoldChange::Add);
            prop_assert_eq!(added.iter().filter(|f| *f == CREDENTIALS_FINALIZER).count(), 1);
            prop_assert_eq!(finalizers_after(&added, HoldChange::Add), added.clone());
            let removed = finalizers_after(&added, HoldChange::Remove);
            prop_assert_eq!(removed, others);
        }

        /// A Secret held and in use is never released; one not in use is never added.
        #[test]
        fn in_use_never_releases_and_unused_never_holds(
            held in any::<bool>(),
            deleting in any::<bool>(),
            in_use in any::<bool>(),
        ) {
            let change = decide_hold(SecretState { held, deleting }, in_use);
            if in_use {
                prop_assert_ne!(change, HoldChange::Remove);
            } else {
                prop_assert_ne!(change, HoldChange::Add);
            }
        }
    }
}
