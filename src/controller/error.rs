//! Why a reconcile failed. Each variant has a short class for metrics and logs.

use crate::genesys::GenesysError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("Genesys Cloud API: {0}")]
    Genesys(#[from] GenesysError),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// Deletion waits for something else (dependents, a failing cleanup).
    #[error("{0}")]
    Blocked(String),
    #[error("object has no {0}")]
    MissingField(&'static str),
    /// This replica lost the Lease: the reconcile was dropped at its next await, so it
    /// wrote nothing more.
    #[error("leadership lost: the reconcile was cancelled")]
    Aborted,
    /// The reconcile panicked (a bug); contained to this object, retried with backoff.
    #[error("internal error (a bug in the operator; please report it): {0}")]
    Internal(String),
}

impl Error {
    /// A bounded label for metrics.
    pub fn class(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Genesys(e) if e.is_rate_limited() => "genesys_rate_limited",
            Error::Genesys(_) => "genesys",
            Error::Finalizer(_) => "finalizer",
            Error::Blocked(_) => "blocked",
            Error::MissingField(_) => "invalid_object",
            Error::Aborted => "aborted",
            Error::Internal(_) => "internal",
        }
    }
}

impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(error: kube::runtime::finalizer::Error<Error>) -> Self {
        match error {
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
            other => Error::Finalizer(Box::new(other)),
        }
    }
}
