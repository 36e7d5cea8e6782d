//! orglink-operator: manage Genesys Cloud organization relationships as Kubernetes resources.
//!
//! Module map (see `docs/architecture.md`):
//! - [`api`]: the CRD types, conditions and the regions table. No I/O.
//! - [`lifecycle`]: pure decision functions (spec, observed remote state) → (actions, status).
//! - [`genesys`]: the Genesys Cloud API client (OAuth, rate limiting, retries, typed calls).
//! - `controller`: kube-runtime controllers that run the decisions against the client
//!   (crate-private: the binaries reach it through [`cli`]).
//! - [`webhook`]: the validating admission webhook.
//! - [`runtime`]: process plumbing both of them use (TLS provider, watch scope, leader
//!   election, probes, signals), so neither imports the other.
//! - `sandbox`: the embedded control plane (etcd + kube-apiserver) and simulated Genesys Cloud
//!   (cargo feature `sandbox`, on by default; off in the container image).
//! - [`plugin`]: the `kubectl orglink` plugin's rendering and object building.
//! - [`cli`]: the subcommands of the `orglink-operator` binary.

pub mod api;
pub mod cli;
pub(crate) mod controller;
pub mod genesys;
pub mod lifecycle;
pub mod plugin;
pub mod runtime;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod webhook;
