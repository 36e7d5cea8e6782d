//! Crash replay of a voice link whose *both* sides are OrgLinks in this cluster, as in
//! `tests/crash_anywhere.rs`: one operator reconciles both, in any order, dies at any
//! step and starts again from the two statuses and the one record Genesys Cloud holds
//! for the pair. One side may switch to `Decline` or be deleted on the way.
//!
//! The property is the soak's: at most one link request per org pair (every `attempt`
//! is 0 here), and once the crashes stop both sides settle where their specs ask. A
//! deleted side withdraws what it asked; the other side may then ask once itself (its
//! own first request), so after a deletion the bound is one request per side.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use crate::api::{
    LinkDecision, LinkDirection, OrgLinkPhase, OrgLinkSpec, OrgLinkStatus, PeerRef, Region,
};

use super::link::{self, LinkAction, LinkInput, RemoteLink};

const ORG: [&str; 2] = [
    "1a2b3c4d-0000-4000-8000-000000000001",
    "1a2b3c4d-0000-4000-8000-000000000002",
];

/// Where a reconcile can stop: before the call (after the intent of a request), or
/// after the call and before the status that records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Crash {
    Never,
    AfterIntent,
    AfterCall,
}

/// What happens at one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Side `.0` reconciles, stopping at `.1`.
    Reconcile(usize, Crash),
    /// Side `.0` switches to `Decline`.
    Decline(usize),
    /// Side `.0` is deleted (its finalizer cleans up at its next reconcile).
    Delete(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let crash = prop_oneof![
        4 => Just(Crash::Never),
        1 => Just(Crash::AfterIntent),
        2 => Just(Crash::AfterCall),
    ];
    prop_oneof![
        12 => (0usize..2, crash).prop_map(|(s, c)| Step::Reconcile(s, c)),
        1 => (0usize..2).prop_map(Step::Decline),
        1 => (0usize..2).prop_map(Step::Delete),
    ]
}

/// The one record Genesys Cloud holds for the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Record {
    Pending { from: usize },
    Approved { from: usize },
    Rejected { from: usize },
}

#[derive(Clone, Debug)]
struct Side {
    decision: LinkDecision,
    /// Since when it is being deleted.
    deleting: Option<Timestamp>,
    gone: bool,
    status: Option<OrgLinkStatus>,
}

#[derive(Clone, Debug)]
struct Pair {
    record: Option<Record>,
    sides: [Side; 2],
    /// The requester of each request Genesys accepted.
    sent: Vec<usize>,
    now: Timestamp,
}

/// A call Genesys Cloud refused (409 or 404).
struct Refused;

impl Pair {
    fn new() -> Self {
        let side = Side {
            decision: LinkDecision::Accept,
            deleting: None,
            gone: false,
            status: None,
        };
        Pair {
            record: None,
            sides: [side.clone(), side],
            sent: vec![],
            now: Timestamp::UNIX_EPOCH,
        }
    }

    fn spec(&self, me: usize) -> OrgLinkSpec {
        OrgLinkSpec {
            organization_ref: format!("org-{me}"),
            peer: PeerRef {
                organization_id: ORG[1 - me].into(),
                region: Region::UsEast1,
            },
            decision: self.sides[me].decision,
            attempt: 0,
        }
    }

    /// What side `me` lists for the peer (`classify`'s view, with the direction the
    /// controller keeps from status for an approved record).
    fn remote(&self, me: usize) -> RemoteLink {
        let direction = |from: usize| {
            if from == me {
                LinkDirection::Outgoing
            } else {
                LinkDirection::Incoming
            }
        };
        match self.record {
            None => RemoteLink::None,
            Some(Record::Pending { from }) if from == me => RemoteLink::OutgoingPending,
            Some(Record::Pending { .. }) => RemoteLink::IncomingPending,
            Some(Record::Approved { from }) => RemoteLink::Approved {
                direction: direction(from),
            },
            Some(Record::Rejected { from }) if from == me => RemoteLink::OutgoingRejected,
            Some(Record::Rejected { .. }) => RemoteLink::None,
        }
    }

