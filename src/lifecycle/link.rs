//! OrgLink decisions: api.md's table, both decisions, both directions, `attempt`
//! handling after `RejectedByPeer`/`UnlinkedByPeer`, and deletion.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{DesiredCondition, Status, reasons, types};
use crate::api::{LinkDecision, LinkDirection, OrgLinkPhase, OrgLinkSpec, OrgLinkStatus};
use crate::genesys::models::LinkStatus;

use super::Requeue;
use super::health::set_with_health;

/// What `GET /api/v2/telephony/organization/link` shows for the peer, from our side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoteLink {
    /// No record for the peer.
    None,
    /// We asked; the peer has not answered (`Pending` with us as source).
    OutgoingPending,
    /// The peer asked; we have not answered (`ApprovalPending`, or `Pending` with us as target).
    IncomingPending,
    /// The link is active; `direction` says who asked.
    Approved { direction: LinkDirection },
    /// The peer rejected our request (`Rejected`).
    OutgoingRejected,
}

/// Classifies one record of the link list for the org `me`. `status` is the record's
/// status as read (`None` when it had none); a missing or unknown value yields `None`
/// so the caller can report it instead of guessing.
pub(crate) fn classify(
    me: &str,
    source: &str,
    target: &str,
    status: Option<&LinkStatus>,
) -> Option<RemoteLink> {
    let outgoing = source == me;
    let incoming = target == me;
    if !outgoing && !incoming {
        return None;
    }
    match status? {
        LinkStatus::Approved => Some(RemoteLink::Approved {
            direction: if outgoing {
                LinkDirection::Outgoing
            } else {
                LinkDirection::Incoming
            },
        }),
        LinkStatus::ApprovalPending => Some(RemoteLink::IncomingPending),
        LinkStatus::Pending if outgoing => Some(RemoteLink::OutgoingPending),
        LinkStatus::Pending => Some(RemoteLink::IncomingPending),
        // A rejection of *their* request leaves nothing for us to act on.
        LinkStatus::Rejected if outgoing => Some(RemoteLink::OutgoingRejected),
        LinkStatus::Rejected => Some(RemoteLink::None),
        LinkStatus::Unknown(_) => None,
    }
}

/// A call to make against the link API, acting as our org.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LinkAction {
    /// `POST .../organization/link` (request a link to the peer).
    Request,
    /// `PATCH .../approve/{peer}` with `{approval: true}`.
    Approve,
    /// `PATCH .../approve/{peer}` with `{approval: false}`.
    Reject,
    /// `DELETE .../link/{peer}`: withdraws a pending request or severs the link.
    Delete,
}

/// Everything the decision needs.
#[derive(Clone, Copy, Debug)]
pub struct LinkInput<'a> {
    pub spec: &'a OrgLinkSpec,
    pub status: Option<&'a OrgLinkStatus>,
    pub remote: RemoteLink,
    /// The peer's side when it is declared in this cluster too; `None` for a peer
    /// managed elsewhere.
    pub local_peer: Option<LocalPeer>,
}

/// The peer's side of the link when an OrgLink of the peer's org, naming our org, is
/// declared in this cluster: the one operator reconciles both sides, so what the peer
/// declares and has recorded is known before (and after) Genesys Cloud shows it. This
/// closes the windows a crash opens when both sides are here, which no memory in
/// Genesys can: a request the peer approved and then removed leaves no record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalPeer {
    /// One of its OrgLinks declares `Accept` and is not being deleted.
    pub accepts: bool,
    /// One declares `Decline` (and none accepts) and is not being deleted.
    pub declines: bool,
    /// An accepting one records the link as active (phase `Linked`).
    pub linked: bool,
    /// An accepting one, its Organization acting, is about to request the link
    /// ([`will_request`]) and the peer's org ID sorts before ours: only one side asks,
    /// and this one approves ([`leave_request_to_peer`]).
    pub asks_first: bool,
}

/// How long an OrgLink leaves the request to a peer managed in this cluster before it
/// sends its own. The peer's request normally arrives within a reconcile (its `POST`
/// wakes this object at once); a peer that has not asked by then is stuck (its
/// Organization stopped acting, a conflict, a pause), and the ordinary request (with the
/// 409 Genesys answers when both happen to ask) is better than waiting for ever.
pub(crate) const PEER_REQUEST_PATIENCE: k8s_openapi::jiff::SignedDuration =
    k8s_openapi::jiff::SignedDuration::from_secs(30);

