//! Property tests over all three decision functions:
//! - idempotent: once the remote state reflects the actions, deciding again does nothing;
//! - never both create and delete in one step;
//! - `Decline` never creates a request;
//! - no request is re-sent after a rejection or an unlink unless `attempt` changed.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;
use proptest::prelude::*;

use crate::api::{
    LinkDecision, LinkDirection, OrgLinkPhase, OrgLinkSpec, OrgLinkStatus, PeerRef, Region,
};

use super::link::{self, LinkAction, LinkInput, RemoteLink};
use super::pairing::{self, PairingLookup, PairingRecord};
use super::testkit::*;
use super::trustee::{self, ObservedTrustor, TrusteeAction, TrusteeInput};
use super::trustor::{self, ObservedTrustee, TrustorAction, TrustorInput};

fn remote() -> impl Strategy<Value = RemoteLink> {
    prop_oneof![
        Just(RemoteLink::None),
        Just(RemoteLink::OutgoingPending),
        Just(RemoteLink::IncomingPending),
        Just(RemoteLink::Approved {
            direction: LinkDirection::Outgoing
        }),
        Just(RemoteLink::Approved {
            direction: LinkDirection::Incoming
        }),
        Just(RemoteLink::OutgoingRejected),
    ]
}

fn phase() -> impl Strategy<Value = OrgLinkPhase> {
    prop_oneof![
        Just(OrgLinkPhase::Requesting),
        Just(OrgLinkPhase::WaitingForConfirmation),
        Just(OrgLinkPhase::Linked),
        Just(OrgLinkPhase::Declined),
        Just(OrgLinkPhase::RejectedByPeer),
        Just(OrgLinkPhase::UnlinkedByPeer),
        Just(OrgLinkPhase::Error),
    ]
}

fn link_status() -> impl Strategy<Value = Option<OrgLinkStatus>> {
    proptest::option::of((phase(), proptest::option::of(0i64..3)).prop_map(|(p, a)| {
        OrgLinkStatus {
            phase: Some(p),
            observed_attempt: a,
            ..Default::default()
        }
    }))
}

fn link_spec(decision: bool, attempt: i64) -> OrgLinkSpec {
    OrgLinkSpec {
        organization_ref: "acme-prod".into(),
        peer: PeerRef {
            organization_id: TRUSTOR.into(),
            region: Region::UsEast1,
        },
        decision: if decision {
            LinkDecision::Accept
        } else {
            LinkDecision::Decline
        },
        attempt,
    }
}

/// What the link list shows after our actions succeeded.
fn apply_link(mut remote: RemoteLink, actions: &[LinkAction]) -> RemoteLink {
    for a in actions {
        remote = match a {
            LinkAction::Request => RemoteLink::OutgoingPending,
            LinkAction::Approve => RemoteLink::Approved {
                direction: LinkDirection::Incoming,
            },
            LinkAction::Reject | LinkAction::Delete => RemoteLink::None,
        };
    }
    remote
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn of_two_orgs_managed_here_exactly_one_sends_the_request(
        a in "[0-9a-f]{8}-0000-4000-8000-000000000000",
        b in "[0-9a-f]{8}-0000-4000-8000-000000000000",
        attempt in 0i64..3,
    ) {
        prop_assume!(a != b);
        let now = Timestamp::UNIX_EPOCH;
        let requests = [(&a, &b), (&b, &a)]
            .into_iter()
            .filter(|(me, peer)| {
                let spec = link_spec(true, attempt);
                let local_peer = link::LocalPeer {
                    accepts: true,
                    asks_first: link::leave_request_to_peer(me, peer, true, None, now),
                    ..Default::default()
                };
                let d = link::decide(LinkInput {
                    spec: &spec,
                    status: None,
                    remote: RemoteLink::None,
                    local_peer: Some(local_peer),
                });
                d.actions.contains(&LinkAction::Request)
            })
            .count();
        prop_assert_eq!(requests, 1);
    }

    #[test]
    fn link_decisions_are_idempotent_and_safe(
        accept in any::<bool>(),
        attempt in 0i64..3,
        prev in link_status(),
        remote in remote(),
    ) {
        let spec = link_spec(accept, attempt);
        let d = link::decide(LinkInput { spec: &spec, status: prev.as_ref(), remote, local_peer: None });
        let creates = d.actions.iter().any(|a| matches!(a, LinkAction::Request | LinkAction::Approve));
        let deletes = d.actions.iter().any(|a| matches!(a, LinkAction::Delete | LinkAction::Reject));
        prop_assert!(!(creates && deletes), "{:?}", d.actions);
        prop_assert!(d.actions.len() <= 1);
        if !accept {
            prop_assert!(!d.actions.contains(&LinkAction::Request));
        }
        // A refusal or unlink recorded for this attempt is never answered with a request.
        if let Some(p) = &prev {
            let refused = matches!(p.phase, Some(OrgLinkPhase::RejectedByPeer | OrgLinkPhase::UnlinkedByPeer));
            if refused && p.observed_attempt == Some(attempt) {
                prop_assert!(!d.actions.contains(&LinkAction::Request), "{:?} {:?}", p, remote);
            }
        }
        // Once the remote reflects the actions, deciding again does nothing.
        let after = apply_link(remote, &d.actions);
        let status = link::next_status(prev.as_ref(), &d, None, Some(1), Timestamp::UNIX_EPOCH);
        let again = link::decide(LinkInput { spec: &spec, status: Some(&status), remote: after, local_peer: None });
        prop_assert!(again.actions.is_empty(), "first {:?} then {:?}", d.actions, again.actions);
        prop_assert_eq!(again.phase, d.phase);
        // The deletion path never creates.
        let del = link::decide_deletion(remote, false);
        let del_creates = del.iter().any(|a| matches!(a, LinkAction::Request | LinkAction::Approve));
        prop_assert!(!del_creates, "{:?}", del);
        prop_assert!(link::decide_deletion(apply_link(remote, &del), false).is_empty());
    }
}

