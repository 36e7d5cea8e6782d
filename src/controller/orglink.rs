//! The OrgLink controller: runs [`crate::lifecycle::link`] on the org's snapshot,
//! performs the calls it asks for, and writes the status it describes.

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;

use super::context::{Context, org_key};
use super::error::Error;
use super::organization::jittered;
use super::sessions::{OrgSession, Snapshot};
use super::status::apply_status;
use crate::api::conditions::{DesiredCondition, Status, find, is_true, reasons, types};
use crate::api::{
    FINALIZER, ON_DELETE_ANNOTATION, OrgLink, OrgLinkPhase, OrgLinkStatus, Organization,
};
use crate::genesys::GenesysError;
use crate::lifecycle::Requeue;
use crate::lifecycle::conflict::{Claimant, Turn, conflict_message, turn};
use crate::lifecycle::link::{
    LinkAction, LinkDecisionOut, LinkInput, RemoteLink, api_error, classify, conflict, decide,
    decide_deletion, next_status, organization_not_ready,
};

pub const KIND: &str = "OrgLink";

pub async fn reconcile(link: Arc<OrgLink>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = link
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<OrgLink> = Api::namespaced(ctx.client.clone(), &namespace);
    let started = std::time::Instant::now();
    let result = finalizer(&api, FINALIZER, link, |event| async {
        match event {
            Finalizer::Apply(link) => apply(&link, &ctx).await,
            Finalizer::Cleanup(link) => cleanup(&link, &ctx).await,
        }
    })
    .await
    .map_err(Error::from);
    ctx.metrics.observe_reconcile(KIND, started.elapsed());
    result
}

/// The org an OrgLink or OrgPairing acts as, once it is usable.
pub struct Acting {
    pub org: Arc<Organization>,
    pub session: Arc<OrgSession>,
    pub org_id: String,
}

/// Why the Organization cannot be used yet.
pub struct NotActing {
    pub message: String,
    /// The Organization is `Stalled` (its credentials were rejected, ...): the object
    /// that needs it is stalled too.
    pub organization_stalled: bool,
}

impl From<String> for NotActing {
    fn from(message: String) -> Self {
        NotActing {
            message,
            organization_stalled: false,
        }
    }
}

/// Finds the Organization named by `organizationRef` and its session, or says why it
/// cannot be used yet.
pub fn acting_org(
    ctx: &Context,
    namespace: &str,
    organization_ref: &str,
) -> Result<Acting, NotActing> {
    let org = ctx
        .organizations
        .get(&ObjectRef::<Organization>::new(organization_ref).within(namespace))
        .ok_or_else(|| {
            format!(
                "Organization {organization_ref} (spec.organizationRef) not found in namespace {namespace}; create it"
            )
        })?;
    let status = org.status.clone().unwrap_or_default();
    if !is_true(&status.conditions, types::READY) {
        let why = find(&status.conditions, types::READY)
            .map(|c| format!("{}: {}", c.reason, c.message))
            .unwrap_or_else(|| "not reconciled yet".to_string());
        return Err(NotActing {
            message: format!("Organization {organization_ref} is not Ready ({why})"),
            organization_stalled: is_true(&status.conditions, types::STALLED),
        });
    }
    let org_id = status.organization_id.clone().ok_or_else(|| {
        format!("Organization {organization_ref} has no status.organizationId yet")
    })?;
    let session = ctx
        .sessions
        .get(&org_key(&org))
        .ok_or_else(|| format!("Organization {organization_ref} has not connected yet"))?;
    Ok(Acting {
        org,
        session,
        org_id,
    })
}

/// The org an OrgLink or OrgPairing acts as while it is being deleted, and a fresh
/// snapshot of it. Unlike [`acting_org`] it does not need the Organization to be Ready:
/// it connects on demand with the Organization's Secret (held for this by
/// [`super::credentials_hold`]), so cleanup works while the Organization is being
/// deleted, was never Ready, or the operator has just restarted. When the Secret cannot
/// be read, the session the operator already has is used, if any.
pub async fn acting_for_cleanup(
    ctx: &Context,
    namespace: &str,
    organization_ref: &str,
) -> Result<(Acting, Arc<Snapshot>), String> {
    let org = ctx
        .organizations
        .get(&ObjectRef::<Organization>::new(organization_ref).within(namespace))
        .ok_or_else(|| {
            format!(
                "Organization {organization_ref} (spec.organizationRef) not found in namespace {namespace}, so there are no credentials to clean up with"
            )
        })?;
    let session = match super::organization::connect(&org, ctx).await {
        Ok(session) => session,
        Err(not_ready) => ctx.sessions.get(&org_key(&org)).ok_or_else(|| {
            format!(
                "cannot connect as Organization {organization_ref}: {}",
                not_ready.message
            )
        })?,
    };
    let snapshot = session
        .snapshot(std::time::Duration::ZERO)
        .await
        .map_err(|e| format!("cannot read the org's state from Genesys Cloud: {e}"))?;
    let org_id = snapshot.me.id.clone();
    Ok((
        Acting {
            org,
            session,
            org_id,
        },
        snapshot,
    ))
}

