//! Shared fixtures of the end-to-end tests: one real control plane per test binary
//! (started on first use), one namespace per test.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use orglink_operator::sandbox::{ControlPlane, ControlPlaneOptions};

/// The control plane of this test binary, with the CRDs installed. It lives until the
/// process exits; the process registry stops it then (statics are never dropped).
///
/// Fails the test with the launcher's message (which says to run `make kube-assets`)
/// when the binaries are missing: an end-to-end test never passes without its cluster.
pub fn control_plane() -> &'static ControlPlane {
    static CP: OnceLock<ControlPlane> = OnceLock::new();
    CP.get_or_init(|| {
        // Started on a runtime of its own: each #[tokio::test] has a runtime that
        // ends with the test, and the control plane must outlive them all.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
            rt.block_on(async {
                let options = ControlPlaneOptions {
                    controller_manager: with_controller_manager(),
                    ..ControlPlaneOptions::default()
                };
                let cp = ControlPlane::start(options)
                    .await
                    .unwrap_or_else(|e| panic!("sandbox control plane did not start: {e}"));
                let client = cp.client().await.expect("admin client");
                orglink_operator::sandbox::crds::install_crds(client, Duration::from_secs(60))
                    .await
                    .expect("installing the CRDs");
                cp
            })
        })
        .join()
        .unwrap_or_else(|_| panic!("starting the sandbox control plane panicked"))
    })
}

/// Whether the control plane runs kube-controller-manager: yes, unless
/// `ORGLINK_BENCH_CONTROLLER_MANAGER=0` (the benchmarks measure with and without it, since
/// its garbage collector watches their objects too).
fn with_controller_manager() -> bool {
    std::env::var("ORGLINK_BENCH_CONTROLLER_MANAGER").map_or(true, |v| v != "0")
}

/// An admin client bound to the calling test's runtime.
pub async fn client() -> kube::Client {
    control_plane().client().await.expect("admin client")
}

/// Creates a namespace named `{prefix}-{random}` for one test.
pub async fn namespace(client: &kube::Client, prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("creating the test namespace");
    name
}

/// Polls `check` every 100 ms until it returns `Some`, or panics with `what` after
/// `timeout` (generous: these are correctness waits, not speed checks).
///
/// For what has no single object to watch: simulator state, lists, Events, metrics,
/// HTTP answers. A condition of one Kubernetes object is awaited with
/// [`wait_for`] (a watch, `kube::runtime::wait::await_condition`).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let Ok(found) =
        orglink_operator::sandbox::wait::until(timeout, Duration::from_millis(100), async || {
            Ok::<_, std::convert::Infallible>(check().await)
        })
        .await;
    found.unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Waits until `cond` holds for the object `name` of `api`, watching that one object
/// (`kube::runtime::wait::await_condition`) instead of polling it, and returns the
/// object as it was then (`None` when the condition was its absence). Panics after
/// `timeout`, or on a watch error, with `what` (which names the object and the
/// condition).
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    timeout: Duration,
    cond: impl kube::runtime::wait::Condition<K>,
) -> Option<K>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let watched = kube::runtime::wait::await_condition(api.clone(), name, cond);
    match tokio::time::timeout(timeout, watched).await {
        Ok(Ok(object)) => object,
        Ok(Err(error)) => panic!("watching for {what}: {error}"),
        Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Waits until the object `name` of `api` is gone (`what` names it).
pub async fn wait_gone<K>(api: &Api<K>, name: &str, what: &str)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    wait_for(api, name, what, WAIT, |o: Option<&K>| o.is_none()).await;
}

/// The operator of this test binary, running against [`control_plane`] on a runtime of
/// its own, started on first use. Returns the address of its metrics endpoint. It
/// allows `spec.apiBaseUrl` on loopback over plain http: each test's simulator listens
/// on a port of its own.
pub fn operator() -> std::net::SocketAddr {
    operator_allowing(&["127.0.0.1"])
}

