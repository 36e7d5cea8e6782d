//! `OrgLink` (short name `olink`): this org's side of one voice organization link.
//!
//! The same kind serves both ends: declaring an OrgLink to a peer that has already
//! requested a link *is* the approval.

// kube's `printcolumn(...)` repeats `type_ = ...` once per column, which clippy takes for
// a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::PeerRef;

/// One voice organization link between the referenced Organization and a peer org.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "orglink.dev",
    version = "v1alpha1",
    kind = "OrgLink",
    namespaced,
    status = "OrgLinkStatus",
    shortname = "olink",
    category = "genesys",
    derive = "PartialEq",
    doc = "This organization's side of a Genesys Cloud voice organization link.",
    printcolumn(
        name = "Organization",
        type_ = "string",
        json_path = ".spec.organizationRef"
    ),
    printcolumn(
        name = "Peer",
        type_ = "string",
        json_path = ".spec.peer.organizationId"
    ),
    printcolumn(
        name = "Peer region",
        type_ = "string",
        json_path = ".spec.peer.region"
    ),
    printcolumn(
        name = "Peer name",
        type_ = "string",
        json_path = ".status.peerName",
        priority = "1"
    ),
    printcolumn(
        name = "Decision",
        type_ = "string",
        json_path = ".spec.decision",
        priority = "1"
    ),
    printcolumn(
        name = "Direction",
        type_ = "string",
        json_path = ".status.direction",
        priority = "1"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct OrgLinkSpec {
    /// Name of the Organization (in this namespace) whose side this is. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.organizationRef is immutable: delete this OrgLink and create a new one to link another Organization"))]
    pub organization_ref: String,
    /// The org at the other end. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.peer is immutable: delete this OrgLink and create a new one for another peer"))]
    pub peer: PeerRef,
    /// `Accept` requests or approves the link; `Decline` rejects, withdraws or unlinks it.
    #[serde(default)]
    pub decision: LinkDecision,
    /// Bump to ask again after the peer rejected the request or unlinked.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub attempt: i64,
}

/// What this side wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LinkDecision {
    #[default]
    Accept,
    Decline,
}

impl LinkDecision {
    /// The decision as users write it in `spec.decision` and see it in `kubectl orglink`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkDecision::Accept => "Accept",
            LinkDecision::Decline => "Decline",
        }
    }
}

/// Where the link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OrgLinkPhase {
    Requesting,
    WaitingForConfirmation,
    Linked,
    Declined,
    RejectedByPeer,
    UnlinkedByPeer,
    Error,
}

impl OrgLinkPhase {
    /// The phase as users see it: in `status.phase`, Event reasons and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgLinkPhase::Requesting => "Requesting",
            OrgLinkPhase::WaitingForConfirmation => "WaitingForConfirmation",
            OrgLinkPhase::Linked => "Linked",
            OrgLinkPhase::Declined => "Declined",
            OrgLinkPhase::RejectedByPeer => "RejectedByPeer",
            OrgLinkPhase::UnlinkedByPeer => "UnlinkedByPeer",
            OrgLinkPhase::Error => "Error",
        }
    }
}

impl std::fmt::Display for OrgLinkPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side asked for the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LinkDirection {
    /// This org requested the link.
    Outgoing,
    /// The peer requested it and this org approved.
    Incoming,
}

/// What the operator observed and did for this link.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgLinkStatus {
    /// The `metadata.generation` this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<OrgLinkPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<LinkDirection>,
    /// The peer org's name, as Genesys Cloud reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_name: Option<String>,
    /// When the link was first seen active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_at: Option<Time>,
    /// `spec.attempt` as of the last request this side sent (or of the rejection or
    /// unlink it recorded). A new request after `RejectedByPeer`/`UnlinkedByPeer` is sent
    /// only once `spec.attempt` differs from this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_attempt: Option<i64>,
    /// `Ready` and `Linked`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod phase_tests {
    use super::OrgLinkPhase::*;

    #[test]
    fn a_phase_reads_as_it_is_written_in_status() {
        for phase in [
            Requesting,
            WaitingForConfirmation,
            Linked,
            Declined,
            RejectedByPeer,
            UnlinkedByPeer,
            Error,
        ] {
            let wire = serde_json::to_value(phase).unwrap();
            assert_eq!(wire.as_str(), Some(phase.as_str()));
            assert_eq!(phase.to_string(), phase.as_str());
        }
    }
}
