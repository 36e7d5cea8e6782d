//! The trustor's side of authorized organizations, `/api/v2/orgauthorization/trustees`
//! ("organizations granted access to this organization", genesys-api.md §4.3): accept a
//! pairing by creating the trust, enable/disable it, manage which trustee users and
//! groups it holds and the roles (ours) they get, in all divisions or in chosen ones,
//! revoke it.

use reqwest::Method;

use super::client::{GenesysClient, Removal};
use super::error::GenesysError;
use super::models::{
    RoleDivisionGrants, TrustCreate, TrustGroup, TrustUpdate, TrustUser, Trustee, UserAuthorization,
};

const TRUSTEES: &str = "/api/v2/orgauthorization/trustees";
const TRUSTEE: &str = "/api/v2/orgauthorization/trustees/{trusteeOrgId}";
const USERS: &str = "/api/v2/orgauthorization/trustees/{trusteeOrgId}/users";
const USER_ROLES: &str =
    "/api/v2/orgauthorization/trustees/{trusteeOrgId}/users/{trusteeUserId}/roles";
const USER_ROLE_DIVISIONS: &str =
    "/api/v2/orgauthorization/trustees/{trusteeOrgId}/users/{trusteeUserId}/roledivisions";
const GROUPS: &str = "/api/v2/orgauthorization/trustees/{trusteeOrgId}/groups";
const GROUP_ROLES: &str =
    "/api/v2/orgauthorization/trustees/{trusteeOrgId}/groups/{trusteeGroupId}/roles";
const GROUP_ROLE_DIVISIONS: &str =
    "/api/v2/orgauthorization/trustees/{trusteeOrgId}/groups/{trusteeGroupId}/roledivisions";

impl GenesysClient {
    /// `POST /trustees`: accepts a pairing (`trust.pairing_id`) and grants our roles to
    /// the trustee's users and groups. The answer's `id` is the trustee org ID.
    pub async fn create_trust(&self, trust: &TrustCreate) -> Result<Trustee, GenesysError> {
        self.send_json(Method::POST, TRUSTEES, &[], Some(trust))
            .await
    }

    /// `GET /trustees` (all pages): every org with access to ours.
    pub async fn list_trustees(&self) -> Result<Vec<Trustee>, GenesysError> {
        self.list_all(TRUSTEES, &[], Vec::new()).await
    }

    /// `GET /trustees/{trusteeOrgId}`; `None` when there is no trust (never made, or
    /// revoked by either side).
    ///
    /// The operator reads the list instead (one snapshot per org serves every object).
    /// Public for an org checking one trust with its own credentials, as the tests do
    /// when they play the trustor.
    pub async fn get_trustee(&self, trustee_org_id: &str) -> Result<Option<Trustee>, GenesysError> {
        self.get_optional(TRUSTEE, &[trustee_org_id]).await
    }

    /// `PUT /trustees/{trusteeOrgId}`: enables or disables the trust (disabling keeps
    /// users and roles) and sets or clears its expiry.
    pub async fn update_trustee(
        &self,
        trustee_org_id: &str,
        update: &TrustUpdate,
    ) -> Result<Trustee, GenesysError> {
        self.send_json(Method::PUT, TRUSTEE, &[trustee_org_id], Some(update))
            .await
    }

    /// `DELETE /trustees/{trusteeOrgId}`: revokes the trust for both sides.
    pub async fn delete_trustee(&self, trustee_org_id: &str) -> Result<Removal, GenesysError> {
        self.remove(TRUSTEE, &[trustee_org_id]).await
    }

    // ---- users ----

    /// `GET /trustees/{trusteeOrgId}/users` (all pages), with each user's roles.
    pub async fn list_trustee_users(
        &self,
        trustee_org_id: &str,
    ) -> Result<Vec<TrustUser>, GenesysError> {
        self.list_all(USERS, &[trustee_org_id], Vec::new()).await
    }

