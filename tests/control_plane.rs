//! The sandbox's control plane: a real etcd + kube-apiserver + kube-controller-manager
//! that starts, serves the CRDs to kube-rs and to the matching kubectl, and leaves
//! nothing behind; and the bare API server when the controller manager is left out.

mod support;

use support::{kubectl, orglink_yaml};

use std::process::{Command, Stdio};
use std::time::Duration;

use orglink_operator::sandbox::control_plane::process::is_running;
use orglink_operator::sandbox::control_plane::{AssetsError, KubeAssets};
use orglink_operator::sandbox::{
    ControlPlane, ControlPlaneError, ControlPlaneOptions, ControllerManagerState,
};

const ORGANIZATION: &str = r#"
apiVersion: orglink.dev/v1alpha1
kind: Organization
metadata: {name: acme-prod}
spec:
  region: us-east-1
  credentialsSecretRef: {name: acme-prod-oauth}
"#;

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
    assert_eq!(
        pids.len(),
        3,
        "etcd, kube-apiserver, kube-controller-manager"
    );
    assert!(pids.iter().all(|&p| is_running(p)));
    assert!(dir.join("etcd").exists());
    assert!(dir.join("kube-controller-manager.log").exists());
    eprintln!(
        "second control plane ready in {:?}; {}",
        cp.started_in(),
        cp.controller_manager().describe()
    );
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
    let mut lines: Vec<String> = cp.pids().iter().map(u32::to_string).collect();
    lines.push(cp.data_dir().display().to_string());
    std::fs::write(record, lines.join("\n") + "\n").unwrap();
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
    let (dir, pids) = lines.split_last().unwrap();
    assert_eq!(
        pids.len(),
        3,
        "etcd, kube-apiserver, kube-controller-manager"
    );
    for pid in pids {
        let pid: u32 = pid.parse().unwrap();
        assert!(
            !is_running(pid),
            "process {pid} outlived the panicking test binary"
        );
    }
    assert!(!std::path::Path::new(dir).exists(), "{dir} left behind");
}

#[tokio::test]
async fn the_controller_manager_runs_the_clusters_own_controllers() {
    let cp = support::control_plane();
    assert!(
        matches!(
            cp.controller_manager(),
            ControllerManagerState::Running { .. }
        ),
        "{:?}",
        cp.controller_manager()
    );
    let client = support::client().await;
    let ns = support::namespace(&client, "cp-kcm").await;
    // The ServiceAccount and root-CA publisher controllers fill every new namespace.
    let (ok, out, err) = support::eventually(
        "the default ServiceAccount and kube-root-ca.crt",
        Duration::from_secs(60),
        || async {
            let got = kubectl(
                &[
                    "get",
                    "-n",
                    &ns,
                    "serviceaccount/default",
                    "configmap/kube-root-ca.crt",
                    "-o",
                    "name",
                ],
                None,
            );
            got.0.then_some(got)
        },
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["serviceaccount/default", "configmap/kube-root-ca.crt"]
    );
}

#[tokio::test]
async fn the_controller_manager_can_be_left_out() {
    let cp = ControlPlane::start(ControlPlaneOptions {
        controller_manager: false,
        ..ControlPlaneOptions::default()
    })
    .await
    .expect("control plane");
    assert_eq!(cp.controller_manager(), &ControllerManagerState::LeftOut);
    assert_eq!(cp.pids().len(), 2, "etcd and kube-apiserver only");
    assert!(!cp.data_dir().join("kube-controller-manager.log").exists());
    eprintln!("bare API server ready in {:?}", cp.started_in());
    // It still serves: the admin client works.
    let client = cp.client().await.unwrap();
    assert_eq!(
        client.apiserver_version().await.unwrap().git_version,
        "v1.37.2"
    );
}

