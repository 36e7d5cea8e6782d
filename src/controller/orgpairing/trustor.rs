//! The trustor side of an OrgPairing (`spec.grant`): observe the trust we gave the
//! peer (with each member's roles) or the pairing it sent, resolve role names, run
//! [`crate::lifecycle::trustor::decide`], perform its actions, write the status.

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use kube::runtime::events::EventType;

use super::{Ages, Note, lookup_pairing_members, write};
use crate::api::conditions::events;
use crate::api::orgpairing::SubjectKind;
use crate::api::text::clean_opt;
use crate::api::{OrgPairing, OrgPairingStatus, PairingGrant, PairingSide};
use crate::controller::acting::Acting;
use crate::controller::context::Context;
use crate::controller::error::Failure;
use crate::controller::members;
use crate::controller::sessions::{OrgSession, Parts, TrusteeMembers};
use crate::genesys::models::{
    RoleDivisionGrants, RoleDivisionPair, TrustCreate, TrustMemberCreate, TrustUpdate, Trustee,
};
use crate::genesys::{GenesysClient, GenesysError};
use crate::lifecycle::pairing::{PairingLookup, PairingRecord, pairing_expired};
use crate::lifecycle::subjects::{self, Directory};
use crate::lifecycle::trustor::{self, Member, ObservedTrustee, TrustorAction, TrustorInput};
use crate::lifecycle::{Requeue, adopt};

/// Observe, decide, act, write.
pub(super) async fn run(
    pairing: &OrgPairing,
    ctx: &Context,
    acting: &Acting,
    grant: &PairingGrant,
    ages: Ages,
) -> Result<(Requeue, OrgPairingStatus), Failure> {
    let peer = pairing.spec.peer.organization_id.as_str();
    let prev = pairing.status.as_ref();
    let session = &acting.session;
    let snapshot = session
        .snapshot(Parts::TRUSTEES, ages.snapshot)
        .await
        .map_err(Failure::read)?;
    let (trust, trust_members) = match snapshot.trustee(peer) {
        Some(trustee) => {
            let (trust, members, changed) = observe_trustee(
                session,
                peer,
                trustee,
                ages.members_since(snapshot.trustees_read_started()),
                (&ctx.trust_members, &acting.org_id),
            )
            .await
            .map_err(Failure::read)?;
            if changed {
                // Membership is the trustee's to keep: its side here looks now.
                ctx.wake_peer(&acting.org_id, peer, Parts::default());
            }
            (Some(trust), members)
        }
        None => (None, Directory::default()),
    };
    let pairing_id = if trust.is_none() {
        pairing_id_to_accept(ctx, grant, &acting.org_id, peer)
    } else {
        trustor::PairingIdSource::NotInCluster
    };
    let (lookup, pairing_members) = match pairing_id.id() {
        Some(id) if trust.is_none() => lookup_pairing_members(session, Some(id), ages.snapshot)
            .await
            .map_err(Failure::read)?,
        _ => (PairingLookup::NotLooked, Directory::default()),
    };
    let now = Timestamp::now();
    // Emails and group names are matched among the users and groups the trustee put
    // in the trust, or (before there is one) in the current pairing. Without either
    // there is nothing to match against yet: the decision then waits on its own terms.
    let resolved;
    let grant = match names_source(grant, trust.is_some(), &lookup, now) {
        None => grant,
        Some(scope) => {
            let members = if trust.is_some() {
                &trust_members
            } else {
                &pairing_members
            };
            match subjects::resolve_grant(grant, members) {
                Ok(g) => {
                    resolved = g;
                    &resolved
                }
                Err(unresolved) => {
                    let d: trustor::TrustorDecision = subjects::unresolved(
                        PairingSide::Trustor,
                        prev,
                        &unresolved,
                        &scope.replace("{peer}", peer),
                    );
                    let status = write(pairing, ctx, &d, PairingRecord::default(), &[])
                        .await
                        .map_err(|e| Failure::Write(Box::new(e)))?;
                    return Ok((d.requeue, status));
                }
            }
        }
    };
    let names = trustor::role_names(grant);
    let role_ids_by_name: BTreeMap<String, Option<String>> = session
        .resolve_role_names(&names)
        .await
        .map_err(Failure::read)?;
    let division_ids_by_name = session
        .resolve_division_names(&trustor::division_names(grant))
        .await
        .map_err(Failure::read)?;
    let adopted = adopt::trust(PairingSide::Trustor, prev, trust.is_some(), peer);
    let d = trustor::decide(TrustorInput {
        grant,
        pairing_id,
        peer_org_id: peer,
        status: prev,
        pairing: lookup,
        trust,
        role_ids_by_name: &role_ids_by_name,
        division_ids_by_name: &division_ids_by_name,
        now,
    });
    let adopted = super::adopted_unless_held(pairing, adopted, &d);
    let d = super::observe_only(pairing, PairingSide::Trustor, d);
    let done = perform_all(ctx, acting, peer, &d.actions).await?;
    if let Some(members) = created_members(&done, &pairing_members) {
        session.trustee_members.store(peer, Instant::now(), members);
    }
    if !done.is_empty() {
        ctx.wake_peer(&acting.org_id, peer, trustor_changes(&done));
    }
    let granted = done.iter().any(|a| {
        matches!(
            a,
            TrustorAction::CreateTrust { .. }
                | TrustorAction::SetUserRoles(_)
                | TrustorAction::SetGroupRoles(_)
        )
    });
    let mut notes = notes(done, peer);
    notes.extend(adopted.map(|note| (events::ADOPTED, note)));
    let status = write(pairing, ctx, &d, PairingRecord::default(), &notes)
        .await
        .map_err(|e| Failure::Write(Box::new(e)))?;
    // Least privilege: the admission warning again, as an Event, whenever roles were
    // actually given (the webhook may have been down, or the object applied long ago).
    if granted && let Some(warning) = crate::webhook::rules::admin_without_expiry(grant) {
        ctx.event(
            pairing,
            EventType::Warning,
            events::ADMIN_WITHOUT_EXPIRY,
            warning,
        )
        .await;
    }
    Ok((d.requeue, status))
}

