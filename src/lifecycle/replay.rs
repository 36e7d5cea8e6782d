//! Crash replay: the operator may die at any point of a reconcile and start again from
//! what it wrote to status and what Genesys Cloud holds. These tests model one
//! reconcile as the controller performs it (decide, write the intent, call, write the
//! status) with a crash possible between any two steps, replay reconciles after crashes
//! and check that no relationship is requested twice:
//! - trustee side: at most one pairing per request in any 48 h window (a pairing cannot
//!   be listed or deleted, so one whose ID was lost is waited out, never duplicated);
//! - links: at most one `POST .../link` per org pair and `attempt`;
//! - revokes: a delete that crashed after the remote delete finishes without calling
//!   again, one that crashed before still deletes.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::api::conditions::reasons;
use crate::api::{
    LinkDecision, OrgLinkPhase, OrgLinkSpec, OrgLinkStatus, OrgPairingPhase, OrgPairingStatus,
    PeerRef, Region,
};

use super::link::{self, LinkAction, LinkInput, RemoteLink};
use super::pairing::{PairingLookup, PairingRecord, next_status, pairing_expired};
use super::testkit::*;
use super::trustee::{self, TrusteeAction, TrusteeInput};

/// Where a reconcile that calls Genesys Cloud can stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Crash {
    /// Runs to the end.
    Never,
    /// After deciding, before writing the intent.
    BeforeIntent,
    /// After the intent is written, before the call.
    AfterIntent,
    /// After the call, before the status that records it.
    AfterCall,
}

fn crash() -> impl Strategy<Value = Crash> {
    prop_oneof![
        Just(Crash::Never),
        Just(Crash::BeforeIntent),
        Just(Crash::AfterIntent),
        Just(Crash::AfterCall),
    ]
}

// ---- trustee: pairings ----

/// The trustee's world: the pairings Genesys Cloud made for us (with their creation
/// time), and our status.
#[derive(Debug, Default)]
struct TrusteeWorld {
    made: Vec<(String, Timestamp)>,
    status: Option<OrgPairingStatus>,
}

impl TrusteeWorld {
    /// One reconcile at `now` that stops at `crash` (when it calls at all).
    fn reconcile(&mut self, users: &[&str], now: Timestamp, crash: Crash) {
        let req = request(users, &[]);
        let lookup = match self.status.as_ref().and_then(|s| s.pairing_id.as_deref()) {
            None => PairingLookup::NotLooked,
            Some(id) => match self.made.iter().find(|(p, _)| p == id) {
                Some((id, at)) if !pairing_expired(*at, now) => {
                    PairingLookup::Found(pairing(id, TRUSTEE, *at, users, &[]))
                }
                _ => PairingLookup::NotFound,
            },
        };
        let d = trustee::decide(TrusteeInput {
            request: &req,
            peer_org_id: TRUSTOR,
            status: self.status.as_ref(),
            pairing: lookup,
            trust: None,
            now,
        });
        let mut record = PairingRecord::default();
        let mut status = self.status.clone();
        for action in &d.actions {
            let TrusteeAction::CreatePairing { users, groups } = action else {
                panic!("no trust, so only a pairing can be made: {action:?}");
            };
            if crash == Crash::BeforeIntent {
                return;
            }
            status = Some(trustee::intent_status(status.as_ref(), users, groups, now));
            self.status = status.clone();
            if crash == Crash::AfterIntent {
                return;
            }
            let id = format!("p-{}", self.made.len() + 1);
            self.made.push((id.clone(), now));
            if crash == Crash::AfterCall {
                return;
            }
            record = PairingRecord {
                pairing_id: Some(id),
                created_at: Some(now),
            };
        }
        self.status = Some(next_status(status.as_ref(), &d, record, Some(1), now));
    }

