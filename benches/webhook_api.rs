//! What the webhook adds to a write through the real API server: OrgLinks created one
//! at a time through the sandbox's kube-apiserver, alternately reviewed by the webhook
//! and not, in one run, and the ratio of their p50 and p99 latencies (issue 14, target
//! 5: ≤ 1.3).
//!
//! The webhook is served in this process (`CacheView::start` over the cluster, as the
//! operator serves it) and registered with an objectSelector that leaves out objects
//! labelled `orglink.dev/bench-bypass`: alternating labelled and unlabelled creates
//! compares the two paths under the same API server, etcd and load, as the namespace
//! fills. The OrgLinks name an Organization that exists, as a user's would, so every
//! review runs the whole of the rules (the Organization found, the peer's region
//! judged, the relationship looked up) and answers without a warning. Before timing, the
//! webhook's cache must hold that Organization and a second OrgLink for one peer must be
//! refused (the API server does call the webhook).
//!
//! `cargo bench --bench webhook_api` (`ORGLINK_BENCH_CREATES` per path, default 1,000).
//! Needs the kube assets (`make kube-assets`).

#[path = "fixture.rs"]
mod fixture;
#[path = "report.rs"]
mod report;

use std::time::{Duration, Instant};

use fixture::support;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::api::{Api, Patch, PatchParams, PostParams};
use orglink_operator::api::{OrgLink, Organization};
use orglink_operator::genesys::ApiBaseUrlAllowlist;
use orglink_operator::runtime::scope::Scope;
use orglink_operator::webhook::cache::CacheView;
use orglink_operator::webhook::configuration::{Endpoint, validating_webhook_configuration};
use orglink_operator::webhook::rules::ClusterView;
use report::{env_num, ms, percentile, report, verdict};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const CONFIGURATION: &str = "orglink-bench-webhook-api";
const BYPASS: &str = "orglink.dev/bench-bypass";
const RATIO_TARGET: f64 = 1.3;

fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn link(name: &str, ns: &str, peer: &str, bypass: bool) -> OrgLink {
    let labels = if bypass {
        json!({BYPASS: "true"})
    } else {
        json!({})
    };
    serde_json::from_value(json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgLink",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"organizationRef": "acme", "peer": {"organizationId": peer, "region": "us-east-1"}}
    }))
    .unwrap()
}

/// The Organization every OrgLink of the run names.
fn organization(ns: &str) -> Organization {
    serde_json::from_value(json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
        "metadata": {"name": "acme", "namespace": ns},
        "spec": {"region": "us-east-1", "credentialsSecretRef": {"name": "acme-oauth"}}
    }))
    .unwrap()
}

/// Registers the webhook at `url` for every object without the bypass label.
async fn register(client: &kube::Client, url: String, ca_cert: &str) {
    let mut config = validating_webhook_configuration(CONFIGURATION, Endpoint::Url(url), ca_cert);
    for webhook in config.webhooks.iter_mut().flatten() {
        webhook.object_selector = Some(LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: BYPASS.into(),
                operator: "DoesNotExist".into(),
                values: None,
            }]),
            ..Default::default()
        });
    }
    Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .patch(
            CONFIGURATION,
            &PatchParams::apply("orglink-bench").force(),
            &Patch::Apply(&config),
        )
        .await
        .expect("registering the ValidatingWebhookConfiguration");
}