/// Where a grant's emails and group names are matched (the scope named in the
/// condition, `{peer}` standing for the peer's ID), or `None` when the grant names no
/// one so, or there is nothing to match against yet: no trust, and no current pairing.
fn names_source(
    grant: &PairingGrant,
    trust_exists: bool,
    lookup: &PairingLookup,
    now: Timestamp,
) -> Option<String> {
    if !subjects::grant_uses_names(grant) {
        return None;
    }
    if trust_exists {
        return Some("among the users and groups in the trust with organization {peer}".into());
    }
    match lookup {
        PairingLookup::Found(p) if !pairing_expired(p.created_at, now) => {
            Some(format!("among the users and groups of pairing {}", p.id))
        }
        _ => None,
    }
}

/// The members of the trust `done` just created, as we named them with their roles (and
/// the pairing's emails and names, against which a grant's names were matched): kept
/// instead of read back at the next look, until the trustee list is read again. `None`
/// unless the creation was all that was done, or when a role is given in some divisions
/// only (Genesys lists those otherwise than they are written).
fn created_members(done: &[&TrustorAction], directory: &Directory) -> Option<TrusteeMembers> {
    let [TrustorAction::CreateTrust { users, groups, .. }] = done else {
        return None;
    };
    if users.iter().chain(groups).any(|m| !m.scoped.is_empty()) {
        return None;
    }
    let roles = |members: &[Member]| {
        members
            .iter()
            .map(|m| (m.id.clone(), m.role_ids.iter().cloned().collect()))
            .collect()
    };
    Some((roles(users), roles(groups), directory.clone()))
}

/// What the trustor's `done` changed in the peer's snapshot: the trust made, changed or
/// gone shows in the peer's trustor list; roles only in what the peer reads live.
fn trustor_changes(done: &[&TrustorAction]) -> Parts {
    let lists = done.iter().any(|a| {
        !matches!(
            a,
            TrustorAction::SetUserRoles(_) | TrustorAction::SetGroupRoles(_)
        )
    });
    if lists {
        Parts::TRUSTORS
    } else {
        Parts::default()
    }
}