    /// `GET .../users/{trusteeUserId}/roles`; `None` when the trust or the user is gone.
    pub async fn get_trustee_user_roles(
        &self,
        trustee_org_id: &str,
        user_id: &str,
    ) -> Result<Option<UserAuthorization>, GenesysError> {
        self.get_optional(USER_ROLES, &[trustee_org_id, user_id])
            .await
    }

    /// `PUT .../users/{trusteeUserId}/roles`: replaces the user's roles (in all
    /// divisions) with `role_ids`.
    pub async fn set_trustee_user_roles(
        &self,
        trustee_org_id: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> Result<UserAuthorization, GenesysError> {
        self.send_json(
            Method::PUT,
            USER_ROLES,
            &[trustee_org_id, user_id],
            Some(&role_ids),
        )
        .await
    }

    /// `PUT .../users/{trusteeUserId}/roledivisions`: replaces the user's roles with
    /// `grants`, each role in the division it names (`"*"`: all divisions).
    ///
    /// `PUT .../roles` can only grant a role in all divisions; a grant scoped to some
    /// divisions of our org needs this call. Like `PUT .../roles` it replaces every role
    /// the user held, so `grants` must list all of them. The answer shows the roles only:
    /// Genesys does not say in which divisions they were granted.
    pub async fn set_trustee_user_role_divisions(
        &self,
        trustee_org_id: &str,
        user_id: &str,
        grants: &RoleDivisionGrants,
    ) -> Result<UserAuthorization, GenesysError> {
        self.send_json(
            Method::PUT,
            USER_ROLE_DIVISIONS,
            &[trustee_org_id, user_id],
            Some(grants),
        )
        .await
    }

    /// `DELETE .../users/{trusteeUserId}/roles`: takes every role away (the user stays
    /// in the trust, able to do nothing).
    ///
    /// The operator never calls it (it replaces roles with `set_trustee_user_roles`).
    /// Public for what an admin of the trustor org does with its own credentials, as
    /// the Genesys UI would: the scenario tests take roles away behind the operator's
    /// back and check that it restores `spec.grant`.
    pub async fn clear_trustee_user_roles(
        &self,
        trustee_org_id: &str,
        user_id: &str,
    ) -> Result<Removal, GenesysError> {
        self.remove(USER_ROLES, &[trustee_org_id, user_id]).await
    }

    // ---- groups ----

    /// `GET /trustees/{trusteeOrgId}/groups` (all pages).
    pub async fn list_trustee_groups(
        &self,
        trustee_org_id: &str,
    ) -> Result<Vec<TrustGroup>, GenesysError> {
        self.list_all(GROUPS, &[trustee_org_id], Vec::new()).await
    }

    /// `GET .../groups/{trusteeGroupId}/roles`; `None` when the trust or group is gone.
    pub async fn get_trustee_group_roles(
        &self,
        trustee_org_id: &str,
        group_id: &str,
    ) -> Result<Option<UserAuthorization>, GenesysError> {
        self.get_optional(GROUP_ROLES, &[trustee_org_id, group_id])
            .await
    }

    /// `PUT .../groups/{trusteeGroupId}/roles`: replaces the group's roles.
    pub async fn set_trustee_group_roles(
        &self,
        trustee_org_id: &str,
        group_id: &str,
        role_ids: &[String],
    ) -> Result<UserAuthorization, GenesysError> {
        self.send_json(
            Method::PUT,
            GROUP_ROLES,
            &[trustee_org_id, group_id],
            Some(&role_ids),
        )
        .await
    }

    /// `PUT .../groups/{trusteeGroupId}/roledivisions`: replaces the group's roles with
    /// `grants`, each role in the division it names (`"*"`: all divisions). As for
    /// users ([`Self::set_trustee_user_role_divisions`]), the only way to scope a role
    /// to some divisions, and the answer shows the roles only.
    pub async fn set_trustee_group_role_divisions(
        &self,
        trustee_org_id: &str,
        group_id: &str,
        grants: &RoleDivisionGrants,
    ) -> Result<UserAuthorization, GenesysError> {
        self.send_json(
            Method::PUT,
            GROUP_ROLE_DIVISIONS,
            &[trustee_org_id, group_id],
            Some(grants),
        )
        .await
    }
}
