//! The relationships scenario shared by tests/crash_anywhere.rs and
//! tests/genesys_faults.rs: simulated orgs with their Organizations, the operator as its
//! own process (`orglink-operator run`), 10 voice links and 10 pairings (both sides of
//! each managed here) created, changed and deleted by a "person" who also hands pairing
//! IDs to the trustor, and the checks on the simulator's own records afterwards.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use orglink_operator::api::orgpairing::{GrantSubject, RoleRef};
use orglink_operator::api::{
    LinkDecision, OrgLink, OrgLinkPhase, OrgLinkSpec, OrgPairing, OrgPairingPhase, OrgPairingSpec,
    Organization, PairingGrant, PairingRequest, PeerRef, Region,
};
use orglink_operator::sandbox::control_plane::free_port;
use orglink_operator::sandbox::control_plane::process::Supervised;
use orglink_operator::sandbox::genesys_sim::cluster::org_objects;
use orglink_operator::sandbox::genesys_sim::seed::{
    Secret as ClientSecret, SeedMember, SeedOrg, SeedRole, default_divisions,
};
use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig, SimHandle};
use uuid::Uuid;

use super::support::{self, apply, eventually};

pub const ORGS: usize = 8;
/// Org pairs (by index) with a voice link, both sides Accept at first.
pub const LINKS: [(usize, usize); 10] = [
    (0, 1),
    (0, 2),
    (0, 3),
    (1, 2),
    (1, 3),
    (2, 3),
    (4, 5),
    (4, 6),
    (5, 7),
    (6, 7),
];
/// Links whose second side switches to Decline midway.
pub const LINKS_DECLINED: [usize; 2] = [6, 7];
/// Links deleted (both sides) midway.
pub const LINKS_DELETED: [usize; 2] = [8, 9];
/// (trustee, trustor) of each pairing.
pub const PAIRINGS: [(usize, usize); 10] = [
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7),
    (4, 0),
    (5, 1),
    (6, 2),
    (7, 3),
    (0, 5),
    (1, 6),
];
/// Pairings whose grant is disabled midway.
pub const PAIRINGS_DISABLED: [usize; 2] = [6, 7];
/// Pairings deleted (both sides) midway.
pub const PAIRINGS_DELETED: [usize; 2] = [8, 9];

/// How long the orgs, and the end of the scenario, may take (correctness waits).
pub const WAIT: Duration = Duration::from_secs(240);

pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// `n` orgs in us-east-1, each with four users, a group and a Supervisor role.
pub fn orgs(n: usize) -> Vec<SeedOrg> {
    (0..n)
        .map(|i| (i, Uuid::new_v4()))
        .map(|(i, id)| SeedOrg {
            id,
            name: format!("Crash Org {i}"),
            region: Region::UsEast1,
            client_id: format!("crash-client-{i}-{}", Uuid::new_v4().simple()),
            client_secret: ClientSecret::new(format!("crash-secret-{}", Uuid::new_v4())),
            users: (0..4)
                .map(|u| SeedMember {
                    id: Uuid::new_v4(),
                    name: format!("User {u}"),
                    email: Some(format!("user{u}@crash-org-{i}.example")),
                })
                .collect(),
            groups: vec![SeedMember {
                id: Uuid::new_v4(),
                name: "Operators".into(),
                email: None,
            }],
            roles: vec![SeedRole {
                id: Uuid::new_v4(),
                name: "Supervisor".into(),
                permissions: vec!["directory:user:view".into()],
            }],
            divisions: default_divisions(id),
            linkable_regions: Region::all().collect(),
        })
        .collect()
}

/// The operator process, killed and restarted on demand.
pub struct Operator {
    pub kubeconfig: std::path::PathBuf,
    pub dir: std::path::PathBuf,
    pub process: Option<Supervised>,
    pub starts: u32,
    /// Added to `orglink-operator run` (e.g. `--leader-elect`).
    pub args: Vec<String>,
    /// Distinguishes the log files of several replicas; also its `POD_NAME`, so its
    /// Lease identity starts with it.
    pub name: String,
}

