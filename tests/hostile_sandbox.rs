//! Issue 11 on the sandbox: the real kube-apiserver, the operator in this process, the
//! simulated Genesys Cloud for the well-behaved orgs, and a hostile Genesys endpoint
//! (`tests/hostile/server.rs`) behind one tenant's Organization.
//!
//! - Reproduction 2: the hostile endpoint answers 429 with `Retry-After: 1e20`. The
//!   Organization shows `Ready=False` (rate limited); nothing panics.
//! - Then it cycles through every misbehaviour (absurd headers, huge and malformed
//!   bodies, endless pages, redirects, secrets echoed back, control characters, an
//!   endless token) while two other namespaces link their orgs: they converge.
//! - Through all of it, the Organization's canary client secret appears in no log line
//!   (the whole process's tracing output is captured), no Event, no status and no
//!   metric; and no status or Event carries a control character the endpoint sent.
//! - Manifests through the real API server: hostile ones are refused with a reason.

mod support;

#[path = "hostile/capture.rs"]
mod capture;
#[path = "hostile/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::sync::Arc;

use capture::CANARY;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use orglink_operator::api::conditions::find;
use orglink_operator::api::organization::CredentialsSecretRef;
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, Organization, OrganizationSpec, Region,
};
use parking_lot::Mutex;
use server::{Behaviour, HostileServer, all_hostile};
use support::{World, apply, eventually, link, link_phase};

/// Everything traced, at the levels these tests search.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    capture::logs("debug,orglink_operator=trace")
}

