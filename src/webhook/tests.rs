//! Each admission rule accepted and rejected through a whole AdmissionReview, and a
//! property test against a reference predicate written separately from api.md.

use k8s_openapi::jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::review::{ReviewError, answer};
use std::sync::Arc;

use super::cache::CacheView;
use super::rules::{ClusterView, Relationship};
use crate::api::{OrgLink, OrgPairing, Organization};
use crate::genesys::ApiBaseUrlAllowlist;

const ME: &str = "f3c95789-ace1-4954-ac5d-6baed2eac902";
const PEER: &str = "23cc390c-9354-40e3-8e1f-39485d23d1f3";
const U: [&str; 3] = [
    "cbf27734-ac10-4525-8b66-402800e03d2c",
    "e0a3a91f-2346-4c13-bc27-ed12b10877a9",
    "f1260ebc-7d56-4b56-b714-dc919b27dbdf",
];

#[derive(Default)]
struct View {
    orgs: Vec<Organization>,
    links: Vec<OrgLink>,
    pairings: Vec<OrgPairing>,
}

impl View {
    /// The production view (reflector store and relationship index) over these objects.
    fn cache(&self) -> CacheView {
        CacheView::from_objects(self.orgs.clone(), self.links.clone(), self.pairings.clone())
    }
}

impl ClusterView for View {
    fn organization(&self, ns: &str, name: &str) -> Option<Arc<Organization>> {
        self.cache().organization(ns, name)
    }
    fn manager(&self, relationship: &Relationship, except: &str) -> Option<String> {
        self.cache().manager(relationship, except)
    }
}

fn org(region: &str, linkable: &[&str]) -> Organization {
    serde_json::from_value(json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
        "metadata": {"name": "acme", "namespace": "team"},
        "spec": {"region": region, "credentialsSecretRef": {"name": "s"}},
        "status": {"organizationId": ME, "linkableRegions": linkable}
    }))
    .unwrap()
}

fn view() -> View {
    View {
        orgs: vec![org("us-east-1", &["us-east-1", "us-west-2"])],
        ..Default::default()
    }
}

fn link(name: &str, peer: &str, region: &str) -> Value {
    json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgLink",
        "metadata": {"name": name, "namespace": "team"},
        "spec": {"organizationRef": "acme", "peer": {"organizationId": peer, "region": region}}
    })
}

fn pairing(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "orglink.dev/v1alpha1", "kind": "OrgPairing",
        "metadata": {"name": name, "namespace": "team"},
        "spec": spec
    })
}

fn request(users: &[&str], groups: &[&str]) -> Value {
    json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
           "request": {"users": users, "groups": groups}})
}

fn review(kind: &str, op: &str, object: Option<Value>, old: Option<Value>) -> Vec<u8> {
    let name = object
        .as_ref()
        .or(old.as_ref())
        .and_then(|o| o["metadata"]["name"].as_str())
        .unwrap_or("x")
        .to_string();
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "orglink.dev", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "orglink.dev", "version": "v1alpha1", "resource": format!("{}s", kind.to_lowercase())},
            "name": name, "namespace": "team", "operation": op,
            "userInfo": {"username": "admin"},
            "object": object, "oldObject": old, "dryRun": false
        }
    }))
    .unwrap()
}

/// The operator's allowlist in these tests: the region hosts and one proxy.
fn allowlist() -> ApiBaseUrlAllowlist {
    ApiBaseUrlAllowlist::new(&["proxy.example.com".to_string()], false).unwrap()
}

