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
