//! The Genesys Cloud client against the simulated Genesys Cloud: every endpoint the
//! client uses, the link handshake and the pairing lifecycle driven with two orgs'
//! credentials, and the failure modes (429 storms, injected 5xx and dropped
//! connections, token expiry, wrong-region credentials, expired pairings, the 25-user
//! cap).
//!
//! Time: no test asserts an upper bound on how long something takes. Where the rate
//! limiter is checked, it is through lower bounds on send times (a sleep never ends
//! early), which hold however loaded the machine is.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use orglink_operator::api::Region;
use orglink_operator::genesys::models::{
    LinkStatus, OrganizationLinkResponse, RoleDivisionGrants, RoleDivisionPair, TrustCreate,
    TrustMemberCreate, TrustUpdate,
};
use orglink_operator::genesys::{
    ALL_DIVISIONS, CallRecord, Credentials, GenesysClient, GenesysConfig, GenesysError,
    RateLimitConfig, Removal, RetryConfig,
};
use orglink_operator::sandbox::genesys_sim::{
    FaultConfig, GenesysSim, RateLimitConfig as SimRateLimit, SeedOrg, SimConfig, SimHandle,
};
use parking_lot::Mutex;
use tokio::time::Instant;

const ACME: &str = "Acme Prod";
const ACME_DR: &str = "Acme DR";
const MSP: &str = "MSP Prod";
const GLOBEX_EU: &str = "Globex EU";
const INITECH_WEST: &str = "Initech West";

async fn start() -> SimHandle {
    GenesysSim::start(SimConfig::default())
        .await
        .expect("the simulator starts")
}

fn seed<'a>(sim: &'a SimHandle, name: &str) -> &'a SeedOrg {
    sim.org_by_name(name)
        .unwrap_or_else(|| panic!("seed org {name}"))
}

/// Retries as in production but with short waits, so failure tests stay quick.
fn fast_retry() -> RetryConfig {
    RetryConfig {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        ..RetryConfig::default()
    }
}

fn config(sim: &SimHandle, org: &SeedOrg) -> GenesysConfig {
    GenesysConfig::new(
        org.region,
        Credentials::new(org.client_id.clone(), org.client_secret.expose()),
    )
    .with_label(org.name.clone())
    .with_api_base_url(sim.region_url(org.region))
    .with_retry(fast_retry())
}

fn client(sim: &SimHandle, name: &str) -> GenesysClient {
    GenesysClient::new(config(sim, seed(sim, name))).expect("valid client settings")
}

fn id(org: &SeedOrg) -> String {
    org.id.to_string()
}

fn user_ids(org: &SeedOrg, n: usize) -> Vec<String> {
    org.users.iter().take(n).map(|u| u.id.to_string()).collect()
}

fn role_id(org: &SeedOrg, name: &str) -> String {
    org.roles
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("role {name} of {}", org.name))
        .id
        .to_string()
}

/// One observed attempt: when it was sent, its endpoint, status and attempt number.
#[derive(Clone, Debug)]
struct Seen {
    sent: Instant,
    endpoint: &'static str,
    status: Option<u16>,
    attempt: u32,
}

/// An observer that keeps every attempt.
fn recorder() -> (
    Arc<Mutex<Vec<Seen>>>,
    Arc<dyn orglink_operator::genesys::CallObserver>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let observer = Arc::new(move |r: &CallRecord<'_>| {
        sink.lock().push(Seen {
            sent: Instant::now() - r.duration,
            endpoint: r.endpoint,
            status: r.status,
            attempt: r.attempt,
        })
    });
    (seen, observer)
}

// ---------------------------------------------------------------------------------------
// Organizations, roles, regions
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn organization_me_names_the_org_of_the_credentials() {
    let sim = start().await;
    for name in [ACME, GLOBEX_EU, INITECH_WEST] {
        let org = seed(&sim, name);
        let me = client(&sim, name).organization_me().await.unwrap();
        assert_eq!(me.id, id(org));
        assert_eq!(me.name.as_deref(), Some(name));
        assert_eq!(me.state.as_deref(), Some("active"));
    }
}

#[tokio::test]
async fn roles_are_listed_across_pages_and_resolved_by_name() {
    let sim = start().await;
    let acme = seed(&sim, ACME);
    // Page size 2: Acme's five roles take three pages.
    let c = GenesysClient::new(config(&sim, acme).with_page_size(2)).unwrap();
    let all = c.list_roles(None).await.unwrap();
    let names: BTreeSet<String> = all.iter().map(|r| r.name.clone()).collect();
    let expected: BTreeSet<String> = acme.roles.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names, expected);
    assert_eq!(all.len(), acme.roles.len());
    let stats = sim.stats();
    assert_eq!(
        stats.count(acme.id, "GET /api/v2/authorization/roles"),
        3,
        "{stats:?}"
    );

    let one = c.list_roles(Some("Supervisor")).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, role_id(acme, "Supervisor"));

    let asked: BTreeSet<String> = ["Supervisor", "Employee", "No such role"]
        .into_iter()
        .map(String::from)
        .collect();
    let resolved = c.resolve_role_names(&asked).await.unwrap();
    assert_eq!(
        resolved,
        BTreeMap::from([
            ("Employee".to_string(), Some(role_id(acme, "Employee"))),
            ("No such role".to_string(), None),
            ("Supervisor".to_string(), Some(role_id(acme, "Supervisor"))),
        ])
    );
    let single: BTreeSet<String> = ["Read only".to_string()].into();
    assert_eq!(
        c.resolve_role_names(&single).await.unwrap()["Read only"],
        Some(role_id(acme, "Read only"))
    );
    assert!(
        c.resolve_role_names(&BTreeSet::new())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn linkable_regions_are_per_org() {
    let sim = start().await;
    let globex: Vec<String> = client(&sim, GLOBEX_EU)
        .linkable_regions()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.region_name)
        .collect();
    assert_eq!(globex, ["eu-west-1", "eu-west-2", "eu-central-1"]);
    let acme = client(&sim, ACME).linkable_regions().await.unwrap();
    assert_eq!(acme.len(), Region::all().count(), "default: every region");
}