#[tokio::main]
async fn main() {
    let creates = env_num("ORGLINK_BENCH_CREATES", 1000) as usize;
    support::control_plane();
    let client = support::client().await;
    let ns = support::namespace(&client, "webhook-api").await;

    Api::<Organization>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &organization(&ns))
        .await
        .expect("creating the Organization the OrgLinks name");

    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().join("webhook-certs");
    let port = orglink_operator::sandbox::control_plane::free_port().unwrap();
    let certs = orglink_operator::webhook::certs::WebhookCerts::generate(
        &["localhost".into()],
        &[std::net::Ipv4Addr::LOCALHOST.into()],
    )
    .unwrap();
    certs.write_to(&cert_dir).unwrap();
    let shutdown = CancellationToken::new();
    let cache = CacheView::start(client.clone(), &Scope::parse(None), shutdown.clone());
    support::eventually(
        "the webhook's cache to hold the Organization",
        Duration::from_secs(60),
        || {
            let found = cache.organization(&ns, "acme").map(|_| ());
            async move { found }
        },
    )
    .await;
    let addr = orglink_operator::webhook::server::serve(
        format!("127.0.0.1:{port}").parse().unwrap(),
        &cert_dir,
        cache,
        ApiBaseUrlAllowlist::regions_only(),
        shutdown.clone(),
    )
    .await
    .expect("serving the webhook");
    orglink_operator::sandbox::webhook::wait_ready(addr, &cert_dir, Duration::from_secs(120))
        .await
        .expect("the webhook did not become ready");
    register(
        &client,
        format!("https://127.0.0.1:{port}/validate"),
        &certs.ca_cert,
    )
    .await;

    // The API server calls the webhook once a second OrgLink for one peer is refused.
    let api: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    let post = PostParams::default();
    let warm_peer = uuid(999_999_999);
    api.create(&post, &link("warm-0", &ns, &warm_peer, false))
        .await
        .expect("creating the first warm-up OrgLink");
    let mut attempt = 0;
    support::eventually(
        "the API server to call the webhook",
        Duration::from_secs(60),
        || {
            attempt += 1;
            let (api, post, ns, name) = (
                api.clone(),
                post.clone(),
                ns.clone(),
                format!("warm-{attempt}"),
            );
            let peer = warm_peer.clone();
            async move {
                match api.create(&post, &link(&name, &ns, &peer, false)).await {
                    Err(e) if e.to_string().contains("already manages") => Some(()),
                    _ => None,
                }
            }
        },
    )
    .await;

    let mut with = Vec::with_capacity(creates);
    let mut without = Vec::with_capacity(creates);
    let started = Instant::now();
    for i in 0..creates {
        // Alternate which path goes first, so neither always meets a fuller namespace.
        for bypass in if i % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        } {
            let (name, peer) = if bypass {
                (format!("plain-{i}"), uuid(2 * i + 1))
            } else {
                (format!("reviewed-{i}"), uuid(2 * i))
            };
            let sent = Instant::now();
            api.create(&post, &link(&name, &ns, &peer, bypass))
                .await
                .unwrap_or_else(|e| panic!("creating OrgLink {name}: {e}"));
            let elapsed = sent.elapsed();
            if bypass {
                without.push(elapsed);
            } else {
                with.push(elapsed);
            }
        }
    }
    let wall = started.elapsed();
    shutdown.cancel();
    with.sort();
    without.sort();
    let p = |v: &[Duration], q: f64| ms(percentile(v, q));
    let (p50_ratio, p99_ratio) = (
        p(&with, 50.0) / p(&without, 50.0),
        p(&with, 99.0) / p(&without, 99.0),
    );
    let pass = p50_ratio <= RATIO_TARGET && p99_ratio <= RATIO_TARGET;
    report(
        "webhook_api",
        &format!(
            "bench webhook_api: {creates} OrgLinks created through kube-apiserver with the webhook and {creates} without, alternating: \
             with p50 {:.2} ms, p99 {:.2} ms; without p50 {:.2} ms, p99 {:.2} ms; ratio p50 {p50_ratio:.2}, p99 {p99_ratio:.2} \
             (target <= {RATIO_TARGET}) {}",
            p(&with, 50.0),
            p(&with, 99.0),
            p(&without, 50.0),
            p(&without, 99.0),
            verdict(pass)
        ),
        json!({
            "creates_per_path": creates, "wall_seconds": wall.as_secs_f64(),
            "with_webhook": {"p50_ms": p(&with, 50.0), "p99_ms": p(&with, 99.0), "max_ms": ms(*with.last().unwrap())},
            "without_webhook": {"p50_ms": p(&without, 50.0), "p99_ms": p(&without, 99.0), "max_ms": ms(*without.last().unwrap())},
            "ratio": {"p50": p50_ratio, "p99": p99_ratio},
            "target_ratio": RATIO_TARGET, "pass": pass
        }),
    );
}
