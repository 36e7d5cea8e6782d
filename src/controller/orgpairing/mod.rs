//! The OrgPairing controller: the trustee side (`spec.request`, [`trustee`]) runs
//! [`crate::lifecycle::trustee`], the trustor side (`spec.grant`, [`trustor`]) runs
//! [`crate::lifecycle::trustor`]; both perform the calls the decision asks for and
//! write the status it describes. This module holds what the sides share: which side
//! and which object acts, the pairing lookup, the status writer and the cleanup.
//!
//! The two `run`s (trustee and trustor) are kept apart on purpose. They share the outer
//! shape (snapshot, observe the trust, decide, perform, wake the peer, write), but what
//! fills each step differs: the trustee confirms its pairing ID on a fresh read before
//! acting (a pairing cannot be listed), the trustor resolves role names and finds the
//! pairing ID to accept in the cluster; the inputs, actions, records and notes are
//! different types. A generic path would need a trait with an associated type or hook
//! per step to save about a dozen lines, and the order of the calls (which the crash
//! tests rely on) would no longer be readable in one function.

mod trustee;
mod trustor;

use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::events::EventType;

use super::acting::{Relationship, acting_for_cleanup, acting_org, turn_of, wake_siblings};
use super::context::Context;
use super::error::{Error, Failure};
use super::members;
use super::reconciler::{Next, Reconciled};
use super::sessions::{OrgSession, Parts};
use super::status::apply_status;
use crate::api::conditions::{find, reasons, types};
use crate::api::text::clean_opt;
use crate::api::{OrgPairing, OrgPairingPhase, OrgPairingStatus, PairingSide};
use crate::genesys::GenesysError;
use crate::genesys::models::TrustRequest;
use crate::lifecycle::conflict::{Turn, conflict_message};
use crate::lifecycle::deletion::{Deletion, plan};
use crate::lifecycle::pairing::{
    ObservedPairing, PairingDecision, PairingLookup, PairingRecord, api_error, awaiting_answer,
    conflict, next_status, organization_not_ready,
};
use crate::lifecycle::subjects::Directory;
use crate::runtime::scope::{Stores, Wakers};

pub(crate) const KIND: &str = "OrgPairing";

impl Reconciled for OrgPairing {
    const KIND: &'static str = KIND;
    type Cached = Self;
    type Status = OrgPairingStatus;

    fn status(&self) -> Option<&OrgPairingStatus> {
        self.status.as_ref()
    }

    fn acting_org(&self) -> &str {
        &self.spec.organization_ref
    }

    fn wakers(ctx: &Context) -> &Wakers<Self::Cached> {
        &ctx.wake_pairings
    }

    fn conditions_mut(status: &mut OrgPairingStatus) -> &mut Vec<Condition> {
        &mut status.conditions
    }

    async fn apply(&self, ctx: &Context) -> Result<Next, Error> {
        apply(self, ctx).await
    }

    async fn cleanup(&self, ctx: &Context, orphan: bool) -> Result<(), Error> {
        cleanup(self, ctx, orphan).await
    }

    async fn report_failure(&self, ctx: &Context, message: &str) -> Result<(), Error> {
        let d: PairingDecision<()> = api_error(side(self), self.status.as_ref(), message);
        write(self, ctx, &d, PairingRecord::default(), &[])
            .await
            .map(drop)
    }
}

impl Relationship for OrgPairing {
    fn organization_ref(&self) -> &str {
        &self.spec.organization_ref
    }

    fn peer_org_id(&self) -> &str {
        &self.spec.peer.organization_id
    }

    /// A trustee-side and a trustor-side object for the same peer are two different
    /// relationships (we trust them, they trust us).
    fn same_claim(&self, other: &OrgPairing) -> bool {
        side(self) == side(other)
    }

    fn store(ctx: &Context) -> &Stores<Self::Cached> {
        &ctx.pairings
    }
}

fn side(pairing: &OrgPairing) -> PairingSide {
    if pairing.spec.grant.is_some() {
        PairingSide::Trustor
    } else {
        PairingSide::Trustee
    }
}

fn observed_pairing(request: TrustRequest) -> ObservedPairing {
    ObservedPairing {
        id: request.id,
        trustee_org_id: request
            .trustee
            .as_ref()
            .map(|t| t.id.clone())
            .unwrap_or_default(),
        trustee_name: clean_opt(request.trustee.as_ref().and_then(|t| t.name.as_deref())),
        created_at: request.date_created.unwrap_or_else(Timestamp::now),
        users: request.users.into_iter().map(|u| u.id).collect(),
        groups: request.groups.into_iter().map(|g| g.id).collect(),
    }
}

