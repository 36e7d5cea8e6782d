//! The Genesys Cloud Platform API client the operator uses (genesys-api.md).
//!
//! One [`GenesysClient`] per org (per `Organization` resource), built from a
//! [`GenesysConfig`]: region (or `apiBaseUrl`), OAuth client credentials, rate limit,
//! timeout and retry settings. Clones share the connection pool, the token and the rate
//! limiter.
//!
//! | module | holds |
//! |---|---|
//! | [`models`] | the JSON models with their exact wire names |
//! | [`config`] | settings, region → hosts, URL building |
//! | [`credentials`] | the OAuth client and secret redaction |
//! | [`auth`] | client-credentials tokens: cache, refresh, token-endpoint errors |
//! | [`retry`] | the retry policy, pure |
//! | [`ratelimit`] | the per-org token bucket |
//! | [`transport`] | one request: bucket, token, send, retry |
//! | [`http`] | reqwest client, answers, transport error kinds |
//! | [`paging`] | following paged listings |
//! | [`metrics`] | the per-call observer hook |
//! | [`error`] | [`GenesysError`] |
//! | [`client`] | [`GenesysClient`] and `organizations/me` |
//! | [`links`], [`pairings`], [`trustees`], [`trustors`], [`roles`], [`divisions`], [`directory`] | the typed calls by area |

pub(crate) mod allowlist;
pub(crate) mod auth;
pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod credentials;
pub(crate) mod directory;
pub(crate) mod divisions;
pub(crate) mod error;
pub mod http;
pub(crate) mod links;
pub(crate) mod metrics;
pub mod models;
pub mod paging;
pub(crate) mod pairings;
pub(crate) mod ratelimit;
pub mod retry;
pub(crate) mod roles;
pub(crate) mod transport;
pub(crate) mod trustees;
pub(crate) mod trustors;
pub(crate) mod wire_time;

pub use allowlist::ApiBaseUrlAllowlist;
pub use client::{GenesysClient, Removal};
pub use config::GenesysConfig;
pub use credentials::{Credentials, Secret};
pub use divisions::ALL_DIVISIONS;
pub use error::{ApiError, GenesysError};
pub use http::SharedHttp;
pub use metrics::{CallObserver, CallOutcome, CallRecord};
pub use ratelimit::RateLimitConfig;
pub use retry::RetryConfig;
