//! The Organization controller: connects to the org with the credentials of its Secret,
//! reads what the org sees (identity, linkable regions, links, trustees, trustors) once
//! per resync, and writes it to status with `Ready`.
//!
//! The annotation `orglink.dev/refresh` asks for a fresh read now (coalesced and spaced
//! by [`crate::lifecycle::refresh`]); the value answered goes to
//! `status.lastHandledRefresh` and the read's time to `status.observedAt`.
//!
//! The snapshot it reads is the one its OrgLinks and OrgPairings decide on (see
//! [`super::sessions`]). A finalizer keeps the Organization, and another its credentials
//! Secret ([`super::credentials_hold`]), until those objects have finished their own
//! cleanup, which connects with them on demand ([`connect`]).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::events::EventType;

use super::context::{Context, org_key};
use super::credentials::{self, ClientCredentials, NotReady};
use super::error::Error;
use super::reconciler::{Next, Reconciled};
use super::status::apply_status;
use crate::api::conditions::events::REFRESH_REFUSED;
use crate::api::conditions::{DesiredCondition, Status, is_true, reasons, types};
use crate::api::organization::{
    LinkedOrganization, PendingLink, TrustMember, TrustMembers, TrustSummary,
};
use crate::api::{
    OrgLink, OrgPairing, Organization, OrganizationStatus, REFRESH_ANNOTATION, Region,
};
use crate::genesys::models::{LinkStatus, Organization as GenesysOrg, OrganizationLinkResponse};
use crate::genesys::{Credentials, GenesysClient, GenesysConfig, GenesysError};
use crate::lifecycle::Requeue;
use crate::lifecycle::refresh::{self, RefreshDecision, RefreshInput, RefreshPolicy, is_pending};
use crate::runtime::scope::Wakers;

use super::sessions::{OrgSession, Snapshot, fingerprint};

pub(crate) const KIND: &str = "Organization";

impl Reconciled for Organization {
    const KIND: &'static str = KIND;
    type Cached = Self;
    type Status = OrganizationStatus;

    fn status(&self) -> Option<&OrganizationStatus> {
        self.status.as_ref()
    }

