//! The OrgPairing controller: the trustee side (`spec.request`) runs
//! [`crate::lifecycle::trustee`], the trustor side (`spec.grant`) runs
//! [`crate::lifecycle::trustor`]; both perform the calls the decision asks for and
//! write the status it describes.

use crate::api::text::clean_opt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};

use super::context::Context;
use super::error::Error;
use super::organization::jittered;
use super::orglink::{Acting, acting_for_cleanup, acting_org, claimant};
use super::sessions::OrgSession;
use super::status::apply_status;
use crate::api::conditions::{DesiredCondition, Status, find, reasons, types};
use crate::api::{
    FINALIZER, ON_DELETE_ANNOTATION, OrgPairing, OrgPairingPhase, PairingGrant, PairingRequest,
    PairingSide,
};
use crate::genesys::GenesysError;
use crate::genesys::models::{TrustCreate, TrustMemberCreate, TrustRequest, TrustUpdate};
use crate::lifecycle::Requeue;
use crate::lifecycle::conflict::{Claimant, Turn, conflict_message, turn};
use crate::lifecycle::pairing::{
    ObservedPairing, PairingDecision, PairingLookup, PairingRecord, api_error, conflict,
    next_status, organization_not_ready,
};
use crate::lifecycle::trustee::{self, ObservedTrustor, TrusteeAction, TrusteeInput};
use crate::lifecycle::trustor::{self, Member, ObservedTrustee, TrustorAction, TrustorInput};

pub const KIND: &str = "OrgPairing";

pub async fn reconcile(pairing: Arc<OrgPairing>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = pairing
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<OrgPairing> = Api::namespaced(ctx.client.clone(), &namespace);
    let started = std::time::Instant::now();
    let result = finalizer(&api, FINALIZER, pairing, |event| async {
        match event {
            Finalizer::Apply(p) => apply(&p, &ctx).await,
            Finalizer::Cleanup(p) => cleanup(&p, &ctx).await,
        }
    })
    .await
    .map_err(Error::from);
    ctx.metrics.observe_reconcile(KIND, started.elapsed());
    result
}

fn side(pairing: &OrgPairing) -> PairingSide {
    if pairing.spec.grant.is_some() {
        PairingSide::Trustor
    } else {
        PairingSide::Trustee
    }
}

/// A time from Genesys as a jiff timestamp. chrono reaches further than jiff (years
/// ±262,143 against ±9,999): times beyond jiff's range saturate at its ends rather than
/// collapsing to 1970 (which would make a far-future pairing look long expired).
pub fn to_jiff(t: DateTime<Utc>) -> Timestamp {
    Timestamp::new(
        t.timestamp(),
        t.timestamp_subsec_nanos().min(999_999_999) as i32,
    )
    .unwrap_or(if t.timestamp() < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

pub fn to_chrono(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32).unwrap_or_default()
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
        created_at: request
            .date_created
            .map(to_jiff)
            .unwrap_or_else(Timestamp::now),
        users: request.users.into_iter().map(|u| u.id).collect(),
        groups: request.groups.into_iter().map(|g| g.id).collect(),
    }
}

async fn lookup_pairing(
    session: &OrgSession,
    id: Option<&str>,
) -> Result<PairingLookup, GenesysError> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok(PairingLookup::NotLooked);
    };
    Ok(match session.client.get_pairing(id).await? {
        Some(found) => PairingLookup::Found(observed_pairing(found)),
        None => PairingLookup::NotFound,
    })
}

fn waiting(pairing: &OrgPairing) -> bool {
    matches!(
        pairing.status.as_ref().and_then(|s| s.phase),
        None | Some(
            OrgPairingPhase::Requesting
                | OrgPairingPhase::WaitingForConfirmation
                | OrgPairingPhase::Error
        )
    )
}

/// The other OrgPairings of the same namespace, `organizationRef`, peer and side.
fn siblings(ctx: &Context, pairing: &OrgPairing) -> Vec<Arc<OrgPairing>> {
    ctx.pairings
        .state()
        .into_iter()
        .filter(|p| {
            p.namespace() == pairing.namespace()
                && p.name_any() != pairing.name_any()
                && p.spec.organization_ref == pairing.spec.organization_ref
                && p.spec.peer.organization_id == pairing.spec.peer.organization_id
                && side(p) == side(pairing)
        })
        .collect()
}

