//! Adopting a relationship that already exists in Genesys Cloud (docs/api.md, "Adopt
//! and audit"): an OrgLink or OrgPairing created for a link or trust made in the UI (or
//! by a script, or by an operator that lost its objects) takes it over instead of
//! asking for it again.
//!
//! The decision functions ([`super::link::decide`], [`super::trustee::decide`],
//! [`super::trustor::decide`]) already answer from what Genesys shows: an approved
//! link is `Linked`, a pending request of ours is waited on, a pending request of the
//! peer's is approved, an existing trust is kept and its membership or roles
//! converged. None of them asks for what exists. What this module adds is the *word*
//! for it: whether this reconcile is the one that adopts (the object has never acted,
//! and the relationship is there), so the controller emits one `Adopted` Event naming
//! what was found and that no request was sent.
//!
//! "Never acted" is read from the status, the object's only memory: no phase yet, or
//! only the phases written before any call (`Requesting` while the Organization was not
//! Ready or the object was held, `Error` after a failed read), and no memory of a
//! request (`observedAttempt` for links, `pairingId`/`pairingRequested` for pairings).
//! The intent written before a create (`Requesting` + `observedAttempt`,
//! `pairingRequested`; RELIABILITY.md) is such a memory: what a restarted operator finds
//! then is its own request, not one to adopt, and it says nothing.

use std::collections::BTreeSet;

use k8s_openapi::jiff::Timestamp;

use crate::api::{LinkDecision, LinkDirection, OrgLinkPhase, OrgLinkStatus};
use crate::api::{OrgPairingPhase, OrgPairingStatus, PairingSide};

use super::link::RemoteLink;
use super::pairing::{PairingLookup, PairingRecord, pairing_expired, pairing_expires_at};

/// True when the OrgLink has never acted: nothing in its status says it asked, answered
/// or saw an answer.
pub fn link_never_acted(prev: Option<&OrgLinkStatus>) -> bool {
    prev.is_none_or(|s| {
        s.observed_attempt.is_none()
            && matches!(
                s.phase,
                None | Some(OrgLinkPhase::Requesting | OrgLinkPhase::Error)
            )
    })
}

/// The note of the `Adopted` Event when this decision adopts the link with `peer`, or
/// `None`. Only an OrgLink that accepts adopts; one that declines removes what it finds,
/// and says so with its own Events. A pending request of a peer that declares the link
/// in this cluster too (`peer_declared_here`) is the ordinary handshake, not something
/// made outside to adopt.
pub fn link(
    decision: LinkDecision,
    prev: Option<&OrgLinkStatus>,
    remote: RemoteLink,
    peer: &str,
    peer_declared_here: bool,
) -> Option<String> {
    if decision != LinkDecision::Accept || !link_never_acted(prev) {
        return None;
    }
    match remote {
        RemoteLink::Approved { direction } => {
            let who = match direction {
                LinkDirection::Outgoing => "requested by this org",
                LinkDirection::Incoming => "requested by the peer",
            };
            Some(format!(
                "adopted the active voice link with organization {peer} ({who}, made outside this cluster): no request sent"
            ))
        }
        RemoteLink::OutgoingPending => Some(format!(
            "adopted the link request this org had already sent to organization {peer}: no new request sent; waiting for it to approve"
        )),
        RemoteLink::IncomingPending if peer_declared_here => None,
        RemoteLink::IncomingPending => Some(format!(
            "adopted the pending link request of organization {peer} and approved it: no new request sent"
        )),
        RemoteLink::None | RemoteLink::OutgoingRejected => None,
    }
}

/// True when the OrgPairing has never acted: no phase beyond the ones written before any
/// call, no pairing recorded or being asked for.
pub fn pairing_never_acted(prev: Option<&OrgPairingStatus>) -> bool {
    prev.is_none_or(|s| {
        s.pairing_id.is_none()
            && s.pairing_requested.is_none()
            && matches!(
                s.phase,
                None | Some(OrgPairingPhase::Requesting | OrgPairingPhase::Error)
            )
    })
}