    fn acting_org(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    fn wakers(ctx: &Context) -> &Wakers<Self::Cached> {
        &ctx.wake_organizations
    }

    fn conditions_mut(status: &mut OrganizationStatus) -> &mut Vec<Condition> {
        &mut status.conditions
    }

    async fn apply(&self, ctx: &Context) -> Result<Next, Error> {
        apply(self, ctx).await
    }

    /// An Organization touches nothing remote when deleted, so `orphan` changes nothing.
    async fn cleanup(&self, ctx: &Context, _orphan: bool) -> Result<(), Error> {
        cleanup(self, ctx).await
    }
}

async fn apply(org: &Organization, ctx: &Context) -> Result<Next, Error> {
    let resync = ctx.settings.resync_of(org);
    let key = org_key(org);
    let mut refresh = RefreshOutcome::default();
    let connected = usable_session(org, ctx).await?;
    if org.status.as_ref().and_then(|s| s.observed_generation) != org.metadata.generation {
        // The spec changed, perhaps to another Secret: release the one no longer used.
        super::credentials_hold::release_unused(ctx, &key.namespace, None).await?;
    }
    let session = connected.as_ref().ok().cloned();
    let (desired, snapshot) = match connected {
        Ok(session) => {
            let read = read_with_refresh(org, &session, ctx, resync, &mut refresh).await;
            readiness(org, read)
        }
        Err(not_ready) => {
            // Without a session nothing can be read: the request is answered by Ready.
            refresh = refresh_without_session(org);
            (not_ready_condition(not_ready), None)
        }
    };
    let read = session.as_deref().zip(snapshot.as_deref());
    publish(org, ctx, &desired, read, &refresh).await?;
    Ok(if desired.status == Status::True {
        Next::Done {
            requeue: Requeue::Resync,
            resync,
            at_latest: refresh.requeue,
        }
    } else {
        Next::NotReady {
            reason: desired.reason,
            at_latest: refresh.requeue,
        }
    })
}

/// The org's session when its Secret works, and holds that Secret until this
/// Organization's cleanup is done. A Secret the user is deleting is kept for that
/// cleanup only, not used for new work.
async fn usable_session(
    org: &Organization,
    ctx: &Context,
) -> Result<Result<Arc<OrgSession>, NotReady>, Error> {
    let session = match connect(org, ctx).await {
        Ok(session) => session,
        Err(not_ready) => return Ok(Err(not_ready)),
    };
    Ok(match super::credentials_hold::hold(ctx, org).await? {
        Some(secret) if secret.deleting => {
            let r = &org.spec.credentials_secret_ref;
            Err(NotReady {
                reason: reasons::CREDENTIALS_MISSING,
                message: crate::lifecycle::credentials::secret_being_deleted(
                    &org_key(org).namespace,
                    &r.name,
                    &r.client_id_key,
                    &r.client_secret_key,
                ),
            })
        }
        _ => Ok(session),
    })
}

/// `Ready` from what was read, and the snapshot to publish (none when the read failed
/// or the org lives in another region than `spec.region`).
fn readiness(
    org: &Organization,
    read: Result<Arc<Snapshot>, GenesysError>,
) -> (DesiredCondition, Option<Arc<Snapshot>>) {
    let snapshot = match read {
        Ok(snapshot) => snapshot,
        Err(error) => return (not_ready_condition(classify_api_error(org, &error)), None),
    };
    let me = (snapshot.me.name.as_deref().unwrap_or("?"), &snapshot.me.id);
    match region_mismatch(org.spec.region, &snapshot.me, &snapshot.links) {
        // The token works, but the org lives elsewhere: nothing read is published and
        // its OrgLinks and OrgPairings wait, since their region checks would use the
        // wrong region.
        Some(actual) => (
            DesiredCondition::new(
                types::READY,
                Status::False,
                reasons::REGION_MISMATCH,
                format!(
                    "the OAuth client of Secret {} is valid, but for organization {} ({}) in region {}, not spec.region {}; set spec.region to {}, or use the credentials of an org in {}",
                    org.spec.credentials_secret_ref.name,
                    me.0,
                    me.1,
                    actual.code(),
                    org.spec.region.code(),
                    actual.code(),
                    org.spec.region.code()
                ),
            ),
            None,
        ),
        None => (
            DesiredCondition::new(
                types::READY,
                Status::True,
                reasons::CONNECTED,
                format!("connected as {} ({}); remote state read", me.0, me.1),
            ),
            Some(snapshot),
        ),
    }
}

fn not_ready_condition(not_ready: NotReady) -> DesiredCondition {
    DesiredCondition::new(
        types::READY,
        Status::False,
        not_ready.reason,
        not_ready.message,
    )
}

/// Writes the status (`desired` and, when there is one, what `snapshot` shows; else
/// what was last read, still the best knowledge, with a condition saying it is not
/// current) and an Event when readiness or its reason changed.
async fn publish(
    org: &Organization,
    ctx: &Context,
    desired: &DesiredCondition,
    read: Option<(&OrgSession, &Snapshot)>,
    refresh: &RefreshOutcome,
) -> Result<(), Error> {
    let prev = org.status.clone().unwrap_or_default();
    let mut status = match read {
        Some((_, snapshot)) => status_from_snapshot(org, snapshot),
        None => prev.clone(),
    };
    // Recomputed on every reconcile (an OrgLink or OrgPairing created or deleted wakes
    // this Organization), from the caches: no call to Genesys Cloud.
    crate::lifecycle::audit::mark_unmanaged(&mut status, &declared(org, ctx));
    match read {
        Some((session, snapshot)) => unmanaged_members(&mut status, session, snapshot).await,
        None => crate::lifecycle::audit::forget_managed_members(&mut status),
    }
    let mut conditions = prev.conditions.clone();
    crate::lifecycle::health::set_with_health(
        &mut conditions,
        std::slice::from_ref(desired),
        org.metadata.generation,
        Timestamp::now(),
    );
    status.conditions = conditions;
    status.observed_generation = org.metadata.generation;
    status.last_handled_refresh = refresh
        .handled
        .clone()
        .or_else(|| prev.last_handled_refresh.clone());

    let was_ready = is_true(&prev.conditions, types::READY);
    let ready = desired.status == Status::True;
    if status != prev {
        apply_status(&ctx.client, org, &status).await?;
    }
    refresh.recorded();
    if ready != was_ready || (!ready && prev_reason(&prev) != Some(desired.reason)) {
        let type_ = if ready {
            EventType::Normal
        } else {
            EventType::Warning
        };
        ctx.event(org, type_, desired.reason, desired.message.clone())
            .await;
    }
    Ok(())
}

/// What this reconcile did about the refresh annotation: the value to record in
/// `status.lastHandledRefresh`, and when to look again for one still waiting.
#[derive(Default)]
struct RefreshOutcome {
    handled: Option<String>,
    requeue: Option<Duration>,
    session: Option<Arc<OrgSession>>,
}

impl RefreshOutcome {
    /// The status with the handled value is written: the session stops waiting for it.
    fn recorded(&self) {
        if let (Some(session), Some(value)) = (&self.session, &self.handled) {
            session.refresh_handled(value);
        }
    }
}

/// The value of the refresh annotation, if set.
fn refresh_requested(org: &Organization) -> Option<&str> {
    org.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REFRESH_ANNOTATION))
        .map(String::as_str)
}

