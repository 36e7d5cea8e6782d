//! Voice organization links (genesys-api.md §5): request, approval, unlink, regions.
//!
//! Rules, with the answer for each breach:
//! - `POST /link` by the requester: the target must be a different org (400), the target
//!   region one of the requester's linkable regions (400), the target must exist in that
//!   region (404), and no pending or approved link may exist between the two in either
//!   direction (409). A *rejected* earlier request is replaced by the new one.
//! - The requester lists the request as `Pending`, the target as `ApprovalPending`.
//! - `PATCH /link/approve/{requester}` only by the target: approve → both list it
//!   `Approved`; reject → the requester lists it `Rejected` and the target no longer sees
//!   it. The requester answering its own request gets 403; no pending request from that
//!   org gets 404; answering an approved link gets 409.
//! - `DELETE /link/{other}` by either side removes whatever the caller can see (an
//!   approved link, an outgoing or incoming pending request, our rejected request) for
//!   both sides at once; nothing visible gets 404.
//!
//! Every listing is from the caller's point of view: `source*` is the caller (the "login
//! organization"), `target*` the other org, `targetName` the other org's name.

use jiff::Timestamp;
use uuid::Uuid;

use super::SimState;
use crate::api::Region;
use crate::sandbox::genesys_sim::error::ApiError;

/// The state of a link record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Pending,
    Approved,
    Rejected,
}

/// The `status` one side sees (the `OrganizationLink` enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkViewStatus {
    /// Both sides, once the target approved.
    Approved,
    /// The requester, while the target has not answered.
    Pending,
    /// The target, while it has not answered.
    ApprovalPending,
    /// The requester, after the target declined.
    Rejected,
}

impl LinkViewStatus {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LinkViewStatus::Approved => "Approved",
            LinkViewStatus::Pending => "Pending",
            LinkViewStatus::ApprovalPending => "ApprovalPending",
            LinkViewStatus::Rejected => "Rejected",
        }
    }
}

/// One link record between two orgs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub requester: Uuid,
    pub target: Uuid,
    pub status: LinkStatus,
    pub(crate) requested_at: Timestamp,
    pub(crate) decided_at: Option<Timestamp>,
}

impl Link {
    /// What `viewer` sees of this link, or `None` if it is invisible to it.
    fn view_status(&self, viewer: Uuid) -> Option<LinkViewStatus> {
        let requester = viewer == self.requester;
        match (self.status, requester) {
            (LinkStatus::Approved, _) => Some(LinkViewStatus::Approved),
            (LinkStatus::Pending, true) => Some(LinkViewStatus::Pending),
            (LinkStatus::Pending, false) => Some(LinkViewStatus::ApprovalPending),
            (LinkStatus::Rejected, true) => Some(LinkViewStatus::Rejected),
            (LinkStatus::Rejected, false) => None,
        }
    }

    fn other(&self, me: Uuid) -> Uuid {
        if me == self.requester {
            self.target
        } else {
            self.requester
        }
    }
}

/// A link as one org lists it (`OrganizationLinkResponse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkView {
    pub(crate) source_organization_id: Uuid,
    pub(crate) source_region: Region,
    pub target_organization_id: Uuid,
    pub target_region: Region,
    pub target_name: String,
    pub status: LinkViewStatus,
}

fn pair_key(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b { (a, b) } else { (b, a) }
}

