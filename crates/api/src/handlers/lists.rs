//! Lists of films: create, read (header and cursor-paged entries in order), edit the header, edit
//! the entries in one atomic batch under `If-Match`, delete; a member's lists.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use filmlog_domain::list::{self as rules, BatchError, ListOp, MAX_ENTRIES, MAX_OPS};
use filmlog_domain::text::TextError;
use filmlog_domain::visibility::Viewer;
use filmlog_domain::{Audience, FilmId, MemberId, Subject, Tag};
use filmlog_persistence::lists::{self as store, EntryText, ListChanges, ListView, NewList};
use filmlog_persistence::{AsyncPgConnection, catalog, members};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, PipelinedViewing, Viewing};
use crate::dto::{FilmSummary, MemberAt, MemberSummary, Visibility, flatten_tags, rfc3339};
use crate::error::{
    ApiError, ApiResult, BadPageQuery, FieldError, FilmNotFound, ListNotFound, MalformedJson,
    MemberNotFound, NotJson, NotYourList, Problem, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{
    FilmSlug, JsonBody, ListCommentPath, ListPath, MemberName, Query, double_option,
};
use crate::handlers::comments::{CommentRequest, HiddenComment, HiddenReason, parse_body};
use crate::handlers::films::film_id;
use crate::middleware::conditional::{etag_with_version, if_match, json_with_version, lists_etag};
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops::{self, OpError, Step, step};
use filmlog_app::visibility;

/// An entry of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListEntry {
    /// 1..n in the list's order, without gaps (the order the owner chose when not ranked).
    #[schema(example = 1)]
    pub rank: i64,
    pub film: FilmSummary,
    pub notes: Option<String>,
    pub contains_spoilers: bool,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: DateTime<Utc>,
}

/// A list, with the first page of its entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct List {
    /// What lists of lists show of it.
    #[serde(flatten)]
    pub summary: ListSummary,
    pub description: Option<String>,
    /// The list this one was cloned from (when it still exists).
    #[schema(example = "3")]
    pub cloned_from: Option<String>,
    /// A moderator removed it: it is private to you, its owner, and stays so (its visibility cannot
    /// change, it cannot be cloned); only you see it.
    pub removed: bool,
    /// The first page of entries; later ones from `GET /lists/{list_id}/entries?cursor=`.
    pub entries: Page<ListEntry>,
    /// Your own state with the list: present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerList>,
}

/// The reader's own state with a list.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ViewerList {
    pub liked: bool,
    /// You may like it: it is not yours.
    pub can_like: bool,
}

/// A page of entries, ranked from where the previous page ended.
fn entry_page(
    rows: Vec<store::ViewedListEntry>,
    limit: i64,
    after: Option<store::EntryKey>,
    viewer: Viewer,
) -> Page<ListEntry> {
    let first_rank = after.map_or(1, |(_, _, rank)| rank + 1);
    let ranked: Vec<(i64, store::ViewedListEntry)> = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| (first_rank + i as i64, row))
        .collect();
    pagination::page(
        ranked,
        limit,
        |(rank, (e, _, _))| (e.sort_key, e.film_id.get(), *rank),
        |(rank, (e, film, state))| ListEntry {
            rank,
            film: FilmSummary::from(film).seen_by(viewer, state),
            notes: e.notes,
            contains_spoilers: e.contains_spoilers,
            added_at: e.added_at,
        },
    )
}

/// The list with its first page of entries, as `viewer` reads it.
async fn load(
    conn: &mut AsyncPgConnection,
    view: (ListView, bool),
    viewer: Viewer,
    limit: i64,
) -> ApiResult<List> {
    let rows = store::entries(conn, view.0.list.id, viewer.member(), None, limit + 1).await?;
    Ok(assemble(view, rows, viewer, limit))
}

