//! `orglink-operator sandbox --demo`: applies `examples/quickstart/` on the sandbox
//! and prints each phase change as it converges. The operator runs in the same
//! process, the objects go through the real API server (and its webhook), and the
//! simulated Genesys Cloud enforces its rules.
//!
//! 1. `link.yaml`: Acme Prod asks Acme DR for a voice link; Acme DR declares the link
//!    too, which is the approval; both reach `Linked`.
//! 2. `decline.yaml`: Initech West asks Acme Prod for a link and Acme Prod declines:
//!    `RejectedByPeer` on one side, `Declined` on the other.
//! 3. `pairing-request.yaml`: MSP Prod (trustee) asks Acme Prod for access for three of
//!    its users and a group; the operator creates the pairing.
//! 4. `pairing-grant.yaml`: Acme Prod (trustor) accepts that pairing ID and assigns its
//!    roles; both sides reach `Authorized`, the trustor side `RolesAssigned`.
//!
//! The manifests are embedded, so the demo is exactly what the examples directory shows
//! and runs from any working directory.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::wait::{Condition as WaitCondition, await_condition};
use serde::de::DeserializeOwned;

use crate::api::conditions::{find, is_true, types};
use crate::api::{OrgLink, OrgPairing, Organization};
use crate::sandbox::genesys_sim::SimHandle;
use crate::sandbox::genesys_sim::cluster::slug;

const MANAGER: &str = "orglink-demo";
const TIMEOUT: Duration = Duration::from_secs(120);
/// What the trustor's grant carries until the trustee's pairing ID is known.
const PAIRING_PLACEHOLDER: &str = "replace-with-the-pairing-id";

const LINK: &str = include_str!("../../examples/quickstart/link.yaml");
const DECLINE: &str = include_str!("../../examples/quickstart/decline.yaml");
const PAIRING_REQUEST: &str = include_str!("../../examples/quickstart/pairing-request.yaml");
const PAIRING_GRANT: &str = include_str!("../../examples/quickstart/pairing-grant.yaml");

/// The seeded orgs the quickstart manifests name, by name.
const ORGS: [&str; 4] = ["Acme Prod", "Acme DR", "MSP Prod", "Initech West"];

pub(crate) async fn run(client: kube::Client, sim: &SimHandle) -> anyhow::Result<()> {
    let started = Instant::now();
    for name in ORGS {
        let seed = sim.org_by_name(name).ok_or_else(|| {
            anyhow!(
                "the seed has no org named {name:?}; the demo applies examples/quickstart/, \
                 which names the orgs of the default seed (examples/sandbox/genesys-orgs.yaml)"
            )
        })?;
        wait_org_ready(&client, &slug(&seed.name), seed.region.code()).await?;
    }

    println!("\n== 1. Voice organization link: Acme Prod -> Acme DR (quickstart/link.yaml)");
    let [to_dr, from_prod] = apply_all::<OrgLink, 2>(&client, LINK).await?;
    wait_link(&client, &to_dr, "Linked").await?;
    wait_link(&client, &from_prod, "Linked").await?;

    println!("\n== 2. A declined link: Initech West -> Acme Prod (quickstart/decline.yaml)");
    let [to_prod, from_initech] = apply_all::<OrgLink, 2>(&client, DECLINE).await?;
    wait_link(&client, &to_prod, "RejectedByPeer").await?;
    wait_link(&client, &from_initech, "Declined").await?;

    println!(
        "\n== 3. Authorized organization: MSP Prod users into Acme Prod (quickstart/pairing-request.yaml)"
    );
    let [request] = apply_all::<OrgPairing, 1>(&client, PAIRING_REQUEST).await?;
    let pairing_id = wait_pairing_id(&client, &request).await?;
    println!("  pairing {pairing_id} created; Acme Prod grants it its roles");

    println!("\n== 4. Acme Prod accepts the pairing (quickstart/pairing-grant.yaml)");
    let grant_yaml = PAIRING_GRANT.replace(PAIRING_PLACEHOLDER, &pairing_id);
    let [grant] = apply_all::<OrgPairing, 1>(&client, &grant_yaml).await?;
    wait_pairing(&client, &grant, "Authorized").await?;
    wait_pairing(&client, &request, "Authorized").await?;
    wait_condition::<OrgPairing>(&client, &grant, types::ROLES_ASSIGNED).await?;

    println!("\n{}", table(&client).await?);
    println!(
        "Demo complete in {:.1} s: link Linked on both sides, the declined link refused, \
         the pairing Authorized with roles assigned.",
        started.elapsed().as_secs_f64()
    );
    println!(
        "Run `orglink-operator sandbox --with-organizations` (without --demo) to keep a sandbox up and try kubectl yourself."
    );
    Ok(())
}

