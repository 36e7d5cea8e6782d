//! Objects the plugin creates or changes.

use kube::api::ObjectMeta;

use crate::api::{LinkDecision, OrgLink, OrgLinkSpec, Organization, PeerRef, Region};

/// A name for an OrgLink to `peer`: `link-<first 8 hex digits of the peer ID>`.
pub(crate) fn link_name(peer_id: &str) -> String {
    let short: String = peer_id.chars().take(8).collect();
    format!("link-{short}")
}

/// Why an approve/decline cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error(
        "no pending request from {peer} is recorded on Organization {org}, so its region is unknown; pass --peer-region REGION"
    )]
    UnknownPeerRegion { peer: String, org: String },
    #[error("{0}")]
    BadRegion(String),
    #[error("peer ID {0:?} is not a canonical lower-case UUID (8-4-4-4-12 hex digits)")]
    BadPeerId(String),
}

/// The OrgLink that approves (`Accept`) or declines (`Decline`) a link with `peer_id`
/// for Organization `org`. The peer's region comes from `peer_region`, or else from the
/// pending incoming request recorded on the Organization's status.
pub fn answer_link(
    org: &Organization,
    peer_id: &str,
    peer_region: Option<&str>,
    decision: LinkDecision,
    name: Option<&str>,
) -> Result<OrgLink, BuildError> {
    if !crate::api::common::is_canonical_uuid(peer_id) {
        return Err(BuildError::BadPeerId(peer_id.to_string()));
    }
    let region_code = match peer_region {
        Some(r) => r.to_string(),
        None => org
            .status
            .as_ref()
            .and_then(|s| {
                s.pending_incoming_links
                    .iter()
                    .find(|p| p.organization_id == peer_id)
            })
            .and_then(|p| p.region.clone())
            .ok_or_else(|| BuildError::UnknownPeerRegion {
                peer: peer_id.to_string(),
                org: org.metadata.name.clone().unwrap_or_default(),
            })?,
    };
    let region: Region = region_code
        .parse()
        .map_err(|e: crate::api::regions::UnknownRegion| BuildError::BadRegion(e.to_string()))?;
    Ok(link(org, peer_id, region, decision, name))
}

/// An OrgLink of `org` (same namespace) with the peer `peer_id` in `region`, named
/// `name` or else [`link_name`].
pub(crate) fn link(
    org: &Organization,
    peer_id: &str,
    region: Region,
    decision: LinkDecision,
    name: Option<&str>,
) -> OrgLink {
    OrgLink {
        metadata: ObjectMeta {
            name: Some(name.map_or_else(|| link_name(peer_id), str::to_string)),
            namespace: org.metadata.namespace.clone(),
            ..Default::default()
        },
        spec: OrgLinkSpec {
            organization_ref: org.metadata.name.clone().unwrap_or_default(),
            peer: PeerRef {
                organization_id: peer_id.to_string(),
                region,
            },
            decision,
            attempt: 0,
        },
        status: None,
    }
}

/// The merge patch that asks again after a refusal or unlink: `spec.attempt + 1`.
pub fn retry_patch(link: &OrgLink) -> serde_json::Value {
    serde_json::json!({ "spec": { "attempt": link.spec.attempt + 1 } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OrganizationStatus;
    use crate::api::organization::PendingLink;

    const PEER: &str = "0b6c4a1e-2d3f-4a5b-8c7d-9e0f1a2b3c4d";

    fn org(pending_region: Option<&str>) -> Organization {
        let mut o = Organization::sample("acme-prod", "team-acme");
        o.status = Some(OrganizationStatus {
            pending_incoming_links: pending_region
                .map(|r| {
                    vec![PendingLink {
                        unmanaged: false,
                        organization_id: PEER.into(),
                        region: Some(r.into()),
                        name: None,
                    }]
                })
                .unwrap_or_default(),
            ..Default::default()
        });
        o
    }

    #[test]
    fn approve_takes_the_region_from_the_pending_request() {
        let l = answer_link(
            &org(Some("us-west-2")),
            PEER,
            None,
            LinkDecision::Accept,
            None,
        )
        .unwrap();
        assert_eq!(l.metadata.name.as_deref(), Some("link-0b6c4a1e"));
        assert_eq!(l.metadata.namespace.as_deref(), Some("team-acme"));
        assert_eq!(l.spec.organization_ref, "acme-prod");
        assert_eq!(l.spec.peer.region, Region::UsWest2);
        assert_eq!(l.spec.decision, LinkDecision::Accept);
    }

    #[test]
    fn decline_without_a_known_region_asks_for_one() {
        let e = answer_link(&org(None), PEER, None, LinkDecision::Decline, None).unwrap_err();
        assert!(e.to_string().contains("--peer-region"), "{e}");
        let l = answer_link(
            &org(None),
            PEER,
            Some("eu-west-1"),
            LinkDecision::Decline,
            Some("no"),
        )
        .unwrap();
        assert_eq!(l.spec.peer.region, Region::EuWest1);
        assert_eq!(l.metadata.name.as_deref(), Some("no"));
        let bad = answer_link(
            &org(None),
            PEER,
            Some("mars-1"),
            LinkDecision::Decline,
            None,
        )
        .unwrap_err();
        assert!(bad.to_string().contains("mars-1"));
        let bad_id = answer_link(
            &org(None),
            "ABC",
            Some("us-east-1"),
            LinkDecision::Accept,
            None,
        )
        .unwrap_err();
        assert_eq!(bad_id, BuildError::BadPeerId("ABC".into()));
    }

    #[test]
    fn retry_bumps_attempt() {
        let mut l = answer_link(
            &org(Some("us-east-1")),
            PEER,
            None,
            LinkDecision::Accept,
            None,
        )
        .unwrap();
        l.spec.attempt = 2;
        assert_eq!(retry_patch(&l), serde_json::json!({"spec": {"attempt": 3}}));
    }
}
