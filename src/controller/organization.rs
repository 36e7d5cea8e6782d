//! The Organization controller: connects to the org with the credentials of its Secret,
//! reads what the org sees (identity, linkable regions, links, trustees, trustors) once
//! per resync, and writes it to status with `Ready`.
//!
//! The snapshot it reads is the one its OrgLinks and OrgPairings decide on (see
//! [`super::sessions`]). A finalizer keeps the Organization, and so its credentials,
//! until those objects have finished their own cleanup.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};

use super::context::{Context, org_key};
use super::error::Error;
use super::status::apply_status;
use crate::api::conditions::{DesiredCondition, Status, is_true, reasons, set_conditions, types};
use crate::api::organization::{LinkedOrganization, PendingLink, TrustSummary};
use crate::api::{FINALIZER, OrgLink, OrgPairing, Organization, OrganizationStatus};
use crate::genesys::models::LinkStatus;
use crate::genesys::{Credentials, GenesysClient, GenesysConfig, GenesysError};

use super::sessions::{OrgSession, Snapshot, fingerprint};

pub const KIND: &str = "Organization";

pub async fn reconcile(org: Arc<Organization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = org
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<Organization> = Api::namespaced(ctx.client.clone(), &namespace);
    let started = std::time::Instant::now();
    let result = finalizer(&api, FINALIZER, org, |event| async {
        match event {
            Finalizer::Apply(org) => apply(&org, &ctx).await,
            Finalizer::Cleanup(org) => cleanup(&org, &ctx).await,
        }
    })
    .await
    .map_err(Error::from);
    ctx.metrics.observe_reconcile(KIND, started.elapsed());
    result
}

/// Why the org cannot be used, as a `Ready` reason and message.
struct NotReady {
    reason: &'static str,
    message: String,
}

async fn apply(org: &Organization, ctx: &Context) -> Result<Action, Error> {
    let resync = org.spec.resync_interval();
    let key = org_key(org);
    let prev = org.status.clone().unwrap_or_default();
    let (desired, snapshot) = match connect(org, ctx).await {
        Ok(session) => match session.snapshot(resync).await {
            Ok(snapshot) => (
                DesiredCondition::new(
                    types::READY,
                    Status::True,
                    reasons::CONNECTED,
                    format!(
                        "connected as {} ({}); remote state read",
                        snapshot.me.name.as_deref().unwrap_or("?"),
                        snapshot.me.id
                    ),
                ),
                Some(snapshot),
            ),
            Err(error) => {
                let not_ready = classify_api_error(org, &error);
                (
                    DesiredCondition::new(
                        types::READY,
                        Status::False,
                        not_ready.reason,
                        not_ready.message,
                    ),
                    None,
                )
            }
        },
        Err(not_ready) => (
            DesiredCondition::new(
                types::READY,
                Status::False,
                not_ready.reason,
                not_ready.message,
            ),
            None,
        ),
    };

    let mut status = match &snapshot {
        Some(snapshot) => status_from_snapshot(org, snapshot),
        // Keep what was last read: it is still the best knowledge, and the condition
        // says it is not current.
        None => prev.clone(),
    };
    let mut conditions = prev.conditions.clone();
    let now = Timestamp::now();
    set_conditions(
        &mut conditions,
        std::slice::from_ref(&desired),
        org.metadata.generation,
        now,
    );
    status.conditions = conditions;
    status.observed_generation = org.metadata.generation;

    let was_ready = is_true(&prev.conditions, types::READY);
    let ready = desired.status == Status::True;
    if status != prev {
        apply_status(&ctx.client, org, &status).await?;
    }
    if ready != was_ready || (!ready && prev_reason(&prev) != Some(desired.reason)) {
        let type_ = if ready {
            EventType::Normal
        } else {
            EventType::Warning
        };
        ctx.event(org, type_, desired.reason, desired.message.clone())
            .await;
    }
    if ready {
        ctx.reset_failures(&key.to_string());
        Ok(Action::requeue(jittered(resync)))
    } else {
        ctx.metrics.observe_error(KIND, desired.reason);
        Ok(Action::requeue(ctx.backoff_after_failure(&key.to_string())))
    }
}

fn prev_reason(prev: &OrganizationStatus) -> Option<&str> {
    crate::api::conditions::find(&prev.conditions, types::READY).map(|c| c.reason.as_str())
}

