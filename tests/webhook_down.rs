//! With the webhook down (registered, nothing listening): the CRD's schema and CEL
//! rules still hold, the three kinds fail closed with the API server's message naming
//! the webhook, and nothing else is affected (api.md, "Admission rules").
//!
//! Its own test binary, so its own control plane: the configuration registered here
//! intercepts every write of the three kinds, which no other test could live with.

mod support;

use support::{kubectl, orglink_yaml};

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use orglink_operator::api::{LinkDecision, OrgLink, OrgPairing, Organization};
use orglink_operator::webhook::certs::WebhookCerts;
use orglink_operator::webhook::configuration::{
    Endpoint, WEBHOOK_NAME, validating_webhook_configuration,
};

const CONFIGURATION: &str = "orglink-webhook-down";
const ACME_PROD: &str = "f3c95789-ace1-4954-ac5d-6baed2eac902";
const ACME_DR: &str = "23cc390c-9354-40e3-8e1f-39485d23d1f3";
const INITECH_WEST: &str = "3cee1c2b-48d7-4d4c-b348-c06afe63e227";

/// `kubectl apply -n ns -f -` of `manifest`.
fn apply(ns: &str, manifest: &str) -> (bool, String, String) {
    kubectl(&["apply", "-n", ns, "-f", "-"], Some(manifest))
}

fn organization(name: &str, region: &str) -> String {
    format!(
        r#"
apiVersion: orglink.dev/v1alpha1
kind: Organization
metadata: {{name: {name}}}
spec:
  region: {region}
  credentialsSecretRef: {{name: {name}-oauth}}
"#
    )
}

fn orgpairing(name: &str, users: &[String]) -> String {
    format!(
        r#"
apiVersion: orglink.dev/v1alpha1
kind: OrgPairing
metadata: {{name: {name}}}
spec:
  organizationRef: msp-prod
  peer: {{organizationId: {ACME_PROD}, region: us-east-1}}
  request:
    users: [{}]
"#,
        users.join(", ")
    )
}

fn user_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect()
}

/// The API server's answer when the webhook cannot be called.
fn assert_fails_closed(what: &str, (ok, _, err): (bool, String, String), port: u16) {
    assert!(!ok, "{what}: must be rejected while the webhook is down");
    for expected in [
        "Internal error occurred".to_string(),
        format!("failed calling webhook \"{WEBHOOK_NAME}\""),
        format!("failed to call webhook: Post \"https://127.0.0.1:{port}/validate?timeout=5s\""),
        format!("dial tcp 127.0.0.1:{port}: connect: connection refused"),
    ] {
        assert!(
            err.contains(&expected),
            "{what}: {expected:?} missing from:\n{err}"
        );
    }
}

/// A rejection by the CRD's schema or CEL rules, before any webhook is consulted.
fn assert_schema_rejects(what: &str, (ok, _, err): (bool, String, String), expected: &str) {
    assert!(!ok, "{what}: must be rejected by the schema");
    assert!(
        err.contains(expected),
        "{what}: {expected:?} missing from:\n{err}"
    );
    assert!(
        !err.contains("webhook"),
        "{what}: reached the webhook:\n{err}"
    );
}

