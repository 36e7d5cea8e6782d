//! Convergence on the sandbox: simulated orgs linked in reciprocal pairs and paired
//! (trustee → trustor), all through the real API server, the operator (with its
//! webhook) and the simulated Genesys Cloud with its 300 requests/minute per-org limit.
//!
//! Four figures, each against issue 14's target:
//! - economy: Genesys API calls per converged relationship (a reciprocal link pair, or a
//!   pairing's two sides), with the calls per endpoint and the 429s received;
//! - speed: seconds from the first apply until every OrgLink is Linked and every
//!   OrgPairing Authorized on both sides;
//! - handshake: seconds from applying one more reciprocal pair between two orgs until
//!   both sides are Linked (the orgs' resync is minutes, so only wake-ups make it fast);
//! - quiet: once settled, Genesys reads per org per resync interval over a window of
//!   `ORGLINK_BENCH_QUIET` seconds.
//!
//! `cargo bench --bench convergence`. Knobs: `ORGLINK_BENCH_ORGS` (default 200),
//! `ORGLINK_BENCH_LINKS` (OrgLinks, two per reciprocal pair; default 5 per org),
//! `ORGLINK_BENCH_PAIRINGS` (default one per two orgs), `ORGLINK_BENCH_RESYNC` (the
//! Organizations' resyncInterval in seconds, default 300), `ORGLINK_BENCH_QUIET`
//! (seconds, default twice the resync; 0 skips it). Needs the kube assets
//! (`make kube-assets`).

#[path = "fixture.rs"]
mod fixture;
#[path = "report.rs"]
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fixture::{apply, register_orgs_with, support, synthetic};
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, OrgLinkSpec, OrgPairing, OrgPairingPhase, OrgPairingSpec,
    PairingGrant, PairingRequest, PeerRef,
};
use orglink_operator::sandbox::genesys_sim::seed::SeedOrg;
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig, StatsSnapshot};
use report::{env_num, report, verdict};
use serde_json::json;
use uuid::Uuid;

/// Issue 14's targets.
const CALLS_PER_RELATIONSHIP_TARGET: f64 = 4.0;
const CONVERGED_SECONDS_TARGET: f64 = 60.0;
const HANDSHAKE_SECONDS_TARGET: f64 = 2.0;
const QUIET_READS_TARGET: f64 = 3.0;

/// How many objects are applied at once.
const APPLY_CONCURRENCY: usize = 16;

/// `count` distinct unordered pairs of `n` orgs: org i with org i+1, then i+2, ...
fn link_pairs(n: usize, count: usize) -> Vec<(usize, usize)> {
    let mut seen = BTreeSet::new();
    let pairs: Vec<(usize, usize)> = (0..count)
        .map(|k| (k % n, (k % n + 1 + k / n) % n))
        .collect();
    for &(a, b) in &pairs {
        assert!(
            a != b && seen.insert((a.min(b), a.max(b))),
            "ORGLINK_BENCH_LINKS is too many for ORGLINK_BENCH_ORGS: pairs repeat"
        );
    }
    pairs
}

/// `count` (trustee, trustor) pairs: org k requests access to the org half way round.
fn pairing_pairs(n: usize, count: usize) -> Vec<(usize, usize)> {
    assert!(
        count <= n.saturating_mul(n - 1),
        "too many pairings for the orgs"
    );
    (0..count)
        .map(|k| (k % n, (k % n + n / 2 + k / n) % n))
        .collect()
}

fn peer(org: &SeedOrg) -> PeerRef {
    PeerRef {
        organization_id: org.id.to_string(),
        region: org.region,
    }
}

fn link(name: &str, org_ref: &str, to: &SeedOrg) -> OrgLink {
    OrgLink::new(
        name,
        OrgLinkSpec {
            organization_ref: org_ref.to_string(),
            peer: peer(to),
            decision: LinkDecision::Accept,
            attempt: 0,
        },
    )
}

