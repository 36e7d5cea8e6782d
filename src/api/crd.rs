//! The CustomResourceDefinitions, as `orglink-operator crdgen` prints them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::{OrgLink, OrgPairing, Organization};

/// The three CRDs, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![Organization::crd(), OrgLink::crd(), OrgPairing::crd()]
}

/// All CRDs as one multi-document YAML; `crds/orglink-crds.yaml` holds exactly this.
pub fn crds_yaml() -> anyhow::Result<String> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}
