//! Waiting for what is not a Kubernetes object: a TCP port, an HTTP `/readyz` or
//! `/healthz`, a child process that may exit meanwhile, a simulator's state.
//!
//! A Kubernetes object's condition is awaited with
//! `kube::runtime::wait::await_condition` (a watch of that one object, no polling).
//! These have nothing to watch, so they are probed on an interval; this is the one loop
//! that does it, for the sandbox and the tests.

use std::time::Duration;

use tokio::time::Instant;

/// Runs `probe` every `every` until it yields `Ok(Some(value))` (returned) or fails
/// (its error returned at once, e.g. "the process exited"). `Ok(None)` once `timeout`
/// has passed: the caller names what it waited for. The probe runs at least once, and
/// a probe in flight at the deadline is let finish.
pub async fn until<T, E>(
    timeout: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<Option<T>, E>,
) -> Result<Option<T>, E> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await? {
            return Ok(Some(value));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(every).await;
    }
}