    /// The most pairings made within any 48 h window.
    fn most_in_a_window(&self) -> usize {
        self.made
            .iter()
            .map(|(_, start)| {
                self.made
                    .iter()
                    .filter(|(_, at)| *at >= *start && !pairing_expired(*start, *at))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn reason(&self) -> Option<&str> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.reason.as_str())
    }
}

/// The reproduction of issue 15: a crash between creating the pairing and writing its
/// ID made a second pairing at the next reconcile.
#[test]
fn a_crash_after_creating_a_pairing_never_makes_a_second_one() {
    let mut w = TrusteeWorld::default();
    w.reconcile(&[U1], t(0), Crash::AfterCall);
    assert_eq!(w.made.len(), 1);
    for hour in 0..48 {
        w.reconcile(&[U1], t(hour), Crash::Never);
    }
    assert_eq!(w.made.len(), 1, "{:?}", w.made);
    assert_eq!(w.reason(), Some(reasons::PAIRING_UNRECORDED));
    let status = w.status.as_ref().unwrap();
    assert!(status.pairing_requested.is_some(), "the memory stays");
    // Once the lost one lapsed, a new one is made and recorded.
    w.reconcile(&[U1], t(48), Crash::Never);
    assert_eq!(w.made.len(), 2);
    let status = w.status.as_ref().unwrap();
    assert_eq!(status.pairing_id.as_deref(), Some("p-2"));
    assert_eq!(status.pairing_requested, None);
    assert_eq!(w.reason(), Some(reasons::WAITING_FOR_CONFIRMATION));
}

#[test]
fn creating_and_holding_are_decided_on_a_current_status_only() {
    let req = request(&[U1], &[]);
    let decide_on = |status: Option<&OrgPairingStatus>| {
        trustee::decide(TrusteeInput {
            request: &req,
            peer_org_id: TRUSTOR,
            status,
            pairing: PairingLookup::NotLooked,
            trust: None,
            now: t(1),
        })
    };
    assert!(trustee::needs_current_status(&decide_on(None)), "creates");
    let intent = trustee::intent_status(None, &[U1.into()], &[], t(0));
    let held = decide_on(Some(&intent));
    assert!(held.actions.is_empty());
    assert!(trustee::needs_current_status(&held), "holds");
    let waiting = trustee::decide(TrusteeInput {
        request: &req,
        peer_org_id: TRUSTOR,
        status: None,
        pairing: PairingLookup::Found(pairing("p-1", TRUSTEE, t(0), &[U1], &[])),
        trust: None,
        now: t(1),
    });
    assert!(!trustee::needs_current_status(&waiting));
}

#[test]
fn a_crash_before_the_intent_is_written_just_asks_at_restart() {
    let mut w = TrusteeWorld::default();
    w.reconcile(&[U1], t(0), Crash::BeforeIntent);
    assert!(w.made.is_empty() && w.status.is_none());
    w.reconcile(&[U1], t(0), Crash::Never);
    assert_eq!(w.made.len(), 1);
    assert_eq!(
        w.status.as_ref().unwrap().pairing_id.as_deref(),
        Some("p-1")
    );
}

#[test]
fn a_changed_request_is_not_held_by_the_intent_of_the_old_one() {
    let mut w = TrusteeWorld::default();
    w.reconcile(&[U1], t(0), Crash::AfterCall);
    w.reconcile(&[U1, U2], t(1), Crash::Never);
    assert_eq!(
        w.made.len(),
        2,
        "a pairing for another request is no duplicate"
    );
    let status = w.status.as_ref().unwrap();
    assert_eq!(status.pairing_id.as_deref(), Some("p-2"));
    assert_eq!(status.pairing_requested, None);
}

#[test]
fn a_failed_create_takes_its_intent_back() {
    let intent = trustee::intent_status(None, &[U2.into(), U1.into()], &[], t(0));
    let held = intent.pairing_requested.clone().unwrap();
    assert_eq!(held.users, vec![U1.to_string(), U2.to_string()], "sorted");
    assert_eq!(trustee::without_intent(&intent).pairing_requested, None);
}

#[test]
fn a_trust_clears_the_intent() {
    let req = request(&[U1], &[]);
    let prev = trustee::intent_status(None, &[U1.into()], &[], t(0));
    let d = trustee::decide(TrusteeInput {
        request: &req,
        peer_org_id: TRUSTOR,
        status: Some(&prev),
        pairing: PairingLookup::NotLooked,
        trust: Some(trustee::ObservedTrustor {
            enabled: true,
            users: set(&[U1]),
            ..Default::default()
        }),
        now: t(1),
    });
    assert_eq!(d.phase, OrgPairingPhase::Authorized);
    let next = next_status(Some(&prev), &d, PairingRecord::default(), Some(1), t(1));
    assert_eq!(next.pairing_requested, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any sequence of reconciles, each possibly crashing anywhere, hours apart: never
    /// two pairings for the request in one 48 h window; and when the last reconciles
    /// run to the end, the pairing named in status exists.
    #[test]
    fn a_replayed_trustee_decision_never_asks_for_a_second_pairing(
        steps in proptest::collection::vec((crash(), 0i64..30), 1..12),
    ) {
        let mut w = TrusteeWorld::default();
        let mut now = t(0);
        for (crash, hours) in steps {
            w.reconcile(&[U1], now, crash);
            prop_assert!(w.most_in_a_window() <= 1, "{:?}", w.made);
            now += SignedDuration::from_hours(hours);
        }
        // Settle: run to the end until nothing is held (at most 48 h later).
        w.reconcile(&[U1], now, Crash::Never);
        if w.reason() == Some(reasons::PAIRING_UNRECORDED) {
            now += SignedDuration::from_hours(48);
            w.reconcile(&[U1], now, Crash::Never);
        }
        prop_assert!(w.most_in_a_window() <= 1, "{:?}", w.made);
        let status = w.status.as_ref().unwrap();
        let id = status.pairing_id.as_deref().unwrap();
        prop_assert!(w.made.iter().any(|(p, at)| p == id && !pairing_expired(*at, now)));
        prop_assert_eq!(status.pairing_requested.as_ref(), None);
    }
}

// ---- links ----

const PEER: &str = "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d";

/// What the peer does with a pending request between two of our reconciles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeerMove {
    Nothing,
    Approve,
    Reject,
}

fn peer_move() -> impl Strategy<Value = PeerMove> {
    prop_oneof![
        Just(PeerMove::Nothing),
        Just(PeerMove::Approve),
        Just(PeerMove::Reject),
    ]
}

/// Our side of a link: the record Genesys holds and our status, with each request sent.
#[derive(Debug)]
struct LinkWorld {
    remote: RemoteLink,
    status: Option<OrgLinkStatus>,
    /// The `attempt` of each request sent.
    sent: Vec<i64>,
}

impl LinkWorld {
    fn new() -> Self {
        LinkWorld {
            remote: RemoteLink::None,
            status: None,
            sent: vec![],
        }
    }

