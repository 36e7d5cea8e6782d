//! The trustee's side of authorized organizations, `/api/v2/orgauthorization/trustors`
//! ("organizations that have authorized/trusted your organization", genesys-api.md
//! §4.3): see a trust and the permissions it gives, add or remove our users and groups
//! (the trustor then gives them roles), revoke it.

use reqwest::Method;

use super::client::{GenesysClient, Removal};
use super::error::GenesysError;
use super::models::{TrustGroup, TrustUser, Trustor};

const TRUSTORS: &str = "/api/v2/orgauthorization/trustors";
const TRUSTOR: &str = "/api/v2/orgauthorization/trustors/{trustorOrgId}";
const USERS: &str = "/api/v2/orgauthorization/trustors/{trustorOrgId}/users";
const USER: &str = "/api/v2/orgauthorization/trustors/{trustorOrgId}/users/{trusteeUserId}";
const GROUPS: &str = "/api/v2/orgauthorization/trustors/{trustorOrgId}/groups";
const GROUP: &str = "/api/v2/orgauthorization/trustors/{trustorOrgId}/groups/{trustorGroupId}";

impl GenesysClient {
    /// `GET /trustors` (all pages): every org that gave ours access.
    pub async fn list_trustors(&self) -> Result<Vec<Trustor>, GenesysError> {
        self.list_all(TRUSTORS, &[], Vec::new()).await
    }

    /// `GET /trustors/{trustorOrgId}`, with `authorization.permissions`; `None` when
    /// there is no trust (not yet created, or revoked by either side).
    ///
    /// The operator reads the list instead (one snapshot per org serves every object).
    /// Public for an org checking one trust, and what it may do in the trustor org, with
    /// its own credentials, as the tests do when they play the trustee.
    pub async fn get_trustor(&self, trustor_org_id: &str) -> Result<Option<Trustor>, GenesysError> {
        self.get_optional(TRUSTOR, &[trustor_org_id]).await
    }

    /// `DELETE /trustors/{trustorOrgId}`: gives the access up, for both sides.
    pub async fn delete_trustor(&self, trustor_org_id: &str) -> Result<Removal, GenesysError> {
        self.remove(TRUSTOR, &[trustor_org_id]).await
    }

    /// `GET /trustors/{trustorOrgId}/users` (all pages).
    pub async fn list_trustor_users(
        &self,
        trustor_org_id: &str,
    ) -> Result<Vec<TrustUser>, GenesysError> {
        self.list_all(USERS, &[trustor_org_id], Vec::new()).await
    }

    /// `PUT /trustors/{trustorOrgId}/users/{trusteeUserId}` (no body): adds one of our
    /// users to the trust. Idempotent.
    pub async fn add_trustor_user(
        &self,
        trustor_org_id: &str,
        user_id: &str,
    ) -> Result<TrustUser, GenesysError> {
        self.send_json::<(), _>(Method::PUT, USER, &[trustor_org_id, user_id], None)
            .await
    }

    /// `DELETE /trustors/{trustorOrgId}/users/{trusteeUserId}`.
    pub async fn remove_trustor_user(
        &self,
        trustor_org_id: &str,
        user_id: &str,
    ) -> Result<Removal, GenesysError> {
        self.remove(USER, &[trustor_org_id, user_id]).await
    }

    /// `GET /trustors/{trustorOrgId}/groups` (all pages).
    pub async fn list_trustor_groups(
        &self,
        trustor_org_id: &str,
    ) -> Result<Vec<TrustGroup>, GenesysError> {
        self.list_all(GROUPS, &[trustor_org_id], Vec::new()).await
    }

    /// `PUT /trustors/{trustorOrgId}/groups/{groupId}` (no body): adds one of our groups
    /// to the trust. (The SDK names the parameter "trustorGroupId"; it is our group's ID.)
    pub async fn add_trustor_group(
        &self,
        trustor_org_id: &str,
        group_id: &str,
    ) -> Result<TrustGroup, GenesysError> {
        self.send_json::<(), _>(Method::PUT, GROUP, &[trustor_org_id, group_id], None)
            .await
    }

    /// `DELETE /trustors/{trustorOrgId}/groups/{groupId}`.
    pub async fn remove_trustor_group(
        &self,
        trustor_org_id: &str,
        group_id: &str,
    ) -> Result<Removal, GenesysError> {
        self.remove(GROUP, &[trustor_org_id, group_id]).await
    }
}
