//! End-to-end scenarios where the other side acts outside Kubernetes (through the
//! simulated Genesys Cloud's API with its own OAuth client, as a user of the Genesys UI
//! would), the Organization's own status and region checks, and deleting an
//! Organization that OrgLinks still use. Same fixture as `scenarios.rs`: one control
//! plane and one operator for this test binary, one simulator per test.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{Api, DeleteParams, ListParams};
use orglink_operator::api::conditions::{find, is_true};
use orglink_operator::api::organization::CredentialsSecretRef;
use orglink_operator::api::{
    LinkDecision, LinkDirection, OrgLink, OrgLinkPhase, Organization, OrganizationSpec,
    OrganizationStatus, Region,
};
use orglink_operator::genesys::models::{TrustCreate, TrustMemberCreate};
use orglink_operator::genesys::{Credentials, GenesysClient, GenesysConfig};
use orglink_operator::sandbox::genesys_sim::SimState;
use orglink_operator::sandbox::genesys_sim::seed::SeedOrg;
use orglink_operator::sandbox::genesys_sim::state::LinkViewStatus;
use support::{World, apply, eventually, link, link_phase};
use uuid::Uuid;

use support::WAIT;

/// The simulator's endpoint keys (`METHOD /template`) the tests count.
const POST_LINK: &str = "POST /api/v2/telephony/organization/link";
const GET_LINKS: &str = "GET /api/v2/telephony/organization/link";
const ANSWER_LINK: &str =
    "PATCH /api/v2/telephony/organization/link/approve/{requestingOrganizationId}";
const DELETE_LINK: &str = "DELETE /api/v2/telephony/organization/link/{targetOrganizationId}";

/// A Genesys client acting as `org`, with its own OAuth client: what a user of the
/// Genesys UI (or another tool) does outside Kubernetes.
fn api_as(w: &World, org: &SeedOrg) -> GenesysClient {
    GenesysClient::new(
        GenesysConfig::new(
            org.region,
            Credentials::new(org.client_id.clone(), org.client_secret.expose()),
        )
        .with_label(format!("test:{}", org.name))
        .with_api_base_url(w.sim.region_url(org.region)),
    )
    .expect("a Genesys client for the test")
}

async fn org_status(w: &World, org: &str) -> Option<OrganizationStatus> {
    let api: Api<Organization> = Api::namespaced(w.client.clone(), w.ns(org));
    api.get_opt(w.ns(org)).await.ok().flatten()?.status
}

/// What one org sees in the simulator, as the view it lists.
fn sim_view(state: &SimState, me: Uuid, peer: Uuid) -> Option<LinkViewStatus> {
    state
        .links_of(me)
        .unwrap()
        .into_iter()
        .find(|v| v.target_organization_id == peer)
        .map(|v| v.status)
}

#[tokio::test]
async fn a_request_approved_by_the_peer_in_genesys_becomes_linked() {
    let w = World::new("peer-approves", "5s").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    assert_eq!(
        sim_view(&w.sim.state(), dr.id, prod.id),
        Some(LinkViewStatus::ApprovalPending),
        "the peer sees our request"
    );

    // The peer's admin approves in Genesys Cloud; Acme DR has no OrgLink.
    api_as(&w, &dr)
        .approve_link(&prod.id.to_string())
        .await
        .expect("the peer approves with its own credentials");

    let linked = link_phase(&w.client, w.ns("Acme Prod"), "to-dr", OrgLinkPhase::Linked).await;
    let status = linked.status.unwrap();
    assert_eq!(status.direction, Some(LinkDirection::Outgoing));
    assert_eq!(status.peer_name.as_deref(), Some("Acme DR"));
    assert!(status.linked_at.is_some());
    assert!(is_true(&status.conditions, "Linked"));
    assert!(is_true(&status.conditions, "Ready"));
    assert_eq!(
        sim_view(&w.sim.state(), prod.id, dr.id),
        Some(LinkViewStatus::Approved)
    );
    let stats = w.sim.stats();
    assert_eq!(stats.count(prod.id, POST_LINK), 1, "one request sent");
    assert_eq!(
        stats.count(prod.id, ANSWER_LINK),
        0,
        "nothing to answer on our side"
    );
    assert_eq!(stats.count(dr.id, ANSWER_LINK), 1, "only the test approved");
    assert_eq!(
        stats.count(dr.id, POST_LINK),
        0,
        "the operator acts for the peer only through OrgLinks, and it has none"
    );
}