    /// Genesys Cloud's rules for one call by `me` (see the simulator's `state/links.rs`).
    fn call(&mut self, me: usize, action: LinkAction) -> Result<(), Refused> {
        self.record = match (action, self.record) {
            (LinkAction::Request, None | Some(Record::Rejected { .. })) => {
                self.sent.push(me);
                Some(Record::Pending { from: me })
            }
            (LinkAction::Request, _) => return Err(Refused),
            (LinkAction::Approve, Some(Record::Pending { from })) if from != me => {
                Some(Record::Approved { from })
            }
            (LinkAction::Reject, Some(Record::Pending { from })) if from != me => {
                Some(Record::Rejected { from })
            }
            (LinkAction::Delete, Some(Record::Pending { .. } | Record::Approved { .. })) => None,
            (LinkAction::Delete, Some(Record::Rejected { from })) if from == me => None,
            _ => return Err(Refused),
        };
        Ok(())
    }

    /// A new pair after `steps`.
    fn played(steps: &[Step]) -> Self {
        let mut p = Pair::new();
        for s in steps {
            p.run(*s);
        }
        p
    }

    fn run(&mut self, step: Step) {
        self.now += SignedDuration::from_secs(1);
        match step {
            Step::Reconcile(me, crash) => self.reconcile(me, crash),
            Step::Decline(me) => self.sides[me].decision = LinkDecision::Decline,
            Step::Delete(me) => self.sides[me].deleting = Some(self.now),
        }
    }

    /// One reconcile of side `me`, as `controller/orglink.rs` performs it.
    fn reconcile(&mut self, me: usize, crash: Crash) {
        if self.sides[me].gone {
            return;
        }
        let remote = self.remote(me);
        let local_peer = self.local_peer(me);
        if let Some(since) = self.sides[me].deleting {
            if link::awaits_peer_record(remote, local_peer, since, self.now) {
                return;
            }
            for action in link::decide_deletion(remote, false) {
                if crash == Crash::AfterIntent || self.call(me, action).is_err() {
                    return;
                }
                if crash == Crash::AfterCall {
                    return;
                }
            }
            self.sides[me].gone = true;
            return;
        }
        let spec = self.spec(me);
        let prev = self.sides[me].status.clone();
        let d = link::decide(LinkInput {
            spec: &spec,
            status: prev.as_ref(),
            remote,
            local_peer,
        });
        let mut status = prev.clone();
        for action in &d.actions {
            if *action == LinkAction::Request {
                status = Some(link::intent_status(status.as_ref(), spec.attempt));
                self.sides[me].status = status.clone();
            }
            if crash == Crash::AfterIntent {
                return;
            }
            match self.call(me, *action) {
                Ok(()) if crash == Crash::AfterCall => return,
                Ok(()) => {}
                // A refused request takes its intent back and looks again; any other
                // refusal is reported as an API error.
                Err(Refused) if *action == LinkAction::Request => {
                    self.sides[me].status = prev;
                    return;
                }
                Err(Refused) => {
                    let failed = link::api_error(prev.as_ref(), "refused");
                    self.write(me, prev.as_ref(), &failed);
                    return;
                }
            }
        }
        self.write(me, status.as_ref(), &d);
    }

    fn write(&mut self, me: usize, prev: Option<&OrgLinkStatus>, d: &link::LinkDecisionOut) {
        self.sides[me].status = Some(link::next_status(prev, d, None, Some(1), self.now));
    }

    /// What the controller reads of the other side's OrgLink (`Context::local_peer`).
    fn local_peer(&self, me: usize) -> Option<link::LocalPeer> {
        let other = &self.sides[1 - me];
        if other.gone {
            return None;
        }
        let live = other.deleting.is_none();
        let accepts = live && other.decision == LinkDecision::Accept;
        let will_request = accepts
            && link::will_request(
                &self.spec(1 - me),
                other.status.as_ref().and_then(|s| s.phase),
                other.status.as_ref().and_then(|s| s.observed_attempt),
            );
        Some(link::LocalPeer {
            accepts,
            declines: live && other.decision == LinkDecision::Decline,
            linked: accepts && self.phase(1 - me) == Some(OrgLinkPhase::Linked),
            asks_first: link::leave_request_to_peer(
                ORG[me],
                ORG[1 - me],
                will_request,
                self.sides[me].status.as_ref(),
                self.now,
            ),
        })
    }