impl SimState {
    /// `POST /api/v2/telephony/organization/link`.
    pub(crate) fn request_link(
        &mut self,
        caller: Uuid,
        target: Uuid,
        target_region: Region,
        now: Timestamp,
    ) -> Result<LinkView, ApiError> {
        let me = self.caller(caller)?;
        if target == caller {
            return Err(ApiError::bad_field(
                "targetOrganizationId",
                "an organization cannot link to itself",
            ));
        }
        if !me.linkable_regions.contains(&target_region) {
            let allowed: Vec<_> = me.linkable_regions.iter().map(|r| r.code()).collect();
            return Err(ApiError::bad_field(
                "targetRegion",
                format!(
                    "region {target_region} is not a linkable region of this organization; linkable regions: {}",
                    allowed.join(", ")
                ),
            ));
        }
        match self.orgs.get(&target) {
            Some(t) if t.region == target_region => {}
            _ => {
                return Err(ApiError::not_found(format!(
                    "organization {target} was not found in region {target_region}"
                ))
                .with_entity(target.to_string(), None));
            }
        }
        let key = pair_key(caller, target);
        if let Some(existing) = self.links.get(&key) {
            match (existing.status, existing.requester == caller) {
                (LinkStatus::Rejected, _) => {}
                (LinkStatus::Approved, _) => {
                    return Err(ApiError::conflict(format!(
                        "this organization is already linked with organization {target}"
                    )));
                }
                (LinkStatus::Pending, true) => {
                    return Err(ApiError::conflict(format!(
                        "a link request to organization {target} is already pending its approval"
                    )));
                }
                (LinkStatus::Pending, false) => {
                    return Err(ApiError::conflict(format!(
                        "organization {target} has already requested a link with this organization; approve that request instead"
                    )));
                }
            }
        }
        self.link_requests.push(super::LinkRequestRecord {
            requester: caller,
            target,
            at: now,
        });
        self.links.insert(
            key,
            Link {
                requester: caller,
                target,
                status: LinkStatus::Pending,
                requested_at: now,
                decided_at: None,
            },
        );
        Ok(self
            .view(caller, &self.links[&key])
            .expect("a fresh request is visible to its requester"))
    }

    /// `GET /api/v2/telephony/organization/link`: every link the caller can see, ordered
    /// by the other org's ID.
    pub fn links_of(&self, caller: Uuid) -> Result<Vec<LinkView>, ApiError> {
        self.caller(caller)?;
        Ok(self
            .links
            .values()
            .filter(|l| l.requester == caller || l.target == caller)
            .filter_map(|l| self.view(caller, l))
            .collect())
    }

    /// `PATCH /api/v2/telephony/organization/link/approve/{requestingOrganizationId}`.
    pub(crate) fn answer_link(
        &mut self,
        caller: Uuid,
        requester: Uuid,
        approve: bool,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.caller(caller)?;
        let not_found = || {
            ApiError::not_found(format!(
                "no pending link request from organization {requester} to this organization"
            ))
        };
        let link = self
            .links
            .get_mut(&pair_key(caller, requester))
            .ok_or_else(not_found)?;
        if link.requester == caller {
            return match link.status {
                LinkStatus::Pending => Err(ApiError::forbidden(format!(
                    "only organization {requester}, the target of this link request, can approve or reject it"
                ))),
                LinkStatus::Approved => Err(ApiError::conflict(format!(
                    "the link with organization {requester} is already approved"
                ))),
                LinkStatus::Rejected => Err(not_found()),
            };
        }
        match link.status {
            LinkStatus::Pending => {
                link.status = if approve {
                    LinkStatus::Approved
                } else {
                    LinkStatus::Rejected
                };
                link.decided_at = Some(now);
                Ok(())
            }
            LinkStatus::Approved => Err(ApiError::conflict(format!(
                "the link with organization {requester} is already approved"
            ))),
            LinkStatus::Rejected => Err(not_found()),
        }
    }

    /// `DELETE /api/v2/telephony/organization/link/{otherOrganizationId}`.
    pub(crate) fn delete_link(&mut self, caller: Uuid, other: Uuid) -> Result<(), ApiError> {
        self.caller(caller)?;
        let key = pair_key(caller, other);
        let visible = self
            .links
            .get(&key)
            .is_some_and(|l| l.view_status(caller).is_some());
        if !visible {
            return Err(ApiError::not_found(format!(
                "no link or link request between this organization and organization {other}"
            )));
        }
        self.links.remove(&key);
        Ok(())
    }

    /// `GET /api/v2/telephony/organization/link/regions`.
    pub(crate) fn linkable_regions(&self, caller: Uuid) -> Result<Vec<Region>, ApiError> {
        Ok(self.caller(caller)?.linkable_regions.clone())
    }

    /// Every link record (for admin inspection and tests).
    /// Every link request accepted so far, in order (for admin inspection and tests).
    pub fn link_requests(&self) -> &[super::LinkRequestRecord] {
        &self.link_requests
    }

