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

/// What a body says it is, read before the rest so that a body of another type (an
/// older `admission.k8s.io/v1beta1` review, say) is told what was expected rather than
/// which of its fields did not parse. Unknown fields are skipped, not kept.
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeOf {
    #[serde(default)]
    api_version: serde_json::Value,
    #[serde(default)]
    kind: serde_json::Value,
}

/// Answers one review. `view` is `None` while the caches are still syncing.
///
/// The body is read straight into its types, never into a generic JSON tree first: the
/// API server waits on this answer for every write of the three kinds.
pub(crate) fn answer(
    body: &[u8],
    view: Option<&dyn ClusterView>,
    allowlist: &ApiBaseUrlAllowlist,
    now: Timestamp,
) -> Result<AdmissionReview<DynamicObject>, ReviewError> {
    let type_of: TypeOf = match serde_json::from_slice(body) {
        Ok(type_of) => type_of,
        // JSON, but not an object (`[]`, `"x"`): not a review, of no type.
        Err(e) if e.is_data() => TypeOf::default(),
        Err(e) => return Err(ReviewError::NotJson(e.to_string())),
    };
    let api_version = type_of.api_version.as_str().unwrap_or_default();
    let kind = type_of.kind.as_str().unwrap_or_default();
    if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
        return Err(ReviewError::WrongType {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        });
    }
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_slice(body).map_err(|e| ReviewError::NoRequest(e.to_string()))?;
    let request: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| ReviewError::NoRequest("the request field is missing".into()))?;
    Ok(respond(request, view, allowlist, now).into_review())
}

fn respond(
    request: AdmissionRequest<DynamicObject>,
    view: Option<&dyn ClusterView>,
    allowlist: &ApiBaseUrlAllowlist,
    now: Timestamp,
) -> AdmissionResponse {
    let response = AdmissionResponse::from(&request);
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
    let Some(object) = request.object.map(rule_input) else {
        return deny(response, "the request carries no object".into());
    };
    let old = request.old_object.map(rule_input);
    let write = Write {
        kind: &request.kind.kind,
        namespace: request.namespace.as_deref().unwrap_or_default(),
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

/// The object as the rules read it. Its managedFields (the API server's record of which
/// client set which field, most of the object's metadata) are left out: no rule reads
/// them, and they would be converted twice on every review.
fn rule_input(mut object: DynamicObject) -> serde_json::Value {
    object.metadata.managed_fields = None;
    serde_json::to_value(object).unwrap_or_default()
}

fn deny(mut response: AdmissionResponse, message: String) -> AdmissionResponse {
    response.allowed = false;
    response.result = Status::failure(&message, "Invalid").with_code(422);
    response
}
