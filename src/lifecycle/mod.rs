//! Pure decision functions: given the spec, the last status and the observed remote
//! state, return the actions to take and the status to write. No I/O, no kube client,
//! no clock (the caller passes `now`), so every row of api.md's tables is a unit test.
//!
//! Contract with the controllers:
//! - The observation must be at least as fresh as the last action performed: after a
//!   write to Genesys Cloud the controller re-reads, invalidates its shared snapshot, or
//!   records in it what the write's answer confirmed (the link Genesys created, the
//!   trust it returned, the request approved) before deciding again. The functions use
//!   the previous status as memory (was the link active? which `attempt` was last
//!   sent?) and would otherwise misread a stale list as the peer's answer.
//! - The returned status describes the state *after* the actions succeed. When an action
//!   fails, the controller writes an error status instead ([`link::api_error`],
//!   [`pairing::api_error`]).

pub(crate) mod adopt;
pub(crate) mod audit;
pub(crate) mod conflict;
pub mod credentials;
pub(crate) mod deletion;
pub mod health;
pub mod link;
pub mod observe;
pub(crate) mod pairing;
pub(crate) mod poll;
pub(crate) mod refresh;
pub(crate) mod subjects;
pub(crate) mod trustee;
pub(crate) mod trustor;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod replay;
#[cfg(test)]
mod replay_pair;
#[cfg(test)]
mod testkit;

/// When the controller should look again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Requeue {
    /// Waiting on the peer or on a just-made change: look again soon.
    Soon,
    /// Settled: look again at the Organization's resync interval.
    Resync,
}