// ---------------------------------------------------------------------------------------
// Voice organization links
// ---------------------------------------------------------------------------------------

/// The other org of a link record as `me` lists it (records may be written from the
/// caller's point of view or from the requester's; the peer is whichever is not us).
fn peer(link: &OrganizationLinkResponse, me: &SeedOrg) -> String {
    let me = id(me);
    [&link.source_organization_id, &link.target_organization_id]
        .into_iter()
        .flatten()
        .find(|o| **o != me)
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn link_handshake_request_approve_and_unlink_from_the_other_side() {
    let sim = start().await;
    let (acme, dr) = (seed(&sim, ACME), seed(&sim, ACME_DR));
    let (a, d) = (client(&sim, ACME), client(&sim, ACME_DR));
    assert!(a.list_links().await.unwrap().is_empty());

    let link = a.create_link(&id(dr), "us-east-1").await.unwrap();
    assert_eq!(link.source_organization_id, id(acme));
    assert_eq!(link.target_organization_id, id(dr));
    assert_eq!(link.source_region, "us-east-1");
    assert_eq!(link.status, Some(LinkStatus::Pending));

    // The requester sees its request pending; the target sees it awaiting approval.
    let mine = a.list_links().await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, Some(LinkStatus::Pending));
    let theirs = d.list_links().await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(peer(&theirs[0], dr), id(acme));
    assert_eq!(theirs[0].status, Some(LinkStatus::ApprovalPending));

    // A second request is a conflict; approving one's own request is forbidden.
    let dup = a.create_link(&id(dr), "us-east-1").await.unwrap_err();
    assert!(dup.is_conflict(), "{dup}");
    let own = a.approve_link(&id(dr)).await.unwrap_err();
    assert!(own.is_forbidden(), "{own}");
    assert!(own.correlation_id().is_some(), "{own:?}");

    d.approve_link(&id(acme)).await.unwrap();
    for c in [&a, &d] {
        let links = c.list_links().await.unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].status, Some(LinkStatus::Approved));
    }

    // Unlinking from the approving side severs it for both at once.
    assert_eq!(d.delete_link(&id(acme)).await.unwrap(), Removal::Removed);
    assert!(a.list_links().await.unwrap().is_empty());
    assert!(d.list_links().await.unwrap().is_empty());
    assert_eq!(
        d.delete_link(&id(acme)).await.unwrap(),
        Removal::AlreadyAbsent
    );
}

#[tokio::test]
async fn a_rejected_link_request_shows_rejected_to_the_requester() {
    let sim = start().await;
    let (msp, acme) = (seed(&sim, MSP), seed(&sim, ACME));
    let (m, a) = (client(&sim, MSP), client(&sim, ACME));
    m.create_link(&id(acme), "us-east-1").await.unwrap();
    a.reject_link(&id(msp)).await.unwrap();
    let links = m.list_links().await.unwrap();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(peer(&links[0], msp), id(acme));
    assert_eq!(links[0].status, Some(LinkStatus::Rejected));
    // The target no longer sees the request.
    assert!(a.list_links().await.unwrap().is_empty());
    // Answering again: nothing pending from MSP.
    let again = a.approve_link(&id(msp)).await.unwrap_err();
    assert!(again.is_not_found(), "{again}");
}

#[tokio::test]
async fn cross_region_links_follow_the_linkable_regions() {
    let sim = start().await;
    let (acme, globex) = (seed(&sim, ACME), seed(&sim, GLOBEX_EU));
    // Globex may not link to us-east-1.
    let err = client(&sim, GLOBEX_EU)
        .create_link(&id(acme), "us-east-1")
        .await
        .unwrap_err();
    assert!(err.is_bad_request(), "{err}");
    assert!(err.message().is_some());
    // Acme (every region) may link to Globex in eu-west-1; the wrong region is refused.
    let a = client(&sim, ACME);
    let wrong = a.create_link(&id(globex), "eu-west-2").await.unwrap_err();
    assert!(wrong.is_not_found(), "{wrong}");
    let link = a.create_link(&id(globex), "eu-west-1").await.unwrap();
    assert_eq!(link.target_region, "eu-west-1");
    client(&sim, GLOBEX_EU)
        .approve_link(&id(acme))
        .await
        .unwrap();
    assert_eq!(
        a.list_links().await.unwrap()[0].status,
        Some(LinkStatus::Approved)
    );
}