fn now() -> Timestamp {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

/// (allowed, message, warnings)
fn run(
    view: &View,
    kind: &str,
    op: &str,
    object: Option<Value>,
    old: Option<Value>,
) -> (bool, String, Vec<String>) {
    let out = answer(
        &review(kind, op, object, old),
        Some(view),
        &allowlist(),
        now(),
    )
    .unwrap();
    let r = out.response.unwrap();
    (r.allowed, r.result.message, r.warnings.unwrap_or_default())
}

fn allowed(view: &View, kind: &str, object: Value) {
    let (ok, msg, _) = run(view, kind, "CREATE", Some(object), None);
    assert!(ok, "expected allowed, got: {msg}");
}

fn denied(view: &View, kind: &str, object: Value, old: Option<Value>) -> String {
    let op = if old.is_some() { "UPDATE" } else { "CREATE" };
    let (ok, msg, _) = run(view, kind, op, Some(object), old);
    assert!(!ok, "expected a denial");
    msg
}

#[test]
fn unknown_region() {
    allowed(&view(), "OrgLink", link("l", PEER, "us-east-1"));
    let msg = denied(&view(), "OrgLink", link("l", PEER, "moon-1"), None);
    assert!(
        msg.starts_with("spec.peer.region: unknown region \"moon-1\"; use one of: "),
        "{msg}"
    );
    assert!(msg.contains("eu-west-1"), "{msg}");
}

#[test]
fn peer_is_not_a_canonical_uuid() {
    let msg = denied(
        &view(),
        "OrgLink",
        link("l", &PEER.to_uppercase(), "us-east-1"),
        None,
    );
    assert!(
        msg.starts_with("spec.peer.organizationId: \"23CC390C"),
        "{msg}"
    );
    assert!(msg.contains("canonical lower-case UUID"), "{msg}");
}

#[test]
fn peer_is_self() {
    let msg = denied(&view(), "OrgLink", link("l", ME, "us-east-1"), None);
    assert_eq!(
        msg,
        format!(
            "spec.peer.organizationId: {ME} is the ID of Organization acme itself; name the other organization"
        )
    );
}

#[test]
fn link_region_not_linkable() {
    allowed(&view(), "OrgLink", link("l", PEER, "us-west-2"));
    let msg = denied(&view(), "OrgLink", link("l", PEER, "eu-west-1"), None);
    assert_eq!(
        msg,
        "spec.peer.region: Organization acme cannot link to region eu-west-1; it can link to: us-east-1, us-west-2"
    );
}

#[test]
fn pairing_across_regions() {
    allowed(&view(), "OrgPairing", pairing("p", request(&U[..1], &[])));
    let mut spec = request(&U[..1], &[]);
    spec["peer"]["region"] = json!("eu-west-1");
    let msg = denied(&view(), "OrgPairing", pairing("p", spec), None);
    assert_eq!(
        msg,
        "spec.peer.region: eu-west-1 differs from Organization acme's region us-east-1; authorized organizations must be in the same region"
    );
}

#[test]
fn over_25_users() {
    let ids: Vec<String> = (0..26)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    allowed(
        &view(),
        "OrgPairing",
        pairing("p", request(&refs[..25], &[])),
    );
    let msg = denied(
        &view(),
        "OrgPairing",
        pairing("p", request(&refs, &[])),
        None,
    );
    assert_eq!(
        msg,
        "spec.request.users: 26 users listed; Genesys Cloud allows at most 25 authorized users per pairing (use groups for more people)"
    );
}

#[test]
fn duplicate_ids() {
    let msg = denied(
        &view(),
        "OrgPairing",
        pairing("p", request(&[U[0], U[1], U[0]], &[])),
        None,
    );
    assert_eq!(
        msg,
        format!(
            "spec.request.users[2]: {} is listed more than once; list each ID once",
            U[0]
        )
    );
}

#[test]
fn both_or_neither_request_and_grant() {
    let mut both = request(&U[..1], &[]);
    both["grant"] = json!({"pairingId": "x"});
    let msg = denied(&view(), "OrgPairing", pairing("p", both), None);
    assert!(
        msg.starts_with("spec: both request and grant are set"),
        "{msg}"
    );
    let neither =
        json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"}});
    let msg = denied(&view(), "OrgPairing", pairing("p", neither), None);
    assert!(
        msg.starts_with("spec: neither request nor grant is set"),
        "{msg}"
    );
}

#[test]
fn empty_request() {
    allowed(&view(), "OrgPairing", pairing("p", request(&[], &[U[2]])));
    let msg = denied(&view(), "OrgPairing", pairing("p", request(&[], &[])), None);
    assert_eq!(
        msg,
        "spec.request: no users and no groups; list at least one user (users by ID, userEmails by email) or group (groups by ID, groupNames by name) that needs access"
    );
}

#[test]
fn second_orglink_for_the_same_peer() {
    let mut v = view();
    v.links
        .push(serde_json::from_value(link("first", PEER, "us-east-1")).unwrap());
    // The same object again (an update of itself) is fine.
    allowed(&v, "OrgLink", link("first", PEER, "us-east-1"));
    let msg = denied(&v, "OrgLink", link("second", PEER, "us-east-1"), None);
    assert_eq!(
        msg,
        format!(
            "spec.peer.organizationId: OrgLink first already manages acme's relationship with {PEER}; edit that object instead of adding a second one"
        )
    );
}

/// The API server sends the object with its metadata filled in (managedFields,
/// labels, uid): the rules judge it all the same.
#[test]
fn an_object_as_the_api_server_sends_it_is_judged_the_same() {
    let mut v = view();
    v.links
        .push(serde_json::from_value(link("first", PEER, "us-east-1")).unwrap());
    let mut second = link("second", PEER, "us-east-1");
    second["metadata"]["uid"] = "15bf350b-e8a8-4cef-873b-88deaa97b89a".into();
    second["metadata"]["labels"] = serde_json::json!({"team": "voice"});
    second["metadata"]["creationTimestamp"] = "2026-11-24T12:00:00Z".into();
    second["metadata"]["managedFields"] = serde_json::json!([{
        "apiVersion": "orglink.dev/v1alpha1", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {".": {}, "f:organizationRef": {}, "f:peer": {".": {}, "f:organizationId": {}, "f:region": {}}}},
        "manager": "kubectl-create", "operation": "Update", "time": "2026-11-24T12:00:00Z"
    }]);
    let msg = denied(&v, "OrgLink", second, None);
    assert!(msg.contains("OrgLink first already manages"), "{msg}");
}

