//! A simulated Genesys Cloud: the OAuth token endpoint and the organization-link,
//! orgauthorization, roles, divisions and `organizations/me` endpoints of genesys-api.md, for any
//! number of orgs in any regions, enforcing the product's rules.
//!
//! It is the one imitation the project cannot avoid, so it is strict: every rule of
//! genesys-api.md and api.md that the operator depends on is enforced with a realistic
//! status and an `ErrorBody` (see [`error`] for the codes), and every response carries an
//! `ININ-Correlation-Id` header.
//!
//! # Layout
//!
//! | module | holds |
//! |---|---|
//! | [`seed`] | the seed file (orgs, OAuth clients, users, groups, roles, divisions, linkable regions) |
//! | [`state`] | the rules, pure: links, pairings, trusts, roles, divisions |
//! | [`auth`] | client credentials and bearer tokens |
//! | [`clock`] | the simulated clock (pairing expiry, trust expiry, token lifetime) |
//! | [`limits`] | 300 requests/minute per token, 429 + `Retry-After` |
//! | [`faults`] | injected 5xx, latency, dropped connections, token lifetime |
//! | [`stats`] | request counters per org and endpoint |
//! | [`paging`] | `pageSize`/`pageNumber` listings |
//! | [`http`], [`routes`], [`admin`] | the axum server, API handlers and `/_sim` endpoints |
//! | [`conn`] | the listener whose connections the drop fault can cut |
//! | [`launch`], [`cluster`] | `orglink-operator sandbox`: start, `DIR/genesys-url`, `--with-organizations` |
//!
//! # URLs
//!
//! The server listens on loopback; `url()` is e.g. `http://127.0.0.1:41234`. Each region
//! is served below its code, so an org's API base URL (`apiBaseUrl` of an
//! `Organization`) is `{url}/{region}`, e.g. `http://127.0.0.1:41234/us-east-1`:
//!
//! - `POST {url}/{region}/oauth/token` (Basic auth, `grant_type=client_credentials`);
//! - `{url}/{region}/api/v2/...` with `Authorization: Bearer <token>`:
//!   `organizations/me`, `authorization/roles`, `authorization/divisions`,
//!   `users/search`, `groups/search`,
//!   `telephony/organization/link[...]`,
//!   `orgauthorization/pairings[...]`, `orgauthorization/trustees[...]`,
//!   `orgauthorization/trustors[...]` (tables in each [`routes`] module);
//! - `{url}/_sim/...`: faults, clock, rate limit, stats ([`admin`]).
//!
//! # Use from tests
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use orglink_operator::sandbox::genesys_sim::{GenesysSim, SimConfig, FaultConfig};
//!
//! let sim = GenesysSim::start(SimConfig::default()).await?; // the default seed orgs
//! let acme = sim.org_by_name("Acme Prod").unwrap();
//! let base = sim.region_url(acme.region);                  // {url}/us-east-1
//! let (client_id, secret) = (&acme.client_id, acme.client_secret.expose());
//! // ... point the client at `base` with these credentials ...
//! sim.set_faults(FaultConfig { error_rate: 0.3, ..Default::default() })?;
//! sim.advance_clock(jiff::SignedDuration::from_hours(49))?;   // pairings expire
//! let stats = sim.stats();
//! println!("{} calls, {} answered 429", stats.total, stats.rate_limited);
//! # Ok(()) }
//! ```
//!
//! Dropping the [`SimHandle`] stops the server; [`SimHandle::shutdown`] also waits for it.

pub(crate) mod admin;
pub(crate) mod auth;
pub(crate) mod clock;
pub mod cluster;
pub(crate) mod conn;
pub(crate) mod error;
pub mod faults;
pub(crate) mod http;
pub(crate) mod launch;
pub(crate) mod limits;
pub(crate) mod paging;
pub(crate) mod routes;
pub mod seed;
pub mod state;
pub(crate) mod stats;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::Region;

pub(crate) use clock::ClockError;
pub use faults::FaultConfig;
pub use limits::RateLimitConfig;
pub(crate) use seed::load_seed_file;
pub use seed::{
    DEFAULT_DIVISION_NAMES, Secret, SeedDivision, SeedError, SeedMember, SeedOrg, SeedRole,
    default_divisions, default_email, default_seed,
};
pub use state::SimState;
pub use stats::StatsSnapshot;

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free one. Default `127.0.0.1:0`.
    pub(crate) bind: SocketAddr,
    /// The orgs that exist.
    pub orgs: Vec<SeedOrg>,
    /// Initial rate limits (default 300 per minute per token).
    pub(crate) rate_limit: RateLimitConfig,
    /// Initial faults (default none).
    pub(crate) faults: FaultConfig,
}

