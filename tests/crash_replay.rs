//! Restarting after a crash in the middle of a create (issue 15), end to end: the real
//! kube-apiserver, the operator's controllers and the simulated Genesys Cloud.
//!
//! The state a crash leaves is set up by hand, deterministically: the pairing exists in
//! Genesys Cloud, and the OrgPairing's status holds the intent the operator writes
//! before `POST /pairings` but not the pairing's ID (the operator died before writing
//! it). The operator must not make a second pairing for the same request.

mod support;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use orglink_operator::api::conditions::reasons;
use orglink_operator::api::{
    OrgPairing, OrgPairingSpec, Organization, PairingIntent, PairingRequest, PeerRef,
};
use orglink_operator::genesys::{Credentials, GenesysClient, GenesysConfig};
use orglink_operator::sandbox::genesys_sim::SeedOrg;
use orglink_operator::sandbox::genesys_sim::cluster::org_objects;
use support::{WAIT, World, apply, eventually};
use uuid::Uuid;

const TRUSTOR: &str = "Acme Prod";
const TRUSTEE: &str = "MSP Prod";
const REQUEST: &str = "into-acme";
/// The operator's field manager: the hand-written status is the operator's own.
const OPERATOR: &str = "orglink-operator";

fn request(w: &World, users: &[Uuid]) -> OrgPairing {
    let trustor = w.org(TRUSTOR);
    OrgPairing::new(
        REQUEST,
        OrgPairingSpec {
            organization_ref: w.ns(TRUSTEE).to_string(),
            peer: PeerRef {
                organization_id: trustor.id.to_string(),
                region: trustor.region,
            },
            request: Some(PairingRequest {
                users: users.iter().map(Uuid::to_string).collect(),
                groups: vec![],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    )
}

/// Replaces `org`'s credentials Secret; `good: false` makes Genesys refuse it, so the
/// Organization is not Ready and nothing acts for it.
async fn set_credentials(w: &World, org: &SeedOrg, good: bool) {
    let ns = w.ns(&org.name);
    let mut secret = org_objects(org, ns, &w.sim.region_url(org.region)).secret;
    if !good && let Some(data) = secret.data.as_mut() {
        data.insert(
            "clientSecret".into(),
            ByteString(b"not-the-secret".to_vec()),
        );
    }
    let name = secret.metadata.name.clone().unwrap();
    Api::<Secret>::namespaced(w.client.clone(), ns)
        .patch(
            &name,
            &PatchParams::apply("orglink-tests").force(),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
}

async fn organization_ready(w: &World, org: &str, ready: bool) {
    let api: Api<Organization> = Api::namespaced(w.client.clone(), w.ns(org));
    let name = w.ns(org).to_string();
    eventually(
        &format!("Organization {name} Ready={ready}"),
        WAIT,
        || async {
            let o = api.get_opt(&name).await.ok().flatten()?;
            let conds = o.status?.conditions;
            (orglink_operator::api::conditions::is_true(&conds, "Ready") == ready).then_some(())
        },
    )
    .await
}

/// Waits until the trustee OrgPairing's `Ready` condition has `reason`.
async fn ready_reason(w: &World, reason: &str) -> OrgPairing {
    let api: Api<OrgPairing> = Api::namespaced(w.client.clone(), w.ns(TRUSTEE));
    eventually(
        &format!("{REQUEST} Ready reason {reason}"),
        WAIT,
        || async {
            let p = api.get_opt(REQUEST).await.ok().flatten()?;
            let found = p
                .status
                .as_ref()?
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.reason == reason);
            found.then_some(p)
        },
    )
    .await
}

fn genesys_as(w: &World, org: &SeedOrg) -> GenesysClient {
    orglink_operator::runtime::tls::ensure_crypto_provider();
    GenesysClient::new(
        GenesysConfig::new(
            org.region,
            Credentials::new(org.client_id.clone(), org.client_secret.expose()),
        )
        .with_label(format!("{} (crash replay test)", org.name))
        .with_api_base_url(w.sim.region_url(org.region)),
    )
    .expect("valid client settings")
}

fn pairings_of(w: &World, org: &SeedOrg) -> usize {
    w.sim
        .state()
        .all_pairings()
        .filter(|p| p.trustee == org.id)
        .count()
}

#[tokio::test]
async fn a_pairing_made_just_before_a_crash_is_never_made_twice() {
    let w = World::new("crash-pair", "1h").await;
    let msp = w.org(TRUSTEE);
    w.ready(TRUSTOR).await;
    w.ready(TRUSTEE).await;
    let u1 = msp.users[0].id;

    // The operator cannot act for MSP Prod while the OrgPairing appears.
    set_credentials(&w, &msp, false).await;
    organization_ready(&w, TRUSTEE, false).await;
    apply(&w.client, w.ns(TRUSTEE), &request(&w, &[u1])).await;
    let held = ready_reason(&w, reasons::ORGANIZATION_NOT_READY).await;
    assert_eq!(pairings_of(&w, &msp), 0);

    // What a crash between `POST /pairings` and the status write leaves: the pairing
    // in Genesys Cloud, and in status the intent without the ID.
    let lost = genesys_as(&w, &msp)
        .create_pairing(&[u1.to_string()], &[])
        .await
        .expect("the pairing the crashed operator made");
    let mut status = held.status.clone().unwrap();
    status.pairing_requested = Some(PairingIntent {
        requested_at: Time(k8s_openapi::jiff::Timestamp::now()),
        users: vec![u1.to_string()],
        groups: vec![],
    });
    let patch = serde_json::json!({
        "apiVersion": "orglink.dev/v1alpha1",
        "kind": "OrgPairing",
        "status": status,
    });
    let api: Api<OrgPairing> = Api::namespaced(w.client.clone(), w.ns(TRUSTEE));
    api.patch_status(
        REQUEST,
        &PatchParams::apply(OPERATOR).force(),
        &Patch::Apply(&patch),
    )
    .await
    .unwrap();

    // The operator comes back.
    set_credentials(&w, &msp, true).await;
    organization_ready(&w, TRUSTEE, true).await;
    let p = ready_reason(&w, reasons::PAIRING_UNRECORDED).await;
    let message = &p
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    assert!(
        message.contains("delete and re-create"),
        "the message says how to ask now: {message}"
    );
    assert_eq!(
        pairings_of(&w, &msp),
        1,
        "no second pairing next to {}",
        lost.id
    );
    // The way out the message names: delete and re-create asks at once, once.
    api.delete(REQUEST, &DeleteParams::default()).await.unwrap();
    eventually("the OrgPairing is gone", WAIT, || async {
        api.get_opt(REQUEST)
            .await
            .ok()
            .and_then(|p| p.is_none().then_some(()))
    })
    .await;
    apply(&w.client, w.ns(TRUSTEE), &request(&w, &[u1])).await;
    let renewed = ready_reason(&w, reasons::WAITING_FOR_CONFIRMATION).await;
    let s = renewed.status.unwrap();
    assert!(s.pairing_id.is_some_and(|id| id != lost.id));
    assert_eq!(s.pairing_requested, None);
    assert_eq!(pairings_of(&w, &msp), 2);
}