/// Performs `actions` in order, stopping at the first that fails (the session's trust
/// lists are then marked stale). The trust as the last write left it goes into the
/// snapshot instead of being read again. Returns what was done.
pub(super) async fn perform_all<'a>(
    ctx: &Context,
    acting: &Acting,
    peer: &str,
    actions: &'a [TrustorAction],
) -> Result<Vec<&'a TrustorAction>, Failure> {
    let session = &acting.session;
    let mut done = Vec::new();
    if !actions.is_empty() {
        session.trustee_members.forget(peer);
        ctx.trust_members.forget(peer, &acting.org_id);
    }
    // The trust as our last write left it: `Some(None)` when deleted.
    let mut written: Option<Option<Trustee>> = None;
    for action in actions {
        match perform(session, peer, action).await {
            Ok(Some(trust)) => {
                if let TrustorAction::CreateTrust { users, groups, .. } = action {
                    // The trust holds exactly whom we named: the trustee side here
                    // takes that instead of reading it ([`members::SharedMembers`]).
                    let ids = |m: &[Member]| m.iter().map(|m| m.id.clone()).collect();
                    let _ = ctx.trust_members.share(
                        peer,
                        &acting.org_id,
                        Instant::now(),
                        (ids(users), ids(groups)),
                    );
                }
                written = Some(trust);
            }
            Ok(None) => {}
            Err(error) => {
                session.invalidate_parts(Parts::TRUSTEES);
                // A role may have gone since its name was resolved.
                session.forget_role_names();
                return Err(Failure::call(action, error));
            }
        }
        done.push(action);
    }
    if let Some(trust) = written {
        if trust.is_none() {
            ctx.trust_members.drop_trust(peer, &acting.org_id);
        }
        session.record_trustee(peer, trust).await;
    }
    Ok(done)
}

async fn perform(
    session: &OrgSession,
    peer: &str,
    action: &TrustorAction,
) -> Result<Option<Option<Trustee>>, GenesysError> {
    let client = &session.client;
    match action {
        TrustorAction::CreateTrust {
            pairing_id,
            enabled,
            expires_at,
            users,
            groups,
        } => {
            let member = |m: &Member| match role_divisions(m) {
                None => TrustMemberCreate {
                    id: m.id.clone(),
                    role_ids: m.role_ids.clone(),
                    role_divisions: None,
                },
                Some(grants) => TrustMemberCreate {
                    id: m.id.clone(),
                    role_ids: vec![],
                    role_divisions: Some(grants),
                },
            };
            let body = TrustCreate {
                pairing_id: Some(pairing_id.clone()),
                enabled: *enabled,
                users: users.iter().map(member).collect(),
                groups: groups.iter().map(member).collect(),
                date_expired: *expires_at,
            };
            return Ok(Some(Some(client.create_trust(&body).await?)));
        }
        TrustorAction::UpdateTrust {
            enabled,
            expires_at,
        } => {
            let body = TrustUpdate {
                enabled: *enabled,
                date_expired: *expires_at,
            };
            return Ok(Some(Some(client.update_trustee(peer, &body).await?)));
        }
        TrustorAction::SetUserRoles(m) => set_roles(client, peer, SubjectKind::User, m).await?,
        TrustorAction::SetGroupRoles(m) => set_roles(client, peer, SubjectKind::Group, m).await?,
        TrustorAction::DeleteTrust => {
            client.delete_trustee(peer).await?;
            return Ok(Some(None));
        }
    }
    Ok(None)
}

/// Replaces the roles of trust member `m`: `PUT .../roles` when all are given in all
/// divisions, else `PUT .../roledivisions`.
async fn set_roles(
    client: &GenesysClient,
    peer: &str,
    kind: SubjectKind,
    m: &Member,
) -> Result<(), GenesysError> {
    match (kind, role_divisions(m)) {
        (SubjectKind::User, None) => {
            client
                .set_trustee_user_roles(peer, &m.id, &m.role_ids)
                .await
        }
        (SubjectKind::Group, None) => {
            client
                .set_trustee_group_roles(peer, &m.id, &m.role_ids)
                .await
        }
        (SubjectKind::User, Some(g)) => {
            client
                .set_trustee_user_role_divisions(peer, &m.id, &g)
                .await
        }
        (SubjectKind::Group, Some(g)) => {
            client
                .set_trustee_group_role_divisions(peer, &m.id, &g)
                .await
        }
    }
    .map(drop)
}

