//! Writes `.status` with server-side apply, as the operator's own field manager, so the
//! status is exactly what the last reconcile decided and nobody else's fields are
//! touched.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Context, FIELD_MANAGER};
use super::error::Error;
use crate::api::conditions::{DesiredCondition, Status, reasons, types};
use crate::lifecycle::health::set_with_health;

/// How many times a status write is tried before its error is returned.
const STATUS_WRITE_ATTEMPTS: u32 = 4;

/// Applies `status` to the status subresource of `obj`.
///
/// A write the API server turned away for a passing reason ([`is_transient`]: a 409, a
/// 429, a 5xx, a broken connection) is tried again at once, a few times, with a short
/// pause. The status often records what was just done in Genesys Cloud (a new pairing's
/// ID), and giving up on the first 409 would lose it: the next reconcile would only find
/// the intent written before the call and hold (`PairingUnrecorded`) instead of knowing
/// the pairing. Writing the same status again is safe: it is a forced apply of this
/// operator's own fields.
pub(crate) async fn apply_status<K, S>(
    client: &kube::Client,
    obj: &K,
    status: &S,
) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize,
{
    let namespace = obj
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let (api_version, kind) = (K::api_version(&()), K::kind(&()));
    let patch = StatusPatch {
        api_version: &api_version,
        kind: &kind,
        status,
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut attempt = 1;
    let (name, patch) = (obj.name_any(), Patch::Apply(&patch));
    loop {
        // Boxed: the call's state (2 KB) exists only while it is made, not in every
        // reconcile that may write a status (see `Context::event`).
        match Box::pin(api.patch_status(&name, &params, &patch)).await {
            Ok(_) => return Ok(()),
            Err(error) if attempt < STATUS_WRITE_ATTEMPTS && is_transient(&error) => {
                tracing::debug!(%error, attempt, "status write turned away; trying again");
                tokio::time::sleep(retry_pause(attempt)).await;
                attempt += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The body of a status write, serialized straight from the status when the request is
/// made. Built as a JSON tree first, an Organization's status with 100 peers was some
/// 20 KB of tree per write waiting its turn at the API server (issue 14, footprint).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusPatch<'a, S> {
    api_version: &'a str,
    kind: &'a str,
    status: &'a S,
}

impl<S> std::fmt::Debug for StatusPatch<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusPatch")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Whether a failed write may succeed if made again unchanged: a conflict, throttling,
/// an API server error or unavailability, or no answer at all. Not a rejection of the
/// write itself (400, 403, 404, 422): that one would fail again.
pub(crate) fn is_transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// The pause before attempt `attempt + 1`: 100, 200, 400 ms.
fn retry_pause(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(100 << (attempt - 1).min(4))
}

/// After a reconcile of `obj` panicked: `Ready=False`, reason `InternalError`, naming
/// the panic, and a Warning Event. Only the conditions are written (a merge patch of
/// `status.conditions`), so what the last good reconcile wrote stays. Failures to
/// write are logged: the error backoff retries the object anyway.
pub(crate) async fn report_internal_error<K>(ctx: &Context, obj: &K, panic: &str)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + std::fmt::Debug,
{
    let message = format!(
        "the operator failed internally while reconciling this object and retries it with backoff (a bug; please report it): {panic}"
    );
    let desired = DesiredCondition::new(
        types::READY,
        Status::False,
        reasons::INTERNAL_ERROR,
        message.clone(),
    );
    let mut conditions = current_conditions(obj);
    let changed = set_with_health(
        &mut conditions,
        std::slice::from_ref(&desired),
        obj.meta().generation,
        Timestamp::now(),
    );
    if changed && let Some(namespace) = obj.namespace() {
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = serde_json::json!({ "status": { "conditions": conditions } });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        if let Err(error) = api
            .patch_status(&obj.name_any(), &params, &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(%error, "could not write the InternalError condition");
        }
    }
    ctx.event(obj, EventType::Warning, reasons::INTERNAL_ERROR, message)
        .await;
}

/// `status.conditions` of any of the three kinds (each keeps them there).
fn current_conditions<K: Serialize>(obj: &K) -> Vec<Condition> {
    serde_json::to_value(obj)
        .ok()
        .and_then(|v| v.pointer("/status/conditions").cloned())
        .and_then(|c| serde_json::from_value(c).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::http::StatusCode;

    use crate::api::{OrgLink, OrgLinkSpec, OrgLinkStatus, PeerRef, Region};

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status {
                code,
                ..Default::default()
            }
            .boxed(),
        )
    }

    #[test]
    fn conflicts_throttling_and_server_errors_are_transient() {
        for code in [409, 429, 500, 502, 503, 504] {
            assert!(is_transient(&api_error(code)), "{code}");
        }
        for code in [400, 403, 404, 410, 422] {
            assert!(!is_transient(&api_error(code)), "{code}");
        }
        assert_eq!(retry_pause(1).as_millis(), 100);
        assert_eq!(retry_pause(3).as_millis(), 400);
    }

    /// A local API server answering the first `conflicts` status writes with 409 and
    /// the rest with the object; returns a client of it and the count of writes.
    async fn conflicting_api(conflicts: u32, code: u16) -> (kube::Client, Arc<AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writes = Arc::new(AtomicU32::new(0));
        let seen = writes.clone();
        let app = axum::Router::new().fallback(move || {
            let seen = seen.clone();
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                if n < conflicts {
                    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "Conflict", "message": "the object has been modified", "code": code});
                    (StatusCode::from_u16(code).unwrap(), axum::Json(body))
                } else {
                    let link = OrgLink::new("l", spec());
                    (StatusCode::OK, axum::Json(serde_json::to_value(link).unwrap()))
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        (kube::Client::try_from(config).unwrap(), writes)
    }

    fn spec() -> OrgLinkSpec {
        OrgLinkSpec {
            organization_ref: "org".into(),
            peer: PeerRef {
                organization_id: "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
                region: Region::UsEast1,
            },
            decision: Default::default(),
            attempt: 0,
        }
    }

    fn link() -> OrgLink {
        let mut link = OrgLink::new("l", spec());
        link.metadata.namespace = Some("team-a".into());
        link
    }

    #[test]
    fn a_status_patch_is_the_kind_and_the_status_as_server_side_apply_takes_them() {
        let status = OrgLinkStatus {
            peer_name: Some("Peer Org".into()),
            ..Default::default()
        };
        let patch = StatusPatch {
            api_version: "orglink.dev/v1alpha1",
            kind: "OrgLink",
            status: &status,
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            serde_json::json!({
                "apiVersion": "orglink.dev/v1alpha1",
                "kind": "OrgLink",
                "status": serde_json::to_value(&status).unwrap(),
            })
        );
    }

    #[tokio::test]
    async fn a_status_write_answered_409_is_made_again_until_it_lands() {
        let (client, writes) = conflicting_api(2, 409).await;
        apply_status(&client, &link(), &OrgLinkStatus::default())
            .await
            .expect("written on the third try");
        assert_eq!(writes.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_status_write_still_refused_after_the_attempts_fails() {
        let (client, writes) = conflicting_api(10, 409).await;
        assert!(
            apply_status(&client, &link(), &OrgLinkStatus::default())
                .await
                .is_err()
        );
        assert_eq!(writes.load(Ordering::SeqCst), STATUS_WRITE_ATTEMPTS);
    }

    #[tokio::test]
    async fn a_rejected_status_write_is_not_made_again() {
        let (client, writes) = conflicting_api(10, 422).await;
        assert!(
            apply_status(&client, &link(), &OrgLinkStatus::default())
                .await
                .is_err()
        );
        assert_eq!(writes.load(Ordering::SeqCst), 1);
    }
}
