//! The sandbox's control plane: a real etcd + kube-apiserver that starts, serves the
//! CRDs to kube-rs and to the matching kubectl, and leaves nothing behind.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use orglink_operator::sandbox::control_plane::process::is_running;
use orglink_operator::sandbox::control_plane::{AssetsError, KubeAssets};
use orglink_operator::sandbox::{ControlPlane, ControlPlaneError, ControlPlaneOptions};

const ORGANIZATION: &str = r#"
apiVersion: orglink.dev/v1alpha1
kind: Organization
metadata: {name: acme-prod}
spec:
  region: us-east-1
  credentialsSecretRef: {name: acme-prod-oauth}
"#;

fn kubectl(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let cp = support::control_plane();
    let mut cmd = cp.kubectl();
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("running kubectl");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn api_server_is_the_pinned_release_and_serves_the_crds() {
    let client = support::client().await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.37.2");
    let (ok, out, err) = kubectl(&["version", "-o", "json"], None);
    assert!(ok, "{err}");
    assert!(out.contains("\"gitVersion\": \"v1.37.2\""), "{out}");
    let (ok, out, err) = kubectl(&["api-resources", "--api-group=orglink.dev"], None);
    assert!(ok, "{err}");
    for short in ["gcorg", "olink", "opair"] {
        assert!(out.contains(short), "{short} missing from:\n{out}");
    }
}

#[tokio::test]
async fn kubectl_applies_and_lists_an_organization_with_its_columns() {
    let client = support::client().await;
    let ns = support::namespace(&client, "cp-kubectl").await;
    let (ok, out, err) = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(ORGANIZATION));
    assert!(ok, "{err}");
    assert!(
        out.contains("organization.orglink.dev/acme-prod created"),
        "{out}"
    );
    let (ok, out, err) = kubectl(&["get", "gcorg", "-n", &ns], None);
    assert!(ok, "{err}");
    let header = out.lines().next().unwrap_or_default();
    for column in ["NAME", "REGION", "ORG ID", "READY", "AGE"] {
        assert!(header.contains(column), "{column} missing from {header}");
    }
    assert!(out.contains("us-east-1"), "{out}");
    let (ok, out, _) = kubectl(&["get", "genesys", "-n", &ns, "-o", "name"], None);
    assert!(ok);
    assert_eq!(out.trim(), "organization.orglink.dev/acme-prod");
}

#[tokio::test]
async fn the_api_server_enforces_the_crd_schema() {
    let client = support::client().await;
    let ns = support::namespace(&client, "cp-schema").await;
    let bad_region = ORGANIZATION.replace("us-east-1", "moon-base-1");
    let (ok, _, err) = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&bad_region));
    assert!(!ok, "an unknown region must be rejected");
    assert!(err.contains("spec.region"), "{err}");
    assert!(err.contains("moon-base-1"), "{err}");

    let users: Vec<String> = (0..26)
        .map(|i| format!("\"00000000-0000-4000-8000-{i:012}\""))
        .collect();
    let pairing = format!(
        r#"
apiVersion: orglink.dev/v1alpha1
kind: OrgPairing
metadata: {{name: too-many}}
spec:
  organizationRef: msp-prod
  peer: {{organizationId: f3c95789-ace1-4954-ac5d-6baed2eac902, region: us-east-1}}
  request:
    users: [{}]
"#,
        users.join(", ")
    );
    let (ok, _, err) = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&pairing));
    assert!(!ok, "26 users must be rejected");
    assert!(err.contains("spec.request.users"), "{err}");
    assert!(err.contains("must have at most 25 items"), "{err}");
}

