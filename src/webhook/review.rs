//! One AdmissionReview in, one out: parsing, the DELETE and cache-sync cases, and the
//! verdict of [`super::rules`] turned into an `AdmissionResponse`. No I/O.

use k8s_openapi::jiff::Timestamp;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::core::{DynamicObject, Status};

use super::rules::{ClusterView, Write, check};
use crate::genesys::ApiBaseUrlAllowlist;

/// Why a body is not a review we can answer (an HTTP 400, not a denial).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ReviewError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error(
        "expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got {api_version:?}, {kind:?}"
    )]
    WrongType { api_version: String, kind: String },
    #[error("AdmissionReview has no request: {0}")]
    NoRequest(String),
}

/// Answers one review. `view` is `None` while the caches are still syncing.
pub(crate) fn answer(
    body: &[u8],
    view: Option<&dyn ClusterView>,
    allowlist: &ApiBaseUrlAllowlist,
    now: Timestamp,
) -> Result<AdmissionReview<DynamicObject>, ReviewError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    let api_version = value
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let kind = value
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
        return Err(ReviewError::WrongType {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        });
    }
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_value(value).map_err(|e| ReviewError::NoRequest(e.to_string()))?;
    let request: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| ReviewError::NoRequest("the request field is missing".into()))?;
    Ok(respond(&request, view, allowlist, now).into_review())
}

fn respond(
    request: &AdmissionRequest<DynamicObject>,
    view: Option<&dyn ClusterView>,
    allowlist: &ApiBaseUrlAllowlist,
    now: Timestamp,
) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return response;
    }
    // Metadata-only updates (finalizers, labels, annotations) change nothing the rules
    // judge; letting them through keeps finalizers working while the caches sync.
    if request.operation == Operation::Update
        && let (Some(new), Some(old)) = (request.object.as_ref(), request.old_object.as_ref())
        && new.data.get("spec") == old.data.get("spec")
    {
        return response;
    }
    let Some(view) = view else {
        return deny(
            response,
            "orglink-operator's webhook is still loading Organizations, OrgLinks and OrgPairings; retry in a few seconds".into(),
        );
    };
    let Some(object) = request.object.as_ref() else {
        return deny(response, "the request carries no object".into());
    };
    let object = serde_json::to_value(object).unwrap_or_default();
    let old = request
        .old_object
        .as_ref()
        .map(|o| serde_json::to_value(o).unwrap_or_default());
    let namespace = request.namespace.clone().unwrap_or_default();
    let write = Write {
        kind: &request.kind.kind,
        namespace: &namespace,
        name: &request.name,
        object: &object,
        old: old.as_ref(),
    };
    let verdict = check(&write, view, allowlist, now);
    let mut response = if verdict.allowed() {
        response
    } else {
        deny(response, verdict.denials.join("; "))
    };
    if !verdict.warnings.is_empty() {
        response.warnings = Some(verdict.warnings);
    }
    response
}

fn deny(mut response: AdmissionResponse, message: String) -> AdmissionResponse {
    response.allowed = false;
    response.result = Status::failure(&message, "Invalid").with_code(422);
    response
}