#[tokio::test]
async fn kubebuilder_assets_without_a_controller_manager_run_without_it() {
    // An envtest-style directory: etcd and kube-apiserver, nothing else.
    let source = KubeAssets::locate().expect("the built binaries");
    let envtest = tempfile::tempdir().unwrap();
    for binary in ["etcd", "kube-apiserver"] {
        std::os::unix::fs::symlink(source.dir().join(binary), envtest.path().join(binary)).unwrap();
    }
    let cp = ControlPlane::start(ControlPlaneOptions {
        assets: Some(KubeAssets::in_dir(envtest.path())),
        ..ControlPlaneOptions::default()
    })
    .await
    .expect("control plane");
    let state = cp.controller_manager();
    assert_eq!(
        state,
        &ControllerManagerState::Missing {
            dir: envtest.path().to_path_buf()
        }
    );
    assert!(state.describe().contains("KUBEBUILDER_ASSETS"), "{state:?}");
    assert_eq!(cp.pids().len(), 2);
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
    use kube::api::{Api, PostParams};
    use orglink_operator::runtime::leader::{Attempt, Elector, LeaseConfig, acquire};
    use tokio_util::sync::CancellationToken;

    fn config(ns: &str, identity: &str) -> LeaseConfig {
        let mut c = LeaseConfig::new(ns, "orglink-test", identity);
        c.lease_duration = Duration::from_secs(2);
        c.renew_deadline = Duration::from_millis(1500);
        c.retry_period = Duration::from_millis(200);
        c
    }

    async fn elector(ns: &str, identity: &str) -> Elector {
        Elector::new(super::support::client().await, config(ns, identity))
    }

    fn standby(attempt: Attempt) -> bool {
        matches!(attempt, Attempt::Standby { .. })
    }

    /// Retries `b` until it leads (30 s at most, a correctness wait).
    async fn until_leading(b: &mut Elector) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if b.try_acquire_or_renew().await.ok() == Some(Attempt::Leading) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "b never took over the Lease"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn one_leader_at_a_time_and_a_standby_takes_over() {
        let client = super::support::client().await;
        let ns = super::support::namespace(&client, "lease").await;
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let a = acquire(client.clone(), config(&ns, "a"), CancellationToken::new())
            .await
            .expect("a leads");
        // While a renews, b never gets the Lease: each of b's looks sees a fresh record.
        let mut b = elector(&ns, "b").await;
        for _ in 0..15 {
            assert!(standby(b.try_acquire_or_renew().await.unwrap()));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(!a.lost().is_cancelled());
        // a releases on shutdown: b takes over at once, one transition later.
        a.release().await;
        assert_eq!(b.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
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
        let mut a = elector(&ns, "a").await;
        assert_eq!(a.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
        let mut b = elector(&ns, "b").await;
        // b's first look starts its clock: however old renewTime is, it waits.
        assert!(standby(b.try_acquire_or_renew().await.unwrap()));
        until_leading(&mut b).await;
        let spec = leases.get("orglink-test").await.unwrap().spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("b"));
        // And a, coming back, sees it has lost: it may not act.
        assert!(standby(a.try_acquire_or_renew().await.unwrap()));
    }

    #[tokio::test]
    async fn expiry_ignores_the_holders_clock() {
        // A holder whose clock is far behind writes renewTime in the distant past; a
        // standby comparing renewTime with its own clock would take over at once. It
        // must wait a whole lease duration from when it saw the record instead.
        let client = super::support::client().await;
        let ns = super::support::namespace(&client, "lease").await;
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let mut a = elector(&ns, "a").await;
        assert_eq!(a.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
        let mut lease = leases.get("orglink-test").await.unwrap();
        let spec = lease.spec.as_mut().unwrap();
        let past = k8s_openapi::jiff::Timestamp::from_second(1_000_000_000).unwrap();
        spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
            past,
        ));
        spec.acquire_time = spec.renew_time.clone();
        leases
            .replace("orglink-test", &PostParams::default(), &lease)
            .await
            .unwrap();
        let mut b = elector(&ns, "b").await;
        let seen = tokio::time::Instant::now();
        assert!(standby(b.try_acquire_or_renew().await.unwrap()));
        loop {
            let attempt = b.try_acquire_or_renew().await.unwrap();
            if attempt == Attempt::Leading {
                // Taken only once the record was unchanged for the lease duration.
                assert!(
                    seen.elapsed() >= Duration::from_secs(2),
                    "{:?}",
                    seen.elapsed()
                );
                break;
            }
            assert!(standby(attempt));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn a_leader_that_cannot_renew_gives_up_before_a_standby_may_take_over() {
        // The leader's API server connection goes to a port nobody answers on, as in a
        // network partition: it must fire `lost` by its renew deadline, before a standby
        // (which still sees the API server) has waited out the lease duration.
        let client = super::support::client().await;
        let ns = super::support::namespace(&client, "lease").await;
        let (partitioned, cut) = super::support::cuttable_client().await;
        // A wide margin between a's deadline (1 s) and b's wait (5 s): the assertion is
        // about order, and a loaded machine may run a's timer late.
        let wide = |identity: &str| {
            let mut c = config(&ns, identity);
            c.lease_duration = Duration::from_secs(5);
            c.renew_deadline = Duration::from_secs(1);
            c
        };
        let a = acquire(partitioned, wide("a"), CancellationToken::new())
            .await
            .expect("a leads");
        let mut b = Elector::new(client.clone(), wide("b"));
        assert!(standby(b.try_acquire_or_renew().await.unwrap()));
        cut.cancel();
        // b may take over only after seeing the record unchanged for the lease
        // duration; a must have given up by then.
        until_leading(&mut b).await;
        assert!(
            a.lost().is_cancelled(),
            "b took the Lease while a still believed it led"
        );
        assert!(a.lost().is_cancelled());
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

/// A finalizer of the tests' own (no operator runs in this binary to remove it).
const TEST_FINALIZER: &str = "tests.orglink.dev/hold";

const ACME_DR: &str = "23cc390c-9354-40e3-8e1f-39485d23d1f3";
const INITECH_WEST: &str = "3cee1c2b-48d7-4d4c-b348-c06afe63e227";

fn orglink_object(name: &str, finalizers: &[&str]) -> orglink_operator::api::OrgLink {
    let mut object: orglink_operator::api::OrgLink =
        serde_yaml::from_str(&orglink_yaml(name, ACME_DR, "Accept")).unwrap();
    if !finalizers.is_empty() {
        object.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
    }
    object
}

/// Receives from `rx` until `pred` holds, panicking after 30 s with `what` and what
/// was received instead.
async fn expect_next<T: std::fmt::Debug>(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>,
    what: &str,
    mut pred: impl FnMut(&T) -> bool,
) -> T {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(item)) if pred(&item) => return item,
            Ok(Some(item)) => seen.push(format!("{item:?}")),
            Ok(None) => panic!("channel closed waiting for {what}; received: {seen:#?}"),
            Err(_) => panic!("timed out waiting for {what}; received instead: {seen:#?}"),
        }
    }
}

#[tokio::test]
async fn a_kube_rs_controller_and_watcher_see_creates_updates_and_deletes() {
    use std::sync::Arc;

    use futures::StreamExt;
    use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
    use kube::runtime::WatchStreamExt;
    use kube::runtime::controller::{Action, Controller};
    use kube::runtime::watcher::{self, Event};
    use kube::{Resource, ResourceExt};
    use orglink_operator::api::{LinkDecision, OrgLink};

    /// What the reconciler saw of the object it was called for.
    #[derive(Debug, PartialEq)]
    struct Seen {
        name: String,
        generation: Option<i64>,
        decision: LinkDecision,
        deleting: bool,
    }
    struct Ctx {
        api: Api<OrgLink>,
        seen: tokio::sync::mpsc::UnboundedSender<Seen>,
    }
    async fn reconcile(link: Arc<OrgLink>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
        let deleting = link.meta().deletion_timestamp.is_some();
        let _ = ctx.seen.send(Seen {
            name: link.name_any(),
            generation: link.meta().generation,
            decision: link.spec.decision,
            deleting,
        });
        if deleting && link.finalizers().iter().any(|f| f == TEST_FINALIZER) {
            let remove = serde_json::json!({"metadata": {"finalizers": null}});
            ctx.api
                .patch(
                    &link.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&remove),
                )
                .await?;
        }
        Ok(Action::await_change())
    }
    fn error_policy(_: Arc<OrgLink>, error: &kube::Error, _: Arc<Ctx>) -> Action {
        // Reported again on the controller's output stream, where the test fails on it.
        eprintln!("reconcile failed: {error}");
        Action::await_change()
    }

    let client = support::client().await;
    let ns = support::namespace(&client, "cp-controller").await;
    let api: Api<OrgLink> = Api::namespaced(client.clone(), &ns);

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let watch = tokio::spawn({
        let api = api.clone();
        async move {
            let mut stream = watcher::watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            while let Some(event) = stream.next().await {
                match event {
                    Ok(event) => {
                        if events_tx.send(event).is_err() {
                            break;
                        }
                    }
                    Err(e) => eprintln!("watcher error (retried): {e}"),
                }
            }
        }
    });
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let (results_tx, mut results) = tokio::sync::mpsc::unbounded_channel();
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .run(
                reconcile,
                error_policy,
                Arc::new(Ctx {
                    api: api.clone(),
                    seen: seen_tx,
                }),
            )
            .for_each(move |result| {
                let _ = results_tx.send(result.map(|(object, _)| object.name));
                futures::future::ready(())
            }),
    );

    // The namespace is empty: the initial list ends with nothing in it.
    expect_next(&mut events, "the initial list to finish", |e| {
        assert!(!matches!(e, Event::InitApply(_) | Event::Apply(_)), "{e:?}");
        matches!(e, Event::InitDone)
    })
    .await;

    // Create: an Apply event, and one reconcile of generation 1.
    api.create(
        &PostParams::default(),
        &orglink_object("watched", &[TEST_FINALIZER]),
    )
    .await
    .unwrap();
    let Event::Apply(created) = expect_next(
        &mut events,
        "the create",
        |e| matches!(e, Event::Apply(o) if o.name_any() == "watched"),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.decision, LinkDecision::Accept);
    assert_eq!(created.spec.peer.organization_id, ACME_DR);
    assert_eq!(
        seen.recv().await.unwrap(),
        Seen {
            name: "watched".into(),
            generation: Some(1),
            decision: LinkDecision::Accept,
            deleting: false,
        }
    );
    assert_eq!(results.recv().await.unwrap().unwrap(), "watched");

    // Update: an Apply event with generation 2, and a reconcile of it.
    let decline = serde_json::json!({"spec": {"decision": "Decline"}});
    api.patch("watched", &PatchParams::default(), &Patch::Merge(&decline))
        .await
        .unwrap();
    let Event::Apply(updated) = expect_next(
        &mut events,
        "the update",
        |e| matches!(e, Event::Apply(o) if o.metadata.generation == Some(2)),
    )
    .await
    else {
        unreachable!()
    };
    assert_eq!(updated.spec.decision, LinkDecision::Decline);
    expect_next(&mut seen, "the reconcile of generation 2", |s| {
        s.generation == Some(2)
    })
    .await;

    // Delete: held by the finalizer, the reconciler sees the deletion and releases it,
    // then the watcher sees the object gone.
    api.delete("watched", &DeleteParams::default())
        .await
        .unwrap();
    let deleting = expect_next(&mut seen, "the reconcile of the deletion", |s| s.deleting).await;
    assert_eq!(deleting.name, "watched");
    assert_eq!(deleting.decision, LinkDecision::Decline);
    let Event::Delete(gone) =
        expect_next(&mut events, "the delete", |e| matches!(e, Event::Delete(_))).await
    else {
        unreachable!()
    };
    assert_eq!(gone.name_any(), "watched");
    assert!(gone.metadata.deletion_timestamp.is_some());
    assert!(api.get_opt("watched").await.unwrap().is_none());
    // The controller reports no reconcile error for the object (a deleted object is
    // not reconciled again: it is no longer in the store).
    while let Ok(result) = results.try_recv() {
        match result {
            Ok(name) => assert_eq!(name, "watched"),
            Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
                assert_eq!(object.name, "watched")
            }
            Err(e) => panic!("controller error: {e}"),
        }
    }
    controller.abort();
    watch.abort();
}