#[test]
fn second_pairing_of_the_same_side_only() {
    let mut v = view();
    v.pairings
        .push(serde_json::from_value(pairing("first", request(&U[..1], &[]))).unwrap());
    let msg = denied(
        &v,
        "OrgPairing",
        pairing("second", request(&U[1..2], &[])),
        None,
    );
    assert!(
        msg.contains("OrgPairing (request side) first already manages"),
        "{msg}"
    );
    let grant = json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
                       "grant": {"pairingId": "p1", "users": [{"id": U[0], "roles": [{"name": "Supervisor"}]}]}});
    allowed(&v, "OrgPairing", pairing("grant-side", grant));
}

#[test]
fn immutable_fields() {
    let old = link("l", PEER, "us-east-1");
    let mut new = old.clone();
    new["spec"]["organizationRef"] = json!("other");
    let msg = denied(&view(), "OrgLink", new, Some(old.clone()));
    assert!(
        msg.contains("spec.organizationRef: changed from \"acme\" to \"other\"; it is immutable"),
        "{msg}"
    );
    let moved = link("l", U[0], "us-east-1");
    let msg = denied(&view(), "OrgLink", moved, Some(old.clone()));
    assert!(msg.starts_with("spec.peer: changed from"), "{msg}");
    let (ok, msg, _) = run(&view(), "OrgLink", "UPDATE", Some(old.clone()), Some(old));
    assert!(ok, "{msg}");
}

#[test]
fn expires_at_in_the_past() {
    let grant = |at: &str| {
        json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
               "grant": {"pairingId": "p1", "expiresAt": at, "users": [{"id": U[0]}]}})
    };
    allowed(
        &view(),
        "OrgPairing",
        pairing("g", grant("2027-01-01T00:00:00Z")),
    );
    let msg = denied(
        &view(),
        "OrgPairing",
        pairing("g", grant("2026-01-01T00:00:00Z")),
        None,
    );
    assert_eq!(
        msg,
        "spec.grant.expiresAt: 2026-01-01T00:00:00Z is in the past; set a future time, or remove it for no expiry"
    );
    // An unchanged expiry that has since passed does not block other edits.
    let old = pairing("g", grant("2026-01-01T00:00:00Z"));
    let (ok, msg, _) = run(
        &view(),
        "OrgPairing",
        "UPDATE",
        Some(old.clone()),
        Some(old),
    );
    assert!(ok, "{msg}");
}

