//! Hostile tenants (issue 11): where an Organization's credentials may go, which Secret
//! it may use, and two objects claiming one relationship. The real API server, the
//! operator with its webhook, a recording HTTP server standing for a server of the
//! tenant's choice, and the simulated Genesys Cloud.
//!
//! Its own test binary, so its own operator, started with a narrow allowlist: the
//! Genesys Cloud hosts, and two loopback ports of this binary (`ALLOWED` for a
//! recording server, `SIMULATOR` for the simulator) over plain http. Some tests need an
//! object the webhook would refuse, as if applied while the webhook was down: their
//! namespaces carry `BYPASS_LABEL`, which the webhook configuration here excludes.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use orglink_operator::api::conditions::find;
use orglink_operator::api::organization::CredentialsSecretRef;
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, OrgPairing, OrgPairingPhase, OrgPairingSpec, Organization,
    OrganizationSpec, PairingRequest, PeerRef, Region,
};
use orglink_operator::sandbox::control_plane::free_port;
use orglink_operator::sandbox::genesys_sim::cluster::{org_objects, slug};
use orglink_operator::sandbox::genesys_sim::seed::{SeedOrg, default_seed};
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig, StatsSnapshot};
use support::{WAIT, apply, eventually, kubectl, link, link_phase, pairing_phase};

/// Namespaces with this label are not sent to the webhook (see the module docs).
const BYPASS_LABEL: &str = "orglink.test/skip-webhook";
const POST_LINK: &str = "POST /api/v2/telephony/organization/link";
const POST_PAIRING: &str = "POST /api/v2/orgauthorization/pairings";
const DELETE_LINK: &str = "DELETE /api/v2/telephony/organization/link/{targetOrganizationId}";

/// The two loopback ports this binary's operator allows, reserved once.
fn ports() -> (u16, u16) {
    static PORTS: OnceLock<(u16, u16)> = OnceLock::new();
    *PORTS.get_or_init(|| (free_port().unwrap(), free_port().unwrap()))
}

/// Starts (once) the operator allowing `http://127.0.0.1:ALLOWED` and
/// `http://127.0.0.1:SIMULATOR`, and excludes `BYPASS_LABEL` namespaces from its
/// webhook.
async fn operator() {
    let (allowed, simulator) = ports();
    support::operator_allowing(&[
        &format!("http://127.0.0.1:{allowed}"),
        &format!("http://127.0.0.1:{simulator}"),
    ]);
    let client = support::client().await;
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client);
    let patch = serde_json::json!([{
        "op": "add",
        "path": "/webhooks/0/namespaceSelector",
        "value": {"matchExpressions": [{"key": BYPASS_LABEL, "operator": "DoesNotExist"}]}
    }]);
    configs
        .patch(
            orglink_operator::sandbox::webhook::CONFIGURATION_NAME,
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(patch).unwrap()),
        )
        .await
        .expect("scoping the webhook");
}

/// A namespace for one test; with `bypass`, one the webhook does not see.
async fn namespace(client: &kube::Client, prefix: &str, bypass: bool) -> String {
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let labels = bypass.then(|| BTreeMap::from([(BYPASS_LABEL.to_string(), "true".to_string())]));
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels,
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    name
}

/// What reached a recording server: method, path and Authorization header.
type Seen = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

/// An HTTP server on `addr` that records every request and answers 401, standing for
/// a server a tenant chose. Stops when the test's runtime ends.
async fn recording_server(addr: SocketAddr) -> Seen {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let record = record.clone();
        async move {
            let auth = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            record.lock().unwrap().push((
                request.method().to_string(),
                request.uri().path().to_string(),
                auth,
            ));
            (
                axum::http::StatusCode::UNAUTHORIZED,
                r#"{"error":"invalid_client"}"#,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    seen
}

/// Secret `name` in `ns` with keys `user` and `password`, labelled for the operator or not.
fn secret(ns: &str, name: &str, marked: bool) -> Secret {
    let labels = marked.then(|| {
        BTreeMap::from([(
            orglink_operator::api::CREDENTIALS_LABEL.to_string(),
            "true".to_string(),
        )])
    });
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels,
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            ("user".to_string(), ByteString(b"admin".to_vec())),
            (
                "password".to_string(),
                ByteString(b"TOPSECRET-db-123".to_vec()),
            ),
        ])),
        ..Default::default()
    }
}

