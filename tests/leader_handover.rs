//! Leader handover in the middle of handshakes (issue 15): two replicas of
//! `orglink-operator run --leader-elect`, each its own process, share one Lease while the
//! 20 relationships of tests/crash_anywhere.rs are created, changed and deleted; every few
//! seconds the leader (the Lease's holder) is killed with SIGKILL and started again as a
//! standby. The other replica takes over once the Lease lapses (15 s), so a handover falls
//! anywhere in a handshake. Afterwards the same checks as
//! crash_anywhere: everything converged, at most one link request per org pair, at most
//! one pairing per request in 48 h (plus one per re-create after `PairingUnrecorded`),
//! nothing left of deleted relationships.
//!
//! The seed is printed; `ORGLINK_CRASH_SEED` replays it, `ORGLINK_HANDOVER_KILLS` sets the
//! number of kills (default 6).

mod relationships;
mod support;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relationships::{Operator, check_records, converge, env_u64, setup_with, start_person};
use support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_relationships_converge_across_leader_handovers_without_duplicates() {
    let seed = env_u64("ORGLINK_CRASH_SEED").unwrap_or_else(rand::random);
    let kills = env_u64("ORGLINK_HANDOVER_KILLS").unwrap_or(6) as u32;
    println!("leader_handover: ORGLINK_CRASH_SEED={seed} (set it to replay this run)");
    let dir = tempfile::tempdir().unwrap();
    let lease = format!(
        "orglink-handover-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let mut replicas: Vec<Operator> = ["replica-a", "replica-b"]
        .into_iter()
        .map(|name| {
            let mut op = Operator::new(dir.path());
            op.name = name.into();
            op.args = vec![
                "--leader-elect".into(),
                "--lease-name".into(),
                lease.clone(),
                "--lease-namespace".into(),
                "default".into(),
            ];
            op.start();
            op
        })
        .collect();
    let scenario = setup_with("handover", "2s").await;
    scenario.organizations_ready().await;
    let (stop, person) = start_person(&scenario);
    let leases: kube::api::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::api::Api::namespaced(scenario.client.clone(), "default");

    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    scenario.create_all().await;
    let mut killed: Option<String> = None;
    for kill in 1..=kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1000..6000))).await;
        // A leader other than the one killed last (whose Lease lapses in 15 s).
        let holder = eventually("a new leader", Duration::from_secs(120), || async {
            let holder = leases
                .get_opt(&lease)
                .await
                .ok()
                .flatten()?
                .spec?
                .holder_identity?;
            (Some(&holder) != killed.as_ref()).then_some(holder)
        })
        .await;
        killed = Some(holder.clone());
        let which = replicas
            .iter()
            .position(|r| holder.starts_with(&format!("{}_", r.name)))
            .unwrap_or_else(|| panic!("the Lease holder {holder} is none of the replicas"));
        replicas[which].kill();
        replicas[which].start();
        if kill == kills / 3 {
            scenario.change_some().await;
        }
        if kill == 2 * kills / 3 {
            scenario.delete_some().await;
        }
    }
    let killed_for = started.elapsed();
    let label = format!("leader_handover seed {seed}");
    converge(&scenario, &replicas[0], &label).await;
    stop.cancel();
    let _ = person.await;
    let requests = check_records(&scenario, &label).await;
    let handovers = leases
        .get(&lease)
        .await
        .unwrap()
        .spec
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0);
    let recreated: u32 = scenario
        .plan
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.recreated)
        .sum();
    println!(
        "leader_handover: {kills} replica kills, {handovers} leader handovers (Lease transitions), 20 relationships converged {:.1} s after the last; \
         {} link requests and {} pairings accepted, duplicates 0, orphans 0, stuck finalizers 0; {recreated} re-creates",
        (started.elapsed() - killed_for).as_secs_f64(),
        requests.link_requests.len(),
        requests.pairings.len(),
    );
    for r in &mut replicas {
        r.kill();
    }
}
