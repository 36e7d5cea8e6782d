//! Condition types, reasons and the one function that sets a condition.
//!
//! Conditions use the `metav1.Condition` shape so `kubectl wait --for=condition=Ready`,
//! Flux and Argo CD understand them. [`set_condition`] keeps `lastTransitionTime` when the
//! status does not change, so a resync that finds nothing new writes nothing new.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::text::{CONDITION_MESSAGE_MAX_BYTES, truncate};

/// Condition types.
pub mod types {
    pub const READY: &str = "Ready";
    pub(crate) const LINKED: &str = "Linked";
    pub const AUTHORIZED: &str = "Authorized";
    pub const ROLES_ASSIGNED: &str = "RolesAssigned";
    /// kstatus: True while the controller works toward the state the spec asks for
    /// (`lifecycle::health`).
    pub(crate) const RECONCILING: &str = "Reconciling";
    /// kstatus: True for a state that will not change without a spec change or a
    /// peer's action (`lifecycle::health`).
    pub(crate) const STALLED: &str = "Stalled";
}

/// Condition reasons (api.md). CamelCase, as `metav1.Condition` requires.
pub mod reasons {
    // Organization `Ready`.
    pub const CONNECTED: &str = "Connected";
    pub const CREDENTIALS_MISSING: &str = "CredentialsMissing";
    pub const CREDENTIALS_REJECTED: &str = "CredentialsRejected";
    pub const REGION_MISMATCH: &str = "RegionMismatch";
    pub const API_UNAVAILABLE: &str = "ApiUnavailable";
    pub const RATE_LIMITED: &str = "RateLimited";
    /// `spec.apiBaseUrl` is not on the operator's allowlist: nothing is read or sent.
    pub const API_BASE_URL_NOT_ALLOWED: &str = "ApiBaseUrlNotAllowed";
    /// The credentials Secret lacks `orglink.dev/credentials: "true"`: it is not read.
    pub const CREDENTIALS_SECRET_NOT_LABELED: &str = "CredentialsSecretNotLabeled";
    // OrgLink `Linked` / `Ready`.
    pub(crate) const LINKED: &str = "Linked";
    pub(crate) const REQUESTING: &str = "Requesting";
    pub const WAITING_FOR_CONFIRMATION: &str = "WaitingForConfirmation";
    /// OrgLink `Ready`/`Linked`: the peer org, managed in this cluster too, sends the
    /// request; this side approves it.
    pub(crate) const PEER_REQUESTING: &str = "PeerRequesting";
    pub(crate) const REJECTED_BY_PEER: &str = "RejectedByPeer";
    pub(crate) const UNLINKED_BY_PEER: &str = "UnlinkedByPeer";
    pub(crate) const DECLINED: &str = "Declined";
    pub const ORGANIZATION_NOT_READY: &str = "OrganizationNotReady";
    pub const API_ERROR: &str = "ApiError";
    pub const CLEANUP_FAILED: &str = "CleanupFailed";
    /// OrgLink / OrgPairing `Ready`: an older object of the same org, peer (and side)
    /// acts; this one does nothing remotely.
    pub const CONFLICT: &str = "Conflict";
    /// OrgLink / OrgPairing `Ready`: `orglink.dev/reconcile: observe` holds back what the
    /// operator would do (named in the message).
    pub(crate) const OBSERVE_ONLY: &str = "ObserveOnly";
    // OrgPairing `Authorized` / `RolesAssigned`.
    pub const AUTHORIZED: &str = "Authorized";
    pub const DISABLED: &str = "Disabled";
    pub const REVOKED: &str = "Revoked";
    pub const EXPIRED: &str = "Expired";
    pub const PAIRING_NOT_FOUND: &str = "PairingNotFound";
    /// Trustee side: the operator stopped after asking for a pairing and before
    /// recording its ID; no second one is made until the first has lapsed.
    pub const PAIRING_UNRECORDED: &str = "PairingUnrecorded";
    pub const PAIRING_FROM_OTHER_ORGANIZATION: &str = "PairingFromOtherOrganization";
    pub const ROLES_ASSIGNED: &str = "RolesAssigned";
    pub(crate) const NO_ROLES: &str = "NoRoles";
    pub const UNKNOWN_ROLE: &str = "UnknownRole";
    /// OrgPairing `RolesAssigned`/`Ready`: a role's `divisions` names a division the org
    /// does not have.
    pub const UNKNOWN_DIVISION: &str = "UnknownDivision";
    // OrgPairing `Ready`: a user email or group name matches no one, or several.
    pub const SUBJECT_NOT_FOUND: &str = "SubjectNotFound";
    pub const SUBJECT_AMBIGUOUS: &str = "SubjectAmbiguous";
    pub const UP_TO_DATE: &str = "UpToDate";
    // Any kind `Ready`: the reconcile panicked (a bug), contained to this object.
    pub const INTERNAL_ERROR: &str = "InternalError";
}