/// What the snapshot shows for `peer`, from our side.
pub fn remote_link(
    snapshot: &Snapshot,
    me: &str,
    peer: &str,
    prev: Option<&OrgLinkStatus>,
) -> Result<(RemoteLink, Option<String>), String> {
    let Some(record) = snapshot.link_with(peer) else {
        return Ok((RemoteLink::None, None));
    };
    let source = record.source_organization_id.as_deref().unwrap_or(me);
    let target = record.target_organization_id.as_deref().unwrap_or(peer);
    let status = record
        .status
        .as_ref()
        .map(|s| s.as_str())
        .unwrap_or_default();
    let remote = classify(me, source, target, status)
        .ok_or_else(|| format!("Genesys Cloud reports link status {status:?} for {peer}, which this operator does not know"))?;
    // The list is written from the caller's point of view, so an approved record cannot
    // tell who asked; the direction we recorded while it was pending can.
    let remote = match (remote, prev.and_then(|s| s.direction)) {
        (RemoteLink::Approved { .. }, Some(direction)) => RemoteLink::Approved { direction },
        (other, _) => other,
    };
    let name = record.target_name.clone();
    Ok((remote, name))
}

fn waiting(prev: Option<&OrgLinkStatus>) -> bool {
    matches!(
        prev.and_then(|s| s.phase),
        None | Some(
            OrgLinkPhase::Requesting | OrgLinkPhase::WaitingForConfirmation | OrgLinkPhase::Error
        )
    )
}

/// A claimant of a relationship, from an object's metadata ([`crate::lifecycle::conflict`]).
pub fn claimant(meta: &ObjectMeta) -> Claimant<'_> {
    Claimant {
        name: meta.name.as_deref().unwrap_or_default(),
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
    }
}

/// The other OrgLinks of the same namespace, `organizationRef` and peer, from the cache.
fn siblings(ctx: &Context, link: &OrgLink) -> Vec<Arc<OrgLink>> {
    ctx.links
        .state()
        .into_iter()
        .filter(|l| {
            l.namespace() == link.namespace()
                && l.name_any() != link.name_any()
                && l.spec.organization_ref == link.spec.organization_ref
                && l.spec.peer.organization_id == link.spec.peer.organization_id
        })
        .collect()
}

/// Whether this OrgLink acts for its org and peer, or yields to an older one.
fn link_turn(ctx: &Context, link: &OrgLink) -> Turn {
    let siblings = siblings(ctx, link);
    let claimants: Vec<Claimant> = siblings.iter().map(|l| claimant(&l.metadata)).collect();
    turn(&claimant(&link.metadata), &claimants)
}

async fn apply(link: &OrgLink, ctx: &Context) -> Result<Action, Error> {
    let namespace = link.namespace().unwrap_or_default();
    let prev = link.status.as_ref();
    if let Turn::Yield { actor } = link_turn(ctx, link) {
        let message = conflict_message(
            KIND,
            &actor,
            &link.spec.organization_ref,
            &link.spec.peer.organization_id,
        );
        write(link, ctx, &conflict(prev, &message), None, &[]).await?;
        // The actor's deletion wakes us; the requeue covers a missed wake.
        return Ok(Action::requeue(ctx.settings.soon));
    }
    let acting = match acting_org(ctx, &namespace, &link.spec.organization_ref) {
        Ok(acting) => acting,
        Err(not_acting) => {
            let d =
                organization_not_ready(prev, &not_acting.message, not_acting.organization_stalled);
            write(link, ctx, &d, None, &[]).await?;
            // The Organization watch wakes us as soon as it changes.
            return Ok(Action::requeue(ctx.settings.soon * 6));
        }
    };
    let resync = ctx.settings.resync_of(&acting.org);
    let max_age = if waiting(prev) {
        ctx.settings.soon
    } else {
        resync
    };
    let peer = link.spec.peer.organization_id.as_str();
    let key = format!("{KIND}/{namespace}/{}", link.name_any());

    let observed = match acting.session.snapshot(max_age).await {
        Ok(snapshot) => remote_link(&snapshot, &acting.org_id, peer, prev),
        Err(error) => Err(error.to_string()),
    };
    let (remote, peer_name) = match observed {
        Ok(observed) => observed,
        Err(message) => return fail(link, ctx, &key, &message).await,
    };
    let d = decide(LinkInput {
        spec: &link.spec,
        status: prev,
        remote,
    });
    let mut done = Vec::new();
    for action in &d.actions {
        let performed = if *action == LinkAction::Request {
            request_once(&acting.session, link, ctx).await
        } else {
            perform(&acting.session, *action, link).await.map_err(Some)
        };
        let performed = match performed {
            Ok(()) => Ok(()),
            Err(Some(error)) => Err(error),
            Err(None) => return Ok(Action::requeue(ctx.settings.soon)),
        };
        match performed {
            Ok(()) => done.push(*action),
            Err(error) if *action == LinkAction::Request && error.is_conflict() => {
                // The peer asked at the same moment: read again and answer its request.
                acting.session.invalidate();
                return Ok(Action::requeue(std::time::Duration::from_millis(500)));
            }
            Err(error) => {
                acting.session.invalidate();
                let message = format!("{} failed: {error}", describe(*action, peer));
                return fail(link, ctx, &key, &message).await;
            }
        }
    }
    if !done.is_empty() {
        acting.session.invalidate();
        ctx.wake_peer(&acting.org_id, peer);
    }
    write(link, ctx, &d, peer_name, &done).await?;
    ctx.reset_failures(&key);
    Ok(match d.requeue {
        Requeue::Soon => Action::requeue(ctx.settings.soon),
        Requeue::Resync => Action::requeue(jittered(resync)),
    })
}

