//! Webhook round trip over HTTPS at a fixed request rate: p50, p99 and max latency of
//! AdmissionReviews for OrgPairings (the rule set with the most work), against caches
//! holding N OrgLinks and N OrgPairings (by default 1,000, then 100,000), all in the
//! review's namespace and for its organization: the worst case for a view that scans
//! or copies the namespace, the same for one that looks up by index. Target (issue 14):
//! p50 <= 1 ms and p99 <= 5 ms at 500 requests/s at both sizes.
//!
//! `cargo bench --bench webhook` (ORGLINK_BENCH_RATE requests/s, default 500;
//! ORGLINK_BENCH_SECONDS per size, default 10; ORGLINK_BENCH_OBJECTS, default
//! "1000,100000"). Writes `target/bench/webhook-<N>.json` per size.

#[path = "report.rs"]
mod report;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use orglink_operator::api::{OrgLink, OrgPairing, Organization};
use orglink_operator::webhook::cache::CacheView;
use orglink_operator::webhook::certs::WebhookCerts;
use report::{env_num, ms, percentile, report, verdict};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const ME: &str = "f3c95789-ace1-4954-ac5d-6baed2eac902";

fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The peer of the reviewed OrgPairing: not managed by any cached object, so every
/// review is allowed after all rules ran.
const NEW_PEER: usize = 999_999_999;

/// Target of issue 14 for both sizes.
const P50_TARGET_MS: f64 = 1.0;
const P99_TARGET_MS: f64 = 5.0;

fn cluster(objects: usize) -> CacheView {
    let org: Organization = serde_json::from_value(json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
        "metadata": {"name": "acme", "namespace": "team"},
        "spec": {"region": "us-east-1", "credentialsSecretRef": {"name": "s"}},
        "status": {"organizationId": ME, "linkableRegions": ["us-east-1"]}
    }))
    .unwrap();
    let links: Vec<OrgLink> = (0..objects)
        .map(|i| {
            serde_json::from_value(json!({
                "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgLink",
                "metadata": {"name": format!("l{i}"), "namespace": "team"},
                "spec": {"organizationRef": "acme", "peer": {"organizationId": uuid(i), "region": "us-east-1"}}
            }))
            .unwrap()
        })
        .collect();
    let pairings: Vec<OrgPairing> = (0..objects)
        .map(|i| {
            serde_json::from_value(json!({
                "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgPairing",
                "metadata": {"name": format!("p{i}"), "namespace": "team"},
                "spec": {"organizationRef": "acme", "peer": {"organizationId": uuid(i), "region": "us-east-1"},
                         "request": {"users": [uuid(5000)]}}
            }))
            .unwrap()
        })
        .collect();
    CacheView::from_objects(vec![org], links, pairings)
}

fn review(i: u64) -> Vec<u8> {
    let users: Vec<String> = (0..25).map(|u| uuid(10_000 + u)).collect();
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("bench-{i}"),
            "kind": {"group": "orglink.dev", "version": "v1alpha1", "kind": "OrgPairing"},
            "resource": {"group": "orglink.dev", "version": "v1alpha1", "resource": "orgpairings"},
            "name": "new", "namespace": "team", "operation": "CREATE", "userInfo": {},
            "object": {"apiVersion": "orglink.dev/v1alpha1", "kind": "OrgPairing",
                       "metadata": {"name": "new", "namespace": "team"},
                       "spec": {"organizationRef": "acme",
                                "peer": {"organizationId": uuid(NEW_PEER), "region": "us-east-1"},
                                "request": {"users": users, "groups": [uuid(20_000)]}}}
        }
    }))
    .unwrap()
}

#[tokio::main]
async fn main() {
    let rate = env_num("ORGLINK_BENCH_RATE", 500);
    let seconds = env_num("ORGLINK_BENCH_SECONDS", 10);
    let sizes: Vec<usize> = std::env::var("ORGLINK_BENCH_OBJECTS")
        .unwrap_or_else(|_| "1000,100000".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("ORGLINK_BENCH_OBJECTS: comma-separated counts")
        })
        .collect();
    let mut errors = 0;
    for objects in sizes {
        errors += run(objects, rate, seconds).await;
    }
    assert_eq!(errors, 0, "every review must be answered and allowed");
}

/// One size: serve a cache of `objects` OrgLinks and OrgPairings, send `rate` reviews a
/// second for `seconds`, report; returns the number of failed reviews.
async fn run(objects: usize, rate: u64, seconds: u64) -> u64 {
    let building = Instant::now();
    let cache = cluster(objects);
    let indexed = cache.indexed();
    let build_seconds = building.elapsed().as_secs_f64();
    assert_eq!(indexed, (objects, objects), "every object indexed");
    let dir = tempfile::tempdir().unwrap();
    let certs =
        WebhookCerts::generate(&["localhost".into()], &[Ipv4Addr::LOCALHOST.into()]).unwrap();
    certs.write_to(dir.path()).unwrap();
    let shutdown = CancellationToken::new();
    let addr = orglink_operator::webhook::server::serve(
        "127.0.0.1:0".parse().unwrap(),
        dir.path(),
        cache,
        orglink_operator::genesys::ApiBaseUrlAllowlist::regions_only(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(certs.ca_cert.as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/validate", addr.port());
    for i in 0..50 {
        client.post(&url).body(review(i)).send().await.unwrap();
    }
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for i in 0..total {
        ticker.tick().await;
        let (client, url, body) = (client.clone(), url.clone(), review(i));
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let ok = match client.post(&url).body(body).send().await {
                Ok(r) if r.status().is_success() => {
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    v["response"]["allowed"] == true
                }
                _ => false,
            };
            (sent.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        let (latency, ok) = task.await.unwrap();
        latencies.push(latency);
        if !ok {
            errors += 1;
        }
    }
    let wall = started.elapsed();
    latencies.sort();
    let (p50, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        *latencies.last().unwrap(),
    );
    shutdown.cancel();
    let pass = ms(p50) <= P50_TARGET_MS && ms(p99) <= P99_TARGET_MS && errors == 0;
    report(
        &format!("webhook-{objects}"),
        &format!(
            "bench webhook: {objects} OrgLinks + {objects} OrgPairings cached (indexed in {build_seconds:.1} s), \
             {total} AdmissionReviews over HTTPS at {rate}/s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, \
             {errors} errors (target p50 <= {P50_TARGET_MS} ms, p99 <= {P99_TARGET_MS} ms) {}",
            ms(p50),
            ms(p99),
            ms(max),
            verdict(pass)
        ),
        json!({
            "requests": total, "rate_per_second": rate, "wall_seconds": wall.as_secs_f64(),
            "p50_ms": ms(p50), "p99_ms": ms(p99), "max_ms": ms(max), "errors": errors,
            "cache": {"orglinks": objects, "orgpairings": objects, "build_seconds": build_seconds},
            "target": {"p50_ms": P50_TARGET_MS, "p99_ms": P99_TARGET_MS},
            "pass": pass
        }),
    );
    errors
}
