//! `Organization` (short name `gcorg`): one Genesys Cloud org this cluster manages.

// kube's `printcolumn(...)` repeats `type_ = ...` once per column, which clippy takes for
// a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::Region;

/// Pattern of a Go-style duration as `resyncInterval` accepts it (`30s`, `5m`, `1h30m`).
pub const DURATION_PATTERN: &str = "^([0-9]+(ms|s|m|h))+$";

/// The Genesys Cloud organization whose OAuth client credentials this object carries.
/// Every API call made for the org's OrgLinks and OrgPairings acts as this org.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "orglink.dev",
    version = "v1alpha1",
    kind = "Organization",
    namespaced,
    status = "OrganizationStatus",
    shortname = "gcorg",
    category = "genesys",
    derive = "PartialEq",
    doc = "One Genesys Cloud organization that this cluster manages, with its OAuth client credentials.",
    printcolumn(
        name = "Region",
        type_ = "string",
        json_path = ".spec.region",
        description = "Genesys Cloud region"
    ),
    printcolumn(
        name = "Org ID",
        type_ = "string",
        json_path = ".status.organizationId",
        description = "Genesys Cloud organization ID"
    ),
    printcolumn(
        name = "Name",
        type_ = "string",
        json_path = ".status.name",
        description = "Organization name in Genesys Cloud",
        priority = "1"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Observed",
        type_ = "date",
        json_path = ".status.observedAt",
        description = "When the Genesys Cloud view in status was read",
        priority = "1"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSpec {
    /// The Genesys Cloud region the organization is hosted in (its API and login hosts
    /// follow from it).
    pub region: Region,
    /// The Secret in this namespace holding the OAuth client-credentials client of the org.
    pub credentials_secret_ref: CredentialsSecretRef,
    /// Overrides the API base URL (default `https://api.<region domain>`); the token
    /// endpoint is then `{apiBaseUrl}/oauth/token`. For proxies and the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^https?://[^\\s]+$"), length(max = 2048))]
    pub api_base_url: Option<String>,
    /// How often the remote state is re-read (Go duration, e.g. `5m`). Default `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub resync_interval: Option<String>,
}

/// Where the OAuth client ID and secret are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Name of a Secret in the Organization's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key of the client ID in the Secret.
    #[serde(default = "default_client_id_key")]
    pub client_id_key: String,
    /// Key of the client secret in the Secret.
    #[serde(default = "default_client_secret_key")]
    pub client_secret_key: String,
}

fn default_client_id_key() -> String {
    "clientId".to_string()
}

fn default_client_secret_key() -> String {
    "clientSecret".to_string()
}

/// What the operator last read about the organization from Genesys Cloud.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationStatus {
    /// The `metadata.generation` this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The org's ID, from `GET /api/v2/organizations/me`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The org's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The region the credentials were verified in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Regions this org may link to (`GET .../organization/link/regions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linkable_regions: Vec<String>,
    /// Active voice links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_organizations: Vec<LinkedOrganization>,
    /// Link requests this org sent that the peer has not answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_outgoing_links: Vec<PendingLink>,
    /// Link requests from other orgs waiting for this org's answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_incoming_links: Vec<PendingLink>,
    /// Orgs that have access to this org (this org is their trustor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trustees: Vec<TrustSummary>,
    /// Orgs this org's users can access (this org is their trustee).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trustors: Vec<TrustSummary>,
    /// When the Genesys Cloud view in this status (identity, linkable regions, the link
    /// and trust lists) was read: the start of the read, so nothing in it is older.
    /// It stays put while reads fail (see `Ready`), so its age says how stale the view is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<Time>,
    /// The last value of the annotation `orglink.dev/refresh` that the operator handled:
    /// the view above was read after that value was set (or the read was attempted and
    /// `Ready` says why it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub last_handled_refresh: Option<String>,
    /// `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// An org at the other end of an active link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedOrganization {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A link request waiting for an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingLink {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One side of an authorized-organization trust.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustSummary {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub enabled: bool,
}

impl OrganizationSpec {
    /// The resync interval, `5m` when unset. The schema pattern guarantees it parses.
    pub fn resync_interval(&self) -> std::time::Duration {
        self.resync_interval
            .as_deref()
            .and_then(|s| humantime::parse_duration(s).ok())
            .unwrap_or(std::time::Duration::from_secs(300))
    }
}