/// Whether the peer's OrgLink (its spec, and its status's `phase` and
/// `observedAttempt`; naming us) is about to request a link: it accepts and either has not asked for its attempt yet or has asked
/// and waits. One that was refused or unlinked asks again only for a new attempt; a
/// linked or declining one does not ask. The caller checks that it acts (its
/// Organization Ready, not observe-only, not being deleted).
pub(crate) fn will_request(
    peer_spec: &OrgLinkSpec,
    phase: Option<OrgLinkPhase>,
    observed_attempt: Option<i64>,
) -> bool {
    if peer_spec.decision != LinkDecision::Accept {
        return false;
    }
    let new_attempt = observed_attempt != Some(peer_spec.attempt);
    match phase {
        None
        | Some(
            OrgLinkPhase::Requesting | OrgLinkPhase::WaitingForConfirmation | OrgLinkPhase::Error,
        ) => true,
        Some(OrgLinkPhase::RejectedByPeer | OrgLinkPhase::UnlinkedByPeer) => new_attempt,
        Some(OrgLinkPhase::Linked | OrgLinkPhase::Declined) => false,
    }
}

/// Whether this side (org `me`) leaves the request to the peer (org `peer`), whose
/// OrgLink here is about to ask (`peer_will_request`, from [`will_request`]): the org
/// whose ID sorts first asks and the other approves, so two requests never cross
/// (Genesys refuses the second with 409: a wasted call and a read). After
/// [`PEER_REQUEST_PATIENCE`] of waiting (since `Ready` took reason `PeerRequesting`)
/// this side asks anyway.
pub(crate) fn leave_request_to_peer(
    me: &str,
    peer: &str,
    peer_will_request: bool,
    prev: Option<&OrgLinkStatus>,
    now: Timestamp,
) -> bool {
    if !peer_will_request || peer >= me {
        return false;
    }
    let waiting_since = prev
        .and_then(|s| crate::api::conditions::find(&s.conditions, types::READY))
        .filter(|c| c.reason == reasons::PEER_REQUESTING)
        .map(|c| c.last_transition_time.0);
    waiting_since.is_none_or(|since| now.duration_since(since) < PEER_REQUEST_PATIENCE)
}

/// How long a deleted OrgLink waits, from its deletion, for the accepting peer here to
/// record an approved link before removing it ([`awaits_peer_record`]). The peer is
/// reconciled by this operator, so it records within a reconcile; the bound keeps a
/// peer that cannot record (its Organization broken) from holding a deletion.
pub(crate) const PEER_RECORD_GRACE: k8s_openapi::jiff::SignedDuration =
    k8s_openapi::jiff::SignedDuration::from_secs(60);

/// Whether deleting the OrgLink waits before removing the approved link: the peer here
/// accepts and has not recorded the link as active yet. Removing it then would leave
/// the peer with no record of its answer: after a crash it would read "never asked" and
/// request the link a second time for its attempt. Bounded by [`PEER_RECORD_GRACE`]
/// from `deleting_since` (the object's `deletionTimestamp`).
pub(crate) fn awaits_peer_record(
    remote: RemoteLink,
    local_peer: Option<LocalPeer>,
    deleting_since: Timestamp,
    now: Timestamp,
) -> bool {
    matches!(remote, RemoteLink::Approved { .. })
        && local_peer.is_some_and(|p| p.accepts && !p.linked)
        && now < deleting_since + PEER_RECORD_GRACE
}

/// The decision: what to call, then what status to write once the calls succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkDecisionOut {
    pub(crate) actions: Vec<LinkAction>,
    pub(crate) phase: OrgLinkPhase,
    pub(crate) direction: Option<LinkDirection>,
    /// True when the link is active after the actions (the controller stamps `linkedAt`).
    pub(crate) linked: bool,
    /// `status.observedAttempt` to write.
    pub(crate) observed_attempt: Option<i64>,
    pub(crate) conditions: Vec<DesiredCondition>,
    pub(crate) requeue: Requeue,
}

