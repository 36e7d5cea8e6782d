//! The Organization controller: connects to the org with the credentials of its Secret,
//! reads what the org sees (identity, linkable regions, links, trustees, trustors) once
//! per resync, and writes it to status with `Ready`.
//!
//! The snapshot it reads is the one its OrgLinks and OrgPairings decide on (see
//! [`super::sessions`]). A finalizer keeps the Organization, and another its credentials
//! Secret ([`super::credentials_hold`]), until those objects have finished their own
//! cleanup, which connects with them on demand ([`connect`]).

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
use crate::api::{FINALIZER, OrgLink, OrgPairing, Organization, OrganizationStatus, Region};
use crate::genesys::models::{LinkStatus, Organization as GenesysOrg, OrganizationLinkResponse};
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
pub(super) struct NotReady {
    pub reason: &'static str,
    pub message: String,
}

async fn apply(org: &Organization, ctx: &Context) -> Result<Action, Error> {
    let resync = org.spec.resync_interval();
    let key = org_key(org);
    let prev = org.status.clone().unwrap_or_default();
    let connected = match connect(org, ctx).await {
        // The Secret works: keep it until this Organization's cleanup is done. One the
        // user is deleting is kept for that cleanup only, not used for new work.
        Ok(session) => match super::credentials_hold::hold(ctx, org).await? {
            Some(secret) if secret.deleting => {
                let r = &org.spec.credentials_secret_ref;
                Err(NotReady {
                    reason: reasons::CREDENTIALS_MISSING,
                    message: crate::lifecycle::credentials::secret_being_deleted(
                        &key.namespace,
                        &r.name,
                        &r.client_id_key,
                        &r.client_secret_key,
                    ),
                })
            }
            _ => Ok(session),
        },
        Err(not_ready) => Err(not_ready),
    };
    if org.status.as_ref().and_then(|s| s.observed_generation) != org.metadata.generation {
        // The spec changed, perhaps to another Secret: release the one no longer used.
        super::credentials_hold::release_unused(ctx, &key.namespace, None).await?;
    }
    let (desired, snapshot) = match connected {
        Ok(session) => match session.snapshot(resync).await {
            Ok(snapshot) => match region_mismatch(org.spec.region, &snapshot.me, &snapshot.links) {
                // The token works, but the org lives elsewhere: nothing read is published
                // and its OrgLinks and OrgPairings wait, since their region checks would
                // use the wrong region.
                Some(actual) => (
                    DesiredCondition::new(
                        types::READY,
                        Status::False,
                        reasons::REGION_MISMATCH,
                        format!(
                            "the OAuth client of Secret {} is valid, but for organization {} ({}) in region {}, not spec.region {}; set spec.region to {}, or use the credentials of an org in {}",
                            org.spec.credentials_secret_ref.name,
                            snapshot.me.name.as_deref().unwrap_or("?"),
                            snapshot.me.id,
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
                        format!(
                            "connected as {} ({}); remote state read",
                            snapshot.me.name.as_deref().unwrap_or("?"),
                            snapshot.me.id
                        ),
                    ),
                    Some(snapshot),
                ),
            },
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
/// region or base URL changed. Cleanup of OrgLinks and OrgPairings calls it too, so
/// it works whether or not the Organization is Ready or being deleted.
pub(super) async fn connect(
    org: &Organization,
    ctx: &Context,
) -> Result<Arc<OrgSession>, NotReady> {
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

/// The region the org's own remote data places it in, when that is not `expected`: the
/// `domain` of `organizations/me` is its region's domain (`mypurecloud.com` for
/// us-east-1), and a link record with us as source carries our region as
/// `sourceRegion`. `None` when they agree with `expected` or say nothing.
pub fn region_mismatch(
    expected: Region,
    me: &GenesysOrg,
    links: &[OrganizationLinkResponse],
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
    super::credentials_hold::release_unused(ctx, &key.namespace, Some(&key.name)).await?;
    ctx.sessions.remove(&key);
    Ok(Action::await_change())
}

/// `interval` plus up to 10% jitter, so orgs created together do not resync together.
pub fn jittered(interval: Duration) -> Duration {
    interval + interval.mul_f64(rand::random::<f64>() * 0.1)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            region_mismatch(Region::UsWest2, &quiet, &[outgoing("us-east-1")]),
            Some(Region::UsEast1)
        );
        // Records of other orgs, an unknown domain or nothing at all say nothing.
        let mut theirs = outgoing("eu-west-1");
        theirs.source_organization_id = Some("7cefd5c5-6385-4768-ae5d-eaa1ef2cd05a".into());
        assert_eq!(region_mismatch(Region::UsEast1, &quiet, &[theirs]), None);
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