/// The org's snapshot, re-read first when a refresh request is due (see
/// [`crate::lifecycle::refresh`]); `refresh` says what was answered and when to look again.
async fn read_with_refresh(
    org: &Organization,
    session: &Arc<OrgSession>,
    ctx: &Context,
    resync: Duration,
    refresh: &mut RefreshOutcome,
) -> Result<Arc<Snapshot>, GenesysError> {
    let requested = refresh_requested(org);
    let in_status = org
        .status
        .as_ref()
        .and_then(|s| s.last_handled_refresh.as_deref());
    let memory = session.refresh_memory();
    let handled = [in_status, memory.last_handled.as_deref()];
    let now = std::time::Instant::now();
    let mut input = RefreshInput {
        requested,
        handled: &handled,
        pending_since: memory.pending_since,
        last_read_started: session.last_read_started().await,
        now,
    };
    if is_pending(&input) {
        input.pending_since = Some(session.refresh_seen(now));
    }
    let policy = RefreshPolicy::default();
    let before = refresh::decide(&input, policy);
    if let RefreshDecision::Refused(message) = &before {
        ctx.event(org, EventType::Warning, REFRESH_REFUSED, message.clone())
            .await;
    }
    if before == RefreshDecision::Read {
        // A refresh on demand reads everything, the org's identity too.
        session.invalidate_parts(super::sessions::Parts::ALL);
    }
    let read = session.snapshot(super::sessions::Parts::ALL, resync).await;
    if before == RefreshDecision::Read
        && let Ok(snapshot) = &read
    {
        // Where this org is trustee, a trust's members shared by the trustor side here
        // were read before the refresh: its pairings read them again.
        ctx.trust_members
            .forget_trustee_before(&snapshot.me.id, snapshot.read_started);
    }
    refresh.session = Some(session.clone());
    let after = match &read {
        Ok(snapshot) => refresh::decide(
            &RefreshInput {
                last_read_started: Some(snapshot.read_started),
                now: std::time::Instant::now(),
                ..input
            },
            policy,
        ),
        // The read was attempted for the request; Ready says why it failed.
        Err(_) if before == RefreshDecision::Read => RefreshDecision::Covered,
        Err(_) => before,
    };
    match after {
        RefreshDecision::Covered => refresh.handled = requested.map(str::to_string),
        RefreshDecision::Wait(d) => refresh.requeue = Some(d),
        RefreshDecision::Read => refresh.requeue = Some(Duration::ZERO),
        RefreshDecision::Idle | RefreshDecision::Refused(_) => {}
    }
    read
}

