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

/// Applies `status` to the status subresource of `obj`.
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
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
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
