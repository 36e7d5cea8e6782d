//! Every example under `examples/` is valid for the CRDs exactly as the API server
//! would judge it offline: the OpenAPI schema (jsonschema), the CEL rules
//! (`x-kubernetes-validations`, evaluated with kube-cel) and the Rust types. And the
//! manifests that can never work are rejected, naming the field.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The openAPIV3Schema of `kind` from the generated CRDs.
fn schema(kind: &str) -> Value {
    let crd = orglink_operator::api::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let schema = crd.spec.versions[0]
        .schema
        .clone()
        .unwrap()
        .open_api_v3_schema
        .unwrap();
    serde_json::to_value(schema).unwrap()
}

/// Errors of `object` (and, on update, `old`) against the schema and the CEL rules.
fn errors(object: &Value, old: Option<&Value>) -> Vec<String> {
    let kind = object["kind"].as_str().unwrap();
    let schema = schema(kind);
    let mut found: Vec<String> = jsonschema::validator_for(&schema)
        .expect("the CRD schema compiles")
        .iter_errors(object)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    found.extend(list_set_duplicates(&schema, object, ""));
    if let Err(cel) = kube_cel::validate(&schema, object, old) {
        found.extend(cel.into_vec().into_iter().map(|e| e.to_string()));
    }
    found
}

/// The API server's `x-kubernetes-list-type: set` check, which JSON Schema has no
/// keyword for: no value twice in such a list.
fn list_set_duplicates(schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let Some(sub) = schema.pointer(&format!("/properties/{key}")) {
                    out.extend(list_set_duplicates(sub, child, &format!("{path}/{key}")));
                }
            }
        }
        Value::Array(items) => {
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].contains(item) {
                        out.push(format!("{path}/{i}: Duplicate value: {item}"));
                    }
                }
            }
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    out.extend(list_set_duplicates(sub, item, &format!("{path}/{i}")));
                }
            }
        }
        _ => {}
    }
    out
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Every Kubernetes object in `examples/` (the simulator's seed is not one).
fn example_objects() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    yaml_files(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .as_path(),
        &mut files,
    );
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        if file.ends_with("sandbox/genesys-orgs.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(doc).unwrap();
            if !value.is_null() {
                objects.push((file.clone(), value));
            }
        }
    }
    objects
}

