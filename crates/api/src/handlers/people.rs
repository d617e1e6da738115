//! People: a person's page with their filmography as the reader may see it, and the admins'
//! merges and splits.

use actix_web::{HttpResponse, get, post, web};
use filmlog_app::ops;
use filmlog_domain::visibility::FilmState;
use filmlog_domain::{CreditRole, FilmId, Slug, Viewer};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::people::{self, CreditedFilm, PersonRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthMember, Viewing};
use crate::dto::FilmSummary;
use crate::error::{
    AdminOnly, ApiError, ApiResult, MalformedJson, NotJson, PersonNotFound, ServiceUnavailable,
    Unauthenticated,
};
use crate::extract::{JsonBody, PersonSlug};
use crate::handlers::films::any_film_id;
use crate::middleware::conditional::json_with_etag;
use crate::state::AppState;

/// What a person did: acted (`cast`) or a crew job.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Director,
    Writer,
    Cast,
    Producer,
    Composer,
    Cinematographer,
    Editor,
}

impl From<CreditRole> for Role {
    fn from(r: CreditRole) -> Self {
        match r {
            CreditRole::Director => Role::Director,
            CreditRole::Writer => Role::Writer,
            CreditRole::Cast => Role::Cast,
            CreditRole::Producer => Role::Producer,
            CreditRole::Composer => Role::Composer,
            CreditRole::Cinematographer => Role::Cinematographer,
            CreditRole::Editor => Role::Editor,
        }
    }
}

/// A film in a filmography.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Credit {
    #[serde(flatten)]
    pub film: FilmSummary,
    /// For a cast credit: who they played, when known.
    #[schema(example = "Ali")]
    pub character: Option<String>,
    /// For a cast credit: their place in the billing, from 0.
    pub billing_order: Option<i32>,
}

/// One role's films, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleFilms {
    pub role: Role,
    pub films: Vec<Credit>,
}

/// How much of a person's work the reader has seen.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Progress {
    /// Films of theirs you have watched.
    #[schema(example = 3)]
    pub watched: usize,
    /// Films of theirs in the catalog (any role, each once).
    #[schema(example = 7)]
    pub total: usize,
}

/// A person and their filmography.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonPage {
    #[schema(example = "majid-majidi")]
    pub slug: String,
    #[schema(example = "Majid Majidi")]
    pub name: String,
    /// Directing first, then writing, acting and the other crew jobs; in each, newest film first.
    pub filmography: Vec<RoleFilms>,
    /// "You have watched N of M": present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

impl PersonPage {
    fn build(person: PersonRow, credits: Vec<CreditedFilm>, viewer: Viewer) -> Self {
        let mut groups: Vec<RoleFilms> = Vec::new();
        let mut seen: std::collections::HashMap<String, bool> = Default::default();
        for c in credits {
            let watched = FilmState::from(c.viewer).watched;
            seen.entry(c.film.slug.clone())
                .and_modify(|w| *w |= watched)
                .or_insert(watched);
            let cast = c.role == CreditRole::Cast;
            let credit = Credit {
                film: FilmSummary::from(c.film).seen_by(viewer, c.viewer),
                character: c.character.filter(|_| cast),
                billing_order: cast.then_some(c.billing_order),
            };
            let role = Role::from(c.role);
            match groups.last_mut() {
                Some(group) if group.role == role => group.films.push(credit),
                _ => groups.push(RoleFilms {
                    role,
                    films: vec![credit],
                }),
            }
        }
        let progress = viewer.member().map(|_| Progress {
            watched: seen.values().filter(|w| **w).count(),
            total: seen.len(),
        });
        PersonPage {
            slug: person.slug,
            name: person.name,
            filmography: groups,
            progress,
        }
    }
}

async fn person(conn: &mut AsyncPgConnection, slug: &Slug) -> ApiResult<PersonRow> {
    people::by_slug(conn, slug.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("that person"))
}

