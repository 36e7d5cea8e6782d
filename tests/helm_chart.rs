//! The Helm chart `charts/orglink-operator`: `helm lint`, `helm template` for the value sets
//! users pick (default, cert-manager, `watchNamespaces`, webhook off, single replica), and the
//! properties of the rendered objects that matter for security and availability: RBAC
//! without wildcards and with exactly the permissions the operator needs, a webhook that fails
//! closed for the three kinds of `orglink.dev` and nothing else, leader election whenever
//! there is more than one replica, a restricted pod, and wiring (ports, names, selectors) that
//! agrees across objects.
//!
//! These tests need the real `helm` binary, the version pinned in `tools/helm/go.mod`, which
//! `make tools` (and so `make test`) builds once with `scripts/helm.sh`. Without it they fail,
//! saying so. `tests/chart_live.rs` installs the chart and runs the operator's image under it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::{Value, json};

const RELEASE: &str = "olk";
const NAMESPACE: &str = "orglink-system";
/// Full name of the release's objects: `<release>-<chart>`.
const FULLNAME: &str = "olk-orglink-operator";
const KINDS: [&str; 3] = ["organizations", "orglinks", "orgpairings"];

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/orglink-operator")
}

/// Runs `helm ARGS` (the pinned helm; the test fails with the fix when it is not built).
fn helm(args: &[&str]) -> Output {
    Command::new(support::helm_path())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run helm: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The objects `helm template` printed, in order.
struct Rendered {
    objects: Vec<Value>,
}

impl Rendered {
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} named {name} rendered; got {:?}", self.index()))
    }

    fn has(&self, kind: &str) -> bool {
        !self.of_kind(kind).is_empty()
    }

    /// (kind, namespace, name) of every object, for assertion messages and set checks.
    fn index(&self) -> BTreeSet<(String, String, String)> {
        self.objects
            .iter()
            .map(|o| {
                (
                    str_of(&o["kind"]),
                    str_of(&o["metadata"]["namespace"]),
                    str_of(&o["metadata"]["name"]),
                )
            })
            .collect()
    }

    /// The one object of `kind` (the chart renders exactly one Deployment, one webhook
    /// configuration).
    fn single(&self, kind: &str) -> &Value {
        let all = self.of_kind(kind);
        assert_eq!(all.len(), 1, "expected one {kind}; got {:?}", self.index());
        all[0]
    }

    fn deployment(&self) -> &Value {
        self.single("Deployment")
    }

    fn pod_spec(&self) -> &Value {
        &self.deployment()["spec"]["template"]["spec"]
    }

    fn operator_container(&self) -> &Value {
        self.pod_spec()["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .find(|c| c["name"] == "operator")
            .expect("a container named operator")
    }

    fn run_args(&self) -> Vec<String> {
        strings(&self.operator_container()["args"])
    }

    fn webhook_config(&self) -> &Value {
        self.single("ValidatingWebhookConfiguration")
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(str_of).collect())
        .unwrap_or_default()
}

fn parse_documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .filter_map(|doc| {
            let v = Value::deserialize(doc).expect("helm printed YAML that does not parse");
            (!v.is_null()).then_some(v)
        })
        .collect()
}

/// `helm template` with the given `--set`/`--set-string`/`-f` arguments; panics with helm's
/// error when rendering fails.
fn render(extra: &[&str]) -> Rendered {
    let out = render_raw(extra);
    assert!(
        out.status.success(),
        "helm template {extra:?} failed:\n{}",
        text(&out.stderr)
    );
    let objects = parse_documents(&text(&out.stdout));
    assert!(
        !objects.is_empty(),
        "helm template {extra:?} rendered nothing"
    );
    Rendered { objects }
}

fn render_raw(extra: &[&str]) -> Output {
    let chart = chart_dir();
    let mut args = vec![
        "template",
        RELEASE,
        chart.to_str().unwrap(),
        "--namespace",
        NAMESPACE,
    ];
    args.extend_from_slice(extra);
    helm(&args)
}

/// Rendering must fail, and helm's message must contain every one of `needles`.
fn render_fails(extra: &[&str], needles: &[&str]) {
    let out = render_raw(extra);
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "helm template {extra:?} should have failed but rendered:\n{}",
        text(&out.stdout)
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "helm template {extra:?}: error does not mention {needle:?}:\n{stderr}"
        );
    }
}

const CERT_MANAGER: &[&str] = &["--set", "webhook.certManager.enabled=true"];
const WATCH_NAMESPACES: &[&str] = &["--set", "watchNamespaces={team-a,team-b}"];