/// Whether this OrgPairing acts for its org, peer and side, or yields to an older one.
fn pairing_turn(ctx: &Context, pairing: &OrgPairing) -> Turn {
    let siblings = siblings(ctx, pairing);
    let claimants: Vec<Claimant> = siblings.iter().map(|p| claimant(&p.metadata)).collect();
    turn(&claimant(&pairing.metadata), &claimants)
}

async fn apply(pairing: &OrgPairing, ctx: &Context) -> Result<Action, Error> {
    let namespace = pairing.namespace().unwrap_or_default();
    let prev = pairing.status.as_ref();
    let side = side(pairing);
    let key = format!("{KIND}/{namespace}/{}", pairing.name_any());
    if let Turn::Yield { actor } = pairing_turn(ctx, pairing) {
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
        return Ok(Action::requeue(ctx.settings.soon));
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
            return Ok(Action::requeue(ctx.settings.soon * 6));
        }
    };
    let resync = ctx.settings.resync_of(&acting.org);
    let max_age = if waiting(pairing) {
        ctx.settings.soon
    } else {
        resync
    };
    let outcome = match (&pairing.spec.request, &pairing.spec.grant) {
        (Some(request), None) => run_trustee(pairing, ctx, &acting, request, max_age).await,
        (None, Some(grant)) => run_trustor(pairing, ctx, &acting, grant, max_age).await,
        _ => Err("exactly one of spec.request and spec.grant must be set".to_string()),
    };
    match outcome {
        Ok(requeue) => {
            ctx.reset_failures(&key);
            Ok(match requeue {
                Requeue::Soon => Action::requeue(ctx.settings.soon),
                Requeue::Resync => Action::requeue(jittered(resync)),
            })
        }
        Err(message) => {
            let d: PairingDecision<()> = api_error(side, prev, &message);
            write(pairing, ctx, &d, PairingRecord::default(), &[]).await?;
            ctx.event(pairing, EventType::Warning, reasons::API_ERROR, message)
                .await;
            ctx.metrics.observe_error(KIND, "genesys");
            Ok(Action::requeue(ctx.backoff_after_failure(&key)))
        }
    }
}

/// The trustee side: observe, decide, act, write. `Err` carries the message of a failed
/// read or call.
async fn run_trustee(
    pairing: &OrgPairing,
    ctx: &Context,
    acting: &Acting,
    request: &PairingRequest,
    max_age: std::time::Duration,
) -> Result<Requeue, String> {
    let peer = pairing.spec.peer.organization_id.as_str();
    let prev = pairing.status.as_ref();
    let session = &acting.session;
    let snapshot = session.snapshot(max_age).await.map_err(|e| e.to_string())?;
    let trust = match snapshot.trustor(peer) {
        Some(trustor) => {
            let users = session
                .client
                .list_trustor_users(peer)
                .await
                .map_err(|e| e.to_string())?;
            let groups = session
                .client
                .list_trustor_groups(peer)
                .await
                .map_err(|e| e.to_string())?;
            Some(ObservedTrustor {
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
                users: users.into_iter().map(|u| u.id).collect(),
                groups: groups.into_iter().map(|g| g.id).collect(),
            })
        }
        None => None,
    };
    let lookup = if trust.is_none() {
        lookup_pairing(session, prev.and_then(|s| s.pairing_id.as_deref()))
            .await
            .map_err(|e| e.to_string())?
    } else {
        PairingLookup::NotLooked
    };
    let d = trustee::decide(TrusteeInput {
        request,
        peer_org_id: peer,
        status: prev,
        pairing: lookup,
        trust,
        now: Timestamp::now(),
    });
    // A pairing cannot be deleted or listed: its ID lives only in our status, and `prev`
    // comes from the watch cache, which can lag behind our own last write (a reconcile
    // that follows at once would make a second pairing). Confirm on a fresh read.
    if trustee::needs_current_status(&d) && !pairing_id_is_current(pairing, ctx).await? {
        return Ok(Requeue::Soon);
    }
    let mut record = PairingRecord::default();
    let mut done = Vec::new();
    for action in &d.actions {
        let result = match action {
            TrusteeAction::CreatePairing { users, groups } => {
                create_pairing_once(pairing, ctx, session, users, groups)
                    .await?
                    .map(|created| {
                        record.pairing_id = Some(created.id.clone());
                        record.created_at = Some(
                            created
                                .date_created
                                .map(to_jiff)
                                .unwrap_or_else(Timestamp::now),
                        );
                    })
            }
            TrusteeAction::AddUser(id) => {
                session.client.add_trustor_user(peer, id).await.map(|_| ())
            }
            TrusteeAction::RemoveUser(id) => session
                .client
                .remove_trustor_user(peer, id)
                .await
                .map(|_| ()),
            TrusteeAction::AddGroup(id) => {
                session.client.add_trustor_group(peer, id).await.map(|_| ())
            }
            TrusteeAction::RemoveGroup(id) => session
                .client
                .remove_trustor_group(peer, id)
                .await
                .map(|_| ()),
            TrusteeAction::DeleteTrust => session.client.delete_trustor(peer).await.map(|_| ()),
        };
        if let Err(error) = result {
            session.invalidate();
            return Err(format!("{action:?} failed: {error}"));
        }
        done.push(action.clone());
    }
    if !done.is_empty() {
        session.invalidate();
        ctx.wake_peer(&acting.org_id, peer);
    }
    let notes: Vec<(&str, String)> = done
        .iter()
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
            TrusteeAction::DeleteTrust => Some(("Revoked", format!("removed access to organization {peer}"))),
            _ => None,
        })
        .collect();
    write(pairing, ctx, &d, record, &notes)
        .await
        .map_err(|e| e.to_string())?;
    Ok(d.requeue)
}