#[tokio::test]
async fn with_the_webhook_down_schema_rules_hold_and_the_three_kinds_fail_closed() {
    let client = support::client().await;
    let ns = support::namespace(&client, "webhook-down").await;

    // Before the webhook is registered: one object of each kind, to update, patch the
    // status of and delete later.
    for (manifest, line) in [
        (
            organization("acme-prod", "us-east-1"),
            "organization.orglink.dev/acme-prod created",
        ),
        (
            orglink_yaml("to-acme-dr", ACME_DR, "Accept"),
            "orglink.orglink.dev/to-acme-dr created",
        ),
        (
            orgpairing("support-into-acme", &user_ids(3)),
            "orgpairing.orglink.dev/support-into-acme created",
        ),
    ] {
        let (ok, out, err) = apply(&ns, &manifest);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), line);
    }

    // The project's own configuration, with a valid caBundle, pointing at a loopback
    // port where nothing listens.
    let port = orglink_operator::sandbox::control_plane::free_port().unwrap();
    let url = format!("https://127.0.0.1:{port}/validate");
    let certs =
        WebhookCerts::generate(&["localhost".to_string()], &[Ipv4Addr::LOCALHOST.into()]).unwrap();
    let config =
        validating_webhook_configuration(CONFIGURATION, Endpoint::Url(url.clone()), &certs.ca_cert);
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let stored = configs
        .create(&PostParams::default(), &config)
        .await
        .expect("registering the ValidatingWebhookConfiguration");
    let webhook = &stored.webhooks.as_ref().unwrap()[0];
    assert_eq!(webhook.name, WEBHOOK_NAME);
    assert_eq!(webhook.failure_policy.as_deref(), Some("Fail"));
    assert_eq!(webhook.client_config.url.as_deref(), Some(url.as_str()));
    assert_eq!(
        webhook.client_config.ca_bundle.as_ref().unwrap().0,
        certs.ca_cert.as_bytes()
    );

    // The API server picks the configuration up asynchronously: wait until a dry-run
    // create of a valid Organization is refused by it.
    let organizations: Api<Organization> = Api::namespaced(client.clone(), &ns);
    let probe: Organization = serde_yaml::from_str(&organization("probe", "us-east-1")).unwrap();
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    support::eventually(
        "the API server to call the webhook",
        Duration::from_secs(30),
        || async {
            match organizations.create(&dry_run, &probe).await {
                Err(kube::Error::Api(status)) if status.message.contains(WEBHOOK_NAME) => Some(()),
                _ => None,
            }
        },
    )
    .await;

    // 1. The schema and CEL rules still hold, with their own messages: the API server
    //    checks them before it calls any validating webhook.
    assert_schema_rejects(
        "an unknown region",
        apply(&ns, &organization("acme-dr", "moon-base-1")),
        r#"spec.region: Unsupported value: "moon-base-1""#,
    );
    assert_schema_rejects(
        "26 users",
        apply(&ns, &orgpairing("too-many", &user_ids(26))),
        "spec.request.users: Too many: 26: must have at most 25 items",
    );
    assert_schema_rejects(
        "an upper-case org ID",
        apply(
            &ns,
            &orglink_yaml("bad-uuid", "23CC390C-9354-40E3-8E1F-39485D23D1F3", "Accept"),
        ),
        "spec.peer.organizationId in body should match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'",
    );
    assert_schema_rejects(
        "a changed peer",
        apply(&ns, &orglink_yaml("to-acme-dr", INITECH_WEST, "Accept")),
        "spec.peer: Invalid value: spec.peer is immutable: delete this OrgLink and create a new one for another peer",
    );

    // 2. What only the webhook could judge fails closed: valid creates of each kind and
    //    a valid update, refused by the API server naming the webhook it could not call.
    assert_fails_closed(
        "a valid Organization",
        apply(&ns, &organization("acme-dr", "us-east-1")),
        port,
    );
    assert_fails_closed(
        "a valid OrgLink",
        apply(
            &ns,
            &orglink_yaml("to-initech-west", INITECH_WEST, "Accept"),
        ),
        port,
    );
    assert_fails_closed(
        "a valid OrgPairing",
        apply(&ns, &orgpairing("second-request", &user_ids(25))),
        port,
    );
    assert_fails_closed(
        "a valid update",
        apply(&ns, &orglink_yaml("to-acme-dr", ACME_DR, "Decline")),
        port,
    );
    assert!(organizations.get_opt("acme-dr").await.unwrap().is_none());
    let links: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    assert!(links.get_opt("to-initech-west").await.unwrap().is_none());
    let pairings: Api<OrgPairing> = Api::namespaced(client.clone(), &ns);
    assert!(pairings.get_opt("second-request").await.unwrap().is_none());
    let link = links.get("to-acme-dr").await.unwrap();
    assert_eq!(link.spec.decision, LinkDecision::Accept);
    assert_eq!(link.metadata.generation, Some(1));

    // 3. The webhook is scoped to creates and updates of the three kinds: other
    //    resources, the status subresource (the operator's writes) and deletes go on.
    let settings = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: webhook-down}
"#;
    let (ok, out, err) = apply(&ns, settings);
    assert!(ok, "a ConfigMap must not be affected: {err}");
    assert_eq!(out.trim(), "configmap/settings created");
    let (ok, out, err) = apply(&ns, &settings.replace("webhook-down", "changed"));
    assert!(ok, "a ConfigMap must not be affected: {err}");
    assert_eq!(out.trim(), "configmap/settings configured");
    let stored = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("settings")
        .await
        .unwrap();
    assert_eq!(stored.data.unwrap()["mode"], "changed");

    let status = serde_json::json!({"status": {"phase": "WaitingForConfirmation"}});
    let patched = links
        .patch_status(
            "to-acme-dr",
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await
        .expect("the status subresource is not behind the webhook");
    assert_eq!(
        patched.status.unwrap().phase,
        Some(orglink_operator::api::OrgLinkPhase::WaitingForConfirmation)
    );

    let (ok, out, err) = kubectl(&["delete", "-n", &ns, "opair", "support-into-acme"], None);
    assert!(ok, "a delete is not behind the webhook: {err}");
    assert!(
        out.starts_with("orgpairing.orglink.dev \"support-into-acme\" deleted"),
        "{out}"
    );
    assert!(
        pairings
            .get_opt("support-into-acme")
            .await
            .unwrap()
            .is_none()
    );

    // And it was this configuration that refused them: once it is removed, the same
    // valid Organization is created.
    configs
        .delete(CONFIGURATION, &DeleteParams::default())
        .await
        .unwrap();
    support::eventually(
        "the API server to stop calling the webhook",
        Duration::from_secs(30),
        || async { organizations.create(&dry_run, &probe).await.ok() },
    )
    .await;
    let (ok, out, err) = apply(&ns, &organization("acme-dr", "us-east-1"));
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "organization.orglink.dev/acme-dr created");
}