/// The list and the first page of its entries (`rows`, up to `limit` + 1), as `viewer` reads them.
fn assemble(
    (view, liked): (ListView, bool),
    rows: Vec<store::ViewedListEntry>,
    viewer: Viewer,
    limit: i64,
) -> List {
    let state = viewer.member().map(|me| ViewerList {
        liked,
        can_like: me != view.list.owner_id,
    });
    let description = view.list.description.clone();
    let cloned_from = view.list.cloned_from_id;
    let removed = view.list.removed_at.is_some();
    List {
        summary: view.into(),
        description,
        cloned_from: cloned_from.map(|id| id.to_string()),
        removed,
        entries: entry_page(rows, limit, None, viewer),
        viewer: state,
    }
}

/// The list a path names and a page of its entries after `after` (up to `limit` + 1 rows), when the
/// viewer may read it (404 otherwise), and the viewer. The session check, the list, its owner's
/// standing with the viewer and the page are asked for together, pipelined on the connection (one
/// round trip instead of four); the answers are used only once the session is live and the
/// visibility rule shows the list to the viewer.
async fn readable_with_page(
    conn: &AsyncPgConnection,
    viewing: PipelinedViewing,
    id: i64,
    after: Option<store::EntryKey>,
    limit: i64,
) -> ApiResult<(Viewer, (ListView, bool), Vec<store::ViewedListEntry>)> {
    let (viewer, (view, standing, rows)) = viewing
        .read(conn, |viewer| async move {
            let (view, standing, rows) = futures_util::future::join3(
                store::view(conn, id, viewer.member()),
                members::standing_of_list_owner(conn, viewer.member(), id),
                store::entries(conn, id, viewer.member(), after, limit + 1),
            )
            .await;
            Ok((view?, standing?, rows?))
        })
        .await?;
    let view = view.ok_or_else(|| ApiError::not_found("that list"))?;
    let subject = Subject::Entry(view.0.list.owner_id, view.0.list.visibility);
    visibility::require(viewer, subject, standing, "that list")?;
    Ok((viewer, view, rows))
}

/// The list a path names, when the viewer may read it (404 otherwise).
async fn readable(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    id: i64,
) -> ApiResult<(ListView, bool)> {
    let view = store::view(conn, id, viewer.member())
        .await?
        .ok_or_else(|| ApiError::not_found("that list"))?;
    let subject = Subject::Entry(view.0.list.owner_id, view.0.list.visibility);
    visibility::check(conn, viewer, subject, "that list").await?;
    Ok(view)
}

/// A list's ETag: over its representation and its exact version (the representation shows
/// `updated_at` to the second; two edits within one second must not share an ETag).
fn list_etag(list: &List) -> ApiResult<String> {
    etag_with_version(list, &list.summary.updated_at)
}

/// The list as a response, with [`list_etag`].
fn list_response(list: &List) -> ApiResult<HttpResponse> {
    json_with_version(list, &list.summary.updated_at)
}

/// The representation `If-Match` names: the list as its owner reads it, first page at the
/// default size.
async fn owners_view(conn: &mut AsyncPgConnection, id: i64, owner: MemberId) -> ApiResult<List> {
    let view = store::view(conn, id, Some(owner))
        .await?
        .ok_or_else(|| ApiError::not_found("that list"))?;
    load(conn, view, Viewer::Member(owner), pagination::DEFAULT_LIMIT).await
}

/// A checked text field, or `None` with its problem (at `pointer`, as `code`) added to `errors`.
fn checked<T>(
    value: Result<T, TextError>,
    pointer: &str,
    code: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    value
        .map_err(|e| errors.push(FieldError::new(pointer, code, e)))
        .ok()
}

fn description(value: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let checked = checked(
        rules::prose(value, rules::DESCRIPTION_MAX),
        "/description",
        "invalid_description",
        errors,
    );
    checked.flatten()
}

fn notes(value: Option<&str>, pointer: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let checked = checked(
        rules::prose(value?, rules::NOTES_MAX),
        pointer,
        "invalid_notes",
        errors,
    );
    checked.flatten()
}

