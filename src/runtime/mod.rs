//! Process plumbing that the controllers, the webhook and the CLI all use, kept here so
//! that neither the controllers nor the webhook import the other.
//!
//! | module | holds |
//! |---|---|
//! | [`tls`] | the rustls crypto provider, installed once per process |
//! | [`scope`] | the namespaces watched, and the per-namespace caches and wakers |
//! | [`kube_client`] | the Kubernetes clients: the work's, with its calls in flight bounded, and the Lease's |
//! | [`index`] | OrgLinks and OrgPairings by org and peer, for the webhook and the controllers |
//! | [`leader`] | leader election on a Lease |
//! | [`probes`] | `/metrics`, `/healthz`, `/readyz` |
//! | [`signals`] | SIGTERM / Ctrl-C |

pub(crate) mod index;
pub mod kube_client;
pub mod leader;
pub(crate) mod probes;
pub mod scope;
pub(crate) mod signals;
pub mod tls;