#[tokio::test]
async fn divisions_are_listed_across_pages_and_resolved_by_name() {
    let sim = start().await;
    let acme = seed(&sim, ACME);
    let division = |name: &str| {
        acme.divisions
            .iter()
            .find(|d| d.name == name)
            .unwrap()
            .id
            .to_string()
    };
    // Page size 2: Acme's three divisions take two pages.
    let c = GenesysClient::new(config(&sim, acme).with_page_size(2)).unwrap();
    let calls = || {
        sim.stats()
            .count(acme.id, "GET /api/v2/authorization/divisions")
    };
    let all = c.list_divisions(None).await.unwrap();
    let got: BTreeMap<String, String> =
        all.iter().map(|d| (d.name.clone(), d.id.clone())).collect();
    let expected: BTreeMap<String, String> = acme
        .divisions
        .iter()
        .map(|d| (d.name.clone(), d.id.to_string()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter()
            .filter(|d| d.home_division == Some(true))
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["Home"]
    );
    assert_eq!(calls(), 2, "two pages");

    let one = c.list_divisions(Some("Sales")).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, division("Sales"));

    let asked: BTreeSet<String> = ["Sales", "Support", "sales", "Ghost"]
        .into_iter()
        .map(String::from)
        .collect();
    let resolved = c.resolve_division_names(&asked).await.unwrap();
    assert_eq!(
        resolved["Sales"].as_deref(),
        Some(division("Sales").as_str())
    );
    assert_eq!(
        resolved["Support"].as_deref(),
        Some(division("Support").as_str())
    );
    assert_eq!(resolved["sales"], None);
    assert_eq!(resolved["Ghost"], None);
    // One name: one filtered call.
    let before = calls();
    let home = c
        .resolve_division_names(&BTreeSet::from(["Home".to_string()]))
        .await
        .unwrap();
    assert_eq!(home["Home"].as_deref(), Some(division("Home").as_str()));
    assert_eq!(calls(), before + 1);
    // No names: no call.
    assert!(
        c.resolve_division_names(&BTreeSet::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(calls(), before + 1);
}

#[tokio::test]
async fn trustee_roles_are_set_per_division() {
    let sim = start().await;
    let (acme, dr) = (seed(&sim, ACME), seed(&sim, ACME_DR));
    // Acme (trustee) wants its users into Acme DR (trustor).
    let trustee = client(&sim, ACME);
    let trustor = client(&sim, ACME_DR);
    let user = acme.users[0].id.to_string();
    let group = acme.groups[0].id.to_string();
    let pairing = trustee
        .create_pairing(std::slice::from_ref(&user), std::slice::from_ref(&group))
        .await
        .unwrap();
    trustor
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id.clone()),
            enabled: true,
            users: vec![TrustMemberCreate {
                id: user.clone(),
                ..TrustMemberCreate::default()
            }],
            groups: vec![TrustMemberCreate {
                id: group.clone(),
                ..TrustMemberCreate::default()
            }],
            date_expired: None,
        })
        .await
        .unwrap();
    let divisions = trustor
        .resolve_division_names(&BTreeSet::from(["Sales".to_string()]))
        .await
        .unwrap();
    let sales = divisions["Sales"].clone().expect("DR has a Sales division");
    let supervisor = role_id(dr, "Supervisor");
    let employee = role_id(dr, "Employee");
    let pair = |role: &str, division: &str| RoleDivisionPair {
        role_id: role.to_string(),
        division_id: division.to_string(),
    };
    let stored = |member: &str| -> BTreeMap<String, BTreeSet<String>> {
        let state = sim.state();
        let trust = state
            .all_trusts()
            .find(|t| t.trustor == dr.id)
            .expect("the trust");
        let id: uuid::Uuid = member.parse().unwrap();
        let grant = trust
            .users
            .get(&id)
            .or_else(|| trust.groups.get(&id))
            .unwrap();
        grant
            .role_divisions
            .iter()
            .map(|(r, d)| (r.to_string(), d.clone()))
            .collect()
    };

    let granted = trustor
        .set_trustee_user_role_divisions(
            &id(acme),
            &user,
            &RoleDivisionGrants {
                grants: vec![pair(&supervisor, &sales), pair(&employee, ALL_DIVISIONS)],
            },
        )
        .await
        .unwrap();
    let mut roles = granted.role_ids();
    roles.sort();
    let mut expected = vec![supervisor.clone(), employee.clone()];
    expected.sort();
    assert_eq!(roles, expected);
    assert_eq!(
        stored(&user),
        BTreeMap::from([
            (supervisor.clone(), BTreeSet::from([sales.clone()])),
            (employee.clone(), BTreeSet::from(["*".to_string()])),
        ])
    );
    // Read back: the roles, as Genesys shows them.
    let mut read = trustor
        .get_trustee_user_roles(&id(acme), &user)
        .await
        .unwrap()
        .unwrap()
        .role_ids();
    read.sort();
    assert_eq!(read, expected);

    trustor
        .set_trustee_group_role_divisions(
            &id(acme),
            &group,
            &RoleDivisionGrants {
                grants: vec![pair(&employee, &sales)],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stored(&group),
        BTreeMap::from([(employee.clone(), BTreeSet::from([sales.clone()]))])
    );

    // A division of another org (the trustee's own Sales) is refused with the field.
    let theirs = acme
        .divisions
        .iter()
        .find(|d| d.name == "Sales")
        .unwrap()
        .id
        .to_string();
    let err = trustor
        .set_trustee_user_role_divisions(
            &id(acme),
            &user,
            &RoleDivisionGrants {
                grants: vec![pair(&supervisor, &theirs)],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.code(), Some("bad.request"), "{err}");
    assert!(
        err.correlation_id().is_some_and(|id| !id.is_empty()),
        "{err}"
    );
    assert!(
        err.message().is_some_and(
            |m| m.contains("roleDivisions.grants[0].divisionId") && m.contains(&theirs)
        ),
        "{err}"
    );
    assert_eq!(stored(&user).len(), 2, "nothing changed");
}

// ---------------------------------------------------------------------------------------
// Authorized organizations
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn full_pairing_request_trust_roles_disable_revoke() {
    let sim = start().await;
    let (acme, dr) = (seed(&sim, ACME), seed(&sim, ACME_DR));
    // Acme (trustee) wants its users into Acme DR (trustor).
    let trustee = client(&sim, ACME);
    let trustor = client(&sim, ACME_DR);
    let users = user_ids(acme, 2);
    let group = acme.groups[0].id.to_string();

    let pairing = trustee
        .create_pairing(&users, std::slice::from_ref(&group))
        .await
        .unwrap();
    assert!(pairing.date_created.is_some());
    assert_eq!(pairing.trustee.as_ref().unwrap().id, id(acme));
    let seen = trustor.get_pairing(&pairing.id).await.unwrap().unwrap();
    let seen_users: BTreeSet<String> = seen.users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(seen_users, users.iter().cloned().collect());
    assert_eq!(seen.groups[0].id, group);

    // Before the trust: nothing on either side.
    assert!(trustee.get_trustor(&id(dr)).await.unwrap().is_none());
    assert!(trustor.get_trustee(&id(acme)).await.unwrap().is_none());

    // The trustor accepts, first without roles: the trustee can do nothing yet.
    let trust = trustor
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id.clone()),
            enabled: true,
            users: users
                .iter()
                .map(|u| TrustMemberCreate {
                    id: u.clone(),
                    ..TrustMemberCreate::default()
                })
                .collect(),
            groups: vec![TrustMemberCreate {
                id: group.clone(),
                ..TrustMemberCreate::default()
            }],
            date_expired: None,
        })
        .await
        .unwrap();
    assert_eq!(trust.id, id(acme));
    assert!(trust.enabled);
    let view = trustee.get_trustor(&id(dr)).await.unwrap().unwrap();
    assert!(view.enabled);
    assert!(
        view.authorization
            .as_ref()
            .is_none_or(|a| a.permissions.is_empty()),
        "{view:?}"
    );

    // Roles: a user gets Supervisor, the group Employee.
    let supervisor = role_id(dr, "Supervisor");
    let employee = role_id(dr, "Employee");
    let granted = trustor
        .set_trustee_user_roles(&id(acme), &users[0], std::slice::from_ref(&supervisor))
        .await
        .unwrap();
    assert_eq!(granted.role_ids(), vec![supervisor.clone()]);
    trustor
        .set_trustee_group_roles(&id(acme), &group, std::slice::from_ref(&employee))
        .await
        .unwrap();
    let roles = trustor
        .get_trustee_user_roles(&id(acme), &users[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(roles.role_ids(), vec![supervisor.clone()]);
    let permissions = trustee
        .get_trustor(&id(dr))
        .await
        .unwrap()
        .unwrap()
        .authorization
        .unwrap()
        .permissions;
    assert!(permissions.contains(&"routing:queue:view".to_string()));
    assert!(permissions.contains(&"directory:user:view".to_string()));

    // Disable: no access, roles kept; enable: access back.
    let disabled = trustor
        .update_trustee(
            &id(acme),
            &TrustUpdate {
                enabled: false,
                date_expired: None,
            },
        )
        .await
        .unwrap();
    assert!(!disabled.enabled);
    let view = trustee.get_trustor(&id(dr)).await.unwrap().unwrap();
    assert!(!view.enabled);
    assert!(view.authorization.is_none_or(|a| a.permissions.is_empty()));
    assert_eq!(
        trustor
            .get_trustee_user_roles(&id(acme), &users[0])
            .await
            .unwrap()
            .unwrap()
            .role_ids(),
        vec![supervisor.clone()]
    );
    trustor
        .update_trustee(
            &id(acme),
            &TrustUpdate {
                enabled: true,
                date_expired: None,
            },
        )
        .await
        .unwrap();
    assert!(
        !trustee
            .get_trustor(&id(dr))
            .await
            .unwrap()
            .unwrap()
            .authorization
            .unwrap()
            .permissions
            .is_empty()
    );

    // Lists on both sides.
    let trustees = trustor.list_trustees().await.unwrap();
    assert_eq!(
        trustees.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        [id(acme)]
    );
    let trustors = trustee.list_trustors().await.unwrap();
    assert_eq!(
        trustors.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        [id(dr)]
    );

    // Revoke from the trustee side: gone for both.
    assert_eq!(
        trustee.delete_trustor(&id(dr)).await.unwrap(),
        Removal::Removed
    );
    assert!(trustor.get_trustee(&id(acme)).await.unwrap().is_none());
    assert!(trustee.get_trustor(&id(dr)).await.unwrap().is_none());
    assert_eq!(
        trustor.delete_trustee(&id(acme)).await.unwrap(),
        Removal::AlreadyAbsent
    );
    assert!(
        trustor
            .get_trustee_user_roles(&id(acme), &users[0])
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn trust_members_and_roles_from_both_sides() {
    let sim = start().await;
    let (acme, dr) = (seed(&sim, ACME), seed(&sim, ACME_DR));
    let trustee = client(&sim, ACME);
    let trustor = client(&sim, ACME_DR);
    let users = user_ids(acme, 4);
    let pairing = trustee.create_pairing(&users[..1], &[]).await.unwrap();
    let supervisor = role_id(dr, "Supervisor");
    trustor
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id),
            enabled: true,
            users: vec![TrustMemberCreate {
                id: users[0].clone(),
                role_ids: vec![supervisor.clone()],
                role_divisions: None,
            }],
            groups: vec![],
            date_expired: None,
        })
        .await
        .unwrap();

    // The trustee promotes two more of its users (no roles until the trustor gives some).
    let promoted = trustee.add_trustor_user(&id(dr), &users[1]).await.unwrap();
    assert_eq!(promoted.id, users[1]);
    let promoted = trustee.add_trustor_user(&id(dr), &users[2]).await.unwrap();
    assert_eq!(promoted.id, users[2]);
    assert!(
        promoted
            .authorization
            .is_none_or(|a| a.roles.is_empty() && a.permissions.is_empty())
    );
    // Idempotent.
    trustee.add_trustor_user(&id(dr), &users[2]).await.unwrap();

    let listed: BTreeSet<String> = trustor
        .list_trustee_users(&id(acme))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, users[..3].iter().cloned().collect());
    let from_trustee: BTreeSet<String> = trustee
        .list_trustor_users(&id(dr))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(from_trustee, listed);

    // Roles given to a promoted user, then cleared.
    let granted = trustor
        .set_trustee_user_roles(&id(acme), &users[2], std::slice::from_ref(&supervisor))
        .await
        .unwrap();
    assert_eq!(granted.role_ids(), vec![supervisor.clone()]);
    assert_eq!(
        trustor
            .clear_trustee_user_roles(&id(acme), &users[2])
            .await
            .unwrap(),
        Removal::Removed
    );
    assert!(
        trustor
            .get_trustee_user_roles(&id(acme), &users[2])
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );

    // Removing users from the trustee side.
    assert_eq!(
        trustee
            .remove_trustor_user(&id(dr), &users[1])
            .await
            .unwrap(),
        Removal::Removed
    );
    assert_eq!(
        trustee
            .remove_trustor_user(&id(dr), &users[2])
            .await
            .unwrap(),
        Removal::Removed
    );
    assert_eq!(
        trustee
            .remove_trustor_user(&id(dr), &users[2])
            .await
            .unwrap(),
        Removal::AlreadyAbsent
    );
    let left: Vec<String> = trustor
        .list_trustee_users(&id(acme))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(left, [users[0].clone()]);

    // Groups: the trustee promotes two, the trustor gives one a role.
    let (g1, g2) = (acme.groups[0].id.to_string(), acme.groups[1].id.to_string());
    let employee = role_id(dr, "Employee");
    trustee.add_trustor_group(&id(dr), &g1).await.unwrap();
    let promoted = trustee.add_trustor_group(&id(dr), &g2).await.unwrap();
    assert_eq!(promoted.id, g2);
    trustor
        .set_trustee_group_roles(&id(acme), &g1, std::slice::from_ref(&employee))
        .await
        .unwrap();
    let groups: BTreeSet<String> = trustor
        .list_trustee_groups(&id(acme))
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(groups, BTreeSet::from([g1.clone(), g2.clone()]));
    assert_eq!(trustee.list_trustor_groups(&id(dr)).await.unwrap().len(), 2);
    assert_eq!(
        trustor
            .get_trustee_group_roles(&id(acme), &g1)
            .await
            .unwrap()
            .unwrap()
            .role_ids(),
        vec![employee.clone()]
    );
    assert_eq!(
        trustee.remove_trustor_group(&id(dr), &g1).await.unwrap(),
        Removal::Removed
    );
    assert_eq!(
        trustee.remove_trustor_group(&id(dr), &g2).await.unwrap(),
        Removal::Removed
    );
    assert!(
        trustor
            .list_trustee_groups(&id(acme))
            .await
            .unwrap()
            .is_empty()
    );

    // An unknown role is refused and named.
    let bad = trustor
        .set_trustee_user_roles(&id(acme), &users[0], &[role_id(acme, "Supervisor")])
        .await
        .unwrap_err();
    assert!(bad.is_bad_request(), "{bad}");

    // Revoke from the trustor side.
    assert_eq!(
        trustor.delete_trustee(&id(acme)).await.unwrap(),
        Removal::Removed
    );
    assert!(trustee.get_trustor(&id(dr)).await.unwrap().is_none());
}