/// Reasons of Events that stand for no condition: something done or refused once.
pub mod events {
    /// An object took over a link or pairing that already existed in Genesys Cloud
    /// instead of asking for a new one.
    pub const ADOPTED: &str = "Adopted";
    /// The pairing named by `orglink.dev/adopt-pairing` cannot be adopted.
    pub const ADOPTION_REFUSED: &str = "AdoptionRefused";
    /// A grant gives a role named like Admin without `expiresAt` (the webhook's warning,
    /// again whenever the roles are actually given).
    pub const ADMIN_WITHOUT_EXPIRY: &str = "AdminWithoutExpiry";
    /// The `orglink.dev/refresh` annotation's value was refused (too long).
    pub const REFRESH_REFUSED: &str = "RefreshRefused";
}

/// `status` of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// A condition as a decision function states it: no timestamps, no generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredCondition {
    pub type_: &'static str,
    pub status: Status,
    pub reason: &'static str,
    pub message: String,
}

impl DesiredCondition {
    pub fn new(
        type_: &'static str,
        status: Status,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
            message: message.into(),
        }
    }
}

/// Sets `desired` in `conditions`: replaces the condition of the same type, keeping its
/// `lastTransitionTime` when the status is unchanged, or appends it. Returns true when
/// anything changed.
///
/// The message is cut to [`CONDITION_MESSAGE_MAX_BYTES`] (the API server refuses a
/// longer one, and with it the whole status): messages quote remote errors.
pub(crate) fn set_condition(
    conditions: &mut Vec<Condition>,
    desired: &DesiredCondition,
    observed_generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let message = truncate(&desired.message, CONDITION_MESSAGE_MAX_BYTES);
    let desired = &DesiredCondition {
        message: message.into_owned(),
        ..desired.clone()
    };
    let status = desired.status.as_str();
    match conditions.iter_mut().find(|c| c.type_ == desired.type_) {
        Some(existing) => {
            let transition = existing.status != status;
            let changed = transition
                || existing.reason != desired.reason
                || existing.message != desired.message
                || existing.observed_generation != observed_generation;
            if transition {
                existing.last_transition_time = Time(now);
            }
            existing.status = status.to_string();
            existing.reason = desired.reason.to_string();
            existing.message = desired.message.clone();
            existing.observed_generation = observed_generation;
            changed
        }
        None => {
            conditions.push(Condition {
                type_: desired.type_.to_string(),
                status: status.to_string(),
                reason: desired.reason.to_string(),
                message: desired.message.clone(),
                last_transition_time: Time(now),
                observed_generation,
            });
            true
        }
    }
}

/// Applies every desired condition; conditions of types not in `desired` are left alone.
pub(crate) fn set_conditions(
    conditions: &mut Vec<Condition>,
    desired: &[DesiredCondition],
    observed_generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let mut changed = false;
    for d in desired {
        changed |= set_condition(conditions, d, observed_generation, now);
    }
    changed
}

/// The condition of the given type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition of the given type has status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn keeps_transition_time_when_status_is_unchanged() {
        let mut c = Vec::new();
        let d = DesiredCondition::new(
            types::READY,
            Status::False,
            reasons::WAITING_FOR_CONFIRMATION,
            "a",
        );
        assert!(set_condition(&mut c, &d, Some(1), ts(100)));
        let d2 = DesiredCondition::new(
            types::READY,
            Status::False,
            reasons::WAITING_FOR_CONFIRMATION,
            "b",
        );
        assert!(set_condition(&mut c, &d2, Some(2), ts(200)));
        assert_eq!(c[0].last_transition_time, Time(ts(100)));
        assert_eq!(c[0].message, "b");
        assert_eq!(c[0].observed_generation, Some(2));
        assert!(
            !set_condition(&mut c, &d2, Some(2), ts(300)),
            "same condition is no change"
        );
        let d3 = DesiredCondition::new(types::READY, Status::True, reasons::LINKED, "ok");
        assert!(set_condition(&mut c, &d3, Some(2), ts(400)));
        assert_eq!(c[0].last_transition_time, Time(ts(400)));
        assert_eq!(c.len(), 1);
        assert!(is_true(&c, types::READY));
    }

    #[test]
    fn long_messages_are_cut_to_what_the_api_server_accepts() {
        let mut c = Vec::new();
        let huge = "ü".repeat(40_000); // 80,000 bytes
        let d = DesiredCondition::new(types::READY, Status::False, reasons::API_ERROR, huge);
        assert!(set_condition(&mut c, &d, None, ts(1)));
        assert!(c[0].message.len() <= CONDITION_MESSAGE_MAX_BYTES);
        assert!(c[0].message.ends_with('…'));
        assert!(
            !set_condition(&mut c, &d, None, ts(2)),
            "the same long message is no change"
        );
    }
}
