//! The chart, live: `helm install` of `charts/orglink-operator` into the sandbox's real
//! kube-apiserver, then the operator from the image `make image` built, run with podman
//! exactly as the chart's Deployment describes the pod (its init container, then its
//! container: the same arguments, environment, user, read-only root, dropped capabilities
//! and volumes), as the chart's ServiceAccount (a token from the TokenRequest API) through
//! in-cluster configuration. A reciprocal link and a pairing then converge against the
//! simulated Genesys Cloud, with the chart's fail-closed webhook judging every write.
//!
//! There is no kubelet, scheduler or kube-proxy: podman plays the kubelet (host network, so
//! the container reaches the API server and the simulator on loopback), and the API server
//! reaches the webhook through its egress selector: an HTTP CONNECT proxy on a Unix socket
//! that this test serves and that forwards to the container's webhook port. The chart's
//! ValidatingWebhookConfiguration is left exactly as installed (Service clientConfig,
//! caBundle patched by the init container): the API server resolves the Service to its
//! ClusterIP and verifies the serving certificate for `<service>.<namespace>.svc`, as in a
//! cluster; only the last hop (ClusterIP → pod) is the proxy's.
//!
//! Needs `make image`, `make tools` and `make kube-assets` (`make test` runs all three).

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, Secret, Service, ServiceAccount};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    LinkDecision, OrgLinkPhase, OrgPairing, OrgPairingPhase, OrgPairingSpec, Organization,
    PairingGrant, PairingRequest, PeerRef,
};
use orglink_operator::sandbox::control_plane::free_port;
use orglink_operator::sandbox::genesys_sim::cluster::{org_objects, slug};
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig, seed::default_seed};
use orglink_operator::sandbox::{ControlPlane, ControlPlaneOptions};
use serde_json::json;
use support::{WAIT, apply, eventually, link, link_phase, pairing_phase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RELEASE: &str = "olk";
const RELEASE_NAMESPACE: &str = "orglink-system";
/// The label the operator requires on credentials Secrets.
const CREDENTIALS_LABEL: &str = "orglink.dev/credentials";
/// The pod name podman's containers stand for (POD_NAME, hostname).
const POD_NAME: &str = "olk-orglink-operator-live-0";
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const ORGS: [&str; 3] = ["Acme Prod", "Acme DR", "MSP Prod"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `scripts/podman.sh ARGS` (podman with runc and the project's containers.conf).
fn podman(args: &[String]) -> Output {
    Command::new(repo().join("scripts/podman.sh"))
        .args(args)
        .output()
        .expect("running scripts/podman.sh")
}

/// The image `make image` built; fails the test with the fix when it is not there.
fn image() -> String {
    let out = Command::new(repo().join("scripts/image.sh"))
        .arg("--name")
        .output()
        .expect("running scripts/image.sh --name");
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let exists = podman(&["image".into(), "exists".into(), name.clone()]);
    assert!(
        exists.status.success(),
        "the operator image {name} is not built: run `make image` (`make test` does) {}",
        text(&exists)
    );
    name
}

/// A container that is removed when the test ends, however it ends.
struct Running {
    name: String,
}

impl Running {
    fn logs(&self) -> String {
        text(&podman(&["logs".into(), self.name.clone()]))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = podman(&[
            "rm".into(),
            "-f".into(),
            "-t".into(),
            "0".into(),
            self.name.clone(),
        ]);
    }
}

/// The API server's egress proxy for the `cluster` network: answers every HTTP CONNECT
/// (the API server dialing a webhook Service's ClusterIP) with a connection to the
/// container's webhook port on loopback, and records the targets asked for.
async fn serve_egress(
    listener: tokio::net::UnixListener,
    webhook_port: u16,
    targets: Arc<Mutex<Vec<String>>>,
) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let targets = targets.clone();
        tokio::spawn(async move {
            // The request head, byte by byte: the client speaks TLS only after our 200.
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                match conn.read_u8().await {
                    Ok(b) => head.push(b),
                    Err(_) => return,
                }
            }
            let head = String::from_utf8_lossy(&head);
            let Some(target) = head
                .strip_prefix("CONNECT ")
                .and_then(|rest| rest.split_whitespace().next())
            else {
                let _ = conn
                    .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                    .await;
                return;
            };
            targets.lock().unwrap().push(target.to_string());
            let Ok(mut upstream) =
                tokio::net::TcpStream::connect(("127.0.0.1", webhook_port)).await
            else {
                let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                return;
            };
            if conn
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .is_ok()
            {
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
            }
        });
    }
}

