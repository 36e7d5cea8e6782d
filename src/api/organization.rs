//! `Organization` (short name `gcorg`): one Genesys Cloud org this cluster manages.

// kube's `printcolumn(...)` repeats `type_ = ...` once per column, which clippy takes for
// a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use std::time::Duration;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::Region;

/// Pattern of a Go-style duration as `resyncInterval` accepts it (`30s`, `5m`, `1h30m`).
pub(crate) const DURATION_PATTERN: &str = "^([0-9]+(ms|s|m|h))+$";

/// What a key of a Secret's `data` may be (the API server's rule for Secret keys).
pub(crate) const SECRET_KEY_PATTERN: &str = "^[-._a-zA-Z0-9]+$";

/// The shortest `resyncInterval` the schema accepts. The operator raises anything
/// shorter than its `--min-resync-interval` (default 30 s) to that.
pub(crate) const MIN_RESYNC_INTERVAL: Duration = Duration::from_secs(1);
/// The longest `resyncInterval` the schema accepts, and the most the code uses.
pub(crate) const MAX_RESYNC_INTERVAL: Duration = Duration::from_secs(86_400);
/// The `resyncInterval` of an Organization that sets none.
pub(crate) const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(300);

/// The schema's bound on `resyncInterval` (CEL). At most five digits per unit, checked
/// first, so `duration()` never sees a number that overflows it (`&&` in CEL is false
/// as soon as one side is); then the range [`MIN_RESYNC_INTERVAL`] to
/// [`MAX_RESYNC_INTERVAL`].
pub(crate) const RESYNC_RULE: &str = "self.matches('^([0-9]{1,5}(ms|s|m|h))+$') && duration(self) >= duration('1s') && duration(self) <= duration('24h')";

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
    /// How often the remote state is re-read (Go duration, e.g. `5m`), from 1s to 24h;
    /// the operator raises values below its `--min-resync-interval` (default 30s).
    /// Default `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN), length(max = 32))]
    #[x_kube(validation = Rule::new(RESYNC_RULE).message("spec.resyncInterval must be a duration from 1s to 24h with at most 5 digits per unit, e.g. 5m or 1h30m"))]
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
    #[schemars(length(min = 1, max = 253), regex(pattern = SECRET_KEY_PATTERN))]
    pub client_id_key: String,
    /// Key of the client secret in the Secret.
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = SECRET_KEY_PATTERN))]
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
    /// Active voice links. Every entry of these five lists carries `unmanaged: true`
    /// when no object in the cluster declares it (docs/api.md, "Adopt and audit").
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
    /// True when no OrgLink or OrgPairing in this namespace declares this relationship
    /// for this Organization: it was made outside the cluster (the Genesys Cloud UI, a
    /// script). `kubectl orglink audit` prints a manifest that adopts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
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
    /// True when no OrgLink or OrgPairing in this namespace declares this relationship
    /// for this Organization: it was made outside the cluster (the Genesys Cloud UI, a
    /// script). `kubectl orglink audit` prints a manifest that adopts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

/// One side of an authorized-organization trust.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustSummary {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub enabled: bool,
    /// True when no OrgLink or OrgPairing in this namespace declares this relationship
    /// for this Organization: it was made outside the cluster (the Genesys Cloud UI, a
    /// script). `kubectl orglink audit` prints a manifest that adopts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
    /// The trust's members as Genesys Cloud shows them, for an unmanaged trust only
    /// (read for `kubectl orglink audit`, whose manifest then adopts the trust as it
    /// is); absent once an object declares it, or when they could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<TrustMembers>,
}

/// Who is in a trust: user and group IDs, with the roles they hold in the trustor org
/// (known to the trustor side only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustMembers {
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub users: Vec<TrustMember>,
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub groups: Vec<TrustMember>,
}

/// A user or group of a trust.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustMember {
    pub id: String,
    /// Role IDs it holds in the trustor org (trustor side only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub role_ids: Vec<String>,
}

impl OrganizationSpec {
    /// The resync interval: `5m` when unset or unparsable, else clamped to
    /// [`MIN_RESYNC_INTERVAL`]..=[`MAX_RESYNC_INTERVAL`]. The schema enforces the same
    /// range, but an object stored before the rule existed, or a value that overflows
    /// (`18446744073709551615s`), must not reach the timer arithmetic unbounded.
    pub fn resync_interval(&self) -> Duration {
        self.resync_interval
            .as_deref()
            .map_or(Some(DEFAULT_RESYNC_INTERVAL), |s| {
                humantime::parse_duration(s).ok()
            })
            .map_or(DEFAULT_RESYNC_INTERVAL, |d| {
                d.clamp(MIN_RESYNC_INTERVAL, MAX_RESYNC_INTERVAL)
            })
    }
}

#[cfg(test)]
impl Organization {
    /// The unit tests' Organization: `name` in `namespace`, us-east-1, credentials in
    /// Secret `<name>-oauth` under the default keys, no status.
    pub(crate) fn sample(name: &str, namespace: &str) -> Organization {
        let mut org = Organization::new(
            name,
            OrganizationSpec {
                region: Region::UsEast1,
                credentials_secret_ref: CredentialsSecretRef {
                    name: format!("{name}-oauth"),
                    client_id_key: "clientId".into(),
                    client_secret_key: "clientSecret".into(),
                },
                api_base_url: None,
                resync_interval: None,
            },
        );
        org.metadata.namespace = Some(namespace.into());
        org
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resync: Option<&str>) -> OrganizationSpec {
        OrganizationSpec {
            region: Region::UsEast1,
            credentials_secret_ref: CredentialsSecretRef {
                name: "creds".into(),
                client_id_key: default_client_id_key(),
                client_secret_key: default_client_secret_key(),
            },
            api_base_url: None,
            resync_interval: resync.map(str::to_string),
        }
    }

    /// Issue 11: `resyncInterval: 18446744073709551615s` passed the pattern and
    /// overflowed the jitter arithmetic.
    #[test]
    fn resync_intervals_are_clamped_to_the_documented_range() {
        let cases = [
            (None, DEFAULT_RESYNC_INTERVAL),
            (Some("5m"), Duration::from_secs(300)),
            (Some("1h30m"), Duration::from_secs(5_400)),
            (Some("18446744073709551615s"), MAX_RESYNC_INTERVAL),
            (Some("99999999999999999999999h"), DEFAULT_RESYNC_INTERVAL),
            (Some("9999h"), MAX_RESYNC_INTERVAL),
            (Some("0s"), MIN_RESYNC_INTERVAL),
            (Some("1ms"), MIN_RESYNC_INTERVAL),
            (Some("not a duration"), DEFAULT_RESYNC_INTERVAL),
        ];
        for (raw, expected) in cases {
            assert_eq!(spec(raw).resync_interval(), expected, "{raw:?}");
        }
    }
}