/// [`operator`], allowing only the given `spec.apiBaseUrl` hosts or URL prefixes (plain
/// http permitted) besides the Genesys Cloud hosts. The first call of a test binary
/// decides; later calls return the running operator.
pub fn operator_allowing(allowed: &[&str]) -> std::net::SocketAddr {
    static OPERATOR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    let addr = *OPERATOR.get_or_init(|| {
        tell_failing_tests_the_operators_fate();
        let cp = control_plane();
        let metrics_port = orglink_operator::sandbox::control_plane::free_port().unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{metrics_port}").parse().unwrap();
        let kubeconfig = cp.kubeconfig_yaml();
        let cert_dir = cp.data_dir().join("webhook-certs");
        let allowed: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("operator".into())
            .spawn(move || {
                let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
                rt.block_on(async move {
                    // The clients `orglink-operator run` builds: its calls to the API
                    // server bounded as deployed, the Lease's apart.
                    let clients = orglink_operator::runtime::kube_client::KubeClients::new(
                        config_from(&kubeconfig).await,
                        orglink_operator::runtime::kube_client::DEFAULT_MAX_IN_FLIGHT,
                    )
                    .expect("the operator's clients");
                    let client = clients.work.clone();
                    // The webhook is registered like the sandbox does, so every write
                    // in the tests goes through it.
                    let registered =
                        orglink_operator::sandbox::webhook::register(&client, &cert_dir)
                            .await
                            .expect("registering the webhook");
                    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                    let args = orglink_operator::cli::run::RunArgs {
                        metrics_addr: addr,
                        webhook_addr: registered.addr,
                        webhook_cert_dir: registered.cert_dir.clone(),
                        no_webhook: false,
                        // The scenarios use resyncs of a few seconds.
                        min_resync_interval: Duration::from_secs(1).into(),
                        ..orglink_operator::cli::run::RunArgs::loopback(&allowed)
                    };
                    let token = tokio_util::sync::CancellationToken::new();
                    let operator = tokio::spawn(orglink_operator::cli::run::run_operator(
                        clients, args, token,
                    ));
                    orglink_operator::sandbox::webhook::wait_ready(
                        registered.addr,
                        &registered.cert_dir,
                        Duration::from_secs(60),
                    )
                    .await
                    .expect("webhook ready");
                    ready_tx.send(()).unwrap();
                    let fate = match operator.await {
                        Ok(Err(e)) => format!("it stopped with an error: {e:#}"),
                        Err(e) => format!("its task failed: {e}"),
                        Ok(Ok(())) => "it returned without being asked to stop".to_string(),
                    };
                    operator_stopped(fate);
                });
            })
            .unwrap();
        ready_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the operator and its webhook did not start");
        addr
    });
    // A test that starts after the operator stopped fails at once, saying why, rather
    // than on its first write ("connection refused" from the webhook that went too).
    if let Some(fate) = OPERATOR_FATE.get() {
        panic!("the operator of this test binary had stopped: {fate}");
    }
    addr
}

/// Why the tests' operator stopped, once it has: it never should while tests run.
static OPERATOR_FATE: OnceLock<String> = OnceLock::new();

/// Records why the operator stopped and says so on the process's own stderr, which the
/// test harness does not capture: the test whose thread started the operator may pass
/// (and have its output discarded) while the others fail, e.g. with "connection
/// refused" from a webhook that went with it.
fn operator_stopped(fate: String) {
    use std::io::Write;
    let line = format!("\nthe operator of this test binary stopped: {fate}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    let _ = OPERATOR_FATE.set(fate);
}

/// Every test that fails after the operator stopped says so under its own panic
/// message (which the harness shows), so a failure is traced to its cause.
fn tell_failing_tests_the_operators_fate() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        if let Some(fate) = OPERATOR_FATE.get() {
            eprintln!("note: the operator of this test binary had stopped: {fate}");
        }
    }));
}

async fn config_from(kubeconfig: &str) -> kube::Config {
    orglink_operator::runtime::tls::ensure_crypto_provider();
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).unwrap();
    kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap()
}

/// One test's world: its own simulated Genesys Cloud (fresh state) and, per seeded
/// org, a namespace + Secret + Organization pointing at it.
pub struct World {
    pub client: kube::Client,
    pub sim: orglink_operator::sandbox::genesys_sim::SimHandle,
    /// Namespace (= Organization name) of each seeded org, by org name.
    pub namespaces: std::collections::BTreeMap<String, String>,
}

