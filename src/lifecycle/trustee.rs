//! The trustee side of an OrgPairing (`spec.request`): create the pairing, keep its ID,
//! renew it after the 48 h expiry or a 404, keep the trust's membership equal to the
//! request, and report Authorized / Disabled / Revoked.
//!
//! Membership belongs to the trustee (who needs access); roles belong to the trustor
//! (what they may do). Each side converges only what it owns, so two controllers with
//! different specs never undo each other's writes.

use std::collections::BTreeSet;

use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{Status, reasons, types};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{OrgPairingPhase, OrgPairingStatus, PairingIntent, PairingRequest, PairingSide};

use super::Requeue;
use super::pairing::{PairingDecision, PairingLookup, pairing_expired, pairing_expires_at};

/// The trust as the trustee sees it: `GET /orgauthorization/trustors/{peer}` with its
/// users and groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ObservedTrustor {
    pub(crate) enabled: bool,
    pub(crate) name: Option<String>,
    pub(crate) permissions: Vec<String>,
    pub(crate) users: BTreeSet<String>,
    pub(crate) groups: BTreeSet<String>,
}

/// A call the trustee makes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TrusteeAction {
    /// `POST /orgauthorization/pairings` with these users and groups.
    CreatePairing {
        users: Vec<String>,
        groups: Vec<String>,
    },
    /// `PUT /trustors/{peer}/users/{id}`.
    AddUser(String),
    /// `DELETE /trustors/{peer}/users/{id}`.
    RemoveUser(String),
    /// `PUT /trustors/{peer}/groups/{id}`.
    AddGroup(String),
    /// `DELETE /trustors/{peer}/groups/{id}`.
    RemoveGroup(String),
    /// `DELETE /trustors/{peer}`: revoke.
    DeleteTrust,
}

impl std::fmt::Display for TrusteeAction {
    /// What the call does, in the words of a condition message ("… failed: …").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrusteeAction::CreatePairing { users, groups } => write!(
                f,
                "creating a pairing for {} users and {} groups",
                users.len(),
                groups.len()
            ),
            TrusteeAction::AddUser(id) => write!(f, "adding user {id} to the trust"),
            TrusteeAction::RemoveUser(id) => write!(f, "removing user {id} from the trust"),
            TrusteeAction::AddGroup(id) => write!(f, "adding group {id} to the trust"),
            TrusteeAction::RemoveGroup(id) => write!(f, "removing group {id} from the trust"),
            TrusteeAction::DeleteTrust => f.write_str("revoking the trust"),
        }
    }
}

/// Everything the trustee decision needs.
#[derive(Clone, Debug)]
pub(crate) struct TrusteeInput<'a> {
    pub(crate) request: &'a PairingRequest,
    pub(crate) peer_org_id: &'a str,
    pub(crate) status: Option<&'a OrgPairingStatus>,
    /// The pairing named by `status.pairingId` (`NotLooked` when there is none).
    pub(crate) pairing: PairingLookup,
    /// The trust, when the trustor has accepted.
    pub(crate) trust: Option<ObservedTrustor>,
    pub(crate) now: Timestamp,
}

pub(crate) type TrusteeDecision = PairingDecision<TrusteeAction>;

