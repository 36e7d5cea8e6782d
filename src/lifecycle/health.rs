//! `Reconciling` and `Stalled`: the two conditions kstatus (sigs.k8s.io/cli-utils, what
//! Flux and other GitOps tools use to judge readiness) reads, derived from `Ready`.
//!
//! kstatus calls an object `Failed` when `Stalled` is True, `InProgress` when
//! `Reconciling` is True, when `status.observedGeneration` lags `metadata.generation` or
//! when `Ready` is False, and `Current` otherwise. Without `Stalled` a terminal failure
//! (a peer's refusal, rejected credentials) reads `InProgress` forever and a Flux
//! Kustomization reports a timeout instead of the reason. The mapping (docs/api.md,
//! "Health"):
//!
//! - `Ready` True: both False: Current.
//! - `Ready` False for a reason in [`STALLED_REASONS`]: nothing changes until the spec
//!   changes or the peer acts, so `Stalled` True (Failed), `Reconciling` False.
//! - otherwise (waiting on the peer, API errors, the Organization not Ready yet, cleanup
//!   retrying): `Reconciling` True (InProgress), `Stalled` False.
//!
//! Every status builder sets conditions through [`set_with_health`], so the three
//! always agree.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{DesiredCondition, Status, reasons, set_conditions, types};

/// `Ready` reasons of a state that will not change without a spec change or a peer's
/// action: the controller has stopped trying, and says so with `Stalled`.
pub(crate) const STALLED_REASONS: &[&str] = &[
    // Organization
    reasons::CREDENTIALS_REJECTED,
    reasons::CREDENTIALS_SECRET_NOT_LABELED,
    reasons::API_BASE_URL_NOT_ALLOWED,
    reasons::REGION_MISMATCH,
    // OrgLink: the peer said no; `spec.attempt` asks again.
    reasons::REJECTED_BY_PEER,
    reasons::UNLINKED_BY_PEER,
    // OrgPairing: the peer disabled or removed the trust, the pairing ID is wrong or
    // expired, or the grant names a role this org does not have.
    reasons::DISABLED,
    reasons::REVOKED,
    reasons::EXPIRED,
    reasons::PAIRING_NOT_FOUND,
    reasons::PAIRING_FROM_OTHER_ORGANIZATION,
    reasons::UNKNOWN_ROLE,
    reasons::UNKNOWN_DIVISION,
    // OrgPairing: a user email or group name matches no one, or several (fixed by the
    // spec, or by whoever keeps the directory).
    reasons::SUBJECT_NOT_FOUND,
    reasons::SUBJECT_AMBIGUOUS,
    // Any kind: an older object for the same relationship acts instead of this one.
    reasons::CONFLICT,
    // OrgLink / OrgPairing: observe only; nothing changes until the annotation goes.
    reasons::OBSERVE_ONLY,
];

/// How kstatus will judge an object whose `Ready` is `ready` (and whose
/// `observedGeneration` is current).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    Current,
    InProgress,
    Failed,
}

/// The health a `Ready` condition means (module doc).
pub(crate) fn health_of(ready: &DesiredCondition) -> Health {
    match ready.status {
        Status::True => Health::Current,
        _ if STALLED_REASONS.contains(&ready.reason) => Health::Failed,
        _ => Health::InProgress,
    }
}

/// `Reconciling` and `Stalled` for a `Ready` condition. The True one carries `Ready`'s
/// reason and message; the False ones carry its reason and a short message.
pub(crate) fn health_conditions(ready: &DesiredCondition) -> [DesiredCondition; 2] {
    let reason = ready.reason;
    let (reconciling, stalled) = match health_of(ready) {
        Health::Current => (
            DesiredCondition::new(
                types::RECONCILING,
                Status::False,
                reason,
                "the state the spec asks for is reached",
            ),
            DesiredCondition::new(
                types::STALLED,
                Status::False,
                reason,
                "the state the spec asks for is reached",
            ),
        ),
        Health::Failed => {
            let [reconciling, stalled] = stalled_conditions(ready);
            (reconciling, stalled)
        }
        Health::InProgress => (
            DesiredCondition::new(
                types::RECONCILING,
                Status::True,
                reason,
                ready.message.clone(),
            ),
            DesiredCondition::new(
                types::STALLED,
                Status::False,
                reason,
                "the controller keeps working toward the spec (see Reconciling)",
            ),
        ),
    };
    [reconciling, stalled]
}

