//! The `orglink.dev/v1alpha1` resource types, their conditions and the regions table. No I/O.

pub mod common;
pub mod conditions;
pub mod crd;
pub mod organization;
pub mod orglink;
pub mod orgpairing;
pub mod regions;
pub mod text;

pub use common::PeerRef;
pub use crd::{crds, crds_yaml};
pub use organization::{Organization, OrganizationSpec, OrganizationStatus};
pub use orglink::{LinkDecision, LinkDirection, OrgLink, OrgLinkPhase, OrgLinkSpec, OrgLinkStatus};
pub use orgpairing::{
    OrgPairing, OrgPairingPhase, OrgPairingSpec, OrgPairingStatus, PairingGrant, PairingIntent,
    PairingRequest, PairingSide,
};
pub use regions::Region;

/// The API group of all three kinds.
pub const GROUP: &str = "orglink.dev";
/// The finalizer that makes deletion clean up the remote relationship first.
pub(crate) const FINALIZER: &str = "orglink.dev/cleanup";
/// The label a Secret must carry (`"true"`) before an Organization may use it as its
/// credentials: without it the operator never reads the Secret's data.
pub const CREDENTIALS_LABEL: &str = "orglink.dev/credentials";
/// Annotation: `orphan` leaves the remote relationship alone when the object is deleted.
pub(crate) const ON_DELETE_ANNOTATION: &str = "orglink.dev/on-delete";
/// Annotation on an Organization: any new value makes the operator re-read the org's
/// links and trusts once, soon (coalesced, within the org's API budget), and record the
/// value in `status.lastHandledRefresh` (as Argo CD's `argocd.argoproj.io/refresh`).
pub const REFRESH_ANNOTATION: &str = "orglink.dev/refresh";