#[test]
fn every_example_is_valid_for_the_crds_and_the_types() {
    let objects = example_objects();
    let ours: Vec<_> = objects
        .iter()
        .filter(|(_, o)| o["apiVersion"] == "orglink.dev/v1alpha1")
        .collect();
    assert!(
        ours.len() >= 7,
        "expected the examples of every step, found {}",
        ours.len()
    );
    for (file, object) in ours {
        let errs = errors(object, None);
        assert!(errs.is_empty(), "{}: {errs:#?}", file.display());
        let typed = match object["kind"].as_str().unwrap() {
            "Organization" => {
                serde_json::from_value::<orglink_operator::api::Organization>(object.clone())
                    .map(|_| ())
            }
            "OrgLink" => {
                serde_json::from_value::<orglink_operator::api::OrgLink>(object.clone()).map(|_| ())
            }
            "OrgPairing" => {
                serde_json::from_value::<orglink_operator::api::OrgPairing>(object.clone())
                    .map(|_| ())
            }
            other => panic!("{}: unexpected kind {other}", file.display()),
        };
        typed.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

#[test]
fn the_sandbox_seed_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sandbox/genesys-orgs.yaml");
    let config = orglink_operator::sandbox::genesys_sim::SimConfig::from_seed_file(&path).unwrap();
    let in_region = |code: &str| {
        config
            .orgs
            .iter()
            .filter(|o| o.region.code() == code)
            .count()
    };
    assert!(
        in_region("us-east-1") >= 3,
        "the examples need three orgs in us-east-1"
    );
    assert!(
        in_region("eu-west-1") >= 1,
        "the cross-region examples need an org in eu-west-1"
    );
    // The IDs the examples use are the seed's.
    for name in ["Acme Prod", "Acme DR", "MSP Prod", "Initech West"] {
        let org = config.orgs.iter().find(|o| o.name == name).unwrap();
        let used = example_objects()
            .iter()
            .any(|(_, o)| o["spec"]["peer"]["organizationId"] == org.id.to_string());
        assert!(used, "no example names {name} ({})", org.id);
    }
}

fn example(name: &str) -> Value {
    example_objects()
        .into_iter()
        .map(|(_, o)| o)
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no example named {name}"))
}

fn rejected(object: &Value, old: Option<&Value>, field: &str) {
    let errs = errors(object, old);
    assert!(
        errs.iter().any(|e| e.contains(field)),
        "expected an error naming {field}, got {errs:#?}"
    );
}

#[test]
fn twenty_six_users_are_rejected() {
    let mut pairing = example("support-into-acme");
    let users: Vec<String> = (0..26)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    pairing["spec"]["request"]["users"] = json!(users);
    rejected(&pairing, None, "/spec/request/users");
}

#[test]
fn a_non_canonical_org_id_is_rejected() {
    let mut link = example("to-acme-dr");
    link["spec"]["peer"]["organizationId"] = json!("23CC390C-9354-40E3-8E1F-39485D23D1F3");
    rejected(&link, None, "/spec/peer/organizationId");
}

#[test]
fn an_unknown_region_is_rejected() {
    let mut link = example("to-acme-dr");
    link["spec"]["peer"]["region"] = json!("moon-base-1");
    rejected(&link, None, "/spec/peer/region");
}

#[test]
fn both_or_neither_of_request_and_grant_are_rejected() {
    let mut both = example("support-into-acme");
    both["spec"]["grant"] = example("msp-support")["spec"]["grant"].clone();
    let errs = errors(&both, None);
    assert!(
        errs.iter().any(|e| e.contains("exactly one of")),
        "{errs:#?}"
    );
    let mut neither = example("support-into-acme");
    neither["spec"].as_object_mut().unwrap().remove("request");
    let errs = errors(&neither, None);
    assert!(
        errs.iter().any(|e| e.contains("exactly one of")),
        "{errs:#?}"
    );
}

#[test]
fn a_changed_peer_or_organization_ref_is_rejected_on_update() {
    let old = example("to-acme-dr");
    let mut moved = old.clone();
    moved["spec"]["peer"]["organizationId"] = json!("3cee1c2b-48d7-4d4c-b348-c06afe63e227");
    let errs = errors(&moved, Some(&old));
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.peer") && e.contains("immutable")),
        "{errs:#?}"
    );
    let mut rehomed = old.clone();
    rehomed["spec"]["organizationRef"] = json!("acme-dr");
    let errs = errors(&rehomed, Some(&old));
    assert!(
        errs.iter()
            .any(|e| e.contains("spec.organizationRef") && e.contains("immutable")),
        "{errs:#?}"
    );
    // The same object again is fine.
    assert!(errors(&old, Some(&old)).is_empty());
}

#[test]
fn a_negative_attempt_is_rejected() {
    let mut link = example("to-acme-dr");
    link["spec"]["attempt"] = json!(-1);
    rejected(&link, None, "/spec/attempt");
}

#[test]
fn duplicate_users_are_rejected() {
    let mut pairing = example("support-into-acme");
    let first = pairing["spec"]["request"]["users"][0].clone();
    pairing["spec"]["request"]["users"]
        .as_array_mut()
        .unwrap()
        .push(first);
    rejected(&pairing, None, "/spec/request/users/3: Duplicate value");
}

// ---------------------------------------------------------------------------------------
// A corpus of hostile manifests (issue 11): generated from the examples by mutating every
// field of their spec. Each mutation of the classes below must be refused, by the schema
// and CEL rules (as the API server judges them) or by the webhook's rules, with a reason;
// and neither may panic on any of them.
// ---------------------------------------------------------------------------------------

