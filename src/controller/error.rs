//! Why a reconcile failed, and the one vocabulary of metric labels for it.
//!
//! [`Error`] is what a reconcile returns to the controller runtime (and its error
//! policy backs off on). [`Failure`] is what went wrong with Genesys Cloud or the
//! object's Organization while acting: its `Display` is the condition message users
//! read, and the skeleton ([`super::reconciler`]) reports it on the object before
//! retrying. Each has a [`class`](Error::class): the bounded `error` label of the
//! `reconcile_errors` metric, from [`labels`] only.

use crate::api::conditions::reasons;
use crate::genesys::GenesysError;

/// The `error` labels of the `reconcile_errors` metric: every error and every
/// not-ready reason maps to one of these.
pub(crate) mod labels {
    /// The Kubernetes API refused or failed a call.
    pub(crate) const KUBE: &str = "kube";
    /// Genesys Cloud failed a read or a call.
    pub(crate) const GENESYS: &str = "genesys";
    /// Genesys Cloud is rate limiting the org.
    pub(crate) const GENESYS_RATE_LIMITED: &str = "genesys_rate_limited";
    /// The credentials are missing, refused, or point elsewhere than the spec says.
    pub(crate) const CREDENTIALS: &str = "credentials";
    /// The finalizer could not be added or removed.
    pub(crate) const FINALIZER: &str = "finalizer";
    /// Deletion waits for something else (dependents, a failing cleanup).
    pub(crate) const BLOCKED: &str = "blocked";
    /// The object lacks something every object has (a namespace), or its spec is
    /// contradictory.
    pub(crate) const INVALID_OBJECT: &str = "invalid_object";
    /// This replica lost leadership mid-reconcile.
    pub(crate) const ABORTED: &str = "aborted";
    /// A reconcile panicked.
    pub(crate) const INTERNAL: &str = "internal";
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("Genesys Cloud API: {0}")]
    Genesys(#[from] GenesysError),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// Deletion waits for something else (dependents, a failing cleanup).
    #[error("{0}")]
    Blocked(String),
    /// Acting failed: reported on the object (`Ready=False`, a Warning Event) by the
    /// skeleton, then retried with backoff. Never leaves the skeleton.
    #[error("{0}")]
    Failed(#[source] Failure),
    /// Cleanup failed and was reported on the object, which is kept until it succeeds
    /// or is orphaned; `message` is what the object's condition says.
    #[error("{message}")]
    CleanupFailed {
        message: String,
        #[source]
        source: Failure,
    },
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
    /// The metric label of this error (one of [`labels`]).
    pub(crate) fn class(&self) -> &'static str {
        match self {
            Error::Kube(_) => labels::KUBE,
            Error::Genesys(e) => genesys_class(e),
            Error::Finalizer(_) => labels::FINALIZER,
            Error::Blocked(_) => labels::BLOCKED,
            Error::Failed(failure) => failure.class(),
            Error::CleanupFailed { .. } => labels::BLOCKED,
            Error::MissingField(_) => labels::INVALID_OBJECT,
            Error::Aborted => labels::ABORTED,
            Error::Internal(_) => labels::INTERNAL,
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

/// What went wrong while an OrgLink or OrgPairing acted. The `Display` is the
/// condition message, so it says what was being done and keeps the remote's own words
/// (with its correlation ID, see [`GenesysError`]).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Reading the org's state (its snapshot, a trust's members, role names) failed.
    #[error(transparent)]
    Read(Box<GenesysError>),
    /// A call the lifecycle asked for failed; `action` says which, in words.
    #[error("{action} failed: {source}")]
    Call {
        action: String,
        #[source]
        source: Box<GenesysError>,
    },
    /// The link list holds a status this operator does not know.
    #[error(
        "Genesys Cloud reports link status {status:?} for {peer}, which this operator does not know"
    )]
    UnknownLinkStatus { status: String, peer: String },
    /// The fresh read of our own status, before creating a pairing, failed.
    #[error("reading the status before creating a pairing: {0}")]
    StatusRead(#[source] kube::Error),
    /// The spec sets both sides of a pairing, or neither.
    #[error("exactly one of spec.request and spec.grant must be set")]
    NoSide,
    /// Writing the status after acting failed.
    #[error(transparent)]
    Write(Box<Error>),
    /// Cleanup: the Organization named by `spec.organizationRef` is gone.
    #[error(
        "Organization {name} (spec.organizationRef) not found in namespace {namespace}, so there are no credentials to clean up with"
    )]
    NoOrganization { name: String, namespace: String },
    /// Cleanup: no session could be made with the Organization's credentials.
    #[error("cannot connect as Organization {name}: {why}")]
    NotConnected { name: String, why: String },
    /// Cleanup: the fresh read of the org's state failed.
    #[error("cannot read the org's state from Genesys Cloud: {0}")]
    CleanupRead(#[source] Box<GenesysError>),
}