#[tokio::test]
async fn listings_are_followed_across_pages() {
    let sim = start().await;
    let (msp, acme, dr) = (seed(&sim, MSP), seed(&sim, ACME), seed(&sim, ACME_DR));
    // MSP grants 25 users access to Acme Prod; Acme DR too: Acme has two trustees.
    let acme_client = GenesysClient::new(config(&sim, acme).with_page_size(10)).unwrap();
    let users = user_ids(msp, 25);
    for trustee_name in [MSP, ACME_DR] {
        let t = seed(&sim, trustee_name);
        let c = client(&sim, trustee_name);
        let members = if trustee_name == MSP {
            users.clone()
        } else {
            user_ids(t, 1)
        };
        let pairing = c.create_pairing(&members, &[]).await.unwrap();
        acme_client
            .create_trust(&TrustCreate {
                pairing_id: Some(pairing.id),
                enabled: true,
                users: members
                    .iter()
                    .map(|u| TrustMemberCreate {
                        id: u.clone(),
                        ..TrustMemberCreate::default()
                    })
                    .collect(),
                groups: vec![],
                date_expired: None,
            })
            .await
            .unwrap();
    }
    sim.reset_stats();
    let listed = acme_client.list_trustee_users(&id(msp)).await.unwrap();
    assert_eq!(listed.len(), 25);
    let unique: BTreeSet<String> = listed.iter().map(|u| u.id.clone()).collect();
    assert_eq!(unique, users.iter().cloned().collect());
    assert_eq!(
        sim.stats().count(
            acme.id,
            "GET /api/v2/orgauthorization/trustees/{trusteeOrgId}/users"
        ),
        3,
        "25 users in pages of 10"
    );
    let one_per_page = GenesysClient::new(config(&sim, acme).with_page_size(1)).unwrap();
    let trustees: BTreeSet<String> = one_per_page
        .list_trustees()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(trustees, BTreeSet::from([id(msp), id(dr)]));
    let from_msp = GenesysClient::new(config(&sim, msp).with_page_size(7)).unwrap();
    assert_eq!(
        from_msp.list_trustor_users(&id(acme)).await.unwrap().len(),
        25
    );
}