mod corpus {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use k8s_openapi::jiff::Timestamp;
    use std::sync::Arc;

    use orglink_operator::api::Organization;
    use orglink_operator::genesys::ApiBaseUrlAllowlist;
    use orglink_operator::webhook::rules::{ClusterView, Relationship, Write, check};
    use serde_json::{Value, json};

    use super::{errors, example};

    /// The cluster the webhook sees: the examples' Organizations, connected.
    struct View(Vec<Organization>);

    impl ClusterView for View {
        fn organization(&self, namespace: &str, name: &str) -> Option<Arc<Organization>> {
            self.0
                .iter()
                .find(|o| {
                    o.metadata.namespace.as_deref() == Some(namespace)
                        && o.metadata.name.as_deref() == Some(name)
                })
                .cloned()
                .map(Arc::new)
        }
        fn manager(&self, _: &Relationship, _: &str) -> Option<String> {
            None
        }
    }

    fn view() -> View {
        let org = |ns: &str, id: &str| -> Organization {
            serde_json::from_value(json!({
                "apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
                "metadata": {"name": ns, "namespace": ns},
                "spec": {"region": "us-east-1", "credentialsSecretRef": {"name": "s"}},
                "status": {"organizationId": id, "linkableRegions": ["us-east-1", "us-west-2"]}
            }))
            .unwrap()
        };
        View(vec![
            org("acme-prod", "f3c95789-ace1-4954-ac5d-6baed2eac902"),
            org("msp-prod", "7cefd5c5-6385-4768-ae5d-eaa1ef2cd05a"),
        ])
    }

    /// Why `object` is refused: schema/CEL errors, then the webhook's denials. Empty =
    /// accepted. Panics in either are caught and fail the test naming the case.
    fn refusals(case: &str, object: &Value) -> Vec<String> {
        let schema = catch_unwind(AssertUnwindSafe(|| errors(object, None)))
            .unwrap_or_else(|_| panic!("{case}: the schema validation panicked"));
        let webhook = catch_unwind(AssertUnwindSafe(|| {
            let kind = object["kind"].as_str().unwrap_or_default();
            let write = Write {
                kind,
                namespace: object["metadata"]["namespace"].as_str().unwrap_or_default(),
                name: object["metadata"]["name"].as_str().unwrap_or_default(),
                object,
                old: None,
            };
            check(
                &write,
                &view(),
                &ApiBaseUrlAllowlist::regions_only(),
                Timestamp::from_second(1_800_000_000).unwrap(),
            )
            .denials
        }))
        .unwrap_or_else(|_| panic!("{case}: the webhook's rules panicked"));
        schema.into_iter().chain(webhook).collect()
    }