fn tags(tags: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    match Tag::parse_all(tags) {
        Ok(tags) => tags.into_iter().map(Tag::into_inner).collect(),
        Err((i, e)) => {
            errors.push(FieldError::new(format!("/tags/{i}"), "invalid_tag", e));
            Vec::new()
        }
    }
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
        (status = 422, description = "`validation_failed`: `invalid_list_name`, `invalid_description`, `invalid_tag`, `invalid_notes`, `unknown_film`, `duplicate_film`, `too_many_entries`", body = Problem, content_type = "application/problem+json"),
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
    let list_tags = tags(&req.tags, &mut errors);
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
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let me = auth.id();
    let mut conn = state.conn().await?;
    let slugs: Vec<String> = req.entries.iter().map(|e| e.film.clone()).collect();
    let films = catalog::ids_by_slug(&mut conn, me, &slugs).await?;
    let mut ops = Vec::with_capacity(req.entries.len());
    let mut entry_text = HashMap::new();
    for (i, (entry, note)) in req.entries.iter().zip(texts).enumerate() {
        let film = film_of(&films, &entry.film, format!("/entries/{i}/film"))?;
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

/// The film a slug of the request names (`pointer` locates the slug), from the films its slugs were
/// looked up as together.
fn film_of(films: &HashMap<String, FilmId>, slug: &str, pointer: String) -> ApiResult<FilmId> {
    films
        .get(slug)
        .copied()
        .ok_or_else(|| ApiError::invalid_field(&pointer, "unknown_film", "no film has that slug"))
}

/// The problem of a refused batch: 422 pointing at the failing operation.
fn batch_error(base: &str, i: usize, e: BatchError) -> ApiError {
    OpError::Invalid(vec![ops::lists::batch_issue(base, i, e)]).into()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Entries on the first page: 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A list
///
/// The header and the first page of entries in order (`rank` 1..n).
#[utoipa::path(
    operation_id = "get_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7"), ListQuery),
    responses(
        (status = 200, description = "The list, with an `ETag` (send it as `If-Match` to edit)", body = List),
        (status = 400, response = BadPageQuery),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists/{list_id}")]
pub async fn get_list(
    state: web::Data<AppState>,
    viewing: PipelinedViewing,
    ListPath(id): ListPath,
    query: Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let conn = state.read_conn().await?;
    let (viewer, view, rows) = readable_with_page(&conn, viewing, id, None, limit).await?;
    list_response(&assemble(view, rows, viewer, limit))
}

/// A list's entries
///
/// In order, cursor paged; each with its rank.
#[utoipa::path(
    operation_id = "list_entries",
    tag = "lists",
    params(("list_id" = String, Path, example = "7"), PageQuery),
    responses(
        (status = 200, description = "In order, with an `ETag` that changes whenever the list does (any page of it)", body = Page<ListEntry>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists/{list_id}/entries")]
pub async fn list_entries(
    state: web::Data<AppState>,
    viewing: PipelinedViewing,
    ListPath(id): ListPath,
    paging: Paging<store::EntryKey>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let conn = state.read_conn().await?;
    let (viewer, view, rows) = readable_with_page(&conn, viewing, id, after, limit).await?;
    // The ETag covers the list's version too: an edit on another page changes this one's.
    json_with_version(
        &entry_page(rows, limit, after, viewer),
        &view.0.list.updated_at,
    )
}

/// 412 unless `if_match` names the list as its owner reads it now: its ETag, or that of its first
/// page of entries (`GET /lists/{list_id}/entries` gives the owner that ETag, and the list as its
/// owner reads it holds that very page). For every edit of a list (the caller holds its lock).
/// The check of an `If-Match` against the owner's list, with the list locked: the ETag of the list
/// or of its first page of entries.
fn require_current(
    id: i64,
    owner: MemberId,
    if_match: Option<String>,
) -> impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send {
    step(move |conn| {
        Box::pin(async move {
            let Some(if_match) = if_match else {
                return Ok(());
            };
            let current = owners_view(conn, id, owner)
                .await
                .map_err(|e| OpError::internal(e.to_string()))?;
            let etag = |v: ApiResult<String>| v.map_err(|e| OpError::internal(e.to_string()));
            let first_page = etag(etag_with_version(
                &current.entries,
                &current.summary.updated_at,
            ))?;
            if lists_etag(&if_match, &etag(list_etag(&current))?)
                || lists_etag(&if_match, &first_page)
            {
                Ok(())
            } else {
                Err(OpError::PreconditionFailed)
            }
        })
    })
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
        (status = 412, description = "`precondition_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
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
        tags: patch.tags.as_deref().map(|t| tags(t, &mut errors)),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let opens = patch
        .visibility
        .is_some_and(|v| Audience::from(v) != Audience::Private);
    let me = auth.id();
    let precondition = require_current(id, me, if_match(&req));
    let mut conn = state.conn().await?;
    ops::lists::update_header(&mut conn, me, id, &changes, opens, precondition).await?;
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

/// What an operation does.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EntryOpKind {
    Add,
    Update,
    Remove,
    Move,
}

/// One operation of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryOperation {
    pub op: EntryOpKind,
    /// The film's slug.
    #[schema(example = "children-of-heaven-1997")]
    pub film: String,
    /// 1-based, in the list as the batch's earlier operations leave it: where `add` puts the film
    /// (the end when absent) and where `move` takes it (required).
    pub position: Option<usize>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub contains_spoilers: Option<bool>,
}

/// Edit a list's entries
///
/// One atomic batch of `add`, `update`, `remove` and `move` operations: all apply or none (422
/// pointing at the failing operation). Requires `If-Match` with the list's ETag (428 without it, 412
/// when stale): two devices reordering one list at once is normal. Up to 1,000 operations, and a list
/// holds up to 5,000 films, each once. Moving or adding a film writes that film's row only.
#[utoipa::path(
    operation_id = "edit_list_entries",
    tag = "lists",
    params(
        ("list_id" = String, Path, example = "7"),
        ("If-Match" = String, Header, description = "ETag from `GET /lists/{list_id}` (or from the first page of `GET /lists/{list_id}/entries`, or the last edit's response)"),
    ),
    request_body = Vec<EntryOperation>,
    responses(
        (status = 200, description = "The list after the batch, with its new `ETag`", body = List),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = NotYourList),
        (status = 412, description = "`precondition_failed`: the list changed since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed` pointing at the operation: `unknown_film`, `duplicate_film`, `not_in_list`, `position_out_of_range`, `too_many_entries`, `invalid_notes`, `too_many_operations`", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: send `If-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/lists/{list_id}/entries")]
pub async fn edit_entries(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
    body: JsonBody<Vec<EntryOperation>, true>,
) -> ApiResult<HttpResponse> {
    let operations = body.0;
    let precondition = if_match(&req).ok_or_else(ApiError::precondition_required)?;
    if operations.is_empty() || operations.len() > MAX_OPS {
        return Err(ApiError::invalid_field(
            "",
            "too_many_operations",
            format!("a batch takes 1 to {MAX_OPS} operations"),
        ));
    }
    let mut errors = Vec::new();
    let texts: Vec<Option<Option<String>>> = operations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            o.notes
                .as_ref()
                .map(|n| notes(n.as_deref(), &format!("/{i}/notes"), &mut errors))
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let me = auth.id();
    let mut conn = state.conn().await?;
    let slugs: Vec<String> = operations.iter().map(|o| o.film.clone()).collect();
    let films = catalog::ids_by_slug(&mut conn, me, &slugs).await?;
    let mut ops = Vec::with_capacity(operations.len());
    let mut entry_text: HashMap<FilmId, EntryText> = HashMap::new();
    for (i, (o, note)) in operations.iter().zip(texts).enumerate() {
        let film = film_of(&films, &o.film, format!("/{i}/film"))?;
        ops.push(match o.op {
            EntryOpKind::Add => ListOp::Add {
                film,
                position: o.position,
            },
            EntryOpKind::Update => ListOp::Update { film },
            EntryOpKind::Remove => ListOp::Remove { film },
            EntryOpKind::Move => ListOp::Move {
                film,
                position: o.position.ok_or_else(|| {
                    ApiError::invalid_field(
                        &format!("/{i}/position"),
                        "position_out_of_range",
                        "move needs a position",
                    )
                })?,
            },
        });
        if matches!(o.op, EntryOpKind::Add | EntryOpKind::Update) {
            let t = entry_text.entry(film).or_default();
            if note.is_some() {
                t.notes = note;
            }
            if o.contains_spoilers.is_some() {
                t.contains_spoilers = o.contains_spoilers;
            }
        }
    }
    let precondition = require_current(id, me, Some(precondition));
    ops::lists::edit_entries(&mut conn, me, id, &ops, &entry_text, precondition).await?;
    let list = owners_view(&mut conn, id, me).await?;
    list_response(&list)
}

/// How a member's lists are ordered.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MemberListsSort {
    /// Newest first.
    Recent,
    /// Most recently changed first (header or entries).
    Updated,
    /// Most liked first.
    Popular,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberListsQuery {
    /// `recent` (default), `updated` or `popular`.
    pub sort: Option<MemberListsSort>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A member's lists
///
/// Those you may read: newest first, most recently changed first, or most liked first.
#[utoipa::path(
    operation_id = "member_lists",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), MemberListsQuery),
    responses(
        (status = 200, description = "In the order asked for", body = Page<ListSummary>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/lists")]
pub async fn member_lists(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    query: Query<MemberListsQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let order = match query.sort.unwrap_or(MemberListsSort::Recent) {
        MemberListsSort::Recent => store::ListSort::Recent,
        MemberListsSort::Updated => store::ListSort::Updated,
        MemberListsSort::Popular => store::ListSort::Popular,
    };
    let after = list_key(query.cursor.as_deref(), order)?;
    let mut conn = state.read_conn().await?;
    let owner = visibility::content_owner(&mut conn, viewer, &username).await?;
    let rows = store::of_member(&mut conn, owner, viewer.member(), order, after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(list_page(rows, limit, order)))
}

/// A list as lists of lists show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListSummary {
    #[schema(example = "7")]
    pub id: String,
    pub owner: MemberSummary,
    pub name: String,
    pub ranked: bool,
    pub visibility: Visibility,
    pub tags: Vec<String>,
    pub entry_count: i32,
    pub like_count: i32,
    pub comment_count: i32,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<ListView> for ListSummary {
    fn from(v: ListView) -> Self {
        let l = v.list;
        ListSummary {
            id: l.id.to_string(),
            owner: v.owner.into(),
            name: l.name,
            ranked: l.ranked,
            visibility: l.visibility.into(),
            tags: flatten_tags(l.tags),
            entry_count: l.entry_count,
            like_count: l.like_count,
            comment_count: l.comment_count,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// Like a list
///
/// Idempotent; not your own list.
#[utoipa::path(
    operation_id = "like_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Liked (also when it already was)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 409, description = "`blocked`: you blocked its owner; unblock them first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`like_own_list`", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/lists/{list_id}/like")]
pub async fn like_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    toggle_like(&state, auth.id(), id, true).await
}

/// Likes or unlikes a list in one transaction; 204.
async fn toggle_like(
    state: &AppState,
    me: MemberId,
    id: i64,
    like: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    if like {
        ops::social::like_list(&mut conn, id, me).await?;
    } else {
        ops::social::unlike_list(&mut conn, id, me).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Unlike a list
#[utoipa::path(
    operation_id = "unlike_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Not liked (also when it was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/lists/{list_id}/like")]
pub async fn unlike_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    toggle_like(&state, auth.id(), id, false).await
}

/// Who liked a list
#[utoipa::path(
    operation_id = "list_likes",
    tag = "lists",
    params(("list_id" = String, Path, example = "7"), PageQuery),
    responses(
        (status = 200, description = "Newest like first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists/{list_id}/likes")]
pub async fn list_likes(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    ListPath(id): ListPath,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    readable(&mut conn, viewer, id).await?;
    let rows = store::likers(&mut conn, id, viewer.member(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(MemberAt::page_seen_by(rows, limit, viewer)))
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

/// How a film's lists are ordered.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FilmListsSort {
    /// Most liked first.
    Popular,
    /// Newest first.
    Recent,
    /// Newest first, of members you follow (needs a token).
    Following,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilmListsQuery {
    pub sort: Option<FilmListsSort>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The page key of a list of lists, as cursors carry it.
#[derive(Debug, Serialize, Deserialize)]
enum ListCursor {
    Likes(i32, i64),
    Created(DateTime<Utc>, i64),
    Updated(DateTime<Utc>, i64),
}

/// The key a cursor carries, when it was issued for a page in `sort` order (400 `invalid_cursor`
/// otherwise: a cursor of another order would skip or repeat lists).
fn list_key(cursor: Option<&str>, sort: store::ListSort) -> ApiResult<Option<store::ListKey>> {
    let key = pagination::decode::<ListCursor>(cursor)?.map(|c| match c {
        ListCursor::Likes(likes, id) => store::ListKey::Likes(likes, id),
        ListCursor::Created(at, id) => store::ListKey::Created(at, id),
        ListCursor::Updated(at, id) => store::ListKey::Updated(at, id),
    });
    match key {
        Some(k) if !k.orders(sort) => Err(ApiError::bad_request(
            "invalid_cursor",
            "the cursor is not one this list issued (it belongs to another sort order)",
        )),
        key => Ok(key),
    }
}

fn list_page(rows: Vec<ListView>, limit: i64, sort: store::ListSort) -> Page<ListSummary> {
    pagination::page(
        rows,
        limit,
        |v| match sort {
            store::ListSort::Popular => ListCursor::Likes(v.list.like_count, v.list.id),
            store::ListSort::Recent => ListCursor::Created(v.list.created_at, v.list.id),
            store::ListSort::Updated => ListCursor::Updated(v.list.updated_at, v.list.id),
        },
        ListSummary::from,
    )
}

/// Lists that hold a film
#[utoipa::path(
    operation_id = "film_lists",
    tag = "films",
    params(("slug" = String, Path, example = "children-of-heaven-1997"), FilmListsQuery),
    responses(
        (status = 200, description = "Lists you may read", body = Page<ListSummary>),
        (status = 400, response = BadPageQuery),
        (status = 401, description = "`sort=following` without a token (`missing_token`), or a bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security((), ("bearer" = []))
)]
#[get("/films/{slug}/lists")]
pub async fn film_lists(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    FilmSlug(slug): FilmSlug,
    query: Query<FilmListsQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let sort = query.sort.unwrap_or(FilmListsSort::Popular);
    let following = match (sort, viewer.member()) {
        (FilmListsSort::Following, Some(me)) => Some(me),
        (FilmListsSort::Following, None) => {
            return Err(ApiError::unauthorized(
                "missing_token",
                "sort=following needs Authorization: Bearer <access token>",
            ));
        }
        _ => None,
    };
    let order = match sort {
        FilmListsSort::Popular => store::ListSort::Popular,
        FilmListsSort::Recent | FilmListsSort::Following => store::ListSort::Recent,
    };
    let after = list_key(query.cursor.as_deref(), order)?;
    let mut conn = state.read_conn().await?;
    let film = film_id(&mut conn, &slug, viewer.member()).await?;
    let rows = store::of_film(
        &mut conn,
        film,
        viewer.member(),
        following,
        order,
        after,
        limit + 1,
    )
    .await?;
    Ok(HttpResponse::Ok().json(list_page(rows, limit, order)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListSearchQuery {
    /// Words in the list's name (any case), 1–200 characters.
    #[param(example = "iranian")]
    pub q: String,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Search lists by name
///
/// Lists you may read whose name contains `q`, most liked first.
#[utoipa::path(
    operation_id = "search_lists",
    tag = "lists",
    params(ListSearchQuery),
    responses(
        (status = 200, description = "Most liked first", body = Page<ListSummary>),
        (status = 400, response = BadPageQuery),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists")]
pub async fn search_lists(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    query: Query<ListSearchQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    // A name's own rule: what no list name can hold, no search for one holds either.
    let q = rules::name(&query.q).map_err(|_| {
        ApiError::bad_request(
            "invalid_query_parameter",
            "q must be one line of 1 to 200 characters",
        )
    })?;
    let after = list_key(query.cursor.as_deref(), store::ListSort::Popular)?;
    let mut conn = state.read_conn().await?;
    let rows = store::search(&mut conn, &q, viewer.member(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(list_page(rows, limit, store::ListSort::Popular)))
}

/// A comment on a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListComment {
    #[schema(example = "5")]
    pub id: String,
    #[schema(example = "7")]
    pub list_id: String,
    pub author: MemberSummary,
    pub body: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<store::ListCommentView> for ListComment {
    fn from(v: store::ListCommentView) -> Self {
        ListComment {
            id: v.comment.id.to_string(),
            list_id: v.comment.list_id.to_string(),
            author: v.author.into(),
            body: v.comment.body,
            created_at: v.comment.created_at,
        }
    }
}

/// A comment of a list's thread: shown, or its tombstone (as in review threads).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ListThreadComment {
    Shown(ListComment),
    Hidden(HiddenComment),
}

impl ListThreadComment {
    fn of((view, blocked, suspended): (store::ListCommentView, bool, bool)) -> Self {
        match HiddenReason::of(view.comment.removed_at.is_some(), suspended, blocked) {
            Some(hidden) => ListThreadComment::Hidden(HiddenComment {
                id: view.comment.id.to_string(),
                hidden,
            }),
            None => ListThreadComment::Shown(view.into()),
        }
    }
}

/// A list's comments
///
/// Oldest first. A comment a moderator removed, or whose author is suspended or on the other side
/// of a block with you, is a tombstone in its place.
#[utoipa::path(
    operation_id = "list_thread",
    tag = "lists",
    params(("list_id" = String, Path, example = "7"), PageQuery),
    responses(
        (status = 200, description = "Oldest first", body = Page<ListThreadComment>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists/{list_id}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    ListPath(id): ListPath,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    readable(&mut conn, viewer, id).await?;
    let rows = store::comments(&mut conn, id, viewer.member(), after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |(c, _, _)| (c.comment.created_at, c.comment.id),
        ListThreadComment::of,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Comment on a list
#[utoipa::path(
    operation_id = "comment_on_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "Created; `Location` names it", body = ListComment),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 409, description = "`blocked`: you blocked its owner; unblock them first", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed` (`invalid_comment`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/lists/{list_id}/comments")]
pub async fn comment_on_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
    body: JsonBody<CommentRequest>,
) -> ApiResult<HttpResponse> {
    let text = parse_body(&body.0.body)?;
    let me = auth.id();
    let mut conn = state.conn().await?;
    let comment = ops::social::add_list_comment(&mut conn, id, me, &text).await?;
    let location = format!("/api/v1/list-comments/{}", comment.comment.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(ListComment::from(comment)))
}

/// Delete a comment on a list (its author, or the list's owner)
#[utoipa::path(
    operation_id = "delete_list_comment",
    tag = "lists",
    params(("id" = String, Path, example = "5")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, description = "No such comment you may delete (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/list-comments/{id}")]
pub async fn delete_list_comment(
    state: web::Data<AppState>,
    auth: Caller,
    ListCommentPath(id): ListCommentPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    ops::social::delete_list_comment(&mut conn, auth.id(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