/// The refresh answered when the org has no session (its credentials cannot be used):
/// nothing can be read, and `Ready` says why.
fn refresh_without_session(org: &Organization) -> RefreshOutcome {
    let requested = refresh_requested(org)
        .filter(|v| v.len() <= refresh::MAX_VALUE_LEN)
        .map(str::to_string);
    let in_status = org
        .status
        .as_ref()
        .and_then(|s| s.last_handled_refresh.clone());
    RefreshOutcome {
        handled: requested.filter(|v| Some(v) != in_status.as_ref()),
        ..Default::default()
    }
}

fn prev_reason(prev: &OrganizationStatus) -> Option<&str> {
    crate::api::conditions::find(&prev.conditions, types::READY).map(|c| c.reason.as_str())
}

/// Checks where the credentials would go, reads the labelled Secret and returns the
/// org's session, rebuilt when the credentials, region or base URL changed. On any
/// refusal the session is dropped, so nothing more is sent with it. Cleanup of OrgLinks
/// and OrgPairings calls it too, so it works whether or not the Organization is Ready
/// or being deleted.
pub(super) async fn connect(
    org: &Organization,
    ctx: &Context,
) -> Result<Arc<OrgSession>, NotReady> {
    let key = org_key(org);
    let result = build_session(org, ctx).await;
    if result.is_err() {
        ctx.sessions.remove(&key);
    }
    result
}

async fn build_session(org: &Organization, ctx: &Context) -> Result<Arc<OrgSession>, NotReady> {
    let key = org_key(org);
    let base_url = org.spec.api_base_url.clone().unwrap_or_default();
    // Before anything is read: a refused destination never sees a Secret.
    if !base_url.is_empty() {
        ctx.settings
            .allowlist
            .check(&base_url)
            .map_err(|message| NotReady {
                reason: reasons::API_BASE_URL_NOT_ALLOWED,
                message,
            })?;
    }
    let ClientCredentials {
        client_id,
        client_secret,
    } = credentials::read(
        &ctx.client,
        &key.namespace,
        &org.spec.credentials_secret_ref,
    )
    .await?;
    let print = fingerprint(&[
        org.spec.region.code(),
        &base_url,
        &client_id,
        &client_secret,
    ]);
    ctx.sessions
        .ensure(&key, print, || {
            let mut config = GenesysConfig::new(
                org.spec.region,
                Credentials::new(client_id.clone(), client_secret.clone()),
            )
            .with_label(key.to_string())
            .with_rate_limit(ctx.settings.rate_limit)
            .with_retry(ctx.settings.retry.clone())
            .with_observer(ctx.metrics.call_observer())
            .with_shared_http(ctx.http.clone());
            if !base_url.is_empty() {
                config = config.with_api_base_url(base_url.clone());
            }
            GenesysClient::new(config)
        })
        .map_err(|e| NotReady {
            reason: reasons::API_UNAVAILABLE,
            message: format!("cannot build the Genesys Cloud client: {e}"),
        })
}

/// The region the org's own remote data places it in, when that is not `expected`: the
/// `domain` of `organizations/me` is its region's domain (`mypurecloud.com` for
/// us-east-1), and a link record with us as source carries our region as
/// `sourceRegion`. `None` when they agree with `expected` or say nothing.
pub(crate) fn region_mismatch(
    expected: Region,
    me: &GenesysOrg,
    links: &[Arc<OrganizationLinkResponse>],
) -> Option<Region> {
    let by_domain =
        me.domain.as_deref().map(str::trim).and_then(|domain| {
            Region::all().find(|r| r.info().domain.eq_ignore_ascii_case(domain))
        });
    let by_links = links
        .iter()
        .filter(|l| l.source_organization_id.as_deref() == Some(me.id.as_str()))
        .find_map(|l| l.source_region.as_deref().and_then(Region::from_code));
    by_domain.or(by_links).filter(|actual| *actual != expected)
}

