//! From a decision's [`Requeue`] to the delay before the next reconcile, and the snapshot age an
//! object accepts, by [`crate::lifecycle::poll`]: a wait backs off from 10 s doubling
//! up to the resync interval; a settled object looks again at the resync (jittered).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use super::context::Context;
use super::reconciler::jittered;
use crate::api::Organization;
use crate::lifecycle::Requeue;
use crate::lifecycle::poll::{PollPolicy, waiting_since};

/// The poll policy of an object of `org`.
pub(crate) fn policy(ctx: &Context, org: &Organization) -> PollPolicy {
    PollPolicy {
        first: ctx.settings.soon,
        resync: ctx.settings.resync_of(org),
    }
}

/// How old a snapshot an object with these `conditions` (its status before this
/// reconcile) may decide on; `waiting` when its phase waits on the peer.
pub(crate) fn max_age(
    policy: &PollPolicy,
    waiting: bool,
    conditions: Option<&[Condition]>,
) -> Duration {
    let since = conditions.and_then(waiting_since);
    policy.max_age(waiting, since, Timestamp::now())
}

/// How long until an object whose decision asked for `requeue` and whose status now
/// holds `conditions` is reconciled again.
pub(crate) fn after(policy: &PollPolicy, requeue: Requeue, conditions: &[Condition]) -> Duration {
    let after = policy.next(requeue, waiting_since(conditions), Timestamp::now());
    match requeue {
        Requeue::Resync => jittered(after),
        // Not jittered: the waits of one org that began together look together, and
        // share one read of its snapshot.
        Requeue::Soon => after,
    }
}
