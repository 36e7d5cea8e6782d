//! One reconcile of each kind against a mocked API server ([`super::mock_api`]): the
//! skeleton's finalizer, orphan escape hatch, cleanup-failed reporting and backoff,
//! tested without a control plane.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use serde_json::Value;

use super::Error;
use super::mock_api::MockApi;
use super::reconciler::{error_policy, reconcile};
use crate::api::common::PeerRef;
use crate::api::{
    FINALIZER, LinkDecision, ON_DELETE_ANNOTATION, OrgLink, OrgLinkSpec, OrgPairing,
    OrgPairingSpec, Organization, PairingRequest, Region,
};

const NS: &str = "team-a";
const PEER: &str = "23cc390c-9354-40e3-8e1f-39485d23d1f3";

fn link() -> OrgLink {
    let mut link = OrgLink::new(
        "l1",
        OrgLinkSpec {
            organization_ref: "acme".into(),
            peer: PeerRef {
                organization_id: PEER.into(),
                region: Region::UsEast1,
            },
            decision: LinkDecision::Accept,
            attempt: 0,
        },
    );
    link.metadata.namespace = Some(NS.into());
    link
}

fn pairing() -> OrgPairing {
    let mut pairing = OrgPairing::new(
        "p1",
        OrgPairingSpec {
            organization_ref: "acme".into(),
            peer: PeerRef {
                organization_id: PEER.into(),
                region: Region::UsEast1,
            },
            request: Some(PairingRequest {
                users: vec!["u1".into()],
                groups: vec![],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    );
    pairing.metadata.namespace = Some(NS.into());
    pairing
}

fn organization() -> Organization {
    Organization::sample("acme", NS)
}

fn finalized<K: kube::Resource>(mut obj: K) -> K {
    obj.meta_mut().finalizers = Some(vec![FINALIZER.into()]);
    obj
}

fn deleting<K: kube::Resource>(mut obj: K) -> K {
    obj.meta_mut().deletion_timestamp = Some(Time(Timestamp::now()));
    finalized(obj)
}

fn orphaned<K: kube::Resource>(mut obj: K) -> K {
    obj.meta_mut()
        .annotations
        .get_or_insert_default()
        .insert(ON_DELETE_ANNOTATION.into(), "orphan".into());
    obj
}

fn json<K: serde::Serialize>(obj: &K) -> Value {
    serde_json::to_value(obj).unwrap()
}

/// The delay of a requeue, in seconds (`Action` shows it only through `Debug`).
fn seconds(action: &Action) -> Option<f64> {
    let debug = format!("{action:?}");
    let inner = debug.split("Some(").nth(1)?.split(')').next()?;
    let (number, unit) = inner.split_at(inner.find(|c: char| c.is_ascii_alphabetic())?);
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The `Ready` condition of a status write.
fn ready(body: &Value) -> (String, String, String) {
    let ready = body["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned()
        .unwrap_or_default();
    let text = |k: &str| ready[k].as_str().unwrap_or_default().to_string();
    (text("status"), text("reason"), text("message"))
}

#[tokio::test]
async fn a_new_object_gets_the_finalizer_and_nothing_else() {
    let obj = link();
    let api = MockApi::start(json(&obj)).await;
    let action = reconcile(Arc::new(obj), api.context(vec![])).await.unwrap();
    assert_eq!(action, Action::await_change());
    let seen = api.seen();
    assert_eq!(
        api.lines(),
        [format!(
            "PATCH /apis/orglink.dev/v1alpha1/namespaces/{NS}/orglinks/l1"
        )]
    );
    assert!(
        seen[0].body.to_string().contains(FINALIZER),
        "{:?}",
        seen[0]
    );
}

#[tokio::test]
async fn an_orglink_without_its_organization_waits_with_the_reason_in_status() {
    let obj = finalized(link());
    let api = MockApi::start(json(&obj)).await;
    let ctx = api.context(vec![]);
    let action = reconcile(Arc::new(obj), ctx.clone()).await.unwrap();
    // Not a failure: the Organization's watch wakes the link; 6 × `soon` covers a miss.
    assert_eq!(action, Action::requeue(ctx.settings.soon * 6));
    let writes: Vec<_> = api
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/orglinks/l1/status"))
        .collect();
    assert_eq!(writes.len(), 1, "{:?}", api.lines());
    let (status, reason, message) = ready(&writes[0].body);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "OrganizationNotReady")
    );
    assert!(message.contains("Organization acme"), "{message}");
    assert_eq!(writes[0].body["status"]["phase"], "Requesting");
}

#[tokio::test]
async fn an_orphaned_orgpairing_is_let_go_without_reading_anything() {
    let obj = orphaned(deleting(pairing()));
    let api = MockApi::start(json(&obj)).await;
    let action = reconcile(Arc::new(obj), api.context(vec![])).await.unwrap();
    assert_eq!(action, Action::await_change());
    // Only the finalizer's removal: no Organization lookup, no status, no Event.
    assert_eq!(
        api.lines(),
        [format!(
            "PATCH /apis/orglink.dev/v1alpha1/namespaces/{NS}/orgpairings/p1"
        )]
    );
}

#[tokio::test]
async fn a_cleanup_that_cannot_connect_keeps_the_object_and_names_the_escape_hatch() {
    let obj = deleting(link());
    let api = MockApi::start(json(&obj)).await;
    let error = reconcile(Arc::new(obj), api.context(vec![]))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::CleanupFailed { .. }), "{error:?}");
    assert_eq!(error.class(), super::error::labels::BLOCKED);
    assert!(
        std::error::Error::source(&error).is_some(),
        "the cause is kept"
    );
    let seen = api.seen();
    let status = seen
        .iter()
        .find(|s| s.path.ends_with("/orglinks/l1/status"))
        .expect("a status write");
    let (_, reason, message) = ready(&status.body);
    assert_eq!(reason, "CleanupFailed");
    assert!(
        message.contains("Organization acme (spec.organizationRef) not found")
            && message.contains(&format!("{ON_DELETE_ANNOTATION}=orphan")),
        "{message}"
    );
    assert!(
        seen.iter().any(|s| s.path.ends_with("/events")),
        "a Warning Event: {:?}",
        api.lines()
    );
    // The finalizer stays.
    assert!(!api.lines().iter().any(|l| l.ends_with("/orglinks/l1")));
}

#[tokio::test]
async fn an_organization_without_its_secret_backs_off_and_its_counter_goes_with_it() {
    let obj = finalized(organization());
    let api = MockApi::start(json(&obj)).await;
    let ctx = api.context(vec![]);
    let action = reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    // The first failure waits `error_backoff` (2 s) plus up to 20%.
    let first = seconds(&action).expect("a requeue");
    assert!((2.0..=2.4).contains(&first), "{action:?}");
    assert_eq!(ctx.failing_objects(), 1);
    let status = api
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("/organizations/acme/status"))
        .expect("a status write");
    let (ready_status, reason, _) = ready(&status.body);
    assert_eq!(ready_status, "False");
    assert!(reason.starts_with("Credentials"), "{reason}");
    // The same counter again: doubled.
    let second = reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    let second = seconds(&second).expect("a requeue");
    assert!((4.0..=4.8).contains(&second), "{second}");
    assert_eq!(ctx.failing_objects(), 1, "one counter per object");
    // The error policy counts on the same counter (it used to keep a second one, under
    // another key, that nothing reset).
    let blocked = Error::Blocked("waiting".into());
    let third = error_policy::<Organization>(Arc::new(obj.clone()), &blocked, ctx.clone());
    let third = seconds(&third).expect("a requeue");
    assert!((8.0..=9.6).contains(&third), "{third}");
    assert_eq!(ctx.failing_objects(), 1);

    // Deleted (no dependents in the empty namespace): its counter is forgotten.
    let gone = deleting(obj);
    let action = reconcile(Arc::new(gone), ctx.clone()).await.unwrap();
    assert_eq!(action, Action::await_change());
    assert_eq!(ctx.failing_objects(), 0);
}
