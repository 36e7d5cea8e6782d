//! The OrgLink controller: runs [`crate::lifecycle::link`] on the org's snapshot,
//! performs the calls it asks for, and writes the status it describes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::events::EventType;

use super::acting::{Relationship, acting_for_cleanup, acting_org, turn_of, wake_siblings};
use super::cached_link::CachedOrgLink;
use super::context::Context;
use super::error::{Error, Failure};
use super::reconciler::{Next, Reconciled};
use super::sessions::{OrgSession, Parts, Snapshot};
use super::status::apply_status;
use crate::api::conditions::{events, find, reasons, types};
use crate::api::{OrgLink, OrgLinkPhase, OrgLinkStatus};
use crate::genesys::GenesysError;
use crate::genesys::models::{LinkStatus, OrganizationLinkResponse};
use crate::lifecycle::conflict::{Turn, conflict_message};
use crate::lifecycle::deletion::{Deletion, plan};
use crate::lifecycle::link::{
    LinkAction, LinkDecisionOut, LinkInput, PEER_RECORD_GRACE, RemoteLink, api_error,
    awaiting_answer, awaits_peer_record, classify, conflict, decide, decide_deletion, next_status,
    organization_not_ready,
};
use crate::lifecycle::{adopt, observe};
use crate::runtime::scope::{Stores, Wakers};

pub(crate) const KIND: &str = "OrgLink";

impl Reconciled for OrgLink {
    const KIND: &'static str = KIND;
    type Cached = CachedOrgLink;
    type Status = OrgLinkStatus;

    fn status(&self) -> Option<&OrgLinkStatus> {
        self.status.as_ref()
    }

    fn acting_org(&self) -> &str {
        &self.spec.organization_ref
    }

    fn wakers(ctx: &Context) -> &Wakers<CachedOrgLink> {
        &ctx.wake_links
    }

    fn conditions_mut(status: &mut OrgLinkStatus) -> &mut Vec<Condition> {
        &mut status.conditions
    }

    async fn apply(&self, ctx: &Context) -> Result<Next, Error> {
        apply(self, ctx).await
    }

    async fn cleanup(&self, ctx: &Context, orphan: bool) -> Result<(), Error> {
        cleanup(self, ctx, orphan).await
    }

    async fn report_failure(&self, ctx: &Context, message: &str) -> Result<(), Error> {
        write(
            self,
            ctx,
            &api_error(self.status.as_ref(), message),
            None,
            &[],
        )
        .await
        .map(drop)
    }
}

impl Relationship for OrgLink {
    fn organization_ref(&self) -> &str {
        &self.spec.organization_ref
    }

    fn peer_org_id(&self) -> &str {
        &self.spec.peer.organization_id
    }

    fn same_claim(&self, _other: &CachedOrgLink) -> bool {
        true
    }

    fn store(ctx: &Context) -> &Stores<CachedOrgLink> {
        &ctx.links
    }
}

/// What the snapshot shows for `peer`, from our side.
pub(crate) fn remote_link(
    snapshot: &Snapshot,
    me: &str,
    peer: &str,
    prev: Option<&OrgLinkStatus>,
) -> Result<(RemoteLink, Option<String>), Failure> {
    let Some(record) = snapshot.link_with(peer) else {
        return Ok((RemoteLink::None, None));
    };
    let source = record.source_organization_id.as_deref().unwrap_or(me);
    let target = record.target_organization_id.as_deref().unwrap_or(peer);
    let remote = classify(me, source, target, record.status.as_ref()).ok_or_else(|| {
        Failure::UnknownLinkStatus {
            status: record
                .status
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            peer: peer.to_string(),
        }
    })?;
    // The list is written from the caller's point of view, so an approved record cannot
    // tell who asked; the direction we recorded while it was pending can.
    let remote = match (remote, prev.and_then(|s| s.direction)) {
        (RemoteLink::Approved { .. }, Some(direction)) => RemoteLink::Approved { direction },
        (other, _) => other,
    };
    let name = record.target_name.clone();
    Ok((remote, name))
}

