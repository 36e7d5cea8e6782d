//! Trust members (users and groups) and their roles, shared by both sides of a trust:
//! `/trustees/{trusteeOrgId}/users|groups/...` (the trustor) and
//! `/trustors/{trustorOrgId}/users|groups/...` (the trustee). Rules in
//! [`crate::sandbox::genesys_sim::state::trusts`].
//!
//! | request | success | errors |
//! |---|---|---|
//! | `GET .../users` / `.../groups` (paged) | 200 `TrustUserEntityListing` / `TrustGroupEntityListing` | 404 no trust |
//! | `POST /trustees/{id}/users|groups` `TrustMemberCreate` (trustor) | 200 `TrustUser` / `TrustGroup` | 400 not a member of the trustee org, unknown role, 26th user; 404 no trust; 409 already in the trust |
//! | `PUT /trustors/{id}/users|groups/{memberId}` (trustee, no body) | 200 `TrustUser` / `TrustGroup` (idempotent) | 400 not ours, 26th user; 404 no trust |
//! | `GET .../{memberId}` | 200 `TrustUser` / `TrustGroup` | 404 no trust or not a member |
//! | `DELETE .../{memberId}` | 204 | 404 |
//! | `GET /trustees/{id}/users|groups/{memberId}/roles` | 200 `UserAuthorization` | 404 |
//! | `PUT .../roles` (array of role IDs) | 200 `UserAuthorization` (each role in all divisions, `"*"`) | 400 unknown role (named); 404 |
//! | `PUT .../roledivisions` `RoleDivisionGrants` | 200 `UserAuthorization` (each role in the divisions its pairs name) | 400 unknown role, division neither `"*"` nor one of the trustor's (`roleDivisions.grants[i].divisionId`, value named); 404 |
//! | `DELETE .../roles` | 204 (member keeps its place, without roles) | 404 |
//!
//! `UserAuthorization` shows the roles only, never their divisions (as Genesys); the
//! divisions are in [`MemberGrant::role_divisions`] of the state.

use std::marker::PhantomData;

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::{
    member_authorization, member_input, role_division_pairs, role_ids, trust_group, trust_user,
};
use crate::genesys::models;
use crate::sandbox::genesys_sim::error::ApiError;
use crate::sandbox::genesys_sim::http::{
    Caller, JsonBody, PathParams, Shared, path_id, query_pairs,
};
use crate::sandbox::genesys_sim::paging::{PageRequest, paginate};
use crate::sandbox::genesys_sim::state::trusts::AddedBy;
use crate::sandbox::genesys_sim::state::{
    MemberGrant, MemberKind, SimState, Trust, TrustMemberInput,
};

/// Which side of the trust the caller is on.
pub(crate) trait Side: Send + Sync + 'static {
    /// The path parameter naming the other org.
    const ORG_PARAM: &'static str;
    /// `/trustees` or `/trustors`.
    const COLLECTION: &'static str;
    /// (trustor, trustee) given the caller and the other org.
    fn pair(caller: Uuid, other: Uuid) -> (Uuid, Uuid);
    /// The path parameter naming a member of `kind`.
    fn member_param(kind: MemberKind) -> &'static str;
}

/// The trustor, calling `/trustees/{trusteeOrgId}/...`.
pub(crate) struct TrustorSide;
/// The trustee, calling `/trustors/{trustorOrgId}/...`.
pub(crate) struct TrusteeSide;

impl Side for TrustorSide {
    const ORG_PARAM: &'static str = "trusteeOrgId";
    const COLLECTION: &'static str = "trustees";
    fn pair(caller: Uuid, other: Uuid) -> (Uuid, Uuid) {
        (caller, other)
    }
    fn member_param(kind: MemberKind) -> &'static str {
        match kind {
            MemberKind::User => "trusteeUserId",
            MemberKind::Group => "trusteeGroupId",
        }
    }
}