/// The role-division pairs of `m` when some of its roles are given in some divisions
/// only (the others in all, `*`), for `PUT .../roledivisions` and `roleDivisions`;
/// `None` when every role is given in all divisions (`PUT .../roles`, `roleIds`).
fn role_divisions(m: &Member) -> Option<RoleDivisionGrants> {
    if m.scoped.is_empty() {
        return None;
    }
    let grants = m
        .role_ids
        .iter()
        .flat_map(|role| {
            let divisions: Vec<String> = match m.scoped.get(role) {
                Some(divisions) => divisions.iter().cloned().collect(),
                None => vec![trustor::ALL_DIVISIONS.to_string()],
            };
            divisions.into_iter().map(|division_id| RoleDivisionPair {
                role_id: role.clone(),
                division_id,
            })
        })
        .collect();
    Some(RoleDivisionGrants { grants })
}

/// The Events of what was done.
fn notes(done: Vec<&TrustorAction>, peer: &str) -> Vec<Note> {
    done.into_iter()
        .map(|a| match a {
            TrustorAction::CreateTrust {
                pairing_id,
                users,
                groups,
                ..
            } => (
                "Authorized",
                format!(
                    "accepted pairing {pairing_id} from organization {peer}: {} users and {} groups",
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
        .collect()
}

/// The pairing ID a trustor accepts: the grant's, or (without one) the `status.pairingId`
/// of the trustee OrgPairing in this cluster that names us (decided by
/// `trustor::pairing_id_source` over the cached OrgPairings and Organizations).
fn pairing_id_to_accept(
    ctx: &Context,
    grant: &PairingGrant,
    us: &str,
    peer: &str,
) -> trustor::PairingIdSource {
    if grant.pairing_id.is_some() {
        return trustor::pairing_id_source(grant, us, peer, &[]);
    }
    let orgs = ctx.organizations.state();
    let org_id = |ns: Option<&str>, name: &str| {
        orgs.iter()
            .find(|o| o.metadata.namespace.as_deref() == ns && o.name_any() == name)
            .and_then(|o| o.status.as_ref()?.organization_id.clone())
    };
    let requests: Vec<trustor::LocalRequest> = ctx
        .pairings
        .state()
        .iter()
        .filter(|p| p.spec.request.is_some() && p.metadata.deletion_timestamp.is_none())
        .map(|p| trustor::LocalRequest {
            key: format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any()),
            created: p.metadata.creation_timestamp.as_ref().map(|t| t.0),
            asks: p.spec.peer.organization_id.clone(),
            asker: org_id(p.metadata.namespace.as_deref(), &p.spec.organization_ref),
            pairing_id: p.status.as_ref().and_then(|s| s.pairing_id.clone()),
        })
        .collect();
    trustor::pairing_id_source(grant, us, peer, &requests)
}

/// The trust as the trustor sees it, with each member's roles, and the members' emails
/// and names (to match a grant that names them so).
///
/// A `TrustUser` is a full user object whose `authorization` holds the user's roles in
/// this trust, so one listing gives every user with its roles; only a user listed
/// without `authorization` costs a `GET .../roles` of its own (see
/// [`users_without_roles`]). A `TrustGroup` carries no roles: each group's are read.
/// Read again when older than `members_since` ([`Ages`]: as the trust list while waiting,
/// every [`crate::lifecycle::poll::MEMBER_CHECK_RESYNCS`] resyncs once settled), so a
/// role changed in Genesys is put back within that. The flag: the members differ from
/// the reading shared with the trustee side before.
async fn observe_trustee(
    session: &OrgSession,
    peer: &str,
    trustee: &crate::genesys::models::Trustee,
    members_since: Instant,
    share: (&members::SharedMembers, &str),
) -> Result<(ObservedTrustee, Directory, bool), GenesysError> {
    let ((users, groups, members), changed) =
        members::of_trustee(session, peer, members_since, Some(share)).await?;
    let trust = ObservedTrustee {
        enabled: trustee.enabled,
        expires_at: trustee.date_expired,
        name: clean_opt(
            trustee
                .organization
                .as_ref()
                .and_then(|o| o.name.as_deref()),
        ),
        users,
        groups,
    };
    Ok((trust, members, changed))
}