#[tokio::test]
async fn a_pairing_used_after_48_hours_is_expired() {
    let sim = start().await;
    let (acme, dr) = (seed(&sim, ACME), seed(&sim, ACME_DR));
    let pairing = client(&sim, ACME)
        .create_pairing(&user_ids(acme, 1), &[])
        .await
        .unwrap();
    let trustor = client(&sim, ACME_DR);
    assert!(trustor.get_pairing(&pairing.id).await.unwrap().is_some());
    sim.advance_clock(jiff::SignedDuration::from_hours(48) + jiff::SignedDuration::from_mins(1))
        .unwrap();
    // The tokens (24 h) expired with the clock: the client refreshes on the 401.
    assert!(trustor.get_pairing(&pairing.id).await.unwrap().is_none());
    let err = trustor
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id.clone()),
            enabled: true,
            users: vec![TrustMemberCreate {
                id: user_ids(acme, 1)[0].clone(),
                role_ids: vec![role_id(dr, "Employee")],
                role_divisions: None,
            }],
            groups: vec![],
            date_expired: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.code(), Some("pairing.expired"), "{err}");
    assert!(err.correlation_id().is_some());
    assert!(!err.is_transient());
}

#[tokio::test]
async fn twenty_six_users_are_rejected() {
    let sim = start().await;
    let msp = seed(&sim, MSP);
    let c = client(&sim, MSP);
    let err = c.create_pairing(&user_ids(msp, 26), &[]).await.unwrap_err();
    assert!(err.is_bad_request(), "{err}");
    assert!(err.message().unwrap_or_default().contains("25"), "{err}");
    // 25 is fine.
    c.create_pairing(&user_ids(msp, 25), &[]).await.unwrap();
    // And nothing at all is refused before any request.
    let empty = c.create_pairing(&[], &[]).await.unwrap_err();
    assert!(matches!(empty, GenesysError::InvalidArgument(_)), "{empty}");
}

