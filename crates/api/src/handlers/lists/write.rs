//! Making, changing, copying and deleting lists.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use filmlog_domain::list::{self as rules, BatchError, ListOp, MAX_ENTRIES, Plan};
use filmlog_domain::text::TextError;
use filmlog_domain::visibility::Viewer;
use filmlog_domain::{Audience, FilmId};
use filmlog_persistence::catalog;
use filmlog_persistence::lists::{EntryText, ListChanges, NewList};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{List, list_etag, list_response, owners_view, readable, require_current};
use crate::auth::Caller;
use crate::dto::{Visibility, flatten_tags};
use crate::error::{
    ApiError, ApiResult, FieldError, ListNotFound, MalformedJson, NotJson, NotYourList,
    ServiceUnavailable, Unauthenticated,
};
use crate::extract::parse_tags;
use crate::extract::{JsonBody, ListPath, double_option};
use crate::middleware::conditional::if_match;
use crate::state::AppState;
use filmlog_app::ops::{self, OpError};

/// A checked text field, or `None` with its problem (at `pointer`, as `code`) added to `errors`.
pub(crate) fn checked<T>(
    value: Result<T, TextError>,
    pointer: &str,
    code: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    value
        .map_err(|e| errors.push(FieldError::new(pointer, code, e)))
        .ok()
}

pub(crate) fn description(value: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let checked = checked(
        rules::prose(value, rules::DESCRIPTION_MAX),
        "/description",
        "invalid_description",
        errors,
    );
    checked.flatten()
}

pub(crate) fn notes(
    value: Option<&str>,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let checked = checked(
        rules::prose(value?, rules::NOTES_MAX),
        pointer,
        "invalid_notes",
        errors,
    );
    checked.flatten()
}

/// A film in a new list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewListEntry {
    /// The film's slug.
    #[schema(example = "children-of-heaven-1997")]
    pub film: String,
    pub notes: Option<String>,
    #[serde(default)]
    pub contains_spoilers: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListRequest {
    #[schema(example = "Top 10 Iranian films")]
    pub name: String,
    pub description: Option<String>,
    /// Ranked lists show their order as a ranking; either way entries keep the order given.
    #[serde(default)]
    pub ranked: bool,
    /// `public` when absent.
    pub visibility: Option<Visibility>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// In order; up to 5,000.
    #[serde(default)]
    pub entries: Vec<NewListEntry>,
}

/// Create a list
#[utoipa::path(
    operation_id = "create_list",
    tag = "lists",
    request_body = CreateListRequest,
    responses(
        (status = 201, description = "Created; `Location` names it, `ETag` is the one to edit it with", body = List),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidListName),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/lists")]
pub async fn create_list(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<CreateListRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let (list_name, description, list_tags, texts) = header_of(&req)?;
    let me = auth.id();
    let mut conn = state.conn().await?;
    let slugs: Vec<String> = req.entries.iter().map(|e| e.film.clone()).collect();
    let films = catalog::ids_by_slug(&mut conn, me, &slugs).await?;
    let (plan, entry_text) = first_entries(&req.entries, texts, &films)?;
    let new = NewList {
        owner: me,
        name: list_name.as_deref().unwrap_or_default(),
        description: description.as_deref(),
        ranked: req.ranked,
        visibility: req.visibility.map_or(Audience::Public, Audience::from),
        tags: &list_tags,
    };
    let id = ops::lists::create(&mut conn, &new, &plan, &entry_text).await?;
    let list = owners_view(&mut conn, id, me).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/lists/{id}")))
        .insert_header(("ETag", list_etag(&list)?))
        .json(list))
}

