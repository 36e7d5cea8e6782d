//! What OrgLinks and OrgPairings share: the org they act as (with its session), and
//! which of several objects claiming the same relationship acts
//! ([`crate::lifecycle::conflict`]).

use std::sync::Arc;

use kube::api::ObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::context::{Context, org_key};
use super::error::Failure;
use super::reconciler::Reconciled;
use super::sessions::{OrgSession, Parts, Snapshot};
use crate::api::Organization;
use crate::api::conditions::{find, is_true, types};
use crate::lifecycle::conflict::{Claimant, Turn, turn};
use crate::runtime::scope::Stores;

/// The org an OrgLink or OrgPairing acts as, once it is usable.
pub(crate) struct Acting {
    pub(crate) org: Arc<Organization>,
    pub(crate) session: Arc<OrgSession>,
    pub(crate) org_id: String,
}

/// Why the Organization cannot be used yet.
pub(crate) struct NotActing {
    pub(crate) message: String,
    /// The Organization is `Stalled` (its credentials were rejected, ...): the object
    /// that needs it is stalled too.
    pub(crate) organization_stalled: bool,
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
pub(crate) fn acting_org(
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
pub(crate) async fn acting_for_cleanup(
    ctx: &Context,
    namespace: &str,
    organization_ref: &str,
    needs: Parts,
) -> Result<(Acting, Arc<Snapshot>), Failure> {
    let org = ctx
        .organizations
        .get(&ObjectRef::<Organization>::new(organization_ref).within(namespace))
        .ok_or_else(|| Failure::NoOrganization {
            name: organization_ref.to_string(),
            namespace: namespace.to_string(),
        })?;
    let session = match super::organization::connect(&org, ctx).await {
        Ok(session) => session,
        Err(not_ready) => {
            ctx.sessions
                .get(&org_key(&org))
                .ok_or_else(|| Failure::NotConnected {
                    name: organization_ref.to_string(),
                    why: not_ready.message,
                })?
        }
    };
    let snapshot = session
        .snapshot(needs, std::time::Duration::ZERO)
        .await
        .map_err(Failure::cleanup_read)?;
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

/// An OrgLink or OrgPairing: an object that claims a relationship of its Organization
/// with a peer org, of which one object acts at a time.
pub(crate) trait Relationship: Reconciled {
    fn organization_ref(&self) -> &str;
    fn peer_org_id(&self) -> &str;
    /// Whether `other` claims what `self` claims, beyond org and peer (a pairing's
    /// side); true for kinds with nothing more.
    fn same_claim(&self, other: &Self::Cached) -> bool;
    /// The cache of this kind.
    fn store(ctx: &Context) -> &Stores<Self::Cached>;
}

/// A claimant of a relationship, from an object's metadata ([`crate::lifecycle::conflict`]).
pub(crate) fn claimant(meta: &ObjectMeta) -> Claimant<'_> {
    Claimant {
        name: meta.name.as_deref().unwrap_or_default(),
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
    }
}

/// The other objects of the same namespace, `organizationRef`, peer (and claim) as
/// `obj`, from the cache (by its index: every reconcile asks).
pub(crate) fn siblings<K: Relationship>(ctx: &Context, obj: &K) -> Vec<Arc<K::Cached>> {
    let namespace = obj.namespace().unwrap_or_default();
    K::store(ctx)
        .with_peer(&namespace, obj.organization_ref(), obj.peer_org_id())
        .into_iter()
        .filter(|o| o.name_any() != obj.name_any() && obj.same_claim(o))
        .collect()
}

/// Whether `obj` acts for its org and peer, or yields to an older object.
pub(crate) fn turn_of<K: Relationship>(ctx: &Context, obj: &K) -> Turn {
    let siblings = siblings(ctx, obj);
    let claimants: Vec<Claimant> = siblings.iter().map(|o| claimant(o.meta())).collect();
    turn(&claimant(obj.meta()), &claimants)
}

/// After `obj` let go of its relationship: the next oldest object claiming it, if any,
/// acts from now on.
pub(crate) fn wake_siblings<K: Relationship>(ctx: &Context, obj: &K) {
    for sibling in siblings(ctx, obj) {
        K::wakers(ctx).wake(sibling.as_ref());
    }
}