/// The value sets the tests render; every property that must hold whatever the values is
/// checked on all of them.
fn all_value_sets() -> Vec<(&'static str, Rendered)> {
    vec![
        ("default", render(&[])),
        ("cert-manager", render(CERT_MANAGER)),
        ("watchNamespaces", render(WATCH_NAMESPACES)),
        (
            "watchNamespaces + cert-manager + ServiceMonitor",
            render(&[
                "--set",
                "watchNamespaces={team-a}",
                "--set",
                "webhook.certManager.enabled=true",
                "--set",
                "metrics.serviceMonitor.enabled=true",
            ]),
        ),
        (
            "single replica, webhook off",
            render(&[
                "--set",
                "replicaCount=1",
                "--set",
                "leaderElection.enabled=false",
                "--set",
                "webhook.enabled=false",
            ]),
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// lint, CRDs, schema

#[test]
fn helm_lint_is_clean_for_every_mode() {
    let chart = chart_dir();
    for extra in [&[][..], CERT_MANAGER, WATCH_NAMESPACES] {
        let mut args = vec!["lint", "--strict", chart.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = helm(&args);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "helm lint {extra:?} failed:\n{all}");
        assert!(
            !all.contains("[WARNING]") && !all.contains("[ERROR]"),
            "helm lint {extra:?} is not clean:\n{all}"
        );
        assert!(
            all.contains("0 chart(s) failed"),
            "unexpected lint output:\n{all}"
        );
    }
}

#[test]
fn chart_crds_are_identical_to_the_repository_crds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = std::fs::read(root.join("crds/orglink-crds.yaml")).expect("crds/orglink-crds.yaml");
    let chart = std::fs::read(chart_dir().join("crds/orglink-crds.yaml"))
        .expect("charts/orglink-operator/crds/orglink-crds.yaml");
    assert!(
        repo == chart,
        "charts/orglink-operator/crds/orglink-crds.yaml differs from crds/orglink-crds.yaml; \
         fix: cp crds/orglink-crds.yaml charts/orglink-operator/crds/"
    );
    // The chart ships nothing else under crds/ (Helm installs every file there).
    let files: Vec<_> = std::fs::read_dir(chart_dir().join("crds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["orglink-crds.yaml"]);
    let crds = parse_documents(&text(&chart));
    let names: BTreeSet<_> = crds
        .iter()
        .map(|c| str_of(&c["metadata"]["name"]))
        .collect();
    let expected: BTreeSet<_> = KINDS.iter().map(|k| format!("{k}.orglink.dev")).collect();
    assert_eq!(names, expected);
}

#[test]
fn chart_metadata_versions() {
    let chart: Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap())
            .unwrap();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "orglink-operator");
    assert_eq!(chart["version"], "0.1.0");
    assert_eq!(chart["appVersion"], "0.1.0");
    // The image tag defaults to the appVersion.
    let r = render(&[]);
    assert_eq!(
        r.operator_container()["image"],
        "ghcr.io/orglink-dev/orglink-operator:0.1.0"
    );
    let r = render(&[
        "--set",
        "image.repository=registry.example/orglink",
        "--set",
        "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ]);
    assert_eq!(
        r.operator_container()["image"],
        "registry.example/orglink@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
}

#[test]
fn values_schema_rejects_mistakes_naming_the_value() {
    render_fails(&["--set", "logFormat=xml"], &["/logFormat", "json"]);
    render_fails(&["--set", "replicaCount=two"], &["/replicaCount"]);
    render_fails(&["--set", "replicas=2"], &["replicas"]);
    render_fails(
        &["--set", "watchNamespaces={Team_A}"],
        &["/watchNamespaces/0"],
    );
    render_fails(
        &["--set", "webhook.timeoutSeconds=31"],
        &["/webhook/timeoutSeconds"],
    );
    render_fails(&["--set", "webhook.port=70000"], &["/webhook/port"]);
    render_fails(
        &["--set", "webhook.failurePolicy=Open"],
        &["/webhook/failurePolicy"],
    );
    render_fails(
        &["--set", "webhook.certManager.issuerRef.kind=ClusterIssuer"],
        &["/webhook/certManager/issuerRef"],
    );
    render_fails(&["--set", "image.digest=latest"], &["/image/digest"]);
    render_fails(
        &["--set", "apiBaseUrl.allow={not a host}"],
        &["/apiBaseUrl/allow/0"],
    );
    // Plain http only with allowInsecureHttp: credentials would travel unencrypted.
    render_fails(
        &["--set", "apiBaseUrl.allow={http://10.0.0.5:8080}"],
        &["/apiBaseUrl/allow/0"],
    );
}

// ---------------------------------------------------------------------------------------
// what is rendered

#[test]
fn default_values_render_the_expected_objects() {
    let r = render(&[]);
    assert_eq!(r.deployment()["metadata"]["name"], FULLNAME);
    assert_eq!(
        r.webhook_config()["metadata"]["name"],
        format!("{FULLNAME}-validating")
    );
    let kinds: BTreeMap<String, usize> = r.objects.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(str_of(&o["kind"])).or_default() += 1;
        m
    });
    let expected: BTreeMap<String, usize> = [
        ("ServiceAccount", 1),
        // manager rules + the webhook configuration's caBundle patch
        ("ClusterRole", 2),
        ("ClusterRoleBinding", 2),
        // the Lease + the webhook certificate Secret
        ("Role", 2),
        ("RoleBinding", 2),
        ("Service", 1),
        ("Deployment", 1),
        ("PodDisruptionBudget", 1),
        ("ValidatingWebhookConfiguration", 1),
        // the secret-guard: the operator may change only a Secret's finalizers
        ("ValidatingAdmissionPolicy", 1),
        ("ValidatingAdmissionPolicyBinding", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds, expected, "rendered: {:#?}", r.index());
    // Namespaced objects all go to the release namespace.
    for o in &r.objects {
        let kind = str_of(&o["kind"]);
        let cluster_scoped = matches!(
            kind.as_str(),
            "ClusterRole"
                | "ClusterRoleBinding"
                | "ValidatingWebhookConfiguration"
                | "ValidatingAdmissionPolicy"
                | "ValidatingAdmissionPolicyBinding"
        );
        let ns = &o["metadata"]["namespace"];
        if cluster_scoped {
            assert!(
                ns.is_null(),
                "{kind} is cluster-scoped but has namespace {ns}"
            );
        } else {
            assert_eq!(ns, NAMESPACE, "{kind} {}", o["metadata"]["name"]);
        }
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/instance"],
            RELEASE
        );
    }
}

#[test]
fn cluster_scoped_names_are_release_scoped() {
    // Two releases (e.g. shards by namespace) never collide on cluster-scoped objects.
    let a = render(WATCH_NAMESPACES);
    let out = helm(&[
        "template",
        "shard2",
        chart_dir().to_str().unwrap(),
        "--namespace",
        NAMESPACE,
        "--set",
        "watchNamespaces={team-c}",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let b = Rendered {
        objects: parse_documents(&text(&out.stdout)),
    };
    let cluster = |r: &Rendered| -> BTreeSet<(String, String)> {
        r.index()
            .into_iter()
            .filter(|(_, ns, _)| ns.is_empty())
            .map(|(k, _, n)| (k, n))
            .collect()
    };
    let (ca, cb) = (cluster(&a), cluster(&b));
    assert!(!ca.is_empty());
    assert!(ca.is_disjoint(&cb), "{ca:?} and {cb:?} overlap");
    // Namespaced objects of two releases in the same namespace do not collide either.
    let ia: BTreeSet<_> = a.index().into_iter().collect();
    let ib: BTreeSet<_> = b.index().into_iter().collect();
    assert!(
        ia.is_disjoint(&ib),
        "{:?}",
        ia.intersection(&ib).collect::<Vec<_>>()
    );
    // And each has its own Lease.
    let lease = |r: &Rendered| {
        r.run_args()
            .into_iter()
            .find(|a| a.starts_with("--lease-name="))
            .unwrap()
    };
    assert_ne!(lease(&a), lease(&b));
}

// ---------------------------------------------------------------------------------------
// RBAC

/// One permission: (scope, apiGroup, resource, verb, resourceName or "").
/// scope is "cluster" for a ClusterRole bound by a ClusterRoleBinding, else the namespace.
type Grant = (String, String, String, String, String);

/// Every permission the release's ServiceAccount receives, following the bindings, so a
/// role that is bound to nobody or a binding to someone else does not count.
fn grants(r: &Rendered) -> BTreeSet<Grant> {
    let sa = (
        NAMESPACE.to_string(),
        str_of(&r.get("ServiceAccount", FULLNAME)["metadata"]["name"]),
    );
    let mut out = BTreeSet::new();
    for binding in r
        .of_kind("ClusterRoleBinding")
        .into_iter()
        .chain(r.of_kind("RoleBinding"))
    {
        let binds_sa = binding["subjects"].as_array().unwrap().iter().any(|s| {
            s["kind"] == "ServiceAccount" && (str_of(&s["namespace"]), str_of(&s["name"])) == sa
        });
        assert!(
            binds_sa,
            "binding {} binds someone else",
            binding["metadata"]["name"]
        );
        let role_ref = &binding["roleRef"];
        let binding_ns = str_of(&binding["metadata"]["namespace"]);
        let role = match str_of(&role_ref["kind"]).as_str() {
            "ClusterRole" => r.get("ClusterRole", role_ref["name"].as_str().unwrap()),
            "Role" => {
                // A RoleBinding can only refer to a Role in its own namespace.
                let roles_here: Vec<_> = r
                    .of_kind("Role")
                    .into_iter()
                    .filter(|x| {
                        x["metadata"]["name"] == role_ref["name"]
                            && x["metadata"]["namespace"] == binding_ns.as_str()
                    })
                    .collect();
                assert_eq!(
                    roles_here.len(),
                    1,
                    "Role {role_ref} missing in {binding_ns}"
                );
                roles_here[0]
            }
            other => panic!("unexpected roleRef kind {other}"),
        };
        let scope = if binding["kind"] == "ClusterRoleBinding" {
            "cluster".to_string()
        } else {
            binding_ns.clone()
        };
        for rule in role["rules"].as_array().unwrap() {
            let names = strings(&rule["resourceNames"]);
            let names = if names.is_empty() {
                vec![String::new()]
            } else {
                names
            };
            for g in strings(&rule["apiGroups"]) {
                for res in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        for n in &names {
                            out.insert((
                                scope.clone(),
                                g.clone(),
                                res.clone(),
                                verb.clone(),
                                n.clone(),
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The permissions of the controllers and webhook caches in one scope.
fn manager_grants(scope: &str) -> BTreeSet<Grant> {
    let mut g = BTreeSet::new();
    let mut add = |group: &str, res: &str, verbs: &[&str]| {
        for v in verbs {
            g.insert((
                scope.into(),
                group.into(),
                res.into(),
                (*v).into(),
                String::new(),
            ));
        }
    };
    for kind in KINDS {
        add(
            "orglink.dev",
            kind,
            &["get", "list", "watch", "patch", "update"],
        );
        add(
            "orglink.dev",
            &format!("{kind}/status"),
            &["get", "patch", "update"],
        );
        add("orglink.dev", &format!("{kind}/finalizers"), &["update"]);
    }
    add("", "secrets", &["get", "list", "watch"]);
    // The credentials-in-use finalizer on the Secrets Organizations use.
    add("", "secrets", &["patch"]);
    add("events.k8s.io", "events", &["create", "patch"]);
    g
}

fn lease_grants() -> BTreeSet<Grant> {
    let lease = FULLNAME.to_string();
    let g = |verb: &str, name: &str| {
        (
            NAMESPACE.to_string(),
            "coordination.k8s.io".to_string(),
            "leases".to_string(),
            verb.to_string(),
            name.to_string(),
        )
    };
    [
        g("create", ""),
        g("get", &lease),
        g("update", &lease),
        g("patch", &lease),
    ]
    .into()
}

fn self_managed_cert_grants() -> BTreeSet<Grant> {
    let secret = format!("{FULLNAME}-webhook-tls");
    let vwc = format!("{FULLNAME}-validating");
    let s = |verb: &str, name: &str| {
        (
            NAMESPACE.to_string(),
            String::new(),
            "secrets".to_string(),
            verb.to_string(),
            name.to_string(),
        )
    };
    let w = |verb: &str| {
        (
            "cluster".to_string(),
            "admissionregistration.k8s.io".to_string(),
            "validatingwebhookconfigurations".to_string(),
            verb.to_string(),
            vwc.clone(),
        )
    };
    [
        s("create", ""),
        s("get", &secret),
        s("update", &secret),
        s("patch", &secret),
        w("get"),
        w("patch"),
    ]
    .into()
}

#[test]
fn rbac_is_exactly_the_least_privilege_set() {
    // Default: cluster-wide manager rules, the Lease, the self-managed certificate.
    let r = render(&[]);
    let expected: BTreeSet<Grant> = manager_grants("cluster")
        .into_iter()
        .chain(lease_grants())
        .chain(self_managed_cert_grants())
        .collect();
    assert_eq!(grants(&r), expected);

    // cert-manager: no Secret writes and no webhook configuration patch at all.
    let r = render(CERT_MANAGER);
    let expected: BTreeSet<Grant> = manager_grants("cluster")
        .into_iter()
        .chain(lease_grants())
        .collect();
    assert_eq!(grants(&r), expected);

    // watchNamespaces: nothing cluster-wide but the one webhook configuration.
    let r = render(WATCH_NAMESPACES);
    let expected: BTreeSet<Grant> = manager_grants("team-a")
        .into_iter()
        .chain(manager_grants("team-b"))
        .chain(lease_grants())
        .chain(self_managed_cert_grants())
        .collect();
    assert_eq!(grants(&r), expected);

    // Single replica without leader election: no Lease permission.
    let r = render(&[
        "--set",
        "replicaCount=1",
        "--set",
        "leaderElection.enabled=false",
    ]);
    assert!(grants(&r).iter().all(|g| g.2 != "leases"));

    // rbac.create=false renders no RBAC object (the user brings their own).
    let r = render(&["--set", "rbac.create=false"]);
    for kind in ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"] {
        assert!(!r.has(kind), "{kind} rendered with rbac.create=false");
    }
}

#[test]
fn rbac_has_no_wildcards_and_no_destructive_verbs() {
    for (name, r) in all_value_sets() {
        let roles: Vec<_> = r
            .of_kind("ClusterRole")
            .into_iter()
            .chain(r.of_kind("Role"))
            .collect();
        assert!(!roles.is_empty(), "{name}: no RBAC rendered");
        for role in roles {
            for rule in role["rules"].as_array().unwrap() {
                for field in ["apiGroups", "resources", "verbs", "resourceNames"] {
                    for v in strings(&rule[field]) {
                        assert!(
                            !v.contains('*'),
                            "{name}: {} has a wildcard in {field}: {rule}",
                            role["metadata"]["name"]
                        );
                    }
                }
                assert!(rule["nonResourceURLs"].is_null(), "{name}: {rule}");
                for verb in strings(&rule["verbs"]) {
                    assert!(
                        !matches!(
                            verb.as_str(),
                            "delete" | "deletecollection" | "escalate" | "bind" | "impersonate"
                        ),
                        "{name}: {} grants {verb}",
                        role["metadata"]["name"]
                    );
                }
                // Secrets are updated only with resourceNames (or created, which cannot be
                // named); the one unnamed write is `patch` alone, for the
                // credentials-in-use finalizer on the Secrets Organizations name.
                if strings(&rule["resources"]).contains(&"secrets".to_string()) {
                    let verbs = strings(&rule["verbs"]);
                    let named = !strings(&rule["resourceNames"]).is_empty();
                    assert!(
                        named || !verbs.iter().any(|v| v == "update"),
                        "{name}: unrestricted Secret update {rule}"
                    );
                    assert!(
                        named || !verbs.iter().any(|v| v == "patch") || verbs == ["patch"],
                        "{name}: unrestricted Secret patch beside other verbs {rule}"
                    );
                    if verbs.iter().any(|v| v == "create") {
                        assert_eq!(role["kind"], "Role", "{name}: Secret create outside a Role");
                        assert_eq!(role["metadata"]["namespace"], NAMESPACE);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// the webhook

/// Properties of the webhook configuration that hold in every mode.
fn assert_webhook_scoped_and_fail_closed(name: &str, r: &Rendered) {
    let vwc = r.webhook_config();
    let hooks = vwc["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1, "{name}");
    let hook = &hooks[0];
    assert_eq!(hook["name"], "validate.orglink.dev");
    assert_eq!(hook["failurePolicy"], "Fail", "{name}");
    assert_eq!(hook["sideEffects"], "None", "{name}");
    assert_eq!(hook["timeoutSeconds"], 5, "{name}");
    assert_eq!(hook["matchPolicy"], "Equivalent", "{name}");
    assert_eq!(hook["admissionReviewVersions"], json!(["v1"]), "{name}");
    let rules = hook["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{name}");
    let rule = &rules[0];
    assert_eq!(rule["apiGroups"], json!(["orglink.dev"]), "{name}");
    assert_eq!(rule["apiVersions"], json!(["v1alpha1"]), "{name}");
    assert_eq!(
        rule["resources"],
        json!(KINDS),
        "{name}: no subresources, no other kinds"
    );
    assert_eq!(rule["operations"], json!(["CREATE", "UPDATE"]), "{name}");
    assert_eq!(rule["scope"], "Namespaced", "{name}");
    // No caBundle in the template, in either mode: it is injected (cert-manager) or patched
    // (webhook-certs), and a templated one would be reverted at every upgrade or sync.
    assert!(hook["clientConfig"]["caBundle"].is_null(), "{name}");
    assert!(hook["clientConfig"]["url"].is_null(), "{name}");
    // The clientConfig reaches the container's webhook port through the Service.
    let svc_ref = &hook["clientConfig"]["service"];
    assert_eq!(svc_ref["namespace"], NAMESPACE);
    assert_eq!(svc_ref["path"], "/validate");
    let svc = r.get("Service", svc_ref["name"].as_str().unwrap());
    let port = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == svc_ref["port"])
        .unwrap_or_else(|| panic!("{name}: Service has no port {}", svc_ref["port"]));
    assert_eq!(port["targetPort"], "webhook");
    let container_port = container_port(r, "webhook");
    let webhook_addr = flag(&r.run_args(), "--webhook-addr").expect("--webhook-addr");
    assert_eq!(webhook_addr, format!("0.0.0.0:{container_port}"));
}

fn container_port(r: &Rendered, port_name: &str) -> u64 {
    r.operator_container()["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == port_name)
        .unwrap_or_else(|| panic!("no container port {port_name}"))["containerPort"]
        .as_u64()
        .unwrap()
}

/// The value of `--name=value` in args.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string))
}

#[test]
fn webhook_is_scoped_to_the_three_kinds_and_fails_closed() {
    for (name, r) in all_value_sets() {
        if r.has("ValidatingWebhookConfiguration") {
            assert_webhook_scoped_and_fail_closed(name, &r);
        }
    }
    // Without watchNamespaces the webhook sees every namespace, since the operator does too.
    assert!(render(&[]).webhook_config()["webhooks"][0]["namespaceSelector"].is_null());
    // The way out while the operator is down for long: an explicit, documented value.
    let open = render(&["--set", "webhook.failurePolicy=Ignore"]);
    assert_eq!(
        open.webhook_config()["webhooks"][0]["failurePolicy"],
        "Ignore"
    );
}

#[test]
fn self_managed_certificates_mode() {
    let r = render(&[]);
    let vwc = r.webhook_config();
    assert!(
        vwc["metadata"]["annotations"].is_null(),
        "no cert-manager annotation"
    );
    assert!(!r.has("Certificate") && !r.has("Issuer"));
    let pod = r.pod_spec();
    // The init container creates or reuses the Secret and patches this very configuration.
    let init = &pod["initContainers"][0];
    assert_eq!(init["name"], "webhook-certs");
    let args = strings(&init["args"]);
    assert_eq!(args[0], "webhook-certs");
    assert_eq!(
        flag(&args, "--webhook-config-name").as_deref(),
        vwc["metadata"]["name"].as_str()
    );
    assert_eq!(
        flag(&args, "--secret-name").unwrap(),
        format!("{FULLNAME}-webhook-tls")
    );
    assert_eq!(flag(&args, "--secret-namespace").unwrap(), NAMESPACE);
    assert_eq!(
        flag(&args, "--service-name").as_deref(),
        vwc["webhooks"][0]["clientConfig"]["service"]["name"].as_str()
    );
    // It hands the serving pair to the operator through a volume both mount at the cert dir.
    let cert_dir = flag(&r.run_args(), "--webhook-cert-dir").unwrap();
    assert_eq!(flag(&args, "--cert-dir").unwrap(), cert_dir);
    let mount = |c: &Value| {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == cert_dir.as_str())
            .map(|m| str_of(&m["name"]))
    };
    let vol = mount(r.operator_container()).expect("operator mounts the cert dir");
    assert_eq!(mount(init).as_deref(), Some(vol.as_str()));
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == vol.as_str())
        .unwrap();
    assert!(volume["emptyDir"].is_object(), "{volume}");
}

#[test]
fn cert_manager_mode() {
    let r = render(CERT_MANAGER);
    let vwc = r.webhook_config();
    let cert_name = format!("{FULLNAME}-webhook");
    assert_eq!(
        vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{cert_name}")
    );
    let cert = r.get("Certificate", &cert_name);
    assert_eq!(cert["apiVersion"], "cert-manager.io/v1");
    assert_eq!(cert["metadata"]["namespace"], NAMESPACE);
    let svc = str_of(&vwc["webhooks"][0]["clientConfig"]["service"]["name"]);
    let dns = strings(&cert["spec"]["dnsNames"]);
    assert!(dns.contains(&format!("{svc}.{NAMESPACE}.svc")), "{dns:?}");
    assert!(
        dns.contains(&format!("{svc}.{NAMESPACE}.svc.cluster.local")),
        "{dns:?}"
    );
    // A self-signed Issuer by default, created next to the Certificate.
    let issuer_name = str_of(&cert["spec"]["issuerRef"]["name"]);
    let issuer = r.get("Issuer", &issuer_name);
    assert!(issuer["spec"]["selfSigned"].is_object());
    assert_eq!(cert["spec"]["issuerRef"]["kind"], "Issuer");
    // The Secret cert-manager writes is what the pod mounts at --webhook-cert-dir.
    let pod = r.pod_spec();
    assert!(
        pod["initContainers"].is_null(),
        "no webhook-certs init container"
    );
    let cert_dir = flag(&r.run_args(), "--webhook-cert-dir").unwrap();
    let mount = r.operator_container()["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == cert_dir.as_str())
        .expect("cert dir mounted")
        .clone();
    assert_eq!(mount["readOnly"], true);
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert_eq!(volume["secret"]["secretName"], cert["spec"]["secretName"]);

    // An existing ClusterIssuer: used as is, no Issuer rendered.
    let r = render(&[
        "--set",
        "webhook.certManager.enabled=true",
        "--set",
        "webhook.certManager.issuerRef.name=corp-ca",
        "--set",
        "webhook.certManager.issuerRef.kind=ClusterIssuer",
    ]);
    assert!(!r.has("Issuer"));
    let cert = r.get("Certificate", &cert_name);
    assert_eq!(cert["spec"]["issuerRef"]["name"], "corp-ca");
    assert_eq!(cert["spec"]["issuerRef"]["kind"], "ClusterIssuer");
}

#[test]
fn webhook_disabled() {
    let r = render(&["--set", "webhook.enabled=false"]);
    assert!(!r.has("ValidatingWebhookConfiguration"));
    assert!(!r.has("Certificate"));
    let args = r.run_args();
    assert!(args.contains(&"--no-webhook".to_string()), "{args:?}");
    assert!(flag(&args, "--webhook-addr").is_none());
    assert!(r.pod_spec()["initContainers"].is_null());
    let svc = r.get("Service", FULLNAME);
    let ports: Vec<_> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| str_of(&p["name"]))
        .collect();
    assert_eq!(ports, ["metrics"]);
    assert!(
        grants(&r)
            .iter()
            .all(|g| g.2 != "validatingwebhookconfigurations")
    );
}

// ---------------------------------------------------------------------------------------
// the Deployment

#[test]
fn leader_election_whenever_more_than_one_replica() {
    let r = render(&[]);
    assert_eq!(r.deployment()["spec"]["replicas"], 2);
    let args = r.run_args();
    assert_eq!(args[0], "run");
    assert!(args.contains(&"--leader-elect".to_string()), "{args:?}");
    assert_eq!(flag(&args, "--lease-name").unwrap(), FULLNAME);
    assert_eq!(flag(&args, "--lease-namespace").unwrap(), NAMESPACE);

    let r = render(&[
        "--set",
        "replicaCount=3",
        "--set",
        "leaderElection.leaseName=shard-7",
    ]);
    assert_eq!(r.deployment()["spec"]["replicas"], 3);
    assert_eq!(flag(&r.run_args(), "--lease-name").unwrap(), "shard-7");
    let lease_names: Vec<_> = grants(&r)
        .into_iter()
        .filter(|g| g.2 == "leases" && !g.4.is_empty())
        .map(|g| g.4)
        .collect();
    assert!(!lease_names.is_empty() && lease_names.iter().all(|n| n == "shard-7"));

    // Two active replicas would both write to Genesys Cloud: refused with the fix.
    render_fails(
        &[
            "--set",
            "replicaCount=2",
            "--set",
            "leaderElection.enabled=false",
        ],
        &["leaderElection.enabled", "replicaCount"],
    );

    // One replica may run without a Lease; then there is no PDB either (it would block
    // nothing useful).
    let r = render(&[
        "--set",
        "replicaCount=1",
        "--set",
        "leaderElection.enabled=false",
    ]);
    let args = r.run_args();
    assert!(
        args.iter()
            .all(|a| !a.starts_with("--lease") && a != "--leader-elect")
    );
    assert!(!r.has("PodDisruptionBudget"));
}

#[test]
fn run_arguments_follow_the_values() {
    let r = render(&[]);
    let args = r.run_args();
    assert!(
        flag(&args, "--namespace").is_none(),
        "all namespaces by default: {args:?}"
    );
    assert_eq!(flag(&args, "--log-format").unwrap(), "json");
    assert_eq!(flag(&args, "--metrics-addr").unwrap(), "0.0.0.0:8080");
    assert_eq!(flag(&args, "--health-addr").unwrap(), "0.0.0.0:8081");
    assert_eq!(flag(&args, "--webhook-addr").unwrap(), "0.0.0.0:9443");
    // Credentials go only to the Genesys Cloud region hosts unless the admin says more.
    assert!(
        flag(&args, "--allow-api-base-url").is_none()
            && !args.iter().any(|a| a == "--allow-insecure-http"),
        "{args:?}"
    );

    let r = render(&[
        "--set",
        "apiBaseUrl.allow={proxy.example.com,http://genesys-sim.test:8080/v1}",
        "--set",
        "apiBaseUrl.allowInsecureHttp=true",
    ]);
    let args = r.run_args();
    let allowed: Vec<&String> = args
        .iter()
        .filter(|a| a.starts_with("--allow-api-base-url="))
        .collect();
    assert_eq!(
        allowed,
        [
            "--allow-api-base-url=proxy.example.com",
            "--allow-api-base-url=http://genesys-sim.test:8080/v1"
        ]
    );
    assert!(
        args.iter().any(|a| a == "--allow-insecure-http"),
        "{args:?}"
    );

    let r = render(&[
        "--set",
        "watchNamespaces={team-a,team-b}",
        "--set",
        "logFormat=text",
        "--set",
        "metrics.port=9090",
        "--set",
        "health.port=9091",
        "--set",
        "webhook.port=10443",
        "--set-json",
        r#"extraArgs=["--some-flag=x y"]"#,
    ]);
    let args = r.run_args();
    assert_eq!(flag(&args, "--namespace").unwrap(), "team-a,team-b");
    assert_eq!(flag(&args, "--log-format").unwrap(), "text");
    assert_eq!(flag(&args, "--metrics-addr").unwrap(), "0.0.0.0:9090");
    assert_eq!(flag(&args, "--health-addr").unwrap(), "0.0.0.0:9091");
    assert_eq!(flag(&args, "--webhook-addr").unwrap(), "0.0.0.0:10443");
    assert_eq!(args.last().unwrap(), "--some-flag=x y");
    assert_eq!(container_port(&r, "metrics"), 9090);
    assert_eq!(container_port(&r, "health"), 9091);
    assert_eq!(container_port(&r, "webhook"), 10443);
    let svc = r.get("Service", FULLNAME);
    let metrics = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "metrics")
        .unwrap();
    assert_eq!(metrics["port"], 9090);
    assert_eq!(metrics["targetPort"], "metrics");
}

#[test]
fn watch_namespaces_scope_rbac_and_the_webhook() {
    let r = render(WATCH_NAMESPACES);
    // No cluster-wide manager role; a Role in each watched namespace.
    assert!(
        r.of_kind("ClusterRole")
            .iter()
            .all(|c| c["metadata"]["name"] != FULLNAME)
    );
    for ns in ["team-a", "team-b"] {
        assert!(
            r.of_kind("Role")
                .iter()
                .any(|x| x["metadata"]["namespace"] == ns && x["metadata"]["name"] == FULLNAME),
            "no Role in {ns}"
        );
    }
    // The webhook only judges objects in the watched namespaces (the only ones its caches hold).
    let sel = &r.webhook_config()["webhooks"][0]["namespaceSelector"];
    assert_eq!(
        sel,
        &json!({"matchExpressions": [{
            "key": "kubernetes.io/metadata.name",
            "operator": "In",
            "values": ["team-a", "team-b"],
        }]})
    );
}

#[test]
fn pods_are_restricted_and_probed() {
    for (name, r) in all_value_sets() {
        let pod = r.pod_spec();
        let psc = &pod["securityContext"];
        assert_eq!(psc["runAsNonRoot"], true, "{name}");
        assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{name}");
        assert!(psc["runAsUser"].as_u64().unwrap() > 0, "{name}");
        assert_eq!(
            pod["serviceAccountName"],
            r.get("ServiceAccount", FULLNAME)["metadata"]["name"]
        );
        let containers = pod["containers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(pod["initContainers"].as_array().into_iter().flatten());
        for c in containers {
            let sc = &c["securityContext"];
            let cname = &c["name"];
            assert_eq!(sc["runAsNonRoot"], true, "{name} {cname}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name} {cname}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name} {cname}");
            assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{name} {cname}");
            assert!(sc["capabilities"]["add"].is_null(), "{name} {cname}");
            assert_eq!(
                sc["seccompProfile"]["type"], "RuntimeDefault",
                "{name} {cname}"
            );
            assert!(sc["privileged"].is_null() || sc["privileged"] == false);
            assert!(
                c["resources"]["requests"]["cpu"].is_string(),
                "{name} {cname}"
            );
            assert!(
                c["resources"]["requests"]["memory"].is_string(),
                "{name} {cname}"
            );
            assert!(
                c["resources"]["limits"]["memory"].is_string(),
                "{name} {cname}"
            );
        }
        // Probes hit the health port that --health-addr binds.
        let op = r.operator_container();
        let health = container_port(&r, "health");
        assert_eq!(
            flag(&r.run_args(), "--health-addr").unwrap(),
            format!("0.0.0.0:{health}")
        );
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            assert_eq!(op[probe]["httpGet"]["port"], "health", "{name} {probe}");
            assert_eq!(op[probe]["httpGet"]["path"], path, "{name} {probe}");
        }
        let metrics = container_port(&r, "metrics");
        assert_eq!(
            flag(&r.run_args(), "--metrics-addr").unwrap(),
            format!("0.0.0.0:{metrics}")
        );
        // /tmp is the only writable path under the read-only root filesystem.
        assert!(
            op["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["mountPath"] == "/tmp")
        );
    }
}

#[test]
fn replicas_spread_softly_and_survive_disruptions() {
    let r = render(&[]);
    let pod = r.pod_spec();
    let labels = &r.deployment()["spec"]["template"]["metadata"]["labels"];
    let selector = &r.deployment()["spec"]["selector"]["matchLabels"];
    for (k, v) in selector.as_object().unwrap() {
        assert_eq!(&labels[k], v, "pod labels must match the selector");
    }
    // Soft anti-affinity: preferred, never required (a one-node cluster still runs both).
    let anti = &pod["affinity"]["podAntiAffinity"];
    assert!(anti["requiredDuringSchedulingIgnoredDuringExecution"].is_null());
    let term = &anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"];
    assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(&term["labelSelector"]["matchLabels"], selector);
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(spread["whenUnsatisfiable"], "ScheduleAnyway");
    assert_eq!(&spread["labelSelector"]["matchLabels"], selector);
    // Rolling updates keep a ready webhook endpoint: surge first.
    let strategy = &r.deployment()["spec"]["strategy"]["rollingUpdate"];
    assert_eq!(strategy["maxUnavailable"], 0);
    // The PDB and the Service select exactly the operator's pods.
    let pdb = r.get("PodDisruptionBudget", FULLNAME);
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], selector);
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(&r.get("Service", FULLNAME)["spec"]["selector"], selector);

    // A user affinity replaces the default one.
    let r = render(&[
        "--set-json",
        r#"affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"pool","operator":"In","values":["ops"]}]}]}}}"#,
    ]);
    let aff = &r.pod_spec()["affinity"];
    assert!(aff["podAntiAffinity"].is_null() && aff["nodeAffinity"].is_object());
}

#[test]
fn service_monitor_scrapes_the_metrics_port() {
    assert!(!render(&[]).has("ServiceMonitor"));
    let r = render(&[
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.serviceMonitor.labels.release=prom",
    ]);
    let sm = r.get("ServiceMonitor", FULLNAME);
    assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(sm["metadata"]["labels"]["release"], "prom");
    let svc = r.get("Service", FULLNAME);
    let svc_labels = &svc["metadata"]["labels"];
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&svc_labels[k], v, "ServiceMonitor must select the Service");
    }
    let endpoint = &sm["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], "metrics");
    assert_eq!(endpoint["path"], "/metrics");
    assert!(
        svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "metrics")
    );
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"],
        json!([NAMESPACE])
    );
}

/// The sandbox's kubeconfig, once the kinds of cert-manager that the chart's cert-manager
/// mode renders (Issuer, Certificate) are known there: helm 3 maps every rendered object
/// to a served kind even for `--dry-run=client`. Schemaless stand-ins, not cert-manager.
fn sandbox_with_cert_manager_kinds() -> PathBuf {
    let crd = |kind: &str, plural: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: {plural}.cert-manager.io}}\nspec:\n  group: cert-manager.io\n  scope: Namespaced\n  names: {{kind: {kind}, plural: {plural}}}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n---\n"
        )
    };
    let yaml = crd("Issuer", "issuers") + &crd("Certificate", "certificates");
    let (ok, out, err) = support::kubectl(&["apply", "-f", "-"], Some(&yaml));
    assert!(ok, "{out}{err}");
    let (ok, out, err) = support::kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/issuers.cert-manager.io",
            "crd/certificates.cert-manager.io",
        ],
        None,
    );
    assert!(ok, "{out}{err}");
    support::control_plane().kubeconfig_path().to_path_buf()
}

#[test]
fn notes_render_for_every_mode() {
    let chart = chart_dir();
    for extra in [
        &[][..],
        CERT_MANAGER,
        WATCH_NAMESPACES,
        &["--set", "webhook.enabled=false"],
    ] {
        // `helm install --dry-run=client` renders NOTES.txt too, installing nothing; helm 3
        // still asks a cluster for its version and its kinds, so it talks to the sandbox's.
        let kubeconfig = sandbox_with_cert_manager_kinds();
        let mut args = vec![
            "install",
            RELEASE,
            chart.to_str().unwrap(),
            "--namespace",
            NAMESPACE,
            "--dry-run=client",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = helm(&args);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
        assert!(
            stdout.contains("NOTES:"),
            "{extra:?}: no NOTES in\n{stdout}"
        );
        assert!(stdout.contains("kubectl get genesys -A"), "{extra:?}");
    }
}
