//! The validating admission webhook: the admission rules of api.md at apply time.
//!
//! - [`rules`]: each rule a small pure function; [`review`]: AdmissionReview in/out.
//! - [`cache`]: the read-only view of the cluster the rules consult, its OrgLinks and
//!   OrgPairings held by the relationship they manage ([`crate::runtime::index`]).
//! - [`server`]: HTTPS with certificate reload; [`certs`] and [`configuration`]: the
//!   serving certificate and the ValidatingWebhookConfiguration.

pub mod bootstrap;
pub mod cache;
pub mod certs;
pub mod configuration;
pub(crate) mod review;
pub mod rules;
pub mod server;

#[cfg(test)]
mod tests;