/// A new list's checked name, description, tags and entries' notes (all the broken fields reported
/// together).
#[allow(clippy::type_complexity)]
fn header_of(
    req: &CreateListRequest,
) -> ApiResult<(
    Option<String>,
    Option<String>,
    Vec<String>,
    Vec<Option<String>>,
)> {
    let mut errors = Vec::new();
    let list_name = checked(
        rules::name(&req.name),
        "/name",
        "invalid_list_name",
        &mut errors,
    );
    let description = req
        .description
        .as_deref()
        .and_then(|d| description(d, &mut errors));
    let list_tags = parse_tags(&req.tags, &mut errors);
    if req.entries.len() > MAX_ENTRIES {
        errors.push(FieldError::new(
            "/entries",
            "too_many_entries",
            format!("a list holds at most {MAX_ENTRIES} films"),
        ));
    }
    let texts: Vec<Option<String>> = req
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            notes(
                e.notes.as_deref(),
                &format!("/entries/{i}/notes"),
                &mut errors,
            )
        })
        .collect();
    if errors.is_empty() {
        Ok((list_name, description, list_tags, texts))
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The plan that adds a new list's first entries (the films their slugs name, `films`), with their
/// texts.
fn first_entries(
    entries: &[NewListEntry],
    texts: Vec<Option<String>>,
    films: &HashMap<String, FilmId>,
) -> ApiResult<(Plan, HashMap<FilmId, EntryText>)> {
    let mut ops = Vec::with_capacity(entries.len());
    let mut entry_text = HashMap::new();
    for (i, (entry, note)) in entries.iter().zip(texts).enumerate() {
        let film = film_of(films, &entry.film, format!("/entries/{i}/film"))?;
        ops.push(ListOp::Add {
            film,
            position: None,
        });
        entry_text.insert(
            film,
            EntryText {
                notes: Some(note),
                contains_spoilers: Some(entry.contains_spoilers),
            },
        );
    }
    let plan = rules::plan(&[], &ops).map_err(|(i, e)| batch_error("/entries", i, e))?;
    Ok((plan, entry_text))
}

/// The film a slug of the request names (`pointer` locates the slug), from the films its slugs were
/// looked up as together.
pub(crate) fn film_of(
    films: &HashMap<String, FilmId>,
    slug: &str,
    pointer: String,
) -> ApiResult<FilmId> {
    films
        .get(slug)
        .copied()
        .ok_or_else(|| ApiError::invalid_field(&pointer, "unknown_film", "no film has that slug"))
}

/// The problem of a refused batch: 422 pointing at the failing operation.
pub(crate) fn batch_error(base: &str, i: usize, e: BatchError) -> ApiError {
    OpError::Invalid(vec![ops::lists::batch_issue(base, i, e)]).into()
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateListRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub ranked: Option<bool>,
    pub visibility: Option<Visibility>,
    pub tags: Option<Vec<String>>,
}

/// Edit a list's header
///
/// Name, description, ranked, visibility, tags; send `If-Match` to refuse the change when the list
/// changed meanwhile.
#[utoipa::path(
    operation_id = "update_list",
    tag = "lists",
    params(
        ("list_id" = String, Path, example = "7"),
        ("If-Match" = Option<String>, Header, description = "ETag from `GET /lists/{list_id}` (or from the first page of `GET /lists/{list_id}/entries`, or the last edit's response); 412 when stale"),
    ),
    request_body = UpdateListRequest,
    responses(
        (status = 200, description = "The list", body = List),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotYourList),
        (status = 412, response = crate::error::PreconditionFailed),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailed),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/lists/{list_id}")]
pub async fn update_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
    body: JsonBody<UpdateListRequest>,
) -> ApiResult<HttpResponse> {
    let patch = body.0;
    let mut errors = Vec::new();
    let changes = ListChanges {
        name: patch
            .name
            .as_deref()
            .and_then(|n| checked(rules::name(n), "/name", "invalid_list_name", &mut errors)),
        description: patch
            .description
            .map(|d| d.as_deref().and_then(|d| description(d, &mut errors))),
        ranked: patch.ranked,
        visibility: patch.visibility.map(|v| Audience::from(v).as_str()),
        tags: patch.tags.as_deref().map(|t| parse_tags(t, &mut errors)),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let me = auth.id();
    let precondition = require_current(id, me, if_match(&req));
    let mut conn = state.conn().await?;
    ops::lists::update_header(&mut conn, me, id, &changes, precondition).await?;
    let list = owners_view(&mut conn, id, me).await?;
    list_response(&list)
}

/// Delete a list
#[utoipa::path(
    operation_id = "delete_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotYourList),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/lists/{list_id}")]
pub async fn delete_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    ops::lists::delete(&mut conn, me, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Clone a list
///
/// A copy owned by you (public, entries in the same order with their notes), crediting the
/// original in `cloned_from`.
#[utoipa::path(
    operation_id = "clone_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 201, description = "The copy; `Location` names it", body = List),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/lists/{list_id}/clone")]
pub async fn clone_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let viewer = Viewer::Member(me);
    let mut conn = state.conn().await?;
    let (original, _) = readable(&mut conn, viewer, id).await?;
    let tags = flatten_tags(original.list.tags.clone());
    let new = NewList {
        owner: me,
        name: &original.list.name,
        description: original.list.description.as_deref(),
        ranked: original.list.ranked,
        visibility: Audience::Public,
        tags: &tags,
    };
    // A removed list stays private to its owner: no public copy of it either.
    let removed = original.list.removed_at.is_some();
    let copy = ops::lists::copy(&mut conn, id, removed, &new).await?;
    let list = owners_view(&mut conn, copy, me).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/lists/{copy}")))
        .insert_header(("ETag", list_etag(&list)?))
        .json(list))
}
