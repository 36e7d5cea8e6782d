//! The simulated Genesys Cloud over HTTP: statuses, bodies, headers, pagination, rate
//! limits, faults and the simulated clock, as a client sees them.

use std::time::{Duration, Instant};

use orglink_operator::api::Region;
use orglink_operator::sandbox::genesys_sim::{
    FaultConfig, GenesysSim, RateLimitConfig, SeedOrg, SimConfig, SimHandle,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn start() -> SimHandle {
    GenesysSim::start(SimConfig::default()).await.unwrap()
}

/// One org's API session.
struct Org {
    http: reqwest::Client,
    base: String,
    token: String,
    seed: SeedOrg,
}

/// The answer of one call: status, correlation header and JSON body (Null when empty).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    correlation: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let correlation = header("ININ-Correlation-Id");
    let retry_after = header("Retry-After");
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        correlation,
        retry_after,
        body,
    }
}

async fn token_request(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
) -> Answer {
    answer(
        http.post(format!("{base}/oauth/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await
}

impl Org {
    async fn login(sim: &SimHandle, name: &str) -> Org {
        let seed = sim.org_by_name(name).unwrap().clone();
        let http = http();
        let base = sim.region_url(seed.region);
        let a = token_request(&http, &base, &seed.client_id, seed.client_secret.expose()).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        Org {
            http,
            base,
            token: a.body["access_token"].as_str().unwrap().to_string(),
            seed,
        }
    }

    async fn relogin(&mut self) {
        let a = token_request(
            &self.http,
            &self.base,
            &self.seed.client_id,
            self.seed.client_secret.expose(),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        self.token = a.body["access_token"].as_str().unwrap().to_string();
    }

    fn id(&self) -> String {
        self.seed.id.to_string()
    }

    fn user(&self, n: usize) -> String {
        self.seed.users[n].id.to_string()
    }

    fn group(&self, n: usize) -> String {
        self.seed.groups[n].id.to_string()
    }

    fn division(&self, name: &str) -> String {
        self.seed
            .divisions
            .iter()
            .find(|d| d.name == name)
            .unwrap()
            .id
            .to_string()
    }

    fn role(&self, name: &str) -> String {
        self.seed
            .roles
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .id
            .to_string()
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }
}

const LINK: &str = "/api/v2/telephony/organization/link";
const OA: &str = "/api/v2/orgauthorization";

/// Asserts a Genesys ErrorBody with `status` and `code` whose contextId is the header.
fn assert_error(a: &Answer, status: StatusCode, code: &str) {
    assert_eq!(a.status, status, "{a:?}");
    assert_eq!(a.body["status"], status.as_u16(), "{a:?}");
    assert_eq!(a.body["code"], code, "{a:?}");
    assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        a.body["details"].is_array() && a.body["errors"].is_array(),
        "{a:?}"
    );
    assert_eq!(
        a.body["contextId"].as_str(),
        a.correlation.as_deref(),
        "contextId equals ININ-Correlation-Id"
    );
}

fn statuses(a: &Answer) -> Vec<(String, String)> {
    a.body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["targetOrganizationId"].as_str().unwrap().to_string(),
                l["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tokens_work_only_in_the_clients_region() {
    let sim = start().await;
    let http = http();
    let acme = sim.org_by_name("Acme Prod").unwrap();
    let secret = acme.client_secret.expose();

    let ok = token_request(
        &http,
        &sim.region_url(Region::UsEast1),
        &acme.client_id,
        secret,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["token_type"], "bearer");
    assert_eq!(ok.body["expires_in"], 86400);
    assert!(ok.correlation.is_some());

    for (region, id, secret) in [
        (Region::EuWest1, acme.client_id.as_str(), secret),
        (Region::UsEast1, acme.client_id.as_str(), "wrong"),
        (Region::UsEast1, "nobody", secret),
    ] {
        let a = token_request(&http, &sim.region_url(region), id, secret).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
        assert_eq!(a.body["error"], "invalid_client");
        assert!(!a.body.to_string().contains(acme.client_secret.expose()));
    }

    let no_grant = answer(
        http.post(format!("{}/oauth/token", sim.region_url(Region::UsEast1)))
            .basic_auth(&acme.client_id, Some(secret))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(no_grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_grant.body["error"], "invalid_request");
}

#[tokio::test]
async fn the_api_needs_a_valid_token_of_its_region() {
    let sim = start().await;
    let http = http();
    let url = format!(
        "{}/api/v2/organizations/me",
        sim.region_url(Region::UsEast1)
    );

    let none = answer(http.get(&url).send().await.unwrap()).await;
    assert_error(&none, StatusCode::UNAUTHORIZED, "authentication.required");
    let bogus = answer(http.get(&url).bearer_auth("bogus").send().await.unwrap()).await;
    assert_error(&bogus, StatusCode::UNAUTHORIZED, "bad.credentials");

    let acme = Org::login(&sim, "Acme Prod").await;
    let other_region = format!(
        "{}/api/v2/organizations/me",
        sim.region_url(Region::EuWest1)
    );
    let a = answer(
        http.get(&other_region)
            .bearer_auth(&acme.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "bad.credentials");

    let me = acme.get("/api/v2/organizations/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], acme.id());
    assert_eq!(me.body["name"], "Acme Prod");
    assert_eq!(me.body["thirdPartyOrgName"], "acme-prod");
    assert!(me.body["version"].is_i64());
    assert!(me.correlation.is_some());
}

#[tokio::test]
async fn unknown_routes_regions_and_methods_answer_error_bodies() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    assert_error(
        &acme.get("/api/v2/nothing").await,
        StatusCode::NOT_FOUND,
        "not.found",
    );
    let a = answer(
        acme.http
            .get(format!("{}/mars-1/api/v2/organizations/me", sim.url()))
            .bearer_auth(&acme.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&a, StatusCode::NOT_FOUND, "not.found");
    assert!(a.body["message"].as_str().unwrap().contains("mars-1"));
    let a = acme.put("/api/v2/organizations/me", json!({})).await;
    assert_error(&a, StatusCode::METHOD_NOT_ALLOWED, "method.not.allowed");
}

#[tokio::test]
async fn roles_filter_by_name_and_page() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let all = acme.get("/api/v2/authorization/roles").await;
    assert_eq!(all.status, StatusCode::OK);
    let total = acme.seed.roles.len();
    assert_eq!(all.body["total"], total);
    assert_eq!(all.body["pageSize"], 25);
    assert_eq!(all.body["pageNumber"], 1);
    assert_eq!(all.body["pageCount"], 1);
    assert!(all.body.get("nextUri").is_none());

    let one = acme
        .get("/api/v2/authorization/roles?name=Supervisor")
        .await;
    assert_eq!(one.body["total"], 1);
    assert_eq!(one.body["entities"][0]["id"], acme.role("Supervisor"));
    assert!(
        one.body["entities"][0]["permissions"]
            .as_array()
            .unwrap()
            .len()
            > 1
    );
    let none = acme
        .get("/api/v2/authorization/roles?name=supervisor")
        .await;
    assert_eq!(none.body["total"], 0);

    // Follow nextUri to the end with pageSize=2.
    let mut seen = Vec::new();
    let mut next = Some("/api/v2/authorization/roles?pageSize=2".to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let page = acme.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.body["pageCount"], total.div_ceil(2));
        for e in page.body["entities"].as_array().unwrap() {
            seen.push(e["name"].as_str().unwrap().to_string());
        }
        next = page.body["nextUri"].as_str().map(str::to_string);
        pages += 1;
    }
    assert_eq!(pages, total.div_ceil(2));
    let mut expected: Vec<_> = acme.seed.roles.iter().map(|r| r.name.clone()).collect();
    expected.sort();
    assert_eq!(seen, expected);

    let bad = acme.get("/api/v2/authorization/roles?pageSize=0").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");
    assert!(bad.body["message"].as_str().unwrap().contains("pageSize"));
}

#[tokio::test]
async fn a_link_handshake_approve_and_unlink() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let dr = Org::login(&sim, "Acme DR").await;

    let created = acme
        .post(
            LINK,
            json!({"targetOrganizationId": dr.id(), "targetRegion": "us-east-1"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{created:?}");
    assert_eq!(created.body["status"], "Pending");
    assert_eq!(created.body["sourceOrganizationId"], acme.id());
    assert_eq!(created.body["targetOrganizationId"], dr.id());
    assert_eq!(created.body["sourceRegion"], "us-east-1");

    assert_eq!(
        statuses(&acme.get(LINK).await),
        [(dr.id(), "Pending".into())]
    );
    let dr_list = dr.get(LINK).await;
    assert_eq!(statuses(&dr_list), [(acme.id(), "ApprovalPending".into())]);
    assert_eq!(dr_list.body[0]["targetName"], "Acme Prod");

    // Only the target may answer.
    let wrong = acme
        .patch(
            &format!("{LINK}/approve/{}", dr.id()),
            json!({"approval": true}),
        )
        .await;
    assert_error(&wrong, StatusCode::FORBIDDEN, "not.authorized");
    let missing = dr
        .patch(&format!("{LINK}/approve/{}", acme.id()), json!({}))
        .await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "bad.request");

    let ok = dr
        .patch(
            &format!("{LINK}/approve/{}", acme.id()),
            json!({"approval": true}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(ok.body, Value::Null);
    assert_eq!(
        statuses(&acme.get(LINK).await),
        [(dr.id(), "Approved".into())]
    );
    assert_eq!(
        statuses(&dr.get(LINK).await),
        [(acme.id(), "Approved".into())]
    );

    // Unlink from the target's side severs it for both at once.
    let gone = dr.delete(&format!("{LINK}/{}", acme.id())).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(statuses(&acme.get(LINK).await).is_empty());
    assert!(statuses(&dr.get(LINK).await).is_empty());
    let again = acme.delete(&format!("{LINK}/{}", dr.id())).await;
    assert_error(&again, StatusCode::NOT_FOUND, "not.found");
}

#[tokio::test]
async fn a_rejected_link_shows_only_to_the_requester_and_can_be_asked_again() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let body = json!({"targetOrganizationId": msp.id(), "targetRegion": "us-east-1"});
    assert_eq!(acme.post(LINK, body.clone()).await.status, StatusCode::OK);
    let dup = acme.post(LINK, body.clone()).await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    let reject = msp
        .patch(
            &format!("{LINK}/approve/{}", acme.id()),
            json!({"approval": false}),
        )
        .await;
    assert_eq!(reject.status, StatusCode::NO_CONTENT);
    assert_eq!(
        statuses(&acme.get(LINK).await),
        [(msp.id(), "Rejected".into())]
    );
    assert!(statuses(&msp.get(LINK).await).is_empty());
    assert_eq!(acme.post(LINK, body).await.status, StatusCode::OK);
    assert_eq!(
        statuses(&msp.get(LINK).await),
        [(acme.id(), "ApprovalPending".into())]
    );
}

#[tokio::test]
async fn link_requests_are_validated() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let globex = Org::login(&sim, "Globex EU").await;

    let a = acme
        .post(
            LINK,
            json!({"targetOrganizationId": "nope", "targetRegion": "us-east-1"}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert_eq!(a.body["details"][0]["fieldName"], "targetOrganizationId");
    let a = acme
        .post(
            LINK,
            json!({"targetOrganizationId": globex.id(), "targetRegion": "mars-1"}),
        )
        .await;
    assert_eq!(a.body["details"][0]["fieldName"], "targetRegion");
    let a = acme
        .post(
            LINK,
            json!({"targetOrganizationId": acme.id(), "targetRegion": "us-east-1"}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    // Globex EU exists, but in eu-west-1.
    let a = acme
        .post(
            LINK,
            json!({"targetOrganizationId": globex.id(), "targetRegion": "us-east-1"}),
        )
        .await;
    assert_error(&a, StatusCode::NOT_FOUND, "not.found");
    // Globex EU may not link to us-east-1 at all.
    let a = globex
        .post(
            LINK,
            json!({"targetOrganizationId": acme.id(), "targetRegion": "us-east-1"}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert_eq!(a.body["details"][0]["fieldName"], "targetRegion");
    let a = acme.call(Method::POST, LINK, None).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");

    // Cross-region links work where allowed.
    let a = acme
        .post(
            LINK,
            json!({"targetOrganizationId": globex.id(), "targetRegion": "eu-west-1"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let list = globex.get(LINK).await;
    assert_eq!(list.body[0]["targetRegion"], "us-east-1");
    assert_eq!(list.body[0]["sourceRegion"], "eu-west-1");

    let regions = globex.get(&format!("{LINK}/regions")).await;
    assert_eq!(regions.status, StatusCode::OK);
    assert_eq!(
        regions.body,
        json!([{"regionName": "eu-west-1"}, {"regionName": "eu-west-2"}, {"regionName": "eu-central-1"}])
    );
    let all = acme.get(&format!("{LINK}/regions")).await;
    assert_eq!(all.body.as_array().unwrap().len(), Region::all().count());
}

#[tokio::test]
async fn pairings_validate_members_and_expire_after_48_hours() {
    let sim = start().await;
    let mut msp = Org::login(&sim, "MSP Prod").await;
    let mut acme = Org::login(&sim, "Acme Prod").await;

    let users: Vec<String> = (0..26).map(|i| msp.user(i)).collect();
    let a = msp
        .post(&format!("{OA}/pairings"), json!({"userIds": users}))
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert!(a.body["message"].as_str().unwrap().contains("25"), "{a:?}");

    let a = msp
        .post(
            &format!("{OA}/pairings"),
            json!({"userIds": [msp.user(0), acme.user(0)]}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert_eq!(a.body["details"][0]["fieldName"], "userIds[1]");
    let a = msp.post(&format!("{OA}/pairings"), json!({})).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");

    let before = sim.now();
    let p = msp
        .post(
            &format!("{OA}/pairings"),
            json!({"userIds": users[..25], "groupIds": [msp.group(0)]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{p:?}");
    let pairing_id = p.body["id"].as_str().unwrap().to_string();
    assert_eq!(p.body["trustee"]["id"], msp.id());
    assert_eq!(p.body["users"].as_array().unwrap().len(), 25);
    assert_eq!(p.body["groups"][0]["id"], msp.group(0));
    let created: jiff::Timestamp = p.body["dateCreated"].as_str().unwrap().parse().unwrap();
    assert!(created >= before - jiff::SignedDuration::from_secs(1) && created <= sim.now());

    let got = acme.get(&format!("{OA}/pairings/{pairing_id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["id"], pairing_id);

    // No list and no delete.
    let list = msp.get(&format!("{OA}/pairings")).await;
    assert_error(&list, StatusCode::METHOD_NOT_ALLOWED, "method.not.allowed");
    let del = msp.delete(&format!("{OA}/pairings/{pairing_id}")).await;
    assert_error(&del, StatusCode::METHOD_NOT_ALLOWED, "method.not.allowed");

    sim.advance_clock(jiff::SignedDuration::from_hours(49))
        .unwrap();
    // 49 h also outlived the 24 h tokens.
    let stale = acme.get(&format!("{OA}/pairings/{pairing_id}")).await;
    assert_error(&stale, StatusCode::UNAUTHORIZED, "bad.credentials");
    acme.relogin().await;
    msp.relogin().await;
    let expired = acme.get(&format!("{OA}/pairings/{pairing_id}")).await;
    assert_error(&expired, StatusCode::NOT_FOUND, "pairing.expired");
    let trust = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing_id, "enabled": true, "users": [{"id": msp.user(0)}]}),
        )
        .await;
    assert_error(&trust, StatusCode::BAD_REQUEST, "pairing.expired");
}

#[tokio::test]
async fn a_full_pairing_request_trust_roles_disable_revoke() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let p = msp
        .post(
            &format!("{OA}/pairings"),
            json!({"userIds": [msp.user(0), msp.user(1)], "groupIds": [msp.group(0)]}),
        )
        .await;
    let pairing_id = p.body["id"].as_str().unwrap().to_string();

    // A user the pairing does not name is refused; so is a role of the trustee.
    let a = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing_id, "enabled": true, "users": [{"id": msp.user(5)}]}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert_eq!(a.body["details"][0]["fieldName"], "users[0].id");
    let a = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing_id, "enabled": true,
                   "users": [{"id": msp.user(0), "roleIds": [msp.role("Supervisor")]}]}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");

    let trustee = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing_id, "enabled": true,
                   "users": [{"id": msp.user(0)}], "groups": [{"id": msp.group(0)}]}),
        )
        .await;
    assert_eq!(trustee.status, StatusCode::OK, "{trustee:?}");
    assert_eq!(trustee.body["id"], msp.id());
    assert_eq!(trustee.body["enabled"], true);
    assert_eq!(trustee.body["organization"]["name"], "MSP Prod");
    let dup = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing_id, "enabled": true, "users": [{"id": msp.user(1)}]}),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");

    // The trustee sees the trust, with no permissions until roles are set.
    let trustor_path = format!("{OA}/trustors/{}", acme.id());
    let t = msp.get(&trustor_path).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["id"], acme.id());
    assert_eq!(t.body["authorization"]["permissions"], json!([]));

    let user_roles = format!("{OA}/trustees/{}/users/{}/roles", msp.id(), msp.user(0));
    let set = acme
        .put(&user_roles, json!([acme.role("Supervisor")]))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["roles"][0]["name"], "Supervisor");
    let supervisor: Vec<String> = acme
        .seed
        .roles
        .iter()
        .find(|r| r.name == "Supervisor")
        .unwrap()
        .permissions
        .clone();
    let perms = |a: &Answer| -> Vec<String> {
        a.body["authorization"]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    };
    let mut expected = supervisor.clone();
    expected.sort();
    assert_eq!(perms(&msp.get(&trustor_path).await), expected);
    let bad = acme.put(&user_roles, json!(["not-a-uuid"])).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");

    // Disable: permissions go, roles stay.
    let off = acme
        .put(
            &format!("{OA}/trustees/{}", msp.id()),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(off.body["enabled"], false);
    assert!(perms(&msp.get(&trustor_path).await).is_empty());
    let kept = acme.get(&user_roles).await;
    assert_eq!(kept.body["roles"][0]["id"], acme.role("Supervisor"));
    let on = acme
        .put(
            &format!("{OA}/trustees/{}", msp.id()),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(on.body["enabled"], true);
    assert_eq!(perms(&msp.get(&trustor_path).await), expected);

    // Members from both sides.
    let users = acme.get(&format!("{OA}/trustees/{}/users", msp.id())).await;
    assert_eq!(users.body["total"], 1);
    assert_eq!(users.body["entities"][0]["id"], msp.user(0));
    let promoted = msp
        .put(
            &format!("{trustor_path}/users/{}", msp.user(7)),
            json!(null),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{promoted:?}");
    assert_eq!(promoted.body["authorization"]["roles"], json!([]));
    let added = acme
        .post(
            &format!("{OA}/trustees/{}/users", msp.id()),
            json!({"id": msp.user(7)}),
        )
        .await;
    assert_error(&added, StatusCode::CONFLICT, "conflict");
    let groups = msp.get(&format!("{trustor_path}/groups")).await;
    assert_eq!(groups.body["entities"][0]["id"], msp.group(0));
    let removed = acme
        .delete(&format!("{OA}/trustees/{}/users/{}", msp.id(), msp.user(7)))
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    // Revoke from the trustee's side: gone for both.
    assert_eq!(
        msp.delete(&trustor_path).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = acme.get(&format!("{OA}/trustees/{}", msp.id())).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not.found");
    assert_eq!(msp.get(&format!("{OA}/trustors")).await.body["total"], 0);
}

#[tokio::test]
async fn trusts_need_the_same_region_and_list_with_pages() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let dr = Org::login(&sim, "Acme DR").await;
    let globex = Org::login(&sim, "Globex EU").await;
    let p = msp
        .post(&format!("{OA}/pairings"), json!({"userIds": [msp.user(0)]}))
        .await;
    let pairing_id = p.body["id"].as_str().unwrap().to_string();
    let body = json!({"pairingId": pairing_id, "enabled": true, "users": [{"id": msp.user(0)}]});

    let a = globex.post(&format!("{OA}/trustees"), body.clone()).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert!(a.body["message"].as_str().unwrap().contains("same region"));
    let a = globex.get(&format!("{OA}/pairings/{pairing_id}")).await;
    assert_error(&a, StatusCode::NOT_FOUND, "not.found");

    for org in [&acme, &dr] {
        let a = org.post(&format!("{OA}/trustees"), body.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }
    let page1 = msp.get(&format!("{OA}/trustors?pageSize=1")).await;
    assert_eq!(page1.body["total"], 2);
    assert_eq!(page1.body["pageCount"], 2);
    assert_eq!(page1.body["entities"].as_array().unwrap().len(), 1);
    let next = page1.body["nextUri"].as_str().unwrap().to_string();
    assert_eq!(next, format!("{OA}/trustors?pageSize=1&pageNumber=2"));
    let page2 = msp.get(&next).await;
    assert!(page2.body.get("nextUri").is_none());
    let ids: Vec<_> = [&page1, &page2]
        .iter()
        .map(|p| p.body["entities"][0]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&acme.id()) && ids.contains(&dr.id()));
    assert_eq!(acme.get(&format!("{OA}/trustees")).await.body["total"], 1);
}

#[tokio::test]
async fn a_trust_past_its_expiry_date_is_revoked() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let mut acme = Org::login(&sim, "Acme Prod").await;
    let p = msp
        .post(
            &format!("{OA}/pairings"),
            json!({"groupIds": [msp.group(1)]}),
        )
        .await;
    let expires = sim.now() + jiff::SignedDuration::from_hours(2);
    let a = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": p.body["id"], "enabled": true,
                   "groups": [{"id": msp.group(1)}],
                   "dateExpired": expires.to_string()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert!(a.body["dateExpired"].is_string());
    sim.advance_clock(jiff::SignedDuration::from_hours(3))
        .unwrap();
    let gone = acme.get(&format!("{OA}/trustees/{}", msp.id())).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not.found");
    acme.relogin().await;
    assert_eq!(acme.get(&format!("{OA}/trustees")).await.body["total"], 0);
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_and_is_counted() {
    let sim = start().await;
    sim.set_rate_limit(RateLimitConfig {
        requests_per_window: 3,
        window_seconds: 2,
        token_requests_per_window: None,
    })
    .unwrap();
    let acme = Org::login(&sim, "Acme Prod").await;
    let dr = Org::login(&sim, "Acme DR").await;
    for _ in 0..3 {
        assert_eq!(
            acme.get("/api/v2/organizations/me").await.status,
            StatusCode::OK
        );
    }
    let limited = acme.get("/api/v2/organizations/me").await;
    assert_error(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "too.many.requests.retry.after",
    );
    let retry_after: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(
        limited.body["message"],
        format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds")
    );
    // Per token: another org is unaffected.
    assert_eq!(
        dr.get("/api/v2/organizations/me").await.status,
        StatusCode::OK
    );

    // After Retry-After the token may call again.
    let deadline = Instant::now() + Duration::from_secs(30);
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    loop {
        let a = acme.get("/api/v2/organizations/me").await;
        if a.status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "still limited: {a:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let stats = sim.stats();
    assert!(stats.rate_limited >= 1);
    assert!(stats.org_rate_limited(acme.seed.id) >= 1);
    assert_eq!(stats.org_rate_limited(dr.seed.id), 0);
}

#[tokio::test]
async fn the_token_endpoint_rate_limit_is_a_400_invalid_request() {
    let sim = start().await;
    sim.set_rate_limit(RateLimitConfig {
        token_requests_per_window: Some(1),
        ..RateLimitConfig::default()
    })
    .unwrap();
    let acme = Org::login(&sim, "Acme Prod").await;
    let a = token_request(
        &acme.http,
        &acme.base,
        &acme.seed.client_id,
        acme.seed.client_secret.expose(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["error"], "invalid_request");
    assert!(
        a.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("rate limit exceeded;")
    );
}

#[tokio::test]
async fn injected_errors_drops_and_latency() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;

    sim.set_faults(FaultConfig {
        error_rate: 1.0,
        error_statuses: vec![503],
        ..FaultConfig::default()
    })
    .unwrap();
    let a = acme
        .post(LINK, json!({"targetOrganizationId": acme.id()}))
        .await;
    assert_error(&a, StatusCode::SERVICE_UNAVAILABLE, "service.unavailable");
    // Not processed: nothing changed.
    sim.clear_faults();
    assert!(statuses(&acme.get(LINK).await).is_empty());

    sim.set_faults(FaultConfig {
        drop_rate: 1.0,
        ..FaultConfig::default()
    })
    .unwrap();
    let err = acme
        .http
        .get(format!("{}/api/v2/organizations/me", acme.base))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");

    sim.set_faults(FaultConfig {
        latency_ms: 300,
        ..FaultConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    assert_eq!(
        acme.get("/api/v2/organizations/me").await.status,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let stats = sim.stats();
    assert_eq!(stats.injected_errors, 1);
    assert_eq!(stats.dropped_connections, 1);
}

#[tokio::test]
async fn token_lifetime_override_and_expire_all() {
    let sim = start().await;
    sim.set_faults(FaultConfig {
        token_lifetime_seconds: Some(60),
        ..FaultConfig::default()
    })
    .unwrap();
    let mut acme = Org::login(&sim, "Acme Prod").await;
    let a = token_request(
        &acme.http,
        &acme.base,
        &acme.seed.client_id,
        acme.seed.client_secret.expose(),
    )
    .await;
    assert_eq!(a.body["expires_in"], 60);
    assert_eq!(
        acme.get("/api/v2/organizations/me").await.status,
        StatusCode::OK
    );
    sim.advance_clock(jiff::SignedDuration::from_secs(61))
        .unwrap();
    let a = acme.get("/api/v2/organizations/me").await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "bad.credentials");

    acme.relogin().await;
    assert_eq!(
        acme.get("/api/v2/organizations/me").await.status,
        StatusCode::OK
    );
    sim.expire_all_tokens();
    let a = acme.get("/api/v2/organizations/me").await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "bad.credentials");
}

#[tokio::test]
async fn admin_endpoints_drive_faults_clock_limits_and_stats() {
    let sim = start().await;
    let http = http();
    let admin = |path: &str| format!("{}/_sim/{path}", sim.url());
    let mut acme = Org::login(&sim, "Acme Prod").await;
    acme.get("/api/v2/organizations/me").await;
    acme.get(LINK).await;
    acme.get(LINK).await;

    let stats = answer(http.get(admin("stats")).send().await.unwrap()).await;
    assert_eq!(stats.status, StatusCode::OK);
    assert!(stats.correlation.is_some());
    let org = &stats.body["orgs"][acme.id()];
    assert_eq!(
        org["endpoints"]["GET /api/v2/telephony/organization/link"],
        2
    );
    assert_eq!(org["endpoints"]["GET /api/v2/organizations/me"], 1);
    assert_eq!(org["endpoints"]["POST /oauth/token"], 1);
    assert_eq!(
        sim.stats()
            .count(acme.seed.id, "GET /api/v2/telephony/organization/link"),
        2
    );
    let reset = answer(http.post(admin("reset-stats")).send().await.unwrap()).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert_eq!(sim.stats().total, 0);

    let clock = answer(
        http.post(admin("clock"))
            .json(&json!({"advance": "48h 1m"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(clock.status, StatusCode::OK, "{clock:?}");
    assert_eq!(clock.body["offsetSeconds"], 48 * 3600 + 60);
    let clock = answer(
        http.post(admin("clock"))
            .json(&json!({"advanceSeconds": 60}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(clock.body["offsetSeconds"], 48 * 3600 + 120);
    let bad = answer(
        http.post(admin("clock"))
            .json(&json!({"advanceSeconds": -5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");

    let faults = answer(
        http.post(admin("faults"))
            .json(&json!({"errorRate": 0.25, "latencyMs": 5, "expireTokensNow": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(faults.status, StatusCode::OK, "{faults:?}");
    assert_eq!(faults.body["errorRate"], 0.25);
    assert_eq!(sim.faults().latency_ms, 5);
    let bad = answer(
        http.post(admin("faults"))
            .json(&json!({"errorRate": 2}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");
    assert!(bad.body["message"].as_str().unwrap().contains("errorRate"));
    assert_eq!(sim.faults().error_rate, 0.25);
    answer(
        http.post(admin("faults"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // expireTokensNow invalidated the token (the clock jump had too).
    let a = acme.get("/api/v2/organizations/me").await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "bad.credentials");
    acme.relogin().await;

    let limit = answer(
        http.post(admin("rate-limit"))
            .json(&json!({"requestsPerWindow": 1, "windowSeconds": 60}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(limit.status, StatusCode::OK);
    assert_eq!(sim.rate_limit().requests_per_window, 1);
    acme.get("/api/v2/organizations/me").await;
    let a = acme.get("/api/v2/organizations/me").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.retry_after.is_some());

    let orgs = answer(http.get(admin("orgs")).send().await.unwrap()).await;
    assert_eq!(orgs.body.as_array().unwrap().len(), sim.orgs().len());
    assert!(
        !orgs
            .body
            .to_string()
            .contains(acme.seed.client_secret.expose())
    );
    let state = answer(http.get(admin("state")).send().await.unwrap()).await;
    assert!(state.body["links"].is_array());
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sim = start().await;
    let url = format!("{}/_sim/stats", sim.url());
    let http = http();
    assert!(http.get(&url).send().await.is_ok());
    sim.shutdown().await;
    let fresh = reqwest::Client::builder().build().unwrap();
    assert!(fresh.get(&url).send().await.is_err());
}

#[tokio::test]
async fn member_roles_by_division_grants_and_the_25_user_cap_from_the_trustee_side() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let p = msp
        .post(&format!("{OA}/pairings"), json!({"userIds": [msp.user(0)]}))
        .await;
    let trust = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": p.body["id"], "enabled": true,
                   "users": [{"id": msp.user(0), "roleDivisions": {"grants": [
                       {"roleId": acme.role("Architect access"), "divisionId": "*"}]}}]}),
        )
        .await;
    assert_eq!(trust.status, StatusCode::OK, "{trust:?}");
    let roles = format!("{OA}/trustees/{}/users/{}/roles", msp.id(), msp.user(0));
    let got = acme.get(&roles).await;
    assert_eq!(got.body["roles"][0]["name"], "Architect access");

    let divisions = format!(
        "{OA}/trustees/{}/users/{}/roledivisions",
        msp.id(),
        msp.user(0)
    );
    let set = acme
        .put(
            &divisions,
            json!({"grants": [{"roleId": acme.role("Supervisor"), "divisionId": "*"}]}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["roles"][0]["name"], "Supervisor");
    assert_eq!(acme.delete(&roles).await.status, StatusCode::NO_CONTENT);
    assert_eq!(acme.get(&roles).await.body["roles"], json!([]));
    let trustor = format!("{OA}/trustors/{}", acme.id());
    assert_eq!(
        msp.get(&trustor).await.body["authorization"]["permissions"],
        json!([])
    );

    // The trustee promotes its own users up to 25 in the trust; the 26th is refused.
    for n in 1..25 {
        let a = msp
            .put(&format!("{trustor}/users/{}", msp.user(n)), json!(null))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }
    let a = msp
        .put(&format!("{trustor}/users/{}", msp.user(25)), json!(null))
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    let users = acme
        .get(&format!(
            "{OA}/trustees/{}/users?pageSize=10&pageNumber=3",
            msp.id()
        ))
        .await;
    assert_eq!(users.body["total"], 25);
    assert_eq!(users.body["pageCount"], 3);
    assert_eq!(users.body["entities"].as_array().unwrap().len(), 5);
    // Another org's user, and a member that is not in the trust.
    let a = msp
        .put(&format!("{trustor}/users/{}", acme.user(0)), json!(null))
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    let a = msp.get(&format!("{trustor}/groups/{}", msp.group(2))).await;
    assert_error(&a, StatusCode::NOT_FOUND, "not.found");
}

/// Every body the simulator sends decodes as the shared wire model the client uses.
#[tokio::test]
async fn responses_decode_as_the_shared_models() {
    use orglink_operator::genesys::models;
    fn decode<T: serde::de::DeserializeOwned>(a: &Answer) -> T {
        assert!(a.status.is_success(), "{a:?}");
        serde_json::from_value(a.body.clone()).unwrap_or_else(|e| panic!("{e}: {a:?}"))
    }
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let msp = Org::login(&sim, "MSP Prod").await;

    let token = token_request(
        &acme.http,
        &acme.base,
        &acme.seed.client_id,
        acme.seed.client_secret.expose(),
    )
    .await;
    let token: models::TokenResponse = decode(&token);
    assert_eq!(token.expires_in, Some(86400));

    let me: models::Organization = decode(&acme.get("/api/v2/organizations/me").await);
    assert_eq!(me.name.as_deref(), Some("Acme Prod"));
    let roles: models::Listing<models::OrganizationRole> =
        decode(&acme.get("/api/v2/authorization/roles").await);
    assert_eq!(roles.total, Some(acme.seed.roles.len() as u64));

    let link: models::OrganizationLink = decode(
        &acme
            .post(
                LINK,
                json!({"targetOrganizationId": msp.id(), "targetRegion": "us-east-1"}),
            )
            .await,
    );
    assert_eq!(link.status, Some(models::LinkStatus::Pending));
    let links: Vec<models::OrganizationLinkResponse> = decode(&msp.get(LINK).await);
    assert_eq!(links[0].status, Some(models::LinkStatus::ApprovalPending));
    let regions: Vec<models::RegionResponse> = decode(&msp.get(&format!("{LINK}/regions")).await);
    assert!(!regions.is_empty());

    let pairing: models::TrustRequest = decode(
        &msp.post(
            &format!("{OA}/pairings"),
            json!({"userIds": [msp.user(0)], "groupIds": [msp.group(0)]}),
        )
        .await,
    );
    assert!(pairing.date_created.is_some());
    let _: models::TrustRequest = decode(&acme.get(&format!("{OA}/pairings/{}", pairing.id)).await);
    let create = models::TrustCreate {
        pairing_id: Some(pairing.id.clone()),
        enabled: true,
        users: vec![models::TrustMemberCreate {
            id: msp.user(0),
            role_ids: vec![acme.role("Supervisor")],
            role_divisions: None,
        }],
        groups: vec![models::TrustMemberCreate {
            id: msp.group(0),
            ..Default::default()
        }],
        date_expired: None,
    };
    let trustee: models::Trustee = decode(
        &acme
            .post(
                &format!("{OA}/trustees"),
                serde_json::to_value(&create).unwrap(),
            )
            .await,
    );
    assert_eq!(trustee.id, msp.id());
    let _: models::Listing<models::Trustee> = decode(&acme.get(&format!("{OA}/trustees")).await);
    let users: models::Listing<models::TrustUser> =
        decode(&acme.get(&format!("{OA}/trustees/{}/users", msp.id())).await);
    assert_eq!(users.entities[0].id, msp.user(0));
    let groups: models::Listing<models::TrustGroup> = decode(
        &acme
            .get(&format!("{OA}/trustees/{}/groups", msp.id()))
            .await,
    );
    assert_eq!(groups.entities[0].id, msp.group(0));
    let auth: models::UserAuthorization = decode(
        &acme
            .get(&format!(
                "{OA}/trustees/{}/users/{}/roles",
                msp.id(),
                msp.user(0)
            ))
            .await,
    );
    assert_eq!(auth.role_ids(), [acme.role("Supervisor")]);
    let trustor: models::Trustor = decode(&msp.get(&format!("{OA}/trustors/{}", acme.id())).await);
    assert!(!trustor.authorization.unwrap().permissions.is_empty());
    let _: models::Listing<models::Trustor> = decode(&msp.get(&format!("{OA}/trustors")).await);
    let update = models::TrustUpdate {
        enabled: false,
        date_expired: Some(sim.now() + jiff::SignedDuration::from_hours(24 * 30)),
    };
    let updated: models::Trustee = decode(
        &acme
            .put(
                &format!("{OA}/trustees/{}", msp.id()),
                serde_json::to_value(&update).unwrap(),
            )
            .await,
    );
    assert_eq!(updated.date_expired, update.date_expired);

    let error = acme.get(&format!("{OA}/trustees/{}", acme.id())).await;
    let body: models::ErrorBody = serde_json::from_value(error.body.clone()).unwrap();
    assert_eq!(body.code.as_deref(), Some("not.found"));
    assert_eq!(body.status, Some(404));
    assert_eq!(body.context_id, error.correlation);
}

/// `POST /users/search` and `POST /groups/search`: EXACT matches the whole value
/// ignoring case, clauses AND, pages of at most 100, `results` left out when empty,
/// malformed queries 400 naming the field.
#[tokio::test]
async fn users_and_groups_search_exact_paged_and_validated() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let exact = |field: &str, value: &str| json!({"query": [{"type": "EXACT", "fields": [field], "value": value}]});
    let user = &msp.seed.users[3];
    let email = user.email.clone().expect("seeded users have an email");
    let found = msp
        .post(
            "/api/v2/users/search",
            exact("email", &email.to_uppercase()),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{found:?}");
    assert_eq!(found.body["total"], 1);
    assert_eq!(found.body["results"][0]["id"], user.id.to_string());
    assert_eq!(found.body["results"][0]["email"], email.as_str());
    assert_eq!(found.body["types"], json!(["users"]));
    // Another org's directory is not searched.
    let other = acme
        .post("/api/v2/users/search", exact("email", &email))
        .await;
    assert_eq!(other.body["total"], 0);
    assert!(other.body.get("results").is_none(), "{other:?}");
    // EXACT is the whole value: a part of the address matches nothing.
    let (local, _) = email.split_once('@').unwrap();
    let part = msp
        .post("/api/v2/users/search", exact("email", local))
        .await;
    assert_eq!(part.body["total"], 0);
    let contains = msp
        .post(
            "/api/v2/users/search",
            json!({"query": [{"type": "CONTAINS", "fields": ["email"], "value": "@msp-prod.example"}]}),
        )
        .await;
    let all = msp.seed.users.len();
    assert!(all > 25);
    assert_eq!(contains.body["total"], all);
    assert_eq!(contains.body["pageSize"], 25);
    assert_eq!(contains.body["pageCount"], all.div_ceil(25));
    assert_eq!(contains.body["results"].as_array().unwrap().len(), 25);
    // Every page, pageSize 10: each user once.
    let mut seen = std::collections::BTreeSet::new();
    for n in 1..=all.div_ceil(10) {
        let page = msp
            .post(
                "/api/v2/users/search",
                json!({"pageSize": 10, "pageNumber": n,
                       "query": [{"type": "CONTAINS", "fields": ["email"], "value": "@msp-prod.example"}]}),
            )
            .await;
        for u in page.body["results"].as_array().unwrap() {
            assert!(seen.insert(u["id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(seen.len(), all);
    // Clauses AND.
    let both = msp
        .post(
            "/api/v2/users/search",
            json!({"query": [
                {"type": "CONTAINS", "fields": ["email"], "value": "@msp-prod.example"},
                {"type": "EXACT", "fields": ["name"], "value": user.name}]}),
        )
        .await;
    assert_eq!(both.body["total"], 1);

    let group = &acme.seed.groups[0];
    let g = acme
        .post(
            "/api/v2/groups/search",
            exact("name", &group.name.to_lowercase()),
        )
        .await;
    assert_eq!(g.body["total"], 1, "{g:?}");
    assert_eq!(g.body["results"][0]["id"], group.id.to_string());
    assert_eq!(g.body["results"][0]["name"], group.name.as_str());
    assert_eq!(g.body["types"], json!(["groups"]));
    let word = group.name.split_whitespace().next().unwrap();
    let g = acme
        .post("/api/v2/groups/search", exact("name", word))
        .await;
    assert_eq!(
        g.body["total"], 0,
        "EXACT does not match a word of the name"
    );

    for (path, body, field) in [
        ("/api/v2/users/search", json!({"query": []}), "query"),
        (
            "/api/v2/users/search",
            json!({"query": [{"type": "FUZZY", "fields": ["email"], "value": "x"}]}),
            "query[0].type",
        ),
        (
            "/api/v2/users/search",
            json!({"query": [{"type": "EXACT", "fields": ["phone"], "value": "x"}]}),
            "query[0].fields",
        ),
        (
            "/api/v2/groups/search",
            json!({"query": [{"type": "EXACT", "fields": ["email"], "value": "x"}]}),
            "query[0].fields",
        ),
        (
            "/api/v2/users/search",
            json!({"query": [{"type": "EXACT", "fields": ["email"]}]}),
            "query[0].value",
        ),
        (
            "/api/v2/users/search",
            json!({"pageSize": 101, "query": [{"type": "EXACT", "fields": ["email"], "value": "x"}]}),
            "pageSize",
        ),
        (
            "/api/v2/users/search",
            json!({"pageNumber": 0, "query": [{"type": "EXACT", "fields": ["email"], "value": "x"}]}),
            "pageNumber",
        ),
    ] {
        let bad = msp.post(path, body.clone()).await;
        assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");
        assert_eq!(
            bad.body["details"][0]["fieldName"], field,
            "{body}: {bad:?}"
        );
    }
}

/// Pairings and trusts carry the users' emails and the groups' names, which is what a
/// trustor matches a grant's emails and names against.
#[tokio::test]
async fn pairings_and_trust_members_carry_emails_and_names() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let pairing = msp
        .post(
            &format!("{OA}/pairings"),
            json!({"userIds": [msp.user(0)], "groupIds": [msp.group(0)]}),
        )
        .await;
    assert_eq!(pairing.status, StatusCode::OK, "{pairing:?}");
    let id = pairing.body["id"].as_str().unwrap();
    let seen = acme.get(&format!("{OA}/pairings/{id}")).await;
    assert_eq!(
        seen.body["users"][0]["email"].as_str(),
        msp.seed.users[0].email.as_deref()
    );
    assert_eq!(
        seen.body["groups"][0]["name"],
        msp.seed.groups[0].name.as_str()
    );
    let trust = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": id, "enabled": true, "users": [{"id": msp.user(0)}]}),
        )
        .await;
    assert_eq!(trust.status, StatusCode::OK, "{trust:?}");
    let users = acme.get(&format!("{OA}/trustees/{}/users", msp.id())).await;
    assert_eq!(
        users.body["entities"][0]["email"].as_str(),
        msp.seed.users[0].email.as_deref()
    );
}

#[tokio::test]
async fn divisions_are_the_callers_own_paged_and_filtered_by_exact_name() {
    let sim = start().await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let msp = Org::login(&sim, "MSP Prod").await;
    const DIVISIONS: &str = "/api/v2/authorization/divisions";
    let names = |a: &Answer| -> Vec<(String, String, bool)> {
        a.body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().unwrap().to_string(),
                    d["id"].as_str().unwrap().to_string(),
                    d["homeDivision"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let all = acme.get(DIVISIONS).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["pageCount"], 1);
    assert_eq!(
        names(&all),
        [
            ("Home".to_string(), acme.division("Home"), true),
            ("Sales".to_string(), acme.division("Sales"), false),
            ("Support".to_string(), acme.division("Support"), false),
        ]
    );
    // Only the caller's own: MSP sees its divisions, none of Acme's.
    let theirs = msp.get(DIVISIONS).await;
    let ids: Vec<String> = names(&theirs).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&msp.division("Sales")));
    assert!(!ids.contains(&acme.division("Sales")));

    // Exact names only.
    let sales = acme.get(&format!("{DIVISIONS}?name=Sales")).await;
    assert_eq!(
        names(&sales),
        [("Sales".to_string(), acme.division("Sales"), false)]
    );
    assert!(
        sales.body["selfUri"]
            .as_str()
            .unwrap()
            .contains("name=Sales")
    );
    assert_eq!(
        acme.get(&format!("{DIVISIONS}?name=sales")).await.body["total"],
        0
    );
    assert_eq!(
        acme.get(&format!("{DIVISIONS}?name=Sal")).await.body["total"],
        0
    );

    // Pages of two: follow nextUri to the end.
    let mut seen = Vec::new();
    let mut next = Some(format!("{DIVISIONS}?pageSize=2"));
    while let Some(path) = next {
        let page = acme.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        assert_eq!(page.body["pageCount"], 2);
        seen.extend(names(&page).into_iter().map(|(n, _, _)| n));
        next = page.body["nextUri"].as_str().map(str::to_string);
    }
    assert_eq!(seen, ["Home", "Sales", "Support"]);
    let bad = acme.get(&format!("{DIVISIONS}?pageNumber=0")).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");
}

/// The divisions each role of a trust member was granted in, from the sim's state.
fn member_divisions(
    sim: &SimHandle,
    trustor: &str,
    member: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let state = sim.state();
    let trust = state
        .all_trusts()
        .find(|t| t.trustor.to_string() == trustor)
        .expect("the trust");
    let member: uuid::Uuid = member.parse().unwrap();
    let grant = trust
        .users
        .get(&member)
        .or_else(|| trust.groups.get(&member))
        .expect("the member");
    assert_eq!(
        grant.role_ids,
        grant.role_divisions.keys().copied().collect(),
        "role_ids are the roles of role_divisions"
    );
    grant
        .role_divisions
        .iter()
        .map(|(r, d)| (r.to_string(), d.clone()))
        .collect()
}

fn grants(
    pairs: &[(&str, &str)],
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut map: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (role, division) in pairs {
        map.entry(role.to_string())
            .or_default()
            .insert(division.to_string());
    }
    map
}

#[tokio::test]
async fn role_grants_are_scoped_to_the_trustors_divisions() {
    let sim = start().await;
    let msp = Org::login(&sim, "MSP Prod").await;
    let acme = Org::login(&sim, "Acme Prod").await;
    let p = msp
        .post(
            &format!("{OA}/pairings"),
            json!({"userIds": [msp.user(0), msp.user(1)], "groupIds": [msp.group(0)]}),
        )
        .await;
    let pairing = p.body["id"].clone();
    let (sup, emp, arch) = (
        acme.role("Supervisor"),
        acme.role("Employee"),
        acme.role("Architect access"),
    );
    let (sales, support) = (acme.division("Sales"), acme.division("Support"));

    // A TrustCreate naming a division of another org is refused, naming the field.
    let bad = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing, "enabled": true,
                   "users": [{"id": msp.user(0), "roleDivisions": {"grants": [
                       {"roleId": sup, "divisionId": msp.division("Sales")}]}}]}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad.request");
    assert_eq!(
        bad.body["details"][0]["fieldName"],
        "users[0].roleDivisions.grants[0].divisionId"
    );

    // roleIds (all divisions) and roleDivisions (the pairs given): their union is kept.
    let trust = acme
        .post(
            &format!("{OA}/trustees"),
            json!({"pairingId": pairing, "enabled": true,
                   "users": [
                       {"id": msp.user(0), "roleDivisions": {"grants": [
                           {"roleId": sup, "divisionId": sales},
                           {"roleId": sup, "divisionId": support}]}},
                       {"id": msp.user(1), "roleIds": [emp], "roleDivisions": {"grants": [
                           {"roleId": emp, "divisionId": support},
                           {"roleId": arch, "divisionId": "*"}]}}],
                   "groups": [{"id": msp.group(0), "roleIds": [arch]}]}),
        )
        .await;
    assert_eq!(trust.status, StatusCode::OK, "{trust:?}");
    let me = acme.id();
    assert_eq!(
        member_divisions(&sim, &me, &msp.user(0)),
        grants(&[(&sup, &sales), (&sup, &support)])
    );
    assert_eq!(
        member_divisions(&sim, &me, &msp.user(1)),
        grants(&[(&emp, "*"), (&emp, &support), (&arch, "*")])
    );
    assert_eq!(
        member_divisions(&sim, &me, &msp.group(0)),
        grants(&[(&arch, "*")])
    );

    // PUT roledivisions with a known division and with "*": stored exactly; the answer
    // shows the roles only, as Genesys does.
    let user0 = format!("{OA}/trustees/{}/users/{}", msp.id(), msp.user(0));
    let set = acme
        .put(
            &format!("{user0}/roledivisions"),
            json!({"grants": [{"roleId": arch, "divisionId": sales},
                              {"roleId": emp, "divisionId": "*"}]}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    let mut role_names: Vec<&str> = set.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    role_names.sort();
    assert_eq!(role_names, ["Architect access", "Employee"]);
    assert!(!set.body.to_string().contains(&sales), "{set:?}");
    assert_eq!(
        member_divisions(&sim, &me, &msp.user(0)),
        grants(&[(&arch, &sales), (&emp, "*")])
    );
    let listed = acme.get(&format!("{OA}/trustees/{}/users", msp.id())).await;
    for u in listed.body["entities"].as_array().unwrap() {
        let auth = u["authorization"].as_object().unwrap();
        assert!(
            auth.keys().all(|k| k == "roles" || k == "permissions"),
            "{auth:?}"
        );
        assert!(!u.to_string().contains(&sales), "{u}");
    }

    // An unknown division, another org's division, a malformed one: 400 naming the
    // field and the value, and nothing changes.
    for division in [
        "6d0e4f35-3c0c-4a53-9d3d-6e1f4b3c2a10".to_string(),
        msp.division("Sales"),
        "all".to_string(),
    ] {
        let a = acme
            .put(
                &format!("{user0}/roledivisions"),
                json!({"grants": [{"roleId": sup, "divisionId": "*"},
                                  {"roleId": sup, "divisionId": division}]}),
            )
            .await;
        assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
        assert_eq!(
            a.body["details"][0]["fieldName"], "roleDivisions.grants[1].divisionId",
            "{a:?}"
        );
        assert!(
            a.body["message"].as_str().unwrap().contains(&division),
            "{a:?}"
        );
    }
    let a = acme
        .put(
            &format!("{user0}/roledivisions"),
            json!({"grants": [{"roleId": msp.role("Supervisor"), "divisionId": "*"}]}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");
    assert_eq!(
        a.body["details"][0]["fieldName"],
        "roleDivisions.grants[0].roleId"
    );
    assert_eq!(
        member_divisions(&sim, &me, &msp.user(0)),
        grants(&[(&arch, &sales), (&emp, "*")])
    );

    // PUT roles grants in all divisions; DELETE roles clears roles and divisions.
    let set = acme.put(&format!("{user0}/roles"), json!([sup])).await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(
        member_divisions(&sim, &me, &msp.user(0)),
        grants(&[(&sup, "*")])
    );
    assert_eq!(
        acme.delete(&format!("{user0}/roles")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(member_divisions(&sim, &me, &msp.user(0)).is_empty());

    // Groups alike.
    let group0 = format!("{OA}/trustees/{}/groups/{}", msp.id(), msp.group(0));
    let set = acme
        .put(
            &format!("{group0}/roledivisions"),
            json!({"grants": [{"roleId": sup, "divisionId": support}]}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(
        member_divisions(&sim, &me, &msp.group(0)),
        grants(&[(&sup, &support)])
    );
    let a = acme
        .put(
            &format!("{group0}/roledivisions"),
            json!({"grants": [{"roleId": sup, "divisionId": msp.division("Home")}]}),
        )
        .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "bad.request");

    // A member added later with roleDivisions: the same rules.
    let added = acme
        .post(
            &format!("{OA}/trustees/{}/users", msp.id()),
            json!({"id": msp.user(2), "roleDivisions": {"grants": [
                {"roleId": sup, "divisionId": acme.division("Home")}]}}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{added:?}");
    assert_eq!(
        member_divisions(&sim, &me, &msp.user(2)),
        grants(&[(&sup, &acme.division("Home"))])
    );
}
