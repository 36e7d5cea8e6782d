//! Authorized-organization pairings (trust requests, genesys-api.md §4.2 step 1).
//!
//! Rules:
//! - Created by the trustee (`POST /orgauthorization/pairings`), naming its own users and
//!   groups: at least one of either, at most [`MAX_TRUST_USERS`] users, no duplicates, and
//!   every ID must be a user or group of the trustee (400 naming the entry otherwise).
//! - A pairing expires [`PAIRING_LIFETIME`] (48 h) after `dateCreated`, on the simulated
//!   clock. `GET /pairings/{id}` then answers 404 with code `pairing.expired`; using it to
//!   create a trust answers 400 `pairing.expired`.
//! - Readable by any org of the same region (the trustor reads it before accepting);
//!   regions are separate clouds, so from another region it is 404.
//! - There is no list and no delete (as in the real API).

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::{MAX_TRUST_USERS, SimState};
use crate::sandbox::genesys_sim::error::ApiError;
use axum::http::StatusCode;

/// How long a pairing may be used: "There is a 48 hour expiration on all requests."
pub const PAIRING_LIFETIME: SignedDuration = SignedDuration::from_hours(48);

/// The error code of an expired pairing.
pub(crate) const PAIRING_EXPIRED: &str = "pairing.expired";

/// One pairing (`TrustRequest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairing {
    pub id: Uuid,
    pub trustee: Uuid,
    pub users: Vec<Uuid>,
    pub groups: Vec<Uuid>,
    pub(crate) created_at: Timestamp,
}

impl Pairing {
    pub(crate) fn expires_at(&self) -> Timestamp {
        self.created_at + PAIRING_LIFETIME
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at()
    }

    fn expired_message(&self) -> String {
        format!(
            "pairing {} expired at {} (pairings expire 48 hours after creation); the trustee must create a new one",
            self.id,
            self.expires_at()
        )
    }
}

/// Checks one list of IDs of a pairing or trust request: no duplicates, each known.
pub(super) fn check_ids(
    field: &str,
    ids: &[Uuid],
    kind: &str,
    known: impl Fn(Uuid) -> bool,
) -> Result<(), ApiError> {
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(ApiError::bad_field(
                format!("{field}[{i}]"),
                format!("{kind} {id} is listed twice"),
            ));
        }
        if !known(*id) {
            return Err(ApiError::bad_field(
                format!("{field}[{i}]"),
                format!("{id} is not a {kind} of the trustee organization"),
            )
            .with_entity(id.to_string(), None));
        }
    }
    Ok(())
}

impl SimState {
    /// `POST /api/v2/orgauthorization/pairings` by the trustee `caller`; `id` is the new
    /// pairing's ID (chosen by the caller so tests are deterministic).
    pub(crate) fn create_pairing(
        &mut self,
        caller: Uuid,
        user_ids: &[Uuid],
        group_ids: &[Uuid],
        id: Uuid,
        now: Timestamp,
    ) -> Result<&Pairing, ApiError> {
        let trustee = self.caller(caller)?;
        if user_ids.is_empty() && group_ids.is_empty() {
            return Err(ApiError::bad_field(
                "userIds",
                "at least one user or one group is required",
            ));
        }
        if user_ids.len() > MAX_TRUST_USERS {
            return Err(ApiError::bad_field(
                "userIds",
                format!(
                    "at most {MAX_TRUST_USERS} users can be authorized to access another organization; got {}",
                    user_ids.len()
                ),
            ));
        }
        check_ids("userIds", user_ids, "user", |u| trustee.user(u).is_some())?;
        check_ids("groupIds", group_ids, "group", |g| {
            trustee.group(g).is_some()
        })?;
        let pairing = Pairing {
            id,
            trustee: caller,
            users: user_ids.to_vec(),
            groups: group_ids.to_vec(),
            created_at: now,
        };
        self.pairings.insert(id, pairing);
        Ok(&self.pairings[&id])
    }