/// The pairing named `id`, if there is an ID to look up: as the org saw it less than
/// `max_age` ago, or read ([`crate::controller::pairing_cache`]).
async fn lookup_pairing(
    session: &OrgSession,
    id: Option<&str>,
    max_age: Duration,
) -> Result<PairingLookup, GenesysError> {
    Ok(lookup_pairing_members(session, id, max_age).await?.0)
}

/// [`lookup_pairing`], with the emails and names of the users and groups the pairing
/// names (for a grant that names them so).
async fn lookup_pairing_members(
    session: &OrgSession,
    id: Option<&str>,
    max_age: Duration,
) -> Result<(PairingLookup, Directory), GenesysError> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok((PairingLookup::NotLooked, Directory::default()));
    };
    let found = match session.pairings.get(id, max_age, Instant::now()) {
        Some(seen) => Some(seen),
        None => {
            let read = session.client.get_pairing(id).await?;
            match &read {
                Some(found) => session.pairings.keep(found, Instant::now()),
                None => session.pairings.forget(id),
            }
            read
        }
    };
    Ok(match found {
        Some(found) => {
            let mut dir = Directory::default();
            for u in &found.users {
                dir.add_user(&u.id, u.email.as_deref());
            }
            for g in &found.groups {
                dir.add_group(&g.id, g.name.as_deref());
            }
            (PairingLookup::Found(observed_pairing(found)), dir)
        }
        None => (PairingLookup::NotFound, Directory::default()),
    })
}

async fn apply(pairing: &OrgPairing, ctx: &Context) -> Result<Next, Error> {
    let namespace = pairing.namespace().unwrap_or_default();
    let prev = pairing.status.as_ref();
    let side = side(pairing);
    if let Turn::Yield { actor } = turn_of(ctx, pairing) {
        let kind = match side {
            PairingSide::Trustee => "OrgPairing (request side)",
            PairingSide::Trustor => "OrgPairing (grant side)",
        };
        let message = conflict_message(
            kind,
            &actor,
            &pairing.spec.organization_ref,
            &pairing.spec.peer.organization_id,
        );
        let d: PairingDecision<()> = conflict(side, prev, &message);
        write(pairing, ctx, &d, PairingRecord::default(), &[]).await?;
        return Ok(Next::Wait(ctx.settings.soon));
    }
    let acting = match acting_org(ctx, &namespace, &pairing.spec.organization_ref) {
        Ok(acting) => acting,
        Err(not_acting) => {
            let d: PairingDecision<()> = organization_not_ready(
                side,
                prev,
                &not_acting.message,
                not_acting.organization_stalled,
            );
            write(pairing, ctx, &d, PairingRecord::default(), &[]).await?;
            return Ok(Next::Wait(ctx.settings.soon * 6));
        }
    };
    let poll = super::requeue::policy(ctx, &acting.org);
    // A wait on a peer managed here needs no poll: its writes wake us (issue 14).
    let waiting = awaiting_answer(prev.and_then(|s| s.phase))
        && !ctx.peer_org_here(&pairing.spec.peer.organization_id);
    let ages = Ages {
        snapshot: super::requeue::max_age(&poll, waiting, prev.map(|s| s.conditions.as_slice())),
        members: poll.members_max_age(waiting),
    };
    let (requeue, status) = match (&pairing.spec.request, &pairing.spec.grant) {
        (Some(request), None) => trustee::run(pairing, ctx, &acting, request, ages).await?,
        (None, Some(grant)) => trustor::run(pairing, ctx, &acting, grant, ages).await?,
        _ => return Err(Failure::NoSide.into()),
    };
    Ok(Next::Poll(super::requeue::after(
        &poll,
        requeue,
        &status.conditions,
    )))
}

/// How old what a look reads may be.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ages {
    /// The org's snapshot (the trust lists).
    pub(super) snapshot: Duration,
    /// A trust's members: as old as the trust list when `None`
    /// ([`crate::lifecycle::poll::PollPolicy::members_max_age`]).
    members: Option<Duration>,
}

impl Ages {
    /// Since when a kept member reading counts, for a trust list read at `list_read`.
    pub(super) fn members_since(&self, list_read: Instant) -> Instant {
        members::kept_since(list_read, self.members, Instant::now())
    }

    /// How old a member reading a look accepts: the members' age once settled, else
    /// the snapshot's.
    pub(super) fn members_or_snapshot(&self) -> Duration {
        self.members.unwrap_or(self.snapshot)
    }
}