/// `kubectl apply` output lines, for exact comparisons.
fn lines(out: &str) -> Vec<&str> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test]
async fn kubectl_applies_the_installed_crds_and_every_example() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::Api;
    use orglink_operator::api::{OrgLink, OrgPairing, Organization};

    let client = support::client().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let names = [
        "organizations.orglink.dev",
        "orglinks.orglink.dev",
        "orgpairings.orglink.dev",
    ];
    let mut generations = Vec::new();
    for name in names {
        generations.push(crds.get(name).await.unwrap().metadata.generation);
    }
    // The CRDs are installed (server-side, by the fixture): the first client-side apply
    // only records its last-applied annotation, the second changes nothing.
    let crd_dir = root.join("crds");
    let crd_dir = crd_dir.to_str().unwrap();
    let (ok, out, err) = kubectl(&["apply", "-f", crd_dir], None);
    assert!(ok, "{err}");
    for name in names {
        let line = format!("customresourcedefinition.apiextensions.k8s.io/{name}");
        assert!(
            lines(&out).contains(&format!("{line} configured").as_str())
                || lines(&out).contains(&format!("{line} unchanged").as_str()),
            "{out}"
        );
    }
    let (ok, out, err) = kubectl(&["apply", "-f", crd_dir], None);
    assert!(ok, "{err}");
    assert_eq!(
        lines(&out),
        names
            .iter()
            .map(|n| format!("customresourcedefinition.apiextensions.k8s.io/{n} unchanged"))
            .collect::<Vec<_>>(),
    );
    // crds/ is exactly what was installed: the spec did not change.
    for (name, generation) in names.iter().zip(generations) {
        assert_eq!(
            crds.get(name).await.unwrap().metadata.generation,
            generation,
            "{name}"
        );
    }

    // Every manifest under examples/ (sandbox/ is the simulator's seed, not a
    // manifest), directory by directory as the README applies them.
    let examples = example_manifests(&root.join("examples"));
    let kinds: std::collections::BTreeSet<&str> = examples
        .iter()
        .flat_map(|(_, files)| files.iter().flat_map(|(_, docs)| docs.iter()))
        .map(|doc| doc.kind.as_str())
        .collect();
    for kind in ["Organization", "OrgLink", "OrgPairing"] {
        assert!(kinds.contains(kind), "no {kind} example in {kinds:?}");
    }
    // The namespaces they name that no example creates are created here (as
    // `sandbox --with-organizations` would). No other test of this binary uses them.
    let declared: std::collections::BTreeSet<String> = examples
        .iter()
        .flat_map(|(_, files)| files.iter().flat_map(|(_, docs)| docs.iter()))
        .filter(|doc| doc.kind == "Namespace")
        .map(|doc| doc.name.clone())
        .collect();
    let needed: std::collections::BTreeSet<String> = examples
        .iter()
        .flat_map(|(_, files)| files.iter().flat_map(|(_, docs)| docs.iter()))
        .filter_map(|doc| doc.namespace.clone())
        .filter(|ns| !declared.contains(ns))
        .collect();
    for ns in &needed {
        let (ok, out, err) = kubectl(&["create", "namespace", ns], None);
        assert!(ok, "{err}");
        assert_eq!(out.trim(), format!("namespace/{ns} created"));
    }
    // kubectl applies a directory's files in name order, each file's documents in
    // order: the first apply of an object creates it, a later one configures it (or
    // leaves it unchanged when it is the same).
    let mut last: std::collections::BTreeMap<(String, Option<String>, String), serde_json::Value> =
        Default::default();
    for (dir, files) in &examples {
        let path = root.join("examples").join(dir);
        let (ok, out, err) = kubectl(&["apply", "-f", path.to_str().unwrap()], None);
        assert!(ok, "examples/{dir}: {err}");
        assert!(!err.contains("Warning"), "examples/{dir}: {err}");
        let got = lines(&out);
        let docs: Vec<&ExampleDoc> = files.iter().flat_map(|(_, docs)| docs.iter()).collect();
        assert_eq!(got.len(), docs.len(), "examples/{dir}:\n{out}");
        for (line, doc) in got.iter().zip(docs) {
            let key = (doc.kind.clone(), doc.namespace.clone(), doc.name.clone());
            let object = format!("{}/{}", doc.resource(), doc.name);
            let expected: &[&str] = if last.contains_key(&key) {
                &["configured", "unchanged"]
            } else {
                &["created"]
            };
            assert!(
                expected
                    .iter()
                    .any(|verb| *line == format!("{object} {verb}")),
                "examples/{dir}: {line:?}, expected {object} {expected:?}"
            );
            last.insert(key, doc.object.clone());
        }
    }

    // What the API server holds is what the last manifest of each object says (both
    // read through the Rust types, so defaults compare equal).
    fn spec_of<K: serde::de::DeserializeOwned + serde::Serialize>(
        object: serde_json::Value,
        spec: impl Fn(&K) -> serde_json::Value,
    ) -> serde_json::Value {
        spec(&serde_json::from_value::<K>(object).unwrap())
    }
    for ((kind, ns, name), manifest) in &last {
        let ns = ns.as_deref().unwrap_or_default();
        let (stored, wanted) = match kind.as_str() {
            "Organization" => {
                let api = Api::<Organization>::namespaced(client.clone(), ns);
                let spec = |o: &Organization| serde_json::to_value(&o.spec).unwrap();
                let stored = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
                (spec_of(stored, spec), spec_of(manifest.clone(), spec))
            }
            "OrgLink" => {
                let api = Api::<OrgLink>::namespaced(client.clone(), ns);
                let spec = |o: &OrgLink| serde_json::to_value(&o.spec).unwrap();
                let stored = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
                (spec_of(stored, spec), spec_of(manifest.clone(), spec))
            }
            "OrgPairing" => {
                let api = Api::<OrgPairing>::namespaced(client.clone(), ns);
                let spec = |o: &OrgPairing| serde_json::to_value(&o.spec).unwrap();
                let stored = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
                (spec_of(stored, spec), spec_of(manifest.clone(), spec))
            }
            _ => {
                let mut args = vec!["get", kind.as_str(), name.as_str()];
                if !ns.is_empty() {
                    args.extend(["-n", ns]);
                }
                let (ok, _, err) = kubectl(&args, None);
                assert!(ok, "{kind} {ns}/{name}: {err}");
                continue;
            }
        };
        assert_eq!(stored, wanted, "{kind} {ns}/{name}");
    }
    // And kubectl lists exactly the examples' objects of the three kinds in the
    // examples' namespaces.
    let (ok, out, err) = kubectl(
        &[
            "get",
            "gcorg,olink,opair",
            "-A",
            "-o",
            "custom-columns=NS:.metadata.namespace,KIND:.kind,NAME:.metadata.name",
            "--no-headers",
        ],
        None,
    );
    assert!(ok, "{err}");
    let namespaces: std::collections::BTreeSet<String> =
        last.keys().filter_map(|(_, ns, _)| ns.clone()).collect();
    let mut in_examples_namespaces: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| cols.len() == 3 && namespaces.contains(cols[0]))
        .map(|cols| format!("{} {} {}", cols[0], cols[1], cols[2]))
        .collect();
    in_examples_namespaces.sort();
    let mut wanted: Vec<String> = last
        .keys()
        .filter(|(kind, _, _)| ["Organization", "OrgLink", "OrgPairing"].contains(&kind.as_str()))
        .map(|(kind, ns, name)| format!("{} {kind} {name}", ns.as_deref().unwrap_or_default()))
        .collect();
    wanted.sort();
    assert_eq!(in_examples_namespaces, wanted);
}