/// Reads the Secret and returns the org's session, rebuilt when the credentials,
/// region or base URL changed.
async fn connect(org: &Organization, ctx: &Context) -> Result<Arc<OrgSession>, NotReady> {
    let key = org_key(org);
    let secret_ref = &org.spec.credentials_secret_ref;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let missing = |message: String| NotReady {
        reason: reasons::CREDENTIALS_MISSING,
        message,
    };
    let secret = secrets
        .get_opt(&secret_ref.name)
        .await
        .map_err(|e| NotReady {
            reason: reasons::API_UNAVAILABLE,
            message: format!("cannot read Secret {}: {e}", secret_ref.name),
        })?
        .ok_or_else(|| {
            missing(format!(
                "Secret {}/{} (spec.credentialsSecretRef.name) not found; create it with keys {} and {}",
                key.namespace, secret_ref.name, secret_ref.client_id_key, secret_ref.client_secret_key
            ))
        })?;
    let value = |field: &str| -> Result<String, NotReady> {
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(field))
            .map(|b| b.0.clone())
            .or_else(|| {
                secret
                    .string_data
                    .as_ref()
                    .and_then(|d| d.get(field))
                    .map(|s| s.clone().into_bytes())
            })
            .unwrap_or_default();
        let text = String::from_utf8(bytes).unwrap_or_default();
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(missing(format!(
                "Secret {}/{} has no non-empty key {field}; add it (the key name is set by spec.credentialsSecretRef)",
                key.namespace, secret_ref.name
            )));
        }
        Ok(text)
    };
    let client_id = value(&secret_ref.client_id_key)?;
    let client_secret = value(&secret_ref.client_secret_key)?;
    let base_url = org.spec.api_base_url.clone().unwrap_or_default();
    let print = fingerprint(&[
        org.spec.region.code(),
        &base_url,
        &client_id,
        &client_secret,
    ]);
    ctx.sessions
        .ensure(&key, org.spec.region, print, || {
            let mut config = GenesysConfig::new(
                org.spec.region,
                Credentials::new(client_id.clone(), client_secret.clone()),
            )
            .with_label(key.to_string())
            .with_rate_limit(ctx.settings.rate_limit)
            .with_retry(ctx.settings.retry.clone())
            .with_observer(ctx.metrics.call_observer());
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

fn classify_api_error(org: &Organization, error: &GenesysError) -> NotReady {
    if error.is_credentials_rejected() || error.is_unauthorized() {
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
pub fn status_from_snapshot(org: &Organization, snapshot: &Snapshot) -> OrganizationStatus {
    let me = snapshot.me.id.as_str();
    let mut status = OrganizationStatus {
        organization_id: Some(snapshot.me.id.clone()),
        name: snapshot.me.name.clone(),
        region: Some(org.spec.region.code().to_string()),
        linkable_regions: snapshot.linkable_regions.clone(),
        last_sync_time: Some(Time(snapshot.fetched_at_wall)),
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
                organization_id: other,
                name: link.target_name.clone(),
                region: other_region,
            }),
            Some(LinkStatus::Pending) => status.pending_outgoing_links.push(PendingLink {
                organization_id: other,
                region: other_region,
                name: link.target_name.clone(),
            }),
            Some(LinkStatus::ApprovalPending) => status.pending_incoming_links.push(PendingLink {
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
            organization_id: t.id.clone(),
            name: t.organization.as_ref().and_then(|o| o.name.clone()),
            enabled: t.enabled,
        })
        .collect();
    status.trustors = snapshot
        .trustors
        .iter()
        .map(|t| TrustSummary {
            organization_id: t.id.clone(),
            name: t.organization.as_ref().and_then(|o| o.name.clone()),
            enabled: t.enabled,
        })
        .collect();
    status
}

/// Deleting an Organization waits until no OrgLink or OrgPairing uses it, because
/// their cleanup needs its credentials.
async fn cleanup(org: &Organization, ctx: &Context) -> Result<Action, Error> {
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
    ctx.sessions.remove(&key);
    Ok(Action::await_change())
}

/// `interval` plus up to 10% jitter, so orgs created together do not resync together.
pub fn jittered(interval: Duration) -> Duration {
    interval + interval.mul_f64(rand::random::<f64>() * 0.1)
}