fn classify_api_error(org: &Organization, error: &GenesysError) -> NotReady {
    if error.is_unauthorized() {
        // The login host issued a token that this region's API refuses even fresh: the
        // token is valid, but for another region (see `GenesysError::is_unauthorized`).
        NotReady {
            reason: reasons::REGION_MISMATCH,
            message: format!(
                "Genesys Cloud issued a token for the OAuth client of Secret {}, but the API of region {} refuses it, so it is valid for another region: {error}. Check spec.region and spec.apiBaseUrl",
                org.spec.credentials_secret_ref.name,
                org.spec.region.code()
            ),
        }
    } else if error.is_credentials_rejected() {
        NotReady {
            reason: reasons::CREDENTIALS_REJECTED,
            message: format!(
                "Genesys Cloud rejected the OAuth client of Secret {} in region {}: {error}. Check the clientId/clientSecret, and that the client belongs to an org in {}",
                org.spec.credentials_secret_ref.name,
                org.spec.region.code(),
                org.spec.region.code()
            ),
        }
    } else if error.is_rate_limited() {
        NotReady {
            reason: reasons::RATE_LIMITED,
            message: format!("Genesys Cloud is rate limiting this org: {error}"),
        }
    } else {
        NotReady {
            reason: reasons::API_UNAVAILABLE,
            message: format!("cannot read the org's state from Genesys Cloud: {error}"),
        }
    }
}

/// The status lists of api.md from one snapshot.
pub(crate) fn status_from_snapshot(org: &Organization, snapshot: &Snapshot) -> OrganizationStatus {
    let me = snapshot.me.id.as_str();
    let mut status = OrganizationStatus {
        organization_id: Some(snapshot.me.id.clone()),
        name: snapshot.me.name.clone(),
        region: Some(org.spec.region.code().to_string()),
        linkable_regions: snapshot.linkable_regions.clone(),
        observed_at: Some(Time(snapshot.read_started_wall)),
        ..Default::default()
    };
    for link in &snapshot.links {
        let source = link.source_organization_id.as_deref().unwrap_or(me);
        let target = link.target_organization_id.clone().unwrap_or_default();
        let (other, other_region) = if source == me {
            (target, link.target_region.clone())
        } else {
            (source.to_string(), link.source_region.clone())
        };
        match link.status {
            Some(LinkStatus::Approved) => status.linked_organizations.push(LinkedOrganization {
                unmanaged: false,
                organization_id: other,
                name: link.target_name.clone(),
                region: other_region,
            }),
            Some(LinkStatus::Pending) => status.pending_outgoing_links.push(PendingLink {
                unmanaged: false,
                organization_id: other,
                region: other_region,
                name: link.target_name.clone(),
            }),
            Some(LinkStatus::ApprovalPending) => status.pending_incoming_links.push(PendingLink {
                unmanaged: false,
                organization_id: other,
                region: other_region,
                name: link.target_name.clone(),
            }),
            _ => {}
        }
    }
    status.trustees = snapshot
        .trustees
        .iter()
        .map(|t| TrustSummary {
            members: None,
            unmanaged: false,
            organization_id: t.id.clone(),
            name: t.organization.as_ref().and_then(|o| o.name.clone()),
            enabled: t.enabled,
        })
        .collect();
    status.trustors = snapshot
        .trustors
        .iter()
        .map(|t| TrustSummary {
            members: None,
            unmanaged: false,
            organization_id: t.id.clone(),
            name: t.organization.as_ref().and_then(|o| o.name.clone()),
            enabled: t.enabled,
        })
        .collect();
    status
}