/// A person
///
/// Their filmography grouped by role (directing, writing, acting, other crew jobs; newest first in
/// each, at most 2,000 credits), each film with your state when you are signed in, and how many of
/// their films you have watched. Films you may not see (another member's unverified import) are
/// not listed or counted.
#[utoipa::path(
    operation_id = "get_person",
    tag = "people",
    params(("person" = String, Path, description = "The person's slug", example = "majid-majidi")),
    responses(
        (status = 200, description = "The person, with an `ETag`", body = PersonPage),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`"),
        (status = 404, response = PersonNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/people/{person}")]
pub async fn get_person(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    PersonSlug(slug): PersonSlug,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let found = person(&mut conn, &slug).await?;
    let credits = people::filmography(&mut conn, found.id, viewer.member()).await?;
    drop(conn);
    json_with_etag(&PersonPage::build(found, credits, viewer))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergePersonRequest {
    /// The slug of the person who stays.
    #[schema(example = "john-h-auer")]
    pub into: String,
}

/// What a merge did.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergePersonResult {
    /// The person who stays.
    pub person: PersonPage,
    /// Credits that moved to them.
    pub credits_moved: usize,
    /// Credits they had already (same film and role), dropped.
    pub credits_dropped: usize,
}

/// Merge a person into another (admins)
///
/// For one person the catalog holds twice (a name spelt two ways, a name split by a source): the
/// person's credits move to `into` (a credit `into` has already on the same film and role is
/// dropped) and the person is deleted; their slug is then unknown. Written to the catalog log.
#[utoipa::path(
    operation_id = "merge_person",
    tag = "people",
    params(("person" = String, Path, description = "The slug of the person who goes", example = "john-auer")),
    request_body = MergePersonRequest,
    responses(
        (status = 200, description = "Merged", body = MergePersonResult),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 404, response = PersonNotFound),
        (status = 409, response = crate::error::SamePerson),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedIntoNotSlug),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/admin/people/{person}/merge")]
pub async fn merge_person(
    state: web::Data<AppState>,
    auth: AuthMember,
    PersonSlug(slug): PersonSlug,
    body: JsonBody<MergePersonRequest>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins may change the catalog")?;
    let into = Slug::parse(&body.0.into)
        .map_err(|e| ApiError::invalid_field("/into", "invalid_slug", e))?;
    let mut conn = state.conn().await?;
    let from = person(&mut conn, &slug).await?;
    let kept = person(&mut conn, &into).await?;
    let merged = ops::people::merge(&mut conn, auth.id(), &from, &kept).await?;
    let admin = Viewer::Member(auth.id());
    let credits = people::filmography(&mut conn, kept.id, admin.member()).await?;
    drop(conn);
    Ok(HttpResponse::Ok().json(MergePersonResult {
        person: PersonPage::build(kept, credits, admin),
        credits_moved: merged.credits_moved,
        credits_dropped: merged.credits_dropped,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitPersonRequest {
    /// Slugs of the films (1–500) whose credits belong to the other person of this name; each must
    /// credit this person.
    #[schema(example = json!(["the-gorilla-1939"]))]
    pub films: Vec<String>,
}

/// What a split did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitPersonResult {
    /// The person the split made: the same name, a slug of their own, the credits on `films`.
    pub new_person: PersonPage,
    pub credits_moved: usize,
}

/// Split a person in two (admins)
///
/// For two people the catalog holds as one because they share a name: a new person of that name
/// (with a slug of their own) takes this person's credits on `films`. Written to the catalog log.
#[utoipa::path(
    operation_id = "split_person",
    tag = "people",
    params(("person" = String, Path, description = "The person's slug", example = "john-smith")),
    request_body = SplitPersonRequest,
    responses(
        (status = 201, description = "Split", body = SplitPersonResult),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 404, response = PersonNotFound),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedSplit),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/admin/people/{person}/split")]
pub async fn split_person(
    state: web::Data<AppState>,
    auth: AuthMember,
    PersonSlug(slug): PersonSlug,
    body: JsonBody<SplitPersonRequest>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins may change the catalog")?;
    let requested = body.0.films;
    if requested.is_empty() || requested.len() > ops::people::MAX_SPLIT_FILMS {
        return Err(ApiError::invalid_field(
            "/films",
            "invalid_films",
            format!("name 1 to {} films", ops::people::MAX_SPLIT_FILMS),
        ));
    }
    let mut slugs = Vec::with_capacity(requested.len());
    for (i, raw) in requested.iter().enumerate() {
        let parsed = Slug::parse(raw)
            .map_err(|e| ApiError::invalid_field(&format!("/films/{i}"), "invalid_slug", e))?;
        slugs.push(parsed);
    }
    let mut conn = state.conn().await?;
    let found = person(&mut conn, &slug).await?;
    let mut films: Vec<(FilmId, String)> = Vec::with_capacity(slugs.len());
    for film in &slugs {
        let id = any_film_id(&mut conn, film).await?;
        if !films.iter().any(|(f, _)| *f == id) {
            films.push((id, film.as_str().to_owned()));
        }
    }
    let (made, moved) = ops::people::split(&mut conn, auth.id(), &found, &films).await?;
    let admin = Viewer::Member(auth.id());
    let credits = people::filmography(&mut conn, made.id, admin.member()).await?;
    drop(conn);
    Ok(HttpResponse::Created().json(SplitPersonResult {
        new_person: PersonPage::build(made, credits, admin),
        credits_moved: moved,
    }))
}