impl Operator {
    pub fn start(&mut self) {
        let free = || format!("127.0.0.1:{}", free_port().unwrap());
        let mut command = Command::new(env!("CARGO_BIN_EXE_orglink-operator"));
        command
            .arg("run")
            .args(["--metrics-addr", &free(), "--health-addr", &free()])
            .arg("--no-webhook")
            .args(["--allow-api-base-url", "127.0.0.1", "--allow-insecure-http"])
            .args(["--min-resync-interval", "2s"])
            .args(&self.args)
            .env("POD_NAME", &self.name)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("RUST_LOG", "warn");
        self.starts += 1;
        let log = self.dir.join(format!("{}-{}.log", self.name, self.starts));
        self.process = Some(
            Supervised::spawn("orglink-operator", command, &log)
                .expect("starting orglink-operator run"),
        );
    }

    /// SIGKILL: no shutdown, no last status write.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            // SAFETY: kill(2) on the pid of our own child.
            unsafe {
                libc::kill(p.pid() as i32, libc::SIGKILL);
            }
            while p.exited().is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    pub fn log_tail(&self) -> String {
        self.process
            .as_ref()
            .map(|p| p.log_tail(30))
            .unwrap_or_default()
    }
}

/// What the test (the person) wants of each pairing right now.
#[derive(Clone, Debug, Default)]
pub struct PairingPlan {
    pub disabled: bool,
    pub deleted: bool,
    /// Times the trustee side was deleted and re-created after `PairingUnrecorded`.
    pub recreated: u32,
    /// The trustee side is being deleted for a re-create.
    pub recreating: bool,
}

pub struct Scenario {
    pub client: kube::Client,
    pub sim: SimHandle,
    pub orgs: Vec<SeedOrg>,
    pub ns: Vec<String>,
    pub plan: Mutex<Vec<PairingPlan>>,
    /// One person: a change or deletion never interleaves with handing IDs over.
    pub person: tokio::sync::Mutex<()>,
}

pub fn link_name(peer: usize) -> String {
    format!("link-to-{peer}")
}

pub fn request_name(trustor: usize) -> String {
    format!("request-{trustor}")
}

pub fn grant_name(trustee: usize) -> String {
    format!("grant-{trustee}")
}

impl Scenario {
    pub fn peer(&self, i: usize) -> PeerRef {
        PeerRef {
            organization_id: self.orgs[i].id.to_string(),
            region: self.orgs[i].region,
        }
    }

    pub fn link(&self, me: usize, peer: usize, decision: LinkDecision) -> OrgLink {
        OrgLink::new(
            &link_name(peer),
            OrgLinkSpec {
                organization_ref: self.ns[me].clone(),
                peer: self.peer(peer),
                decision,
                attempt: 0,
            },
        )
    }

    /// The trustee users of pairing `k`: a trustee with two requests names different
    /// users in each, so the simulator's pairings tell them apart.
    pub fn users_of(&self, k: usize) -> Vec<Uuid> {
        let (trustee, _) = PAIRINGS[k];
        let second = PAIRINGS[..k].iter().any(|(t, _)| *t == trustee);
        let users = &self.orgs[trustee].users;
        if second {
            vec![users[2].id, users[3].id]
        } else {
            vec![users[0].id, users[1].id]
        }
    }

    pub fn request(&self, k: usize) -> OrgPairing {
        let (trustee, trustor) = PAIRINGS[k];
        OrgPairing::new(
            &request_name(trustor),
            OrgPairingSpec {
                organization_ref: self.ns[trustee].clone(),
                peer: self.peer(trustor),
                request: Some(PairingRequest {
                    users: self.users_of(k).iter().map(Uuid::to_string).collect(),
                    groups: vec![],
                    ..PairingRequest::default()
                }),
                grant: None,
            },
        )
    }

