//! Which OrgLinks and OrgPairings an Organization's change concerns.
//!
//! The Organization's status is rewritten at every refresh of its snapshot (its lists,
//! `observedAt`, and `lastHandledRefresh` for a refresh on demand), and one refresh follows every phase change of one of its
//! relationships. Waking every OrgLink and OrgPairing of the org on each such write
//! makes the work grow with the square of the relationships per org (an org with 100
//! OrgLinks reconciled all 100 of them a hundred times while they were being
//! requested). So an Organization event wakes:
//! - every relationship of the org when what all of them depend on changed (`Ready`,
//!   the org ID, the spec, deletion), and
//! - otherwise only those whose peer's entry in the status lists changed: a request
//!   that became a link, a link that went, a trust that was enabled.
//!
//! Everything here is pure; the controllers keep one [`OrgViews`] per watch.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::conditions::{find, types};
use crate::api::{Organization, OrganizationStatus};

/// What the relationships of one Organization see of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OrgView {
    /// What every relationship depends on.
    common: String,
    /// A digest of each peer's entries in the status lists (linked, pending, trustee,
    /// trustor). A digest, not the entries: the controllers keep a view of every
    /// Organization, and an org with 100 peers held 50 KB of entries in each (issue 14).
    /// Two different entries with one digest (odds of 2^-64) would only delay a wake to
    /// the resync.
    peers: BTreeMap<String, u64>,
}

impl OrgView {
    pub(crate) fn of(org: &Organization) -> Self {
        let none = OrganizationStatus::default();
        let status = org.status.as_ref().unwrap_or(&none);
        let ready = find(&status.conditions, types::READY)
            .map(|c| format!("{}/{}", c.status, c.reason))
            .unwrap_or_default();
        let common = serde_json::json!({
            "ready": ready,
            "organizationId": status.organization_id,
            "region": status.region,
            "linkableRegions": status.linkable_regions,
            "spec": org.spec,
            "deleting": org.metadata.deletion_timestamp.is_some(),
        })
        .to_string();
        let mut peers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut add = |list: &str, id: &str, entry: String| {
            peers
                .entry(id.to_string())
                .or_default()
                .push(format!("{list}:{entry}"));
        };
        for l in &status.linked_organizations {
            add("linked", &l.organization_id, json(l));
        }
        for l in &status.pending_outgoing_links {
            add("outgoing", &l.organization_id, json(l));
        }
        for l in &status.pending_incoming_links {
            add("incoming", &l.organization_id, json(l));
        }
        for t in &status.trustees {
            add("trustee", &t.organization_id, json(t));
        }
        for t in &status.trustors {
            add("trustor", &t.organization_id, json(t));
        }
        let peers = peers
            .into_iter()
            .map(|(id, entries)| (id, digest(&entries)))
            .collect();
        Self { common, peers }
    }
}

/// A digest of a peer's entries, the same for the same entries within one process.
fn digest(entries: &[String]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    entries.hash(&mut hasher);
    hasher.finish()
}

/// The entry as the relationships see it: without its `unmanaged` mark, which says
/// whether an object exists, not what Genesys Cloud shows (the object that just adopted
/// the entry needs no wake for the mark going).
fn json<T: serde::Serialize>(entry: &T) -> String {
    let mut value = serde_json::to_value(entry).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("unmanaged");
    }
    value.to_string()
}

/// What an Organization event concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Concerns {
    /// Every relationship of the org.
    All,
    /// The relationships with these peers (org IDs); none when nothing they see changed.
    Peers(Vec<String>),
}

/// What changed between the view the relationships last saw and the new one.
pub(crate) fn concerns(old: Option<&OrgView>, new: &OrgView) -> Concerns {
    let Some(old) = old else {
        return Concerns::All;
    };
    if old.common != new.common {
        return Concerns::All;
    }
    let peers: BTreeSet<&String> = old
        .peers
        .keys()
        .chain(new.peers.keys())
        .filter(|p| old.peers.get(*p) != new.peers.get(*p))
        .collect();
    Concerns::Peers(peers.into_iter().cloned().collect())
}

/// The last view of each Organization one controller's relationships were woken for.
#[derive(Default)]
pub(crate) struct OrgViews(parking_lot::Mutex<HashMap<ObjectRef<Organization>, OrgView>>);

