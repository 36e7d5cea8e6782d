//! Crash anywhere (issue 15): the operator, as its own process (`orglink-operator run`,
//! as a Deployment runs it), is killed with SIGKILL at random moments and restarted
//! while 20 relationships (10 voice links and 10 pairings, both sides of each managed
//! here) are created, changed and deleted. Afterwards:
//! - every object reaches what its manifest asks (and no deleted object is left behind:
//!   no finalizer stuck);
//! - the simulator accepted at most one link request per org pair and `attempt`, and at
//!   most one pairing per request in 48 h (plus one per time this test followed a
//!   `PairingUnrecorded` message and re-created the OrgPairing, which is what a person
//!   would do; the count is printed);
//! - a deleted relationship left nothing behind in Genesys Cloud (no trust, no pending or
//!   approved link).
//!
//! The kill times are random from a seed, printed at the start; `ORGLINK_CRASH_SEED=<n>`
//! replays a run. `ORGLINK_CRASH_KILLS` sets the number of kills (default 50). The soak,
//! `ORGLINK_SOAK_MINUTES=30`, repeats the scenario with fresh orgs for that long.
//!
//! The scenario's moves (changes, deletions, handing pairing IDs to the trustor) are
//! made by the test as a person would, whenever the operator's status allows, so they
//! interleave with the kills differently in every run.

mod relationships;
mod support;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relationships::{Operator, check_records, converge, env_u64, setup, start_person};

/// The figures of one run.
#[derive(Debug, Default)]
struct Figures {
    kills: u32,
    link_requests: usize,
    pairings_made: usize,
    recreated: u32,
    converged_after: Duration,
}

async fn run_once(seed: u64, kills: u32, round: u32) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let (scenario, mut operator): (_, Operator) =
        setup(&format!("crash-r{round}"), "2s", dir.path()).await;
    let (stop, person) = start_person(&scenario);

    let mut rng = StdRng::seed_from_u64(seed ^ u64::from(round));
    let started = Instant::now();
    scenario.create_all().await;
    for kill in 1..=kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..2500))).await;
        operator.kill();
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
        operator.start();
        if kill == kills / 3 {
            scenario.change_some().await;
        }
        if kill == 2 * kills / 3 {
            scenario.delete_some().await;
        }
    }
    let killed_for = started.elapsed();
    let label = format!("seed {seed} round {round}");
    converge(&scenario, &operator, &label).await;
    stop.cancel();
    let _ = person.await;
    let converged_after = started.elapsed() - killed_for;
    let requests = check_records(&scenario, &label).await;
    operator.kill();
    let recreated = scenario
        .plan
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.recreated)
        .sum();
    Figures {
        kills,
        link_requests: requests.link_requests.len(),
        pairings_made: requests.pairings.len(),
        recreated,
        converged_after,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_relationships_converge_with_the_operator_killed_anywhere() {
    let seed = env_u64("ORGLINK_CRASH_SEED").unwrap_or_else(rand::random);
    let kills = env_u64("ORGLINK_CRASH_KILLS").unwrap_or(50) as u32;
    let soak = env_u64("ORGLINK_SOAK_MINUTES").map(|m| Duration::from_secs(m * 60));
    println!("crash_anywhere: ORGLINK_CRASH_SEED={seed} (set it to replay this run)");
    let started = Instant::now();
    let mut round = 0;
    let (mut all_kills, mut all_recreated) = (0, 0);
    loop {
        let f = run_once(seed, kills, round).await;
        println!(
            "crash_anywhere: round {round}: {} kills survived, 20 relationships converged {:.1} s after the last kill; \
             {} link requests and {} pairings accepted by the simulator, duplicates 0, orphans 0, stuck finalizers 0; \
             {} trustee OrgPairings re-created after PairingUnrecorded",
            f.kills,
            f.converged_after.as_secs_f64(),
            f.link_requests,
            f.pairings_made,
            f.recreated
        );
        all_kills += f.kills;
        all_recreated += f.recreated;
        round += 1;
        match soak {
            Some(limit) if started.elapsed() < limit => continue,
            _ => break,
        }
    }
    println!(
        "crash_anywhere: seed {seed}: {round} round(s) in {:.0} s, {all_kills} kills in all, {} relationships converged, {all_recreated} re-creates",
        started.elapsed().as_secs_f64(),
        20 * round,
    );
}