    /// `GET /api/v2/orgauthorization/pairings/{pairingId}`.
    pub(crate) fn pairing(
        &self,
        caller: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> Result<&Pairing, ApiError> {
        let me = self.caller(caller)?;
        let pairing = self
            .pairings
            .get(&id)
            .filter(|p| self.orgs.get(&p.trustee).map(|o| o.region) == Some(me.region))
            .ok_or_else(|| ApiError::not_found(format!("pairing {id} was not found")))?;
        if pairing.is_expired(now) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                PAIRING_EXPIRED,
                pairing.expired_message(),
            ));
        }
        Ok(pairing)
    }

    /// Every pairing, expired ones included (for admin inspection and tests).
    pub fn all_pairings(&self) -> impl Iterator<Item = &Pairing> {
        self.pairings.values()
    }

    /// The pairing a trustor names in `POST /trustees`, if it may be used by `trustor`.
    pub(super) fn usable_pairing(
        &self,
        trustor: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> Result<&Pairing, ApiError> {
        let me = self.caller(trustor)?;
        let pairing = self.pairings.get(&id).ok_or_else(|| {
            ApiError::not_found(format!("pairing {id} was not found"))
                .with_entity(id.to_string(), None)
        })?;
        if pairing.trustee == trustor {
            return Err(ApiError::bad_field(
                "pairingId",
                "the pairing was created by this organization; an organization cannot trust itself",
            ));
        }
        let trustee = self.caller(pairing.trustee)?;
        if trustee.region != me.region {
            return Err(ApiError::bad_field(
                "pairingId",
                format!(
                    "the pairing was created by organization {} in region {}; a trust is only possible between organizations of the same region, and this organization is in {}",
                    trustee.id, trustee.region, me.region
                ),
            ));
        }
        if pairing.is_expired(now) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                PAIRING_EXPIRED,
                pairing.expired_message(),
            ));
        }
        Ok(pairing)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    const P: u128 = 0xF00D;

    #[test]
    fn a_pairing_names_users_and_groups_of_the_trustee() {
        let mut s = state();
        let p = s
            .create_pairing(
                id(MSP),
                &[user(MSP, 1), user(MSP, 2)],
                &[group(MSP, 1)],
                id(P),
                t0(),
            )
            .unwrap()
            .clone();
        assert_eq!(p.trustee, id(MSP));
        assert_eq!(p.created_at, t0());
        assert_eq!(p.expires_at(), t0() + SignedDuration::from_hours(48));
        assert_eq!(s.pairing(id(ACME), id(P), t0()).unwrap(), &p);
        assert_eq!(s.pairing(id(MSP), id(P), t0()).unwrap(), &p);
    }

    #[test]
    fn only_groups_or_only_users_is_enough_but_nothing_is_not() {
        let mut s = state();
        s.create_pairing(id(MSP), &[], &[group(MSP, 1)], id(P), t0())
            .unwrap();
        s.create_pairing(id(MSP), &[user(MSP, 1)], &[], id(P + 1), t0())
            .unwrap();
        let err = s
            .create_pairing(id(MSP), &[], &[], id(P + 2), t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("at least one user or one group"));
    }

    #[test]
    fn twenty_five_users_pass_and_twenty_six_are_refused() {
        let mut s = state();
        let users: Vec<_> = (1..=26).map(|i| user(MSP, i)).collect();
        s.create_pairing(id(MSP), &users[..25], &[], id(P), t0())
            .unwrap();
        let err = s
            .create_pairing(id(MSP), &users, &[], id(P + 1), t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("at most 25"), "{}", err.message);
        assert!(err.message.contains("got 26"), "{}", err.message);
        assert!(s.pairing(id(MSP), id(P + 1), t0()).is_err());
    }

    #[test]
    fn unknown_or_foreign_members_are_named() {
        let mut s = state();
        // A user of another org is not a user of the trustee.
        let err = s
            .create_pairing(id(MSP), &[user(MSP, 1), user(ACME, 1)], &[], id(P), t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.starts_with("userIds[1]:"), "{}", err.message);
        assert!(err.message.contains(&user(ACME, 1).to_string()));
        let err = s
            .create_pairing(id(MSP), &[], &[group(MSP, 1), id(0xDEAD)], id(P), t0())
            .unwrap_err();
        assert!(err.message.starts_with("groupIds[1]:"), "{}", err.message);
        let err = s
            .create_pairing(id(MSP), &[user(MSP, 1), user(MSP, 1)], &[], id(P), t0())
            .unwrap_err();
        assert!(err.message.contains("listed twice"), "{}", err.message);
    }

    #[test]
    fn pairings_expire_after_48_hours() {
        let mut s = state();
        s.create_pairing(id(MSP), &[user(MSP, 1)], &[], id(P), t0())
            .unwrap();
        let just_before = t0() + SignedDuration::from_hours(48) - SignedDuration::from_secs(1);
        assert!(s.pairing(id(ACME), id(P), just_before).is_ok());
        let err = s
            .pairing(id(ACME), id(P), t0() + SignedDuration::from_hours(48))
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(err.code, PAIRING_EXPIRED);
        assert!(err.message.contains("expired"));
    }

    #[test]
    fn unknown_pairings_and_other_regions_are_not_found() {
        let mut s = state();
        let err = s.pairing(id(ACME), id(P), t0()).unwrap_err();
        assert_eq!(
            (err.status, err.code.as_ref()),
            (StatusCode::NOT_FOUND, "not.found")
        );
        s.create_pairing(id(MSP), &[user(MSP, 1)], &[], id(P), t0())
            .unwrap();
        let err = s.pairing(id(EU), id(P), t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }
}
