//! Installs the project's CRDs in a cluster and waits until they are served.

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use kube::runtime::wait::conditions::is_crd_established;

use crate::sandbox::wait::until;

/// The field manager of the applied CRDs.
pub(crate) const FIELD_MANAGER: &str = "orglink-sandbox";

/// Why the CRDs could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallCrdsError {
    #[error("applying CRD {name}: {source}")]
    Apply { name: String, source: kube::Error },
    #[error("CRD {name} was not Established within {timeout:?} (last conditions: {conditions})")]
    NotEstablished {
        name: String,
        timeout: Duration,
        conditions: String,
    },
    #[error("the OpenAPI schema of {kind} was not published at {path} within {timeout:?}")]
    NotPublished {
        kind: String,
        path: String,
        timeout: Duration,
    },
}

/// Server-side applies every CRD of [`crate::api::crds`] and waits until each is
/// `Established`, so objects of the kinds can be created right after, and until its
/// schema is published in the OpenAPI v3 document (a moment later), so `kubectl
/// explain` knows the kinds too.
pub async fn install_crds(client: kube::Client, timeout: Duration) -> Result<(), InstallCrdsError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let crds = crate::api::crds();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(crd))
            .await
            .map_err(|source| InstallCrdsError::Apply {
                name: name.clone(),
                source,
            })?;
    }
    let deadline = Instant::now() + timeout;
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, established(&api, &name))
            .await
            .is_err()
        {
            return Err(InstallCrdsError::NotEstablished {
                conditions: last_conditions(&api, &name).await,
                name,
                timeout,
            });
        }
    }
    for crd in &crds {
        wait_published(&client, crd, deadline, timeout).await?;
    }
    Ok(())
}

/// Resolves once the CRD `name` is `Established`, watching it (a failed watch, e.g. of an
/// API server still starting, is watched again).
async fn established(api: &Api<CustomResourceDefinition>, name: &str) {
    while let Err(error) = await_condition(api.clone(), name, is_crd_established()).await {
        tracing::debug!(%error, crd = name, "watching the CRD failed; watching again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The CRD's conditions, for the error when it never became `Established`.
async fn last_conditions(api: &Api<CustomResourceDefinition>, name: &str) -> String {
    let current = api.get_opt(name).await.ok().flatten();
    current
        .and_then(|c| c.status)
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            format!(
                "{}={} {}",
                c.type_,
                c.status,
                c.message.clone().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Waits until the OpenAPI v3 document of `crd`'s group-version holds its kind's schema
/// (component `dev.orglink.v1alpha1.OrgLink` for `orglink.dev/v1alpha1`, kind OrgLink).
async fn wait_published(
    client: &kube::Client,
    crd: &CustomResourceDefinition,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), InstallCrdsError> {
    let group = &crd.spec.group;
    let kind = &crd.spec.names.kind;
    for version in crd.spec.versions.iter().filter(|v| v.served) {
        let path = format!("/openapi/v3/apis/{group}/{}", version.name);
        let reversed: Vec<&str> = group.split('.').rev().collect();
        let component = format!("\"{}.{}.{kind}\"", reversed.join("."), version.name);
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(published) = until(left, Duration::from_millis(100), async || {
            let Ok(request) = http::Request::get(path.as_str()).body(Vec::new()) else {
                return Ok::<_, std::convert::Infallible>(None);
            };
            let document = client.request_text(request).await;
            Ok(document.is_ok_and(|d| d.contains(&component)).then_some(()))
        })
        .await;
        if published.is_none() {
            return Err(InstallCrdsError::NotPublished {
                kind: kind.clone(),
                path,
                timeout,
            });
        }
    }
    Ok(())
}