/// Calls per `METHOD /template`, summed over all orgs.
fn by_endpoint(stats: &StatsSnapshot) -> BTreeMap<String, u64> {
    let mut sum = BTreeMap::new();
    for org in stats.orgs.values() {
        for (endpoint, n) in &org.endpoints {
            *sum.entry(endpoint.clone()).or_default() += n;
        }
    }
    sum
}

/// `count endpoint` pairs, most called first.
fn breakdown(endpoints: &BTreeMap<String, u64>) -> String {
    let mut sorted: Vec<_> = endpoints.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    sorted
        .iter()
        .map(|(e, n)| format!("{n} {e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn reads(endpoints: &BTreeMap<String, u64>) -> u64 {
    endpoints
        .iter()
        .filter(|(e, _)| e.starts_with("GET "))
        .map(|(_, n)| n)
        .sum()
}

/// Every item of `api` in a namespace starting with `prefix`, one paged list.
async fn list_in<K>(api: &Api<K>, prefix: &str) -> Vec<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let Ok(page) = api.list(&params).await else {
            return out;
        };
        out.extend(
            page.items
                .into_iter()
                .filter(|o| o.namespace().is_some_and(|ns| ns.starts_with(prefix))),
        );
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return out,
        }
    }
}

#[tokio::main]
async fn main() {
    let n = env_num("ORGLINK_BENCH_ORGS", 200) as usize;
    let links_n = env_num("ORGLINK_BENCH_LINKS", 5 * n as u64) as usize;
    let pairings_n = env_num("ORGLINK_BENCH_PAIRINGS", (n / 2) as u64) as usize;
    let resync = Duration::from_secs(env_num("ORGLINK_BENCH_RESYNC", 300));
    let quiet = Duration::from_secs(env_num("ORGLINK_BENCH_QUIET", 2 * resync.as_secs()));
    let pairs = link_pairs(n, links_n / 2);
    let pairings = pairing_pairs(n, pairings_n);

    let client = support::client().await;
    support::operator();
    let orgs = synthetic(n);
    let sim = GenesysSim::start(SimConfig::new(orgs.clone()))
        .await
        .unwrap();
    let run = &Uuid::new_v4().simple().to_string()[..6];
    let prefix = format!("bench-{run}");
    let resync_text = format!("{}s", resync.as_secs());
    let ns = register_orgs_with(&client, &sim, &orgs, &prefix, Some(&resync_text)).await;
    sim.reset_stats();

    // Everything but the grants, which need the pairing IDs.
    let started = Instant::now();
    let mut links: Vec<(String, OrgLink)> = Vec::new();
    for &(a, b) in &pairs {
        links.push((ns[a].clone(), link(&format!("to-{b}"), &ns[a], &orgs[b])));
        links.push((ns[b].clone(), link(&format!("from-{a}"), &ns[b], &orgs[a])));
    }
    let requests: Vec<(String, OrgPairing)> = pairings
        .iter()
        .map(|&(trustee, trustor)| {
            let request = OrgPairing::new(
                &format!("into-{trustor}"),
                OrgPairingSpec {
                    organization_ref: ns[trustee].clone(),
                    peer: peer(&orgs[trustor]),
                    request: Some(PairingRequest {
                        users: orgs[trustee]
                            .users
                            .iter()
                            .map(|u| u.id.to_string())
                            .collect(),
                        groups: vec![orgs[trustee].groups[0].id.to_string()],
                        ..PairingRequest::default()
                    }),
                    grant: None,
                },
            );
            (ns[trustee].clone(), request)
        })
        .collect();
    let applying =
        futures::stream::iter(&requests).for_each_concurrent(APPLY_CONCURRENCY, |(ns, p)| {
            let client = client.clone();
            async move { apply(&client, ns, p).await }
        });
    applying.await;
    futures::stream::iter(&links)
        .for_each_concurrent(APPLY_CONCURRENCY, |(ns, l)| {
            let client = client.clone();
            async move { apply(&client, ns, l).await }
        })
        .await;
    let applied = started.elapsed();

    // Trustors accept each pairing as soon as its ID is known; meanwhile, count what
    // has converged.
    let all_links: Api<OrgLink> = Api::all(client.clone());
    let all_pairings: Api<OrgPairing> = Api::all(client.clone());
    let by_trustee_ns: BTreeMap<(String, String), (usize, usize)> = pairings
        .iter()
        .map(|&(te, tr)| ((ns[te].clone(), format!("into-{tr}")), (te, tr)))
        .collect();
    let mut granted = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(900);
    let took = loop {
        let listed = list_in(&all_pairings, &prefix).await;
        let mut grants = Vec::new();
        for p in &listed {
            let key = (p.namespace().unwrap_or_default(), p.name_any());
            let (Some(&(te, tr)), Some(id)) = (
                by_trustee_ns.get(&key),
                p.status.as_ref().and_then(|s| s.pairing_id.clone()),
            ) else {
                continue;
            };
            if !granted.insert(key) {
                continue;
            }
            let grant = OrgPairing::new(
                &format!("for-{te}"),
                OrgPairingSpec {
                    organization_ref: ns[tr].clone(),
                    peer: peer(&orgs[te]),
                    request: None,
                    grant: Some(PairingGrant {
                        pairing_id: Some(id),
                        enabled: true,
                        expires_at: None,
                        users: orgs[te]
                            .users
                            .iter()
                            .map(|u| GrantSubject {
                                id: Some(u.id.to_string()),
                                roles: vec![RoleRef {
                                    name: Some("Supervisor".into()),
                                    id: None,
                                    divisions: Vec::new(),
                                }],
                                ..GrantSubject::default()
                            })
                            .collect(),
                        groups: vec![],
                    }),
                },
            );
            grants.push((ns[tr].clone(), grant));
        }
        futures::stream::iter(&grants)
            .for_each_concurrent(APPLY_CONCURRENCY, |(ns, g)| {
                let client = client.clone();
                async move { apply(&client, ns, g).await }
            })
            .await;
        let authorized = listed
            .iter()
            .filter(|p| {
                p.status.as_ref().and_then(|s| s.phase) == Some(OrgPairingPhase::Authorized)
            })
            .count();
        let linked = list_in(&all_links, &prefix)
            .await
            .iter()
            .filter(|l| l.status.as_ref().and_then(|s| s.phase) == Some(OrgLinkPhase::Linked))
            .count();
        if linked == 2 * pairs.len() && authorized == 2 * pairings.len() {
            break started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "not converged after 900 s: {linked} of {} OrgLinks Linked, {authorized} of {} OrgPairings Authorized",
            2 * pairs.len(),
            2 * pairings.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let stats = sim.stats();
    let endpoints = by_endpoint(&stats);
    let relationships = pairs.len() + pairings.len();
    let per = stats.total as f64 / relationships.max(1) as f64;

    // One more reciprocal pair, between two orgs not linked yet.
    let taken: BTreeSet<(usize, usize)> =
        pairs.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
    let fresh = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .find(|p| !taken.contains(p));
    let handshake = match fresh {
        Some((a, b)) => {
            let t0 = Instant::now();
            apply(
                &client,
                &ns[a],
                &link(&format!("hs-to-{b}"), &ns[a], &orgs[b]),
            )
            .await;
            apply(
                &client,
                &ns[b],
                &link(&format!("hs-from-{a}"), &ns[b], &orgs[a]),
            )
            .await;
            let api_a: Api<OrgLink> = Api::namespaced(client.clone(), &ns[a]);
            let api_b: Api<OrgLink> = Api::namespaced(client.clone(), &ns[b]);
            let is_linked =
                |l: Option<OrgLink>| l.and_then(|l| l.status?.phase) == Some(OrgLinkPhase::Linked);
            loop {
                let a_linked = is_linked(api_a.get_opt(&format!("hs-to-{b}")).await.ok().flatten());
                let b_linked =
                    is_linked(api_b.get_opt(&format!("hs-from-{a}")).await.ok().flatten());
                if a_linked && b_linked {
                    break Some(t0.elapsed());
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(300),
                    "handshake not Linked in 300 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        None => None,
    };

    // Settled: what the operator spends while nothing changes.
    let settled = if quiet.is_zero() {
        None
    } else {
        tokio::time::sleep(Duration::from_secs(2)).await;
        sim.reset_stats();
        tokio::time::sleep(quiet).await;
        let s = sim.stats();
        let e = by_endpoint(&s);
        let resyncs = quiet.as_secs_f64() / resync.as_secs_f64();
        let per_org = reads(&e) as f64 / n as f64 / resyncs;
        Some((s, e, per_org))
    };

    let pass_calls = per <= CALLS_PER_RELATIONSHIP_TARGET && stats.rate_limited == 0;
    let pass_speed = took.as_secs_f64() <= CONVERGED_SECONDS_TARGET;
    let pass_handshake = handshake.is_some_and(|h| h.as_secs_f64() <= HANDSHAKE_SECONDS_TARGET);
    let quiet_text = match &settled {
        Some((s, e, per_org)) => format!(
            "settled {}s at resync {}s: {} calls, {per_org:.2} reads per org per resync (target <= {QUIET_READS_TARGET}) {} [{}]",
            quiet.as_secs(),
            resync.as_secs(),
            s.total,
            verdict(*per_org <= QUIET_READS_TARGET),
            breakdown(e)
        ),
        None => "settled window skipped".to_string(),
    };
    report(
        "convergence",
        &format!(
            "bench convergence: {n} orgs, {} OrgLinks ({} reciprocal pairs) + {} pairings (both sides); \
             applied in {:.1} s, converged in {:.1} s (target <= {CONVERGED_SECONDS_TARGET} s) {}; \
             {} Genesys calls, {per:.2} per relationship, {} rate-limited (target <= {CALLS_PER_RELATIONSHIP_TARGET}, 0) {} [{}]; \
             reciprocal local link Linked in {} (target <= {HANDSHAKE_SECONDS_TARGET} s) {}; {quiet_text}",
            2 * pairs.len(),
            pairs.len(),
            pairings.len(),
            applied.as_secs_f64(),
            took.as_secs_f64(),
            verdict(pass_speed),
            stats.total,
            stats.rate_limited,
            verdict(pass_calls),
            breakdown(&endpoints),
            handshake.map_or("-".to_string(), |h| format!("{:.2} s", h.as_secs_f64())),
            verdict(pass_handshake),
        ),
        json!({
            "orgs": n, "orglinks": 2 * pairs.len(), "link_pairs": pairs.len(),
            "pairings": pairings.len(), "relationships": relationships,
            "applied_seconds": applied.as_secs_f64(),
            "seconds": took.as_secs_f64(),
            "genesys_calls": stats.total,
            "genesys_calls_per_relationship": per,
            "rate_limited": stats.rate_limited,
            "calls_by_endpoint": endpoints,
            "handshake_seconds": handshake.map(|h| h.as_secs_f64()),
            "settled": settled.as_ref().map(|(s, e, per_org)| json!({
                "seconds": quiet.as_secs(), "resync_seconds": resync.as_secs(),
                "genesys_calls": s.total, "reads": reads(e),
                "reads_per_org_per_resync": per_org, "calls_by_endpoint": e,
            })),
            "target": {
                "calls_per_relationship": CALLS_PER_RELATIONSHIP_TARGET,
                "seconds": CONVERGED_SECONDS_TARGET,
                "handshake_seconds": HANDSHAKE_SECONDS_TARGET,
                "reads_per_org_per_resync": QUIET_READS_TARGET,
            },
            "pass": {
                "calls": pass_calls, "speed": pass_speed, "handshake": pass_handshake,
                "settled": settled.as_ref().map(|(_, _, p)| *p <= QUIET_READS_TARGET),
            },
        }),
    );
}