#[tokio::test]
async fn a_trust_needs_the_same_region() {
    let sim = start().await;
    let acme = seed(&sim, ACME);
    let pairing = client(&sim, ACME)
        .create_pairing(&user_ids(acme, 1), &[])
        .await
        .unwrap();
    let err = client(&sim, GLOBEX_EU)
        .create_trust(&TrustCreate {
            pairing_id: Some(pairing.id),
            enabled: true,
            users: vec![TrustMemberCreate {
                id: user_ids(acme, 1)[0].clone(),
                ..TrustMemberCreate::default()
            }],
            groups: vec![],
            date_expired: None,
        })
        .await
        .unwrap_err();
    // A pairing from another region is refused.
    assert!(err.is_bad_request(), "{err}");
}

// ---------------------------------------------------------------------------------------
// Credentials and tokens
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_region_credentials_are_rejected_once_without_retry() {
    let sim = start().await;
    let globex = seed(&sim, GLOBEX_EU);
    // Globex's client pointed at us-east-1.
    let wrong = GenesysConfig::new(
        Region::UsEast1,
        Credentials::new(globex.client_id.clone(), globex.client_secret.expose()),
    )
    .with_api_base_url(sim.region_url(Region::UsEast1))
    .with_retry(fast_retry());
    let c = GenesysClient::new(wrong).unwrap();
    let err = c.organization_me().await.unwrap_err();
    assert!(err.is_credentials_rejected(), "{err}");
    assert_eq!(err.code(), Some("invalid_client"));
    assert!(!err.is_transient());
    assert_eq!(c.token_requests(), 1, "invalid_client is not retried");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(globex.client_secret.expose()), "{text}");
    // No API call was made without a token.
    assert_eq!(
        sim.stats().count(globex.id, "GET /api/v2/organizations/me"),
        0
    );

    // A wrong secret, same answer.
    let bad_secret = GenesysConfig::new(
        globex.region,
        Credentials::new(globex.client_id.clone(), "not-the-secret"),
    )
    .with_api_base_url(sim.region_url(globex.region));
    let err = GenesysClient::new(bad_secret)
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert!(err.is_credentials_rejected(), "{err}");
    assert!(!format!("{err:?}").contains("not-the-secret"));
}

#[tokio::test]
async fn tokens_are_cached_shared_by_clones_and_refreshed_after_a_401() {
    let sim = start().await;
    let acme = seed(&sim, ACME);
    let c = client(&sim, ACME);
    let clone = c.clone();
    for _ in 0..3 {
        c.organization_me().await.unwrap();
        clone.list_links().await.unwrap();
    }
    assert_eq!(c.token_requests(), 1, "one token for six calls and a clone");
    assert_eq!(sim.stats().count(acme.id, "POST /oauth/token"), 1);

    // Every token revoked mid-run: the next call gets a 401, refreshes once, succeeds.
    sim.expire_all_tokens();
    let (seen, observer) = recorder();
    let observed = GenesysClient::new(config(&sim, acme).with_observer(observer)).unwrap();
    observed.organization_me().await.unwrap();
    sim.expire_all_tokens();
    let me = observed.organization_me().await.unwrap();
    assert_eq!(me.id, id(acme));
    assert_eq!(observed.token_requests(), 2);
    let statuses: Vec<(&str, Option<u16>)> =
        seen.lock().iter().map(|s| (s.endpoint, s.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("/oauth/token", Some(200)),
            ("/api/v2/organizations/me", Some(200)),
            ("/api/v2/organizations/me", Some(401)),
            ("/oauth/token", Some(200)),
            ("/api/v2/organizations/me", Some(200)),
        ]
    );
    // The shared client recovers the same way.
    c.organization_me().await.unwrap();
    assert_eq!(c.token_requests(), 2);
}

#[tokio::test]
async fn short_lived_tokens_are_replaced_before_they_expire() {
    let sim = start().await;
    sim.set_faults(FaultConfig {
        token_lifetime_seconds: Some(10),
        ..FaultConfig::default()
    })
    .unwrap();
    let (seen, observer) = recorder();
    let c = GenesysClient::new(config(&sim, seed(&sim, ACME)).with_observer(observer)).unwrap();
    c.organization_me().await.unwrap();
    // The token is replaced at 8 s (a fifth of its life early), before the 10 s expiry.
    tokio::time::sleep(Duration::from_millis(8_500)).await;
    c.organization_me().await.unwrap();
    assert_eq!(c.token_requests(), 2);
    assert!(
        seen.lock().iter().all(|s| s.status != Some(401)),
        "refreshed ahead, never refused: {:?}",
        seen.lock()
    );
}