fn organization(name: &str, secret: &str, api_base_url: &str) -> Organization {
    Organization::new(
        name,
        OrganizationSpec {
            region: Region::UsEast1,
            credentials_secret_ref: CredentialsSecretRef {
                name: secret.into(),
                client_id_key: "user".into(),
                client_secret_key: "password".into(),
            },
            api_base_url: Some(api_base_url.into()),
            resync_interval: None,
        },
    )
}

/// Waits until the Organization's `Ready` reason is `reason`; returns the message.
async fn ready_reason(client: &kube::Client, ns: &str, name: &str, reason: &str) -> String {
    let api: Api<Organization> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("Organization {ns}/{name} Ready reason {reason}"),
        WAIT,
        || async {
            let status = api.get_opt(name).await.ok().flatten()?.status?;
            let ready = find(&status.conditions, "Ready")?;
            (ready.reason == reason).then(|| ready.message.clone())
        },
    )
    .await
}

#[tokio::test]
async fn reproduction_1_the_webhook_refuses_an_unlisted_api_base_url_naming_the_flag() {
    operator().await;
    let client = support::client().await;
    let ns = namespace(&client, "tenant", false).await;
    let manifest = r#"
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {user: admin, password: TOPSECRET-db-123}
---
apiVersion: orglink.dev/v1alpha1
kind: Organization
metadata: {name: stolen}
spec:
  region: us-east-1
  apiBaseUrl: http://127.0.0.1:18080
  credentialsSecretRef: {name: db, clientIdKey: user, clientSecretKey: password}
"#;
    let (ok, _, err) = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(manifest));
    assert!(!ok, "the Organization must be refused");
    // (This operator permits http for its own simulators, so the message is about the
    // list; without --allow-insecure-http it names that flag: the allowlist unit tests.)
    for needle in [
        "spec.apiBaseUrl",
        "is not on the operator's allowlist",
        "--allow-api-base-url http://127.0.0.1:18080",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }
    assert!(!err.contains("TOPSECRET"), "{err}");
}

#[tokio::test]
async fn reproduction_1_past_the_webhook_the_operator_sends_nothing_and_says_why() {
    operator().await;
    let client = support::client().await;
    // The tenant's server, on a port the operator does not allow.
    let trap_port = free_port().unwrap();
    let seen = recording_server(SocketAddr::from(([127, 0, 0, 1], trap_port))).await;
    let ns = namespace(&client, "tenant", true).await;
    let url = format!("http://127.0.0.1:{trap_port}");
    // An ordinary Secret, then the same one labelled: the URL check comes first either way.
    apply(&client, &ns, &secret(&ns, "db", false)).await;
    eventually(
        "the Organization admitted (webhook bypassed)",
        WAIT,
        || async {
            let api: Api<Organization> = Api::namespaced(client.clone(), &ns);
            let org = organization("stolen", "db", &url);
            api.patch(
                "stolen",
                &PatchParams::apply("orglink-tests").force(),
                &Patch::Apply(&org),
            )
            .await
            .ok()
        },
    )
    .await;
    let message = ready_reason(&client, &ns, "stolen", "ApiBaseUrlNotAllowed").await;
    for needle in ["spec.apiBaseUrl", "--allow-api-base-url", &url] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from {message}"
        );
    }
    apply(&client, &ns, &secret(&ns, "db", true)).await;
    // A spec change after the label, so that the reconcile seen below certainly ran
    // with the Secret labelled: the URL is still refused, so still nothing is sent.
    let orgs: Api<Organization> = Api::namespaced(client.clone(), &ns);
    let mut org = organization("stolen", "db", &url);
    org.spec.resync_interval = Some("1m".into());
    let changed = orgs
        .patch(
            "stolen",
            &PatchParams::apply("orglink-tests").force(),
            &Patch::Apply(&org),
        )
        .await
        .unwrap();
    eventually("the changed Organization reconciled", WAIT, || async {
        let o = orgs.get("stolen").await.ok()?;
        let status = o.status?;
        let ready = find(&status.conditions, "Ready")?;
        (status.observed_generation == changed.metadata.generation
            && ready.reason == "ApiBaseUrlNotAllowed")
            .then_some(())
    })
    .await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "the operator contacted the tenant's server: {:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test]