/// One document of an example manifest.
#[derive(Debug)]
struct ExampleDoc {
    kind: String,
    api_version: String,
    namespace: Option<String>,
    name: String,
    object: serde_json::Value,
}

impl ExampleDoc {
    /// The resource as kubectl names it in its output (`orglink.orglink.dev`, `secret`).
    fn resource(&self) -> String {
        let kind = self.kind.to_lowercase();
        match self.api_version.rsplit_once('/') {
            Some((group, _)) => format!("{kind}.{group}"),
            None => kind,
        }
    }
}

/// The example directories (all but `sandbox/`; of `gitops/` its `relationships/`), those that create a Namespace first,
/// then by name; each with its manifest files in name order, as kubectl reads them.
#[allow(clippy::type_complexity)]
fn example_manifests(dir: &std::path::Path) -> Vec<(String, Vec<(String, Vec<ExampleDoc>)>)> {
    use serde::Deserialize;
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().unwrap().is_dir() || name == "sandbox" {
            continue;
        }
        let mut path = entry.path();
        // `gitops/` holds Argo CD and Flux objects (their CRDs are not installed here;
        // tests/examples.rs checks them) beside the relationships they deliver.
        if name == "gitops" {
            path = path.join("relationships");
            name = "gitops/relationships".to_string();
        }
        let mut files = Vec::new();
        for file in std::fs::read_dir(&path).unwrap() {
            let file = file.unwrap().path();
            let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
            if !(file_name.ends_with(".yaml") || file_name.ends_with(".yml")) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let docs: Vec<ExampleDoc> = serde_yaml::Deserializer::from_str(&text)
                .map(|doc| serde_json::Value::deserialize(doc).unwrap())
                .filter(|v| !v.is_null())
                .map(|object| ExampleDoc {
                    kind: object["kind"].as_str().unwrap().to_string(),
                    api_version: object["apiVersion"].as_str().unwrap().to_string(),
                    namespace: object["metadata"]["namespace"].as_str().map(String::from),
                    name: object["metadata"]["name"].as_str().unwrap().to_string(),
                    object,
                })
                .collect();
            files.push((file_name, docs));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(!files.is_empty(), "examples/{name} has no manifest");
        dirs.push((name, files));
    }
    let creates_namespace = |files: &Vec<(String, Vec<ExampleDoc>)>| {
        files
            .iter()
            .any(|(_, docs)| docs.iter().any(|d| d.kind == "Namespace"))
    };
    dirs.sort_by(|a, b| {
        creates_namespace(&b.1)
            .cmp(&creates_namespace(&a.1))
            .then_with(|| a.0.cmp(&b.0))
    });
    dirs
}

