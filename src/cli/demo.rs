//! `orglink-operator sandbox --demo`: the scripted handshake on the sandbox, printed
//! as it converges. The operator runs in the same process, the objects are applied
//! through the real API server, and the simulated Genesys Cloud enforces its rules.
//!
//! 1. Acme Prod asks Acme DR for a voice link; Acme DR declares the link too, which is
//!    the approval; both reach `Linked`.
//! 2. MSP Prod (trustee) asks for access to Acme Prod for three of its users; Acme Prod
//!    (trustor) accepts the pairing and gives them the Supervisor role; both sides
//!    reach `Authorized`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use kube::ResourceExt;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};

use crate::api::conditions::{find, is_true, types};
use crate::api::orgpairing::{GrantSubject, RoleRef};
use crate::api::{
    LinkDecision, OrgLink, OrgLinkSpec, OrgPairing, OrgPairingSpec, Organization, PairingGrant,
    PairingRequest, PeerRef,
};
use crate::sandbox::genesys_sim::SimHandle;
use crate::sandbox::genesys_sim::cluster::slug;
use crate::sandbox::genesys_sim::seed::SeedOrg;

const MANAGER: &str = "orglink-demo";
const TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run(client: kube::Client, sim: &SimHandle) -> anyhow::Result<()> {
    let started = Instant::now();
    let org = |name: &str| -> anyhow::Result<SeedOrg> {
        sim.org_by_name(name).cloned().ok_or_else(|| {
            anyhow!("the seed has no org named {name:?}; the demo needs the default seed")
        })
    };
    let (prod, dr, msp) = (org("Acme Prod")?, org("Acme DR")?, org("MSP Prod")?);
    for seed in [&prod, &dr, &msp] {
        wait_org_ready(&client, seed).await?;
    }

    println!("\n== Voice organization link: {} -> {}", prod.name, dr.name);
    let request = link_object("to-acme-dr", &slug(&prod.name), &dr);
    apply(&client, &slug(&prod.name), &request).await?;
    println!(
        "applied OrgLink {}/to-acme-dr (decision Accept)",
        slug(&prod.name)
    );
    wait_link(
        &client,
        &slug(&prod.name),
        "to-acme-dr",
        "WaitingForConfirmation",
    )
    .await?;
    let approval = link_object("from-acme-prod", &slug(&dr.name), &prod);
    apply(&client, &slug(&dr.name), &approval).await?;
    println!(
        "applied OrgLink {}/from-acme-prod: declaring the link is the approval",
        slug(&dr.name)
    );
    wait_link(&client, &slug(&dr.name), "from-acme-prod", "Linked").await?;
    wait_link(&client, &slug(&prod.name), "to-acme-dr", "Linked").await?;

    println!(
        "\n== Authorized organization: {} users into {}",
        msp.name, prod.name
    );
    let users: Vec<String> = msp.users.iter().take(3).map(|u| u.id.to_string()).collect();
    let trustee = OrgPairing::new(
        "support-into-acme",
        OrgPairingSpec {
            organization_ref: slug(&msp.name),
            peer: PeerRef {
                organization_id: prod.id.to_string(),
                region: prod.region,
            },
            request: Some(PairingRequest {
                users: users.clone(),
                groups: vec![],
            }),
            grant: None,
        },
    );
    apply(&client, &slug(&msp.name), &trustee).await?;
    println!(
        "applied OrgPairing {}/support-into-acme (request: {} users)",
        slug(&msp.name),
        users.len()
    );
    let pairing_id = wait_pairing_id(&client, &slug(&msp.name), "support-into-acme").await?;
    println!("  pairing {pairing_id} created; Acme Prod grants it the Supervisor role");
    let trustor = OrgPairing::new(
        "msp-support",
        OrgPairingSpec {
            organization_ref: slug(&prod.name),
            peer: PeerRef {
                organization_id: msp.id.to_string(),
                region: msp.region,
            },
            request: None,
            grant: Some(PairingGrant {
                pairing_id,
                enabled: true,
                expires_at: None,
                users: users
                    .iter()
                    .map(|id| GrantSubject {
                        id: id.clone(),
                        roles: vec![RoleRef {
                            name: Some("Supervisor".into()),
                            id: None,
                        }],
                    })
                    .collect(),
                groups: vec![],
            }),
        },
    );
    apply(&client, &slug(&prod.name), &trustor).await?;
    println!(
        "applied OrgPairing {}/msp-support (grant)",
        slug(&prod.name)
    );
    wait_pairing(&client, &slug(&prod.name), "msp-support", "Authorized").await?;
    wait_pairing(&client, &slug(&msp.name), "support-into-acme", "Authorized").await?;

    println!(
        "\nDemo complete in {:.1} s: link Linked on both sides, pairing Authorized with roles assigned.",
        started.elapsed().as_secs_f64()
    );
    println!(
        "Run `orglink-operator sandbox` (without --demo) to keep a sandbox up and try kubectl yourself."
    );
    Ok(())
}