    pub fn grant(&self, k: usize, pairing_id: &str, enabled: bool) -> OrgPairing {
        let (trustee, trustor) = PAIRINGS[k];
        let supervisor = || {
            vec![RoleRef {
                name: Some("Supervisor".into()),
                id: None,
                divisions: Vec::new(),
            }]
        };
        OrgPairing::new(
            &grant_name(trustee),
            OrgPairingSpec {
                organization_ref: self.ns[trustor].clone(),
                peer: self.peer(trustee),
                request: None,
                grant: Some(PairingGrant {
                    pairing_id: Some(pairing_id.to_string()),
                    enabled,
                    expires_at: None,
                    users: self
                        .users_of(k)
                        .iter()
                        .map(|u| GrantSubject {
                            id: Some(u.to_string()),
                            roles: supervisor(),
                            ..GrantSubject::default()
                        })
                        .collect(),
                    groups: vec![],
                }),
            },
        )
    }

    pub fn links_api(&self, org: usize) -> Api<OrgLink> {
        Api::namespaced(self.client.clone(), &self.ns[org])
    }

    pub fn pairings_api(&self, org: usize) -> Api<OrgPairing> {
        Api::namespaced(self.client.clone(), &self.ns[org])
    }

    /// Creates the namespaces, Secrets and Organizations and waits for them Ready.
    pub async fn register(&mut self, prefix: &str, resync: &str) {
        let params = PatchParams::apply("orglink-tests").force();
        for (i, org) in self.orgs.iter().enumerate() {
            let ns = format!("{prefix}-{i}");
            let mut objects = org_objects(org, &ns, &self.sim.region_url(org.region));
            objects.organization.spec.resync_interval = Some(resync.to_string());
            Api::<Namespace>::all(self.client.clone())
                .patch(&ns, &params, &Patch::Apply(&objects.namespace))
                .await
                .unwrap();
            let secret = objects.secret.metadata.name.clone().unwrap();
            Api::<Secret>::namespaced(self.client.clone(), &ns)
                .patch(&secret, &params, &Patch::Apply(&objects.secret))
                .await
                .unwrap();
            apply(&self.client, &ns, &objects.organization).await;
            self.ns.push(ns);
        }
    }

    pub async fn organizations_ready(&self) {
        for name in &self.ns {
            let api: Api<Organization> = Api::namespaced(self.client.clone(), name);
            eventually(&format!("Organization {name} Ready"), WAIT, || async {
                let s = api.get(name).await.ok()?.status?;
                orglink_operator::api::conditions::is_true(&s.conditions, "Ready").then_some(())
            })
            .await;
        }
    }

    pub async fn create_all(&self) {
        for (a, b) in LINKS {
            apply(
                &self.client,
                &self.ns[a],
                &self.link(a, b, LinkDecision::Accept),
            )
            .await;
            apply(
                &self.client,
                &self.ns[b],
                &self.link(b, a, LinkDecision::Accept),
            )
            .await;
        }
        for (k, (trustee, _)) in PAIRINGS.iter().enumerate() {
            apply(&self.client, &self.ns[*trustee], &self.request(k)).await;
        }
    }

    pub async fn change_some(&self) {
        let _person = self.person.lock().await;
        for l in LINKS_DECLINED {
            let (a, b) = LINKS[l];
            apply(
                &self.client,
                &self.ns[b],
                &self.link(b, a, LinkDecision::Decline),
            )
            .await;
        }
        let mut plan = self.plan.lock().unwrap();
        for k in PAIRINGS_DISABLED {
            plan[k].disabled = true;
        }
    }