const USERS: [&str; 3] = [U1, U2, U3];

fn subset() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(USERS.to_vec(), 0..=3)
}

fn trustee_pairing() -> impl Strategy<Value = PairingLookup> {
    prop_oneof![
        Just(PairingLookup::NotLooked),
        Just(PairingLookup::NotFound),
        (subset(), 0i64..60).prop_map(|(u, h)| PairingLookup::Found(pairing(
            "p-0",
            TRUSTEE,
            t(-h),
            &u,
            &[]
        ))),
    ]
}

fn pairing_phase() -> impl Strategy<Value = Option<crate::api::OrgPairingPhase>> {
    use crate::api::OrgPairingPhase::*;
    proptest::option::of(prop_oneof![
        Just(Requesting),
        Just(WaitingForConfirmation),
        Just(Authorized),
        Just(Disabled),
        Just(Revoked),
        Just(Expired),
        Just(Error),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn trustee_decisions_are_idempotent_and_safe(
        wanted in subset().prop_filter("a request names someone", |u| !u.is_empty()),
        groups in proptest::sample::subsequence(vec![G1], 0..=1),
        pairing_seen in trustee_pairing(),
        trust in proptest::option::of((any::<bool>(), subset())),
        prev_phase in pairing_phase(),
    ) {
        let req = request(&wanted, &groups);
        let prev = crate::api::OrgPairingStatus { phase: prev_phase, ..Default::default() };
        let trust = trust.map(|(enabled, users)| ObservedTrustor { enabled, users: set(&users), ..Default::default() });
        let now = t(0);
        let d = trustee::decide(TrusteeInput { request: &req, peer_org_id: TRUSTOR, status: Some(&prev), pairing: pairing_seen.clone(), trust: trust.clone(), now });
        let creates = d.actions.iter().any(|a| matches!(a, TrusteeAction::CreatePairing { .. }));
        prop_assert!(!(creates && d.actions.contains(&TrusteeAction::DeleteTrust)), "{:?}", d.actions);
        let pairings = d.actions.iter().filter(|a| matches!(a, TrusteeAction::CreatePairing { .. })).count();
        prop_assert!(pairings <= 1, "{:?}", d.actions);

        // Apply the actions to the observed world.
        let mut pairing_after = pairing_seen;
        let mut record = PairingRecord::default();
        let mut trust_after = trust;
        for a in &d.actions {
            match a {
                TrusteeAction::CreatePairing { users, groups } => {
                    let u: Vec<&str> = users.iter().map(String::as_str).collect();
                    let g: Vec<&str> = groups.iter().map(String::as_str).collect();
                    pairing_after = PairingLookup::Found(pairing("p-new", TRUSTEE, now, &u, &g));
                    record = PairingRecord { pairing_id: Some("p-new".into()), created_at: Some(now) };
                }
                TrusteeAction::AddUser(id) => { trust_after.as_mut().unwrap().users.insert(id.clone()); }
                TrusteeAction::RemoveUser(id) => { trust_after.as_mut().unwrap().users.remove(id); }
                TrusteeAction::AddGroup(id) => { trust_after.as_mut().unwrap().groups.insert(id.clone()); }
                TrusteeAction::RemoveGroup(id) => { trust_after.as_mut().unwrap().groups.remove(id); }
                TrusteeAction::DeleteTrust => trust_after = None,
            }
        }
        let status = pairing::next_status(Some(&prev), &d, record, Some(1), now);
        let again = trustee::decide(TrusteeInput { request: &req, peer_org_id: TRUSTOR, status: Some(&status), pairing: pairing_after, trust: trust_after, now });
        prop_assert!(again.actions.is_empty(), "first {:?} then {:?}", d.actions, again.actions);
        prop_assert_eq!(again.phase, d.phase);
    }

    #[test]
    fn trustor_decisions_are_idempotent_and_safe(
        granted in subset().prop_filter("a grant names someone", |u| !u.is_empty()),
        role_choice in proptest::collection::vec(0u8..4, 3),
        offered in subset(),
        trust in proptest::option::of((any::<bool>(), proptest::collection::vec((0usize..3, 0u8..4), 0..3))),
        enabled in any::<bool>(),
        prev_phase in pairing_phase(),
        pairing_age in 0i64..60,
    ) {
        let role_refs = |c: u8| match c {
            0 => vec![],
            1 => vec![by_name("Supervisor")],
            2 => vec![by_id(ARCHITECT_ID)],
            _ => vec![by_name("Supervisor"), by_name("Architect access")],
        };
        let role_ids = |c: u8| -> BTreeSet<String> {
            match c {
                0 => set(&[]),
                1 => set(&[SUPERVISOR_ID]),
                2 => set(&[ARCHITECT_ID]),
                _ => set(&[SUPERVISOR_ID, ARCHITECT_ID]),
            }
        };
        let mut g = grant(
            granted.iter().zip(&role_choice).map(|(u, c)| grant_subject(u, role_refs(*c))).collect(),
            vec![],
        );
        g.enabled = enabled;
        let trust = trust.map(|(en, members)| ObservedTrustee {
            enabled: en,
            expires_at: None,
            name: None,
            users: members.into_iter().map(|(i, c)| (USERS[i].to_string(), role_ids(c))).collect(),
            groups: BTreeMap::new(),
        });
        let lookup = PairingLookup::Found(pairing("p-1", TRUSTEE, t(-pairing_age), &offered, &[]));
        let roles = roles();
        let prev = crate::api::OrgPairingStatus { phase: prev_phase, ..Default::default() };
        let now = t(0);
        let no_divisions = BTreeMap::new();
        let input = |status, trust| TrustorInput { grant: &g, peer_org_id: TRUSTEE, status, pairing_id: trustor::PairingIdSource::Spec("p-1".into()), pairing: lookup.clone(), trust, role_ids_by_name: &roles, division_ids_by_name: &no_divisions, now };
        let d = trustor::decide(input(Some(&prev), trust.clone()));
        let creates = d.actions.iter().any(|a| matches!(a, TrustorAction::CreateTrust { .. }));
        prop_assert!(!(creates && d.actions.contains(&TrustorAction::DeleteTrust)), "{:?}", d.actions);
        if creates {
            prop_assert!(trust.is_none());
            prop_assert!(pairing_age < 48, "never accepts an expired pairing: age {}", pairing_age);
        }

        let mut after = trust;
        for a in &d.actions {
            match a {
                TrustorAction::CreateTrust { enabled, expires_at, users, groups, .. } => {
                    after = Some(ObservedTrustee {
                        enabled: *enabled,
                        expires_at: *expires_at,
                        name: None,
                        users: users.iter().map(|m| (m.id.clone(), m.role_ids.iter().cloned().collect())).collect(),
                        groups: groups.iter().map(|m| (m.id.clone(), m.role_ids.iter().cloned().collect())).collect(),
                    });
                }
                TrustorAction::UpdateTrust { enabled, expires_at } => {
                    let t = after.as_mut().unwrap();
                    t.enabled = *enabled;
                    t.expires_at = *expires_at;
                }
                TrustorAction::SetUserRoles(m) => {
                    after.as_mut().unwrap().users.insert(m.id.clone(), m.role_ids.iter().cloned().collect());
                }
                TrustorAction::SetGroupRoles(m) => {
                    after.as_mut().unwrap().groups.insert(m.id.clone(), m.role_ids.iter().cloned().collect());
                }
                TrustorAction::DeleteTrust => after = None,
            }
        }
        let status = pairing::next_status(Some(&prev), &d, PairingRecord::default(), Some(1), now);
        let again = trustor::decide(input(Some(&status), after));
        prop_assert!(again.actions.is_empty(), "first {:?} then {:?}", d.actions, again.actions);
        prop_assert_eq!(again.phase, d.phase);
    }
}