    fn phase(&self, me: usize) -> Option<OrgLinkPhase> {
        self.sides[me].status.as_ref().and_then(|s| s.phase)
    }

    /// Reconciles both sides without crashes until nothing changes.
    fn settle(&mut self) {
        for _ in 0..12 {
            self.run(Step::Reconcile(0, Crash::Never));
            self.run(Step::Reconcile(1, Crash::Never));
        }
    }
}

/// Where a settled pair must be: both accepting → both `Linked`; a declining side
/// `Declined` with no link left and the other refused or unlinked; a deleted side gone.
fn check_settled(p: &Pair) -> Result<(), TestCaseError> {
    let accepting = |s: &Side| s.deleting.is_none() && s.decision == LinkDecision::Accept;
    for me in 0..2 {
        let side = &p.sides[me];
        let other = &p.sides[1 - me];
        if side.deleting.is_some() {
            prop_assert!(side.gone, "side {me} is still deleting: {p:?}");
            continue;
        }
        let phase = p.phase(me);
        if side.decision == LinkDecision::Decline {
            prop_assert_eq!(phase, Some(OrgLinkPhase::Declined), "{:?}", p);
        } else if accepting(other) {
            prop_assert_eq!(phase, Some(OrgLinkPhase::Linked), "{:?}", p);
        } else if other.deleting.is_some() {
            prop_assert!(
                matches!(
                    phase,
                    Some(
                        OrgLinkPhase::WaitingForConfirmation
                            | OrgLinkPhase::UnlinkedByPeer
                            | OrgLinkPhase::RejectedByPeer
                    )
                ),
                "side {me}: {phase:?}: {p:?}"
            );
        } else {
            prop_assert!(
                matches!(
                    phase,
                    Some(OrgLinkPhase::UnlinkedByPeer | OrgLinkPhase::RejectedByPeer)
                ),
                "side {me}: {phase:?}: {p:?}"
            );
        }
    }
    Ok(())
}

/// The soak's failure (issue 15): side 0's request left, the operator died before its
/// status recorded it; after the restart side 1 approved it, then declined and removed
/// the link. Side 0 found its intent and no record, which reads as "never left".
#[test]
fn a_request_approved_and_removed_by_a_declining_peer_here_is_not_sent_again() {
    let p = Pair::played(&[
        Step::Reconcile(0, Crash::AfterCall),
        Step::Reconcile(1, Crash::Never),
        Step::Decline(1),
        Step::Reconcile(1, Crash::Never),
        Step::Reconcile(0, Crash::Never),
    ]);
    assert_eq!(p.sent, vec![0]);
    assert_eq!(p.phase(0), Some(OrgLinkPhase::RejectedByPeer));
    assert_eq!(p.phase(1), Some(OrgLinkPhase::Declined));
}

/// The other way round: side 1 approved side 0's request and died before recording
/// it; side 0 then declined and removed the link. Side 1, with no memory of the link,
/// would ask for it itself.
#[test]
fn an_approval_lost_in_a_crash_does_not_become_a_request_when_the_peer_here_declines() {
    let p = Pair::played(&[
        Step::Reconcile(0, Crash::Never),
        Step::Reconcile(1, Crash::AfterCall),
        Step::Decline(0),
        Step::Reconcile(0, Crash::Never),
        Step::Reconcile(1, Crash::Never),
    ]);
    assert_eq!(p.sent, vec![0]);
    assert_eq!(p.phase(1), Some(OrgLinkPhase::RejectedByPeer));
}

/// Both sides here: the org whose ID sorts first asks, the other waits and approves,
/// so two requests never cross (no 409).
#[test]
fn of_two_sides_here_only_the_first_asks() {
    let mut p = Pair::new();
    p.run(Step::Reconcile(1, Crash::Never));
    assert_eq!(
        p.sent,
        Vec::<usize>::new(),
        "side 1 leaves the request to side 0"
    );
    assert_eq!(p.phase(1), Some(OrgLinkPhase::Requesting));
    p.run(Step::Reconcile(0, Crash::Never));
    p.run(Step::Reconcile(1, Crash::Never));
    p.run(Step::Reconcile(0, Crash::Never));
    assert_eq!(p.sent, vec![0]);
    assert_eq!(p.phase(0), Some(OrgLinkPhase::Linked));
    assert_eq!(p.phase(1), Some(OrgLinkPhase::Linked));
}