/// A namespace with a labelled Secret holding the canary and an Organization whose
/// `apiBaseUrl` is the hostile server (a loopback URL).
async fn hostile_tenant(client: &kube::Client, server: &HostileServer) -> String {
    let ns = support::namespace(client, "hostile").await;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("hostile-oauth".into()),
            labels: Some(BTreeMap::from([(
                "orglink.dev/credentials".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([
            ("clientId".to_string(), "hostile-client".to_string()),
            ("clientSecret".to_string(), CANARY.to_string()),
        ])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let org = Organization::new(
        "hostile",
        OrganizationSpec {
            region: Region::UsEast1,
            credentials_secret_ref: CredentialsSecretRef {
                name: "hostile-oauth".into(),
                client_id_key: "clientId".into(),
                client_secret_key: "clientSecret".into(),
            },
            api_base_url: Some(server.url()),
            resync_interval: Some("1s".into()),
        },
    );
    apply(client, &ns, &org).await;
    ns
}

/// The `Ready` condition's (status, reason) of `ns/hostile`.
async fn ready(client: &kube::Client, ns: &str) -> Option<(String, String)> {
    let o = Api::<Organization>::namespaced(client.clone(), ns)
        .get_opt("hostile")
        .await
        .ok()??;
    let c = find(&o.status?.conditions, "Ready")?.clone();
    Some((c.status, c.reason))
}

/// Links two seeded orgs, each from its own namespace, and waits until both are Linked.
async fn link_pair(w: &World, a: &str, b: &str, name: &str) {
    let (oa, ob) = (w.org(a), w.org(b));
    apply(
        &w.client,
        w.ns(a),
        &link(name, w.ns(a), &ob, LinkDecision::Accept, 0),
    )
    .await;
    apply(
        &w.client,
        w.ns(b),
        &link(name, w.ns(b), &oa, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(&w.client, w.ns(a), name, OrgLinkPhase::Linked).await;
    link_phase(&w.client, w.ns(b), name, OrgLinkPhase::Linked).await;
}

#[tokio::test]
async fn a_hostile_genesys_endpoint_hurts_only_its_own_organization_and_learns_no_secret() {
    logs();
    let w = World::new("calm", "1h").await;
    let server = HostileServer::start(Behaviour::RetryAfter("1e20".into())).await;
    let ns = hostile_tenant(&w.client, &server).await;

    // Reproduction 2: 429 + `Retry-After: 1e20` → a clear condition, no panic.
    let reason = eventually(
        "the hostile Organization not Ready",
        support::WAIT,
        || async {
            let (status, reason) = ready(&w.client, &ns).await?;
            (status == "False").then_some(reason)
        },
    )
    .await;
    assert_eq!(reason, "RateLimited");

    // Every other misbehaviour in turn, request after request, while the other
    // namespaces link their orgs.
    server.rotate(all_hostile());
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    link_pair(&w, "Acme Prod", "Acme DR", "calm-link").await;
    // Twice round the list. The Organization's error backoff grows, so each poll also
    // touches it (an annotation): every change is reconciled at once.
    let target = server.requests() + 2 * all_hostile().len();
    let orgs = Api::<Organization>::namespaced(w.client.clone(), &ns);
    let mut poke = 0u32;
    eventually("the hostile endpoint served every misbehaviour twice", support::WAIT * 2, || {
        poke += 1;
        let orgs = orgs.clone();
        let served = server.requests();
        async move {
            if served >= target {
                return Some(());
            }
            let patch = serde_json::json!({"metadata": {"annotations": {"test/poke": poke.to_string()}}});
            orgs.patch("hostile", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .ok()?;
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            None
        }
    })
    .await;
    // Still serving others: a link applied after all that converges too.
    w.ready("MSP Prod").await;
    link_pair(&w, "Acme Prod", "MSP Prod", "after-link").await;
    assert_eq!(
        server.stolen(),
        0,
        "a redirect was followed to another host"
    );
    assert_eq!(
        server.seen_secret().as_deref(),
        Some(CANARY),
        "the endpoint had the canary to echo back"
    );
    let (status, reason) = ready(&w.client, &ns).await.unwrap();
    assert!(!reason.is_empty(), "Ready={status} with a reason");

    // The canary: nowhere.
    let org = Api::<Organization>::namespaced(w.client.clone(), &ns)
        .get("hostile")
        .await
        .unwrap();
    let org_text = serde_json::to_string(&org).unwrap();
    assert!(!org_text.contains(CANARY), "status: {org_text}");
    assert!(!org_text.contains('\u{1b}'), "status: {org_text}");
    let events = Api::<Event>::all(w.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    for e in &events {
        let text = serde_json::to_string(e).unwrap();
        assert!(!text.contains(CANARY), "Event: {text}");
        assert!(!text.contains('\u{1b}'), "Event: {text}");
    }
    let hostile_events: Vec<_> = events
        .iter()
        .filter(|e| e.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter_map(|e| e.reason.clone())
        .collect();
    assert!(
        !hostile_events.is_empty(),
        "the hostile Organization got Events"
    );
    let metrics = support::metrics_text(support::operator()).await.unwrap();
    assert!(!metrics.contains(CANARY), "metrics");
    let links = Api::<OrgLink>::all(w.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(
        !serde_json::to_string(&links.items)
            .unwrap()
            .contains(CANARY)
    );
    let logs = String::from_utf8_lossy(&logs().lock()).into_owned();
    assert!(
        logs.contains("Genesys Cloud"),
        "the operator's logs were captured"
    );
    assert!(!logs.contains(CANARY), "the canary is in the logs");
    assert!(
        !logs.contains("\u{1b}[2J"),
        "a terminal escape from the endpoint reached the logs"
    );
}

/// The real API server (with the webhook registered) refuses hostile manifests with a
/// reason; the schema and CEL rules hold them as the offline corpus says.
#[tokio::test]
async fn hostile_manifests_are_refused_by_the_api_server_with_a_reason() {
    logs();
    support::operator();
    let client = support::client().await;
    let ns = support::namespace(&client, "manifests").await;
    let api: Api<Organization> = Api::namespaced(client.clone(), &ns);
    let base = serde_json::json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
        "metadata": {"name": "x"},
        "spec": {"region": "us-east-1", "credentialsSecretRef": {"name": "s"}}
    });
    let cases: Vec<(&str, serde_json::Value)> = vec![
        (
            "resyncInterval",
            serde_json::json!({"resyncInterval": "18446744073709551615s"}),
        ),
        (
            "resyncInterval",
            serde_json::json!({"resyncInterval": "25h"}),
        ),
        ("region", serde_json::json!({"region": 42})),
        ("region", serde_json::json!({"region": "us-e\u{0430}st-1"})),
        (
            "apiBaseUrl",
            serde_json::json!({"apiBaseUrl": format!("https://{}", "a".repeat(100_000))}),
        ),
        (
            "credentialsSecretRef",
            serde_json::json!({"credentialsSecretRef": null}),
        ),
        (
            "clientSecretKey",
            serde_json::json!({"credentialsSecretRef": {"name": "s", "clientSecretKey": "k".repeat(10_000)}}),
        ),
    ];
    for (field, spec_patch) in cases {
        let mut object = base.clone();
        for (k, v) in spec_patch.as_object().unwrap() {
            object["spec"][k] = v.clone();
        }
        let err = api
            .patch(
                "x",
                &PatchParams::apply("hostile-tests").force(),
                &Patch::Apply(&object),
            )
            .await
            .expect_err(field);
        let text = err.to_string();
        assert!(text.contains(field), "{field}: {text}");
    }
    let link_api: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    let users: Vec<String> = (0..10_000)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let pairing = serde_json::json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgPairing",
        "metadata": {"name": "p"},
        "spec": {"organizationRef": "x",
                 "peer": {"organizationId": "23cc390c-9354-40e3-8e1f-39485d23d1f3", "region": "us-east-1"},
                 "request": {"users": users}}
    });
    let err = Api::<orglink_operator::api::OrgPairing>::namespaced(client.clone(), &ns)
        .patch(
            "p",
            &PatchParams::apply("hostile-tests").force(),
            &Patch::Apply(&pairing),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("users"), "{err}");
    let upper = serde_json::json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgLink",
        "metadata": {"name": "l"},
        "spec": {"organizationRef": "x",
                 "peer": {"organizationId": "23CC390C-9354-40E3-8E1F-39485D23D1F3", "region": "us-east-1"}}
    });
    let err = link_api
        .patch(
            "l",
            &PatchParams::apply("hostile-tests").force(),
            &Patch::Apply(&upper),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("organizationId"), "{err}");
}