#[tokio::test]
async fn a_second_control_plane_stops_and_cleans_up_when_dropped() {
    // Its own control plane (not the shared one), so dropping it is observable.
    let cp = ControlPlane::start(ControlPlaneOptions::default())
        .await
        .expect("control plane");
    let pids = cp.pids();
    let dir = cp.data_dir().to_path_buf();
    assert!(pids.iter().all(|&p| is_running(p)));
    assert!(dir.join("etcd").exists());
    eprintln!("second control plane ready in {:?}", cp.started_in());
    drop(cp);
    for pid in pids {
        assert!(!is_running(pid), "process {pid} left running after drop");
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// Run in a child process by `a_panicking_test_leaves_no_processes`: starts a
/// control plane held in a static, records its PIDs and data directory, and panics.
#[test]
#[ignore = "helper run in a child process by a_panicking_test_leaves_no_processes"]
fn start_then_panic() {
    let record = std::env::var("ORGLINK_TEST_PID_FILE").expect("set by the parent test");
    let cp = support::control_plane();
    let [etcd, apiserver] = cp.pids();
    std::fs::write(
        record,
        format!("{etcd}\n{apiserver}\n{}\n", cp.data_dir().display()),
    )
    .unwrap();
    panic!("deliberate panic with a running control plane");
}

#[test]
fn a_panicking_test_leaves_no_processes() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("pids");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "start_then_panic", "--nocapture"])
        .env("ORGLINK_TEST_PID_FILE", &record)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the helper test must fail");
    let text = std::fs::read_to_string(&record).unwrap_or_else(|_| {
        panic!(
            "the helper did not start a control plane:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let lines: Vec<&str> = text.lines().collect();
    for pid in &lines[..2] {
        let pid: u32 = pid.parse().unwrap();
        assert!(
            !is_running(pid),
            "process {pid} outlived the panicking test binary"
        );
    }
    assert!(
        !std::path::Path::new(lines[2]).exists(),
        "{} left behind",
        lines[2]
    );
}

#[tokio::test]
async fn missing_binaries_name_the_fix() {
    let empty = tempfile::tempdir().unwrap();
    let err = ControlPlane::start(ControlPlaneOptions {
        assets: Some(KubeAssets::in_dir(empty.path())),
        start_timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ControlPlaneError::Io { .. }), "{message}");
    assert!(message.contains("etcd"), "{message}");
    let not_built = AssetsError::NotBuilt {
        dir: "/nowhere".into(),
        binary: "etcd",
        version: "v1.37.2",
    };
    assert!(not_built.to_string().contains("make kube-assets"));
}

mod leader_election {
    use std::time::Duration;

    use k8s_openapi::api::coordination::v1::Lease;
    use kube::api::Api;
    use orglink_operator::controller::leader::{LeaseConfig, acquire, try_acquire_or_renew};
    use tokio_util::sync::CancellationToken;

    fn config(ns: &str, identity: &str) -> LeaseConfig {
        let mut c = LeaseConfig::new(ns, "orglink-test", identity);
        c.lease_duration = Duration::from_secs(2);
        c.retry_period = Duration::from_millis(200);
        c
    }

    #[tokio::test]
    async fn one_leader_at_a_time_and_a_standby_takes_over() {
        let client = super::support::client().await;
        let ns = super::support::namespace(&client, "lease").await;
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let a = acquire(client.clone(), config(&ns, "a"), CancellationToken::new())
            .await
            .expect("a leads");
        // While a renews, b never gets the Lease.
        for _ in 0..5 {
            assert!(
                !try_acquire_or_renew(&leases, &config(&ns, "b"))
                    .await
                    .unwrap()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(!a.lost().is_cancelled());
        // a releases on shutdown: b takes over at once, one transition later.
        a.release().await;
        assert!(
            try_acquire_or_renew(&leases, &config(&ns, "b"))
                .await
                .unwrap()
        );
        let spec = leases.get("orglink-test").await.unwrap().spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        assert_eq!(spec.lease_transitions, Some(1));
    }

    #[tokio::test]
    async fn a_leader_that_stops_renewing_is_replaced_after_the_lease_expires() {
        let client = super::support::client().await;
        let ns = super::support::namespace(&client, "lease").await;
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        // a takes the Lease once and never renews it (a crashed leader).
        assert!(
            try_acquire_or_renew(&leases, &config(&ns, "a"))
                .await
                .unwrap()
        );
        let b = super::support::eventually("b takes over", Duration::from_secs(30), || async {
            try_acquire_or_renew(&leases, &config(&ns, "b"))
                .await
                .ok()?
                .then_some(())
        });
        b.await;
        let spec = leases.get("orglink-test").await.unwrap().spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        // And a, coming back, sees it has lost: it may not act.
        assert!(
            !try_acquire_or_renew(&leases, &config(&ns, "a"))
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn webhook_certs_bootstrap_is_idempotent() {
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
    use kube::api::{Api, PostParams};
    use orglink_operator::webhook::bootstrap::{Bootstrap, run};
    use orglink_operator::webhook::configuration::{Endpoint, validating_webhook_configuration};

    let client = support::client().await;
    let ns = support::namespace(&client, "certs").await;
    let config_name = format!("orglink-{ns}");
    let mut config = validating_webhook_configuration(
        &config_name,
        Endpoint::Service {
            namespace: ns.clone(),
            name: "orglink".into(),
            port: 443,
        },
        "",
    );
    // Scope it to a namespace label nobody has, so it never intercepts other tests.
    config.webhooks.as_mut().unwrap()[0].namespace_selector = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
            match_labels: Some([("orglink-test".to_string(), "never".to_string())].into()),
            ..Default::default()
        },
    );
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    configs
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = || Bootstrap {
        secret_name: "orglink-webhook-certs",
        secret_namespace: &ns,
        service_name: "orglink",
        service_namespace: &ns,
        webhook_config_name: &config_name,
        cert_dir: dir.path(),
    };
    run(client.clone(), bootstrap()).await.unwrap();
    let first = configs.get(&config_name).await.unwrap();
    let ca = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
    let bundle = first.webhooks.as_ref().unwrap()[0]
        .client_config
        .ca_bundle
        .clone()
        .unwrap();
    assert_eq!(bundle.0, ca.as_bytes());
    assert!(dir.path().join("tls.key").exists());
    // A second replica (or a restart) reuses the same CA and writes nothing.
    run(client.clone(), bootstrap()).await.unwrap();
    let second = configs.get(&config_name).await.unwrap();
    assert_eq!(
        first.metadata.resource_version,
        second.metadata.resource_version
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.crt")).unwrap(),
        ca
    );
    configs
        .delete(&config_name, &Default::default())
        .await
        .unwrap();
}