/// Decides the next step for a live (not deleting) OrgLink.
pub fn decide(input: LinkInput<'_>) -> LinkDecisionOut {
    let spec = input.spec;
    let prev_phase = input.status.and_then(|s| s.phase);
    let prev_attempt = input.status.and_then(|s| s.observed_attempt);
    let prev_direction = input.status.and_then(|s| s.direction);
    let attempt_changed = prev_attempt != Some(spec.attempt);
    let peer = &spec.peer.organization_id;

    match spec.decision {
        LinkDecision::Decline => {
            let actions = match input.remote {
                RemoteLink::OutgoingPending | RemoteLink::Approved { .. } => {
                    vec![LinkAction::Delete]
                }
                RemoteLink::IncomingPending => vec![LinkAction::Reject],
                RemoteLink::None | RemoteLink::OutgoingRejected => vec![],
            };
            declined(actions, prev_attempt, peer)
        }
        LinkDecision::Accept => {
            match input.remote {
                RemoteLink::Approved { direction } => linked(Some(direction), prev_attempt, peer),
                RemoteLink::IncomingPending => {
                    let mut d = linked(Some(LinkDirection::Incoming), prev_attempt, peer);
                    d.actions = vec![LinkAction::Approve];
                    d
                }
                RemoteLink::OutgoingPending => waiting(Some(spec.attempt), peer),
                // A refusal or unlink recorded for this attempt stands; a new attempt, or a
                // rejection that predates this object's memory, asks again.
                RemoteLink::OutgoingRejected | RemoteLink::None => {
                    let held = !attempt_changed;
                    match prev_phase {
                        Some(OrgLinkPhase::Linked) if input.remote == RemoteLink::None => {
                            unlinked(Some(spec.attempt), prev_direction, peer)
                        }
                        Some(OrgLinkPhase::UnlinkedByPeer) if held => {
                            unlinked(prev_attempt, prev_direction, peer)
                        }
                        // The peer's OrgLink here declines: a request would be refused,
                        // and after a crash it could be a second one for this attempt
                        // (the peer removes our request, or withdraws its own, leaving
                        // no record to remember it by).
                        _ if input.local_peer.is_some_and(|p| p.declines) => {
                            declined_here(spec.attempt, peer)
                        }
                        // Our pending request was refused, or vanished without an answer
                        // (the peer removed it, which is a refusal too).
                        Some(
                            OrgLinkPhase::WaitingForConfirmation | OrgLinkPhase::RejectedByPeer,
                        ) if held => rejected(prev_attempt, peer),
                        // The operator stopped while requesting this attempt
                        // ([`intent_status`]) and the request was refused since: it was
                        // sent, and asking again would be a second request.
                        Some(OrgLinkPhase::Requesting)
                            if held && input.remote == RemoteLink::OutgoingRejected =>
                        {
                            rejected(prev_attempt, peer)
                        }
                        // Nothing on record and the peer here asks first: its request is
                        // on its way (or was made and removed: then not asking is right).
                        _ if input.remote == RemoteLink::None
                            && input.local_peer.is_some_and(|p| p.asks_first) =>
                        {
                            awaiting_request(input.status, peer)
                        }
                        _ => request(spec.attempt, peer),
                    }
                }
            }
        }
    }
}

/// True while the OrgLink waits on the peer or on a retry (no phase yet,
/// `Requesting`, `WaitingForConfirmation`, `Error`): its snapshot is then read fresher
/// than the resync.
pub(crate) fn awaiting_answer(phase: Option<OrgLinkPhase>) -> bool {
    matches!(
        phase,
        None | Some(
            OrgLinkPhase::Requesting | OrgLinkPhase::WaitingForConfirmation | OrgLinkPhase::Error
        )
    )
}

/// The status to write *before* `POST .../organization/link` for `attempt`: the
/// previous one with phase `Requesting` and `observedAttempt` = `attempt`. After a
/// crash between the call and the status that confirms it, [`decide`] then reads the
/// peer's answer (pending, approved or rejected) as the answer to that request instead
/// of sending a second one. A request the peer refused leaves a `Rejected` record; one
/// that never left finds nothing and is sent.
pub(crate) fn intent_status(prev: Option<&OrgLinkStatus>, attempt: i64) -> OrgLinkStatus {
    OrgLinkStatus {
        phase: Some(OrgLinkPhase::Requesting),
        observed_attempt: Some(attempt),
        ..prev.cloned().unwrap_or_default()
    }
}

/// Decides what deleting the OrgLink must do before its finalizer is removed. With
/// `orphan` (annotation `orglink.dev/on-delete: orphan`) the remote link is left alone.
/// The finalizer may be removed once the returned actions succeeded.
pub(crate) fn decide_deletion(remote: RemoteLink, orphan: bool) -> Vec<LinkAction> {
    if orphan {
        return vec![];
    }
    match remote {
        RemoteLink::OutgoingPending | RemoteLink::Approved { .. } => vec![LinkAction::Delete],
        RemoteLink::IncomingPending => vec![LinkAction::Reject],
        RemoteLink::None | RemoteLink::OutgoingRejected => vec![],
    }
}