/// `s` with every run of whitespace made one space (kubectl explain wraps text).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn kubectl_explain_shows_the_documented_fields() {
    let (ok, out, err) = kubectl(&["explain", "orglink.spec"], None);
    assert!(ok, "{err}");
    let text = one_line(&out);
    for expected in [
        "GROUP: orglink.dev",
        "KIND: OrgLink",
        "VERSION: v1alpha1",
        "FIELD: spec <Object>",
        "One voice organization link between the referenced Organization and a peer org.",
        "attempt <integer>",
        "Bump to ask again after the peer rejected the request or unlinked.",
        "decision <string>",
        "`Accept` requests or approves the link; `Decline` rejects, withdraws or unlinks it.",
        "organizationRef <string> -required-",
        "Name of the Organization (in this namespace) whose side this is. Immutable.",
        "peer <Object> -required-",
        "The org at the other end. Immutable.",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{out}");
    }

    let (ok, out, err) = kubectl(&["explain", "opair.spec.request"], None);
    assert!(ok, "{err}");
    let text = one_line(&out);
    for expected in [
        "KIND: OrgPairing",
        "FIELD: request <Object>",
        "Trustee side: ask the peer for access for some of our users and groups.",
        "groups <[]string>",
        "IDs of our groups who need access.",
        "users <[]string>",
        "IDs of our users who need access (at most 25 with `userEmails`).",
        "userEmails <[]string>",
        "groupNames <[]string>",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{out}");
    }
}