/// Namespace and name of an applied object.
#[derive(Clone, Debug)]
struct Key {
    ns: String,
    name: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.ns, self.name)
    }
}

/// Server-side applies each document of `yaml` (all of kind `K`, each with its
/// namespace) and returns their keys, in order.
async fn apply_all<K, const N: usize>(client: &kube::Client, yaml: &str) -> anyhow::Result<[Key; N]>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + DeserializeOwned
        + std::fmt::Debug,
{
    let mut keys = Vec::with_capacity(N);
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let obj: K = serde::Deserialize::deserialize(document)
            .with_context(|| format!("a quickstart document is not a valid {}", K::kind(&())))?;
        let key = Key {
            ns: obj
                .namespace()
                .ok_or_else(|| anyhow!("{} {} has no namespace", K::kind(&()), obj.name_any()))?,
            name: obj.name_any(),
        };
        Api::<K>::namespaced(client.clone(), &key.ns)
            .patch(
                &key.name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
            .with_context(|| format!("applying {} {key}", K::kind(&())))?;
        println!("applied {} {key}", K::kind(&()));
        keys.push(key);
    }
    keys.try_into()
        .map_err(|keys: Vec<Key>| anyhow!("expected {N} documents, found {}", keys.len()))
}

/// Waits until `cond` holds for object `name` of `api`, for at most [`TIMEOUT`]. The
/// object is watched (`await_condition`), not polled; the error names the object and
/// the awaited condition (`what`).
async fn await_object<K>(
    api: Api<K>,
    name: &str,
    what: &str,
    cond: impl WaitCondition<K>,
) -> anyhow::Result<K>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    match tokio::time::timeout(TIMEOUT, await_condition(api, name, cond)).await {
        Err(_) => bail!("timed out after {TIMEOUT:?} waiting for {what}"),
        Ok(watched) => watched
            .with_context(|| format!("watching for {what}"))?
            .ok_or_else(|| anyhow!("{what}: the object was deleted")),
    }
}

async fn wait_org_ready(client: &kube::Client, ns: &str, region: &str) -> anyhow::Result<()> {
    let api: Api<Organization> = Api::namespaced(client.clone(), ns);
    let ready = |o: Option<&Organization>| {
        o.and_then(|o| o.status.as_ref())
            .is_some_and(|s| is_true(&s.conditions, types::READY))
    };
    await_object(
        api,
        ns,
        &format!("Organization {ns}/{ns} to be Ready"),
        ready,
    )
    .await?;
    println!("Organization {ns}/{ns} Ready ({region})");
    Ok(())
}

/// What the demo prints of an object: its phase and the message of one condition.
trait Phased: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
where
    Self: Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    const CONDITION: &'static str;
    fn phase(&self) -> Option<String>;
    fn conditions(&self) -> &[Condition];
}