impl Failure {
    /// The metric label of this failure (one of [`labels`]).
    pub(crate) fn class(&self) -> &'static str {
        match self {
            Failure::Read(e) | Failure::Call { source: e, .. } | Failure::CleanupRead(e) => {
                genesys_class(e)
            }
            Failure::UnknownLinkStatus { .. } => labels::GENESYS,
            Failure::StatusRead(_) => labels::KUBE,
            Failure::NoSide => labels::INVALID_OBJECT,
            Failure::Write(e) => e.class(),
            Failure::NoOrganization { .. } => labels::BLOCKED,
            Failure::NotConnected { .. } => labels::CREDENTIALS,
        }
    }

    /// Whether this failure is reported on the object's status (`Ready=False` with its
    /// message). Not a failed status write: the report would be a second status write,
    /// computed from the watch cache, which can lag behind what the failed reconcile
    /// wrote before acting (a trustee's `status.pairingRequested`, written before the
    /// `POST` whose new ID the failed write was recording). Applied with force, it would
    /// erase that intent, and the next reconcile, finding neither intent nor ID, would
    /// make a second pairing. The failure still gets its Warning Event, metric and
    /// backoff; the status stays what the API server holds.
    pub(crate) fn reported_on_status(&self) -> bool {
        !matches!(self, Failure::Write(_))
    }

    /// A failed read of the org's state.
    pub(crate) fn read(source: GenesysError) -> Self {
        Failure::Read(Box::new(source))
    }

    /// A failed call of `action` (its `Display` says what it did).
    pub(crate) fn call(action: impl std::fmt::Display, source: GenesysError) -> Self {
        Failure::Call {
            action: action.to_string(),
            source: Box::new(source),
        }
    }

    /// A failed fresh read for cleanup.
    pub(crate) fn cleanup_read(source: GenesysError) -> Self {
        Failure::CleanupRead(Box::new(source))
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Error::Failed(failure)
    }
}

fn genesys_class(e: &GenesysError) -> &'static str {
    if e.is_rate_limited() {
        labels::GENESYS_RATE_LIMITED
    } else {
        labels::GENESYS
    }
}

/// The metric label of an Organization that is not Ready for `reason` (a reason of
/// [`reasons`]).
pub(crate) fn not_ready_class(reason: &str) -> &'static str {
    match reason {
        reasons::RATE_LIMITED => labels::GENESYS_RATE_LIMITED,
        reasons::API_UNAVAILABLE => labels::GENESYS,
        reasons::CREDENTIALS_MISSING
        | reasons::CREDENTIALS_REJECTED
        | reasons::CREDENTIALS_SECRET_NOT_LABELED
        | reasons::REGION_MISMATCH
        | reasons::API_BASE_URL_NOT_ALLOWED => labels::CREDENTIALS,
        _ => labels::INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_not_ready_reason_of_an_organization_has_a_label_of_its_own_kind() {
        for (reason, label) in [
            (reasons::RATE_LIMITED, labels::GENESYS_RATE_LIMITED),
            (reasons::API_UNAVAILABLE, labels::GENESYS),
            (reasons::CREDENTIALS_MISSING, labels::CREDENTIALS),
            (reasons::CREDENTIALS_REJECTED, labels::CREDENTIALS),
            (reasons::CREDENTIALS_SECRET_NOT_LABELED, labels::CREDENTIALS),
            (reasons::REGION_MISMATCH, labels::CREDENTIALS),
            (reasons::API_BASE_URL_NOT_ALLOWED, labels::CREDENTIALS),
        ] {
            assert_eq!(not_ready_class(reason), label, "{reason}");
        }
    }

    #[test]
    fn a_failed_status_write_is_not_reported_by_another_status_write() {
        let conflict = kube::Error::Api(
            kube::core::Status {
                code: 409,
                reason: "Conflict".into(),
                ..Default::default()
            }
            .boxed(),
        );
        assert!(!Failure::Write(Box::new(Error::Kube(conflict))).reported_on_status());
        let call = Failure::call("creating a pairing", GenesysError::Config("boom".into()));
        assert!(call.reported_on_status());
        assert!(Failure::read(GenesysError::Config("boom".into())).reported_on_status());
        assert!(Failure::NoSide.reported_on_status());
    }

    #[test]
    fn a_failure_keeps_its_cause_as_source_and_says_what_was_done() {
        use std::error::Error as _;
        let cause = GenesysError::Config("boom".into());
        let failure = Failure::call("revoking the trust", cause);
        assert!(
            failure
                .to_string()
                .starts_with("revoking the trust failed: "),
            "{failure}"
        );
        assert!(failure.source().is_some());
        let error = Error::from(failure);
        assert_eq!(error.class(), labels::GENESYS);
        assert!(error.source().is_some());
    }
}
