//! Memory: peak RSS of the operator process holding 10,000 OrgLinks.
//!
//! The operator runs as its own process (`orglink-operator run`, the release binary,
//! webhook included, as a Deployment would run it) against the sandbox's real API
//! server and the simulated Genesys Cloud. `ORGLINK_BENCH_ORGS` managed orgs (default
//! 100) each declare `ORGLINK_BENCH_LINKS / ORGLINK_BENCH_ORGS` OrgLinks (default
//! 10,000 in all) to as many unmanaged simulated orgs; every link is requested for
//! real and waits for the peer's confirmation. Once every OrgLink reports
//! `WaitingForConfirmation`, the process's peak RSS (`VmHWM`) and current RSS are read
//! from `/proc`, with the RSS before the first OrgLink was applied, so the summary
//! line gives the cost per OrgLink too.
//!
//! `cargo bench --bench memory`. Needs the kube assets (`make kube-assets`).
//! `ORGLINK_BENCH_CONTROLLER_MANAGER=0` leaves kube-controller-manager out of the
//! sandbox; `ORGLINK_BENCH_HEAPTRACK=<file>` runs the operator under heaptrack, which
//! sees only malloc: give it a binary built with `--features system-allocator`
//! (`ORGLINK_BENCH_OPERATOR`), not the jemalloc one, whose profile comes out empty.
//! `ORGLINK_BENCH_OPERATOR=<path>` measures that binary instead of this build's (which
//! carries the sandbox and the simulator): e.g. the image's, as `make image` leaves it
//! in `target/image/rootfs/usr/local/bin/orglink-operator` (release, without the
//! sandbox, stripped).

#[path = "fixture.rs"]
mod fixture;
#[path = "report.rs"]
mod report;

use std::process::Command;
use std::time::{Duration, Instant};

use fixture::{apply, register_orgs, support, synthetic};
use futures::StreamExt;
use kube::api::{Api, ListParams};
use orglink_operator::api::{LinkDecision, OrgLink, OrgLinkPhase, OrgLinkSpec, PeerRef};
use orglink_operator::sandbox::control_plane::free_port;
use orglink_operator::sandbox::control_plane::process::Supervised;
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig};
use report::{env_num, report, verdict};
use serde_json::json;
use uuid::Uuid;

/// `VmHWM` (peak) and `VmRSS` (now) of `pid`, in KiB.
/// The operator's memory as the kernel counts it, in KiB.
struct Rss {
    /// High-water mark since the process started (VmHWM).
    peak: u64,
    /// Now (VmRSS), of which `anon` is heap, stacks and other private memory and `file`
    /// the pages of the binary and libraries.
    now: u64,
    anon: u64,
    file: u64,
}