#[tokio::test]
async fn the_token_endpoint_rate_limit_is_retried() {
    let sim = start().await;
    // One token request per 5 s window per OAuth client (the window starts at the
    // first request).
    sim.set_rate_limit(SimRateLimit {
        token_requests_per_window: Some(1),
        window_seconds: 5,
        ..SimRateLimit::default()
    })
    .unwrap();
    // Two clients with the same credentials (separate token caches): the second token
    // request hits the limit (HTTP 400 invalid_request "rate limit exceeded"), waits
    // and succeeds.
    let first = client(&sim, ACME);
    let second = client(&sim, ACME);
    first.authenticate().await.unwrap();
    second.organization_me().await.unwrap();
    assert!(second.token_requests() >= 2, "{}", second.token_requests());
    assert!(sim.stats().rate_limited >= 1);
}

// ---------------------------------------------------------------------------------------
// Rate limits and faults
// ---------------------------------------------------------------------------------------

/// The k-th send (0-based, in time order) must not be earlier than the bucket allows:
/// `first + (k - burst + 1) * interval`. Delays only move sends later, so this holds on
/// any machine; the tolerance covers the observer's estimate of the send time (taken
/// from the attempt's duration), far below one interval.
fn assert_within_bucket(sends: &mut [Instant], rate: RateLimitConfig) {
    sends.sort();
    let interval = rate.interval();
    let first = sends[0];
    for (k, sent) in sends.iter().enumerate() {
        let ahead = (k as u32 + 1).saturating_sub(rate.burst);
        let earliest = first + interval * ahead;
        assert!(
            *sent + Duration::from_millis(50) >= earliest,
            "send {k} went {:?} before its slot",
            earliest - *sent
        );
    }
}

#[tokio::test]
async fn a_429_storm_is_waited_out_and_the_bucket_is_never_exceeded() {
    let sim = start().await;
    // The simulator allows 10 requests per 2 s window; the client's bucket allows more
    // (600/min, burst 5), so 429s come, with Retry-After.
    sim.set_rate_limit(SimRateLimit {
        requests_per_window: 10,
        window_seconds: 2,
        ..SimRateLimit::default()
    })
    .unwrap();
    let acme = seed(&sim, ACME);
    let rate = RateLimitConfig {
        requests_per_minute: 600,
        burst: 5,
    };
    let (seen, observer) = recorder();
    let c = GenesysClient::new(
        config(&sim, acme)
            .with_rate_limit(rate)
            .with_observer(observer),
    )
    .unwrap();
    c.authenticate().await.unwrap();
    let calls: Vec<_> = (0..30)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.list_links().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("every call succeeds in the end");
    }
    let stats = sim.stats();
    assert!(stats.org_rate_limited(acme.id) > 0, "{stats:?}");
    let seen = seen.lock().clone();
    let api: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.endpoint == "/api/v2/telephony/organization/link")
        .collect();
    assert_eq!(api.iter().filter(|s| s.status == Some(200)).count(), 30);
    assert!(api.iter().any(|s| s.status == Some(429)));
    assert!(api.iter().all(|s| s.attempt <= 11), "bounded 429 retries");
    let mut sends: Vec<Instant> = api.iter().map(|s| s.sent).collect();
    assert_within_bucket(&mut sends, rate);
}

#[tokio::test]
async fn a_client_under_the_limit_spaces_its_calls_and_gets_no_429() {
    let sim = start().await;
    let acme = seed(&sim, ACME);
    // 120/min with a burst of 3: 3 at once, then one every 500 ms.
    let rate = RateLimitConfig {
        requests_per_minute: 120,
        burst: 3,
    };
    let (seen, observer) = recorder();
    let c = GenesysClient::new(
        config(&sim, acme)
            .with_rate_limit(rate)
            .with_observer(observer),
    )
    .unwrap();
    c.authenticate().await.unwrap();
    let start = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.organization_me().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // 8 calls, 3 free: at least 5 intervals of 500 ms.
    assert!(start.elapsed() >= Duration::from_millis(2_500));
    let mut sends: Vec<Instant> = seen
        .lock()
        .iter()
        .filter(|s| s.endpoint == "/api/v2/organizations/me")
        .map(|s| s.sent)
        .collect();
    assert_eq!(sends.len(), 8);
    assert_within_bucket(&mut sends, rate);
    assert_eq!(sim.stats().org_rate_limited(acme.id), 0);
}

#[tokio::test]
async fn a_retry_after_above_180_seconds_is_not_waited_for() {
    let sim = start().await;
    // One request per 10-minute window: the second is told to come back in ~600 s.
    sim.set_rate_limit(SimRateLimit {
        requests_per_window: 1,
        window_seconds: 600,
        ..SimRateLimit::default()
    })
    .unwrap();
    let c = client(&sim, ACME);
    c.organization_me().await.unwrap();
    let err = c.organization_me().await.unwrap_err();
    assert!(err.is_rate_limited() && err.is_transient(), "{err}");
    assert_eq!(err.code(), Some("too.many.requests.retry.after"));
    assert!(err.retry_after().unwrap() > Duration::from_secs(180));
    assert_eq!(err.api().unwrap().attempts, 1);
}