fn link_object(name: &str, org_ref: &str, peer: &SeedOrg) -> OrgLink {
    OrgLink::new(
        name,
        OrgLinkSpec {
            organization_ref: org_ref.to_string(),
            peer: PeerRef {
                organization_id: peer.id.to_string(),
                region: peer.region,
            },
            decision: LinkDecision::Accept,
            attempt: 0,
        },
    )
}

async fn apply<K>(client: &kube::Client, namespace: &str, obj: &K) -> anyhow::Result<()>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut obj = obj.clone();
    *obj.meta_mut() = ObjectMeta {
        name: obj.meta().name.clone(),
        namespace: Some(namespace.to_string()),
        ..Default::default()
    };
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.patch(
        &obj.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&obj),
    )
    .await
    .with_context(|| format!("applying {} {namespace}/{}", K::kind(&()), obj.name_any()))?;
    Ok(())
}

async fn poll<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(anyhow!("timed out after {TIMEOUT:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_org_ready(client: &kube::Client, seed: &SeedOrg) -> anyhow::Result<()> {
    let ns = slug(&seed.name);
    let api: Api<Organization> = Api::namespaced(client.clone(), &ns);
    poll(&format!("Organization {ns}/{ns} to be Ready"), || async {
        let org = api.get_opt(&ns).await?;
        let conditions = org
            .and_then(|o| o.status)
            .map(|s| s.conditions)
            .unwrap_or_default();
        Ok(is_true(&conditions, types::READY).then_some(()))
    })
    .await?;
    println!(
        "Organization {ns}/{ns} Ready ({} in {})",
        seed.name, seed.region
    );
    Ok(())
}

async fn wait_link(client: &kube::Client, ns: &str, name: &str, phase: &str) -> anyhow::Result<()> {
    let api: Api<OrgLink> = Api::namespaced(client.clone(), ns);
    let mut last = String::new();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let status = api
            .get_opt(name)
            .await?
            .and_then(|l| l.status)
            .unwrap_or_default();
        let now = status.phase.map(|p| format!("{p:?}")).unwrap_or_default();
        if !now.is_empty() && now != last {
            let message = find(&status.conditions, types::LINKED)
                .map(|c| c.message.clone())
                .unwrap_or_default();
            println!("  OrgLink {ns}/{name}: {now} ({message})");
            last = now.clone();
        }
        if now == phase {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(anyhow!(
                "timed out after {TIMEOUT:?} waiting for OrgLink {ns}/{name} to reach {phase}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_pairing_id(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<String> {
    let api: Api<OrgPairing> = Api::namespaced(client.clone(), ns);
    poll(
        &format!("OrgPairing {ns}/{name} to get a pairing ID"),
        || async {
            Ok(api
                .get_opt(name)
                .await?
                .and_then(|p| p.status)
                .and_then(|s| s.pairing_id))
        },
    )
    .await
}

async fn wait_pairing(
    client: &kube::Client,
    ns: &str,
    name: &str,
    phase: &str,
) -> anyhow::Result<()> {
    let api: Api<OrgPairing> = Api::namespaced(client.clone(), ns);
    let mut last = String::new();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let status = api
            .get_opt(name)
            .await?
            .and_then(|p| p.status)
            .unwrap_or_default();
        let now = status.phase.map(|p| format!("{p:?}")).unwrap_or_default();
        if !now.is_empty() && now != last {
            let message = find(&status.conditions, types::AUTHORIZED)
                .map(|c| c.message.clone())
                .unwrap_or_default();
            println!("  OrgPairing {ns}/{name}: {now} ({message})");
            last = now.clone();
        }
        if now == phase {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(anyhow!(
                "timed out after {TIMEOUT:?} waiting for OrgPairing {ns}/{name} to reach {phase}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