/// The note of the `Adopted` Event when this decision adopts the trust with `peer`, or
/// `None`: the object never acted and the trust exists (the trustor lists us as trustee,
/// seen from the trustee side as the peer in our trustor list, and the other way round).
pub fn trust(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    trust_exists: bool,
    peer: &str,
) -> Option<String> {
    if !trust_exists || !pairing_never_acted(prev) {
        return None;
    }
    Some(match side {
        PairingSide::Trustee => format!(
            "adopted the existing trust of organization {peer} (our users already have access there): no pairing created; membership follows spec.request from now on"
        ),
        PairingSide::Trustor => format!(
            "adopted the existing trust given to organization {peer}: no trust created; roles follow spec.grant from now on"
        ),
    })
}

/// Annotation on a trustee-side OrgPairing: the ID of a pairing this org already made
/// and the trustor has not accepted yet (made in the UI, its ID is in the pairing link).
/// Genesys Cloud cannot list pairings, so without it such a pairing cannot be found, and
/// the object would make a second one.
pub const ADOPT_PAIRING_ANNOTATION: &str = "orglink.dev/adopt-pairing";

/// The pairing ID a trustee-side OrgPairing looks up while there is no trust: the one
/// its status records, or, for an object that never acted, the one annotated
/// ([`ADOPT_PAIRING_ANNOTATION`]).
pub fn pairing_to_look_up<'a>(
    prev: Option<&'a OrgPairingStatus>,
    annotated: Option<&'a str>,
) -> Option<&'a str> {
    match prev.and_then(|s| s.pairing_id.as_deref()) {
        Some(id) => Some(id),
        None if pairing_never_acted(prev) => annotated.map(str::trim).filter(|id| !id.is_empty()),
        None => None,
    }
}

/// What to make of an annotated pending pairing once looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingPairing {
    /// No adoption asked for (nothing annotated, or the object already has a pairing).
    NotAsked,
    /// Adopt it: record its ID and creation time; the note of the `Adopted` Event. The
    /// decision sees it as the object's own pairing, and creates none.
    Adopt { record: PairingRecord, note: String },
    /// It cannot be adopted, for the reason given (a Warning Event): the decision goes
    /// on as if nothing were annotated, so a pairing for spec.request is made.
    Refused(String),
}