/// `Reconciling` False and `Stalled` True with `ready`'s reason and message, whatever the
/// reason: for an object stalled by another one, such as an OrgLink whose Organization
/// is itself Stalled (reason `OrganizationNotReady`, which alone means InProgress).
pub(crate) fn stalled_conditions(ready: &DesiredCondition) -> [DesiredCondition; 2] {
    [
        DesiredCondition::new(
            types::RECONCILING,
            Status::False,
            ready.reason,
            "the controller stopped: a change to the spec or an action of the peer is needed (see Stalled)",
        ),
        DesiredCondition::new(
            types::STALLED,
            Status::True,
            ready.reason,
            ready.message.clone(),
        ),
    ]
}

/// `conditions` plus `Stalled` True (and `Reconciling` False) for their `Ready`, whatever
/// its reason: for a state whose reason alone reads InProgress but that nothing changes
/// (an object whose Organization is itself Stalled; a grant naming none of the
/// pairing's subjects).
pub(crate) fn with_stalled(conditions: &[DesiredCondition]) -> Vec<DesiredCondition> {
    let mut out = conditions.to_vec();
    if let Some(ready) = conditions.iter().find(|c| c.type_ == types::READY) {
        out.extend(stalled_conditions(ready));
    }
    out
}

/// `desired` plus `Reconciling` and `Stalled` derived from its `Ready`. Unchanged when it
/// sets no `Ready`, or states `Stalled` itself ([`stalled_conditions`]).
pub(crate) fn with_health(desired: &[DesiredCondition]) -> Vec<DesiredCondition> {
    let mut out = desired.to_vec();
    let stated = desired.iter().any(|c| c.type_ == types::STALLED);
    if let Some(ready) = desired.iter().find(|c| c.type_ == types::READY)
        && !stated
    {
        out.retain(|c| c.type_ != types::RECONCILING);
        out.extend(health_conditions(ready));
    }
    out
}