    /// Every leaf and container under `spec`, as JSON pointers, with its value.
    fn paths(value: &Value, at: String, out: &mut Vec<(String, Value)>) {
        out.push((at.clone(), value.clone()));
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    paths(v, format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    paths(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    fn with(base: &Value, pointer: &str, value: Value) -> Value {
        let mut object = base.clone();
        *object.pointer_mut(pointer).unwrap() = value;
        object
    }

    fn bases() -> Vec<Value> {
        let mut org = json!({
            "apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
            "metadata": {"name": "acme-prod", "namespace": "acme-prod"},
            "spec": {"region": "us-east-1",
                     "credentialsSecretRef": {"name": "acme-prod-oauth", "clientIdKey": "clientId", "clientSecretKey": "clientSecret"},
                     "apiBaseUrl": "https://api.mypurecloud.com", "resyncInterval": "5m"}
        });
        org["metadata"]["name"] = json!("acme-prod");
        vec![
            org,
            example("to-acme-dr"),
            example("support-into-acme"),
            example("msp-support"),
        ]
    }

    /// A wrong-typed value for `value`.
    fn wrong_types(value: &Value) -> Vec<Value> {
        match value {
            Value::String(_) => vec![json!(42), json!(true), json!(["x"]), json!({"a": 1})],
            Value::Number(_) => vec![json!("42"), json!(true), json!([1]), json!({})],
            Value::Bool(_) => vec![json!("true"), json!(1), json!([])],
            Value::Array(_) => vec![json!("x"), json!({"0": "x"}), json!(7)],
            Value::Object(_) => vec![json!("x"), json!([]), json!(3.5)],
            Value::Null => vec![],
        }
    }

    const MIB: usize = 1024 * 1024;

    /// The corpus means something only if the unmutated objects pass.
    #[test]
    fn the_bases_are_accepted() {
        for base in bases() {
            let case = format!("{} {}", base["kind"], base["metadata"]["name"]);
            assert_eq!(refusals(&case, &base), Vec::<String>::new(), "{case}");
        }
    }

    #[test]
    fn wrong_types_anywhere_in_spec_are_refused() {
        let mut checked = 0;
        for base in bases() {
            let mut all = Vec::new();
            paths(&base["spec"], "/spec".into(), &mut all);
            for (pointer, value) in all.iter().filter(|(p, _)| p != "/spec") {
                for wrong in wrong_types(value) {
                    let case = format!("{} {pointer} = {wrong}", base["kind"]);
                    let object = with(&base, pointer, wrong);
                    assert!(!refusals(&case, &object).is_empty(), "{case}: accepted");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} cases");
    }

    #[test]
    fn huge_strings_anywhere_in_spec_are_refused() {
        let huge = "a".repeat(MIB);
        let mut checked = 0;
        let mut accepted = Vec::new();
        for base in bases() {
            let mut all = Vec::new();
            paths(&base["spec"], "/spec".into(), &mut all);
            for (pointer, _) in all.iter().filter(|(_, v)| v.is_string()) {
                let case = format!("{} {pointer} = 1 MiB", base["kind"]);
                let object = with(&base, pointer, json!(huge));
                if refusals(&case, &object).is_empty() {
                    accepted.push(case);
                }
                checked += 1;
            }
        }
        assert!(accepted.is_empty(), "accepted: {accepted:#?}");
        assert!(checked > 20, "only {checked} cases");
    }

    #[test]
    fn ten_thousand_item_lists_are_refused() {
        let mut checked = 0;
        for base in bases() {
            let mut all = Vec::new();
            paths(&base["spec"], "/spec".into(), &mut all);
            for (pointer, value) in all.iter().filter(|(_, v)| v.is_array()) {
                let item = value[0].clone();
                let many: Vec<Value> = (0..10_000)
                    .map(|i| match &item {
                        // Distinct, well-formed IDs: only the count is wrong.
                        Value::String(_) => json!(format!("00000000-0000-4000-8000-{i:012}")),
                        Value::Object(o) if o.contains_key("id") && o.contains_key("roles") => {
                            json!({"id": format!("00000000-0000-4000-8000-{i:012}"), "roles": o["roles"]})
                        }
                        Value::Object(o) if o.contains_key("id") => {
                            json!({"id": format!("00000000-0000-4000-8000-{i:012}")})
                        }
                        Value::Object(_) => json!({"name": format!("role-{i}")}),
                        other => other.clone(),
                    })
                    .collect();
                let case = format!("{} {pointer} = 10,000 items", base["kind"]);
                let object = with(&base, pointer, json!(many));
                assert!(!refusals(&case, &object).is_empty(), "{case}: accepted");
                checked += 1;
            }
        }
        assert!(checked >= 6, "only {checked} cases");
    }

    #[test]
    fn null_where_an_object_or_a_required_value_is_expected_is_refused() {
        for base in bases() {
            for pointer in [
                "/spec",
                "/spec/peer",
                "/spec/credentialsSecretRef",
                "/spec/region",
            ] {
                if base.pointer(pointer).is_none() {
                    continue;
                }
                let case = format!("{} {pointer} = null", base["kind"]);
                let object = with(&base, pointer, Value::Null);
                assert!(!refusals(&case, &object).is_empty(), "{case}: accepted");
            }
        }
    }

    /// IDs and enums that look right to a human: other case, other digits, invisible
    /// or direction-changing characters, homoglyphs.
    #[test]
    fn unicode_lookalikes_in_ids_and_regions_are_refused() {
        let id = "23cc390c-9354-40e3-8e1f-39485d23d1f3";
        let lookalikes = [
            id.to_uppercase(),
            id.replace('3', "\u{FF13}"), // fullwidth digit
            format!("{id}\u{200B}"),     // zero-width space
            format!("\u{202E}{id}"),     // right-to-left override
            id.replace('c', "\u{0441}"), // Cyrillic es
            format!("{id}\u{0000}"),     // NUL
            format!("{id}\n"),
        ];
        let link = example("to-acme-dr");
        for value in &lookalikes {
            let case = format!("OrgLink peer.organizationId = {value:?}");
            let object = with(&link, "/spec/peer/organizationId", json!(value));
            assert!(!refusals(&case, &object).is_empty(), "{case}: accepted");
        }
        for region in [
            "us-e\u{0430}st-1",
            "US-EAST-1",
            "us-east-1\u{200D}",
            "us-east-1 ",
        ] {
            let case = format!("OrgLink peer.region = {region:?}");
            let object = with(&link, "/spec/peer/region", json!(region));
            assert!(!refusals(&case, &object).is_empty(), "{case}: accepted");
        }
    }

    #[test]
    fn user_ids_differing_only_in_case_are_refused() {
        let pairing = example("support-into-acme");
        let first = pairing["spec"]["request"]["users"][0]
            .as_str()
            .unwrap()
            .to_string();
        let mut users = pairing["spec"]["request"]["users"].clone();
        users
            .as_array_mut()
            .unwrap()
            .push(json!(first.to_uppercase()));
        let object = with(&pairing, "/spec/request/users", users);
        let why = refusals("users differing in case", &object);
        assert!(
            why.iter().any(|w| w.contains("users")),
            "refused, naming the field: {why:#?}"
        );
    }

    #[test]
    fn absurd_resync_intervals_are_refused() {
        let org = bases().remove(0);
        for value in [
            "18446744073709551615s",
            "0s",
            "500ms",
            "25h",
            "99999h",
            "1h99999999m",
            "-5m",
        ] {
            let case = format!("resyncInterval {value}");
            let object = with(&org, "/spec/resyncInterval", json!(value));
            let why = refusals(&case, &object);
            assert!(
                why.iter().any(|w| w.contains("resyncInterval")),
                "{case}: {why:#?}"
            );
        }
        for value in ["1s", "30s", "5m", "1h30m", "24h", "86400s"] {
            let object = with(&org, "/spec/resyncInterval", json!(value));
            assert_eq!(refusals(value, &object), Vec::<String>::new(), "{value}");
        }
    }
}

/// examples/gitops/: the Argo CD Applications and Flux's GitRepository, Kustomizations
/// and HelmRelease point at paths of this repository and at each other, Flux waits for
/// health (kstatus) in both Kustomizations, the relationships declare both sides of each
/// link, and `argocd-cm.yaml` carries the chart's Lua health checks verbatim. (The
/// orglink.dev objects among them are validated against the CRDs above.)
#[test]
fn the_gitops_examples_point_at_this_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let gitops = root.join("examples/gitops");
    let objects: Vec<(PathBuf, Value)> = example_objects()
        .into_iter()
        .filter(|(file, _)| file.starts_with(&gitops))
        .collect();
    let of = |api: &str, kind: &str| -> Vec<&Value> {
        objects
            .iter()
            .map(|(_, o)| o)
            .filter(|o| o["apiVersion"] == api && o["kind"] == kind)
            .collect()
    };
    let repo_dir = |path: &Value, what: &str| -> PathBuf {
        let path = path.as_str().unwrap_or_else(|| panic!("{what}: no path"));
        let dir = root.join(path.trim_start_matches("./"));
        assert!(
            dir.is_dir(),
            "{what}: {path} is not a directory of this repository"
        );
        dir
    };
    let chart = root.join("charts/orglink-operator/Chart.yaml");

    // Argo CD: the chart and the relationships, from one repository.
    let apps = of("argoproj.io/v1alpha1", "Application");
    assert_eq!(
        apps.len(),
        2,
        "one Application for the chart, one for the relationships"
    );
    let mut app_dirs = Vec::new();
    for app in &apps {
        let what = format!("Application {}", app["metadata"]["name"]);
        app_dirs.push(repo_dir(&app["spec"]["source"]["path"], &what));
        assert_eq!(
            app["spec"]["source"]["repoURL"],
            apps[0]["spec"]["source"]["repoURL"]
        );
        assert!(app["spec"]["destination"]["server"].is_string(), "{what}");
    }
    assert!(app_dirs.contains(&chart.parent().unwrap().to_path_buf()));
    assert!(app_dirs.contains(&gitops.join("relationships")));

    // Flux: GitRepository -> Kustomization(operator: HelmRelease) -> Kustomization(relationships).
    let sources: Vec<&str> = of("source.toolkit.fluxcd.io/v1", "GitRepository")
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        !sources.is_empty(),
        "a GitRepository for the Kustomizations"
    );
    let kustomizations = of("kustomize.toolkit.fluxcd.io/v1", "Kustomization");
    let names: Vec<&str> = kustomizations
        .iter()
        .map(|k| k["metadata"]["name"].as_str().unwrap())
        .collect();
    let mut kustomization_dirs = Vec::new();
    for k in &kustomizations {
        let what = format!("Kustomization {}", k["metadata"]["name"]);
        kustomization_dirs.push(repo_dir(&k["spec"]["path"], &what));
        assert_eq!(k["spec"]["sourceRef"]["kind"], "GitRepository", "{what}");
        assert!(
            sources.contains(&k["spec"]["sourceRef"]["name"].as_str().unwrap()),
            "{what}: its sourceRef names no GitRepository of the example"
        );
        assert_eq!(
            k["spec"]["wait"],
            json!(true),
            "{what}: health checks (kstatus) on"
        );
        for dep in k["spec"]["dependsOn"].as_array().into_iter().flatten() {
            assert!(
                names.contains(&dep["name"].as_str().unwrap()),
                "{what}: {dep}"
            );
        }
    }
    assert!(kustomization_dirs.contains(&gitops.join("relationships")));
    let releases = of("helm.toolkit.fluxcd.io/v2", "HelmRelease");
    assert_eq!(releases.len(), 1, "one HelmRelease for the chart");
    let spec = &releases[0]["spec"]["chart"]["spec"];
    let dir = repo_dir(&spec["chart"], "HelmRelease");
    assert_eq!(dir.join("Chart.yaml"), chart);
    assert!(sources.contains(&spec["sourceRef"]["name"].as_str().unwrap()));
    let release_file = objects
        .iter()
        .find(|(_, o)| o["kind"] == "HelmRelease")
        .map(|(f, _)| f.parent().unwrap().to_path_buf())
        .unwrap();
    assert!(
        kustomization_dirs.contains(&release_file),
        "a Kustomization applies the HelmRelease's directory"
    );

    // Argo CD's health checks: the chart's Lua, verbatim.
    let cm = of("v1", "ConfigMap");
    assert_eq!(cm.len(), 1);
    assert_eq!(cm[0]["metadata"]["name"], "argocd-cm");
    for kind in ["Organization", "OrgLink", "OrgPairing"] {
        let lua = std::fs::read_to_string(
            root.join("charts/orglink-operator/argocd")
                .join(format!("{}.lua", kind.to_lowercase())),
        )
        .unwrap();
        assert_eq!(
            cm[0]["data"][format!("resource.customizations.health.orglink.dev_{kind}")],
            json!(lua),
            "argocd-cm.yaml's {kind} check differs from the chart's: copy it again"
        );
    }

    // The relationships: each OrgLink's Organization is there, and so is the peer's
    // OrgLink naming us back (both sides in Git: request and approval).
    let seed = orglink_operator::sandbox::genesys_sim::SimConfig::from_seed_file(
        &root.join("examples/sandbox/genesys-orgs.yaml"),
    )
    .unwrap();
    let org_id = |namespace: &str| -> String {
        seed.orgs
            .iter()
            .find(|o| o.name.to_lowercase().replace(' ', "-") == namespace)
            .unwrap_or_else(|| panic!("no sandbox org for namespace {namespace}"))
            .id
            .to_string()
    };
    let links = of("orglink.dev/v1alpha1", "OrgLink");
    assert!(links.len() >= 2, "a link, declared on both sides");
    for link in &links {
        let ns = link["metadata"]["namespace"].as_str().unwrap();
        let org = link["spec"]["organizationRef"].as_str().unwrap();
        assert!(
            of("orglink.dev/v1alpha1", "Organization")
                .iter()
                .any(|o| o["metadata"]["name"] == org && o["metadata"]["namespace"] == ns),
            "OrgLink {ns}/{}: no Organization {org} in {ns}",
            link["metadata"]["name"]
        );
        let peer = link["spec"]["peer"]["organizationId"].as_str().unwrap();
        assert!(
            links.iter().any(|other| {
                let other_ns = other["metadata"]["namespace"].as_str().unwrap();
                org_id(other_ns) == peer && other["spec"]["peer"]["organizationId"] == org_id(ns)
            }),
            "OrgLink {ns}/{}: the peer's side is not declared",
            link["metadata"]["name"]
        );
    }

    // A grant without pairingId has the trustee's request in the set, each naming the
    // other: the operator takes the pairing ID from it.
    let pairings = of("orglink.dev/v1alpha1", "OrgPairing");
    let grants: Vec<&&Value> = pairings
        .iter()
        .filter(|p| p["spec"]["grant"].is_object())
        .collect();
    assert!(!grants.is_empty(), "a pairing, declared on both sides");
    for g in grants {
        let ns = g["metadata"]["namespace"].as_str().unwrap();
        assert!(
            g["spec"]["grant"]["pairingId"].is_null(),
            "the GitOps grant copies no ID"
        );
        let peer = g["spec"]["peer"]["organizationId"].as_str().unwrap();
        assert!(
            pairings.iter().any(|r| {
                let r_ns = r["metadata"]["namespace"].as_str().unwrap();
                r["spec"]["request"].is_object()
                    && org_id(r_ns) == peer
                    && r["spec"]["peer"]["organizationId"] == org_id(ns)
            }),
            "OrgPairing {ns}/{}: no request of its peer names it",
            g["metadata"]["name"]
        );
    }

    // Nothing else: every object is one of the kinds checked here.
    for (file, o) in &objects {
        let known = [
            ("argoproj.io/v1alpha1", "Application"),
            ("source.toolkit.fluxcd.io/v1", "GitRepository"),
            ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
            ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
            ("v1", "ConfigMap"),
            ("v1", "Namespace"),
            ("orglink.dev/v1alpha1", "Organization"),
            ("orglink.dev/v1alpha1", "OrgLink"),
            ("orglink.dev/v1alpha1", "OrgPairing"),
        ];
        assert!(
            known
                .iter()
                .any(|(a, k)| o["apiVersion"] == *a && o["kind"] == *k),
            "{}: unexpected {} {}",
            file.display(),
            o["apiVersion"],
            o["kind"]
        );
    }
}