async fn an_unlabelled_secret_is_never_read_and_the_label_is_what_allows_it() {
    operator().await;
    let client = support::client().await;
    // A server on the allowed port: everything but the label would let the credentials go.
    let (allowed, _) = ports();
    let seen = recording_server(SocketAddr::from(([127, 0, 0, 1], allowed))).await;
    let ns = namespace(&client, "tenant", false).await;
    let url = format!("http://127.0.0.1:{allowed}");
    apply(&client, &ns, &secret(&ns, "db", false)).await;
    apply(&client, &ns, &organization("org", "db", &url)).await;
    let message = ready_reason(&client, &ns, "org", "CredentialsSecretNotLabeled").await;
    for needle in [
        "spec.credentialsSecretRef.name",
        "orglink.dev/credentials",
        &format!("kubectl label secret -n {ns} db orglink.dev/credentials=true"),
    ] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from {message}"
        );
    }
    assert!(!message.contains("TOPSECRET"), "{message}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );

    // Labelled: the watch on labelled Secrets wakes the Organization and the token
    // request goes out (this server refuses it).
    apply(&client, &ns, &secret(&ns, "db", true)).await;
    eventually("the token request after labelling", WAIT, || async {
        let seen = seen.lock().unwrap();
        seen.iter()
            .any(|(method, path, _)| method == "POST" && path == "/oauth/token")
            .then_some(())
    })
    .await;
    let orgs: Api<Organization> = Api::namespaced(client.clone(), &ns);
    eventually(
        "a reason other than CredentialsSecretNotLabeled",
        WAIT,
        || async {
            let status = orgs.get("org").await.ok()?.status?;
            let ready = find(&status.conditions, "Ready")?;
            (ready.reason != "CredentialsSecretNotLabeled").then_some(())
        },
    )
    .await;

    // The label removed: the Secret leaves the watch, and the Organization says so.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let unlabel = serde_json::json!({"metadata": {"labels": {"orglink.dev/credentials": null}}});
    secrets
        .patch("db", &PatchParams::default(), &Patch::Merge(&unlabel))
        .await
        .unwrap();
    ready_reason(&client, &ns, "org", "CredentialsSecretNotLabeled").await;
}

fn total(stats: &StatsSnapshot, endpoint: &str) -> u64 {
    stats
        .orgs
        .values()
        .filter_map(|o| o.endpoints.get(endpoint))
        .sum()
}