async fn apply(link: &OrgLink, ctx: &Context) -> Result<Next, Error> {
    let namespace = link.namespace().unwrap_or_default();
    let prev = link.status.as_ref();
    if let Turn::Yield { actor } = turn_of(ctx, link) {
        let message = conflict_message(
            KIND,
            &actor,
            &link.spec.organization_ref,
            &link.spec.peer.organization_id,
        );
        write(link, ctx, &conflict(prev, &message), None, &[]).await?;
        // The actor's deletion wakes us; the requeue covers a missed wake.
        return Ok(Next::Wait(ctx.settings.soon));
    }
    let acting = match acting_org(ctx, &namespace, &link.spec.organization_ref) {
        Ok(acting) => acting,
        Err(not_acting) => {
            let d =
                organization_not_ready(prev, &not_acting.message, not_acting.organization_stalled);
            write(link, ctx, &d, None, &[]).await?;
            // The Organization watch wakes us as soon as it changes.
            return Ok(Next::Wait(ctx.settings.soon * 6));
        }
    };
    let poll = super::requeue::policy(ctx, &acting.org);
    let waiting = awaiting_answer(prev.and_then(|s| s.phase));
    let max_age = super::requeue::max_age(&poll, waiting, prev.map(|s| s.conditions.as_slice()));
    let peer = link.spec.peer.organization_id.as_str();
    let snapshot = acting
        .session
        .snapshot(Parts::LINKS, max_age)
        .await
        .map_err(Failure::read)?;
    let (remote, peer_name) = remote_link(&snapshot, &acting.org_id, peer, prev)?;
    let local_peer = ctx.local_peer(&acting.org_id, peer, prev, Timestamp::now());
    let peer_declared = local_peer.is_some();
    let d = decide(LinkInput {
        spec: &link.spec,
        status: prev,
        remote,
        local_peer,
    });
    // A link made outside the cluster is adopted, not asked for again; said once, when
    // what adopts it is done (not while `observe` holds the approval back).
    let adopted = adopt::link(link.spec.decision, prev, remote, peer, peer_declared);
    let adopted = adopted.filter(|_| {
        d.actions.is_empty()
            || observe::mode(link.metadata.annotations.as_ref()) == observe::Mode::Act
    });
    let d = observe_only(link, d);
    let mut done = Vec::new();
    let mut requested = None;
    for action in &d.actions {
        let performed = if *action == LinkAction::Request {
            request_once(&acting.session, link, ctx).await
        } else {
            perform(&acting.session, *action, link).await.map_err(Some)
        };
        let performed = match performed {
            Ok(created) => Ok(created),
            Err(Some(error)) => Err(error),
            Err(None) => return Ok(Next::Wait(ctx.settings.soon)),
        };
        match performed {
            Ok(created) => {
                done.push(*action);
                requested = created.clone().or(requested);
                let before = snapshot.link_with(peer);
                let after = link_after_write(*action, created, before);
                acting.session.record_link(peer, after).await;
            }
            Err(error) if *action == LinkAction::Request && error.is_conflict() => {
                // The peer asked at the same moment: read again and answer its request.
                acting.session.invalidate_parts(Parts::LINKS);
                return Ok(Next::Wait(std::time::Duration::from_millis(500)));
            }
            Err(error) => {
                acting.session.invalidate_parts(Parts::LINKS);
                return Err(Failure::call(describe(*action, peer), error).into());
            }
        }
    }
    let my_name = snapshot.me.name.as_deref();
    if done == [LinkAction::Approve] {
        ctx.peer_request_approved(&acting.org_id, my_name, peer)
            .await;
    } else if let Some(request) = requested.as_ref().filter(|_| done == [LinkAction::Request]) {
        ctx.peer_request_received(&acting.org_id, my_name, peer, request)
            .await;
    } else if !done.is_empty() {
        ctx.wake_peer(&acting.org_id, peer, Parts::LINKS);
    }
    let status = write(link, ctx, &d, peer_name, &done).await?;
    if let Some(note) = adopted {
        ctx.event(link, EventType::Normal, events::ADOPTED, note)
            .await;
    }
    Ok(Next::Poll(super::requeue::after(
        &poll,
        d.requeue,
        &status.conditions,
    )))
}