#[test]
fn missing_organization_is_a_warning() {
    let (ok, msg, warnings) = run(
        &View::default(),
        "OrgLink",
        "CREATE",
        Some(link("l", PEER, "us-east-1")),
        None,
    );
    assert!(ok, "{msg}");
    assert_eq!(warnings, vec!["spec.organizationRef: no Organization acme in namespace team yet; nothing happens until it exists".to_string()]);
}

#[test]
fn deletes_are_always_allowed() {
    let (ok, _, _) = run(
        &View::default(),
        "OrgLink",
        "DELETE",
        None,
        Some(link("l", ME, "moon")),
    );
    assert!(ok);
}

#[test]
fn caches_not_synced_is_a_clear_denial() {
    let out = answer(
        &review(
            "OrgLink",
            "CREATE",
            Some(link("l", PEER, "us-east-1")),
            None,
        ),
        None,
        &allowlist(),
        now(),
    )
    .unwrap();
    let r = out.response.unwrap();
    assert!(!r.allowed);
    assert!(
        r.result.message.contains("still loading"),
        "{}",
        r.result.message
    );
}

#[test]
fn not_a_v1_review_is_an_error_not_a_panic() {
    assert!(matches!(
        answer(b"{not json", None, &allowlist(), now()),
        Err(ReviewError::NotJson(_))
    ));
    let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#;
    assert!(matches!(
        answer(v1beta1, None, &allowlist(), now()),
        Err(ReviewError::WrongType { .. })
    ));
    for not_an_object in [&b"[]"[..], b"\"x\"", b"42"] {
        assert_eq!(
            answer(not_an_object, None, &allowlist(), now()).unwrap_err(),
            ReviewError::WrongType {
                api_version: String::new(),
                kind: String::new()
            }
        );
    }
    let not_a_string = br#"{"apiVersion":1,"kind":"AdmissionReview","request":{}}"#;
    assert_eq!(
        answer(not_a_string, None, &allowlist(), now()).unwrap_err(),
        ReviewError::WrongType {
            api_version: String::new(),
            kind: "AdmissionReview".into()
        }
    );
    let no_request = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#;
    assert!(matches!(
        answer(no_request, None, &allowlist(), now()),
        Err(ReviewError::NoRequest(_))
    ));
}

// ---- property test ----

/// The reference predicate, written from api.md's rule list independently of the
/// rules module: may this OrgPairing request be created in `view()`?
fn reference_allows(users: &[String], groups: &[String], peer: &str, region: &str) -> bool {
    let uuid = |s: &str| {
        s.len() == 36
            && s.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_digit() || ('a'..='f').contains(&c)
                }
            })
    };
    let unique =
        |v: &[String]| v.iter().collect::<std::collections::BTreeSet<_>>().len() == v.len();
    users.len() <= 25
        && !(users.is_empty() && groups.is_empty())
        && users.iter().chain(groups).all(|s| uuid(s))
        && unique(users)
        && unique(groups)
        && uuid(peer)
        && peer != ME
        && region == "us-east-1"
}

fn id_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![U[0].to_string(), U[1].to_string(), U[2].to_string(), ME.to_string(), PEER.to_string()]),
        2 => "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}",
        1 => "[0-9A-Za-z-]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn verdict_matches_the_reference_predicate(
        users in prop::collection::vec(id_strategy(), 0..30),
        groups in prop::collection::vec(id_strategy(), 0..4),
        peer in id_strategy(),
        region in prop::sample::select(vec!["us-east-1", "eu-west-1", "us-west-2", "nowhere"]),
    ) {
        let spec = json!({"organizationRef": "acme", "peer": {"organizationId": peer, "region": region},
                          "request": {"users": users, "groups": groups}});
        let (ok, msg, _) = run(&view(), "OrgPairing", "CREATE", Some(pairing("p", spec)), None);
        prop_assert_eq!(ok, reference_allows(&users, &groups, &peer, region), "message: {}", msg);
    }

    #[test]
    fn arbitrary_json_never_panics(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = answer(&body, Some(&view()), &allowlist(), now());
    }
}