/// A first side that does not ask (its operator paused, its Organization failing) is
/// waited for [`link::PEER_REQUEST_PATIENCE`], then the second side asks itself.
#[test]
fn the_second_side_asks_itself_once_its_patience_is_spent() {
    let mut p = Pair::new();
    p.run(Step::Reconcile(1, Crash::Never));
    p.now += link::PEER_REQUEST_PATIENCE;
    p.run(Step::Reconcile(1, Crash::Never));
    assert_eq!(p.sent, vec![1]);
    p.run(Step::Reconcile(0, Crash::Never));
    p.run(Step::Reconcile(1, Crash::Never));
    assert_eq!(p.phase(0), Some(OrgLinkPhase::Linked));
    assert_eq!(p.phase(1), Some(OrgLinkPhase::Linked));
}

/// Side 0 asked and died before recording it; side 1 approved, then was deleted.
const DELETED_BEFORE_THE_PEER_RECORDED: [Step; 4] = [
    Step::Reconcile(0, Crash::AfterCall),
    Step::Reconcile(1, Crash::Never),
    Step::Delete(1),
    Step::Reconcile(1, Crash::Never),
];

/// Deleting side 1 waits until side 0 recorded the link it approved, then removes it:
/// side 0 reads "unlinked by the peer", not "never asked".
#[test]
fn a_deleted_side_removes_the_link_once_the_peer_here_recorded_it() {
    let mut p = Pair::played(&DELETED_BEFORE_THE_PEER_RECORDED);
    assert!(!p.sides[1].gone, "waits for side 0");
    assert!(matches!(p.record, Some(Record::Approved { from: 0 })));
    p.run(Step::Reconcile(0, Crash::Never));
    assert_eq!(p.phase(0), Some(OrgLinkPhase::Linked));
    p.run(Step::Reconcile(1, Crash::Never));
    assert!(p.sides[1].gone);
    p.run(Step::Reconcile(0, Crash::Never));
    assert_eq!(p.phase(0), Some(OrgLinkPhase::UnlinkedByPeer));
    assert_eq!(p.sent, vec![0]);
}

/// A peer that cannot record holds a deletion for [`link::PEER_RECORD_GRACE`] at most.
#[test]
fn a_peer_that_never_records_holds_a_deletion_only_for_the_grace() {
    let mut p = Pair::played(&DELETED_BEFORE_THE_PEER_RECORDED);
    assert!(!p.sides[1].gone);
    p.now += link::PEER_RECORD_GRACE;
    p.run(Step::Reconcile(1, Crash::Never));
    assert!(p.sides[1].gone);
    assert_eq!(p.record, None);
}

/// At most one request per pair; after a deletion, at most one per side.
fn check_requests(p: &Pair) -> Result<(), TestCaseError> {
    let deleted = p.sides.iter().any(|s| s.deleting.is_some());
    for me in 0..2 {
        let by_me = p.sent.iter().filter(|s| **s == me).count();
        prop_assert!(by_me <= 1, "side {me} asked {by_me} times: {p:?}");
    }
    prop_assert!(
        deleted || p.sent.len() <= 1,
        "requests by {:?}: {p:?}",
        p.sent
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Both sides here, reconciled in any order, each reconcile possibly crashing, one
    /// side perhaps declining or deleted midway: never a second link request for the
    /// pair, and both settle where their specs ask.
    #[test]
    fn both_sides_here_never_send_a_second_request_for_the_pair(
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut p = Pair::new();
        let mut changed = false;
        for s in steps {
            // One change per run, as in the soak: a side declines or is deleted.
            if matches!(s, Step::Decline(_) | Step::Delete(_)) {
                if changed {
                    continue;
                }
                changed = true;
            }
            p.run(s);
            check_requests(&p)?;
        }
        p.settle();
        check_requests(&p)?;
        check_settled(&p)?;
    }
}
