//! The trustee side of an OrgPairing (`spec.request`): observe the trust the peer
//! gave us (or the pairing we created), run [`crate::lifecycle::trustee::decide`],
//! perform its actions, write the status.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::events::EventType;

use super::{Ages, Note, lookup_pairing, write};
use crate::api::PairingSide;
use crate::api::conditions::events::{self, ADOPTION_REFUSED};
use crate::api::text::clean_opt;
use crate::api::{OrgPairing, OrgPairingStatus, PairingRequest};
use crate::controller::acting::Acting;
use crate::controller::context::Context;
use crate::controller::directory;
use crate::controller::error::Failure;
use crate::controller::members;
use crate::controller::sessions::{OrgSession, Parts};
use crate::controller::status::apply_status;
use crate::genesys::GenesysError;
use crate::genesys::models::TrustRequest;
use crate::lifecycle::Requeue;
use crate::lifecycle::adopt::{self, PendingPairing};
use crate::lifecycle::pairing::{PairingLookup, PairingRecord};
use crate::lifecycle::subjects;
use crate::lifecycle::trustee::{self, ObservedTrustor, TrusteeAction, TrusteeInput};

/// Observe, decide, act, write.
pub(super) async fn run(
    pairing: &OrgPairing,
    ctx: &Context,
    acting: &Acting,
    request: &PairingRequest,
    ages: Ages,
) -> Result<(Requeue, OrgPairingStatus), Failure> {
    let peer = pairing.spec.peer.organization_id.as_str();
    let prev = pairing.status.as_ref();
    let session = &acting.session;
    // Emails and group names become IDs first; one that matches no one or several
    // stops here, before anything is asked of Genesys for the wrong set of people.
    let (emails, names) = subjects::request_names(request);
    let resolved;
    let request = if emails.is_empty() && names.is_empty() {
        request
    } else {
        let dir = directory::lookup(session, &emails, &names)
            .await
            .map_err(Failure::read)?;
        match subjects::resolve_request(request, &dir) {
            Ok(r) => {
                resolved = r;
                &resolved
            }
            Err(unresolved) => {
                let d: trustee::TrusteeDecision = subjects::unresolved(
                    PairingSide::Trustee,
                    prev,
                    &unresolved,
                    "in this organization",
                );
                let status = write(pairing, ctx, &d, PairingRecord::default(), &[])
                    .await
                    .map_err(|e| Failure::Write(Box::new(e)))?;
                return Ok((d.requeue, status));
            }
        }
    };
    let snapshot = session
        .snapshot(Parts::TRUSTORS, ages.snapshot)
        .await
        .map_err(Failure::read)?;
    let trust = match snapshot.trustor(peer) {
        Some(trustor) => Some(
            observe_trustor(
                session,
                peer,
                trustor,
                ages.members_since(snapshot.trustors_read_started()),
                members::FromTrustor {
                    shared: &ctx.trust_members,
                    me: &acting.org_id,
                    max_age: ages.members_or_snapshot(),
                },
            )
            .await
            .map_err(Failure::read)?,
        ),
        None => None,
    };
    let (lookup, adopted_pairing) = if trust.is_none() {
        let resync = ctx.settings.resync_of(&acting.org);
        pending_pairing(pairing, ctx, acting, request, resync).await?
    } else {
        (PairingLookup::NotLooked, None)
    };
    let adopted = adopt::trust(PairingSide::Trustee, prev, trust.is_some(), peer);
    let members_before = trust.as_ref().map(|t| (t.users.clone(), t.groups.clone()));
    let d = trustee::decide(TrusteeInput {
        request,
        peer_org_id: peer,
        status: prev,
        pairing: lookup,
        trust,
        now: Timestamp::now(),
    });
    let adopted = super::adopted_unless_held(pairing, adopted, &d);
    let d = super::observe_only(pairing, PairingSide::Trustee, d);
    // A pairing cannot be deleted or listed: its ID lives only in our status, and `prev`
    // comes from the watch cache, which can lag behind our own last write (a reconcile
    // that follows at once would make a second pairing). Confirm on a fresh read.
    if trustee::needs_current_status(&d) && !pairing_id_is_current(pairing, ctx).await? {
        return Ok((Requeue::Soon, prev.cloned().unwrap_or_default()));
    }
    let (mut record, adopted) = match adopted_pairing {
        Some((record, note)) => (record, Some(note)),
        None => (PairingRecord::default(), adopted),
    };
    let done = perform_all(pairing, ctx, acting, &d.actions, &mut record).await?;
    if let Some(members) = members_before.and_then(|before| members_after(before, &done)) {
        session.trustor_members.store(peer, Instant::now(), members);
    }
    if done.contains(&&TrusteeAction::DeleteTrust) {
        ctx.trust_members.drop_trust(&acting.org_id, peer);
        session.record_trustor(peer, None).await;
    }
    if !done.is_empty() {
        ctx.wake_peer(&acting.org_id, peer, trustee_changes(&done));
    }
    let mut notes = notes(done, &record, peer);
    notes.extend(adopted.map(|note| (events::ADOPTED, note)));
    let status = write(pairing, ctx, &d, record, &notes)
        .await
        .map_err(|e| Failure::Write(Box::new(e)))?;
    Ok((d.requeue, status))
}