/// A Normal Event to publish once the status is written: its reason and note.
type Note = (&'static str, String);

/// Writes the status of a decision and the Events of what changed.
async fn write<A>(
    pairing: &OrgPairing,
    ctx: &Context,
    d: &PairingDecision<A>,
    record: PairingRecord,
    notes: &[Note],
) -> Result<OrgPairingStatus, Error> {
    let prev = pairing.status.as_ref();
    let status = next_status(
        prev,
        d,
        record,
        pairing.metadata.generation,
        Timestamp::now(),
    );
    if Some(&status) != prev {
        apply_status(&ctx.client, pairing, &status).await?;
    }
    for (reason, note) in notes {
        ctx.event(pairing, EventType::Normal, reason, note.clone())
            .await;
    }
    ctx.metrics
        .set_phase(KIND, pairing, status.phase.map(|p| p.as_str()));
    let from = prev.and_then(|s| s.phase);
    if from != status.phase
        && let Some(phase) = status.phase
    {
        let warning = matches!(
            phase,
            OrgPairingPhase::Revoked | OrgPairingPhase::Expired | OrgPairingPhase::Error
        );
        let conflicted =
            find(&status.conditions, types::READY).is_some_and(|c| c.reason == reasons::CONFLICT);
        let note = find(&status.conditions, types::AUTHORIZED)
            .or_else(|| find(&status.conditions, types::READY))
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let type_ = if warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        let reason = if conflicted {
            reasons::CONFLICT
        } else {
            phase.as_str()
        };
        ctx.event(pairing, type_, reason, note).await;
    }
    Ok(status)
}

/// Deleting an OrgPairing revokes: the trustor deletes the trust, the trustee its side,
/// as the side's `decide_deletion` says; nothing when orphaned or yielding.
async fn cleanup(pairing: &OrgPairing, ctx: &Context, orphan: bool) -> Result<(), Error> {
    if plan(orphan, &turn_of(ctx, pairing)) == Deletion::LeaveRemote {
        return Ok(());
    }
    let namespace = pairing.namespace().unwrap_or_default();
    let peer = pairing.spec.peer.organization_id.as_str();
    let (acting, snapshot) = acting_for_cleanup(
        ctx,
        &namespace,
        &pairing.spec.organization_ref,
        Parts::TRUSTS,
    )
    .await?;
    let session = &acting.session;
    let result = match side(pairing) {
        PairingSide::Trustee => {
            let actions = crate::lifecycle::trustee::decide_deletion(
                snapshot.trustor(peer).is_some(),
                orphan,
            );
            trustee::perform_all(
                pairing,
                ctx,
                &acting,
                &actions,
                &mut PairingRecord::default(),
            )
            .await
            .map(drop)
        }
        PairingSide::Trustor => {
            let actions = crate::lifecycle::trustor::decide_deletion(
                snapshot.trustee(peer).is_some(),
                orphan,
            );
            trustor::perform_all(ctx, &acting, peer, &actions)
                .await
                .map(drop)
        }
    };
    session.invalidate_parts(Parts::TRUSTS);
    result?;
    ctx.wake_peer(&acting.org_id, peer, Parts::TRUSTS);
    wake_siblings(ctx, pairing);
    Ok(())
}

/// The `Adopted` note of a decision ([`crate::lifecycle::adopt::trust`]), unless
/// `orglink.dev/reconcile: observe` holds its actions back (nothing is adopted yet then).
fn adopted_unless_held<A>(
    pairing: &OrgPairing,
    adopted: Option<String>,
    d: &PairingDecision<A>,
) -> Option<String> {
    let mode = crate::lifecycle::observe::mode(pairing.metadata.annotations.as_ref());
    adopted.filter(|_| d.actions.is_empty() || mode == crate::lifecycle::observe::Mode::Act)
}

/// `orglink.dev/reconcile: observe`: the decision as it is when it has nothing to do or
/// the operator may act, else the held-back status naming what it would do.
fn observe_only<A: std::fmt::Display>(
    pairing: &OrgPairing,
    side: PairingSide,
    d: PairingDecision<A>,
) -> PairingDecision<A> {
    let would: Vec<String> = d.actions.iter().map(ToString::to_string).collect();
    crate::lifecycle::observe::hold(
        crate::lifecycle::observe::mode(pairing.metadata.annotations.as_ref()),
        &would,
        d,
        |message| crate::lifecycle::observe::pairing_held(side, pairing.status.as_ref(), message),
    )
}