/// True when the API server's `status.pairingId` is still the one this reconcile read
/// (from the cache); when not, the watch brings the newer status and a new reconcile.
async fn pairing_id_is_current(pairing: &OrgPairing, ctx: &Context) -> Result<bool, String> {
    let namespace = pairing.namespace().unwrap_or_default();
    let api: Api<OrgPairing> = Api::namespaced(ctx.client.clone(), &namespace);
    let stored = api
        .get_status(&pairing.name_any())
        .await
        .map_err(|e| format!("reading the status before creating a pairing: {e}"))?;
    let id = |p: &OrgPairing| {
        p.status
            .as_ref()
            .map(|s| (s.pairing_id.clone(), s.pairing_requested.clone()))
    };
    Ok(id(&stored).unwrap_or_default() == id(pairing).unwrap_or_default())
}

/// `POST /orgauthorization/pairings`, with its intent written to status first
/// ([`trustee::intent_status`]): a crash between the call and the status that records
/// the new ID then leaves that memory instead of nothing, and the next decision holds
/// rather than making a second pairing. A failed call takes the intent back. `Err` is a
/// failed status write (nothing was called).
async fn create_pairing_once(
    pairing: &OrgPairing,
    ctx: &Context,
    session: &OrgSession,
    users: &[String],
    groups: &[String],
) -> Result<Result<TrustRequest, GenesysError>, String> {
    let intent = trustee::intent_status(pairing.status.as_ref(), users, groups, Timestamp::now());
    apply_status(&ctx.client, pairing, &intent)
        .await
        .map_err(|e| format!("recording the pairing request before making it: {e}"))?;
    let created = session.client.create_pairing(users, groups).await;
    if created.is_err() {
        apply_status(&ctx.client, pairing, &trustee::without_intent(&intent))
            .await
            .map_err(|e| format!("taking back the pairing request after it failed: {e}"))?;
    }
    Ok(created)
}