/// A request-side OrgPairing of `org_ref` asking `peer` for access for `user`.
fn pairing_request(name: &str, org_ref: &str, peer: &SeedOrg, user: &str) -> OrgPairing {
    OrgPairing::new(
        name,
        OrgPairingSpec {
            organization_ref: org_ref.to_string(),
            peer: PeerRef {
                organization_id: peer.id.to_string(),
                region: peer.region,
            },
            request: Some(PairingRequest {
                users: vec![user.to_string()],
                groups: vec![],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    )
}

/// Server-side applies `obj` in `ns`, retrying while the webhook still sees the
/// namespace (the configuration's namespaceSelector takes a moment to apply).
async fn apply_past_webhook<K>(client: &kube::Client, ns: &str, obj: &K)
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let name = obj.meta().name.clone().unwrap();
    eventually(&format!("{name} admitted"), WAIT, || async {
        let api: Api<K> = Api::namespaced(client.clone(), ns);
        api.patch(
            &name,
            &PatchParams::apply("orglink-tests").force(),
            &Patch::Apply(obj),
        )
        .await
        .ok()
    })
    .await;
}

#[tokio::test]
async fn two_orglinks_or_orgpairings_for_one_peer_past_the_webhook_make_exactly_one_request() {
    operator().await;
    let client = support::client().await;
    let (_, simulator) = ports();
    let sim = GenesysSim::start(
        SimConfig::new(default_seed()).bind(SocketAddr::from(([127, 0, 0, 1], simulator))),
    )
    .await
    .expect("simulator");
    let prod = sim.org_by_name("Acme Prod").unwrap().clone();
    let dr = sim.org_by_name("Acme DR").unwrap().clone();
    let msp = sim.org_by_name("MSP Prod").unwrap().clone();
    let ns = namespace(&client, "conflict", true).await;
    let org_name = slug(&prod.name);
    // Both links and both pairing requests first, applied back to back while the
    // webhook does not see them; the Organization last, so none can act before all exist.
    for name in ["a-first", "b-second"] {
        let l = link(name, &org_name, &dr, LinkDecision::Accept, 0);
        apply_past_webhook(&client, &ns, &l).await;
    }
    let user = prod.users[0].id.to_string();
    for name in ["p-first", "p-second"] {
        let p = pairing_request(name, &org_name, &msp, &user);
        apply_past_webhook(&client, &ns, &p).await;
    }
    let mut objects = org_objects(&prod, &org_name, &sim.region_url(prod.region));
    objects.secret.metadata.namespace = Some(ns.clone());
    objects.organization.metadata.namespace = Some(ns.clone());
    apply(&client, &ns, &objects.secret).await;
    apply(&client, &ns, &objects.organization).await;

    // The oldest (same second: the first name) acts; the other names it and waits.
    link_phase(
        &client,
        &ns,
        "a-first",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    let links: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    let message = eventually("b-second Ready=False Conflict", WAIT, || async {
        let status = links.get("b-second").await.ok()?.status?;
        let ready = find(&status.conditions, "Ready")?;
        (ready.status == "False" && ready.reason == "Conflict").then(|| ready.message.clone())
    })
    .await;
    assert!(message.contains("OrgLink a-first"), "{message}");
    assert_eq!(total(&sim.stats(), POST_LINK), 1, "one link request");

    // Likewise for two OrgPairings of one side: one pairing is created.
    pairing_phase(
        &client,
        &ns,
        "p-first",
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    let pairings: Api<OrgPairing> = Api::namespaced(client.clone(), &ns);
    let message = eventually("p-second Ready=False Conflict", WAIT, || async {
        let status = pairings.get("p-second").await.ok()?.status?;
        let ready = find(&status.conditions, "Ready")?;
        (ready.status == "False" && ready.reason == "Conflict").then(|| ready.message.clone())
    })
    .await;
    assert!(message.contains("p-first"), "{message}");
    assert_eq!(total(&sim.stats(), POST_PAIRING), 1, "one pairing created");

    // Deleting the one that yields leaves the relationship alone.
    links
        .delete("b-second", &DeleteParams::default())
        .await
        .unwrap();
    eventually("b-second gone", WAIT, || async {
        links
            .get_opt("b-second")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let stats = sim.stats();
    assert_eq!(total(&stats, DELETE_LINK), 0, "the yielding link unlinked");
    assert_eq!(total(&stats, POST_LINK), 1);
    let a = links.get("a-first").await.unwrap();
    assert_eq!(
        a.status.unwrap().phase,
        Some(OrgLinkPhase::WaitingForConfirmation)
    );
    sim.shutdown().await;
}