/// The egress selector configuration routing the API server's `cluster` traffic
/// (webhooks among it) through the proxy on `socket`.
fn egress_config(socket: &Path) -> String {
    format!(
        "apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n- name: cluster\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n      uds:\n        udsName: {}\n",
        socket.display()
    )
}

/// Runs the pinned helm against the control plane, its state kept in `home`.
fn helm(cp: &ControlPlane, home: &Path, args: &[&str]) -> Output {
    Command::new(support::helm_path())
        .args(args)
        .arg("--kubeconfig")
        .arg(cp.kubeconfig_path())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("running helm")
}

/// An admin-free client: the API server's URL and CA, authenticated by `token` only.
async fn client_with_token(cp: &ControlPlane, token: &str) -> kube::Client {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(cp.ca_cert_pem());
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster: {{server: '{}', certificate-authority-data: {ca}}}\nusers:\n- name: sa\n  user: {{token: '{token}'}}\ncontexts:\n- name: sa\n  context: {{cluster: sandbox, user: sa}}\ncurrent-context: sa\n",
        cp.url()
    );
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// What podman needs to run one of the pod's containers as the kubelet would.
struct Pod<'a> {
    spec: &'a PodSpec,
    image: &'a str,
    namespace: &'a str,
    /// Host directories standing for the pod's emptyDir volumes, by volume name.
    empty_dirs: BTreeMap<String, PathBuf>,
    service_account: &'a Path,
    api_port: u16,
}

impl Pod<'_> {
    /// `podman run` arguments for `container` (without `run` and the mode flags).
    fn run_args(&self, container: &Container) -> Vec<String> {
        let mut args = vec![
            "--network=host".to_string(),
            format!("--hostname={POD_NAME}"),
        ];
        let pod_sc = self.spec.security_context.clone().unwrap_or_default();
        let sc = container.security_context.clone().unwrap_or_default();
        let user = sc.run_as_user.or(pod_sc.run_as_user).expect("runAsUser");
        let group = sc.run_as_group.or(pod_sc.run_as_group).expect("runAsGroup");
        args.push(format!("--user={user}:{group}"));
        if sc.read_only_root_filesystem == Some(true) {
            // Only the pod's volumes are writable (podman would add tmpfs on /tmp, /run).
            args.push("--read-only".into());
            args.push("--read-only-tmpfs=false".into());
        }
        if sc.allow_privilege_escalation == Some(false) {
            args.push("--security-opt=no-new-privileges".into());
        }
        let drop = sc.capabilities.and_then(|c| c.drop).unwrap_or_default();
        if drop.iter().any(|c| c == "ALL") {
            args.push("--cap-drop=all".into());
        }
        for mount in container.volume_mounts.iter().flatten() {
            let dir = self.empty_dirs.get(&mount.name).unwrap_or_else(|| {
                panic!(
                    "volume {} is not an emptyDir: this test maps emptyDirs only",
                    mount.name
                )
            });
            let ro = if mount.read_only == Some(true) {
                ":ro"
            } else {
                ""
            };
            args.push(format!(
                "--volume={}:{}{ro}",
                dir.display(),
                mount.mount_path
            ));
        }
        // What the kubelet adds: the projected ServiceAccount token and the API address.
        args.push(format!(
            "--volume={}:{SA_DIR}:ro",
            self.service_account.display()
        ));
        args.push("--env=KUBERNETES_SERVICE_HOST=127.0.0.1".into());
        args.push(format!("--env=KUBERNETES_SERVICE_PORT={}", self.api_port));
        for env in container.env.iter().flatten() {
            let value = match (&env.value, &env.value_from) {
                (Some(v), None) => v.clone(),
                (None, Some(from)) => {
                    match from.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                        Some("metadata.name") => POD_NAME.to_string(),
                        Some("metadata.namespace") => self.namespace.to_string(),
                        other => panic!("env {}: unsupported valueFrom {other:?}", env.name),
                    }
                }
                _ => panic!("env {}: unsupported", env.name),
            };
            args.push(format!("--env={}={value}", env.name));
        }
        args.push(self.image.to_string());
        args.extend(container.args.iter().flatten().cloned());
        args
    }
}