#[tokio::test]
async fn kubectl_wait_returns_once_the_status_subresource_says_ready() {
    use kube::api::{Api, Patch, PatchParams, PostParams};
    use orglink_operator::api::OrgLink;

    let client = support::client().await;
    let ns = support::namespace(&client, "cp-wait").await;
    let api: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    api.create(&PostParams::default(), &orglink_object("waited", &[]))
        .await
        .unwrap();

    // Not Ready yet: a short wait times out.
    let (ok, _, err) = kubectl(
        &[
            "wait",
            "-n",
            &ns,
            "--for=condition=Ready",
            "olink/waited",
            "--timeout=1s",
        ],
        None,
    );
    assert!(!ok, "no Ready condition yet");
    assert!(err.contains("timed out waiting for the condition"), "{err}");

    let mut wait = tokio::process::Command::from(support::control_plane().kubectl());
    wait.args([
        "wait",
        "-n",
        &ns,
        "--for=condition=Ready",
        "olink/waited",
        "--timeout=60s",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let mut wait = wait.spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        wait.try_wait().unwrap().is_none(),
        "kubectl wait returned before the condition was set"
    );

    let status = serde_json::json!({"status": {"conditions": [{
        "type": "Ready",
        "status": "True",
        "reason": "Linked",
        "message": "set by the test",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }]}});
    let patched = api
        .patch_status("waited", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    // Through the status subresource: the spec's generation did not move.
    assert_eq!(patched.metadata.generation, Some(1));
    assert!(orglink_operator::api::conditions::is_true(
        &patched.status.unwrap().conditions,
        "Ready"
    ));

    let out = tokio::time::timeout(Duration::from_secs(60), wait.wait_with_output())
        .await
        .expect("kubectl wait did not return")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "orglink.orglink.dev/waited condition met");
}

#[tokio::test]
async fn kubectl_delete_waits_for_the_finalizer() {
    use kube::api::{Api, Patch, PatchParams, PostParams};
    use orglink_operator::api::OrgLink;

    let client = support::client().await;
    let ns = support::namespace(&client, "cp-delete").await;
    let api: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    api.create(
        &PostParams::default(),
        &orglink_object("held", &[TEST_FINALIZER]),
    )
    .await
    .unwrap();

    let mut delete = tokio::process::Command::from(support::control_plane().kubectl());
    delete
        .args(["delete", "-n", &ns, "olink", "held", "--timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut delete = delete.spawn().unwrap();
    let what = "OrgLink held to get its deletionTimestamp";
    let marked = |l: Option<&OrgLink>| l.is_some_and(|l| l.metadata.deletion_timestamp.is_some());
    let marked = support::wait_for(&api, "held", what, Duration::from_secs(30), marked)
        .await
        .expect("the condition holds of a present object");
    assert_eq!(
        marked.metadata.finalizers.as_deref(),
        Some(&[TEST_FINALIZER.to_string()][..])
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        delete.try_wait().unwrap().is_none(),
        "kubectl delete returned while the finalizer held the object"
    );
    assert!(api.get_opt("held").await.unwrap().is_some());

    let remove = serde_json::json!({"metadata": {"finalizers": null}});
    api.patch("held", &PatchParams::default(), &Patch::Merge(&remove))
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), delete.wait_with_output())
        .await
        .expect("kubectl delete did not return")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("orglink.orglink.dev \"held\" deleted"),
        "{stdout}"
    );
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn kubectl_apply_is_refused_a_bad_uuid_and_a_changed_peer() {
    use kube::api::Api;
    use orglink_operator::api::OrgLink;

    let client = support::client().await;
    let ns = support::namespace(&client, "cp-invalid").await;

    let (ok, _, err) = kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&orglink_yaml(
            "bad-uuid",
            "23CC390C-9354-40E3-8E1F-39485D23D1F3",
            "Accept",
        )),
    );
    assert!(!ok, "an upper-case org ID must be rejected");
    assert!(
        err.contains(
            r#"spec.peer.organizationId: Invalid value: "23CC390C-9354-40E3-8E1F-39485D23D1F3": spec.peer.organizationId in body should match '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"#
        ),
        "{err}"
    );
    let api: Api<OrgLink> = Api::namespaced(client.clone(), &ns);
    assert!(api.get_opt("bad-uuid").await.unwrap().is_none());

    let (ok, out, err) = kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&orglink_yaml("to-acme-dr", ACME_DR, "Accept")),
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "orglink.orglink.dev/to-acme-dr created");
    let (ok, _, err) = kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&orglink_yaml("to-acme-dr", INITECH_WEST, "Accept")),
    );
    assert!(!ok, "a changed peer must be rejected");
    assert!(
        err.contains(
            "spec.peer: Invalid value: spec.peer is immutable: delete this OrgLink and create a new one for another peer"
        ),
        "{err}"
    );
    let stored = api.get("to-acme-dr").await.unwrap();
    assert_eq!(stored.spec.peer.organization_id, ACME_DR);
    assert_eq!(stored.metadata.generation, Some(1));
    // A mutable field still changes.
    let (ok, out, err) = kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&orglink_yaml("to-acme-dr", ACME_DR, "Decline")),
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "orglink.orglink.dev/to-acme-dr configured");
}