#[test]
fn metadata_only_updates_pass_even_while_caches_sync() {
    let old = link("l", PEER, "us-east-1");
    let mut new = old.clone();
    new["metadata"]["finalizers"] = json!(["orglink.dev/cleanup"]);
    let out = answer(
        &review("OrgLink", "UPDATE", Some(new), Some(old)),
        None,
        &allowlist(),
        now(),
    )
    .unwrap();
    assert!(out.response.unwrap().allowed);
}

fn organization(api_base_url: Option<&str>) -> Value {
    let mut spec = json!({"region": "us-east-1", "credentialsSecretRef": {"name": "acme-oauth"}});
    if let Some(url) = api_base_url {
        spec["apiBaseUrl"] = json!(url);
    }
    json!({"apiVersion": "orglink.dev/v1alpha1", "kind": "Organization",
           "metadata": {"name": "acme", "namespace": "team"}, "spec": spec})
}

#[test]
fn api_base_url_off_the_allowlist_is_refused_naming_the_flag() {
    allowed(&view(), "Organization", organization(None));
    allowed(
        &view(),
        "Organization",
        organization(Some("https://api.mypurecloud.com")),
    );
    allowed(
        &view(),
        "Organization",
        organization(Some("https://proxy.example.com/genesys")),
    );
    // Reproduction 1 of issue 11: credentials to a server of the tenant's choice.
    let msg = denied(
        &view(),
        "Organization",
        organization(Some("http://127.0.0.1:18080")),
        None,
    );
    assert!(
        msg.contains("spec.apiBaseUrl") && msg.contains("--allow-insecure-http"),
        "{msg}"
    );
    let msg = denied(
        &view(),
        "Organization",
        organization(Some("https://collector.evil.example")),
        None,
    );
    assert!(
        msg.contains("--allow-api-base-url https://collector.evil.example"),
        "{msg}"
    );
    // Changing an allowed URL to a refused one is refused too.
    let msg = denied(
        &view(),
        "Organization",
        organization(Some("https://collector.evil.example")),
        Some(organization(Some("https://proxy.example.com"))),
    );
    assert!(msg.contains("spec.apiBaseUrl"), "{msg}");
}

fn grant_spec(grant: Value) -> Value {
    json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
           "grant": grant})
}

#[test]
fn subjects_by_email_and_name_are_allowed() {
    let v = view();
    allowed(
        &v,
        "OrgPairing",
        pairing(
            "by-name",
            grant_spec(
                json!({"users": [{"email": "ana@example.com", "roles": [{"name": "Supervisor"}]}],
                              "groups": [{"name": "Tier 1 Support", "roles": [{"name": "Supervisor"}]}]}),
            ),
        ),
    );
    allowed(
        &v,
        "OrgPairing",
        pairing(
            "asks-by-name",
            json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
                   "request": {"userEmails": ["ana@example.com"], "groupNames": ["Tier 1 Support"]}}),
        ),
    );
}

#[test]
fn subject_naming_rules_name_the_field_and_the_fix() {
    let rows: &[(Value, &str)] = &[
        (
            json!({"users": [{"id": U[0], "email": "ana@example.com"}]}),
            "spec.grant.users[0]: name the user by exactly one of id or email (e.g. {email: ...}); 2 are set",
        ),
        (
            json!({"users": [{"name": "Ana"}]}),
            "spec.grant.users[0]: a user is named by id or email, not name; use {email: ...} or {id: <uuid>}",
        ),
        (
            json!({"groups": [{"email": "g@example.com"}]}),
            "spec.grant.groups[0]: a group is named by id or name, not email; use {name: ...} or {id: <uuid>}",
        ),
        (
            json!({"users": [{"email": "not-an-email"}]}),
            "spec.grant.users[0].email: \"not-an-email\" is not an email address",
        ),
        (
            json!({"users": [{"email": "Ana@example.com"}, {"email": "ana@example.com"}]}),
            "spec.grant.users[1]: ana@example.com is listed more than once; list each user once, with all its roles",
        ),
        (
            json!({"groups": [{"name": "Night"}, {"name": "Night"}]}),
            "spec.grant.groups[1]: Night is listed more than once",
        ),
    ];
    for (grant, want) in rows {
        let msg = denied(
            &view(),
            "OrgPairing",
            pairing("g", grant_spec(grant.clone())),
            None,
        );
        assert!(msg.contains(want), "{grant}: {msg}");
    }
    let msg = denied(
        &view(),
        "OrgPairing",
        pairing(
            "r",
            json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
                   "request": {"userEmails": ["ana@example.com", "ANA@example.com", "bad"]}}),
        ),
        None,
    );
    assert!(
        msg.contains("spec.request.userEmails[1]: ANA@example.com is listed more than once"),
        "{msg}"
    );
    assert!(
        msg.contains("spec.request.userEmails[2]: \"bad\" is not an email address"),
        "{msg}"
    );
}