impl World {
    /// Starts the world; `resync` is every Organization's resyncInterval.
    pub async fn new(prefix: &str, resync: &str) -> Self {
        use kube::api::{Patch, PatchParams};
        use orglink_operator::api::Organization;
        use orglink_operator::sandbox::genesys_sim::cluster::{org_objects, slug};
        use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig};

        operator();
        let client = client().await;
        // Every world is its own Genesys Cloud: fresh org IDs, so worlds side by side in
        // the one cluster are never taken for the same orgs (the operator reads a peer's
        // OrgLink in the cluster by org ID, which Genesys Cloud keeps unique).
        let seed = orglink_operator::sandbox::genesys_sim::seed::default_seed()
            .into_iter()
            .map(|mut org| {
                org.id = uuid::Uuid::new_v4();
                org
            })
            .collect();
        let sim = GenesysSim::start(SimConfig::new(seed))
            .await
            .expect("simulator");
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
        let mut namespaces = std::collections::BTreeMap::new();
        let params = PatchParams::apply("orglink-tests").force();
        for org in sim.orgs().to_vec() {
            let name = format!("{prefix}-{}-{suffix}", slug(&org.name));
            let mut objects = org_objects(&org, &name, &sim.region_url(org.region));
            objects.organization.spec.resync_interval = Some(resync.to_string());
            Api::<Namespace>::all(client.clone())
                .patch(&name, &params, &Patch::Apply(&objects.namespace))
                .await
                .unwrap();
            Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &name)
                .patch(
                    &objects.secret.metadata.name.clone().unwrap(),
                    &params,
                    &Patch::Apply(&objects.secret),
                )
                .await
                .unwrap();
            Api::<Organization>::namespaced(client.clone(), &name)
                .patch(&name, &params, &Patch::Apply(&objects.organization))
                .await
                .unwrap();
            namespaces.insert(org.name.clone(), name);
        }
        Self {
            client,
            sim,
            namespaces,
        }
    }

    pub fn ns(&self, org: &str) -> &str {
        &self.namespaces[org]
    }

    pub fn org(&self, name: &str) -> orglink_operator::sandbox::genesys_sim::seed::SeedOrg {
        self.sim.org_by_name(name).unwrap().clone()
    }

    /// Waits until `org`'s Organization is Ready.
    pub async fn ready(&self, org: &str) {
        use orglink_operator::api::Organization;
        let api: Api<Organization> = Api::namespaced(self.client.clone(), self.ns(org));
        let name = self.ns(org).to_string();
        let ready = |o: Option<&Organization>| {
            o.and_then(|o| o.status.as_ref())
                .is_some_and(|s| orglink_operator::api::conditions::is_true(&s.conditions, "Ready"))
        };
        let what = format!("Organization {name} Ready");
        wait_for(&api, &name, &what, Duration::from_secs(60), ready).await;
    }
}

/// How long the scenario helpers wait for a phase (correctness waits, not speed checks).
pub const WAIT: Duration = Duration::from_secs(90);

/// Server-side applies `obj` in `ns` as the tests' field manager.
pub async fn apply<K>(client: &kube::Client, ns: &str, obj: &K)
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    use kube::api::{Patch, PatchParams};
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let name = obj.meta().name.clone().unwrap();
    api.patch(
        &name,
        &PatchParams::apply("orglink-tests").force(),
        &Patch::Apply(obj),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {ns}/{name}: {e}"));
}

/// An OrgLink of the Organization `org_ref` to the seeded org `peer`.
pub fn link(
    name: &str,
    org_ref: &str,
    peer: &orglink_operator::sandbox::genesys_sim::seed::SeedOrg,
    decision: orglink_operator::api::LinkDecision,
    attempt: i64,
) -> orglink_operator::api::OrgLink {
    orglink_operator::api::OrgLink::new(
        name,
        orglink_operator::api::OrgLinkSpec {
            organization_ref: org_ref.to_string(),
            peer: orglink_operator::api::PeerRef {
                organization_id: peer.id.to_string(),
                region: peer.region,
            },
            decision,
            attempt,
        },
    )
}

