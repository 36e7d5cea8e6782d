//! `crds/` is exactly what `orglink-operator crdgen` prints, and the schema carries the
//! names users rely on (short names, category, printer columns, status subresource).

use std::path::Path;

use orglink_operator::api::{crds, crds_yaml};

#[test]
fn crds_dir_holds_exactly_the_crdgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_to_string(root.join("crds/orglink-crds.yaml")).unwrap();
    assert!(
        on_disk == crds_yaml().unwrap(),
        "crds/orglink-crds.yaml is stale: run `make crds` (cargo run -- crdgen > crds/orglink-crds.yaml)"
    );
    let names: Vec<String> = std::fs::read_dir(root.join("crds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["orglink-crds.yaml".to_string()],
        "crds/ holds only the generated file"
    );
}

#[test]
fn names_columns_and_subresources() {
    let expected = [
        (
            "Organization",
            "gcorg",
            vec!["Region", "Org ID", "Ready", "Age"],
        ),
        (
            "OrgLink",
            "olink",
            vec![
                "Organization",
                "Peer",
                "Peer region",
                "Phase",
                "Ready",
                "Age",
            ],
        ),
        (
            "OrgPairing",
            "opair",
            vec!["Organization", "Side", "Peer", "Phase", "Ready", "Age"],
        ),
    ];
    let crds = crds();
    assert_eq!(crds.len(), 3);
    for (crd, (kind, short, columns)) in crds.iter().zip(expected) {
        let names = &crd.spec.names;
        assert_eq!(names.kind, kind);
        assert_eq!(names.short_names.as_deref(), Some(&[short.to_string()][..]));
        assert_eq!(
            names.categories.as_deref(),
            Some(&["genesys".to_string()][..])
        );
        assert_eq!(crd.spec.group, "orglink.dev");
        let v = &crd.spec.versions[0];
        assert_eq!(v.name, "v1alpha1");
        assert!(
            v.subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{kind} has a status subresource"
        );
        let shown: Vec<&str> = v
            .additional_printer_columns
            .iter()
            .flatten()
            .filter(|c| c.priority.unwrap_or(0) == 0)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(shown, columns, "{kind} printer columns");
    }
    let yaml = crds_yaml().unwrap();
    for rule in [
        "has(self.spec.request) != has(self.spec.grant)",
        "self == oldSelf",
        "maxItems: 25",
        "default: Accept",
        "x-kubernetes-list-type: set",
    ] {
        assert!(yaml.contains(rule), "schema carries {rule:?}");
    }
}