    pub async fn delete_some(&self) {
        let _person = self.person.lock().await;
        for l in LINKS_DELETED {
            let (a, b) = LINKS[l];
            delete(&self.links_api(a), &link_name(b)).await;
            delete(&self.links_api(b), &link_name(a)).await;
        }
        let targets: Vec<usize> = {
            let mut plan = self.plan.lock().unwrap();
            for k in PAIRINGS_DELETED {
                plan[k].deleted = true;
            }
            PAIRINGS_DELETED.to_vec()
        };
        for k in targets {
            let (trustee, trustor) = PAIRINGS[k];
            delete(&self.pairings_api(trustee), &request_name(trustor)).await;
            delete(&self.pairings_api(trustor), &grant_name(trustee)).await;
        }
    }

    /// What the person does with pairings, once: hand the trustee's pairing ID to the
    /// trustor (creating or updating the grant), and follow a `PairingUnrecorded`
    /// message by deleting and re-creating the trustee side.
    pub async fn tend_pairings(&self) {
        let _person = self.person.lock().await;
        for (k, (trustee, trustor)) in PAIRINGS.iter().copied().enumerate() {
            let plan = self.plan.lock().unwrap()[k].clone();
            if plan.deleted {
                continue;
            }
            let requests = self.pairings_api(trustee);
            let Ok(found) = requests.get_opt(&request_name(trustor)).await else {
                continue;
            };
            if plan.recreating {
                if found.is_none() {
                    apply(&self.client, &self.ns[trustee], &self.request(k)).await;
                    self.plan.lock().unwrap()[k].recreating = false;
                }
                continue;
            }
            let Some(status) = found.and_then(|p| p.status) else {
                continue;
            };
            let unrecorded = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.reason == "PairingUnrecorded");
            if unrecorded {
                delete(&requests, &request_name(trustor)).await;
                let mut plan = self.plan.lock().unwrap();
                plan[k].recreating = true;
                plan[k].recreated += 1;
                continue;
            }
            let Some(id) = status.pairing_id else {
                continue;
            };
            let grants = self.pairings_api(trustor);
            let current = grants
                .get_opt(&grant_name(trustee))
                .await
                .ok()
                .flatten()
                .and_then(|g| g.spec.grant);
            let enabled = !plan.disabled;
            // Once the trust exists the pairing ID no longer matters, only `enabled`.
            let authorized = matches!(
                status.phase,
                Some(OrgPairingPhase::Authorized | OrgPairingPhase::Disabled)
            );
            let wanted_id = match &current {
                Some(g) if authorized => g.pairing_id.clone(),
                _ => Some(id),
            };
            let up_to_date = current
                .as_ref()
                .is_some_and(|g| g.enabled == enabled && g.pairing_id == wanted_id);
            if !up_to_date {
                let grant = self.grant(k, wanted_id.as_deref().unwrap_or_default(), enabled);
                apply(&self.client, &self.ns[trustor], &grant).await;
            }
        }
    }

    /// `None` once everything is where its manifest asks; otherwise what is not.
    pub async fn not_converged(&self) -> Option<String> {
        let mut pending = Vec::new();
        for (l, (a, b)) in LINKS.iter().copied().enumerate() {
            let deleted = LINKS_DELETED.contains(&l);
            let declined = LINKS_DECLINED.contains(&l);
            for (me, peer) in [(a, b), (b, a)] {
                let got = self.links_api(me).get_opt(&link_name(peer)).await.ok()?;
                let phase = got.as_ref().and_then(|o| o.status.as_ref()?.phase);
                let ok = if deleted {
                    got.is_none()
                } else if declined && me == b {
                    phase == Some(OrgLinkPhase::Declined)
                } else if declined {
                    matches!(
                        phase,
                        Some(OrgLinkPhase::UnlinkedByPeer | OrgLinkPhase::RejectedByPeer)
                    )
                } else {
                    phase == Some(OrgLinkPhase::Linked)
                };
                if !ok {
                    pending.push(format!(
                        "link {l} side {me}: {phase:?} (exists: {})",
                        got.is_some()
                    ));
                }
            }
        }
        let plan = self.plan.lock().unwrap().clone();
        for (k, (trustee, trustor)) in PAIRINGS.iter().copied().enumerate() {
            let sides = [
                (trustee, request_name(trustor)),
                (trustor, grant_name(trustee)),
            ];
            for (org, name) in sides {
                let got = self.pairings_api(org).get_opt(&name).await.ok()?;
                let phase = got.as_ref().and_then(|o| o.status.as_ref()?.phase);
                let ok = if plan[k].deleted {
                    got.is_none()
                } else if plan[k].disabled {
                    phase == Some(OrgPairingPhase::Disabled)
                } else {
                    phase == Some(OrgPairingPhase::Authorized)
                };
                if !ok {
                    pending.push(format!("pairing {k} {name} in org {org}: {phase:?}"));
                }
            }
        }
        (!pending.is_empty()).then(|| pending.join("; "))
    }
}