/// The pairing to decide on while there is no trust: the one the status records, or
/// for an object that never acted, the one annotated `orglink.dev/adopt-pairing`
/// (as seen within `pairing_max_age`, the resync: the trustee made its pairing itself,
/// a pairing never changes and its expiry is computed, so reading it back at every look
/// while it waits would only tell of one gone before its time, which a resync finds;
/// see [`crate::controller::pairing_cache`])
/// ([`adopt::pending_pairing`]), with its record and the `Adopted` note when it is
/// adopted. One that cannot be adopted is reported (Warning Event `AdoptionRefused`)
/// and left out, so the decision asks for a pairing as without the annotation.
async fn pending_pairing(
    pairing: &OrgPairing,
    ctx: &Context,
    acting: &Acting,
    request: &PairingRequest,
    pairing_max_age: Duration,
) -> Result<(PairingLookup, Option<(PairingRecord, String)>), Failure> {
    let prev = pairing.status.as_ref();
    let annotated = pairing
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(adopt::ADOPT_PAIRING_ANNOTATION))
        .map(String::as_str);
    let lookup = lookup_pairing(
        &acting.session,
        adopt::pairing_to_look_up(prev, annotated),
        pairing_max_age,
    )
    .await
    .map_err(Failure::read)?;
    let users: BTreeSet<String> = request.users.iter().cloned().collect();
    let groups: BTreeSet<String> = request.groups.iter().cloned().collect();
    let now = Timestamp::now();
    Ok(
        match adopt::pending_pairing(
            prev,
            annotated,
            &lookup,
            &acting.org_id,
            &users,
            &groups,
            now,
        ) {
            PendingPairing::NotAsked => (lookup, None),
            PendingPairing::Adopt { record, note } => (lookup, Some((record, note))),
            PendingPairing::Refused(why) => {
                ctx.event(pairing, EventType::Warning, ADOPTION_REFUSED, why)
                    .await;
                (PairingLookup::NotLooked, None)
            }
        },
    )
}

/// The members of the trust after `done` changed them from `before`: kept instead of
/// read back at the next look, until the trustor list is read again. `None` unless every
/// action done was a member added or removed.
fn members_after(
    (mut users, mut groups): (BTreeSet<String>, BTreeSet<String>),
    done: &[&TrusteeAction],
) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    if done.is_empty() {
        return None;
    }
    for action in done {
        match action {
            TrusteeAction::AddUser(id) => users.insert(id.clone()),
            TrusteeAction::RemoveUser(id) => users.remove(id),
            TrusteeAction::AddGroup(id) => groups.insert(id.clone()),
            TrusteeAction::RemoveGroup(id) => groups.remove(id),
            TrusteeAction::CreatePairing { .. } | TrusteeAction::DeleteTrust => return None,
        };
    }
    Some((users, groups))
}

/// What the trustee's `done` changed in the peer's snapshot: its trustee list when the
/// trust went (the peer is the trustor); nothing for a pairing or a membership (members are read live).
fn trustee_changes(done: &[&TrusteeAction]) -> Parts {
    if done.contains(&&TrusteeAction::DeleteTrust) {
        Parts::TRUSTEES
    } else {
        Parts::default()
    }
}

/// The trust as the trustee sees it, with its members: read unless read since
/// `members_since` (the trust list, or the members' age once settled: [`Ages`]), or read
/// by the trustor side here within twice the age the look accepts (`from_trustor`; see
/// [`crate::controller::members`]).
async fn observe_trustor(
    session: &OrgSession,
    peer: &str,
    trustor: &crate::genesys::models::Trustor,
    members_since: Instant,
    from_trustor: members::FromTrustor<'_>,
) -> Result<ObservedTrustor, GenesysError> {
    let (users, groups) =
        members::of_trustor(session, peer, members_since, Some(from_trustor)).await?;
    Ok(ObservedTrustor {
        enabled: trustor.enabled,
        name: clean_opt(
            trustor
                .organization
                .as_ref()
                .and_then(|o| o.name.as_deref()),
        ),
        permissions: trustor
            .authorization
            .as_ref()
            .map(|a| a.permissions.clone())
            .unwrap_or_default(),
        users,
        groups,
    })
}

/// Performs `actions` in order, stopping at the first that fails (the session is then
/// marked stale). A created pairing's ID and time go to `record`. Returns what was done.
pub(super) async fn perform_all<'a>(
    pairing: &OrgPairing,
    ctx: &Context,
    acting: &Acting,
    actions: &'a [TrusteeAction],
    record: &mut PairingRecord,
) -> Result<Vec<&'a TrusteeAction>, Failure> {
    let session = &acting.session;
    let peer = pairing.spec.peer.organization_id.as_str();
    let mut done = Vec::new();
    if !actions.is_empty() {
        session.trustor_members.forget(peer);
        ctx.trust_members.forget(&acting.org_id, peer);
    }
    for action in actions {
        if let Err(failure) = perform(pairing, ctx, session, action, record).await {
            session.invalidate_parts(Parts::TRUSTORS);
            return Err(failure);
        }
        done.push(action);
    }
    Ok(done)
}