/// [`set_conditions`] of `desired` with its health conditions: what every status
/// builder uses, so `Ready`, `Reconciling` and `Stalled` never disagree.
pub fn set_with_health(
    conditions: &mut Vec<Condition>,
    desired: &[DesiredCondition],
    observed_generation: Option<i64>,
    now: Timestamp,
) -> bool {
    set_conditions(conditions, &with_health(desired), observed_generation, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: Status, reason: &'static str) -> DesiredCondition {
        DesiredCondition::new(types::READY, status, reason, "why")
    }

    fn get<'a>(c: &'a [DesiredCondition], t: &str) -> &'a DesiredCondition {
        c.iter().find(|c| c.type_ == t).unwrap()
    }

    /// Every `Ready` reason the builders use, with the health it must mean.
    #[test]
    fn every_ready_reason_maps_to_its_health() {
        use Health::*;
        let table = [
            (Status::True, reasons::CONNECTED, Current),
            (Status::True, reasons::LINKED, Current),
            (Status::True, reasons::DECLINED, Current),
            (Status::True, reasons::AUTHORIZED, Current),
            (Status::True, reasons::UP_TO_DATE, Current),
            (
                Status::Unknown,
                reasons::WAITING_FOR_CONFIRMATION,
                InProgress,
            ),
            (Status::False, reasons::WAITING_FOR_CONFIRMATION, InProgress),
            (Status::False, reasons::REQUESTING, InProgress),
            (Status::False, reasons::CREDENTIALS_MISSING, InProgress),
            (Status::False, reasons::API_UNAVAILABLE, InProgress),
            (Status::False, reasons::RATE_LIMITED, InProgress),
            (Status::False, reasons::ORGANIZATION_NOT_READY, InProgress),
            (Status::False, reasons::API_ERROR, InProgress),
            (Status::False, reasons::CLEANUP_FAILED, InProgress),
            (Status::False, "Deleting", InProgress),
            (Status::False, reasons::INTERNAL_ERROR, InProgress),
            (Status::False, reasons::CREDENTIALS_REJECTED, Failed),
            (
                Status::False,
                reasons::CREDENTIALS_SECRET_NOT_LABELED,
                Failed,
            ),
            (Status::False, reasons::API_BASE_URL_NOT_ALLOWED, Failed),
            (Status::False, reasons::REGION_MISMATCH, Failed),
            (Status::False, reasons::REJECTED_BY_PEER, Failed),
            (Status::False, reasons::UNLINKED_BY_PEER, Failed),
            (Status::False, reasons::DISABLED, Failed),
            (Status::False, reasons::REVOKED, Failed),
            (Status::False, reasons::EXPIRED, Failed),
            (Status::False, reasons::PAIRING_NOT_FOUND, Failed),
            (
                Status::False,
                reasons::PAIRING_FROM_OTHER_ORGANIZATION,
                Failed,
            ),
            (Status::False, reasons::UNKNOWN_ROLE, Failed),
            (Status::False, reasons::UNKNOWN_DIVISION, Failed),
            (Status::False, reasons::CONFLICT, Failed),
        ];
        for (status, reason, want) in table {
            let r = ready(status, reason);
            assert_eq!(health_of(&r), want, "{reason}");
            let [reconciling, stalled] = health_conditions(&r);
            assert_eq!(reconciling.type_, types::RECONCILING);
            assert_eq!(stalled.type_, types::STALLED);
            assert_eq!(
                (reconciling.status, stalled.status),
                match want {
                    Current => (Status::False, Status::False),
                    InProgress => (Status::True, Status::False),
                    Failed => (Status::False, Status::True),
                },
                "{reason}"
            );
            assert_eq!(reconciling.reason, reason);
            assert_eq!(stalled.reason, reason);
        }
    }

    #[test]
    fn the_true_condition_carries_the_ready_message() {
        let r = DesiredCondition::new(
            types::READY,
            Status::False,
            reasons::REJECTED_BY_PEER,
            "increase spec.attempt",
        );
        let [_, stalled] = health_conditions(&r);
        assert_eq!(stalled.message, "increase spec.attempt");
    }

    #[test]
    fn with_health_adds_both_only_when_ready_is_set() {
        let linked = DesiredCondition::new(types::LINKED, Status::True, reasons::LINKED, "x");
        assert_eq!(
            with_health(std::slice::from_ref(&linked)),
            vec![linked.clone()]
        );
        let both = with_health(&[linked.clone(), ready(Status::True, reasons::LINKED)]);
        assert_eq!(both.len(), 4);
        assert_eq!(get(&both, types::RECONCILING).status, Status::False);
        assert_eq!(get(&both, types::STALLED).status, Status::False);
    }

    #[test]
    fn a_stated_stall_is_kept() {
        let r = ready(Status::False, reasons::ORGANIZATION_NOT_READY);
        assert_eq!(health_of(&r), Health::InProgress);
        let mut desired = vec![r.clone()];
        desired.extend(stalled_conditions(&r));
        let out = with_health(&desired);
        assert_eq!(out, desired);
        assert_eq!(get(&out, types::STALLED).status, Status::True);
        assert_eq!(get(&out, types::RECONCILING).status, Status::False);
    }

    #[test]
    fn set_with_health_stamps_the_generation_on_every_condition() {
        let mut c = Vec::new();
        let now = Timestamp::from_second(100).unwrap();
        assert!(set_with_health(
            &mut c,
            &[ready(Status::False, reasons::CONFLICT)],
            Some(3),
            now
        ));
        assert_eq!(c.len(), 3);
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
        assert!(!set_with_health(
            &mut c,
            &[ready(Status::False, reasons::CONFLICT)],
            Some(3),
            now
        ));
    }
}