/// Decides the next step for a live (not deleting) trustee-side OrgPairing.
pub(crate) fn decide(input: TrusteeInput<'_>) -> TrusteeDecision {
    let peer = input.peer_org_id;
    let prev_phase = input.status.and_then(|s| s.phase);
    let wanted_users: BTreeSet<String> = input.request.users.iter().cloned().collect();
    let wanted_groups: BTreeSet<String> = input.request.groups.iter().cloned().collect();

    if let Some(trust) = input.trust {
        let mut actions = Vec::new();
        actions.extend(
            wanted_users
                .difference(&trust.users)
                .cloned()
                .map(TrusteeAction::AddUser),
        );
        actions.extend(
            trust
                .users
                .difference(&wanted_users)
                .cloned()
                .map(TrusteeAction::RemoveUser),
        );
        actions.extend(
            wanted_groups
                .difference(&trust.groups)
                .cloned()
                .map(TrusteeAction::AddGroup),
        );
        actions.extend(
            trust
                .groups
                .difference(&wanted_groups)
                .cloned()
                .map(TrusteeAction::RemoveGroup),
        );
        let mut d = if trust.enabled {
            let msg = format!(
                "organization {peer} authorized {} users and {} groups; {} permissions granted",
                wanted_users.len(),
                wanted_groups.len(),
                trust.permissions.len()
            );
            TrusteeDecision::new(
                PairingSide::Trustee,
                OrgPairingPhase::Authorized,
                Requeue::Resync,
            )
            .condition(
                types::AUTHORIZED,
                Status::True,
                reasons::AUTHORIZED,
                msg.clone(),
            )
            .condition(types::READY, Status::True, reasons::AUTHORIZED, msg)
        } else {
            let msg = format!(
                "organization {peer} has disabled access: our users keep their roles there but cannot use them"
            );
            TrusteeDecision::new(
                PairingSide::Trustee,
                OrgPairingPhase::Disabled,
                Requeue::Resync,
            )
            .condition(
                types::AUTHORIZED,
                Status::False,
                reasons::DISABLED,
                msg.clone(),
            )
            .condition(types::READY, Status::False, reasons::DISABLED, msg)
        };
        d.actions = actions;
        d.permissions = if trust.enabled {
            trust.permissions
        } else {
            vec![]
        };
        d.peer_name = trust.name;
        return d;
    }

    // No trust. If there was one, the trustor (or an expiry) removed it.
    if matches!(
        prev_phase,
        Some(OrgPairingPhase::Authorized | OrgPairingPhase::Disabled | OrgPairingPhase::Revoked)
    ) {
        let msg = format!(
            "organization {peer} removed the trust; our users have no access there. Delete and re-create this OrgPairing to ask again"
        );
        return TrusteeDecision::new(
            PairingSide::Trustee,
            OrgPairingPhase::Revoked,
            Requeue::Resync,
        )
        .condition(
            types::AUTHORIZED,
            Status::False,
            reasons::REVOKED,
            msg.clone(),
        )
        .condition(types::READY, Status::False, reasons::REVOKED, msg);
    }

    // A pairing asked for and never recorded (the operator stopped in between) may
    // exist; Genesys Cloud cannot list pairings, so it cannot be found and adopted.
    // Asking again would leave two open for the same request: wait until it lapsed.
    if let Some(intent) = input.status.and_then(|s| s.pairing_requested.as_ref())
        && intent_is_for(intent, &wanted_users, &wanted_groups)
        && !pairing_expired(intent.requested_at.0, input.now)
    {
        return unrecorded(intent, peer);
    }

    let create = |why: String| {
        let msg =
            format!("{why}; hand the new pairing ID (status.pairingId) to organization {peer}");
        let mut d = TrusteeDecision::new(
            PairingSide::Trustee,
            OrgPairingPhase::WaitingForConfirmation,
            Requeue::Soon,
        )
        .condition(
            types::AUTHORIZED,
            Status::False,
            reasons::WAITING_FOR_CONFIRMATION,
            msg.clone(),
        )
        .condition(
            types::READY,
            Status::Unknown,
            reasons::WAITING_FOR_CONFIRMATION,
            msg,
        );
        d.actions = vec![TrusteeAction::CreatePairing {
            users: wanted_users.iter().cloned().collect(),
            groups: wanted_groups.iter().cloned().collect(),
        }];
        d
    };

    match input.pairing {
        PairingLookup::NotLooked => create("pairing requested".to_string()),
        PairingLookup::NotFound => {
            create("the previous pairing no longer exists, so a new one was requested".to_string())
        }
        PairingLookup::Found(p) if pairing_expired(p.created_at, input.now) => create(format!(
            "pairing {} expired 48 h after creation, so a new one was requested",
            p.id
        )),
        PairingLookup::Found(p) if p.users != wanted_users || p.groups != wanted_groups => {
            create(format!(
                "spec.request changed since pairing {} was made, so a new one was requested",
                p.id
            ))
        }
        PairingLookup::Found(p) => {
            let msg = format!(
                "pairing {} waits for organization {peer} to accept it (it expires 48 h after creation and is then renewed)",
                p.id
            );
            TrusteeDecision::new(
                PairingSide::Trustee,
                OrgPairingPhase::WaitingForConfirmation,
                Requeue::Soon,
            )
            .condition(
                types::AUTHORIZED,
                Status::False,
                reasons::WAITING_FOR_CONFIRMATION,
                msg.clone(),
            )
            .condition(
                types::READY,
                Status::Unknown,
                reasons::WAITING_FOR_CONFIRMATION,
                msg,
            )
        }
    }
}

/// True when the decision rests on `status.pairingRequested` or `status.pairingId`
/// being current: it creates a pairing, or holds because one went unrecorded. Read
/// from a watch cache that lags behind our own last write, either would be wrong (a
/// second pairing; a hold that overwrites the ID just recorded), so the controller
/// confirms the status on a fresh read first.
pub(crate) fn needs_current_status(d: &TrusteeDecision) -> bool {
    d.actions
        .iter()
        .any(|a| matches!(a, TrusteeAction::CreatePairing { .. }))
        || d.conditions
            .iter()
            .any(|c| c.reason == reasons::PAIRING_UNRECORDED)
}

