//! Adopt and audit (issue 17, item 5): a voice link and a trust made in Genesys Cloud
//! directly (through its API, as the UI does), then found by the operator: the
//! Organizations mark them `unmanaged`, `kubectl orglink audit` lists them with the
//! manifests that adopt them, and applying those manifests adopts them without a new
//! link request, pairing or trust (the simulator's own record, `GET /_sim/requests`,
//! and its call counts), with an `Adopted` Event each; after that they are managed. A
//! pairing made in Genesys and not accepted yet is adopted by the trustee OrgPairing
//! that names it (`orglink.dev/adopt-pairing`), without a second pairing.

mod support;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use orglink_operator::api::{
    OrgLink, OrgLinkPhase, OrgPairing, OrgPairingPhase, OrgPairingSpec, Organization,
    OrganizationStatus, PairingRequest, PeerRef,
};
use orglink_operator::genesys::models::{TrustCreate, TrustMemberCreate};
use support::{
    WAIT, World, apply, eventually, genesys_as, kubectl_orglink, link_phase, pairing_phase,
};

const POST_LINK: &str = "POST /api/v2/telephony/organization/link";
const POST_PAIRING: &str = "POST /api/v2/orgauthorization/pairings";
const POST_TRUST: &str = "POST /api/v2/orgauthorization/trustees";

/// The simulator's record of every link request and pairing it accepted.
#[derive(serde::Deserialize, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
struct Requests {
    link_requests: Vec<serde_json::Value>,
    pairings: Vec<serde_json::Value>,
}