pub async fn delete<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => panic!("deleting {name}: {e}"),
    }
}

/// The simulator's record of every create it accepted (`GET /_sim/requests`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    pub link_requests: Vec<LinkRequest>,
    pub pairings: Vec<PairingMade>,
}

#[derive(serde::Deserialize)]
pub struct LinkRequest {
    pub requester: Uuid,
    pub target: Uuid,
    /// When the simulator accepted it (to replay what happened when a check fails).
    #[serde(default)]
    pub at: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingMade {
    pub trustee: Uuid,
    pub users: Vec<Uuid>,
    pub date_created: jiff::Timestamp,
}

impl Operator {
    /// An operator for the control plane of this test binary (not started yet).
    pub fn new(dir: &std::path::Path) -> Self {
        Self::with_kubeconfig(dir, &support::control_plane().kubeconfig_yaml())
    }

    /// An operator (not started yet) whose kubeconfig is `yaml`: another control plane,
    /// or a proxy in front of one.
    pub fn with_kubeconfig(dir: &std::path::Path, yaml: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, yaml).unwrap();
        std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o600)).unwrap();
        Operator {
            kubeconfig,
            dir: dir.to_path_buf(),
            process: None,
            starts: 0,
            args: vec![],
            name: "operator".into(),
        }
    }
}

/// Starts a simulator with fresh orgs, registers them (Organizations with
/// `resync`), starts the operator and waits for every Organization Ready.
pub async fn setup(prefix: &str, resync: &str, dir: &std::path::Path) -> (Arc<Scenario>, Operator) {
    let mut operator = Operator::new(dir);
    operator.start();
    let scenario = setup_with(prefix, resync).await;
    scenario.organizations_ready().await;
    (scenario, operator)
}

/// [`setup`] with the operators left to the caller (started before or after).
pub async fn setup_with(prefix: &str, resync: &str) -> Arc<Scenario> {
    setup_on(support::client().await, prefix, resync).await
}

/// [`setup_with`] on the cluster `client` talks to.
pub async fn setup_on(client: kube::Client, prefix: &str, resync: &str) -> Arc<Scenario> {
    let sim = GenesysSim::start(SimConfig::new(orgs(ORGS)))
        .await
        .expect("simulator");
    let mut scenario = Scenario {
        client,
        orgs: sim.orgs().to_vec(),
        sim,
        ns: vec![],
        plan: Mutex::new(vec![PairingPlan::default(); PAIRINGS.len()]),
        person: tokio::sync::Mutex::new(()),
    };
    let run = &Uuid::new_v4().simple().to_string()[..6];
    scenario.register(&format!("{prefix}-{run}"), resync).await;
    Arc::new(scenario)
}

