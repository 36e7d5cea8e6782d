//! Shared by the sandbox benchmarks: synthetic simulated orgs, and their namespace,
//! Secret and Organization in the sandbox cluster.
#![allow(dead_code)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams};
use orglink_operator::api::{Organization, Region};
use orglink_operator::sandbox::genesys_sim::SimHandle;
use orglink_operator::sandbox::genesys_sim::cluster::org_objects;
use orglink_operator::sandbox::genesys_sim::seed::{
    Secret as ClientSecret, SeedMember, SeedOrg, SeedRole, default_divisions,
};
use uuid::Uuid;

#[path = "../tests/support/mod.rs"]
pub mod support;

pub use support::apply;

/// `n` orgs in us-east-1, each with five users, a group and a Supervisor role.
pub fn synthetic(n: usize) -> Vec<SeedOrg> {
    (0..n)
        .map(|i| (i, Uuid::new_v4()))
        .map(|(i, id)| SeedOrg {
            id,
            name: format!("Bench Org {i}"),
            region: Region::UsEast1,
            client_id: format!("bench-client-{i}"),
            client_secret: ClientSecret::new(format!("bench-secret-{i}-{}", Uuid::new_v4())),
            users: (0..5)
                .map(|u| SeedMember {
                    id: Uuid::new_v4(),
                    name: format!("User {u}"),
                    email: None,
                })
                .collect(),
            groups: vec![SeedMember {
                id: Uuid::new_v4(),
                name: "Operators".into(),
                email: None,
            }],
            roles: vec![SeedRole {
                id: Uuid::new_v4(),
                name: "Supervisor".into(),
                permissions: vec!["directory:user:view".into()],
            }],
            divisions: default_divisions(id),
            linkable_regions: Region::all().collect(),
        })
        .collect()
}

/// Creates, for each org, namespace `{prefix}-{i}` with the credentials Secret and an
/// Organization named like the namespace, then waits until every one is Ready.
/// Returns the namespaces, in the order of `orgs`.
pub async fn register_orgs(
    client: &kube::Client,
    sim: &SimHandle,
    orgs: &[SeedOrg],
    prefix: &str,
) -> Vec<String> {
    register_orgs_with(client, sim, orgs, prefix, None).await
}

/// [`register_orgs`], every Organization with `resyncInterval: resync` when given.
pub async fn register_orgs_with(
    client: &kube::Client,
    sim: &SimHandle,
    orgs: &[SeedOrg],
    prefix: &str,
    resync: Option<&str>,
) -> Vec<String> {
    let params = PatchParams::apply("bench").force();
    let ns: Vec<String> = (0..orgs.len()).map(|i| format!("{prefix}-{i}")).collect();
    for (org, ns) in orgs.iter().zip(&ns) {
        let mut objects = org_objects(org, ns, &sim.region_url(org.region));
        objects.organization.spec.resync_interval = resync.map(str::to_string);
        Api::<Namespace>::all(client.clone())
            .patch(ns, &params, &Patch::Apply(&objects.namespace))
            .await
            .unwrap();
        let secret_name = objects.secret.metadata.name.clone().unwrap();
        Api::<Secret>::namespaced(client.clone(), ns)
            .patch(&secret_name, &params, &Patch::Apply(&objects.secret))
            .await
            .unwrap();
        apply(client, ns, &objects.organization).await;
    }
    for name in &ns {
        let api: Api<Organization> = Api::namespaced(client.clone(), name);
        support::eventually("Organization Ready", Duration::from_secs(300), || async {
            let s = api.get(name).await.ok()?.status?;
            orglink_operator::api::conditions::is_true(&s.conditions, "Ready").then_some(())
        })
        .await;
    }
    ns
}