    pub fn all_links(&self) -> impl Iterator<Item = &Link> {
        self.links.values()
    }

    fn view(&self, viewer: Uuid, link: &Link) -> Option<LinkView> {
        let status = link.view_status(viewer)?;
        let me = self.orgs.get(&viewer)?;
        let other = self.orgs.get(&link.other(viewer))?;
        Some(LinkView {
            source_organization_id: me.id,
            source_region: me.region,
            target_organization_id: other.id,
            target_region: other.region,
            target_name: other.name.clone(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use axum::http::StatusCode;

    fn statuses(s: &SimState, org: u128) -> Vec<(Uuid, LinkViewStatus)> {
        s.links_of(id(org))
            .unwrap()
            .into_iter()
            .map(|v| (v.target_organization_id, v.status))
            .collect()
    }

    #[test]
    fn a_request_is_pending_for_the_requester_and_awaits_approval_at_the_target() {
        let mut s = state();
        let view = s
            .request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        assert_eq!(view.status, LinkViewStatus::Pending);
        assert_eq!(view.source_organization_id, id(ACME));
        assert_eq!(view.target_organization_id, id(DR));
        assert_eq!(view.target_name, "Acme DR");
        assert_eq!(statuses(&s, ACME), [(id(DR), LinkViewStatus::Pending)]);
        assert_eq!(
            statuses(&s, DR),
            [(id(ACME), LinkViewStatus::ApprovalPending)]
        );
        let dr_view = &s.links_of(id(DR)).unwrap()[0];
        assert_eq!(dr_view.target_name, "Acme Prod");
        assert_eq!(dr_view.source_organization_id, id(DR));
        assert!(statuses(&s, MSP).is_empty());
    }

    #[test]
    fn approval_by_the_target_links_both_sides() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        s.answer_link(id(DR), id(ACME), true, t0()).unwrap();
        assert_eq!(statuses(&s, ACME), [(id(DR), LinkViewStatus::Approved)]);
        assert_eq!(statuses(&s, DR), [(id(ACME), LinkViewStatus::Approved)]);
    }

    #[test]
    fn rejection_is_seen_only_by_the_requester() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        s.answer_link(id(DR), id(ACME), false, t0()).unwrap();
        assert_eq!(statuses(&s, ACME), [(id(DR), LinkViewStatus::Rejected)]);
        assert!(statuses(&s, DR).is_empty());
        // The target cannot answer again: nothing pending from ACME any more.
        let err = s.answer_link(id(DR), id(ACME), true, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn only_the_target_can_answer() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        let err = s.answer_link(id(ACME), id(DR), true, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert_eq!(err.code, "not.authorized");
        let err = s.answer_link(id(MSP), id(ACME), true, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(statuses(&s, ACME), [(id(DR), LinkViewStatus::Pending)]);
    }

    #[test]
    fn answering_an_approved_link_conflicts() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        s.answer_link(id(DR), id(ACME), true, t0()).unwrap();
        for (caller, other) in [(DR, ACME), (ACME, DR)] {
            let err = s
                .answer_link(id(caller), id(other), false, t0())
                .unwrap_err();
            assert_eq!(err.status, StatusCode::CONFLICT);
        }
        assert_eq!(statuses(&s, DR), [(id(ACME), LinkViewStatus::Approved)]);
    }

    #[test]
    fn answering_with_no_request_is_not_found() {
        let mut s = state();
        let err = s.answer_link(id(DR), id(ACME), true, t0()).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(err.code, "not.found");
    }

    #[test]
    fn unlink_from_either_side_severs_for_both() {
        for deleter in [ACME, DR] {
            let mut s = state();
            s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
                .unwrap();
            s.answer_link(id(DR), id(ACME), true, t0()).unwrap();
            let other = if deleter == ACME { DR } else { ACME };
            s.delete_link(id(deleter), id(other)).unwrap();
            assert!(statuses(&s, ACME).is_empty());
            assert!(statuses(&s, DR).is_empty());
            let err = s.delete_link(id(deleter), id(other)).unwrap_err();
            assert_eq!(err.status, StatusCode::NOT_FOUND);
        }
    }

    #[test]
    fn delete_withdraws_or_declines_a_pending_request() {
        for deleter in [ACME, DR] {
            let mut s = state();
            s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
                .unwrap();
            let other = if deleter == ACME { DR } else { ACME };
            s.delete_link(id(deleter), id(other)).unwrap();
            assert!(statuses(&s, ACME).is_empty());
            assert!(statuses(&s, DR).is_empty());
        }
    }

    #[test]
    fn the_requester_clears_a_rejection_but_the_target_cannot_see_it() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        s.answer_link(id(DR), id(ACME), false, t0()).unwrap();
        let err = s.delete_link(id(DR), id(ACME)).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        s.delete_link(id(ACME), id(DR)).unwrap();
        assert!(statuses(&s, ACME).is_empty());
    }

    #[test]
    fn a_new_request_replaces_a_rejected_one_from_either_side() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        s.answer_link(id(DR), id(ACME), false, t0()).unwrap();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        assert_eq!(statuses(&s, ACME), [(id(DR), LinkViewStatus::Pending)]);
        s.answer_link(id(DR), id(ACME), false, t0()).unwrap();
        // Now the former target asks instead.
        s.request_link(id(DR), id(ACME), Region::UsEast1, t0())
            .unwrap();
        assert_eq!(
            statuses(&s, ACME),
            [(id(DR), LinkViewStatus::ApprovalPending)]
        );
        assert_eq!(statuses(&s, DR), [(id(ACME), LinkViewStatus::Pending)]);
    }

    #[test]
    fn duplicates_in_either_direction_conflict() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        let err = s
            .request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        let err = s
            .request_link(id(DR), id(ACME), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(err.message.contains("approve that request instead"));
        s.answer_link(id(DR), id(ACME), true, t0()).unwrap();
        let err = s
            .request_link(id(DR), id(ACME), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
    }

    #[test]
    fn self_links_are_refused() {
        let mut s = state();
        let err = s
            .request_link(id(ACME), id(ACME), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err.details[0].field_name.as_deref(),
            Some("targetOrganizationId")
        );
    }

    #[test]
    fn the_target_must_exist_in_the_named_region() {
        let mut s = state();
        let err = s
            .request_link(id(ACME), id(0xFFFF), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        // Globex EU exists, but not in us-east-1.
        let err = s
            .request_link(id(ACME), id(EU), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert!(err.message.contains("us-east-1"));
        s.request_link(id(ACME), id(EU), Region::EuWest1, t0())
            .unwrap();
        assert_eq!(
            statuses(&s, EU),
            [(id(ACME), LinkViewStatus::ApprovalPending)]
        );
        assert_eq!(
            s.links_of(id(EU)).unwrap()[0].target_region,
            Region::UsEast1
        );
    }

    #[test]
    fn the_target_region_must_be_linkable_for_the_requester() {
        let mut s = state();
        // Globex EU may link only to eu-west-1 and eu-central-1.
        let err = s
            .request_link(id(EU), id(ACME), Region::UsEast1, t0())
            .unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.details[0].field_name.as_deref(), Some("targetRegion"));
        assert!(
            err.message.contains("eu-west-1, eu-central-1"),
            "{}",
            err.message
        );
        assert!(statuses(&s, ACME).is_empty());
    }

    #[test]
    fn linkable_regions_come_from_the_org() {
        let s = state();
        assert_eq!(
            s.linkable_regions(id(EU)).unwrap(),
            [Region::EuWest1, Region::EuCentral1]
        );
        assert_eq!(
            s.linkable_regions(id(ACME)).unwrap().len(),
            Region::all().count()
        );
    }

    #[test]
    fn links_between_other_orgs_are_invisible() {
        let mut s = state();
        s.request_link(id(ACME), id(DR), Region::UsEast1, t0())
            .unwrap();
        s.request_link(id(MSP), id(ACME), Region::UsEast1, t0())
            .unwrap();
        assert_eq!(statuses(&s, DR).len(), 1);
        assert_eq!(statuses(&s, MSP).len(), 1);
        assert_eq!(statuses(&s, ACME).len(), 2);
        let err = s.delete_link(id(DR), id(MSP)).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }
}