/// The person, in the background until the token is cancelled: hands pairing IDs
/// over and follows the operator's messages.
pub fn start_person(
    scenario: &Arc<Scenario>,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let stop = tokio_util::sync::CancellationToken::new();
    let handle = {
        let scenario = scenario.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                scenario.tend_pairings().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    (stop, handle)
}

/// Waits until every object is where its manifest asks; fails with what is not, and
/// the operator's log, after [`WAIT`].
pub async fn converge(scenario: &Arc<Scenario>, operator: &Operator, label: &str) {
    let converged = eventually("every object where its manifest asks", WAIT, || {
        let scenario = scenario.clone();
        async move { scenario.not_converged().await.is_none().then_some(()) }
    });
    if tokio::time::timeout(WAIT + Duration::from_secs(5), converged)
        .await
        .is_err()
    {
        panic!(
            "{label}: not converged: {:?}\noperator log:\n{}",
            scenario.not_converged().await,
            operator.log_tail()
        );
    }
}

/// What the simulator accepted, checked: at most one link request per org pair
/// (every `attempt` is 0), at most one pairing per request in 48 h plus one per
/// re-create, nothing left of deleted relationships (no trust; no pending or approved
/// link of a deleted or declined pair). Returns the records.
pub async fn check_records(scenario: &Scenario, label: &str) -> Requests {
    let url = format!("{}/_sim/requests", scenario.sim.url());
    let requests: Requests = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let mut per_pair: BTreeMap<BTreeSet<Uuid>, usize> = BTreeMap::new();
    for r in &requests.link_requests {
        *per_pair
            .entry(BTreeSet::from([r.requester, r.target]))
            .or_default() += 1;
    }
    for (pair, n) in &per_pair {
        let which: Vec<String> = requests
            .link_requests
            .iter()
            .filter(|r| pair.contains(&r.requester) && pair.contains(&r.target))
            .map(|r| format!("{} -> {} at {}", r.requester, r.target, r.at))
            .collect();
        assert!(
            *n <= 1,
            "{label}: {n} link requests between {pair:?} for attempt 0: {}",
            which.join("; ")
        );
    }
    let plan = scenario.plan.lock().unwrap().clone();
    for (k, (trustee, _)) in PAIRINGS.iter().copied().enumerate() {
        let trustee_id = scenario.orgs[trustee].id;
        let users: BTreeSet<Uuid> = scenario.users_of(k).into_iter().collect();
        let made: Vec<_> = requests
            .pairings
            .iter()
            .filter(|p| {
                p.trustee == trustee_id && p.users.iter().copied().collect::<BTreeSet<_>>() == users
            })
            .collect();
        let window = jiff::SignedDuration::from_hours(48);
        let most = made
            .iter()
            .map(|a| {
                made.iter()
                    .filter(|b| {
                        b.date_created >= a.date_created
                            && b.date_created.duration_since(a.date_created) < window
                    })
                    .count()
            })
            .max()
            .unwrap_or(0);
        let allowed = 1 + plan[k].recreated as usize;
        assert!(
            most <= allowed,
            "{label}: pairing {k}: {most} pairings in 48 h for one request (allowed {allowed}: one, plus one per re-create)"
        );
    }
    let state = scenario.sim.state();
    for k in PAIRINGS_DELETED {
        let (trustee, trustor) = PAIRINGS[k];
        let (te, tr) = (scenario.orgs[trustee].id, scenario.orgs[trustor].id);
        assert!(
            !state
                .all_trusts()
                .any(|t| t.trustee == te && t.trustor == tr),
            "{label}: pairing {k} was deleted but its trust remains"
        );
    }
    for l in LINKS_DELETED.iter().chain(&LINKS_DECLINED) {
        let (a, b) = LINKS[*l];
        let pair = BTreeSet::from([scenario.orgs[a].id, scenario.orgs[b].id]);
        let live = state.all_links().any(|link| {
            BTreeSet::from([link.requester, link.target]) == pair
                && link.status
                    != orglink_operator::sandbox::genesys_sim::state::LinkStatus::Rejected
        });
        assert!(
            !live,
            "{label}: link {l} was deleted or declined but is still there"
        );
    }
    requests
}