/// Asserts that `result` is the API server's 403.
fn forbidden<T: std::fmt::Debug>(what: &str, result: Result<T, kube::Error>) {
    match result {
        Err(kube::Error::Api(e)) if e.code == 403 => {}
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

/// Each org's namespace and credentials Secret (labelled as the operator requires), and
/// its Organization, applied later (the webhook judges it, so it needs the operator).
async fn seed_orgs(
    admin: &kube::Client,
    sim: &orglink_operator::sandbox::genesys_sim::SimHandle,
    suffix: &str,
) -> (BTreeMap<&'static str, String>, Vec<Organization>) {
    let mut ns = BTreeMap::new();
    let mut organizations = Vec::new();
    let params = PatchParams::apply("orglink-tests").force();
    for org in ORGS {
        let seeded = sim.org_by_name(org).unwrap().clone();
        let name = format!("live-{}-{suffix}", slug(org));
        let mut objects = org_objects(&seeded, &name, &sim.region_url(seeded.region));
        objects.organization.spec.resync_interval = Some("1h".into());
        objects
            .secret
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(CREDENTIALS_LABEL.into(), "true".into());
        Api::<Namespace>::all(admin.clone())
            .patch(&name, &params, &Patch::Apply(&objects.namespace))
            .await
            .unwrap();
        apply(admin, &name, &objects.secret).await;
        organizations.push(objects.organization);
        ns.insert(org, name);
    }
    (ns, organizations)
}

/// The pod template of the chart's one Deployment, its images checked to be this version.
async fn chart_pod_spec(admin: &kube::Client) -> PodSpec {
    let mut deployments = Api::<Deployment>::namespaced(admin.clone(), RELEASE_NAMESPACE)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    assert_eq!(deployments.len(), 1, "the chart installs one Deployment");
    let spec = deployments.remove(0).spec.template.spec.expect("pod spec");
    let version = env!("CARGO_PKG_VERSION");
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        let wanted = c.image.as_deref().unwrap();
        assert!(
            wanted.ends_with(&format!(":{version}")),
            "{}: the chart's image {wanted} is not version {version}, the image built here",
            c.name
        );
    }
    spec
}

/// The value of `--NAME=VALUE` among `container`'s arguments.
fn flag(container: &Container, name: &str) -> String {
    let prefix = format!("--{name}=");
    container
        .args
        .iter()
        .flatten()
        .find_map(|a| a.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{} has no {prefix}", container.name))
        .to_string()
}

/// A token of the ServiceAccount `name` from the TokenRequest API, with no audiences:
/// the API server's own, as the kubelet's projected token carries.
async fn service_account_token(admin: &kube::Client, name: &str) -> String {
    let request: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}
    }))
    .unwrap();
    Api::<ServiceAccount>::namespaced(admin.clone(), RELEASE_NAMESPACE)
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .expect("TokenRequest")
        .status
        .and_then(|s| s.token)
        .expect("a token in the TokenRequest's status")
}