async fn fail(link: &OrgLink, ctx: &Context, key: &str, message: &str) -> Result<Action, Error> {
    let d = api_error(link.status.as_ref(), message);
    write(link, ctx, &d, None, &[]).await?;
    ctx.event(
        link,
        EventType::Warning,
        reasons::API_ERROR,
        message.to_string(),
    )
    .await;
    ctx.metrics.observe_error(KIND, "genesys");
    Ok(Action::requeue(ctx.backoff_after_failure(key)))
}

async fn perform(
    session: &OrgSession,
    action: LinkAction,
    link: &OrgLink,
) -> Result<(), GenesysError> {
    let peer = link.spec.peer.organization_id.as_str();
    match action {
        LinkAction::Request => session
            .client
            .create_link(peer, link.spec.peer.region.code())
            .await
            .map(|_| ()),
        LinkAction::Approve => session.client.approve_link(peer).await,
        LinkAction::Reject => session.client.reject_link(peer).await,
        LinkAction::Delete => session.client.delete_link(peer).await.map(|_| ()),
    }
}

/// `POST .../organization/link` with its intent written to status first
/// ([`crate::lifecycle::link::intent_status`]), so a crash between the call and the
/// status that confirms it never leads to a second request for the same attempt. A
/// failed call takes the intent back. `Err(None)`: the intent could not be written
/// (nothing was called; the error is logged and the object requeued).
async fn request_once(
    session: &OrgSession,
    link: &OrgLink,
    ctx: &Context,
) -> Result<(), Option<GenesysError>> {
    let prev = link.status.as_ref();
    let intent = crate::lifecycle::link::intent_status(prev, link.spec.attempt);
    if let Err(error) = apply_status(&ctx.client, link, &intent).await {
        tracing::warn!(%error, "could not record the link request before making it");
        return Err(None);
    }
    let result = perform(session, LinkAction::Request, link).await;
    if result.is_err() {
        let back = prev.cloned().unwrap_or_default();
        if let Err(error) = apply_status(&ctx.client, link, &back).await {
            tracing::warn!(%error, "could not take back the link request after it failed");
        }
    }
    result.map_err(Some)
}

fn describe(action: LinkAction, peer: &str) -> String {
    match action {
        LinkAction::Request => format!("requesting a link to {peer}"),
        LinkAction::Approve => format!("approving the link request of {peer}"),
        LinkAction::Reject => format!("rejecting the link request of {peer}"),
        LinkAction::Delete => format!("removing the link with {peer}"),
    }
}