/// What our link list holds for the peer after `action` succeeded, so the snapshot can
/// record it instead of being read again ([`OrgSession::record_link`]): the record
/// Genesys returned for a request, the pending request `before` approved, nothing
/// after a rejection or removal.
fn link_after_write(
    action: LinkAction,
    created: Option<crate::genesys::models::OrganizationLink>,
    before: Option<&OrganizationLinkResponse>,
) -> Option<OrganizationLinkResponse> {
    match action {
        LinkAction::Request => created.map(|c| OrganizationLinkResponse {
            source_organization_id: Some(c.source_organization_id),
            target_organization_id: Some(c.target_organization_id),
            source_region: Some(c.source_region),
            target_region: Some(c.target_region),
            target_name: None,
            status: Some(c.status.unwrap_or(LinkStatus::Pending)),
        }),
        LinkAction::Approve => before.cloned().map(|mut r| {
            r.status = Some(LinkStatus::Approved);
            r
        }),
        LinkAction::Reject | LinkAction::Delete => None,
    }
}

/// Makes the call; a request returns the link Genesys created.
async fn perform(
    session: &OrgSession,
    action: LinkAction,
    link: &OrgLink,
) -> Result<Option<crate::genesys::models::OrganizationLink>, GenesysError> {
    let peer = link.spec.peer.organization_id.as_str();
    match action {
        LinkAction::Request => session
            .client
            .create_link(peer, link.spec.peer.region.code())
            .await
            .map(Some),
        LinkAction::Approve => session.client.approve_link(peer).await.map(|_| None),
        LinkAction::Reject => session.client.reject_link(peer).await.map(|_| None),
        LinkAction::Delete => session.client.delete_link(peer).await.map(|_| None),
    }
}

/// `orglink.dev/reconcile: observe`: the decision as it is when it has nothing to do or
/// the operator may act, else the held-back status naming what it would do.
fn observe_only(link: &OrgLink, d: LinkDecisionOut) -> LinkDecisionOut {
    let peer = link.spec.peer.organization_id.as_str();
    let would: Vec<String> = d.actions.iter().map(|a| describe(*a, peer)).collect();
    observe::hold(
        observe::mode(link.metadata.annotations.as_ref()),
        &would,
        d,
        |message| observe::link_held(link.status.as_ref(), message),
    )
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
) -> Result<Option<crate::genesys::models::OrganizationLink>, Option<GenesysError>> {
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
) -> Result<OrgLinkStatus, Error> {
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
        .set_phase(KIND, link, status.phase.map(|p| p.as_str()));
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
    Ok(status)
}

/// The reason of an Event for phase `Error`: `Conflict` when that is why.
fn error_reason(status: &OrgLinkStatus) -> &'static str {
    match find(&status.conditions, types::READY) {
        Some(c) if c.reason == reasons::CONFLICT => reasons::CONFLICT,
        _ => reasons::API_ERROR,
    }
}

/// Deleting an OrgLink severs the link (or withdraws or rejects the pending request)
/// first, as [`decide_deletion`] says: nothing when the object is orphaned or yields.
async fn cleanup(link: &OrgLink, ctx: &Context, orphan: bool) -> Result<(), Error> {
    if plan(orphan, &turn_of(ctx, link)) == Deletion::LeaveRemote {
        return Ok(());
    }
    let namespace = link.namespace().unwrap_or_default();
    let peer = link.spec.peer.organization_id.as_str();
    let (acting, snapshot) =
        acting_for_cleanup(ctx, &namespace, &link.spec.organization_ref, Parts::LINKS).await?;
    let (remote, _) = remote_link(&snapshot, &acting.org_id, peer, link.status.as_ref())?;
    let deleting_since = link
        .metadata
        .deletion_timestamp
        .as_ref()
        .map_or_else(Timestamp::now, |t| t.0);
    let local_peer = ctx.local_peer(&acting.org_id, peer, None, Timestamp::now());
    if !orphan && awaits_peer_record(remote, local_peer, deleting_since, Timestamp::now()) {
        // The peer's OrgLink here is woken by our wake and records the link within a
        // reconcile; the backoff retries this one.
        ctx.wake_peer(&acting.org_id, peer, Parts::LINKS);
        return Err(Error::Blocked(format!(
            "waiting for the OrgLink of organization {peer} in this cluster to record the link as active before removing it (at most {} s)",
            PEER_RECORD_GRACE.as_secs()
        )));
    }
    for action in decide_deletion(remote, orphan) {
        let result = perform(&acting.session, action, link).await;
        if result.is_err() {
            acting.session.invalidate_parts(Parts::LINKS);
        }
        result.map_err(|error| Failure::call(describe(action, peer), error))?;
        acting.session.record_link(peer, None).await;
        ctx.wake_peer(&acting.org_id, peer, Parts::LINKS);
    }
    wake_siblings(ctx, link);
    Ok(())
}