/// True when `intent` asked for exactly these users and groups.
fn intent_is_for(
    intent: &PairingIntent,
    users: &BTreeSet<String>,
    groups: &BTreeSet<String>,
) -> bool {
    intent.users.iter().cloned().collect::<BTreeSet<_>>() == *users
        && intent.groups.iter().cloned().collect::<BTreeSet<_>>() == *groups
}

/// The hold after a pairing was asked for and its ID never recorded.
fn unrecorded(intent: &PairingIntent, peer: &str) -> TrusteeDecision {
    let asked = intent.requested_at.0;
    let msg = format!(
        "the operator stopped after asking Genesys Cloud for a pairing at {asked} and before recording its ID; \
         Genesys Cloud cannot list pairings, so that one cannot be found. So that no two pairings for this request \
         are open at once, a new one is requested at {}, when it has lapsed. To request one for organization {peer} \
         now, delete and re-create this OrgPairing",
        pairing_expires_at(asked)
    );
    TrusteeDecision::new(
        PairingSide::Trustee,
        OrgPairingPhase::WaitingForConfirmation,
        Requeue::Resync,
    )
    .condition(
        types::AUTHORIZED,
        Status::False,
        reasons::PAIRING_UNRECORDED,
        msg.clone(),
    )
    .condition(
        types::READY,
        Status::False,
        reasons::PAIRING_UNRECORDED,
        msg,
    )
}

