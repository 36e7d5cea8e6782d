//! Holds an Organization's credentials Secret with a finalizer while cleanup may need
//! it (the decisions are in [`crate::lifecycle::credentials`]).
//!
//! Only Secret metadata is read here (`get`/`list` of metadata): the credentials
//! themselves are read by the Organization controller when it connects. The finalizer
//! is written with a merge patch that carries the Secret's resourceVersion, so a
//! concurrent change makes the write fail and the reconcile retry instead of dropping
//! someone else's finalizer.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams};
use kube::core::PartialObjectMeta;

use super::context::Context;
use crate::api::{OrgLink, OrgPairing, Organization};
use crate::lifecycle::credentials::{
    CREDENTIALS_FINALIZER, HoldChange, OrganizationUse, SecretState, decide_hold, finalizers_after,
    secret_in_use,
};

/// Puts the finalizer on the Secret `org` uses, if it exists and lacks it, and returns
/// its state (`None`: not found). Called once the Organization has connected with it.
pub(crate) async fn hold(
    ctx: &Context,
    org: &Organization,
) -> Result<Option<SecretState>, kube::Error> {
    let namespace = org.metadata.namespace.clone().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let name = &org.spec.credentials_secret_ref.name;
    let Some(secret) = secrets.get_metadata_opt(name).await? else {
        return Ok(None);
    };
    apply_change(&secrets, &secret.metadata, true).await?;
    Ok(Some(state_of(&secret.metadata)))
}

fn state_of(meta: &ObjectMeta) -> SecretState {
    SecretState {
        held: is_held(meta),
        deleting: meta.deletion_timestamp.is_some(),
    }
}

/// Removes the finalizer from every Secret of `namespace` that carries it and that no
/// Organization needs any more. `releasing` is an Organization whose cleanup has just
/// found no dependents (it is about to go); after a spec change, `None`.
pub(crate) async fn release_unused(
    ctx: &Context,
    namespace: &str,
    releasing: Option<&str>,
) -> Result<(), kube::Error> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let held: Vec<PartialObjectMeta<Secret>> = secrets
        .list_metadata(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|s| is_held(&s.metadata))
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    let organizations = Api::<Organization>::namespaced(ctx.client.clone(), namespace)
        .list(&ListParams::default())
        .await?
        .items;
    let mut referenced: Vec<String> = Api::<OrgLink>::namespaced(ctx.client.clone(), namespace)
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|l| l.spec.organization_ref)
        .collect();
    referenced.extend(
        Api::<OrgPairing>::namespaced(ctx.client.clone(), namespace)
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .map(|p| p.spec.organization_ref),
    );
    let uses: Vec<OrganizationUse<'_>> = organizations
        .iter()
        .map(|o| OrganizationUse {
            name: o.metadata.name.as_deref().unwrap_or_default(),
            secret: &o.spec.credentials_secret_ref.name,
            deleting: o.metadata.deletion_timestamp.is_some(),
            has_dependents: referenced
                .iter()
                .any(|r| Some(r.as_str()) == o.metadata.name.as_deref()),
        })
        .collect();
    for secret in held {
        let name = secret.metadata.name.as_deref().unwrap_or_default();
        let in_use = secret_in_use(name, &uses, releasing);
        apply_change(&secrets, &secret.metadata, in_use).await?;
    }
    Ok(())
}

fn is_held(meta: &ObjectMeta) -> bool {
    meta.finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == CREDENTIALS_FINALIZER))
}

/// Adds or removes the finalizer of one Secret as [`decide_hold`] says.
async fn apply_change(
    secrets: &Api<Secret>,
    meta: &ObjectMeta,
    in_use: bool,
) -> Result<(), kube::Error> {
    let change = decide_hold(state_of(meta), in_use);
    if change == HoldChange::Keep {
        return Ok(());
    }
    let name = meta.name.as_deref().unwrap_or_default();
    let finalizers = finalizers_after(meta.finalizers.as_deref().unwrap_or_default(), change);
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": meta.resource_version,
            "finalizers": finalizers,
        }
    });
    secrets
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    tracing::info!(
        secret = name,
        namespace = meta.namespace.as_deref().unwrap_or_default(),
        ?change,
        "credentials Secret finalizer"
    );
    Ok(())
}