#[tokio::test]
async fn an_incoming_request_is_declined_by_an_orglink() {
    let w = World::new("decline-in", "5s").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;

    // The peer asks from Genesys Cloud.
    api_as(&w, &dr)
        .create_link(&prod.id.to_string(), prod.region.code())
        .await
        .expect("the peer requests a link with its own credentials");
    // Our Organization lists it as incoming, with the peer's name.
    eventually("Acme Prod lists the incoming request", WAIT, || async {
        let s = org_status(&w, "Acme Prod").await?;
        s.pending_incoming_links
            .iter()
            .any(|l| {
                l.organization_id == dr.id.to_string()
                    && l.name.as_deref() == Some("Acme DR")
                    && l.region.as_deref() == Some("us-east-1")
            })
            .then_some(())
    })
    .await;

    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("no-dr", w.ns("Acme Prod"), &dr, LinkDecision::Decline, 0),
    )
    .await;
    let declined = link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "no-dr",
        OrgLinkPhase::Declined,
    )
    .await;
    let status = declined.status.unwrap();
    assert!(is_true(&status.conditions, "Ready"), "{status:?}");
    let linked = find(&status.conditions, "Linked").expect("Linked condition");
    assert_eq!(
        (linked.status.as_str(), linked.reason.as_str()),
        ("False", "Declined")
    );
    // Declined was written after the rejection was sent (the request was in the
    // snapshot the decision read).
    let state = w.sim.state();
    assert_eq!(
        sim_view(&state, dr.id, prod.id),
        Some(LinkViewStatus::Rejected),
        "the requester sees its request rejected"
    );
    assert_eq!(
        sim_view(&state, prod.id, dr.id),
        None,
        "nothing left for us"
    );
    assert_eq!(w.sim.stats().count(prod.id, ANSWER_LINK), 1);
    assert_eq!(w.sim.stats().count(prod.id, POST_LINK), 0);

    eventually("Acme Prod's incoming list empties", WAIT, || async {
        let s = org_status(&w, "Acme Prod").await?;
        (s.pending_incoming_links.is_empty() && s.linked_organizations.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unlink_by_the_peer_in_genesys_is_not_undone_until_attempt_changes() {
    let w = World::new("peer-unlinks", "5s").await;
    let (prod, dr) = (w.org("Acme Prod"), w.org("Acme DR"));
    w.ready("Acme Prod").await;
    w.ready("Acme DR").await;
    let peer = api_as(&w, &dr);
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    peer.approve_link(&prod.id.to_string()).await.unwrap();
    link_phase(&w.client, w.ns("Acme Prod"), "to-dr", OrgLinkPhase::Linked).await;

    // The peer unlinks in Genesys Cloud.
    peer.delete_link(&prod.id.to_string()).await.unwrap();
    let unlinked = link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::UnlinkedByPeer,
    )
    .await;
    let status = unlinked.status.unwrap();
    assert_eq!(status.observed_attempt, Some(0));
    let ready = find(&status.conditions, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "UnlinkedByPeer")
    );
    assert!(ready.message.contains("spec.attempt"), "{}", ready.message);
    // kstatus reads it as Failed (docs/api.md, "Health"), for the generation applied.
    let stalled = find(&status.conditions, "Stalled").expect("Stalled");
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "UnlinkedByPeer")
    );
    assert_eq!(stalled.message, ready.message);
    assert!(!is_true(&status.conditions, "Reconciling"));
    for c in &status.conditions {
        assert_eq!(c.observed_generation, unlinked.metadata.generation, "{c:?}");
    }

    // Over several resyncs (5 s each) the operator keeps reading but asks nothing.
    let api: Api<OrgLink> = Api::namespaced(w.client.clone(), w.ns("Acme Prod"));
    let reads_before = w.sim.stats().count(prod.id, GET_LINKS);
    let until = tokio::time::Instant::now() + Duration::from_secs(18);
    while tokio::time::Instant::now() < until {
        let phase = api.get("to-dr").await.unwrap().status.unwrap().phase;
        assert_eq!(phase, Some(OrgLinkPhase::UnlinkedByPeer));
        assert_eq!(
            w.sim.stats().count(prod.id, POST_LINK),
            1,
            "no new request before spec.attempt changes"
        );
        assert!(w.sim.state().links_of(prod.id).unwrap().is_empty());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let reads = w.sim.stats().count(prod.id, GET_LINKS) - reads_before;
    assert!(
        reads >= 3,
        "the link list was re-read during the wait ({reads} reads), so the silence is a decision"
    );

    // A new attempt asks again.
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 1),
    )
    .await;
    eventually("attempt 1 requested", WAIT, || async {
        let s = api.get("to-dr").await.ok()?.status?;
        (s.observed_attempt == Some(1) && s.phase == Some(OrgLinkPhase::WaitingForConfirmation))
            .then_some(())
    })
    .await;
    assert_eq!(w.sim.stats().count(prod.id, POST_LINK), 2);
    assert_eq!(
        sim_view(&w.sim.state(), prod.id, dr.id),
        Some(LinkViewStatus::Pending)
    );
    // Waiting on the peer again: Reconciling, no longer Stalled.
    let status = api.get("to-dr").await.unwrap().status.unwrap();
    assert!(is_true(&status.conditions, "Reconciling"), "{status:?}");
    assert!(!is_true(&status.conditions, "Stalled"), "{status:?}");
}

