//! What both sides of an OrgPairing share: the pairing's 48 h lifetime, what a pairing
//! looks like once read, the error statuses and the status builder.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::api::conditions::{DesiredCondition, Status, reasons, types};
use crate::api::orgpairing::SubjectStatus;
use crate::api::{OrgPairingPhase, OrgPairingStatus, PairingSide};

use super::Requeue;
use super::health::set_with_health;

/// "There is a 48 hour expiration on all requests" (TrustRequest, genesys-api.md §4.4).
pub(crate) const PAIRING_LIFETIME: SignedDuration = SignedDuration::from_hours(48);

/// When a pairing created at `created` stops being usable. `created` comes from
/// Genesys or from status, so it may be anything: a time within 48 h of the end of
/// time saturates at [`Timestamp::MAX`] instead of overflowing.
pub(crate) fn pairing_expires_at(created: Timestamp) -> Timestamp {
    created
        .checked_add(PAIRING_LIFETIME)
        .unwrap_or(Timestamp::MAX)
}

/// True when the pairing can no longer be accepted.
pub(crate) fn pairing_expired(created: Timestamp, now: Timestamp) -> bool {
    now >= pairing_expires_at(created)
}

/// True while the OrgPairing waits on the peer or on a retry (no phase yet,
/// `Requesting`, `WaitingForConfirmation`, `Error`): its snapshot is then read fresher
/// than the resync.
pub(crate) fn awaiting_answer(phase: Option<OrgPairingPhase>) -> bool {
    matches!(
        phase,
        None | Some(
            OrgPairingPhase::Requesting
                | OrgPairingPhase::WaitingForConfirmation
                | OrgPairingPhase::Error
        )
    )
}

/// A pairing as `GET /orgauthorization/pairings/{id}` returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObservedPairing {
    pub(crate) id: String,
    /// The org that created it (the trustee).
    pub(crate) trustee_org_id: String,
    pub(crate) trustee_name: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) users: BTreeSet<String>,
    pub(crate) groups: BTreeSet<String>,
}

/// The result of looking a pairing up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PairingLookup {
    /// Not looked up: there is no pairing ID to look up, or the trust exists and the
    /// pairing no longer matters.
    NotLooked,
    Found(ObservedPairing),
    /// 404: unknown, or gone.
    NotFound,
}

/// The decision for either side: calls to make, then the status once they succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PairingDecision<A> {
    pub(crate) actions: Vec<A>,
    pub(crate) side: PairingSide,
    pub(crate) phase: OrgPairingPhase,
    pub(crate) conditions: Vec<DesiredCondition>,
    /// Trustee side: permissions the trustor granted.
    pub(crate) permissions: Vec<String>,
    /// Trustor side: what each trustee user and group holds once the actions succeeded.
    pub(crate) subjects: Vec<SubjectStatus>,
    /// The other org's name, when known.
    pub(crate) peer_name: Option<String>,
    pub(crate) requeue: Requeue,
}

impl<A> PairingDecision<A> {
    pub(crate) fn new(side: PairingSide, phase: OrgPairingPhase, requeue: Requeue) -> Self {
        Self {
            actions: vec![],
            side,
            phase,
            conditions: vec![],
            permissions: vec![],
            subjects: vec![],
            peer_name: None,
            requeue,
        }
    }

    pub(crate) fn condition(
        mut self,
        type_: &'static str,
        status: Status,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        self.conditions
            .push(DesiredCondition::new(type_, status, reason, message));
        self
    }
}

/// The status when the Organization cannot be used: nothing is called; the last phase
/// is kept because it is the memory that tells a revocation from a fresh start. When the
/// Organization is itself `Stalled` (`organization_stalled`), so is this OrgPairing.
pub(crate) fn organization_not_ready<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    message: &str,
    organization_stalled: bool,
) -> PairingDecision<A> {
    let mut d = held(
        side,
        prev,
        reasons::ORGANIZATION_NOT_READY,
        message,
        OrgPairingPhase::Requesting,
    );
    if organization_stalled {
        d.conditions = super::health::with_stalled(&d.conditions);
    }
    d
}

/// The status of an OrgPairing that yields to an older one of the same side for the
/// same org and peer ([`super::conflict`]): nothing is called, `Ready` False reason
/// `Conflict`.
pub(crate) fn conflict<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    message: &str,
) -> PairingDecision<A> {
    held(
        side,
        prev,
        reasons::CONFLICT,
        message,
        OrgPairingPhase::Error,
    )
}

/// The status when `orglink.dev/reconcile: observe` holds back the decided actions
/// (see [`super::observe`]): the last phase kept, `Ready` False, `ObserveOnly`.
pub(crate) fn observe_only<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    message: &str,
) -> PairingDecision<A> {
    held(
        side,
        prev,
        reasons::OBSERVE_ONLY,
        message,
        OrgPairingPhase::Requesting,
    )
}

