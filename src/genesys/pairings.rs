//! Pairings, `/api/v2/orgauthorization/pairings` (genesys-api.md §4.2–§4.3): created by
//! the trustee, read by either side, expiring 48 h after creation. There is no list and
//! no delete endpoint, so the pairing ID must be kept by the caller.

use reqwest::Method;

use super::client::GenesysClient;
use super::error::GenesysError;
use super::models::{TrustRequest, TrustRequestCreate};

const PAIRINGS: &str = "/api/v2/orgauthorization/pairings";
const PAIRING: &str = "/api/v2/orgauthorization/pairings/{pairingId}";

impl GenesysClient {
    /// `POST /orgauthorization/pairings`: asks for access for these users and groups of
    /// our org (at least one of either; at most 25 users). Every call creates a new
    /// pairing.
    pub async fn create_pairing(
        &self,
        user_ids: &[String],
        group_ids: &[String],
    ) -> Result<TrustRequest, GenesysError> {
        if user_ids.is_empty() && group_ids.is_empty() {
            return Err(GenesysError::InvalidArgument(
                "a pairing needs at least one user ID or group ID".into(),
            ));
        }
        let body = TrustRequestCreate {
            user_ids: user_ids.to_vec(),
            group_ids: group_ids.to_vec(),
        };
        self.send_json(Method::POST, PAIRINGS, &[], Some(&body))
            .await
    }

    /// `GET /orgauthorization/pairings/{pairingId}`; `None` when Genesys no longer
    /// knows it (404: unknown, or expired after 48 h).
    pub async fn get_pairing(
        &self,
        pairing_id: &str,
    ) -> Result<Option<TrustRequest>, GenesysError> {
        self.get_optional(PAIRING, &[pairing_id]).await
    }
}