impl Side for TrusteeSide {
    const ORG_PARAM: &'static str = "trustorOrgId";
    const COLLECTION: &'static str = "trustors";
    fn pair(caller: Uuid, other: Uuid) -> (Uuid, Uuid) {
        (other, caller)
    }
    fn member_param(kind: MemberKind) -> &'static str {
        match kind {
            MemberKind::User => "trusteeUserId",
            // Genesys names it so, although it is the trustee's group (genesys-api.md §4.3).
            MemberKind::Group => "trustorGroupId",
        }
    }
}

/// Users or groups.
pub(crate) trait Kind: Send + Sync + 'static {
    const KIND: MemberKind;
    type View: Serialize;
    fn view(state: &SimState, trust: &Trust, grant: &MemberGrant) -> Self::View;
}

pub(crate) struct Users;
pub(crate) struct Groups;

impl Kind for Users {
    const KIND: MemberKind = MemberKind::User;
    type View = models::TrustUser;
    fn view(state: &SimState, trust: &Trust, grant: &MemberGrant) -> models::TrustUser {
        trust_user(state, trust, grant)
    }
}

impl Kind for Groups {
    const KIND: MemberKind = MemberKind::Group;
    type View = models::TrustGroup;
    fn view(state: &SimState, trust: &Trust, grant: &MemberGrant) -> models::TrustGroup {
        trust_group(state, trust, grant)
    }
}

fn paths<S: Side, K: Kind>(prefix: &str) -> (String, String) {
    let base = format!(
        "{prefix}/{}/{{{}}}/{}",
        S::COLLECTION,
        S::ORG_PARAM,
        K::KIND.list()
    );
    let one = format!("{base}/{{{}}}", S::member_param(K::KIND));
    (base, one)
}

/// The trustor's routes of one member kind: `{prefix}/trustees/{trusteeOrgId}/users|groups...`.
pub(crate) fn trustor_routes<K: Kind>(prefix: &str) -> axum::Router<Shared> {
    use axum::routing::{get, put};
    type S = TrustorSide;
    let (base, one) = paths::<S, K>(prefix);
    axum::Router::new()
        .route(&base, get(list::<S, K>).post(add_by_trustor::<S, K>))
        .route(&one, get(get_one::<S, K>).delete(remove::<S, K>))
        .route(
            &format!("{one}/roles"),
            get(get_roles::<S, K>)
                .put(put_roles::<S, K>)
                .delete(delete_roles::<S, K>),
        )
        .route(
            &format!("{one}/roledivisions"),
            put(put_role_divisions::<S, K>),
        )
}

/// The trustee's routes of one member kind: `{prefix}/trustors/{trustorOrgId}/users|groups...`.
pub(crate) fn trustee_routes<K: Kind>(prefix: &str) -> axum::Router<Shared> {
    use axum::routing::get;
    type S = TrusteeSide;
    let (base, one) = paths::<S, K>(prefix);
    axum::Router::new().route(&base, get(list::<S, K>)).route(
        &one,
        get(get_one::<S, K>)
            .put(add_by_trustee::<S, K>)
            .delete(remove::<S, K>),
    )
}

struct Target<S, K> {
    trustor: Uuid,
    trustee: Uuid,
    _marker: PhantomData<(S, K)>,
}

fn target<S: Side, K: Kind>(
    caller: &Caller,
    params: &PathParams,
) -> Result<Target<S, K>, ApiError> {
    let other = path_id(params, S::ORG_PARAM)?;
    let (trustor, trustee) = S::pair(caller.org, other);
    Ok(Target {
        trustor,
        trustee,
        _marker: PhantomData,
    })
}

fn member_id<S: Side, K: Kind>(params: &PathParams) -> Result<Uuid, ApiError> {
    path_id(params, S::member_param(K::KIND))
}