/// The status when a call to Genesys Cloud failed (see [`organization_not_ready`]).
pub(crate) fn api_error<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    message: &str,
) -> PairingDecision<A> {
    held(
        side,
        prev,
        reasons::API_ERROR,
        message,
        OrgPairingPhase::Error,
    )
}

fn held<A>(
    side: PairingSide,
    prev: Option<&OrgPairingStatus>,
    reason: &'static str,
    message: &str,
    fresh: OrgPairingPhase,
) -> PairingDecision<A> {
    let phase = prev
        .and_then(|s| s.phase)
        .filter(|p| *p != OrgPairingPhase::Error);
    let mut d = PairingDecision::new(side, phase.unwrap_or(fresh), Requeue::Soon).condition(
        types::READY,
        Status::False,
        reason,
        message,
    );
    if let Some(prev) = prev {
        d.permissions = prev.permissions.clone();
        d.subjects = prev.subjects.clone();
    }
    d
}

/// Trustee-side facts the controller learns from performing the actions (a new pairing's
/// ID and creation time); `None` keeps what the previous status had.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PairingRecord {
    pub(crate) pairing_id: Option<String>,
    pub(crate) created_at: Option<Timestamp>,
}

/// Builds the status to write from the previous one and a decision.
pub(crate) fn next_status<A>(
    prev: Option<&OrgPairingStatus>,
    d: &PairingDecision<A>,
    record: PairingRecord,
    generation: Option<i64>,
    now: Timestamp,
) -> OrgPairingStatus {
    // The intent of a create goes with the status that records its pairing, or once a
    // trust exists (a pairing no longer matters); otherwise it is the crash memory.
    let pairing_requested = match d.side {
        PairingSide::Trustee
            if record.pairing_id.is_none()
                && !matches!(
                    d.phase,
                    OrgPairingPhase::Authorized | OrgPairingPhase::Disabled
                ) =>
        {
            prev.and_then(|s| s.pairing_requested.clone())
        }
        _ => None,
    };
    let mut conditions = prev.map(|s| s.conditions.clone()).unwrap_or_default();
    set_with_health(&mut conditions, &d.conditions, generation, now);
    let (pairing_id, created_at) = match d.side {
        PairingSide::Trustee => (
            record
                .pairing_id
                .or_else(|| prev.and_then(|s| s.pairing_id.clone())),
            record
                .created_at
                .or_else(|| prev.and_then(|s| s.pairing_created_at.as_ref().map(|t| t.0))),
        ),
        PairingSide::Trustor => (None, None),
    };
    let (trustee_name, trustor_name) = match d.side {
        PairingSide::Trustee => (
            None,
            d.peer_name
                .clone()
                .or_else(|| prev.and_then(|s| s.trustor_name.clone())),
        ),
        PairingSide::Trustor => (
            d.peer_name
                .clone()
                .or_else(|| prev.and_then(|s| s.trustee_name.clone())),
            None,
        ),
    };
    OrgPairingStatus {
        observed_generation: generation,
        pairing_requested,
        phase: Some(d.phase),
        side: Some(d.side),
        pairing_id,
        pairing_created_at: created_at.map(Time),
        pairing_expires_at: created_at.map(|c| Time(pairing_expires_at(c))),
        permissions: d.permissions.clone(),
        trustee_name,
        trustor_name,
        subjects: d.subjects.clone(),
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: a far-future `pairingCreatedAt` (in status, or from Genesys) panicked
    /// in `pairing_expires_at`.
    #[test]
    fn creation_times_near_the_end_of_time_do_not_overflow() {
        for created in [
            Timestamp::MAX,
            Timestamp::MAX - SignedDuration::from_hours(47),
            Timestamp::MIN,
        ] {
            let expires = pairing_expires_at(created);
            assert!(expires >= created);
            let _ = pairing_expired(created, Timestamp::now());
        }
        assert_eq!(pairing_expires_at(Timestamp::MAX), Timestamp::MAX);
        assert!(!pairing_expired(Timestamp::MAX, Timestamp::now()));
        assert!(pairing_expired(Timestamp::MIN, Timestamp::now()));
    }

    #[test]
    fn a_pairing_waits_until_it_has_an_answer() {
        use OrgPairingPhase::*;
        for (phase, expected) in [
            (None, true),
            (Some(Requesting), true),
            (Some(WaitingForConfirmation), true),
            (Some(Error), true),
            (Some(Authorized), false),
            (Some(Disabled), false),
            (Some(Revoked), false),
            (Some(Expired), false),
        ] {
            assert_eq!(awaiting_answer(phase), expected, "{phase:?}");
        }
    }
}