#[test]
fn emails_count_toward_the_25_users() {
    let emails: Vec<String> = (0..26).map(|i| format!("u{i}@example.com")).collect();
    let msg = denied(
        &view(),
        "OrgPairing",
        pairing(
            "r",
            json!({"organizationRef": "acme", "peer": {"organizationId": PEER, "region": "us-east-1"},
                   "request": {"userEmails": emails}}),
        ),
        None,
    );
    assert!(
        msg.contains("spec.request.users and spec.request.userEmails: 26 users listed"),
        "{msg}"
    );
}

#[test]
fn role_divisions_are_named_once_and_all_stands_alone() {
    let v = view();
    let spec = |divisions: Value| {
        pairing(
            "scoped",
            grant_spec(json!({"pairingId": "p1", "users": [{"id": U[0], "roles": [
                {"name": "Supervisor", "divisions": divisions}]}]})),
        )
    };
    allowed(&v, "OrgPairing", spec(json!(["Sales", "Support"])));
    allowed(&v, "OrgPairing", spec(json!(["*"])));
    let msg = denied(&v, "OrgPairing", spec(json!(["*", "Sales"])), None);
    assert!(
        msg.contains("spec.grant.users[0].roles[0].divisions: \"*\" (all divisions) is listed with other divisions"),
        "{msg}"
    );
    let msg = denied(&v, "OrgPairing", spec(json!(["Sales", "Sales"])), None);
    assert!(
        msg.contains(
            "spec.grant.users[0].roles[0].divisions[1]: \"Sales\" is listed more than once"
        ),
        "{msg}"
    );
}

#[test]
fn admin_roles_without_expiry_are_a_warning() {
    let spec = |roles: Value, expires: Option<&str>| {
        let mut g = json!({"pairingId": "p1", "users": [{"id": U[0], "roles": roles}]});
        if let Some(at) = expires {
            g["expiresAt"] = json!(at);
        }
        pairing("g", grant_spec(g))
    };
    let (ok, _, warnings) = run(
        &view(),
        "OrgPairing",
        "CREATE",
        Some(spec(json!([{"name": "Master Admin"}]), None)),
        None,
    );
    assert!(ok);
    assert_eq!(warnings, vec!["spec.grant gives role \"Master Admin\" without spec.grant.expiresAt: the peer keeps administrator access until someone revokes it; set expiresAt (RFC 3339) or grant a narrower role".to_string()]);
    let (ok, _, warnings) = run(
        &view(),
        "OrgPairing",
        "CREATE",
        Some(spec(
            json!([{"name": "Admin"}]),
            Some("2027-01-01T00:00:00Z"),
        )),
        None,
    );
    assert!(ok);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (_, _, warnings) = run(
        &view(),
        "OrgPairing",
        "CREATE",
        Some(spec(json!([{"name": "Supervisor"}]), None)),
        None,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn admin_role_names() {
    use crate::webhook::rules::is_admin_role;
    for name in [
        "Admin",
        "Master Admin",
        "admin",
        "Telephony Admin",
        "admin-lite",
        "Administrator",
    ] {
        assert!(is_admin_role(name), "{name}");
    }
    for name in ["Supervisor", "Adminless", "Badminton Coach", "Employee", ""] {
        assert!(!is_admin_role(name), "{name}");
    }
}