/// `POST /orgauthorization/pairings`, with its intent written to status first
/// ([`trustee::intent_status`]): a crash between the call and the status that records
/// the new ID then leaves that memory instead of nothing, and the next decision holds
/// rather than making a second pairing. A failed call takes the intent back. The outer
/// `Err` is a failed status write (the call was not made, or its intent not taken back).
async fn create_pairing_once(
    pairing: &OrgPairing,
    ctx: &Context,
    session: &OrgSession,
    users: &[String],
    groups: &[String],
) -> Result<Result<TrustRequest, GenesysError>, Failure> {
    let intent = trustee::intent_status(pairing.status.as_ref(), users, groups, Timestamp::now());
    apply_status(&ctx.client, pairing, &intent)
        .await
        .map_err(|e| Failure::Write(Box::new(e)))?;
    let created = session.client.create_pairing(users, groups).await;
    if let Ok(pairing) = &created {
        session.pairings.keep(pairing, Instant::now());
    }
    if created.is_err() {
        apply_status(&ctx.client, pairing, &trustee::without_intent(&intent))
            .await
            .map_err(|e| Failure::Write(Box::new(e)))?;
    }
    Ok(created)
}

/// Makes the call `action` asks for; a created pairing's ID and time go to `record`.
async fn perform(
    pairing: &OrgPairing,
    ctx: &Context,
    session: &OrgSession,
    action: &TrusteeAction,
    record: &mut PairingRecord,
) -> Result<(), Failure> {
    let peer = pairing.spec.peer.organization_id.as_str();
    let client = &session.client;
    let called = match action {
        TrusteeAction::CreatePairing { users, groups } => {
            create_pairing_once(pairing, ctx, session, users, groups)
                .await?
                .map(|created| {
                    record.pairing_id = Some(created.id.clone());
                    record.created_at = Some(created.date_created.unwrap_or_else(Timestamp::now));
                })
        }
        other => call(client, peer, other).await,
    };
    called.map_err(|error| Failure::call(action, error))
}

/// The calls that change the trust's membership or end it.
async fn call(
    client: &crate::genesys::GenesysClient,
    peer: &str,
    action: &TrusteeAction,
) -> Result<(), GenesysError> {
    match action {
        // Made by `create_pairing_once`, with its intent, in `perform`; never here.
        TrusteeAction::CreatePairing { .. } => {}
        TrusteeAction::AddUser(id) => {
            client.add_trustor_user(peer, id).await?;
        }
        TrusteeAction::RemoveUser(id) => {
            client.remove_trustor_user(peer, id).await?;
        }
        TrusteeAction::AddGroup(id) => {
            client.add_trustor_group(peer, id).await?;
        }
        TrusteeAction::RemoveGroup(id) => {
            client.remove_trustor_group(peer, id).await?;
        }
        TrusteeAction::DeleteTrust => {
            client.delete_trustor(peer).await?;
        }
    }
    Ok(())
}

/// The Events of what was done.
fn notes(done: Vec<&TrusteeAction>, record: &PairingRecord, peer: &str) -> Vec<Note> {
    done.into_iter()
        .filter_map(|a| match a {
            TrusteeAction::CreatePairing { users, groups } => Some((
                "PairingCreated",
                format!(
                    "created pairing {} for {} users and {} groups; give this ID to organization {peer} (spec.grant.pairingId)",
                    record.pairing_id.clone().unwrap_or_default(),
                    users.len(),
                    groups.len()
                ),
            )),
            TrusteeAction::DeleteTrust => {
                Some(("Revoked", format!("removed access to organization {peer}")))
            }
            _ => None,
        })
        .collect()
}

/// True when the API server's `status.pairingId` is still the one this reconcile read
/// (from the cache); when not, the watch brings the newer status and a new reconcile.
async fn pairing_id_is_current(pairing: &OrgPairing, ctx: &Context) -> Result<bool, Failure> {
    let namespace = pairing.namespace().unwrap_or_default();
    let api: Api<OrgPairing> = Api::namespaced(ctx.client.clone(), &namespace);
    let stored = api
        .get_status(&pairing.name_any())
        .await
        .map_err(Failure::StatusRead)?;
    let id = |p: &OrgPairing| {
        p.status
            .as_ref()
            .map(|s| (s.pairing_id.clone(), s.pairing_requested.clone()))
    };
    Ok(id(&stored).unwrap_or_default() == id(pairing).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn members_after_our_own_adds_and_removes_are_known_without_a_read() {
        let before = (set(&["u1", "u2"]), set(&[]));
        let add_group = TrusteeAction::AddGroup("g1".into());
        let remove_user = TrusteeAction::RemoveUser("u2".into());
        assert_eq!(
            members_after(before.clone(), &[&add_group, &remove_user]),
            Some((set(&["u1"]), set(&["g1"])))
        );
        assert_eq!(members_after(before.clone(), &[]), None, "nothing done");
        let delete = TrusteeAction::DeleteTrust;
        assert_eq!(members_after(before, &[&add_group, &delete]), None);
    }
}
