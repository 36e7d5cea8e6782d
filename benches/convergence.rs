//! Convergence on the sandbox: N simulated orgs in a ring, each linked by voice to the
//! next and paired (trustee → trustor) with it, all through the real API server, the
//! operator (with its webhook) and the simulated Genesys Cloud. Reports the time from
//! the first apply to every OrgLink Linked and every OrgPairing Authorized on both
//! sides, the Genesys API calls per converged relationship, and 429s received.
//!
//! `cargo bench --bench convergence` (ORGLINK_BENCH_ORGS, default 10). Needs the kube
//! assets (`make kube-assets`).

#[path = "fixture.rs"]
mod fixture;
#[path = "report.rs"]
mod report;

use std::time::{Duration, Instant};

use fixture::{apply, register_orgs, support, synthetic};
use kube::api::Api;
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, OrgLinkSpec, OrgPairing, OrgPairingPhase, OrgPairingSpec,
    PairingGrant, PairingRequest, PeerRef,
};
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig};
use report::{env_num, report};
use serde_json::json;
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let n = env_num("ORGLINK_BENCH_ORGS", 10) as usize;
    let client = support::client().await;
    support::operator();
    let orgs = synthetic(n);
    let sim = GenesysSim::start(SimConfig::new(orgs.clone()))
        .await
        .unwrap();
    let run = &Uuid::new_v4().simple().to_string()[..6];
    let ns = register_orgs(&client, &sim, &orgs, &format!("bench-{run}")).await;
    sim.reset_stats();

    let started = Instant::now();
    let peer = |j: usize| PeerRef {
        organization_id: orgs[j].id.to_string(),
        region: orgs[j].region,
    };
    for i in 0..n {
        let j = (i + 1) % n;
        let out = OrgLink::new(
            &format!("to-{j}"),
            OrgLinkSpec {
                organization_ref: ns[i].clone(),
                peer: peer(j),
                decision: LinkDecision::Accept,
                attempt: 0,
            },
        );
        apply(&client, &ns[i], &out).await;
        let back = OrgLink::new(
            &format!("from-{i}"),
            OrgLinkSpec {
                organization_ref: ns[j].clone(),
                peer: peer(i),
                decision: LinkDecision::Accept,
                attempt: 0,
            },
        );
        apply(&client, &ns[j], &back).await;
        let request = OrgPairing::new(
            &format!("into-{j}"),
            OrgPairingSpec {
                organization_ref: ns[i].clone(),
                peer: peer(j),
                request: Some(PairingRequest {
                    users: orgs[i].users.iter().map(|u| u.id.to_string()).collect(),
                    groups: vec![orgs[i].groups[0].id.to_string()],
                }),
                grant: None,
            },
        );
        apply(&client, &ns[i], &request).await;
    }
    // Trustors accept as soon as each pairing ID is known.
    for i in 0..n {
        let j = (i + 1) % n;
        let api: Api<OrgPairing> = Api::namespaced(client.clone(), &ns[i]);
        let name = format!("into-{j}");
        let pairing_id = support::eventually("pairing ID", Duration::from_secs(300), || async {
            api.get(&name).await.ok()?.status?.pairing_id
        })
        .await;
        let grant = OrgPairing::new(
            &format!("for-{i}"),
            OrgPairingSpec {
                organization_ref: ns[j].clone(),
                peer: peer(i),
                request: None,
                grant: Some(PairingGrant {
                    pairing_id: Some(pairing_id),
                    enabled: true,
                    expires_at: None,
                    users: orgs[i]
                        .users
                        .iter()
                        .map(|u| GrantSubject {
                            id: u.id.to_string(),
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
        apply(&client, &ns[j], &grant).await;
    }
    for i in 0..n {
        let j = (i + 1) % n;
        for (namespace, name) in [(&ns[i], format!("to-{j}")), (&ns[j], format!("from-{i}"))] {
            let api: Api<OrgLink> = Api::namespaced(client.clone(), namespace);
            support::eventually("Linked", Duration::from_secs(300), || async {
                (api.get(&name).await.ok()?.status?.phase? == OrgLinkPhase::Linked).then_some(())
            })
            .await;
        }
        for (namespace, name) in [(&ns[i], format!("into-{j}")), (&ns[j], format!("for-{i}"))] {
            let api: Api<OrgPairing> = Api::namespaced(client.clone(), namespace);
            support::eventually("Authorized", Duration::from_secs(300), || async {
                (api.get(&name).await.ok()?.status?.phase? == OrgPairingPhase::Authorized)
                    .then_some(())
            })
            .await;
        }
    }
    let took = started.elapsed();
    let stats = sim.stats();
    let relationships = 2 * n;
    let per = stats.total as f64 / relationships as f64;
    report(
        "convergence",
        &format!(
            "convergence: {n} orgs, {n} links + {n} pairings (both sides) converged in {:.2} s; {} Genesys API calls ({per:.1} per relationship), {} rate-limited",
            took.as_secs_f64(),
            stats.total,
            stats.rate_limited
        ),
        json!({
            "orgs": n, "links": n, "pairings": n,
            "seconds": took.as_secs_f64(),
            "genesys_calls": stats.total,
            "genesys_calls_per_relationship": per,
            "rate_limited": stats.rate_limited,
        }),
    );
}