/// The status when the Organization cannot be used (credentials missing or rejected,
/// API unreachable): nothing is called, and the last phase, direction and attempt are
/// kept, because they are the memory that stops a re-request after a refusal. When the
/// Organization is itself `Stalled` (`organization_stalled`), so is this OrgLink:
/// nothing changes until someone fixes the Organization.
pub fn organization_not_ready(
    prev: Option<&OrgLinkStatus>,
    message: &str,
    organization_stalled: bool,
) -> LinkDecisionOut {
    let mut d = held(
        prev,
        reasons::ORGANIZATION_NOT_READY,
        message,
        OrgLinkPhase::Requesting,
    );
    if organization_stalled {
        d.conditions = super::health::with_stalled(&d.conditions);
    }
    d
}

/// The status of an OrgLink that yields to an older one for the same org and peer
/// ([`super::conflict`]): nothing is called, `Ready`/`Linked` False reason `Conflict`.
pub fn conflict(prev: Option<&OrgLinkStatus>, message: &str) -> LinkDecisionOut {
    held(prev, reasons::CONFLICT, message, OrgLinkPhase::Error)
}

/// The status when `orglink.dev/reconcile: observe` holds back the decided actions
/// (see [`super::observe`]): the last phase kept, `Ready`/`Linked` False, `ObserveOnly`.
pub(crate) fn observe_only(prev: Option<&OrgLinkStatus>, message: &str) -> LinkDecisionOut {
    held(
        prev,
        reasons::OBSERVE_ONLY,
        message,
        OrgLinkPhase::Requesting,
    )
}

/// The status when a call to Genesys Cloud failed: phase `Error` for a link that never
/// got anywhere, otherwise the last phase kept (see [`organization_not_ready`]), with
/// `Ready`/`Linked` False reason `ApiError`.
pub fn api_error(prev: Option<&OrgLinkStatus>, message: &str) -> LinkDecisionOut {
    held(prev, reasons::API_ERROR, message, OrgLinkPhase::Error)
}

fn held(
    prev: Option<&OrgLinkStatus>,
    reason: &'static str,
    message: &str,
    fresh_phase: OrgLinkPhase,
) -> LinkDecisionOut {
    let prev_phase = prev
        .and_then(|s| s.phase)
        .filter(|p| *p != OrgLinkPhase::Error);
    LinkDecisionOut {
        actions: vec![],
        phase: prev_phase.unwrap_or(fresh_phase),
        direction: prev.and_then(|s| s.direction),
        linked: prev_phase == Some(OrgLinkPhase::Linked),
        observed_attempt: prev.and_then(|s| s.observed_attempt),
        conditions: vec![
            DesiredCondition::new(types::LINKED, Status::False, reason, message),
            DesiredCondition::new(types::READY, Status::False, reason, message),
        ],
        requeue: Requeue::Soon,
    }
}

/// Waiting for the peer's request ([`leave_request_to_peer`]): nothing is called, the
/// attempt is not taken (this side has not asked), phase `Requesting`.
fn awaiting_request(prev: Option<&OrgLinkStatus>, peer: &str) -> LinkDecisionOut {
    let msg = format!(
        "organization {peer} is managed in this cluster too and sends the link request; this side approves it when it arrives"
    );
    LinkDecisionOut {
        actions: vec![],
        phase: OrgLinkPhase::Requesting,
        direction: prev.and_then(|s| s.direction),
        linked: false,
        observed_attempt: prev.and_then(|s| s.observed_attempt),
        conditions: vec![
            DesiredCondition::new(
                types::LINKED,
                Status::False,
                reasons::PEER_REQUESTING,
                msg.clone(),
            ),
            DesiredCondition::new(types::READY, Status::Unknown, reasons::PEER_REQUESTING, msg),
        ],
        requeue: Requeue::Soon,
    }
}

fn request(attempt: i64, peer: &str) -> LinkDecisionOut {
    let mut d = waiting(Some(attempt), peer);
    d.actions = vec![LinkAction::Request];
    d
}

fn waiting(observed_attempt: Option<i64>, peer: &str) -> LinkDecisionOut {
    let msg = format!("link request sent to organization {peer}; waiting for it to approve");
    LinkDecisionOut {
        actions: vec![],
        phase: OrgLinkPhase::WaitingForConfirmation,
        direction: Some(LinkDirection::Outgoing),
        linked: false,
        observed_attempt,
        conditions: vec![
            DesiredCondition::new(
                types::LINKED,
                Status::False,
                reasons::WAITING_FOR_CONFIRMATION,
                msg.clone(),
            ),
            DesiredCondition::new(
                types::READY,
                Status::Unknown,
                reasons::WAITING_FOR_CONFIRMATION,
                msg,
            ),
        ],
        requeue: Requeue::Soon,
    }
}