impl Phased for OrgLink {
    const CONDITION: &'static str = types::LINKED;
    fn phase(&self) -> Option<String> {
        self.status.as_ref()?.phase.map(|p| p.as_str().to_string())
    }
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

impl Phased for OrgPairing {
    const CONDITION: &'static str = types::AUTHORIZED;
    fn phase(&self) -> Option<String> {
        self.status.as_ref()?.phase.map(|p| p.as_str().to_string())
    }
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

/// Waits for `key` to reach `phase`, printing every phase it passes through.
async fn wait_phase<K: Phased>(
    client: &kube::Client,
    key: &Key,
    phase: &str,
) -> anyhow::Result<()> {
    let api: Api<K> = Api::namespaced(client.clone(), &key.ns);
    let kind = K::kind(&());
    let what = format!("{kind} {key} to reach {phase}");
    // The phase printed last: the condition sees every change the watch delivers.
    let last = std::sync::Mutex::new(String::new());
    let reached = move |obj: Option<&K>| {
        let Some(obj) = obj else { return false };
        let now = obj.phase().unwrap_or_default();
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !now.is_empty() && now != *last {
            let message = find(obj.conditions(), K::CONDITION)
                .map(|c| c.message.clone())
                .unwrap_or_default();
            println!("  {kind} {key}: {now} ({message})");
            *last = now.clone();
        }
        now == phase
    };
    await_object(api, &key.name, &what, reached).await?;
    Ok(())
}

async fn wait_link(client: &kube::Client, key: &Key, phase: &str) -> anyhow::Result<()> {
    wait_phase::<OrgLink>(client, key, phase).await
}

async fn wait_pairing(client: &kube::Client, key: &Key, phase: &str) -> anyhow::Result<()> {
    wait_phase::<OrgPairing>(client, key, phase).await
}

/// Waits for condition `ty` of `key` to be True, and prints its message.
async fn wait_condition<K: Phased>(
    client: &kube::Client,
    key: &Key,
    ty: &str,
) -> anyhow::Result<()> {
    let api: Api<K> = Api::namespaced(client.clone(), &key.ns);
    let true_of = |o: &K| {
        find(o.conditions(), ty)
            .filter(|c| c.status == "True")
            .cloned()
    };
    let what = format!("{} {key} {ty}=True", K::kind(&()));
    let obj = await_object(api, &key.name, &what, |o: Option<&K>| {
        o.and_then(true_of).is_some()
    })
    .await?;
    let message = true_of(&obj).map(|c| c.message).unwrap_or_default();
    println!("  {} {key}: {ty} ({message})", K::kind(&()));
    Ok(())
}

async fn wait_pairing_id(client: &kube::Client, key: &Key) -> anyhow::Result<String> {
    let api: Api<OrgPairing> = Api::namespaced(client.clone(), &key.ns);
    let id_of = |p: &OrgPairing| p.status.as_ref().and_then(|s| s.pairing_id.clone());
    let what = format!("OrgPairing {key} to get a pairing ID");
    let obj = await_object(api, &key.name, &what, |p: Option<&OrgPairing>| {
        p.and_then(id_of).is_some()
    })
    .await?;
    id_of(&obj).ok_or_else(|| anyhow!("{what}: no pairing ID"))
}

/// The final state, as `kubectl get olink,opair -A` would show it.
async fn table(client: &kube::Client) -> anyhow::Result<String> {
    let mut rows = vec![[
        "NAMESPACE".to_string(),
        "KIND".into(),
        "NAME".into(),
        "ORGANIZATION".into(),
        "PEER".into(),
        "PHASE".into(),
        "READY".into(),
    ]];
    let ready = |conditions: &[Condition]| {
        find(conditions, types::READY).map_or("Unknown".to_string(), |c| c.status.clone())
    };
    for l in Api::<OrgLink>::all(client.clone())
        .list(&ListParams::default())
        .await?
    {
        rows.push([
            l.namespace().unwrap_or_default(),
            "OrgLink".into(),
            l.name_any(),
            l.spec.organization_ref.clone(),
            l.spec.peer.organization_id.clone(),
            l.phase().unwrap_or_default(),
            ready(l.conditions()),
        ]);
    }
    for p in Api::<OrgPairing>::all(client.clone())
        .list(&ListParams::default())
        .await?
    {
        rows.push([
            p.namespace().unwrap_or_default(),
            "OrgPairing".into(),
            p.name_any(),
            p.spec.organization_ref.clone(),
            p.spec.peer.organization_id.clone(),
            p.phase().unwrap_or_default(),
            ready(p.conditions()),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    Ok(rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("   ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents<K: DeserializeOwned>(yaml: &str) -> Vec<K> {
        serde_yaml::Deserializer::from_str(yaml)
            .map(|d| K::deserialize(d).unwrap())
            .collect()
    }

    #[test]
    fn the_quickstart_manifests_are_what_the_demo_expects() {
        let links: Vec<OrgLink> = documents(LINK);
        assert_eq!(links.len(), 2);
        let declines: Vec<OrgLink> = documents(DECLINE);
        assert_eq!(declines.len(), 2);
        assert_eq!(declines[1].spec.decision, crate::api::LinkDecision::Decline);
        let request: Vec<OrgPairing> = documents(PAIRING_REQUEST);
        assert!(request[0].spec.request.is_some());
        assert!(PAIRING_GRANT.contains(PAIRING_PLACEHOLDER));
        let grant: Vec<OrgPairing> = documents(PAIRING_GRANT);
        assert!(grant[0].spec.grant.is_some());
        // Every object lives in the namespace of the Organization it names, which is
        // where `--with-organizations` creates each seeded org.
        for l in links.iter().chain(&declines) {
            assert_eq!(
                l.namespace().as_deref(),
                Some(l.spec.organization_ref.as_str())
            );
        }
        for p in request.iter().chain(&grant) {
            assert_eq!(
                p.namespace().as_deref(),
                Some(p.spec.organization_ref.as_str())
            );
        }
    }
}
