//! Correcting a film (admins): every field but its slug.

use actix_web::{HttpResponse, patch, web};
use chrono::NaiveDate;
use filmlog_domain::film::MAX_SYNOPSIS_CHARS;
use filmlog_domain::{Title, Viewer};
use filmlog_persistence::catalog::FilmChanges;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthMember;
use crate::error::{
    AdminOnly, ApiResult, FieldError, FilmNotFound, MalformedJson, NotJson, ServiceUnavailable,
    Unauthenticated,
};
use crate::extract::{FilmSlug, JsonBody, double_option};
use crate::handlers::films::{Film, any_film_id, load_any_film};
use crate::state::AppState;
use filmlog_app::ops;

use super::edit::Fields;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFilmRequest {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub original_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub release_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub runtime_minutes: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub synopsis: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub poster_url: Option<Option<String>>,
    pub genres: Option<Vec<String>>,
    pub countries: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    /// TMDB's id of the film; unique (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, example = 603)]
    pub tmdb_id: Option<Option<i64>>,
    /// IMDb's title id (`tt0133093`); unique.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "tt0133093")]
    pub imdb_id: Option<Option<String>>,
    /// The film's Letterboxd address; unique.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "https://letterboxd.com/film/the-matrix/")]
    pub letterboxd_uri: Option<Option<String>>,
    /// Mark a film an import created (`false`) as checked.
    pub verified: Option<bool>,
}

impl Fields {
    /// An external id: `None` clears it; a bad one is a field error.
    fn external<T, R>(
        &mut self,
        pointer: &str,
        value: Option<R>,
        parse: impl Fn(R) -> Result<T, filmlog_domain::ExternalIdError>,
    ) -> Option<T> {
        match value.map(parse) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                self.0
                    .push(FieldError::new(pointer, "invalid_external_id", e));
                None
            }
        }
    }
}

/// Change a film (admins)
///
/// The slug never changes (it is the film's address).
#[utoipa::path(
    operation_id = "update_film",
    tag = "films",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    request_body = UpdateFilmRequest,
    responses(
        (status = 200, description = "The updated film", body = Film),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 404, response = FilmNotFound),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailed),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/films/{slug}")]
pub async fn update_film(
    state: web::Data<AppState>,
    auth: AuthMember,
    FilmSlug(slug): FilmSlug,
    body: JsonBody<UpdateFilmRequest>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins may change the catalog")?;
    let req = body.0;
    let mut f = Fields(Vec::new());
    let title = match req.title.as_deref().map(Title::parse) {
        None => None,
        Some(Ok(t)) => Some(t.into_inner()),
        Some(Err(e)) => {
            f.0.push(FieldError::new("/title", "invalid_title", e));
            None
        }
    };
    let changes = FilmChanges {
        title,
        original_title: req
            .original_title
            .map(|v| f.text("/original_title", v, Title::MAX, false)),
        year: req.year.map(|v| f.year(v)),
        release_date: req.release_date.map(|v| f.release(v)),
        runtime_minutes: req.runtime_minutes.map(|v| f.runtime(v)),
        synopsis: req
            .synopsis
            .map(|v| f.text("/synopsis", v, MAX_SYNOPSIS_CHARS, true)),
        poster_url: req.poster_url.map(|v| f.poster(v)),
        genres: req.genres.map(|v| f.labels("/genres", v)),
        countries: req.countries.map(|v| f.labels("/countries", v)),
        languages: req.languages.map(|v| f.labels("/languages", v)),
        tmdb_id: req
            .tmdb_id
            .map(|v| f.external("/tmdb_id", v, filmlog_domain::tmdb_id)),
        imdb_id: req
            .imdb_id
            .map(|v| f.external("/imdb_id", v, |s: String| filmlog_domain::imdb_id(&s))),
        letterboxd_uri: req.letterboxd_uri.map(|v| {
            f.external("/letterboxd_uri", v, |s: String| {
                filmlog_domain::letterboxd_uri(&s)
            })
        }),
        verified: req.verified,
        updated_at: Some(chrono::Utc::now()),
    };
    f.finish()?;
    let mut conn = state.conn().await?;
    let id = any_film_id(&mut conn, &slug).await?;
    let admin = Viewer::Member(auth.id());
    let row = ops::catalog::correct(&mut conn, id, &changes).await?;
    let film = load_any_film(&mut conn, &row.slug, admin).await?;
    Ok(HttpResponse::Ok().json(film))
}