async fn requests(w: &World) -> Requests {
    reqwest::get(format!("{}/_sim/requests", w.sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn org_status(w: &World, org: &str) -> OrganizationStatus {
    let ns = w.ns(org);
    Api::<Organization>::namespaced(w.client.clone(), ns)
        .get(ns)
        .await
        .unwrap()
        .status
        .unwrap_or_default()
}

/// Waits until an Event with `reason` about `ns/name` exists; returns its note.
async fn event(w: &World, ns: &str, name: &str, reason: &str) -> String {
    let api: Api<Event> = Api::namespaced(w.client.clone(), ns);
    eventually(
        &format!("a {reason} Event about {ns}/{name}"),
        WAIT,
        || async {
            api.list(&ListParams::default())
                .await
                .ok()?
                .into_iter()
                .find(|e| {
                    e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                        && e.reason.as_deref() == Some(reason)
                })
                .and_then(|e| e.note)
        },
    )
    .await
}

/// The YAML documents of `kubectl orglink audit -n NS -o yaml`.
async fn adopting_manifests(ns: &str) -> Vec<serde_yaml::Value> {
    let (ok, out, err) = kubectl_orglink(&["audit", "-n", ns, "-o", "yaml"]).await;
    assert!(ok, "audit -o yaml failed: {err}");
    serde_yaml::Deserializer::from_str(&out)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

#[tokio::test]
async fn relationships_made_in_genesys_are_audited_and_adopted_without_a_new_request() {
    let w = World::new("adopt", "1h").await;
    let (acme, dr, msp) = (w.org("Acme Prod"), w.org("Acme DR"), w.org("MSP Prod"));
    let (acme_ns, msp_ns) = (w.ns("Acme Prod").to_string(), w.ns("MSP Prod").to_string());
    w.ready("Acme Prod").await;
    w.ready("MSP Prod").await;

    // In Genesys Cloud, not in Git: Acme Prod links to Acme DR, and trusts MSP's first
    // user with its Supervisor role.
    let (acme_api, dr_api, msp_api) = (
        genesys_as(&w, &acme),
        genesys_as(&w, &dr),
        genesys_as(&w, &msp),
    );
    acme_api
        .create_link(&dr.id.to_string(), dr.region.code())
        .await
        .unwrap();
    dr_api.approve_link(&acme.id.to_string()).await.unwrap();
    let user = msp.users[0].id.to_string();
    let pairing = msp_api
        .create_pairing(std::slice::from_ref(&user), &[])
        .await
        .unwrap();
    let supervisor = acme.roles.iter().find(|r| r.name == "Supervisor").unwrap();
    acme_api
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id.clone()),
            enabled: true,
            users: vec![TrustMemberCreate {
                id: user.clone(),
                role_ids: vec![supervisor.id.to_string()],
                ..TrustMemberCreate::default()
            }],
            groups: vec![],
            date_expired: None,
        })
        .await
        .unwrap();

    // And a pairing MSP made for access to Acme DR, not accepted yet: Genesys Cloud
    // cannot list it, so the trustee OrgPairing names it by annotation.
    let second_user = msp.users[1].id.to_string();
    let pending = msp_api
        .create_pairing(std::slice::from_ref(&second_user), &[])
        .await
        .unwrap();

    // The audit asks the operator for a fresh view first, then lists both as unmanaged.
    let (ok, report, err) = kubectl_orglink(&["audit", "-n", &acme_ns]).await;
    assert!(ok, "audit failed: {err}");
    assert!(
        report.contains("Unmanaged (in Genesys Cloud, declared by no object): 2"),
        "{report}"
    );
    assert!(report.contains(&dr.id.to_string()), "{report}");
    assert!(report.contains(&msp.id.to_string()), "{report}");
    assert!(report.contains("OrgLink link-"), "{report}");
    assert!(report.contains("kind: OrgLink"), "{report}");
    assert!(!report.contains("Some("), "no debug output: {report}");
    let status = org_status(&w, "Acme Prod").await;
    let linked = &status.linked_organizations;
    assert!(
        linked
            .iter()
            .any(|l| l.organization_id == dr.id.to_string() && l.unmanaged),
        "{linked:?}"
    );
    assert!(
        status
            .trustees
            .iter()
            .any(|t| t.organization_id == msp.id.to_string() && t.unmanaged),
        "{:?}",
        status.trustees
    );
    // The trustee side sees the same trust from MSP.
    let (ok, msp_report, _) = kubectl_orglink(&["audit", "-n", &msp_ns]).await;
    assert!(ok);
    assert!(
        msp_report.contains("trustor") && msp_report.contains(&acme.id.to_string()),
        "{msp_report}"
    );

    // Apply what the audit printed, as printed: the trust's members (and, on the trustor
    // side, their roles) are in it.
    let before = requests(&w).await;
    let calls = |w: &World| {
        let s = w.sim.stats();
        (
            s.count(acme.id, POST_LINK),
            s.count(msp.id, POST_PAIRING),
            s.count(acme.id, POST_TRUST),
        )
    };
    let calls_before = calls(&w);
    assert_eq!(
        calls_before,
        (1, 2, 1),
        "the admin's own calls (link request, 2 pairings, trust) are counted"
    );
    let mut names = Vec::new();
    for (ns, side) in [(&acme_ns, "grant"), (&msp_ns, "request")] {
        for doc in adopting_manifests(ns).await {
            let kind = doc["kind"].as_str().unwrap().to_string();
            let name = doc["metadata"]["name"].as_str().unwrap().to_string();
            match kind.as_str() {
                "OrgLink" => {
                    let link: OrgLink = serde_yaml::from_value(doc).unwrap();
                    apply(&w.client, ns, &link).await;
                }
                "OrgPairing" => {
                    let pairing: OrgPairing = serde_yaml::from_value(doc).unwrap();
                    if side == "grant" {
                        let grant = pairing.spec.grant.as_ref().expect("a grant");
                        assert_eq!(grant.users.len(), 1, "{grant:?}");
                        assert_eq!(grant.users[0].id.as_deref(), Some(user.as_str()));
                        let role = grant.users[0].roles[0].id.clone();
                        assert_eq!(role, Some(supervisor.id.to_string()), "the role it holds");
                    } else {
                        let request = pairing.spec.request.as_ref().expect("a request");
                        assert_eq!(request.users, vec![user.clone()]);
                    }
                    apply(&w.client, ns, &pairing).await;
                }
                other => panic!("unexpected {other} in the audit's manifests"),
            }
            names.push((ns.clone(), kind, name));
        }
    }
    assert_eq!(names.len(), 3, "{names:?}");
    let mut into_dr = OrgPairing::new(
        "into-dr",
        OrgPairingSpec {
            organization_ref: msp_ns.clone(),
            peer: PeerRef {
                organization_id: dr.id.to_string(),
                region: dr.region,
            },
            request: Some(PairingRequest {
                users: vec![second_user.clone()],
                groups: vec![],
                ..PairingRequest::default()
            }),
            grant: None,
        },
    );
    into_dr
        .metadata
        .annotations
        .get_or_insert_default()
        .insert("orglink.dev/adopt-pairing".into(), pending.id.clone());
    apply(&w.client, &msp_ns, &into_dr).await;

    for (ns, kind, name) in &names {
        if kind == "OrgLink" {
            link_phase(&w.client, ns, name, OrgLinkPhase::Linked).await;
        } else {
            pairing_phase(&w.client, ns, name, OrgPairingPhase::Authorized).await;
        }
        let note = event(&w, ns, name, "Adopted").await;
        assert!(note.contains("no "), "{note}");
    }
    let waiting = pairing_phase(
        &w.client,
        &msp_ns,
        "into-dr",
        OrgPairingPhase::WaitingForConfirmation,
    )
    .await;
    assert_eq!(
        waiting.status.unwrap().pairing_id.as_deref(),
        Some(pending.id.as_str())
    );
    let note = event(&w, &msp_ns, "into-dr", "Adopted").await;
    assert!(note.contains(&pending.id), "{note}");
    assert_eq!(requests(&w).await, before, "nothing new was asked for");
    assert_eq!(calls(&w), calls_before, "no link request, pairing or trust");

    // Declared now: nothing unmanaged, on either side.
    for org in ["Acme Prod", "MSP Prod"] {
        eventually(&format!("{org}: nothing unmanaged"), WAIT, || async {
            let s = org_status(&w, org).await;
            let any = s.linked_organizations.iter().any(|l| l.unmanaged)
                || s.trustees.iter().any(|t| t.unmanaged)
                || s.trustors.iter().any(|t| t.unmanaged);
            let listed = !s.linked_organizations.is_empty() || !s.trustors.is_empty();
            (!any && listed).then_some(())
        })
        .await;
    }
    let (ok, after, _) = kubectl_orglink(&["audit", "-n", &acme_ns]).await;
    assert!(ok);
    assert!(
        after.contains("Unmanaged: none") && after.contains("missing in Genesys Cloud: none"),
        "{after}"
    );
}