/// The status to write *before* `POST /orgauthorization/pairings`: the previous one
/// plus `pairingRequested` for these users and groups. Written first, it survives a
/// crash between the call and the status that records the pairing's ID, and
/// [`decide`] then holds instead of asking a second time.
pub(crate) fn intent_status(
    prev: Option<&OrgPairingStatus>,
    users: &[String],
    groups: &[String],
    now: Timestamp,
) -> OrgPairingStatus {
    let mut status = prev.cloned().unwrap_or_default();
    status.side = Some(PairingSide::Trustee);
    let sorted = |ids: &[String]| {
        ids.iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    status.pairing_requested = Some(PairingIntent {
        requested_at: Time(now),
        users: sorted(users),
        groups: sorted(groups),
    });
    status
}

/// The status to write back when `POST /orgauthorization/pairings` failed: the
/// client treats every failure as "nothing was created" (see
/// [`crate::genesys::retry`]), so the intent goes and the next reconcile asks again.
pub(crate) fn without_intent(status: &OrgPairingStatus) -> OrgPairingStatus {
    OrgPairingStatus {
        pairing_requested: None,
        ..status.clone()
    }
}

/// What deleting a trustee-side OrgPairing must do: revoke the trust if there is one
/// (a pairing cannot be deleted; it lapses after 48 h), unless `orphan`.
pub(crate) fn decide_deletion(trust_exists: bool, orphan: bool) -> Vec<TrusteeAction> {
    if trust_exists && !orphan {
        vec![TrusteeAction::DeleteTrust]
    } else {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::DesiredCondition;
    use crate::lifecycle::testkit::*;
    use TrusteeAction::*;

    fn decide_with(
        req: &PairingRequest,
        prev: Option<OrgPairingStatus>,
        pairing: PairingLookup,
        trust: Option<ObservedTrustor>,
        now: Timestamp,
    ) -> TrusteeDecision {
        decide(TrusteeInput {
            request: req,
            peer_org_id: TRUSTOR,
            status: prev.as_ref(),
            pairing,
            trust,
            now,
        })
    }

    fn cond<'a>(d: &'a TrusteeDecision, t: &str) -> &'a DesiredCondition {
        d.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    fn prev(phase: OrgPairingPhase) -> Option<OrgPairingStatus> {
        Some(OrgPairingStatus {
            phase: Some(phase),
            ..Default::default()
        })
    }

    #[test]
    fn first_look_creates_the_pairing() {
        let req = request(&[U1, U2], &[G1]);
        let d = decide_with(&req, None, PairingLookup::NotLooked, None, t(0));
        assert_eq!(
            d.actions,
            vec![CreatePairing {
                users: vec![U1.into(), U2.into()],
                groups: vec![G1.into()]
            }]
        );
        assert_eq!(d.phase, OrgPairingPhase::WaitingForConfirmation);
        assert_eq!(
            cond(&d, types::AUTHORIZED).reason,
            reasons::WAITING_FOR_CONFIRMATION
        );
    }

    #[test]
    fn a_live_pairing_is_kept_until_48_hours() {
        let req = request(&[U1], &[]);
        let p = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(
            &req,
            prev(OrgPairingPhase::WaitingForConfirmation),
            PairingLookup::Found(p.clone()),
            None,
            t(47),
        );
        assert!(d.actions.is_empty());
        assert!(cond(&d, types::AUTHORIZED).message.contains("p-1"));
        let d = decide_with(
            &req,
            prev(OrgPairingPhase::WaitingForConfirmation),
            PairingLookup::Found(p),
            None,
            t(48),
        );
        assert_eq!(d.actions.len(), 1, "renewed at 48 h");
        assert!(matches!(d.actions[0], CreatePairing { .. }));
        assert!(cond(&d, types::AUTHORIZED).message.contains("expired"));
    }

    #[test]
    fn a_missing_pairing_or_a_changed_request_makes_a_new_one() {
        let req = request(&[U1, U2], &[]);
        let d = decide_with(
            &req,
            prev(OrgPairingPhase::WaitingForConfirmation),
            PairingLookup::NotFound,
            None,
            t(1),
        );
        assert!(matches!(d.actions[..], [CreatePairing { .. }]));
        let old = pairing("p-1", TRUSTEE, t(0), &[U1], &[]);
        let d = decide_with(
            &req,
            prev(OrgPairingPhase::WaitingForConfirmation),
            PairingLookup::Found(old),
            None,
            t(1),
        );
        assert!(matches!(d.actions[..], [CreatePairing { .. }]));
        assert!(cond(&d, types::AUTHORIZED).message.contains("changed"));
    }

    #[test]
    fn an_enabled_trust_is_authorized_and_membership_converges() {
        let req = request(&[U1, U2], &[G1]);
        let trust = ObservedTrustor {
            enabled: true,
            name: Some("Acme Prod".into()),
            permissions: vec!["routing:queue:view".into()],
            users: set(&[U1, U3]),
            groups: set(&[]),
        };
        let d = decide_with(
            &req,
            prev(OrgPairingPhase::WaitingForConfirmation),
            PairingLookup::NotLooked,
            Some(trust),
            t(1),
        );
        assert_eq!(d.phase, OrgPairingPhase::Authorized);
        assert_eq!(
            d.actions,
            vec![
                AddUser(U2.into()),
                RemoveUser(U3.into()),
                AddGroup(G1.into())
            ]
        );
        assert_eq!(d.permissions, vec!["routing:queue:view".to_string()]);
        assert_eq!(d.peer_name.as_deref(), Some("Acme Prod"));
        assert_eq!(cond(&d, types::AUTHORIZED).status, Status::True);
        assert_eq!(cond(&d, types::READY).status, Status::True);
    }

    #[test]
    fn a_disabled_trust_is_disabled_with_no_permissions() {
        let req = request(&[U1], &[]);
        let trust = ObservedTrustor {
            enabled: false,
            permissions: vec!["x".into()],
            users: set(&[U1]),
            ..Default::default()
        };
        let d = decide_with(
            &req,
            prev(OrgPairingPhase::Authorized),
            PairingLookup::NotLooked,
            Some(trust),
            t(1),
        );
        assert_eq!(d.phase, OrgPairingPhase::Disabled);
        assert!(d.actions.is_empty());
        assert!(d.permissions.is_empty());
        assert_eq!(cond(&d, types::AUTHORIZED).reason, reasons::DISABLED);
    }

    #[test]
    fn a_trust_that_disappears_is_revoked_and_not_re_requested() {
        let req = request(&[U1], &[]);
        for phase in [
            OrgPairingPhase::Authorized,
            OrgPairingPhase::Disabled,
            OrgPairingPhase::Revoked,
        ] {
            let d = decide_with(&req, prev(phase), PairingLookup::NotFound, None, t(100));
            assert_eq!(d.phase, OrgPairingPhase::Revoked);
            assert!(d.actions.is_empty());
            assert_eq!(cond(&d, types::AUTHORIZED).reason, reasons::REVOKED);
        }
    }

    #[test]
    fn deletion_revokes_unless_orphaned() {
        assert_eq!(decide_deletion(true, false), vec![DeleteTrust]);
        assert_eq!(decide_deletion(true, true), vec![]);
        assert_eq!(decide_deletion(false, false), vec![]);
    }

    #[test]
    fn actions_read_as_words_not_as_debug() {
        for (action, text) in [
            (
                CreatePairing {
                    users: vec!["u".into()],
                    groups: vec![],
                },
                "creating a pairing for 1 users and 0 groups",
            ),
            (AddUser("u1".into()), "adding user u1 to the trust"),
            (RemoveUser("u1".into()), "removing user u1 from the trust"),
            (AddGroup("g1".into()), "adding group g1 to the trust"),
            (RemoveGroup("g1".into()), "removing group g1 from the trust"),
            (DeleteTrust, "revoking the trust"),
        ] {
            assert_eq!(action.to_string(), text);
        }
    }
}
