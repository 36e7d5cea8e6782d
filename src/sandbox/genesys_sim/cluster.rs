//! `orglink-operator sandbox --with-organizations`: registers every seeded org in the
//! sandbox cluster, so the operator has something to manage from the first second.
//!
//! Per org, named after the org's slug (`Acme Prod` → `acme-prod`):
//! - a namespace `acme-prod`;
//! - a Secret `acme-prod-oauth` with keys `clientId` and `clientSecret`, labelled
//!   `orglink.dev/credentials: "true"` (the operator reads no other Secret);
//! - an `Organization` `acme-prod` with the org's region, that Secret, and
//!   `apiBaseUrl` = the simulator's `{url}/{region}`.
//!
//! Objects are server-side applied (field manager `orglink-sandbox`), so running the
//! sandbox again against the same cluster updates them instead of failing.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ObjectMeta, Patch, PatchParams};

use super::SimHandle;
use super::seed::SeedOrg;
use crate::api::organization::CredentialsSecretRef;
use crate::api::{CREDENTIALS_LABEL, Organization, OrganizationSpec};

/// The field manager of the applied objects.
pub(crate) const FIELD_MANAGER: &str = "orglink-sandbox";

/// The objects that represent one seeded org in the cluster.
#[derive(Clone)]
pub struct OrgObjects {
    pub namespace: Namespace,
    pub secret: Secret,
    pub organization: Organization,
}

/// A DNS-1123 label from an org name: lower-case ASCII letters and digits joined by
/// hyphens, at most 63 characters.
pub fn slug(name: &str) -> String {
    let joined = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-");
    let mut s: String = joined.chars().take(63).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() { "org".to_string() } else { s }
}

fn labels(org: &SeedOrg) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            FIELD_MANAGER.to_string(),
        ),
        ("orglink.dev/sandbox-org".to_string(), org.id.to_string()),
    ])
}

/// The object name of each org, in order: its slug, plus the start of its ID where two
/// orgs' names would give the same slug.
pub(crate) fn object_names(orgs: &[SeedOrg]) -> Vec<String> {
    let slugs: Vec<String> = orgs.iter().map(|o| slug(&o.name)).collect();
    slugs
        .iter()
        .zip(orgs)
        .map(|(s, o)| {
            if slugs.iter().filter(|other| *other == s).count() > 1 {
                let id = o.id.simple().to_string();
                let base: String = s.chars().take(54).collect();
                format!("{}-{}", base.trim_end_matches('-'), &id[..8])
            } else {
                s.clone()
            }
        })
        .collect()
}

/// The namespace, Secret and Organization of `org`, named `name` (see [`object_names`]),
/// whose API is at `api_base_url`.
pub fn org_objects(org: &SeedOrg, name: &str, api_base_url: &str) -> OrgObjects {
    let name = name.to_string();
    let secret_name = format!("{name}-oauth");
    let meta = |n: &str, ns: Option<&str>| ObjectMeta {
        name: Some(n.to_string()),
        namespace: ns.map(str::to_string),
        labels: Some(labels(org)),
        ..ObjectMeta::default()
    };
    let namespace = Namespace {
        metadata: meta(&name, None),
        ..Namespace::default()
    };
    let mut secret_meta = meta(&secret_name, Some(&name));
    secret_meta
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(CREDENTIALS_LABEL.to_string(), "true".to_string());
    let secret = Secret {
        metadata: secret_meta,
        type_: Some("Opaque".to_string()),
        data: Some(BTreeMap::from([
            (
                "clientId".to_string(),
                ByteString(org.client_id.as_bytes().to_vec()),
            ),
            (
                "clientSecret".to_string(),
                ByteString(org.client_secret.expose().as_bytes().to_vec()),
            ),
        ])),
        ..Secret::default()
    };
    let mut organization = Organization::new(
        &name,
        OrganizationSpec {
            region: org.region,
            credentials_secret_ref: CredentialsSecretRef {
                name: secret_name,
                client_id_key: "clientId".to_string(),
                client_secret_key: "clientSecret".to_string(),
            },
            api_base_url: Some(api_base_url.to_string()),
            resync_interval: None,
        },
    );
    organization.metadata.namespace = Some(name.clone());
    organization.metadata.labels = Some(labels(org));
    OrgObjects {
        namespace,
        secret,
        organization,
    }
}