impl OrgViews {
    /// Records `org`'s view and says what the change since the last one concerns.
    pub(crate) fn observe(&self, org: &Organization) -> Concerns {
        let new = OrgView::of(org);
        let key = ObjectRef::from_obj(org);
        let mut views = self.0.lock();
        let concerns = concerns(views.get(&key), &new);
        if org.metadata.deletion_timestamp.is_some() && org.finalizers().is_empty() {
            views.remove(&key);
        } else {
            views.insert(key, new);
        }
        concerns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::organization::{LinkedOrganization, PendingLink, TrustSummary};
    use crate::api::{OrganizationSpec, OrganizationStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    const PEER_A: &str = "0b6c4a1e-0000-4000-8000-00000000000a";
    const PEER_B: &str = "0b6c4a1e-0000-4000-8000-00000000000b";

    fn org(status: OrganizationStatus) -> Organization {
        let spec: OrganizationSpec = serde_json::from_value(serde_json::json!({
            "region": "us-east-1",
            "credentialsSecretRef": {"name": "oauth"},
        }))
        .unwrap();
        let mut o = Organization::new("acme", spec);
        o.metadata.namespace = Some("team".into());
        o.status = Some(status);
        o
    }

    fn ready(status: &str) -> Vec<Condition> {
        vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: "Connected".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }]
    }

    fn pending(id: &str) -> PendingLink {
        PendingLink {
            unmanaged: false,
            organization_id: id.into(),
            region: Some("us-east-1".into()),
            name: None,
        }
    }

    fn base() -> OrganizationStatus {
        OrganizationStatus {
            organization_id: Some("96fe284b-0000-4000-8000-000000000001".into()),
            conditions: ready("True"),
            pending_outgoing_links: vec![pending(PEER_A), pending(PEER_B)],
            ..Default::default()
        }
    }

    #[test]
    fn the_first_sight_of_an_org_concerns_all_its_relationships() {
        assert_eq!(concerns(None, &OrgView::of(&org(base()))), Concerns::All);
    }

    #[test]
    fn a_refresh_that_changes_nothing_but_the_read_time_concerns_none() {
        let old = OrgView::of(&org(base()));
        let mut later = base();
        later.observed_at = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        assert_eq!(
            concerns(Some(&old), &OrgView::of(&org(later.clone()))),
            Concerns::Peers(vec![])
        );
        // A refresh on demand: the annotation and the handled value wake nobody.
        later.last_handled_refresh = Some("2026-12-02T04:30:00Z".into());
        let mut asked = org(later);
        asked.metadata.annotations = Some(
            [(
                crate::api::REFRESH_ANNOTATION.to_string(),
                "2026-12-02T04:30:00Z".to_string(),
            )]
            .into(),
        );
        assert_eq!(
            concerns(Some(&old), &OrgView::of(&asked)),
            Concerns::Peers(vec![])
        );
    }

    #[test]
    fn a_request_that_became_a_link_concerns_only_that_peer() {
        let old = OrgView::of(&org(base()));
        let mut new = base();
        new.pending_outgoing_links
            .retain(|l| l.organization_id != PEER_A);
        new.linked_organizations.push(LinkedOrganization {
            unmanaged: false,
            organization_id: PEER_A.into(),
            name: Some("Acme DR".into()),
            region: Some("us-east-1".into()),
        });
        let c = concerns(Some(&old), &OrgView::of(&org(new)));
        assert_eq!(c, Concerns::Peers(vec![PEER_A.to_string()]));
    }

    #[test]
    fn a_trust_enabled_or_gone_concerns_its_peer() {
        let mut with = base();
        with.trustees.push(TrustSummary {
            members: None,
            unmanaged: false,
            organization_id: PEER_B.into(),
            name: None,
            enabled: true,
        });
        let old = OrgView::of(&org(with.clone()));
        with.trustees[0].enabled = false;
        assert_eq!(
            concerns(Some(&old), &OrgView::of(&org(with))),
            Concerns::Peers(vec![PEER_B.to_string()])
        );
        assert_eq!(
            concerns(Some(&old), &OrgView::of(&org(base()))),
            Concerns::Peers(vec![PEER_B.to_string()])
        );
    }

    #[test]
    fn readiness_the_org_id_or_the_spec_concern_all() {
        let old = OrgView::of(&org(base()));
        let mut not_ready = base();
        not_ready.conditions = ready("False");
        assert_eq!(
            concerns(Some(&old), &OrgView::of(&org(not_ready))),
            Concerns::All
        );
        let mut other_id = base();
        other_id.organization_id = Some("96fe284b-0000-4000-8000-000000000002".into());
        assert_eq!(
            concerns(Some(&old), &OrgView::of(&org(other_id))),
            Concerns::All
        );
        let mut respec = org(base());
        respec.spec.resync_interval = Some("1m".into());
        assert_eq!(concerns(Some(&old), &OrgView::of(&respec)), Concerns::All);
    }

    #[test]
    fn views_remember_what_was_seen_last() {
        let views = OrgViews::default();
        let o = org(base());
        assert_eq!(views.observe(&o), Concerns::All);
        assert_eq!(views.observe(&o), Concerns::Peers(vec![]));
    }
}
