//! Voice organization links, `/api/v2/telephony/organization/link` (genesys-api.md §5.2).
//! A link needs the target's approval; either side may delete it, which severs it for
//! both. The listing and the regions are bare arrays, not paged.

use reqwest::Method;

use super::client::{GenesysClient, Removal};
use super::error::GenesysError;
use super::models::{
    CreateOrganizationLink, OrganizationLink, OrganizationLinkApprovalRequest,
    OrganizationLinkResponse, RegionResponse,
};

const LINK: &str = "/api/v2/telephony/organization/link";
const LINK_APPROVE: &str = "/api/v2/telephony/organization/link/approve/{requestingOrganizationId}";
const LINK_ONE: &str = "/api/v2/telephony/organization/link/{targetOrganizationId}";
const LINK_REGIONS: &str = "/api/v2/telephony/organization/link/regions";

impl GenesysClient {
    /// `POST .../organization/link`: asks `target_organization_id` (in `target_region`)
    /// to link. The answer's status is normally `Pending`.
    pub async fn create_link(
        &self,
        target_organization_id: &str,
        target_region: &str,
    ) -> Result<OrganizationLink, GenesysError> {
        let body = CreateOrganizationLink {
            target_organization_id: target_organization_id.to_string(),
            target_region: target_region.to_string(),
        };
        self.send_json(Method::POST, LINK, &[], Some(&body)).await
    }

    /// `GET .../organization/link`: links and pending requests, both directions.
    pub async fn list_links(&self) -> Result<Vec<OrganizationLinkResponse>, GenesysError> {
        self.get(LINK, &[], Vec::new()).await
    }

    /// `PATCH .../link/approve/{requestingOrganizationId}` with `{approval}`: answers
    /// the request `requesting_organization_id` sent us.
    pub(crate) async fn answer_link(
        &self,
        requesting_organization_id: &str,
        approve: bool,
    ) -> Result<(), GenesysError> {
        let body = OrganizationLinkApprovalRequest { approval: approve };
        self.send_void(
            Method::PATCH,
            LINK_APPROVE,
            &[requesting_organization_id],
            Some(&body),
        )
        .await
    }

    /// Approves the link request of `requesting_organization_id`.
    pub async fn approve_link(&self, requesting_organization_id: &str) -> Result<(), GenesysError> {
        self.answer_link(requesting_organization_id, true).await
    }

    /// Rejects the link request of `requesting_organization_id`.
    pub async fn reject_link(&self, requesting_organization_id: &str) -> Result<(), GenesysError> {
        self.answer_link(requesting_organization_id, false).await
    }

    /// `DELETE .../link/{organizationId}`: withdraws our request or severs the link with
    /// `other_organization_id` (whichever side asked).
    pub async fn delete_link(&self, other_organization_id: &str) -> Result<Removal, GenesysError> {
        self.remove(LINK_ONE, &[other_organization_id]).await
    }

    /// `GET .../link/regions`: the regions this org may link to.
    pub async fn linkable_regions(&self) -> Result<Vec<RegionResponse>, GenesysError> {
        self.get(LINK_REGIONS, &[], Vec::new()).await
    }
}