fn linked(
    direction: Option<LinkDirection>,
    observed_attempt: Option<i64>,
    peer: &str,
) -> LinkDecisionOut {
    let msg = format!("voice link with organization {peer} is active");
    LinkDecisionOut {
        actions: vec![],
        phase: OrgLinkPhase::Linked,
        direction,
        linked: true,
        observed_attempt,
        conditions: vec![
            DesiredCondition::new(types::LINKED, Status::True, reasons::LINKED, msg.clone()),
            DesiredCondition::new(types::READY, Status::True, reasons::LINKED, msg),
        ],
        requeue: Requeue::Resync,
    }
}

fn declined(
    actions: Vec<LinkAction>,
    observed_attempt: Option<i64>,
    peer: &str,
) -> LinkDecisionOut {
    let msg = format!(
        "spec.decision is Decline: no link and no pending request with organization {peer}"
    );
    LinkDecisionOut {
        actions,
        phase: OrgLinkPhase::Declined,
        direction: None,
        linked: false,
        observed_attempt,
        conditions: vec![
            DesiredCondition::new(types::LINKED, Status::False, reasons::DECLINED, msg.clone()),
            DesiredCondition::new(types::READY, Status::True, reasons::DECLINED, msg),
        ],
        requeue: Requeue::Resync,
    }
}

fn rejected(observed_attempt: Option<i64>, peer: &str) -> LinkDecisionOut {
    let msg = format!(
        "organization {peer} rejected the link request; increase spec.attempt to ask again"
    );
    LinkDecisionOut {
        actions: vec![],
        phase: OrgLinkPhase::RejectedByPeer,
        direction: Some(LinkDirection::Outgoing),
        linked: false,
        observed_attempt,
        conditions: vec![
            DesiredCondition::new(
                types::LINKED,
                Status::False,
                reasons::REJECTED_BY_PEER,
                msg.clone(),
            ),
            DesiredCondition::new(types::READY, Status::False, reasons::REJECTED_BY_PEER, msg),
        ],
        requeue: Requeue::Resync,
    }
}

/// `RejectedByPeer` without a request: the peer's OrgLink in this cluster declines.
fn declined_here(observed_attempt: i64, peer: &str) -> LinkDecisionOut {
    let mut d = rejected(Some(observed_attempt), peer);
    let msg = format!(
        "the OrgLink of organization {peer} in this cluster has spec.decision Decline, so no request is sent; when it accepts, it requests the link and this OrgLink approves it"
    );
    d.direction = None;
    for c in &mut d.conditions {
        c.message = msg.clone();
    }
    d
}

fn unlinked(
    observed_attempt: Option<i64>,
    direction: Option<LinkDirection>,
    peer: &str,
) -> LinkDecisionOut {
    let msg =
        format!("organization {peer} removed the link; increase spec.attempt to request it again");
    LinkDecisionOut {
        actions: vec![],
        phase: OrgLinkPhase::UnlinkedByPeer,
        direction,
        linked: false,
        observed_attempt,
        conditions: vec![
            DesiredCondition::new(
                types::LINKED,
                Status::False,
                reasons::UNLINKED_BY_PEER,
                msg.clone(),
            ),
            DesiredCondition::new(types::READY, Status::False, reasons::UNLINKED_BY_PEER, msg),
        ],
        requeue: Requeue::Resync,
    }
}