/// Writes the status of a decision and emits the Events of what changed.
async fn write(
    link: &OrgLink,
    ctx: &Context,
    d: &LinkDecisionOut,
    peer_name: Option<String>,
    done: &[LinkAction],
) -> Result<(), Error> {
    let prev = link.status.as_ref();
    let status = next_status(
        prev,
        d,
        peer_name,
        link.metadata.generation,
        Timestamp::now(),
    );
    if Some(&status) != prev {
        apply_status(&ctx.client, link, &status).await?;
    }
    let peer = &link.spec.peer.organization_id;
    for action in done {
        let (reason, note) = match action {
            LinkAction::Request => ("Requested", format!("requested a voice link to {peer}")),
            LinkAction::Approve => ("Approved", format!("approved the link request of {peer}")),
            LinkAction::Reject => ("Declined", format!("rejected the link request of {peer}")),
            LinkAction::Delete => (
                "Unlinked",
                format!("removed the link or request with {peer}"),
            ),
        };
        ctx.event(link, EventType::Normal, reason, note).await;
    }
    ctx.metrics
        .set_phase(KIND, link, status.phase.map(|p| format!("{p:?}")));
    let from = prev.and_then(|s| s.phase);
    if from != status.phase
        && let Some(phase) = status.phase
    {
        let (type_, reason) = match phase {
            OrgLinkPhase::Linked => (EventType::Normal, reasons::LINKED),
            OrgLinkPhase::RejectedByPeer => (EventType::Warning, reasons::REJECTED_BY_PEER),
            OrgLinkPhase::UnlinkedByPeer => (EventType::Warning, reasons::UNLINKED_BY_PEER),
            OrgLinkPhase::Declined => (EventType::Normal, reasons::DECLINED),
            OrgLinkPhase::WaitingForConfirmation => {
                (EventType::Normal, reasons::WAITING_FOR_CONFIRMATION)
            }
            OrgLinkPhase::Error => (EventType::Warning, error_reason(&status)),
            OrgLinkPhase::Requesting => (EventType::Normal, reasons::REQUESTING),
        };
        let note = find(&status.conditions, types::LINKED)
            .or_else(|| find(&status.conditions, types::READY))
            .map(|c| c.message.clone())
            .unwrap_or_default();
        ctx.event(link, type_, reason, note).await;
    }
    Ok(())
}

/// The reason of an Event for phase `Error`: `Conflict` when that is why.
fn error_reason(status: &OrgLinkStatus) -> &'static str {
    match find(&status.conditions, types::READY) {
        Some(c) if c.reason == reasons::CONFLICT => reasons::CONFLICT,
        _ => reasons::API_ERROR,
    }
}

/// Deleting an OrgLink severs the link (or withdraws or rejects the pending request)
/// first, unless the object carries `orglink.dev/on-delete: orphan`.
async fn cleanup(link: &OrgLink, ctx: &Context) -> Result<Action, Error> {
    let orphan = link
        .annotations()
        .get(ON_DELETE_ANNOTATION)
        .is_some_and(|v| v == "orphan");
    if orphan {
        return Ok(Action::await_change());
    }
    // A link that yields never touched the relationship, and must not end it now.
    if let Turn::Yield { .. } = link_turn(ctx, link) {
        return Ok(Action::await_change());
    }
    let namespace = link.namespace().unwrap_or_default();
    let peer = link.spec.peer.organization_id.as_str();
    let (acting, snapshot) =
        match acting_for_cleanup(ctx, &namespace, &link.spec.organization_ref).await {
            Ok(found) => found,
            Err(message) => return cleanup_failed(link, ctx, &message).await,
        };
    let remote = match remote_link(&snapshot, &acting.org_id, peer, link.status.as_ref()) {
        Ok((remote, _)) => remote,
        Err(message) => return cleanup_failed(link, ctx, &message).await,
    };
    for action in decide_deletion(remote, false) {
        if let Err(error) = perform(&acting.session, action, link).await {
            acting.session.invalidate();
            let message = format!("{} failed: {error}", describe(action, peer));
            return cleanup_failed(link, ctx, &message).await;
        }
        acting.session.invalidate();
        ctx.wake_peer(&acting.org_id, peer);
    }
    // The next oldest object for this peer, if any, acts from now on.
    for sibling in siblings(ctx, link) {
        ctx.wake_links.wake(sibling.as_ref());
    }
    ctx.metrics.set_phase(KIND, link, None);
    Ok(Action::await_change())
}

async fn cleanup_failed(link: &OrgLink, ctx: &Context, message: &str) -> Result<Action, Error> {
    let message = format!(
        "cleanup failed, the object is kept: {message}. To delete it without touching Genesys Cloud, annotate it {ON_DELETE_ANNOTATION}=orphan"
    );
    let mut status = link.status.clone().unwrap_or_default();
    let mut conditions = status.conditions.clone();
    crate::lifecycle::health::set_with_health(
        &mut conditions,
        &[DesiredCondition::new(
            types::READY,
            Status::False,
            reasons::CLEANUP_FAILED,
            message.clone(),
        )],
        link.metadata.generation,
        Timestamp::now(),
    );
    status.conditions = conditions;
    if Some(&status) != link.status.as_ref() {
        apply_status(&ctx.client, link, &status).await?;
    }
    ctx.event(
        link,
        EventType::Warning,
        reasons::CLEANUP_FAILED,
        message.clone(),
    )
    .await;
    Err(Error::Blocked(message))
}