async fn list<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let page = PageRequest::from_query(&query_pairs(query.as_deref()))?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let trust = state.trust(t.trustor, t.trustee, now)?.clone();
    let mut grants: Vec<&MemberGrant> = trust.members(K::KIND).values().collect();
    grants.sort_by_key(|g| (g.added_at, g.id));
    let views: Vec<K::View> = grants
        .into_iter()
        .map(|g| K::view(&state, &trust, g))
        .collect();
    let path = format!(
        "/api/v2/orgauthorization/{}/{}/{}",
        S::COLLECTION,
        params[S::ORG_PARAM],
        K::KIND.list()
    );
    Ok(Json(paginate(views, page, &path, &[])).into_response())
}

async fn get_one<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let id = member_id::<S, K>(&params)?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let grant = state
        .member(t.trustor, t.trustee, K::KIND, id, now)?
        .clone();
    let trust = state.trust(t.trustor, t.trustee, now)?.clone();
    Ok(Json(K::view(&state, &trust, &grant)).into_response())
}

fn add<S: Side, K: Kind>(
    sim: &Shared,
    t: &Target<S, K>,
    input: &TrustMemberInput,
    by: AddedBy,
) -> Result<Response, ApiError> {
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let grant = state
        .add_member(t.trustor, t.trustee, K::KIND, input, by, now)?
        .clone();
    let trust = state.trust(t.trustor, t.trustee, now)?.clone();
    Ok(Json(K::view(&state, &trust, &grant)).into_response())
}

async fn add_by_trustor<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
    JsonBody(body): JsonBody<models::TrustMemberCreate>,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let input = member_input("", &body)?;
    add(&sim, &t, &input, AddedBy::Trustor)
}

async fn add_by_trustee<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let input = TrustMemberInput {
        id: member_id::<S, K>(&params)?,
        ..TrustMemberInput::default()
    };
    add(&sim, &t, &input, AddedBy::Trustee)
}

async fn remove<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let id = member_id::<S, K>(&params)?;
    let now = sim.clock.now();
    sim.state
        .lock()
        .remove_member(t.trustor, t.trustee, K::KIND, id, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn set_roles<S: Side, K: Kind>(
    sim: &Shared,
    t: &Target<S, K>,
    id: Uuid,
    roles: &[Uuid],
) -> Result<Response, ApiError> {
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let grant = state
        .set_member_roles(t.trustor, t.trustee, K::KIND, id, roles, now)?
        .clone();
    let trust = state.trust(t.trustor, t.trustee, now)?.clone();
    Ok(Json(member_authorization(&state, &trust, &grant)).into_response())
}

async fn get_roles<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let id = member_id::<S, K>(&params)?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let grant = state
        .member(t.trustor, t.trustee, K::KIND, id, now)?
        .clone();
    let trust = state.trust(t.trustor, t.trustee, now)?.clone();
    Ok(Json(member_authorization(&state, &trust, &grant)).into_response())
}

async fn put_roles<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
    JsonBody(body): JsonBody<Vec<String>>,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let id = member_id::<S, K>(&params)?;
    let roles = role_ids("roleIds", &body)?;
    set_roles(&sim, &t, id, &roles)
}

async fn put_role_divisions<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
    JsonBody(body): JsonBody<models::RoleDivisionGrants>,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let id = member_id::<S, K>(&params)?;
    let pairs = role_division_pairs("roleDivisions", &body)?;
    let now = sim.clock.now();
    let mut state = sim.state.lock();
    let grant = state
        .set_member_role_divisions(t.trustor, t.trustee, K::KIND, id, &pairs, now)?
        .clone();
    let trust = state.trust(t.trustor, t.trustee, now)?.clone();
    Ok(Json(member_authorization(&state, &trust, &grant)).into_response())
}

async fn delete_roles<S: Side, K: Kind>(
    State(sim): State<Shared>,
    Extension(caller): Extension<Caller>,
    params: PathParams,
) -> Result<Response, ApiError> {
    let t = target::<S, K>(&caller, &params)?;
    let id = member_id::<S, K>(&params)?;
    set_roles(&sim, &t, id, &[])?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