    fn reconcile(&mut self, attempt: i64, crash: Crash) {
        let spec = OrgLinkSpec {
            organization_ref: "acme-prod".into(),
            peer: PeerRef {
                organization_id: PEER.into(),
                region: Region::UsEast1,
            },
            decision: LinkDecision::Accept,
            attempt,
        };
        let d = link::decide(LinkInput {
            spec: &spec,
            status: self.status.as_ref(),
            remote: self.remote,
            local_peer: None,
        });
        let mut status = self.status.clone();
        for action in &d.actions {
            match action {
                LinkAction::Request => {
                    if crash == Crash::BeforeIntent {
                        return;
                    }
                    status = Some(link::intent_status(status.as_ref(), attempt));
                    self.status = status.clone();
                    if crash == Crash::AfterIntent {
                        return;
                    }
                    // Genesys answers 409 while a request or link exists.
                    assert!(matches!(
                        self.remote,
                        RemoteLink::None | RemoteLink::OutgoingRejected
                    ));
                    self.sent.push(attempt);
                    self.remote = RemoteLink::OutgoingPending;
                    if crash == Crash::AfterCall {
                        return;
                    }
                }
                other => panic!("the peer never asks here: {other:?}"),
            }
        }
        self.status = Some(link::next_status(
            status.as_ref(),
            &d,
            None,
            Some(1),
            Timestamp::now(),
        ));
    }

    fn peer(&mut self, m: PeerMove) {
        if self.remote == RemoteLink::OutgoingPending {
            self.remote = match m {
                PeerMove::Nothing => RemoteLink::OutgoingPending,
                PeerMove::Approve => RemoteLink::Approved {
                    direction: crate::api::LinkDirection::Outgoing,
                },
                PeerMove::Reject => RemoteLink::OutgoingRejected,
            };
        }
    }