/// The members of each unmanaged trust, for `kubectl orglink audit` to print a manifest
/// that adopts the trust as it is: 2 calls per unmanaged trust when its trust list was
/// read again (kept with it otherwise, [`super::members`]); none for declared ones. A
/// failed read leaves the members out (the audit then says to fill them in).
async fn unmanaged_members(
    status: &mut OrganizationStatus,
    session: &OrgSession,
    snapshot: &Snapshot,
) {
    for t in status.trustors.iter_mut().filter(|t| t.unmanaged) {
        t.members = match super::members::of_trustor(
            session,
            &t.organization_id,
            snapshot.trustors_read_started(),
            None,
        )
        .await
        {
            Ok((users, groups)) => Some(TrustMembers {
                users: bounded(users.into_iter().map(|id| (id, Default::default()))),
                groups: bounded(groups.into_iter().map(|id| (id, Default::default()))),
            }),
            Err(error) => {
                tracing::warn!(%error, trustor = %t.organization_id, "could not read the members of an unmanaged trust");
                None
            }
        };
    }
    for t in status.trustees.iter_mut().filter(|t| t.unmanaged) {
        t.members = match super::members::of_trustee(
            session,
            &t.organization_id,
            snapshot.trustees_read_started(),
            None,
        )
        .await
        {
            Ok(((users, groups, _), _)) => Some(TrustMembers {
                users: bounded(users),
                groups: bounded(groups),
            }),
            Err(error) => {
                tracing::warn!(%error, trustee = %t.organization_id, "could not read the members of an unmanaged trust");
                None
            }
        };
    }
}

/// Members as the status holds them: only well-formed IDs (a remote's answer is checked
/// before it is published), and no more than the schema allows (100 members, 50 roles
/// each), so a hostile or broken answer cannot make the status write fail.
fn bounded(
    members: impl IntoIterator<Item = (String, std::collections::BTreeSet<String>)>,
) -> Vec<TrustMember> {
    use crate::api::common::is_canonical_uuid;
    members
        .into_iter()
        .filter(|(id, _)| is_canonical_uuid(id))
        .take(100)
        .map(|(id, roles)| TrustMember {
            id,
            role_ids: roles
                .into_iter()
                .filter(|r| is_canonical_uuid(r))
                .take(50)
                .collect(),
        })
        .collect()
}

/// The peers the OrgLinks and OrgPairings of `org` (same namespace, `organizationRef`
/// naming it) declare, from the controllers' caches. Objects being deleted still count:
/// their cleanup acts on the relationship. Found by the caches' index: every
/// Organization reconcile asks, and a scan cost as much as the cluster's objects.
fn declared(org: &Organization, ctx: &Context) -> crate::lifecycle::audit::Declared {
    let namespace = org.namespace().unwrap_or_default();
    let name = org.name_any();
    let mut declared = crate::lifecycle::audit::Declared::default();
    for link in ctx.links.of_org(&namespace, &name) {
        declared
            .links
            .insert(link.spec.peer.organization_id.clone());
    }
    for pairing in ctx.pairings.of_org(&namespace, &name) {
        let peer = pairing.spec.peer.organization_id.clone();
        if pairing.spec.request.is_some() {
            declared.trustors.insert(peer);
        } else {
            declared.trustees.insert(peer);
        }
    }
    declared
}