fn organization(
    name: &str,
    region: Region,
    secret: &str,
    api_base_url: String,
    resync: &str,
) -> Organization {
    Organization::new(
        name,
        OrganizationSpec {
            region,
            credentials_secret_ref: CredentialsSecretRef {
                name: secret.to_string(),
                client_id_key: "clientId".to_string(),
                client_secret_key: "clientSecret".to_string(),
            },
            api_base_url: Some(api_base_url),
            resync_interval: Some(resync.to_string()),
        },
    )
}

#[tokio::test]
async fn an_organization_in_the_wrong_region_is_not_ready_with_region_mismatch() {
    let w = World::new("region", "5s").await;
    let prod = w.org("Acme Prod");
    let ns = w.ns("Acme Prod").to_string();
    w.ready("Acme Prod").await;
    let secret = format!("{ns}-oauth");
    let orgs: Api<Organization> = Api::namespaced(w.client.clone(), &ns);
    let ready_reason = |name: &'static str, wanted: &'static str| {
        let orgs = orgs.clone();
        async move {
            eventually(
                &format!("Organization {name} Ready reason {wanted}"),
                WAIT,
                || async {
                    let s = orgs.get(name).await.ok()?.status?;
                    let c = find(&s.conditions, "Ready")?.clone();
                    (c.reason == wanted).then_some((c, s))
                },
            )
            .await
        }
    };

    // Valid credentials, a token that works, but spec.region says us-west-2 while the
    // org lives in us-east-1 (the API base URL reaches its real region).
    let wrong = organization(
        "wrong-region",
        Region::UsWest2,
        &secret,
        w.sim.region_url(prod.region),
        "5s",
    );
    apply(&w.client, &ns, &wrong).await;
    let (cond, status) = ready_reason("wrong-region", "RegionMismatch").await;
    assert_eq!(cond.status, "False");
    assert!(is_true(&status.conditions, "Stalled"), "{status:?}");
    assert!(!is_true(&status.conditions, "Reconciling"), "{status:?}");
    assert!(
        cond.message.contains("us-east-1") && cond.message.contains("us-west-2"),
        "names both regions: {}",
        cond.message
    );
    assert!(
        status.linked_organizations.is_empty() && status.organization_id.is_none(),
        "nothing read in the wrong region is published: {status:?}"
    );

    // The same client against us-west-2's hosts: the client does not exist there, so
    // the token endpoint refuses it (invalid_client), which cannot be told apart from a
    // wrong secret; the message says to check the region too.
    let elsewhere = organization(
        "other-cloud",
        Region::UsWest2,
        &secret,
        w.sim.region_url(Region::UsWest2),
        "5s",
    );
    apply(&w.client, &ns, &elsewhere).await;
    let (cond, status) = ready_reason("other-cloud", "CredentialsRejected").await;
    assert!(cond.message.contains("us-west-2"), "{}", cond.message);
    assert!(is_true(&status.conditions, "Stalled"), "{status:?}");

    // An OrgLink of the stalled Organization is stalled too, not InProgress for ever.
    let dr = w.org("Acme DR");
    let mut stuck = link(
        "via-other-cloud",
        "other-cloud",
        &dr,
        LinkDecision::Accept,
        0,
    );
    // It never acted; deleting it must not need the rejected credentials.
    stuck.metadata.annotations = Some(
        [("orglink.dev/on-delete".to_string(), "orphan".to_string())]
            .into_iter()
            .collect(),
    );
    apply(&w.client, &ns, &stuck).await;
    let links: Api<OrgLink> = Api::namespaced(w.client.clone(), &ns);
    let stalled = eventually("the OrgLink of other-cloud Stalled", WAIT, || async {
        let s = links.get("via-other-cloud").await.ok()?.status?;
        let c = find(&s.conditions, "Stalled")?.clone();
        (c.status == "True").then_some(c)
    })
    .await;
    assert_eq!(stalled.reason, "OrganizationNotReady");
    assert!(
        stalled.message.contains("CredentialsRejected"),
        "{}",
        stalled.message
    );

    // Fixing spec.region makes it Ready.
    let fixed = organization(
        "wrong-region",
        Region::UsEast1,
        &secret,
        w.sim.region_url(prod.region),
        "5s",
    );
    apply(&w.client, &ns, &fixed).await;
    let (_, status) = ready_reason("wrong-region", "Connected").await;
    assert!(!is_true(&status.conditions, "Stalled"), "{status:?}");
    assert!(!is_true(&status.conditions, "Reconciling"), "{status:?}");
    assert_eq!(status.organization_id, Some(prod.id.to_string()));
    assert_eq!(status.region.as_deref(), Some("us-east-1"));
}