/// Waits until the OrgLink `ns/name` is in `phase`, and returns it.
pub async fn link_phase(
    client: &kube::Client,
    ns: &str,
    name: &str,
    phase: orglink_operator::api::OrgLinkPhase,
) -> orglink_operator::api::OrgLink {
    let api: Api<orglink_operator::api::OrgLink> = Api::namespaced(client.clone(), ns);
    let what = format!("OrgLink {ns}/{name} {phase:?}");
    let reached = |l: Option<&orglink_operator::api::OrgLink>| {
        l.and_then(|l| l.status.as_ref()?.phase) == Some(phase)
    };
    wait_for(&api, name, &what, WAIT, reached)
        .await
        .expect("the condition holds of a present object")
}

/// Waits until the OrgPairing `ns/name` is in `phase`, and returns it.
pub async fn pairing_phase(
    client: &kube::Client,
    ns: &str,
    name: &str,
    phase: orglink_operator::api::OrgPairingPhase,
) -> orglink_operator::api::OrgPairing {
    let api: Api<orglink_operator::api::OrgPairing> = Api::namespaced(client.clone(), ns);
    let what = format!("OrgPairing {ns}/{name} {phase:?}");
    let reached = |p: Option<&orglink_operator::api::OrgPairing>| {
        p.and_then(|p| p.status.as_ref()?.phase) == Some(phase)
    };
    wait_for(&api, name, &what, WAIT, reached)
        .await
        .expect("the condition holds of a present object")
}

/// Runs the control plane's matching kubectl with `args` (and `stdin`): whether it
/// succeeded, its stdout and its stderr.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = control_plane()
        .kubectl()
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kubectl");
    if let Some(input) = stdin {
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

/// An OrgLink manifest of the Organization `acme-prod` to `peer_id` in us-east-1.
pub fn orglink_yaml(name: &str, peer_id: &str, decision: &str) -> String {
    format!(
        r#"
apiVersion: orglink.dev/v1alpha1
kind: OrgLink
metadata: {{name: {name}}}
spec:
  organizationRef: acme-prod
  peer: {{organizationId: {peer_id}, region: us-east-1}}
  decision: {decision}
"#
    )
}

/// The `/metrics` text of an operator at `addr`, or `None` while it does not answer 200.
pub async fn metrics_text(addr: std::net::SocketAddr) -> Option<String> {
    let response = reqwest::get(format!("http://{addr}/metrics")).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

/// An admin client that reaches the API server through a loopback relay, and the token
/// that cuts it: from then on every connection of that client hangs unanswered (a
/// network partition), while [`client`] keeps working.
pub async fn cuttable_client() -> (kube::Client, tokio_util::sync::CancellationToken) {
    use tokio::net::{TcpListener, TcpStream};
    let cp = control_plane();
    let upstream = format!("127.0.0.1:{}", cp.api_port());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut = tokio_util::sync::CancellationToken::new();
    {
        let cut = cut.clone();
        tokio::spawn(async move {
            // Held, never read: a cut connection neither answers nor closes.
            let mut held = Vec::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut.is_cancelled() {
                    held.push(inbound);
                    continue;
                }
                let cut = cut.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                    // Dropped: the client's pooled connection ends and it reconnects,
                    // into the held ones.
                });
            }
        });
    }
    let kubeconfig = cp
        .kubeconfig_yaml()
        .replace(&cp.url(), &format!("https://127.0.0.1:{port}"));
    (
        kube::Client::try_from(config_from(&kubeconfig).await).unwrap(),
        cut,
    )
}