fn rss_kib(pid: u32) -> Rss {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    Rss {
        peak: field("VmHWM:"),
        now: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

/// The children of `pid` (of its main thread).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The operator binary to run, and how the summary names it.
fn operator_binary() -> (String, String) {
    match std::env::var("ORGLINK_BENCH_OPERATOR") {
        Ok(path) if !path.is_empty() => {
            assert!(
                std::path::Path::new(&path).is_file(),
                "ORGLINK_BENCH_OPERATOR={path}: no such file (`make image` builds the shipped binary into target/image/rootfs/usr/local/bin/)"
            );
            let named = format!("binary {path}");
            (path, named)
        }
        _ => (
            env!("CARGO_BIN_EXE_orglink-operator").to_string(),
            "this build's binary, with the sandbox".to_string(),
        ),
    }
}

/// The process running the operator's binary: `pid`, or under heaptrack (a script that
/// runs it as a child) that descendant.
fn operator_process(pid: u32) -> u32 {
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        // comm is cut at 15 bytes.
        if "orglink-operator".starts_with(comm.trim()) && !comm.trim().is_empty() {
            return p;
        }
        todo.extend(children(p));
    }
    pid
}

/// Sends SIGTERM to the children of `pid` and waits (up to 30 s) for them to exit.
fn stop_children(pid: u32) {
    let children: Vec<i32> = children(pid).into_iter().map(|c| c as i32).collect();
    for &child in &children {
        // SAFETY: kill(2) with a pid read from /proc; no memory is shared.
        unsafe { libc::kill(child, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && children
            .iter()
            .any(|c| std::path::Path::new(&format!("/proc/{c}")).exists())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 14's target for the peak RSS at 10,000 OrgLinks.
const PEAK_TARGET_MIB: f64 = 64.0;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() {
    let orgs_n = env_num("ORGLINK_BENCH_ORGS", 100) as usize;
    let links_n = env_num("ORGLINK_BENCH_LINKS", 10_000) as usize;
    let per_org = links_n.div_ceil(orgs_n);
    let cp = support::control_plane();
    let client = support::client().await;

    // Managed orgs first, then one unmanaged peer per link slot: peer k of every
    // managed org is the same simulated org, so each managed org has `per_org` peers.
    let all = synthetic(orgs_n + per_org);
    let (managed, peers) = all.split_at(orgs_n);
    let sim = GenesysSim::start(SimConfig::new(all.to_vec()))
        .await
        .expect("simulator");

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cp.write_kubeconfig(&kubeconfig).unwrap();
    let registered =
        orglink_operator::sandbox::webhook::register(&client, &dir.path().join("webhook-certs"))
            .await
            .expect("registering the webhook");
    let free = || format!("127.0.0.1:{}", free_port().unwrap());
    let metrics_addr = free();
    let (operator_bin, binary) = operator_binary();
    let operator_bin = operator_bin.as_str();
    // `ORGLINK_BENCH_HEAPTRACK=<file>`: run it under heaptrack, for a heap profile (the
    // RSS figures then include heaptrack's own, and the line gives no verdict).
    let heaptrack = std::env::var("ORGLINK_BENCH_HEAPTRACK").is_ok_and(|v| !v.is_empty());
    let mut command = match std::env::var("ORGLINK_BENCH_HEAPTRACK") {
        Ok(out) if !out.is_empty() => {
            let mut c = Command::new("heaptrack");
            c.args(["-o", &out, operator_bin]);
            c
        }
        _ => Command::new(operator_bin),
    };
    command
        .arg("run")
        .args(["--metrics-addr", &metrics_addr, "--health-addr", &free()])
        .args(["--webhook-addr", &registered.addr.to_string()])
        .arg("--webhook-cert-dir")
        .arg(&registered.cert_dir)
        // The simulator listens on a loopback port of its own, over plain http.
        .args(["--allow-api-base-url", "127.0.0.1", "--allow-insecure-http"])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "warn");
    // Supervised: stopped on drop, at exit, and by the kernel if this process dies.
    let log = dir.path().join("operator.log");
    let operator = Supervised::spawn("orglink-operator", command, &log)
        .expect("starting orglink-operator run");
    let pid = operator.pid();
    orglink_operator::sandbox::webhook::wait_ready(
        registered.addr,
        &registered.cert_dir,
        Duration::from_secs(120),
    )
    .await
    .expect("the operator's webhook did not become ready");

    let run = &Uuid::new_v4().simple().to_string()[..6];
    let ns = register_orgs(&client, &sim, managed, &format!("mem-{run}")).await;
    let measured = operator_process(pid);
    let rss_before = rss_kib(measured).now;

    let started = Instant::now();
    let objects: Vec<(String, OrgLink)> = (0..links_n)
        .map(|n| {
            let (i, k) = (n / per_org, n % per_org);
            let link = OrgLink::new(
                &format!("to-peer-{k}"),
                OrgLinkSpec {
                    organization_ref: ns[i].clone(),
                    peer: PeerRef {
                        organization_id: peers[k].id.to_string(),
                        region: peers[k].region,
                    },
                    decision: LinkDecision::Accept,
                    attempt: 0,
                },
            );
            (ns[i].clone(), link)
        })
        .collect();
    futures::stream::iter(&objects)
        .for_each_concurrent(32, |(ns, link)| {
            let client = client.clone();
            async move { apply(&client, ns, link).await }
        })
        .await;
    let applied = started.elapsed();

    // Progress comes from the operator's own gauge, which costs the API server nothing;
    // listing 10,000 objects every second would load it more than the operator does.
    let metrics_socket: std::net::SocketAddr = metrics_addr.parse().unwrap();
    let gauge = "orglink_relationships{kind=\"OrgLink\",phase=\"WaitingForConfirmation\"} ";
    support::eventually(
        "the operator to report every OrgLink WaitingForConfirmation",
        Duration::from_secs(1800),
        || async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let text = support::metrics_text(metrics_socket).await?;
            let waiting: usize = text
                .lines()
                .find_map(|l| l.strip_prefix(gauge))
                .and_then(|v| v.trim().parse().ok())?;
            (waiting >= links_n).then_some(())
        },
    )
    .await;
    // And the API server agrees: every OrgLink's status says so (one paged list).
    let all_links: Api<OrgLink> = Api::all(client.clone());
    support::eventually(
        "every OrgLink's status WaitingForConfirmation",
        Duration::from_secs(300),
        || async {
            let mut waiting = 0;
            let mut params = ListParams::default().limit(500);
            loop {
                let page = all_links.list(&params).await.ok()?;
                waiting += page
                    .items
                    .iter()
                    .filter(|l| {
                        l.status.as_ref().and_then(|s| s.phase)
                            == Some(OrgLinkPhase::WaitingForConfirmation)
                    })
                    .count();
                match page.metadata.continue_.filter(|c| !c.is_empty()) {
                    Some(token) => params = params.continue_token(&token),
                    None => break,
                }
            }
            if waiting < links_n {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            (waiting == links_n).then_some(())
        },
    )
    .await;
    let converged = started.elapsed();
    // Let it settle: the Organizations' lists refresh after the phase changes.
    tokio::time::sleep(Duration::from_secs(10)).await;
    // VmHWM is the high-water mark since the process started: the peak, wherever it was.
    let Rss {
        peak,
        now: rss,
        anon,
        file,
    } = rss_kib(measured);
    let per_link = (rss.saturating_sub(rss_before) as f64 * 1024.0) / links_n as f64;
    let stats = sim.stats();
    // Under heaptrack the supervised process is heaptrack's script, which does not pass
    // SIGTERM on: stop the operator itself first, so it does not outlive the bench and
    // heaptrack writes its profile.
    stop_children(pid);
    drop(operator);

    let pass = mib(peak) <= PEAK_TARGET_MIB;
    let judged = if heaptrack {
        "under heaptrack, no verdict".to_string()
    } else {
        verdict(pass).to_string()
    };
    report(
        "memory",
        &format!(
            "bench memory: operator ({binary}) holding {links_n} OrgLinks ({orgs_n} orgs): peak RSS {:.1} MiB (target <= {PEAK_TARGET_MIB} MiB) {judged}, RSS {:.1} MiB after convergence ({:.1} MiB private, {:.1} MiB of the binary and libraries; {:.1} MiB before the OrgLinks, {per_link:.0} bytes per OrgLink); applied in {:.1} s, all WaitingForConfirmation in {:.1} s; {} Genesys API calls, {} rate-limited",
            mib(peak),
            mib(rss),
            mib(anon),
            mib(file),
            mib(rss_before),
            applied.as_secs_f64(),
            converged.as_secs_f64(),
            stats.total,
            stats.rate_limited,
        ),
        json!({
            "orglinks": links_n,
            "organizations": orgs_n,
            "peak_rss_mib": mib(peak),
            "target_peak_rss_mib": PEAK_TARGET_MIB,
            "pass": pass,
            "rss_mib": mib(rss),
            "rss_anon_mib": mib(anon),
            "rss_file_mib": mib(file),
            "under_heaptrack": heaptrack,
            "binary": binary,
            "rss_before_mib": mib(rss_before),
            "bytes_per_orglink": per_link,
            "applied_seconds": applied.as_secs_f64(),
            "converged_seconds": converged.as_secs_f64(),
            "genesys_calls": stats.total,
            "rate_limited": stats.rate_limited,
        }),
    );
}