/// The status lists of api.md, as sorted tuples, so the simulator's view and the
/// Organization's status can be compared whole.
#[derive(Debug, Default, PartialEq, Eq)]
struct Lists {
    linked: BTreeSet<(String, Option<String>, Option<String>)>,
    outgoing: BTreeSet<(String, Option<String>)>,
    incoming: BTreeSet<(String, Option<String>, Option<String>)>,
    trustees: BTreeSet<(String, Option<String>, bool)>,
    trustors: BTreeSet<(String, Option<String>, bool)>,
}

fn lists_of_status(s: &OrganizationStatus) -> Lists {
    Lists {
        linked: s
            .linked_organizations
            .iter()
            .map(|l| (l.organization_id.clone(), l.name.clone(), l.region.clone()))
            .collect(),
        outgoing: s
            .pending_outgoing_links
            .iter()
            .map(|l| (l.organization_id.clone(), l.region.clone()))
            .collect(),
        incoming: s
            .pending_incoming_links
            .iter()
            .map(|l| (l.organization_id.clone(), l.name.clone(), l.region.clone()))
            .collect(),
        trustees: s
            .trustees
            .iter()
            .map(|t| (t.organization_id.clone(), t.name.clone(), t.enabled))
            .collect(),
        trustors: s
            .trustors
            .iter()
            .map(|t| (t.organization_id.clone(), t.name.clone(), t.enabled))
            .collect(),
    }
}