/// The trustor side: observe, decide, act, write.
async fn run_trustor(
    pairing: &OrgPairing,
    ctx: &Context,
    acting: &Acting,
    grant: &PairingGrant,
    max_age: std::time::Duration,
) -> Result<Requeue, String> {
    let peer = pairing.spec.peer.organization_id.as_str();
    let prev = pairing.status.as_ref();
    let session = &acting.session;
    let snapshot = session.snapshot(max_age).await.map_err(|e| e.to_string())?;
    let trust = match snapshot.trustee(peer) {
        Some(trustee) => Some(
            observe_trustee(session, peer, trustee)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let lookup = if trust.is_none() {
        lookup_pairing(session, Some(&grant.pairing_id))
            .await
            .map_err(|e| e.to_string())?
    } else {
        PairingLookup::NotLooked
    };
    let names = trustor::role_names(grant);
    let role_ids_by_name: BTreeMap<String, Option<String>> = session
        .client
        .resolve_role_names(&names)
        .await
        .map_err(|e| e.to_string())?;
    let d = trustor::decide(TrustorInput {
        grant,
        peer_org_id: peer,
        status: prev,
        pairing: lookup,
        trust,
        role_ids_by_name: &role_ids_by_name,
        now: Timestamp::now(),
    });
    let mut done = Vec::new();
    for action in &d.actions {
        let result = match action {
            TrustorAction::CreateTrust {
                pairing_id,
                enabled,
                expires_at,
                users,
                groups,
            } => {
                let member = |m: &Member| TrustMemberCreate {
                    id: m.id.clone(),
                    role_ids: m.role_ids.clone(),
                    role_divisions: None,
                };
                let body = TrustCreate {
                    pairing_id: Some(pairing_id.clone()),
                    enabled: *enabled,
                    users: users.iter().map(member).collect(),
                    groups: groups.iter().map(member).collect(),
                    date_expired: expires_at.map(to_chrono),
                };
                session.client.create_trust(&body).await.map(|_| ())
            }
            TrustorAction::UpdateTrust {
                enabled,
                expires_at,
            } => session
                .client
                .update_trustee(
                    peer,
                    &TrustUpdate {
                        enabled: *enabled,
                        date_expired: expires_at.map(to_chrono),
                    },
                )
                .await
                .map(|_| ()),
            TrustorAction::SetUserRoles(m) => session
                .client
                .set_trustee_user_roles(peer, &m.id, &m.role_ids)
                .await
                .map(|_| ()),
            TrustorAction::SetGroupRoles(m) => session
                .client
                .set_trustee_group_roles(peer, &m.id, &m.role_ids)
                .await
                .map(|_| ()),
            TrustorAction::DeleteTrust => session.client.delete_trustee(peer).await.map(|_| ()),
        };
        if let Err(error) = result {
            session.invalidate();
            return Err(format!("{} failed: {error}", trustor_action_name(action)));
        }
        done.push(action.clone());
    }
    if !done.is_empty() {
        session.invalidate();
        ctx.wake_peer(&acting.org_id, peer);
    }
    let notes: Vec<(&str, String)> = done
        .iter()
        .map(|a| match a {
            TrustorAction::CreateTrust { users, groups, .. } => (
                "Authorized",
                format!(
                    "accepted pairing {} from organization {peer}: {} users and {} groups",
                    grant.pairing_id,
                    users.len(),
                    groups.len()
                ),
            ),
            TrustorAction::SetUserRoles(m) => (
                "RolesAssigned",
                format!("set {} roles of user {}", m.role_ids.len(), m.id),
            ),
            TrustorAction::SetGroupRoles(m) => (
                "RolesAssigned",
                format!("set {} roles of group {}", m.role_ids.len(), m.id),
            ),
            TrustorAction::DeleteTrust => (
                "Revoked",
                format!("revoked the access of organization {peer}"),
            ),
            TrustorAction::UpdateTrust { enabled, .. } => (
                if *enabled { "Enabled" } else { "Disabled" },
                format!("set the trust of organization {peer} to enabled={enabled}"),
            ),
        })
        .collect();
    write(pairing, ctx, &d, PairingRecord::default(), &notes)
        .await
        .map_err(|e| e.to_string())?;
    Ok(d.requeue)
}

fn trustor_action_name(action: &TrustorAction) -> String {
    match action {
        TrustorAction::CreateTrust { pairing_id, .. } => format!("accepting pairing {pairing_id}"),
        TrustorAction::UpdateTrust { .. } => "updating the trust".to_string(),
        TrustorAction::SetUserRoles(m) => format!("setting the roles of user {}", m.id),
        TrustorAction::SetGroupRoles(m) => format!("setting the roles of group {}", m.id),
        TrustorAction::DeleteTrust => "deleting the trust".to_string(),
    }
}

/// The trust as the trustor sees it, with each member's roles.
async fn observe_trustee(
    session: &OrgSession,
    peer: &str,
    trustee: &crate::genesys::models::Trustee,
) -> Result<ObservedTrustee, GenesysError> {
    let mut users = BTreeMap::new();
    for user in session.client.list_trustee_users(peer).await? {
        let roles = session
            .client
            .get_trustee_user_roles(peer, &user.id)
            .await?;
        users.insert(user.id, role_ids(roles));
    }
    let mut groups = BTreeMap::new();
    for group in session.client.list_trustee_groups(peer).await? {
        let roles = session
            .client
            .get_trustee_group_roles(peer, &group.id)
            .await?;
        groups.insert(group.id, role_ids(roles));
    }
    Ok(ObservedTrustee {
        enabled: trustee.enabled,
        expires_at: trustee.date_expired.map(to_jiff),
        name: clean_opt(
            trustee
                .organization
                .as_ref()
                .and_then(|o| o.name.as_deref()),
        ),
        users,
        groups,
    })
}

fn role_ids(auth: Option<crate::genesys::models::UserAuthorization>) -> BTreeSet<String> {
    auth.map(|a| a.roles.into_iter().map(|r| r.id).collect())
        .unwrap_or_default()
}

/// Writes the status of a decision and the Events of what changed.
async fn write<A>(
    pairing: &OrgPairing,
    ctx: &Context,
    d: &PairingDecision<A>,
    record: PairingRecord,
    notes: &[(&str, String)],
) -> Result<(), Error> {
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
        .set_phase(KIND, pairing, status.phase.map(|p| format!("{p:?}")));
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
            reasons::CONFLICT.to_string()
        } else {
            format!("{phase:?}")
        };
        ctx.event(pairing, type_, &reason, note).await;
    }
    Ok(())
}