/// `dir` laid out as the kubelet mounts a ServiceAccount: token, ca.crt, namespace,
/// readable by the container's user.
fn mount_service_account(dir: &Path, token: &str, ca_pem: &str) {
    std::fs::create_dir(dir).unwrap();
    for (file, content) in [
        ("token", token),
        ("ca.crt", ca_pem),
        ("namespace", RELEASE_NAMESPACE),
    ] {
        std::fs::write(dir.join(file), content).unwrap();
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A host directory under `dir` for each emptyDir volume of the pod, shared by its
/// containers as an emptyDir is.
fn empty_dirs(spec: &PodSpec, dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut dirs = BTreeMap::new();
    for volume in spec.volumes.iter().flatten() {
        if volume.empty_dir.is_some() {
            let path = dir.join(&volume.name);
            std::fs::create_dir_all(&path).unwrap();
            // The containers' UID (65532) writes here.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o1777)).unwrap();
            dirs.insert(volume.name.clone(), path);
        }
    }
    dirs
}

/// Applies the Organizations, then drives a reciprocal link (Acme Prod ↔ Acme DR) to
/// Linked and a pairing (MSP Prod asks, Acme Prod grants) to Authorized on both sides.
async fn link_and_pair(
    admin: &kube::Client,
    sim: &orglink_operator::sandbox::genesys_sim::SimHandle,
    ns: &BTreeMap<&str, String>,
    organizations: &[Organization],
) {
    for organization in organizations {
        let name = organization.metadata.name.clone().unwrap();
        apply(admin, &name, organization).await;
    }
    for org in ORGS {
        let api: Api<Organization> = Api::namespaced(admin.clone(), &ns[org]);
        eventually(&format!("Organization {org} Ready"), WAIT, || async {
            let o = api.get_opt(&ns[org]).await.ok().flatten()?;
            orglink_operator::api::conditions::is_true(&o.status?.conditions, "Ready").then_some(())
        })
        .await;
    }
    let seeded = |org: &str| sim.org_by_name(org).unwrap().clone();
    let (prod, dr, msp) = (seeded("Acme Prod"), seeded("Acme DR"), seeded("MSP Prod"));
    let (prod_ns, dr_ns, msp_ns) = (&ns["Acme Prod"], &ns["Acme DR"], &ns["MSP Prod"]);
    apply(
        admin,
        prod_ns,
        &link("to-dr", prod_ns, &dr, LinkDecision::Accept, 0),
    )
    .await;
    apply(
        admin,
        dr_ns,
        &link("to-prod", dr_ns, &prod, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(admin, prod_ns, "to-dr", OrgLinkPhase::Linked).await;
    link_phase(admin, dr_ns, "to-prod", OrgLinkPhase::Linked).await;

    let user = msp.users[0].id.to_string();
    let request = OrgPairingSpec {
        organization_ref: msp_ns.clone(),
        peer: PeerRef {
            organization_id: prod.id.to_string(),
            region: prod.region,
        },
        request: Some(PairingRequest {
            users: vec![user.clone()],
            groups: vec![],
            ..PairingRequest::default()
        }),
        grant: None,
    };
    apply(admin, msp_ns, &OrgPairing::new("into-acme", request)).await;
    let waiting = pairing_phase(
        admin,
        msp_ns,
        "into-acme",
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    let pairing_id = waiting.status.unwrap().pairing_id.expect("pairing ID");
    let grant = OrgPairingSpec {
        organization_ref: prod_ns.clone(),
        peer: PeerRef {
            organization_id: msp.id.to_string(),
            region: msp.region,
        },
        request: None,
        grant: Some(PairingGrant {
            pairing_id: Some(pairing_id),
            enabled: true,
            expires_at: None,
            users: vec![GrantSubject {
                id: Some(user),
                roles: vec![RoleRef {
                    name: Some("Supervisor".into()),
                    id: None,
                    divisions: Vec::new(),
                }],
                ..GrantSubject::default()
            }],
            groups: vec![],
        }),
    };
    apply(admin, prod_ns, &OrgPairing::new("msp", grant)).await;
    pairing_phase(admin, prod_ns, "msp", OrgPairingPhase::Authorized).await;
    pairing_phase(admin, msp_ns, "into-acme", OrgPairingPhase::Authorized).await;

    // The webhook enforces: a link with oneself is refused at apply time.
    let selfie = link("me", prod_ns, &prod, LinkDecision::Accept, 0);
    let refused = Api::<orglink_operator::api::OrgLink>::namespaced(admin.clone(), prod_ns)
        .create(&PostParams::default(), &selfie)
        .await;
    match refused {
        Err(kube::Error::Api(e)) => assert!(
            e.message.contains("denied the request")
                && e.message.contains("is the ID of Organization"),
            "{e:?}"
        ),
        other => panic!("a link with oneself was not refused by the webhook: {other:?}"),
    }
}

/// What the chart's identity may not do: write Secrets, read them outside
/// watchNamespaces, touch a webhook configuration other than patching its own.
async fn assert_identity_is_limited(
    admin: &kube::Client,
    sa: &kube::Client,
    watched: &str,
    own_webhook_config: &str,
    suffix: &str,
) {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("planted".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    forbidden(
        "creating a Secret in a watched namespace",
        Api::<Secret>::namespaced(sa.clone(), watched)
            .create(&PostParams::default(), &secret)
            .await,
    );
    // RBAC lets it patch Secrets (the credentials-in-use finalizer); the chart's
    // ValidatingAdmissionPolicy lets that patch change nothing else.
    let planted = Api::<Secret>::namespaced(sa.clone(), watched)
        .patch(
            &format!("{watched}-oauth"),
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"clientSecret": "cGxhbnRlZA=="}})),
        )
        .await;
    if let Err(kube::Error::Api(e)) = &planted {
        assert!(
            e.message.contains("secret-guard"),
            "the data patch was refused, but not by the chart's policy: {e:?}"
        );
    }
    forbidden("patching an org's credentials Secret's data", planted);
    forbidden(
        "labelling an org's credentials Secret",
        Api::<Secret>::namespaced(sa.clone(), watched)
            .patch(
                &format!("{watched}-oauth"),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"taken": "over"}}})),
            )
            .await,
    );
    let outside = format!("outside-{suffix}");
    let namespace: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": outside}}),
    )
    .unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    Api::<Secret>::namespaced(admin.clone(), &outside)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    forbidden(
        "reading a Secret outside watchNamespaces",
        Api::<Secret>::namespaced(sa.clone(), &outside)
            .get("planted")
            .await,
    );
    forbidden(
        "listing Secrets in every namespace",
        Api::<Secret>::all(sa.clone())
            .list(&Default::default())
            .await,
    );

    let other: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": format!("someone-else-{suffix}")},
        "webhooks": [{
            "name": "someone.example.com",
            "clientConfig": {"url": "https://127.0.0.1:1/never"},
            "rules": [{"apiGroups": ["example.com"], "apiVersions": ["v1"],
                       "operations": ["CREATE"], "resources": ["nothings"]}],
            "failurePolicy": "Ignore",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"]
        }]
    }))
    .unwrap();
    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .create(&PostParams::default(), &other)
        .await
        .unwrap();
    let as_sa = Api::<ValidatingWebhookConfiguration>::all(sa.clone());
    let other_name = other.metadata.name.clone().unwrap();
    forbidden(
        "patching another ValidatingWebhookConfiguration",
        as_sa
            .patch(
                &other_name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"taken": "over"}}})),
            )
            .await,
    );
    forbidden(
        "reading another ValidatingWebhookConfiguration",
        as_sa.get(&other_name).await,
    );
    forbidden(
        "deleting the release's own ValidatingWebhookConfiguration",
        as_sa.delete(own_webhook_config, &Default::default()).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_runs_the_image_under_its_own_identity() {
    let began = Instant::now();
    let image = image();
    let work = tempfile::Builder::new()
        .prefix("orglink-chart-live-")
        .tempdir()
        .unwrap();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];

    // The API server's egress proxy, then the API server routed through it.
    let webhook_port = free_port().unwrap();
    let socket = work.path().join("egress.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let targets = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(serve_egress(listener, webhook_port, targets.clone()));
    let egress = work.path().join("egress.yaml");
    std::fs::write(&egress, egress_config(&socket)).unwrap();
    let cp = ControlPlane::start(ControlPlaneOptions {
        apiserver_args: vec![format!(
            "--egress-selector-config-file={}",
            egress.display()
        )],
        ..ControlPlaneOptions::default()
    })
    .await
    .expect("sandbox control plane");
    orglink_operator::runtime::tls::ensure_crypto_provider();
    let admin = cp.client().await.unwrap();
    let sim = GenesysSim::start(SimConfig::new(default_seed()))
        .await
        .expect("simulator");
    // The namespaces are the release's watchNamespaces: they exist before its Roles.
    let (ns, organizations) = seed_orgs(&admin, &sim, suffix).await;

    // helm install, with free ports for the three listeners (host network).
    let (metrics_port, health_port) = (free_port().unwrap(), free_port().unwrap());
    let watch = format!(
        "watchNamespaces={{{}}}",
        ns.values().cloned().collect::<Vec<_>>().join(",")
    );
    let ports = format!(
        "metrics.port={metrics_port},health.port={health_port},webhook.port={webhook_port}"
    );
    let allow = format!("apiBaseUrl.allow={{{}}}", sim.url());
    let chart = repo().join("charts/orglink-operator");
    let out = helm(
        &cp,
        &work.path().join("helm"),
        &[
            "install",
            RELEASE,
            chart.to_str().unwrap(),
            "--namespace",
            RELEASE_NAMESPACE,
            "--create-namespace",
            "--set",
            &watch,
            "--set",
            &ports,
            // The simulator is plain http on loopback: allowed explicitly, as a user
            // pointing the operator at a test server would have to.
            "--set",
            &allow,
            "--set",
            "apiBaseUrl.allowInsecureHttp=true",
        ],
    );
    assert!(out.status.success(), "helm install: {}", text(&out));

    // The pod as the chart's Deployment describes it, with the ServiceAccount's token.
    let spec = chart_pod_spec(&admin).await;
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .find(|c| c.name == "webhook-certs")
        .expect("the webhook-certs init container");
    let operator = spec
        .containers
        .iter()
        .find(|c| c.name == "operator")
        .expect("the operator container");
    let token = service_account_token(&admin, spec.service_account_name.as_deref().unwrap()).await;
    let sa_dir = work.path().join("serviceaccount");
    mount_service_account(&sa_dir, &token, cp.ca_cert_pem());
    let pod = Pod {
        spec: &spec,
        image: &image,
        namespace: RELEASE_NAMESPACE,
        empty_dirs: empty_dirs(&spec, &work.path().join("volumes")),
        service_account: &sa_dir,
        api_port: cp.api_port(),
    };

    // The init container: certificates in the Secret, caBundle patched, files written.
    let mut run = vec!["run".to_string(), "--rm".to_string()];
    run.extend(pod.run_args(init));
    let out = podman(&run);
    let init_logs = text(&out);
    assert!(out.status.success(), "webhook-certs failed:\n{init_logs}");
    let tls = Api::<Secret>::namespaced(admin.clone(), RELEASE_NAMESPACE)
        .get(&flag(init, "secret-name"))
        .await
        .expect("the webhook certificate Secret");
    let ca = tls.data.unwrap()["ca.crt"].0.clone();
    let webhook_config = flag(init, "webhook-config-name");
    let config = Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .get(&webhook_config)
        .await
        .unwrap();
    for webhook in config.webhooks.iter().flatten() {
        assert_eq!(
            webhook.client_config.ca_bundle.as_ref().map(|b| &b.0),
            Some(&ca),
            "{}: caBundle is the CA of the Secret",
            webhook.name
        );
        assert!(
            webhook.client_config.service.is_some(),
            "clientConfig untouched"
        );
    }

    // The operator container, detached; removed at the end whatever happens.
    let container = Running {
        name: format!("orglink-live-{suffix}"),
    };
    let mut run = vec![
        "run".to_string(),
        "--detach".to_string(),
        format!("--name={}", container.name),
    ];
    run.extend(pod.run_args(operator));
    let out = podman(&run);
    assert!(out.status.success(), "podman run: {}", text(&out));
    let readyz = format!("http://127.0.0.1:{health_port}/readyz");
    eventually("the operator's /readyz", WAIT, || async {
        let r = reqwest::get(&readyz).await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;

    link_and_pair(&admin, &sim, &ns, &organizations).await;
    // The API server reached the webhook through the chart's Service (its ClusterIP:443).
    let service = Api::<Service>::namespaced(admin.clone(), RELEASE_NAMESPACE)
        .get(&flag(init, "service-name"))
        .await
        .unwrap();
    let cluster_ip = service.spec.unwrap().cluster_ip.unwrap();
    let dialed = targets.lock().unwrap().clone();
    assert!(
        !dialed.is_empty(),
        "the API server never called the webhook"
    );
    assert!(
        dialed.iter().all(|t| *t == format!("{cluster_ip}:443")),
        "webhook calls went to {dialed:?}, not the Service {cluster_ip}:443"
    );

    let sa = client_with_token(&cp, &token).await;
    assert_identity_is_limited(&admin, &sa, &ns["Acme Prod"], &webhook_config, suffix).await;

    // SIGTERM, as the kubelet stops a pod: the operator exits 0 (PID 1, no shell).
    let out = podman(&[
        "stop".into(),
        "-t".into(),
        "60".into(),
        container.name.clone(),
    ]);
    assert!(out.status.success(), "podman stop: {}", text(&out));
    let out = podman(&[
        "inspect".into(),
        "--format={{.State.ExitCode}}".into(),
        container.name.clone(),
    ]);
    let logs = container.logs();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0",
        "exit code after SIGTERM; logs:\n{logs}"
    );
    for (who, logs) in [("webhook-certs", &init_logs), ("operator", &logs)] {
        assert!(
            !logs.to_lowercase().contains("forbidden"),
            "{who} was refused something by RBAC:\n{logs}"
        );
    }
    eprintln!(
        "chart live test: {:.0?} (helm install, init container, convergence, RBAC checks); \
         {} webhook connections through the Service; operator log: {} lines",
        began.elapsed(),
        dialed.len(),
        logs.lines().count()
    );
    if std::env::var_os("ORGLINK_SHOW_LOGS").is_some() {
        eprintln!("--- webhook-certs\n{init_logs}\n--- operator\n{logs}");
    }
    drop(container);
    sim.shutdown().await;
    drop(cp);
}

#[test]
fn the_image_prints_its_version() {
    let out = podman(&["run".into(), "--rm".into(), image(), "--version".into()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("orglink-operator {}", env!("CARGO_PKG_VERSION"))
    );
}