/// The helm the chart tests run: `$HELM` when set, else the version pinned in
/// `tools/helm/go.mod` that `make tools` builds (`scripts/helm.sh --check` prints it).
/// Fails the test with the fix when it is not built yet.
pub fn helm_path() -> std::path::PathBuf {
    if let Some(helm) = std::env::var_os("HELM").filter(|h| !h.is_empty()) {
        return helm.into();
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/helm.sh");
    let out = std::process::Command::new(&script)
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "helm is not built yet, so the chart cannot be tested: run `make tools` (builds the \
         helm pinned in tools/helm/go.mod from the Go module proxy, once), or set HELM to a \
         helm binary. {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().into()
}

/// Runs `kubectl orglink ARGS` (kubectl finds the plugin built by cargo on PATH):
/// whether it succeeded, its stdout and its stderr. Asynchronously: the simulator runs
/// on the test's runtime, and the plugin waits for the operator, which reads from it.
pub async fn kubectl_orglink(args: &[&str]) -> (bool, String, String) {
    let cp = control_plane();
    let plugin = std::path::Path::new(env!("CARGO_BIN_EXE_kubectl-orglink"));
    let path = std::env::join_paths(
        std::iter::once(plugin.parent().unwrap().to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap();
    let out = tokio::process::Command::new(cp.kubectl_path())
        .arg("orglink")
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", cp.kubeconfig_path())
        .output()
        .await
        .expect("running kubectl orglink");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A Genesys Cloud API client acting as the seeded `org` of `w`'s simulator: what an
/// admin does in the Genesys Cloud UI, outside the cluster.
pub fn genesys_as(
    w: &World,
    org: &orglink_operator::sandbox::genesys_sim::seed::SeedOrg,
) -> orglink_operator::genesys::GenesysClient {
    use orglink_operator::genesys::{Credentials, GenesysClient, GenesysConfig};
    orglink_operator::runtime::tls::ensure_crypto_provider();
    GenesysClient::new(
        GenesysConfig::new(
            org.region,
            Credentials::new(org.client_id.clone(), org.client_secret.expose()),
        )
        .with_label(format!("{} admin (test)", org.name))
        .with_api_base_url(w.sim.region_url(org.region)),
    )
    .expect("valid client settings")
}

/// The peer reference to a seeded org.
pub fn peer(
    org: &orglink_operator::sandbox::genesys_sim::seed::SeedOrg,
) -> orglink_operator::api::PeerRef {
    orglink_operator::api::PeerRef {
        organization_id: org.id.to_string(),
        region: org.region,
    }
}

/// Waits until the OrgPairing `ns/name`'s condition `type_` has `reason` and a message
/// containing `text`; returns its (status, message).
pub async fn pairing_condition(
    w: &World,
    ns: &str,
    name: &str,
    type_: &str,
    reason: &str,
    text: &str,
) -> (String, String) {
    let api: Api<orglink_operator::api::OrgPairing> = Api::namespaced(w.client.clone(), ns);
    eventually(
        &format!("OrgPairing {ns}/{name}: {type_} {reason} saying {text:?}"),
        WAIT,
        || async {
            let p = api.get_opt(name).await.ok().flatten()?;
            let c = p
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == type_)?;
            (c.reason == reason && c.message.contains(text)).then_some((c.status, c.message))
        },
    )
    .await
}

/// Applies the trustee OrgPairing `ns/name` asking `to` for `request`, waits until it
/// waits for confirmation and returns it.
pub async fn request_pairing(
    w: &World,
    ns: &str,
    name: &str,
    to: &orglink_operator::sandbox::genesys_sim::seed::SeedOrg,
    request: orglink_operator::api::PairingRequest,
) -> orglink_operator::api::OrgPairing {
    use orglink_operator::api::{OrgPairing, OrgPairingPhase, OrgPairingSpec};
    let pairing = OrgPairing::new(
        name,
        OrgPairingSpec {
            organization_ref: ns.to_string(),
            peer: peer(to),
            request: Some(request),
            grant: None,
        },
    );
    apply(&w.client, ns, &pairing).await;
    pairing_phase(&w.client, ns, name, OrgPairingPhase::WaitingForConfirmation).await
}

/// Lets two days pass on `w`'s simulator, so an unaccepted pairing lapses, and waits
/// until the trustee OrgPairing `ns/name` records a pairing other than `first`; returns
/// its ID. Only the simulated clock moves, not the operator's: the operator sees the expiry
/// when it reads its pairing again (once a resync), so worlds that use this want a short
/// resync.
pub async fn renewed_pairing(w: &World, ns: &str, name: &str, first: &str) -> String {
    w.sim
        .advance_clock(jiff::SignedDuration::from_hours(49))
        .unwrap();
    let pairings: Api<orglink_operator::api::OrgPairing> = Api::namespaced(w.client.clone(), ns);
    eventually("the trustee's pairing renewed", WAIT, || async {
        let id = pairings.get(name).await.ok()?.status?.pairing_id?;
        (id != first).then_some(id)
    })
    .await
}