#[tokio::test]
async fn kubectl_server_side_apply_records_its_field_manager() {
    use kube::api::Api;
    use orglink_operator::api::{LinkDecision, OrgLink};

    let client = support::client().await;
    let ns = support::namespace(&client, "cp-ssa").await;
    let (ok, out, err) = kubectl(
        &["apply", "--server-side", "-n", &ns, "-f", "-"],
        Some(&orglink_yaml("ssa", ACME_DR, "Accept")),
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "orglink.orglink.dev/ssa serverside-applied");

    let (ok, out, err) = kubectl(
        &[
            "get",
            "olink",
            "ssa",
            "-n",
            &ns,
            "-o",
            "yaml",
            "--show-managed-fields",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("manager: kubectl"), "{out}");
    assert!(out.contains("operation: Apply"), "{out}");
    let stored = Api::<OrgLink>::namespaced(client.clone(), &ns)
        .get("ssa")
        .await
        .unwrap();
    let managers: Vec<(String, String)> = stored
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(managers, [("kubectl".to_string(), "Apply".to_string())]);

    // Another manager changing a field kubectl owns is a conflict naming both...
    let (ok, _, err) = kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager=someone-else",
            "-n",
            &ns,
            "-f",
            "-",
        ],
        Some(&orglink_yaml("ssa", ACME_DR, "Decline")),
    );
    assert!(!ok, "a conflicting server-side apply must fail");
    assert!(
        err.contains(r#"conflict with "kubectl": .spec.decision"#),
        "{err}"
    );
    // ...until it forces the conflict and takes the field over.
    let (ok, out, err) = kubectl(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=someone-else",
            "-n",
            &ns,
            "-f",
            "-",
        ],
        Some(&orglink_yaml("ssa", ACME_DR, "Decline")),
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "orglink.orglink.dev/ssa serverside-applied");
    let stored = Api::<OrgLink>::namespaced(client.clone(), &ns)
        .get("ssa")
        .await
        .unwrap();
    assert_eq!(stored.spec.decision, LinkDecision::Decline);
    assert!(
        stored
            .metadata
            .managed_fields
            .unwrap_or_default()
            .iter()
            .any(|m| m.manager.as_deref() == Some("someone-else")
                && m.operation.as_deref() == Some("Apply"))
    );
}