/// Deleting an OrgPairing revokes: the trustor deletes the trust, the trustee its side,
/// unless the object carries `orglink.dev/on-delete: orphan`.
async fn cleanup(pairing: &OrgPairing, ctx: &Context) -> Result<Action, Error> {
    let orphan = pairing
        .annotations()
        .get(ON_DELETE_ANNOTATION)
        .is_some_and(|v| v == "orphan");
    if orphan {
        return Ok(Action::await_change());
    }
    // A pairing that yields never touched the trust, and must not revoke it now.
    if let Turn::Yield { .. } = pairing_turn(ctx, pairing) {
        return Ok(Action::await_change());
    }
    let namespace = pairing.namespace().unwrap_or_default();
    let peer = pairing.spec.peer.organization_id.as_str();
    let (acting, snapshot) =
        match acting_for_cleanup(ctx, &namespace, &pairing.spec.organization_ref).await {
            Ok(found) => found,
            Err(message) => return cleanup_failed(pairing, ctx, &message).await,
        };
    let result = match side(pairing) {
        PairingSide::Trustee => {
            let exists = snapshot.trustor(peer).is_some();
            if trustee::decide_deletion(exists, false).contains(&TrusteeAction::DeleteTrust) {
                acting.session.client.delete_trustor(peer).await.map(|_| ())
            } else {
                Ok(())
            }
        }
        PairingSide::Trustor => {
            let exists = snapshot.trustee(peer).is_some();
            if trustor::decide_deletion(exists, false).contains(&TrustorAction::DeleteTrust) {
                acting.session.client.delete_trustee(peer).await.map(|_| ())
            } else {
                Ok(())
            }
        }
    };
    acting.session.invalidate();
    if let Err(error) = result {
        return cleanup_failed(pairing, ctx, &format!("revoking the trust failed: {error}")).await;
    }
    ctx.wake_peer(&acting.org_id, peer);
    // The next oldest object of this side and peer, if any, acts from now on.
    for sibling in siblings(ctx, pairing) {
        ctx.wake_pairings.wake(sibling.as_ref());
    }
    ctx.metrics.set_phase(KIND, pairing, None);
    Ok(Action::await_change())
}

async fn cleanup_failed(
    pairing: &OrgPairing,
    ctx: &Context,
    message: &str,
) -> Result<Action, Error> {
    let message = format!(
        "cleanup failed, the object is kept: {message}. To delete it without touching Genesys Cloud, annotate it {ON_DELETE_ANNOTATION}=orphan"
    );
    let mut status = pairing.status.clone().unwrap_or_default();
    let mut conditions = status.conditions.clone();
    crate::lifecycle::health::set_with_health(
        &mut conditions,
        &[DesiredCondition::new(
            types::READY,
            Status::False,
            reasons::CLEANUP_FAILED,
            message.clone(),
        )],
        pairing.metadata.generation,
        Timestamp::now(),
    );
    status.conditions = conditions;
    if Some(&status) != pairing.status.as_ref() {
        apply_status(&ctx.client, pairing, &status).await?;
    }
    ctx.event(
        pairing,
        EventType::Warning,
        reasons::CLEANUP_FAILED,
        message.clone(),
    )
    .await;
    Err(Error::Blocked(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_beyond_jiffs_range_saturate() {
        let far = DateTime::parse_from_rfc3339("+200000-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        assert_eq!(to_jiff(far), Timestamp::MAX);
        assert_eq!(to_jiff(DateTime::<Utc>::MAX_UTC), Timestamp::MAX);
        assert_eq!(to_jiff(DateTime::<Utc>::MIN_UTC), Timestamp::MIN);
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:00:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(to_jiff(t).to_string(), "2026-03-01T10:00:00.5Z");
        assert_eq!(to_chrono(to_jiff(t)), t);
        // And back: jiff's ends are inside chrono's range.
        assert!(to_chrono(Timestamp::MAX) > t && to_chrono(Timestamp::MIN) < t);
    }
}