fn lists_of_sim(state: &SimState, org: Uuid) -> Lists {
    let mut lists = Lists::default();
    for v in state.links_of(org).unwrap() {
        let id = v.target_organization_id.to_string();
        let region = Some(v.target_region.code().to_string());
        let name = Some(v.target_name.clone());
        match v.status {
            LinkViewStatus::Approved => {
                lists.linked.insert((id, name, region));
            }
            LinkViewStatus::Pending => {
                lists.outgoing.insert((id, region));
            }
            LinkViewStatus::ApprovalPending => {
                lists.incoming.insert((id, name, region));
            }
            LinkViewStatus::Rejected => {}
        }
    }
    let name_of = |id: Uuid| state.org(id).map(|o| o.name.clone());
    for t in state.all_trusts() {
        if t.trustor == org {
            lists
                .trustees
                .insert((t.trustee.to_string(), name_of(t.trustee), t.enabled));
        }
        if t.trustee == org {
            lists
                .trustors
                .insert((t.trustor.to_string(), name_of(t.trustor), t.enabled));
        }
    }
    lists
}

#[tokio::test]
async fn organization_status_lists_agree_with_genesys() {
    let w = World::new("lists", "5s").await;
    let (prod, dr, msp, globex) = (
        w.org("Acme Prod"),
        w.org("Acme DR"),
        w.org("MSP Prod"),
        w.org("Globex EU"),
    );
    for org in ["Acme Prod", "Acme DR", "MSP Prod", "Globex EU"] {
        w.ready(org).await;
    }
    let prod_api = api_as(&w, &prod);

    // Outgoing: an OrgLink asks Acme DR.
    apply(
        &w.client,
        w.ns("Acme Prod"),
        &link("to-dr", w.ns("Acme Prod"), &dr, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        w.ns("Acme Prod"),
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    // Incoming: MSP Prod asks us from Genesys Cloud.
    api_as(&w, &msp)
        .create_link(&prod.id.to_string(), "us-east-1")
        .await
        .unwrap();
    // Linked across regions: we ask Globex EU, which approves in Genesys Cloud.
    prod_api
        .create_link(&globex.id.to_string(), "eu-west-1")
        .await
        .unwrap();
    api_as(&w, &globex)
        .approve_link(&prod.id.to_string())
        .await
        .unwrap();
    // Pairings: MSP Prod gets access to us (we are its trustor); we get access, disabled
    // for now, to Acme DR (it is our trustor).
    let msp_users: Vec<String> = msp.users[..2].iter().map(|u| u.id.to_string()).collect();
    let pairing = api_as(&w, &msp)
        .create_pairing(&msp_users, &[])
        .await
        .unwrap();
    let member = |id: &String| TrustMemberCreate {
        id: id.clone(),
        role_ids: vec![],
        role_divisions: None,
    };
    prod_api
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id.clone()),
            enabled: true,
            users: msp_users.iter().map(member).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
    let prod_users: Vec<String> = prod.users[..1].iter().map(|u| u.id.to_string()).collect();
    let pairing = prod_api.create_pairing(&prod_users, &[]).await.unwrap();
    api_as(&w, &dr)
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id.clone()),
            enabled: false,
            users: prod_users.iter().map(member).collect(),
            ..Default::default()
        })
        .await
        .unwrap();

    // What Acme Prod should list, from the simulator, with one entry in every list.
    let expected = lists_of_sim(&w.sim.state(), prod.id);
    assert_eq!(
        expected.outgoing,
        BTreeSet::from([(dr.id.to_string(), Some("us-east-1".into()))])
    );
    assert_eq!(
        expected.incoming,
        BTreeSet::from([(
            msp.id.to_string(),
            Some("MSP Prod".into()),
            Some("us-east-1".into())
        )])
    );
    assert_eq!(
        expected.linked,
        BTreeSet::from([(
            globex.id.to_string(),
            Some("Globex EU".into()),
            Some("eu-west-1".into())
        )])
    );
    assert_eq!(
        expected.trustees,
        BTreeSet::from([(msp.id.to_string(), Some("MSP Prod".into()), true)])
    );
    assert_eq!(
        expected.trustors,
        BTreeSet::from([(dr.id.to_string(), Some("Acme DR".into()), false)])
    );

    // Every org's status agrees with the simulator (the other sides see the mirror
    // images), within a resync or two.
    for org in ["Acme Prod", "Acme DR", "MSP Prod", "Globex EU"] {
        let id = w.org(org).id;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let status = org_status(&w, org).await;
            let want = lists_of_sim(&w.sim.state(), id);
            let got = status.as_ref().map(lists_of_status);
            if got.as_ref() == Some(&want) {
                assert!(is_true(&status.unwrap().conditions, "Ready"));
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{org}'s status lists {got:?} still differ from the simulator's {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn deleting_an_organization_waits_for_its_orglinks_to_clean_up_remotely() {
    let w = World::new("org-delete", "5s").await;
    let (prod, dr, msp) = (w.org("Acme Prod"), w.org("Acme DR"), w.org("MSP Prod"));
    let ns = w.ns("Acme Prod").to_string();
    w.ready("Acme Prod").await;
    // One link approved by the peer in Genesys Cloud, one request still pending.
    apply(
        &w.client,
        &ns,
        &link("to-dr", &ns, &dr, LinkDecision::Accept, 0),
    )
    .await;
    apply(
        &w.client,
        &ns,
        &link("to-msp", &ns, &msp, LinkDecision::Accept, 0),
    )
    .await;
    link_phase(
        &w.client,
        &ns,
        "to-dr",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    link_phase(
        &w.client,
        &ns,
        "to-msp",
        OrgLinkPhase::WaitingForConfirmation,
    )
    .await;
    api_as(&w, &dr)
        .approve_link(&prod.id.to_string())
        .await
        .unwrap();
    link_phase(&w.client, &ns, "to-dr", OrgLinkPhase::Linked).await;

    let orgs: Api<Organization> = Api::namespaced(w.client.clone(), &ns);
    let links: Api<OrgLink> = Api::namespaced(w.client.clone(), &ns);
    orgs.delete(&ns, &DeleteParams::default()).await.unwrap();

    // While its OrgLinks exist the Organization stays (their cleanup needs its
    // credentials), and nothing remote is touched.
    let until = tokio::time::Instant::now() + Duration::from_secs(8);
    while tokio::time::Instant::now() < until {
        let org = orgs.get_opt(&ns).await.unwrap().expect("Organization kept");
        assert!(org.metadata.deletion_timestamp.is_some());
        assert_eq!(
            links
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .len(),
            2
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let state = w.sim.state();
    assert_eq!(
        sim_view(&state, prod.id, dr.id),
        Some(LinkViewStatus::Approved)
    );
    assert_eq!(
        sim_view(&state, prod.id, msp.id),
        Some(LinkViewStatus::Pending)
    );
    assert_eq!(w.sim.stats().count(prod.id, DELETE_LINK), 0);

    // Deleting the OrgLinks: each finalizer severs or withdraws, then the Organization
    // goes, never before them.
    for name in ["to-dr", "to-msp"] {
        links.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually("the Organization gone after its OrgLinks", WAIT, || async {
        let org_exists = orgs.get_opt(&ns).await.ok()?.is_some();
        let remaining = links.list(&ListParams::default()).await.ok()?.items.len();
        assert!(
            org_exists || remaining == 0,
            "the Organization went while {remaining} OrgLink(s) still needed it"
        );
        (!org_exists).then_some(())
    })
    .await;

    let state = w.sim.state();
    assert!(
        state.links_of(prod.id).unwrap().is_empty(),
        "nothing orphaned: {:?}",
        state.links_of(prod.id)
    );
    assert_eq!(sim_view(&state, dr.id, prod.id), None, "link severed");
    assert_eq!(sim_view(&state, msp.id, prod.id), None, "request withdrawn");
    assert_eq!(w.sim.stats().count(prod.id, DELETE_LINK), 2);
}
