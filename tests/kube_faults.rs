//! Kubernetes misbehaving under the operator (issue 15): the 10 links and 10 pairings of
//! tests/crash_anywhere.rs, created, changed and deleted by the operator as its own
//! process (`orglink-operator run`), while
//! 1. its API server is slow, cuts its watches mid-stream, answers resumed watches with
//!    `410 Gone` (as an `ERROR` event and as an HTTP 410) and status writes with
//!    `409 Conflict`: the operator's kubeconfig points at the sandbox's fault proxy
//!    (`src/sandbox/api_faults.rs`) in front of the API server; then the faults stop;
//! 2. its API server is stopped and started again (same port, same etcd) three times in
//!    the middle of the handshakes; the operator keeps running.
//!
//! Afterwards, as in crash_anywhere: every object where its manifest asks, deleted ones
//! gone (no finalizer stuck), at most one link request per org pair and one pairing per
//! request in 48 h (plus one per re-create after `PairingUnrecorded`), nothing left in
//! Genesys Cloud of deleted relationships, and the operator's calls to Genesys Cloud
//! bounded (no hot loop). The test itself talks to the API server directly, so what it
//! checks is what is stored.
//!
//! The seed of the fault proxy and of the timings is printed; `ORGLINK_CRASH_SEED`
//! replays it.

mod relationships;
mod support;

use std::time::{Duration, Instant};

use orglink_operator::sandbox::api_faults::{ApiFaults, FaultProxy};
use orglink_operator::sandbox::{ControlPlane, ControlPlaneOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relationships::{Operator, Scenario, check_records, converge, env_u64, start_person};

/// The two tests each run 20 relationships and an operator: one at a time on a small
/// machine (the second has a control plane of its own, too).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Calls to Genesys Cloud per second since the simulator's counters were reset at `since`.
fn rate(scenario: &Scenario, since: Instant) -> (u64, f64) {
    let total = scenario.sim.stats().total;
    (total, total as f64 / since.elapsed().as_secs_f64())
}

/// The settled call rate of the same operator and scenario, measured for 15 s.
async fn settled_rate(scenario: &Scenario) -> f64 {
    scenario.sim.reset_stats();
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(15)).await;
    rate(scenario, from).1
}

fn recreated(scenario: &Scenario) -> u32 {
    scenario
        .plan
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.recreated)
        .sum()
}