impl Default for SimConfig {
    /// The default seed orgs ([`DEFAULT_SEED_PATH`]) on a random loopback port.
    fn default() -> Self {
        SimConfig::new(default_seed())
    }
}

impl SimConfig {
    /// `orgs` on a random loopback port, default limits, no faults.
    pub fn new(orgs: Vec<SeedOrg>) -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            orgs,
            rate_limit: RateLimitConfig::default(),
            faults: FaultConfig::default(),
        }
    }

    /// The orgs of a seed file.
    pub fn from_seed_file(path: &Path) -> Result<Self, SeedError> {
        Ok(SimConfig::new(load_seed_file(path)?))
    }

    /// Listen on `addr` instead.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }
}

/// Why the simulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum SimStartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid initial setting: {0}")]
    Config(String),
}

/// Starts simulators.
pub struct GenesysSim;

impl GenesysSim {
    /// Binds, spawns the server on the current tokio runtime and returns its handle.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimStartError> {
        let limiter = limits::RateLimiter::new(RateLimitConfig::default());
        limiter
            .set_config(config.rate_limit)
            .map_err(SimStartError::Config)?;
        let faults = faults::FaultInjector::default();
        faults
            .set(config.faults.clone())
            .map_err(SimStartError::Config)?;
        let sim: http::Shared = Arc::new(http::Sim {
            state: Mutex::new(SimState::from_seed(&config.orgs)),
            clock: clock::SimClock::new(),
            tokens: auth::TokenService::new(&config.orgs),
            limiter,
            faults,
            stats: stats::Stats::default(),
        });
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| SimStartError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimStartError::Bind {
                addr: config.bind,
                source,
            })?;
        let shutdown = CancellationToken::new();
        let app = http::router(sim.clone()).into_make_service_with_connect_info::<conn::ConnKill>();
        let server = axum::serve(conn::KillableListener(listener), app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let task = tokio::spawn(async move { server.await });
        tracing::info!(%addr, orgs = config.orgs.len(), "simulated Genesys Cloud listening");
        Ok(SimHandle {
            url: format!("http://{addr}"),
            orgs: config.orgs,
            sim,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    url: String,
    orgs: Vec<SeedOrg>,
    sim: http::Shared,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("url", &self.url)
            .field("orgs", &self.orgs.len())
            .finish()
    }
}

impl SimHandle {
    /// The root URL, e.g. `http://127.0.0.1:41234` (regions below it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `{url}/{region}`: the API base URL of orgs of `region` (token at `/oauth/token`,
    /// API at `/api/v2/...` below it).
    pub fn region_url(&self, region: Region) -> String {
        format!("{}/{}", self.url, region.code())
    }

    /// The seeded orgs.
    pub fn orgs(&self) -> &[SeedOrg] {
        &self.orgs
    }

    pub fn org_by_name(&self, name: &str) -> Option<&SeedOrg> {
        self.orgs.iter().find(|o| o.name == name)
    }

    /// Replaces the fault settings (see [`faults`]).
    pub fn set_faults(&self, config: FaultConfig) -> Result<(), String> {
        self.sim.faults.set(config)
    }

    pub fn faults(&self) -> FaultConfig {
        self.sim.faults.config()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.sim
            .faults
            .set(FaultConfig::default())
            .expect("the default fault config is valid");
    }

    /// Invalidates every token issued so far (clients must fetch new ones).
    pub fn expire_all_tokens(&self) {
        self.sim.tokens.expire_all(self.sim.clock.now());
    }

    /// Moves the simulated clock forward; returns the new simulated now.
    pub fn advance_clock(&self, by: jiff::SignedDuration) -> Result<Timestamp, ClockError> {
        self.sim.clock.advance(by)
    }

    /// The simulated now.
    pub fn now(&self) -> Timestamp {
        self.sim.clock.now()
    }

    /// Replaces the rate limits (windows restart).
    pub fn set_rate_limit(&self, config: RateLimitConfig) -> Result<(), String> {
        self.sim.limiter.set_config(config)
    }

    pub fn rate_limit(&self) -> RateLimitConfig {
        self.sim.limiter.config()
    }

    /// The request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.sim.stats.snapshot()
    }

    pub fn reset_stats(&self) {
        self.sim.stats.reset();
    }

    /// A copy of the whole simulated state, for assertions.
    pub fn state(&self) -> SimState {
        self.sim.state.lock().clone()
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
