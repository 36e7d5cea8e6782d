//! Keeping one bad object from stopping the operator, and noticing when the operator
//! stopped anyway.
//!
//! - [`catch_panic`] runs one reconcile and turns a panic into an error: the object
//!   gets `Ready=False`, reason `InternalError`, a Warning Event and the usual error
//!   backoff (see `contained` in [`super`]), and every other object goes on.
//! - [`supervise`] runs the controllers and returns an error as soon as one of them
//!   ends (its stream closed, or a panic outside any reconcile) while no shutdown was
//!   asked for: the caller marks the process not live (`/healthz` fails) and
//!   `orglink-operator run` exits non-zero, so Kubernetes restarts it, rather than a
//!   process that answers "ok" while nothing is reconciled.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

/// The most of a panic message kept (it goes into a condition and an Event).
const MAX_PANIC_MESSAGE: usize = 512;

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    crate::api::text::clean_name(&crate::api::text::truncate(&text, MAX_PANIC_MESSAGE)).into_owned()
}

/// Runs `future`; a panic inside it becomes `Err(message)` instead of unwinding into
/// the caller. Reconciles share no state that a panic could leave half-written (the
/// shared caches are behind locks that poisoning does not affect: parking_lot), so
/// carrying on is safe.
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|payload| panic_message(payload.as_ref()))
}

/// One controller's run, named for the error that says it stopped.
pub(crate) struct Task {
    pub(crate) name: String,
    pub(crate) run: BoxFuture<'static, ()>,
}

/// Runs every task until all have ended. `Ok` when they ended because `shutdown` was
/// cancelled; `Err` naming the first task that ended (or panicked) on its own, at
/// once, without waiting for the others.
pub(crate) async fn supervise(tasks: Vec<Task>, shutdown: CancellationToken) -> Result<(), String> {
    if tasks.is_empty() {
        return Ok(());
    }
    let mut running: Vec<BoxFuture<'static, (String, Result<(), String>)>> = tasks
        .into_iter()
        .map(|task| {
            let name = task.name;
            async move { (name, catch_panic(task.run).await) }.boxed()
        })
        .collect();
    while !running.is_empty() {
        let ((name, result), _, rest) = futures::future::select_all(running).await;
        running = rest;
        if !shutdown.is_cancelled() {
            return Err(match result {
                Ok(()) => format!("the {name} controller stopped (its watch stream ended)"),
                Err(panic) => format!("the {name} controller panicked: {panic}"),
            });
        }
        if let Err(panic) = result {
            tracing::error!(controller = %name, %panic, "controller panicked while shutting down");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_with_its_message() {
        let ok = catch_panic(async { 7 }).await;
        assert_eq!(ok, Ok(7));
        let panicked = catch_panic(async {
            let seconds: f64 = "1e20".parse().unwrap();
            std::time::Duration::from_secs_f64(seconds)
        })
        .await;
        let message = panicked.unwrap_err();
        assert!(
            message.contains("cannot convert float seconds"),
            "{message}"
        );
        let formatted = catch_panic(async { panic!("bad {}\n\u{1b}[31m", 42) }).await;
        assert_eq!(formatted.unwrap_err(), "bad 42\u{FFFD}\u{FFFD}[31m");
    }

    fn task(name: &str, run: impl Future<Output = ()> + Send + 'static) -> Task {
        Task {
            name: name.into(),
            run: run.boxed(),
        }
    }

    #[tokio::test]
    async fn a_controller_that_ends_unasked_is_an_error_without_waiting_for_the_rest() {
        let shutdown = CancellationToken::new();
        let forever = shutdown.clone();
        let err = supervise(
            vec![
                task("OrgLink", async move { forever.cancelled().await }),
                task("Organization", async {}),
            ],
            shutdown.clone(),
        )
        .await
        .unwrap_err();
        assert!(err.contains("Organization controller stopped"), "{err}");
    }

    #[tokio::test]
    async fn a_controller_that_panics_is_an_error_naming_the_panic() {
        let shutdown = CancellationToken::new();
        let forever = shutdown.clone();
        let err = supervise(
            vec![
                task("OrgLink", async move { forever.cancelled().await }),
                task("OrgPairing", async { panic!("boom") }),
            ],
            shutdown.clone(),
        )
        .await
        .unwrap_err();
        assert_eq!(err, "the OrgPairing controller panicked: boom");
    }

    #[tokio::test]
    async fn controllers_that_end_on_shutdown_are_fine() {
        let shutdown = CancellationToken::new();
        let tasks = (0..3)
            .map(|i| {
                let s = shutdown.clone();
                task(&format!("c{i}"), async move { s.cancelled().await })
            })
            .collect();
        let stop = shutdown.clone();
        tokio::spawn(async move { stop.cancel() });
        assert_eq!(supervise(tasks, shutdown).await, Ok(()));
    }
}
