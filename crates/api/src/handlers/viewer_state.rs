//! Batch look-ups of the caller's own state, for clients that cache lists of films or members and
//! need only what changed for the viewer: one request for up to 100 at a time.

use actix_web::{HttpResponse, get, web};
use filmlog_app::ErrorCode;
use filmlog_domain::visibility::{FilmState, Sight, Subject, Viewer, sight};
use filmlog_domain::{Slug, Username};
use filmlog_persistence::{catalog, members};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::dto::{ViewerFilm, ViewerMember};
use crate::error::{ApiError, ApiResult, ServiceUnavailable, Unauthenticated};
use crate::extract::Query;
use crate::state::AppState;

/// The most names one look-up takes.
pub const MAX_BATCH: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlugsQuery {
    /// Up to 100 film slugs, comma-separated.
    #[param(example = "children-of-heaven-1997,close-up-1990")]
    pub slugs: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsernamesQuery {
    /// Up to 100 usernames (any case), comma-separated.
    #[param(example = "shirin,amara")]
    pub usernames: String,
}

/// The names of a batch, in the order sent, without repeats; 400 when there are none or more than
/// [`MAX_BATCH`].
fn names(raw: &str, parameter: &str) -> ApiResult<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    if names.is_empty() || names.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQueryParameter,
            format!("{parameter} takes 1 to {MAX_BATCH} comma-separated names"),
        ));
    }
    Ok(names)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FilmStateItem {
    #[schema(example = "children-of-heaven-1997")]
    pub slug: String,
    pub viewer: ViewerFilm,
}

/// Your state with each film asked for, in the order asked; `unknown` lists the slugs of no film.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilmStates {
    pub items: Vec<FilmStateItem>,
    pub unknown: Vec<String>,
}

/// Your state with many films
///
/// Watched, liked, watchlisted and your rating for each film, as film summaries carry it in `viewer`.
#[utoipa::path(
    operation_id = "my_film_states",
    tag = "me",
    params(SlugsQuery),
    responses(
        (status = 200, description = "In the order asked", body = FilmStates),
        (status = 400, response = crate::error::InvalidQueryParameterNoSlugs),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/films")]
pub async fn my_films(
    state: web::Data<AppState>,
    auth: Caller,
    query: Query<SlugsQuery>,
) -> ApiResult<HttpResponse> {
    let asked = names(&query.slugs, "slugs")?;
    let valid: Vec<String> = asked
        .iter()
        .filter(|s| Slug::parse(s).is_ok())
        .cloned()
        .collect();
    let mut conn = state.read_conn().await?;
    let found = catalog::viewer_states(&mut conn, auth.id(), &valid).await?;
    let mut items = Vec::with_capacity(found.len());
    let mut unknown = Vec::new();
    for slug in asked {
        match found.iter().find(|(s, _)| *s == slug) {
            Some((_, row)) => items.push(FilmStateItem {
                slug,
                viewer: FilmState::from(*row).into(),
            }),
            None => unknown.push(slug),
        }
    }
    Ok(HttpResponse::Ok().json(FilmStates { items, unknown }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberStateItem {
    #[schema(example = "shirin")]
    pub username: String,
    pub viewer: ViewerMember,
}

/// Your relationship with each member asked for, in the order asked; `unknown` lists the names of
/// no member you can see.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberStates {
    pub items: Vec<MemberStateItem>,
    pub unknown: Vec<String>,
}

/// Your relationships with many members
///
/// Following, followed by, follow requested, blocking and muting for each member, as member profiles
/// carry it in `viewer`. A member hidden from you (who blocked you, or is suspended) is `unknown`.
#[utoipa::path(
    operation_id = "my_relationships",
    tag = "me",
    params(UsernamesQuery),
    responses(
        (status = 200, description = "In the order asked", body = MemberStates),
        (status = 400, response = crate::error::InvalidQueryParameterNoUsernames),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/relationships")]
pub async fn my_relationships(
    state: web::Data<AppState>,
    auth: Caller,
    query: Query<UsernamesQuery>,
) -> ApiResult<HttpResponse> {
    let asked = names(&query.usernames, "usernames")?;
    let valid: Vec<String> = asked
        .iter()
        .filter(|u| Username::parse(u).is_ok())
        .cloned()
        .collect();
    let viewer = Viewer::Member(auth.id());
    let mut conn = state.read_conn().await?;
    let found = members::standings_by_username(&mut conn, viewer.member(), &valid).await?;
    let mut items = Vec::with_capacity(found.len());
    let mut unknown = Vec::new();
    for name in asked {
        let seen = found.iter().find(|(standing, username)| {
            username.eq_ignore_ascii_case(&name)
                && sight(viewer, Subject::Profile(standing.id), standing.relation())
                    == Sight::Visible
        });
        match seen {
            Some((standing, username)) => items.push(MemberStateItem {
                username: username.clone(),
                viewer: standing.viewer.into(),
            }),
            None => unknown.push(name),
        }
    }
    Ok(HttpResponse::Ok().json(MemberStates { items, unknown }))
}