/// Whether the annotated pairing, looked up as `lookup`, can be adopted by the trustee
/// org `me` for a request of `users` and `groups` at `now`: it must exist, have been made
/// by `me`, not have expired (48 h), and ask for exactly these users and groups (another
/// set would not be what spec.request asks for).
pub fn pending_pairing(
    prev: Option<&OrgPairingStatus>,
    annotated: Option<&str>,
    lookup: &PairingLookup,
    me: &str,
    users: &BTreeSet<String>,
    groups: &BTreeSet<String>,
    now: Timestamp,
) -> PendingPairing {
    let asked = prev.and_then(|s| s.pairing_id.as_deref()).is_none()
        && pairing_never_acted(prev)
        && annotated.is_some_and(|id| !id.trim().is_empty());
    if !asked {
        return PendingPairing::NotAsked;
    }
    let id = annotated.unwrap_or_default().trim();
    let refused = |why: String| {
        PendingPairing::Refused(format!(
            "cannot adopt pairing {id} ({ADOPT_PAIRING_ANNOTATION}): {why}; a new pairing is requested instead"
        ))
    };
    match lookup {
        PairingLookup::Found(p) if p.trustee_org_id != me => refused(format!(
            "it was made by organization {}, not by this one",
            p.trustee_org_id
        )),
        PairingLookup::Found(p) if pairing_expired(p.created_at, now) => refused(format!(
            "it expired at {}",
            pairing_expires_at(p.created_at)
        )),
        PairingLookup::Found(p) if &p.users != users || &p.groups != groups => {
            refused("it asks for other users or groups than spec.request".to_string())
        }
        PairingLookup::Found(p) => PendingPairing::Adopt {
            record: PairingRecord {
                pairing_id: Some(p.id.clone()),
                created_at: Some(p.created_at),
            },
            note: format!(
                "adopted pairing {}, made by this org at {} and not accepted yet: no pairing created; it is renewed when it expires at {}",
                p.id,
                p.created_at,
                pairing_expires_at(p.created_at)
            ),
        },
        PairingLookup::NotFound | PairingLookup::NotLooked => {
            refused("Genesys Cloud knows no such pairing".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use proptest::prelude::*;

    use super::*;
    use crate::api::{OrgLinkSpec, PairingIntent, PeerRef, Region};
    use crate::lifecycle::link::{self, LinkAction, LinkInput};
    use crate::lifecycle::testkit::*;
    use crate::lifecycle::trustee::{self, ObservedTrustor, TrusteeAction, TrusteeInput};
    use crate::lifecycle::trustor::{self, ObservedTrustee, TrustorAction, TrustorInput};

    const PEER: &str = TRUSTOR;

    fn link_status(phase: Option<OrgLinkPhase>, attempt: Option<i64>) -> OrgLinkStatus {
        OrgLinkStatus {
            phase,
            observed_attempt: attempt,
            ..Default::default()
        }
    }

    fn spec(decision: LinkDecision, attempt: i64) -> OrgLinkSpec {
        OrgLinkSpec {
            organization_ref: "acme-prod".into(),
            peer: PeerRef {
                organization_id: PEER.into(),
                region: Region::UsEast1,
            },
            decision,
            attempt,
        }
    }

    const APPROVED_OUT: RemoteLink = RemoteLink::Approved {
        direction: LinkDirection::Outgoing,
    };
    const APPROVED_IN: RemoteLink = RemoteLink::Approved {
        direction: LinkDirection::Incoming,
    };

    /// The table: which fresh objects adopt what, and which are not adoptions.
    #[test]
    fn a_fresh_accepting_link_adopts_what_exists_and_only_that() {
        let fresh = [
            None,
            Some(link_status(None, None)),
            Some(link_status(Some(OrgLinkPhase::Requesting), None)),
            Some(link_status(Some(OrgLinkPhase::Error), None)),
        ];
        for prev in &fresh {
            for (remote, adopts, actions) in [
                (APPROVED_OUT, true, vec![]),
                (APPROVED_IN, true, vec![]),
                (RemoteLink::OutgoingPending, true, vec![]),
                (RemoteLink::IncomingPending, true, vec![LinkAction::Approve]),
                (RemoteLink::None, false, vec![LinkAction::Request]),
                (
                    RemoteLink::OutgoingRejected,
                    false,
                    vec![LinkAction::Request],
                ),
            ] {
                let note = link(LinkDecision::Accept, prev.as_ref(), remote, PEER, false);
                assert_eq!(note.is_some(), adopts, "{prev:?} {remote:?}");
                let d = link::decide(LinkInput {
                    spec: &spec(LinkDecision::Accept, 0),
                    status: prev.as_ref(),
                    remote,
                    local_peer: None,
                });
                assert_eq!(d.actions, actions, "{prev:?} {remote:?}");
                if let Some(note) = note {
                    assert!(note.contains(PEER) && note.contains("no"), "{note}");
                }
                // Declining is never an adoption: it removes what it finds.
                assert_eq!(
                    link(LinkDecision::Decline, prev.as_ref(), remote, PEER, false),
                    None
                );
            }
        }
    }

    /// In an ordinary handshake between two orgs of this cluster, the side that approves
    /// the other's request adopts nothing: only what a peer made outside is adopted.
    #[test]
    fn approving_the_request_of_a_peer_declared_here_is_no_adoption() {
        for prev in [
            None,
            Some(link_status(Some(OrgLinkPhase::Requesting), None)),
        ] {
            let pending = RemoteLink::IncomingPending;
            assert_eq!(
                link(LinkDecision::Accept, prev.as_ref(), pending, PEER, true),
                None
            );
            assert!(link(LinkDecision::Accept, prev.as_ref(), pending, PEER, false).is_some());
            // An active link or our own request found is still adopted.
            for remote in [APPROVED_IN, RemoteLink::OutgoingPending] {
                assert!(link(LinkDecision::Accept, prev.as_ref(), remote, PEER, true).is_some());
            }
        }
    }

    /// The intent before a request (RELIABILITY.md) is a memory: after a crash between
    /// the intent and the status that confirms the request, the pending request found
    /// is the operator's own, not one to adopt; and nothing is sent again either way.
    #[test]
    fn a_link_that_acted_adopts_nothing() {
        for prev in [
            link::intent_status(None, 0),
            link_status(Some(OrgLinkPhase::WaitingForConfirmation), Some(0)),
            link_status(Some(OrgLinkPhase::Linked), None),
            link_status(Some(OrgLinkPhase::Linked), Some(0)),
            link_status(Some(OrgLinkPhase::RejectedByPeer), Some(0)),
            link_status(Some(OrgLinkPhase::UnlinkedByPeer), Some(0)),
            link_status(Some(OrgLinkPhase::Declined), None),
        ] {
            for remote in [APPROVED_OUT, RemoteLink::OutgoingPending] {
                assert_eq!(
                    link(LinkDecision::Accept, Some(&prev), remote, PEER, false),
                    None,
                    "{prev:?}"
                );
            }
        }
        let intent = link::intent_status(None, 0);
        let d = link::decide(LinkInput {
            spec: &spec(LinkDecision::Accept, 0),
            status: Some(&intent),
            remote: RemoteLink::OutgoingPending,
            local_peer: None,
        });
        assert!(d.actions.is_empty());
    }

    fn intent() -> PairingIntent {
        PairingIntent {
            requested_at: Time(t(-1)),
            users: vec![U1.into()],
            groups: vec![],
        }
    }

    #[test]
    fn a_fresh_pairing_adopts_an_existing_trust_on_either_side() {
        let fresh = [
            None,
            Some(OrgPairingStatus::default()),
            Some(OrgPairingStatus {
                phase: Some(OrgPairingPhase::Requesting),
                ..Default::default()
            }),
        ];
        for prev in &fresh {
            for side in [PairingSide::Trustee, PairingSide::Trustor] {
                let note = trust(side, prev.as_ref(), true, PEER).unwrap();
                assert!(note.contains(PEER), "{note}");
                assert_eq!(trust(side, prev.as_ref(), false, PEER), None);
            }
        }
        let acted = [
            OrgPairingStatus {
                pairing_requested: Some(intent()),
                phase: Some(OrgPairingPhase::Requesting),
                ..Default::default()
            },
            OrgPairingStatus {
                pairing_id: Some("p-1".into()),
                phase: Some(OrgPairingPhase::WaitingForConfirmation),
                ..Default::default()
            },
            OrgPairingStatus {
                phase: Some(OrgPairingPhase::Authorized),
                ..Default::default()
            },
            OrgPairingStatus {
                phase: Some(OrgPairingPhase::Revoked),
                ..Default::default()
            },
        ];
        for prev in &acted {
            assert_eq!(
                trust(PairingSide::Trustee, Some(prev), true, PEER),
                None,
                "{prev:?}"
            );
        }
    }

    /// The table of an annotated pending pairing: adopted only when it is ours, live
    /// and for exactly the request; then the decision creates nothing.
    #[test]
    fn an_annotated_pending_pairing_is_adopted_only_when_it_is_this_requests() {
        let wanted = (set(&[U1]), set(&[]));
        let ours = |h: i64, users: &[&str]| {
            PairingLookup::Found(pairing("p-ui", TRUSTEE, t(-h), users, &[]))
        };
        let run =
            |prev: Option<&OrgPairingStatus>, annotated: Option<&str>, lookup: &PairingLookup| {
                pending_pairing(prev, annotated, lookup, TRUSTEE, &wanted.0, &wanted.1, t(0))
            };
        let adopt = run(None, Some(" p-ui "), &ours(3, &[U1]));
        let PendingPairing::Adopt { record, note } = &adopt else {
            panic!("{adopt:?}")
        };
        assert_eq!(record.pairing_id.as_deref(), Some("p-ui"));
        assert_eq!(record.created_at, Some(t(-3)));
        assert!(note.contains("no pairing created"), "{note}");
        // The decision, seeing it as the object's own pairing, waits and creates nothing.
        let req = request(&[U1], &[]);
        let d = trustee::decide(TrusteeInput {
            request: &req,
            peer_org_id: TRUSTOR,
            status: None,
            pairing: ours(3, &[U1]),
            trust: None,
            now: t(0),
        });
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        assert_eq!(d.phase, OrgPairingPhase::WaitingForConfirmation);

        let refused = |p: PendingPairing, why: &str| match p {
            PendingPairing::Refused(m) => assert!(m.contains(why), "{m}"),
            other => panic!("{other:?}"),
        };
        refused(run(None, Some("p-ui"), &ours(49, &[U1])), "expired at");
        refused(run(None, Some("p-ui"), &ours(3, &[U1, U2])), "other users");
        refused(
            run(None, Some("p-ui"), &PairingLookup::NotFound),
            "no such pairing",
        );
        let theirs = PairingLookup::Found(pairing("p-ui", TRUSTOR, t(-1), &[U1], &[]));
        refused(run(None, Some("p-ui"), &theirs), "not by this one");

        // Not asked: nothing annotated, or the object has (or is asking for) its own.
        assert_eq!(run(None, None, &ours(3, &[U1])), PendingPairing::NotAsked);
        assert_eq!(
            run(None, Some("  "), &ours(3, &[U1])),
            PendingPairing::NotAsked
        );
        let own = OrgPairingStatus {
            pairing_id: Some("p-own".into()),
            phase: Some(OrgPairingPhase::WaitingForConfirmation),
            ..Default::default()
        };
        assert_eq!(
            run(Some(&own), Some("p-ui"), &ours(3, &[U1])),
            PendingPairing::NotAsked
        );
        assert_eq!(pairing_to_look_up(Some(&own), Some("p-ui")), Some("p-own"));
        let asking = OrgPairingStatus {
            pairing_requested: Some(intent()),
            phase: Some(OrgPairingPhase::Requesting),
            ..Default::default()
        };
        assert_eq!(
            run(Some(&asking), Some("p-ui"), &ours(3, &[U1])),
            PendingPairing::NotAsked
        );
        assert_eq!(pairing_to_look_up(Some(&asking), Some("p-ui")), None);
        assert_eq!(pairing_to_look_up(None, Some("p-ui")), Some("p-ui"));
    }

    fn remote_exists() -> impl Strategy<Value = RemoteLink> {
        prop_oneof![
            Just(RemoteLink::OutgoingPending),
            Just(RemoteLink::IncomingPending),
            Just(APPROVED_OUT),
            Just(APPROVED_IN),
        ]
    }

    fn any_link_status() -> impl Strategy<Value = Option<OrgLinkStatus>> {
        use OrgLinkPhase::*;
        proptest::option::of(
            (
                proptest::option::of(prop_oneof![
                    Just(Requesting),
                    Just(WaitingForConfirmation),
                    Just(Linked),
                    Just(Declined),
                    Just(RejectedByPeer),
                    Just(UnlinkedByPeer),
                    Just(Error),
                ]),
                proptest::option::of(0i64..3),
            )
                .prop_map(|(p, a)| link_status(p, a)),
        )
    }

    fn any_pairing_status() -> impl Strategy<Value = Option<OrgPairingStatus>> {
        use OrgPairingPhase::*;
        proptest::option::of(
            (
                proptest::option::of(prop_oneof![
                    Just(Requesting),
                    Just(WaitingForConfirmation),
                    Just(Authorized),
                    Just(Disabled),
                    Just(Revoked),
                    Just(Error),
                ]),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(phase, id, asked)| OrgPairingStatus {
                    phase,
                    pairing_id: id.then(|| "p-1".to_string()),
                    pairing_requested: asked.then(intent),
                    ..Default::default()
                }),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Adopting never creates: whatever the object remembers, a link that exists
        /// (pending either way, or approved) is never requested again, and the
        /// decision that adopts calls at most the approval of the peer's request.
        #[test]
        fn adopting_never_requests_a_link_that_exists(
            accept in any::<bool>(),
            attempt in 0i64..3,
            prev in any_link_status(),
            remote in remote_exists(),
        ) {
            let decision = if accept { LinkDecision::Accept } else { LinkDecision::Decline };
            let d = link::decide(LinkInput { spec: &spec(decision, attempt), status: prev.as_ref(), remote, local_peer: None });
            prop_assert!(!d.actions.contains(&LinkAction::Request), "{:?} {:?}", prev, remote);
            if link(decision, prev.as_ref(), remote, PEER, false).is_some() {
                prop_assert!(d.actions.iter().all(|a| *a == LinkAction::Approve), "{:?}", d.actions);
                prop_assert!(matches!(d.phase, OrgLinkPhase::Linked | OrgLinkPhase::WaitingForConfirmation));
            }
        }

        /// An annotated pairing that is adopted is never made again: the decision that
        /// follows the adoption (the pairing as the object's own) creates nothing.
        #[test]
        fn an_adopted_pending_pairing_is_never_made_again(
            age in 0i64..60,
            users in proptest::sample::subsequence(vec![U1, U2], 0..=2),
            made_by_us in any::<bool>(),
        ) {
            let maker = if made_by_us { TRUSTEE } else { TRUSTOR };
            let lookup = PairingLookup::Found(pairing("p-ui", maker, t(-age), &users, &[]));
            let req = request(&[U1], &[]);
            let adoption = pending_pairing(None, Some("p-ui"), &lookup, TRUSTEE, &set(&[U1]), &set(&[]), t(0));
            if let PendingPairing::Adopt { record, .. } = adoption {
                let d = trustee::decide(TrusteeInput {
                    request: &req,
                    peer_org_id: TRUSTOR,
                    status: None,
                    pairing: lookup,
                    trust: None,
                    now: t(0),
                });
                prop_assert!(d.actions.is_empty(), "{:?}", d.actions);
                prop_assert_eq!(record.pairing_id.as_deref(), Some("p-ui"));
                prop_assert!(made_by_us && age < 48 && users == vec![U1]);
            }
        }

        /// A trust that exists is never asked for again, on either side: the trustee
        /// creates no pairing, the trustor no trust, whatever the status remembers.
        #[test]
        fn adopting_never_creates_a_pairing_or_trust_that_exists(
            prev in any_pairing_status(),
            enabled in any::<bool>(),
            members in proptest::sample::subsequence(vec![U1, U2], 0..=2),
            lookup_age in proptest::option::of(0i64..60),
        ) {
            let lookup = match lookup_age {
                Some(h) => PairingLookup::Found(pairing("p-1", TRUSTEE, t(-h), &[U2], &[])),
                None => PairingLookup::NotFound,
            };
            let req = request(&[U1], &[]);
            let trust_seen = ObservedTrustor { enabled, users: set(&members), ..Default::default() };
            let d = trustee::decide(TrusteeInput {
                request: &req,
                peer_org_id: TRUSTOR,
                status: prev.as_ref(),
                pairing: lookup.clone(),
                trust: Some(trust_seen),
                now: t(0),
            });
            prop_assert!(!d.actions.iter().any(|a| matches!(a, TrusteeAction::CreatePairing { .. })), "{:?}", d.actions);

            let g = grant(vec![grant_subject(U1, vec![by_name("Supervisor")])], vec![]);
            let roles = roles();
            let held = ObservedTrustee {
                enabled,
                expires_at: None,
                name: None,
                users: members.iter().map(|u| (u.to_string(), set(&[]))).collect(),
                groups: BTreeMap::new(),
            };
            let d = trustor::decide(TrustorInput {
                grant: &g,
                peer_org_id: TRUSTEE,
                status: prev.as_ref(),
                pairing_id: trustor::PairingIdSource::Spec("p-1".into()),
                pairing: lookup,
                trust: Some(held),
                role_ids_by_name: &roles,
                division_ids_by_name: &BTreeMap::new(),
                now: t(0),
            });
            prop_assert!(!d.actions.iter().any(|a| matches!(a, TrustorAction::CreateTrust { .. })), "{:?}", d.actions);
        }
    }
}