    fn most_per_attempt(&self) -> usize {
        self.sent
            .iter()
            .map(|a| self.sent.iter().filter(|b| *b == a).count())
            .max()
            .unwrap_or(0)
    }
}

/// A crash after the request and a refusal before the restart: the refusal is the
/// answer to that request, not a reason to ask again.
#[test]
fn a_link_request_refused_while_the_operator_was_down_is_not_sent_again() {
    let mut w = LinkWorld::new();
    w.reconcile(0, Crash::AfterCall);
    w.peer(PeerMove::Reject);
    w.reconcile(0, Crash::Never);
    assert_eq!(w.sent, vec![0]);
    let status = w.status.as_ref().unwrap();
    assert_eq!(status.phase, Some(OrgLinkPhase::RejectedByPeer));
    // A new attempt asks again, once.
    w.reconcile(1, Crash::Never);
    w.reconcile(1, Crash::Never);
    assert_eq!(w.sent, vec![0, 1]);
}

#[test]
fn a_link_request_that_never_left_is_sent_at_restart() {
    let mut w = LinkWorld::new();
    w.reconcile(0, Crash::AfterIntent);
    assert!(w.sent.is_empty());
    assert_eq!(
        w.status.as_ref().unwrap().phase,
        Some(OrgLinkPhase::Requesting)
    );
    w.reconcile(0, Crash::Never);
    assert_eq!(w.sent, vec![0]);
    assert_eq!(
        w.status.as_ref().unwrap().phase,
        Some(OrgLinkPhase::WaitingForConfirmation)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Reconciles that crash anywhere, the peer answering (or not) in between, and
    /// `attempt` raised now and then: never two requests for one attempt; when the
    /// last reconciles run to the end, the status says what Genesys shows.
    #[test]
    fn a_replayed_link_decision_never_sends_a_second_request_for_an_attempt(
        steps in proptest::collection::vec((crash(), peer_move(), 0i64..2), 1..16),
    ) {
        let mut w = LinkWorld::new();
        let mut attempt = 0;
        for (crash, m, bump) in steps {
            attempt += bump;
            w.reconcile(attempt, crash);
            w.peer(m);
            prop_assert!(w.most_per_attempt() <= 1, "{:?}", w.sent);
        }
        w.reconcile(attempt, Crash::Never);
        w.reconcile(attempt, Crash::Never);
        prop_assert!(w.most_per_attempt() <= 1, "{:?}", w.sent);
        let phase = w.status.as_ref().unwrap().phase.unwrap();
        let expected = match w.remote {
            RemoteLink::OutgoingPending => OrgLinkPhase::WaitingForConfirmation,
            RemoteLink::Approved { .. } => OrgLinkPhase::Linked,
            RemoteLink::OutgoingRejected => OrgLinkPhase::RejectedByPeer,
            other => panic!("unexpected remote {other:?}"),
        };
        prop_assert_eq!(phase, expected);
        // A request is out (for this attempt or, still pending, an earlier one).
        prop_assert!(!w.sent.is_empty());
    }
}

// ---- revokes ----

/// A delete replayed after a crash: before the remote delete it still deletes, after
/// it there is nothing left to call, on both sides of a pairing and for links.
#[test]
fn a_revoke_replayed_after_a_crash_finishes_and_never_deletes_twice() {
    for exists_at_restart in [true, false] {
        let t = trustee::decide_deletion(exists_at_restart, false);
        assert_eq!(t.len(), usize::from(exists_at_restart));
        let r = super::trustor::decide_deletion(exists_at_restart, false);
        assert_eq!(r.len(), usize::from(exists_at_restart));
    }
    for remote in [
        RemoteLink::Approved {
            direction: crate::api::LinkDirection::Incoming,
        },
        RemoteLink::OutgoingPending,
    ] {
        assert_eq!(
            link::decide_deletion(remote, false),
            vec![LinkAction::Delete]
        );
        // The delete went through, then the crash: nothing is left to call.
        assert_eq!(link::decide_deletion(RemoteLink::None, false), vec![]);
    }
}