/// No hot loop: the operator calls Genesys Cloud no faster while Kubernetes misbehaves
/// than 5 times its settled rate, plus a floor for the handshakes themselves (the bound
/// of tests/genesys_faults.rs).
fn assert_bounded(label: &str, during: f64, settled: f64) {
    assert!(
        during <= 5.0 * settled + 10.0,
        "{label}: {during:.1} Genesys calls/s during the faults against {settled:.1}/s settled: a hot loop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_relationships_converge_through_watch_cuts_410s_409s_and_a_slow_api_server() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seed = env_u64("ORGLINK_CRASH_SEED").unwrap_or_else(rand::random);
    println!("kube_faults: ORGLINK_CRASH_SEED={seed} (set it to replay this run)");
    let cp = support::control_plane();
    let faults = ApiFaults {
        latency: Some((Duration::from_millis(20), Duration::from_millis(200))),
        cut_watches_after: Some((Duration::from_secs(1), Duration::from_secs(6))),
        gone_rate: 0.3,
        conflict_rate: 0.2,
    };
    let proxy = FaultProxy::start(cp.client().await.unwrap(), faults, seed)
        .await
        .expect("starting the fault proxy");
    let dir = tempfile::tempdir().unwrap();
    let mut operator = Operator::with_kubeconfig(
        dir.path(),
        &cp.kubeconfig_yaml_via(&proxy.url(), proxy.ca_cert_pem()),
    );
    operator.start();
    let scenario = relationships::setup_with("kfaults", "2s").await;
    scenario.organizations_ready().await;
    let (stop, person) = start_person(&scenario);

    let mut rng = StdRng::seed_from_u64(seed);
    scenario.sim.reset_stats();
    let started = Instant::now();
    scenario.create_all().await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(8000..15000))).await;
    scenario.change_some().await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(8000..15000))).await;
    scenario.delete_some().await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(8000..15000))).await;
    let (fault_calls, fault_rate) = rate(&scenario, started);
    let faults_for = started.elapsed();
    let injected = proxy.counts();

    // The faults stop: everything converges.
    proxy.set_faults(ApiFaults::default());
    let label = format!("kube_faults seed {seed}");
    converge(&scenario, &operator, &label).await;
    let converged_after = started.elapsed() - faults_for;
    stop.cancel();
    let _ = person.await;
    let requests = check_records(&scenario, &label).await;
    let settled = settled_rate(&scenario).await;
    let recreated = recreated(&scenario);
    println!(
        "kube_faults: {:.0} s of faults through the proxy: {} API requests, {} delayed 20-200 ms, {} watches cut mid-stream, \
         {} watches answered 410 as an ERROR event and {} as HTTP 410, {} status writes answered 409; \
         20 relationships converged {:.1} s after the faults stopped; {} link requests and {} pairings accepted, \
         duplicates 0, orphans 0, stuck finalizers 0; {recreated} re-creates after PairingUnrecorded; \
         Genesys calls during the faults {fault_calls} ({fault_rate:.1}/s, {:.0} per relationship), settled {settled:.1}/s",
        faults_for.as_secs_f64(),
        injected.requests,
        injected.delayed,
        injected.watches_cut,
        injected.gone_events,
        injected.gone_responses,
        injected.conflicts,
        converged_after.as_secs_f64(),
        requests.link_requests.len(),
        requests.pairings.len(),
        fault_calls as f64 / 20.0,
    );
    assert!(
        injected.delayed > 0
            && injected.watches_cut > 0
            && injected.gone_events > 0
            && injected.gone_responses > 0
            && injected.conflicts > 0,
        "{label}: every kind of fault must have been injected: {injected:?}"
    );
    assert_bounded(&label, fault_rate, settled);
    operator.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_relationships_converge_across_api_server_restarts() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seed = env_u64("ORGLINK_CRASH_SEED").unwrap_or_else(rand::random);
    let restarts = env_u64("ORGLINK_APISERVER_RESTARTS").unwrap_or(3) as u32;
    println!("kube_faults restart: ORGLINK_CRASH_SEED={seed} (set it to replay this run)");
    // A control plane of its own, to restart (the binary's shared one stays up).
    let mut cp = ControlPlane::start(ControlPlaneOptions {
        controller_manager: false,
        ..ControlPlaneOptions::default()
    })
    .await
    .expect("starting a control plane");
    let client = cp.client().await.unwrap();
    orglink_operator::sandbox::crds::install_crds(client.clone(), Duration::from_secs(60))
        .await
        .expect("installing the CRDs");
    let dir = tempfile::tempdir().unwrap();
    let mut operator = Operator::with_kubeconfig(dir.path(), &cp.kubeconfig_yaml());
    operator.start();
    let scenario = relationships::setup_on(client, "restart", "2s").await;
    scenario.organizations_ready().await;
    let (stop, person) = start_person(&scenario);

    let mut rng = StdRng::seed_from_u64(seed);
    scenario.sim.reset_stats();
    let started = Instant::now();
    scenario.create_all().await;
    let mut away = Vec::new();
    for restart in 1..=restarts {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1000..6000))).await;
        {
            // The person (this test) waits too: its writes would fail meanwhile.
            let _person = scenario.person.lock().await;
            let took = cp
                .restart_apiserver(Duration::from_secs(120))
                .await
                .unwrap_or_else(|e| panic!("restarting kube-apiserver: {e}"));
            away.push(took);
        }
        if restart == restarts.div_ceil(3) {
            scenario.change_some().await;
        }
        if restart == (2 * restarts).div_ceil(3) {
            scenario.delete_some().await;
        }
    }
    let (fault_calls, fault_rate) = rate(&scenario, started);
    let faults_for = started.elapsed();
    let label = format!("kube_faults restart seed {seed}");
    converge(&scenario, &operator, &label).await;
    let converged_after = started.elapsed() - faults_for;
    stop.cancel();
    let _ = person.await;
    let requests = check_records(&scenario, &label).await;
    assert!(
        operator
            .process
            .as_mut()
            .is_some_and(|p| p.exited().is_none())
            && operator.starts == 1,
        "{label}: the operator must have kept running across the restarts:\n{}",
        operator.log_tail()
    );
    let settled = settled_rate(&scenario).await;
    let recreated = recreated(&scenario);
    let away: Vec<String> = away
        .iter()
        .map(|d| format!("{:.1} s", d.as_secs_f64()))
        .collect();
    println!(
        "kube_faults restart: kube-apiserver restarted {restarts} times under the running operator (away {}); \
         20 relationships converged {:.1} s after the last restart; {} link requests and {} pairings accepted, \
         duplicates 0, orphans 0, stuck finalizers 0; {recreated} re-creates after PairingUnrecorded; \
         Genesys calls meanwhile {fault_calls} ({fault_rate:.1}/s, {:.0} per relationship), settled {settled:.1}/s",
        away.join(", "),
        converged_after.as_secs_f64(),
        requests.link_requests.len(),
        requests.pairings.len(),
        fault_calls as f64 / 20.0,
    );
    assert_bounded(&label, fault_rate, settled);
    operator.kill();
}