/// Builds the status to write from the previous one and a decision: conditions keep their
/// `lastTransitionTime` when unchanged, `linkedAt` is stamped when the link first becomes
/// active and cleared when it is not.
pub fn next_status(
    prev: Option<&OrgLinkStatus>,
    d: &LinkDecisionOut,
    peer_name: Option<String>,
    generation: Option<i64>,
    now: Timestamp,
) -> OrgLinkStatus {
    let mut conditions = prev.map(|s| s.conditions.clone()).unwrap_or_default();
    set_with_health(&mut conditions, &d.conditions, generation, now);
    let linked_at = if d.linked {
        Some(prev.and_then(|s| s.linked_at.clone()).unwrap_or(Time(now)))
    } else {
        None
    };
    OrgLinkStatus {
        observed_generation: generation,
        phase: Some(d.phase),
        direction: d.direction,
        peer_name: peer_name.or_else(|| prev.and_then(|s| s.peer_name.clone())),
        linked_at,
        observed_attempt: d.observed_attempt,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{PeerRef, Region};
    use LinkAction::*;
    use OrgLinkPhase::*;
    use RemoteLink as R;

    const ME: &str = "3f1c2a9e-5b7d-4e2a-9c41-7a0d2b6e8f10";
    const PEER: &str = "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d";

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

    fn status(phase: OrgLinkPhase, attempt: i64) -> OrgLinkStatus {
        OrgLinkStatus {
            phase: Some(phase),
            observed_attempt: Some(attempt),
            ..Default::default()
        }
    }

    fn run(
        decision: LinkDecision,
        attempt: i64,
        prev: Option<OrgLinkStatus>,
        remote: RemoteLink,
    ) -> LinkDecisionOut {
        decide(LinkInput {
            spec: &spec(decision, attempt),
            status: prev.as_ref(),
            remote,
            local_peer: None,
        })
    }

    fn cond<'a>(d: &'a LinkDecisionOut, t: &str) -> &'a DesiredCondition {
        d.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    // The table of api.md, Accept column.

    #[test]
    fn accept_nothing_sends_a_request_and_waits() {
        let d = run(LinkDecision::Accept, 0, None, R::None);
        assert_eq!(d.actions, vec![Request]);
        assert_eq!(d.phase, WaitingForConfirmation);
        assert_eq!(d.direction, Some(LinkDirection::Outgoing));
        assert_eq!(d.observed_attempt, Some(0));
        assert_eq!(
            cond(&d, types::LINKED).reason,
            reasons::WAITING_FOR_CONFIRMATION
        );
        assert_eq!(cond(&d, types::READY).status, Status::Unknown);
        assert_eq!(d.requeue, Requeue::Soon);
    }

    #[test]
    fn accept_our_request_pending_waits() {
        let d = run(
            LinkDecision::Accept,
            0,
            Some(status(WaitingForConfirmation, 0)),
            R::OutgoingPending,
        );
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, WaitingForConfirmation);
        assert_eq!(cond(&d, types::LINKED).status, Status::False);
    }

    #[test]
    fn accept_their_request_pending_approves() {
        let d = run(LinkDecision::Accept, 0, None, R::IncomingPending);
        assert_eq!(d.actions, vec![Approve]);
        assert_eq!(d.phase, Linked);
        assert_eq!(d.direction, Some(LinkDirection::Incoming));
        assert!(d.linked);
        assert_eq!(cond(&d, types::LINKED).status, Status::True);
        assert_eq!(cond(&d, types::READY).status, Status::True);
    }

    #[test]
    fn accept_approved_is_linked_in_either_direction() {
        for dir in [LinkDirection::Outgoing, LinkDirection::Incoming] {
            let d = run(
                LinkDecision::Accept,
                0,
                Some(status(WaitingForConfirmation, 0)),
                R::Approved { direction: dir },
            );
            assert!(d.actions.is_empty());
            assert_eq!(d.phase, Linked);
            assert_eq!(d.direction, Some(dir));
            assert_eq!(d.requeue, Requeue::Resync);
        }
    }

    #[test]
    fn accept_our_request_rejected_is_rejected_by_peer_until_attempt_changes() {
        let d = run(
            LinkDecision::Accept,
            0,
            Some(status(WaitingForConfirmation, 0)),
            R::OutgoingRejected,
        );
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, RejectedByPeer);
        assert_eq!(cond(&d, types::LINKED).reason, reasons::REJECTED_BY_PEER);
        assert!(cond(&d, types::LINKED).message.contains("spec.attempt"));
        // Still rejected on the next look, with or without the record.
        let again = run(
            LinkDecision::Accept,
            0,
            Some(status(RejectedByPeer, 0)),
            R::OutgoingRejected,
        );
        assert!(again.actions.is_empty());
        let gone = run(
            LinkDecision::Accept,
            0,
            Some(status(RejectedByPeer, 0)),
            R::None,
        );
        assert!(gone.actions.is_empty());
        assert_eq!(gone.phase, RejectedByPeer);
        // Bumping attempt asks again.
        let retry = run(
            LinkDecision::Accept,
            1,
            Some(status(RejectedByPeer, 0)),
            R::OutgoingRejected,
        );
        assert_eq!(retry.actions, vec![Request]);
        assert_eq!(retry.observed_attempt, Some(1));
        assert_eq!(retry.phase, WaitingForConfirmation);
    }

    #[test]
    fn accept_pending_request_that_vanished_counts_as_refused() {
        let d = run(
            LinkDecision::Accept,
            0,
            Some(status(WaitingForConfirmation, 0)),
            R::None,
        );
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, RejectedByPeer);
    }

    #[test]
    fn accept_link_gone_after_linked_is_unlinked_by_peer_until_attempt_changes() {
        let d = run(LinkDecision::Accept, 0, Some(status(Linked, 0)), R::None);
        assert!(d.actions.is_empty());
        assert_eq!(d.phase, UnlinkedByPeer);
        assert_eq!(cond(&d, types::READY).reason, reasons::UNLINKED_BY_PEER);
        let again = run(
            LinkDecision::Accept,
            0,
            Some(status(UnlinkedByPeer, 0)),
            R::None,
        );
        assert!(again.actions.is_empty());
        assert_eq!(again.phase, UnlinkedByPeer);
        let retry = run(
            LinkDecision::Accept,
            3,
            Some(status(UnlinkedByPeer, 0)),
            R::None,
        );
        assert_eq!(retry.actions, vec![Request]);
        assert_eq!(retry.observed_attempt, Some(3));
    }

    #[test]
    fn accept_rejection_from_before_this_object_asks_again() {
        let d = run(LinkDecision::Accept, 0, None, R::OutgoingRejected);
        assert_eq!(d.actions, vec![Request]);
    }

    #[test]
    fn accept_after_decline_requests() {
        let d = run(LinkDecision::Accept, 0, Some(status(Declined, 0)), R::None);
        assert_eq!(d.actions, vec![Request]);
    }

    // The Decline column.

    #[test]
    fn decline_rows() {
        let rows = [
            (R::None, vec![]),
            (R::OutgoingPending, vec![Delete]),
            (R::IncomingPending, vec![Reject]),
            (
                R::Approved {
                    direction: LinkDirection::Incoming,
                },
                vec![Delete],
            ),
            (
                R::Approved {
                    direction: LinkDirection::Outgoing,
                },
                vec![Delete],
            ),
            (R::OutgoingRejected, vec![]),
        ];
        for (remote, actions) in rows {
            for prev in [
                None,
                Some(status(Linked, 0)),
                Some(status(WaitingForConfirmation, 0)),
            ] {
                let d = run(LinkDecision::Decline, 0, prev, remote);
                assert_eq!(d.actions, actions, "{remote:?}");
                assert_eq!(d.phase, Declined);
                assert!(!d.linked);
                assert_eq!(cond(&d, types::LINKED).reason, reasons::DECLINED);
                assert_eq!(cond(&d, types::READY).status, Status::True);
            }
        }
    }

    // Deletion.

    #[test]
    fn deletion_severs_withdraws_or_rejects_unless_orphaned() {
        assert_eq!(
            decide_deletion(
                R::Approved {
                    direction: LinkDirection::Outgoing
                },
                false
            ),
            vec![Delete]
        );
        assert_eq!(decide_deletion(R::OutgoingPending, false), vec![Delete]);
        assert_eq!(decide_deletion(R::IncomingPending, false), vec![Reject]);
        assert_eq!(decide_deletion(R::None, false), vec![]);
        assert_eq!(decide_deletion(R::OutgoingRejected, false), vec![]);
        assert_eq!(
            decide_deletion(
                R::Approved {
                    direction: LinkDirection::Incoming
                },
                true
            ),
            vec![]
        );
        assert_eq!(decide_deletion(R::OutgoingPending, true), vec![]);
    }

    // Errors keep the memory that blocks a re-request.

    #[test]
    fn api_error_keeps_phase_and_attempt() {
        let prev = status(RejectedByPeer, 4);
        let e = api_error(Some(&prev), "boom");
        assert_eq!(e.phase, RejectedByPeer);
        assert_eq!(e.observed_attempt, Some(4));
        assert_eq!(cond(&e, types::READY).reason, reasons::API_ERROR);
        let fresh = api_error(None, "boom");
        assert_eq!(fresh.phase, Error);
        let nr = organization_not_ready(None, "no secret", false);
        assert_eq!(nr.phase, Requesting);
        assert_eq!(
            cond(&nr, types::LINKED).reason,
            reasons::ORGANIZATION_NOT_READY
        );
        assert!(nr.conditions.iter().all(|c| c.type_ != types::STALLED));
        // After the error, a rejected link is still not re-requested.
        let s = next_status(Some(&prev), &e, None, Some(1), Timestamp::UNIX_EPOCH);
        let d = run(LinkDecision::Accept, 4, Some(s), R::None);
        assert!(d.actions.is_empty());
    }

    #[test]
    fn a_conflicted_link_calls_nothing_and_names_why() {
        let fresh = conflict(None, "OrgLink a acts");
        assert!(fresh.actions.is_empty());
        assert_eq!(fresh.phase, Error);
        for type_ in [types::READY, types::LINKED] {
            let c = cond(&fresh, type_);
            assert_eq!((c.status, c.reason), (Status::False, reasons::CONFLICT));
            assert_eq!(c.message, "OrgLink a acts");
        }
        // A link that had got somewhere keeps its phase (the memory of what it did).
        let prev = status(WaitingForConfirmation, 0);
        assert_eq!(conflict(Some(&prev), "x").phase, WaitingForConfirmation);
    }

    #[test]
    fn classify_reads_both_directions() {
        assert_eq!(
            classify(ME, ME, PEER, Some(&wire("Pending"))),
            Some(R::OutgoingPending)
        );
        assert_eq!(
            classify(ME, PEER, ME, Some(&wire("Pending"))),
            Some(R::IncomingPending)
        );
        assert_eq!(
            classify(ME, PEER, ME, Some(&wire("ApprovalPending"))),
            Some(R::IncomingPending)
        );
        assert_eq!(
            classify(ME, ME, PEER, Some(&wire("Approved"))),
            Some(R::Approved {
                direction: LinkDirection::Outgoing
            })
        );
        assert_eq!(
            classify(ME, PEER, ME, Some(&wire("Approved"))),
            Some(R::Approved {
                direction: LinkDirection::Incoming
            })
        );
        assert_eq!(
            classify(ME, ME, PEER, Some(&wire("Rejected"))),
            Some(R::OutgoingRejected)
        );
        assert_eq!(
            classify(ME, PEER, ME, Some(&wire("Rejected"))),
            Some(R::None)
        );
        assert_eq!(classify(ME, ME, PEER, Some(&wire("Exploded"))), None);
        assert_eq!(classify(ME, PEER, PEER, Some(&wire("Approved"))), None);
        // A record without a status is reported, not guessed at.
        assert_eq!(classify(ME, ME, PEER, None), None);
    }

    #[test]
    fn a_link_waits_until_it_has_an_answer() {
        use OrgLinkPhase::*;
        for (phase, expected) in [
            (None, true),
            (Some(Requesting), true),
            (Some(WaitingForConfirmation), true),
            (Some(Error), true),
            (Some(Linked), false),
            (Some(Declined), false),
            (Some(RejectedByPeer), false),
            (Some(UnlinkedByPeer), false),
        ] {
            assert_eq!(awaiting_answer(phase), expected, "{phase:?}");
        }
    }

    /// A link status as the wire spells it.
    fn wire(wire: &str) -> LinkStatus {
        LinkStatus::from(wire.to_string())
    }

    #[test]
    fn next_status_stamps_linked_at_once_and_keeps_transition_times() {
        let t1 = Timestamp::from_second(1000).unwrap();
        let t2 = Timestamp::from_second(2000).unwrap();
        let d = run(LinkDecision::Accept, 0, None, R::IncomingPending);
        let s1 = next_status(None, &d, Some("Acme DR".into()), Some(1), t1);
        assert_eq!(s1.linked_at, Some(Time(t1)));
        assert_eq!(s1.peer_name.as_deref(), Some("Acme DR"));
        let d2 = run(
            LinkDecision::Accept,
            0,
            Some(s1.clone()),
            R::Approved {
                direction: LinkDirection::Incoming,
            },
        );
        let s2 = next_status(Some(&s1), &d2, None, Some(1), t2);
        assert_eq!(s2.linked_at, Some(Time(t1)));
        assert_eq!(
            s2.conditions, s1.conditions,
            "nothing changed, nothing rewritten"
        );
        assert_eq!(s2.peer_name.as_deref(), Some("Acme DR"));
    }

    /// An Organization that is itself Stalled stalls its OrgLinks: kstatus reads Failed
    /// for them too instead of InProgress until a timeout.
    #[test]
    fn a_stalled_organization_stalls_the_link() {
        let waiting_org = organization_not_ready(None, "ApiUnavailable", false);
        let stalled_org = organization_not_ready(None, "CredentialsRejected", true);
        for (d, stalled) in [(waiting_org, false), (stalled_org, true)] {
            let s = next_status(None, &d, None, Some(1), Timestamp::UNIX_EPOCH);
            let get = |t| crate::api::conditions::find(&s.conditions, t).unwrap();
            assert_eq!(get(types::STALLED).status == "True", stalled);
            assert_eq!(get(types::RECONCILING).status == "True", !stalled);
            assert_eq!(get(types::READY).reason, reasons::ORGANIZATION_NOT_READY);
            assert_eq!(get(types::STALLED).reason, reasons::ORGANIZATION_NOT_READY);
        }
    }
}
