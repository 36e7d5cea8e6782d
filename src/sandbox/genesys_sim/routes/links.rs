//! Voice organization links, `/api/v2/telephony/organization/link` (rules in
//! [`crate::sandbox::genesys_sim::state::links`]).
//!
//! | request | success | errors |
//! |---|---|---|
//! | `GET /link` | 200, bare array of `OrganizationLinkResponse` (not paged) | |
//! | `POST /link` `CreateOrganizationLink` | 200 `OrganizationLink` (`status: Pending`) | 400 missing/malformed field, self, region not linkable; 404 no such org in that region; 409 already linked or pending |
//! | `PATCH /link/approve/{requestingOrganizationId}` `{approval}` | 204 | 400 no `approval`; 403 caller is the requester; 404 nothing pending from that org; 409 already approved |
//! | `DELETE /link/{targetOrganizationId}` | 204 | 404 nothing visible with that org |
//! | `GET /link/regions` | 200, bare array of `{regionName}` | |

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::Region;
use crate::genesys::models::{self, LinkStatus};
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{Caller, JsonBody, PathParams, Shared, body_id, path_id};
use crate::sandbox::genesys_sim::state::LinkView;

fn status(v: &LinkView) -> LinkStatus {
    LinkStatus::from(v.status.as_str().to_string())
}

fn response(v: LinkView) -> models::OrganizationLinkResponse {
    models::OrganizationLinkResponse {
        source_organization_id: Some(v.source_organization_id.to_string()),
        target_organization_id: Some(v.target_organization_id.to_string()),
        source_region: Some(v.source_region.code().to_string()),
        target_region: Some(v.target_region.code().to_string()),
        status: Some(status(&v)),
        target_name: Some(v.target_name),
    }
}

pub(crate) async fn list(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let links = sim.state.lock().links_of(caller.org)?;
    let body: Vec<_> = links.into_iter().map(response).collect();
    Ok(Json(body).into_response())
}

pub(crate) async fn create(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<models::CreateOrganizationLink>,
) -> Result<Response, ApiError> {
    let target = body_id("targetOrganizationId", &body.target_organization_id)?;
    let region = body
        .target_region
        .parse::<Region>()
        .map_err(|e| ApiError::bad_field("targetRegion", e.to_string()))?;
    let now = sim.clock.now();
    let view = sim
        .state
        .lock()
        .request_link(caller.org, target, region, now)?;
    Ok(Json(models::OrganizationLink {
        source_organization_id: view.source_organization_id.to_string(),
        target_organization_id: view.target_organization_id.to_string(),
        source_region: view.source_region.code().to_string(),
        target_region: view.target_region.code().to_string(),
        status: Some(status(&view)),
    })
    .into_response())
}

pub(crate) async fn approve(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
    JsonBody(body): JsonBody<models::OrganizationLinkApprovalRequest>,
) -> Result<Response, ApiError> {
    let requester = path_id(&params, "requestingOrganizationId")?;
    let approval = body.approval;
    let now = sim.clock.now();
    sim.state
        .lock()
        .answer_link(caller.org, requester, approval, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let other = path_id(&params, "targetOrganizationId")?;
    sim.state.lock().delete_link(caller.org, other)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn regions(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let regions = sim.state.lock().linkable_regions(caller.org)?;
    let body: Vec<_> = regions
        .into_iter()
        .map(|r| models::RegionResponse {
            region_name: Some(r.code().to_string()),
        })
        .collect();
    Ok(Json(body).into_response())
}