/// Deleting an Organization waits until no OrgLink or OrgPairing uses it, because
/// their cleanup needs its credentials.
async fn cleanup(org: &Organization, ctx: &Context) -> Result<(), Error> {
    let key = org_key(org);
    let links: Api<OrgLink> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let pairings: Api<OrgPairing> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let mut dependents: Vec<String> = links
        .list(&ListParams::default())
        .await?
        .into_iter()
        .filter(|l| l.spec.organization_ref == key.name)
        .map(|l| format!("OrgLink {}", l.name_any()))
        .collect();
    dependents.extend(
        pairings
            .list(&ListParams::default())
            .await?
            .into_iter()
            .filter(|p| p.spec.organization_ref == key.name)
            .map(|p| format!("OrgPairing {}", p.name_any())),
    );
    if !dependents.is_empty() {
        return Err(Error::Blocked(format!(
            "Organization {key} is kept until its dependents finish their cleanup: {}",
            dependents.join(", ")
        )));
    }
    super::credentials_hold::release_unused(ctx, &key.namespace, Some(&key.name)).await?;
    ctx.sessions.remove(&key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_members_are_well_formed_and_bounded() {
        let id = |n: usize| format!("00000000-0000-4000-8000-{n:012}");
        let mut members: Vec<(String, std::collections::BTreeSet<String>)> = (0..120)
            .map(|n| (id(n), (0..60).map(id).collect()))
            .collect();
        members.insert(0, ("../../admin".into(), Default::default()));
        let kept = bounded(members);
        assert_eq!(kept.len(), 100);
        assert!(
            kept.iter()
                .all(|m| m.id.starts_with("00000000-") && m.role_ids.len() == 50)
        );
    }
    use crate::api::OrganizationSpec;
    use crate::api::organization::CredentialsSecretRef;

    const ME: &str = "f3c95789-ace1-4954-ac5d-6baed2eac902";

    fn me(domain: Option<&str>) -> GenesysOrg {
        GenesysOrg {
            id: ME.into(),
            name: Some("Acme Prod".into()),
            domain: domain.map(str::to_string),
            ..Default::default()
        }
    }

    fn outgoing(source_region: &str) -> OrganizationLinkResponse {
        OrganizationLinkResponse {
            source_organization_id: Some(ME.into()),
            target_organization_id: Some("23cc390c-9354-40e3-8e1f-39485d23d1f3".into()),
            source_region: Some(source_region.into()),
            target_region: Some("us-east-1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_region_of_the_token_is_compared_with_spec_region() {
        // organizations/me names the region's domain.
        let us_east = me(Some("mypurecloud.com"));
        assert_eq!(region_mismatch(Region::UsEast1, &us_east, &[]), None);
        assert_eq!(
            region_mismatch(Region::UsWest2, &us_east, &[]),
            Some(Region::UsEast1)
        );
        assert_eq!(
            region_mismatch(Region::UsEast1, &me(Some("mypurecloud.ie")), &[]),
            Some(Region::EuWest1)
        );
        // A link record with us as source names our region.
        let quiet = me(None);
        assert_eq!(
            region_mismatch(Region::UsWest2, &quiet, &[Arc::new(outgoing("us-east-1"))]),
            Some(Region::UsEast1)
        );
        // Records of other orgs, an unknown domain or nothing at all say nothing.
        let mut theirs = outgoing("eu-west-1");
        theirs.source_organization_id = Some("7cefd5c5-6385-4768-ae5d-eaa1ef2cd05a".into());
        assert_eq!(
            region_mismatch(Region::UsEast1, &quiet, &[Arc::new(theirs)]),
            None
        );
        assert_eq!(
            region_mismatch(Region::UsEast1, &me(Some("acme.example")), &[]),
            None
        );
        assert_eq!(region_mismatch(Region::UsEast1, &quiet, &[]), None);
    }

    fn org() -> Organization {
        Organization::new(
            "acme-prod",
            OrganizationSpec {
                region: Region::UsWest2,
                credentials_secret_ref: CredentialsSecretRef {
                    name: "acme-prod-oauth".into(),
                    client_id_key: "clientId".into(),
                    client_secret_key: "clientSecret".into(),
                },
                api_base_url: None,
                resync_interval: None,
            },
        )
    }

    #[test]
    fn a_token_refused_by_the_api_is_a_region_mismatch_and_a_refused_client_is_rejected() {
        let refused: GenesysError = crate::genesys::ApiError {
            method: "GET".into(),
            endpoint: "/api/v2/organizations/me",
            status: 401,
            code: Some("bad.credentials".into()),
            message: Some("Invalid login credentials.".into()),
            correlation_id: None,
            body: None,
            retry_after: None,
            attempts: 2,
        }
        .into();
        let not_ready = classify_api_error(&org(), &refused);
        assert_eq!(not_ready.reason, reasons::REGION_MISMATCH);
        assert!(
            not_ready.message.contains("us-west-2"),
            "{}",
            not_ready.message
        );
        let rejected = GenesysError::CredentialsRejected {
            client_id: "acme-prod-client".into(),
            token_url: "https://login.usw2.pure.cloud/oauth/token".into(),
            status: 401,
            error: "invalid_client".into(),
            description: None,
            correlation_id: None,
        };
        let not_ready = classify_api_error(&org(), &rejected);
        assert_eq!(not_ready.reason, reasons::CREDENTIALS_REJECTED);
        assert!(
            not_ready.message.contains("acme-prod-oauth"),
            "{}",
            not_ready.message
        );
    }
}
