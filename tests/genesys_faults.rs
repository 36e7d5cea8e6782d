//! Genesys Cloud misbehaving during the relationships scenario (issue 15): the same 10
//! links and 10 pairings as tests/crash_anywhere.rs, created, changed and deleted while
//! the simulator injects, one after the other:
//! 1. 30 % 5xx, 5 % dropped connections and 300 ms latency on every request;
//! 2. a 429 storm with `Retry-After: 600` (longer than the client waits), until an
//!    Organization says `RateLimited` with the retry time;
//! 3. every token revoked early and the token endpoint refusing (503), until an
//!    Organization says `ApiUnavailable`.
//!
//! Then the faults stop and everything must converge, with no duplicate, nothing left
//! of deleted relationships, and a bounded number of calls: the rate during the faults
//! is compared with the rate of the same operator once settled (no hot loop).

mod relationships;
mod support;

use std::time::{Duration, Instant};

use kube::api::Api;
use orglink_operator::api::Organization;
use orglink_operator::sandbox::genesys_sim::faults::FaultConfig;
use relationships::{Scenario, check_records, converge, setup, start_person};
use support::eventually;

/// Waits until some Organization's `Ready` condition has `reason` and a message
/// containing `needle`; returns that message.
async fn some_organization_says(scenario: &Scenario, reason: &str, needle: &str) -> String {
    eventually(
        &format!("an Organization with reason {reason} naming {needle:?}"),
        Duration::from_secs(120),
        || async {
            for ns in &scenario.ns {
                let api: Api<Organization> = Api::namespaced(scenario.client.clone(), ns);
                let Ok(org) = api.get(ns).await else { continue };
                let found = org
                    .status
                    .iter()
                    .flat_map(|s| s.conditions.iter())
                    .find(|c| {
                        c.type_ == "Ready" && c.reason == reason && c.message.contains(needle)
                    });
                if let Some(c) = found {
                    return Some(c.message.clone());
                }
            }
            None
        },
    )
    .await
}

/// Calls per second the simulator saw since its counters were last reset.
fn rate(scenario: &Scenario, since: Instant) -> (u64, f64) {
    let total = scenario.sim.stats().total;
    (total, total as f64 / since.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_relationships_converge_after_genesys_faults_with_bounded_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (scenario, operator) = setup("faults", "5s", dir.path()).await;
    let (stop, person) = start_person(&scenario);
    let sim = &scenario.sim;
    scenario.create_all().await;

    // 1. Errors, drops and latency while the handshakes run.
    sim.reset_stats();
    let started = Instant::now();
    sim.set_faults(FaultConfig {
        error_rate: 0.3,
        drop_rate: 0.05,
        latency_ms: 300,
        seed: Some(15),
        ..FaultConfig::default()
    })
    .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    scenario.change_some().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let errors = sim.stats();

    // 2. A 429 storm asking for more patience than the client has: status says so.
    sim.set_faults(FaultConfig {
        rate_limit_rate: 1.0,
        retry_after_seconds: Some(600),
        ..FaultConfig::default()
    })
    .unwrap();
    scenario.delete_some().await;
    let limited = some_organization_says(&scenario, "RateLimited", "retry after 600 s").await;

    // 3. Tokens revoked early, and the token endpoint refusing new ones.
    sim.set_faults(FaultConfig {
        error_rate: 1.0,
        error_statuses: vec![503],
        path_prefix: Some("/oauth/token".into()),
        ..FaultConfig::default()
    })
    .unwrap();
    sim.expire_all_tokens();
    let unavailable = some_organization_says(&scenario, "ApiUnavailable", "503").await;
    let (fault_calls, fault_rate) = rate(&scenario, started);
    let faults_for = started.elapsed();
    let during = sim.stats();

    // The faults stop: everything converges.
    sim.clear_faults();
    let label = "genesys_faults";
    converge(&scenario, &operator, label).await;
    let converged_after = started.elapsed() - faults_for;
    stop.cancel();
    let _ = person.await;
    let requests = check_records(&scenario, label).await;

    // The settled rate of the same operator and scenario, for comparison.
    sim.reset_stats();
    let settled_from = Instant::now();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (_, settled_rate) = rate(&scenario, settled_from);
    let per_relationship_minute = fault_rate * 60.0 / 20.0;
    println!(
        "genesys_faults: {fault_calls} calls in {:.0} s of faults ({fault_rate:.1}/s, {per_relationship_minute:.0} per relationship per minute; \
         settled {settled_rate:.1}/s); injected: {} 5xx, {} dropped, {} 429 ({} 429s in all phases); \
         20 relationships converged {:.1} s after the faults stopped; {} link requests, {} pairings, duplicates 0, orphans 0",
        faults_for.as_secs_f64(),
        errors.injected_errors,
        errors.dropped_connections,
        during.rate_limited,
        during.rate_limited,
        converged_after.as_secs_f64(),
        requests.link_requests.len(),
        requests.pairings.len(),
    );
    println!("genesys_faults: status during the storm: {limited}");
    println!("genesys_faults: status with no tokens: {unavailable}");
    // No hot loop: failing calls back off, so the operator calls Genesys Cloud no
    // faster while it fails than 5 times its settled rate (retries included: up to 5
    // attempts per failed call), plus a floor for the handshakes themselves.
    assert!(
        fault_rate <= 5.0 * settled_rate + 10.0,
        "{fault_rate:.1} calls/s during the faults against {settled_rate:.1}/s settled: a hot loop"
    );
}