#[tokio::test]
async fn thirty_percent_server_errors_are_retried_to_success_within_bounds() {
    let sim = start().await;
    sim.set_faults(FaultConfig {
        error_rate: 0.3,
        seed: Some(7),
        ..FaultConfig::default()
    })
    .unwrap();
    let acme = seed(&sim, ACME);
    let (seen, observer) = recorder();
    let retry = RetryConfig {
        max_attempts: 8,
        ..fast_retry()
    };
    let c = GenesysClient::new(
        config(&sim, acme)
            .with_retry(retry.clone())
            .with_observer(observer),
    )
    .unwrap();
    for _ in 0..20 {
        c.organization_me().await.unwrap();
        c.list_links().await.unwrap();
    }
    let stats = sim.stats();
    assert!(stats.injected_errors > 0, "{stats:?}");
    let seen = seen.lock();
    assert!(seen.iter().any(|s| s.status.is_some_and(|st| st >= 500)));
    assert!(seen.iter().all(|s| s.attempt <= retry.max_attempts));
    assert_eq!(
        seen.iter()
            .filter(|s| s.status == Some(200) && s.endpoint != "/oauth/token")
            .count(),
        40
    );
}

#[tokio::test]
async fn persistent_server_errors_stop_after_max_attempts() {
    let sim = start().await;
    let c = client(&sim, ACME);
    c.authenticate().await.unwrap();
    sim.set_faults(FaultConfig {
        error_rate: 1.0,
        error_statuses: vec![503],
        path_prefix: Some("/api/v2".into()),
        ..FaultConfig::default()
    })
    .unwrap();
    sim.reset_stats();
    let err = c.organization_me().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(err.code(), Some("service.unavailable"));
    assert!(err.is_transient());
    assert_eq!(err.api().unwrap().attempts, 5);
    assert_eq!(sim.stats().injected_errors, 5);

    // 501 is never retried.
    sim.set_faults(FaultConfig {
        error_rate: 1.0,
        error_statuses: vec![501],
        path_prefix: Some("/api/v2".into()),
        ..FaultConfig::default()
    })
    .unwrap();
    let err = c.organization_me().await.unwrap_err();
    assert_eq!((err.status(), err.api().unwrap().attempts), (Some(501), 1));
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let sim = start().await;
    sim.set_faults(FaultConfig {
        drop_rate: 0.3,
        seed: Some(11),
        ..FaultConfig::default()
    })
    .unwrap();
    let c = GenesysClient::new(config(&sim, seed(&sim, ACME)).with_retry(RetryConfig {
        max_attempts: 8,
        ..fast_retry()
    }))
    .unwrap();
    for _ in 0..15 {
        c.list_links().await.unwrap();
    }
    assert!(sim.stats().dropped_connections > 0);

    // Every connection dropped: a transport error after the attempts, no answer.
    sim.set_faults(FaultConfig {
        drop_rate: 1.0,
        ..FaultConfig::default()
    })
    .unwrap();
    let err = c.list_links().await.unwrap_err();
    match &err {
        GenesysError::Transport { attempts, .. } => assert_eq!(*attempts, 8),
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let sim = start().await;
    let c = GenesysClient::new(
        config(&sim, seed(&sim, ACME))
            .with_timeout(Duration::from_millis(300))
            .with_retry(RetryConfig {
                max_attempts: 2,
                ..fast_retry()
            }),
    )
    .unwrap();
    sim.set_faults(FaultConfig {
        latency_ms: 2_000,
        ..FaultConfig::default()
    })
    .unwrap();
    let err = c.organization_me().await.unwrap_err();
    match &err {
        GenesysError::Transport { kind, attempts, .. } => {
            assert_eq!(
                *kind,
                orglink_operator::genesys::retry::TransportKind::Timeout
            );
            assert_eq!(*attempts, 2);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn not_found_answers_keep_code_and_correlation_id() {
    let sim = start().await;
    let c = client(&sim, ACME);
    let missing = "00000000-0000-4000-8000-000000000000";
    assert!(c.get_pairing(missing).await.unwrap().is_none());
    assert!(c.get_trustee(missing).await.unwrap().is_none());
    assert!(c.get_trustor(missing).await.unwrap().is_none());
    let err = c.list_trustee_users(missing).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("not.found"));
    assert!(err.correlation_id().is_some_and(|id| !id.is_empty()));
    assert!(
        err.to_string()
            .contains("/api/v2/orgauthorization/trustees/{trusteeOrgId}/users")
    );
    // An empty ID never reaches the network (it would address the listing instead).
    let err = c.get_trustee("").await.unwrap_err();
    assert!(matches!(err, GenesysError::InvalidArgument(_)), "{err}");
}

/// Users by email and groups by name in the caller's own org: one POST each, exact
/// whole-value matches ignoring case, nothing from other orgs.
#[tokio::test]
async fn users_and_groups_are_found_by_email_and_name() {
    let sim = start().await;
    let msp = seed(&sim, MSP);
    let c = client(&sim, MSP);
    let user = &msp.users[2];
    let email = user.email.clone().unwrap();
    let found = c
        .search_users_by_email(&email.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, user.id.to_string());
    assert_eq!(found[0].email.as_deref(), Some(email.as_str()));
    assert!(
        c.search_users_by_email("nobody@msp-prod.example")
            .await
            .unwrap()
            .is_empty()
    );
    // Acme's client does not see MSP's users.
    assert!(
        client(&sim, ACME)
            .search_users_by_email(&email)
            .await
            .unwrap()
            .is_empty()
    );

    let group = &msp.groups[1];
    let found = c.search_groups_by_name(&group.name).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, group.id.to_string());
    assert_eq!(found[0].name.as_deref(), Some(group.name.as_str()));
    assert!(
        c.search_groups_by_name("No such group")
            .await
            .unwrap()
            .is_empty()
    );

    let stats = sim.stats();
    assert_eq!(
        stats.count(msp.id, "POST /api/v2/users/search"),
        2,
        "{stats:?}"
    );
    assert_eq!(
        stats.count(msp.id, "POST /api/v2/groups/search"),
        2,
        "{stats:?}"
    );
}