/// Why registering the orgs failed (the object is named; no secret value is).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegisterError {
    #[error("cannot apply {kind} {name}: {source}")]
    Apply {
        kind: &'static str,
        name: String,
        source: kube::Error,
    },
}

/// Applies the objects of every org of `sim` to the cluster; returns them, in seed order.
pub(crate) async fn register_organizations(
    client: kube::Client,
    sim: &SimHandle,
) -> Result<Vec<OrgObjects>, RegisterError> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut applied = Vec::new();
    for (org, name) in sim.orgs().iter().zip(object_names(sim.orgs())) {
        let objects = org_objects(org, &name, &sim.region_url(org.region));
        let ns_name = objects.namespace.metadata.name.clone().unwrap_or_default();
        let err = |kind: &'static str, name: &str| {
            let name = name.to_string();
            move |source| RegisterError::Apply { kind, name, source }
        };
        Api::<Namespace>::all(client.clone())
            .patch(&ns_name, &params, &Patch::Apply(&objects.namespace))
            .await
            .map_err(err("Namespace", &ns_name))?;
        let secret_name = objects.secret.metadata.name.clone().unwrap_or_default();
        Api::<Secret>::namespaced(client.clone(), &ns_name)
            .patch(&secret_name, &params, &Patch::Apply(&objects.secret))
            .await
            .map_err(err("Secret", &format!("{ns_name}/{secret_name}")))?;
        let org_name = objects
            .organization
            .metadata
            .name
            .clone()
            .unwrap_or_default();
        Api::<Organization>::namespaced(client.clone(), &ns_name)
            .patch(&org_name, &params, &Patch::Apply(&objects.organization))
            .await
            .map_err(err("Organization", &format!("{ns_name}/{org_name}")))?;
        applied.push(objects);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Region;
    use crate::sandbox::genesys_sim::seed::default_seed;

    #[test]
    fn slugs_are_dns_labels() {
        assert_eq!(slug("Acme Prod"), "acme-prod");
        assert_eq!(slug("  Globex (EU) / Dublin "), "globex-eu-dublin");
        assert_eq!(slug("Ünïcode"), "n-code");
        assert_eq!(slug("!!!"), "org");
        let long = slug(&"a b ".repeat(40));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn each_org_gets_a_namespace_secret_and_organization() {
        let orgs = default_seed();
        let acme = orgs.iter().find(|o| o.name == "Acme Prod").unwrap();
        let o = org_objects(acme, "acme-prod", "http://127.0.0.1:1234/us-east-1");
        assert_eq!(o.namespace.metadata.name.as_deref(), Some("acme-prod"));
        assert_eq!(o.secret.metadata.name.as_deref(), Some("acme-prod-oauth"));
        assert_eq!(o.secret.metadata.namespace.as_deref(), Some("acme-prod"));
        assert_eq!(
            o.secret.metadata.labels.as_ref().unwrap()["orglink.dev/credentials"],
            "true"
        );
        let data = o.secret.data.as_ref().unwrap();
        assert_eq!(data["clientId"].0, acme.client_id.as_bytes());
        assert_eq!(
            data["clientSecret"].0,
            acme.client_secret.expose().as_bytes()
        );
        let spec = &o.organization.spec;
        assert_eq!(spec.region, Region::UsEast1);
        assert_eq!(spec.credentials_secret_ref.name, "acme-prod-oauth");
        assert_eq!(
            spec.api_base_url.as_deref(),
            Some("http://127.0.0.1:1234/us-east-1")
        );
        assert_eq!(
            o.organization.metadata.namespace.as_deref(),
            Some("acme-prod")
        );
        assert_eq!(
            o.organization.metadata.labels.as_ref().unwrap()["orglink.dev/sandbox-org"],
            acme.id.to_string()
        );
    }

    #[test]
    fn names_are_slugs_made_unique_by_id() {
        let orgs = default_seed();
        let names = object_names(&orgs);
        assert!(names.contains(&"acme-prod".to_string()));
        assert!(names.contains(&"globex-eu".to_string()));
        let mut twins = vec![orgs[0].clone(), orgs[1].clone()];
        twins[1].name = "ACME  prod".into();
        let names = object_names(&twins);
        assert_ne!(names[0], names[1]);
        assert!(
            names[0].starts_with("acme-prod-") && names[0].len() == 18,
            "{names:?}"
        );
    }
}
