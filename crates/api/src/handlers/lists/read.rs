//! Reading lists: one list and its entries, a member's lists, a film's lists, search.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::list::{self as rules};
use filmlog_persistence::lists::{self as store, ListView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{List, ListEntry, assemble, entry_page, list_response, readable_with_page};
use crate::auth::{PipelinedViewing, Viewing};
use crate::dto::{MemberSummary, Visibility, flatten_tags, rfc3339};
use crate::error::{
    ApiError, ApiResult, BadPageQuery, FilmNotFound, ListNotFound, MemberNotFound,
    ServiceUnavailable,
};
use crate::extract::{FilmSlug, ListPath, MemberName, Query};
use crate::handlers::films::film_id;
use crate::middleware::conditional::json_with_version;
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::visibility;

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
pub(crate) enum ListCursor {
    Likes(i32, i64),
    Created(DateTime<Utc>, i64),
    Updated(DateTime<Utc>, i64),
}

/// The key a cursor carries, when it was issued for a page in `sort` order (400 `invalid_cursor`
/// otherwise: a cursor of another order would skip or repeat lists).
pub(crate) fn list_key(
    cursor: Option<&str>,
    sort: store::ListSort,
) -> ApiResult<Option<store::ListKey>> {
    let key = pagination::decode::<ListCursor>(cursor)?.map(|c| match c {
        ListCursor::Likes(likes, id) => store::ListKey::Likes(likes, id),
        ListCursor::Created(at, id) => store::ListKey::Created(at, id),
        ListCursor::Updated(at, id) => store::ListKey::Updated(at, id),
    });
    match key {
        Some(k) if !k.orders(sort) => Err(ApiError::bad_request(
            ErrorCode::InvalidCursor,
            "the cursor is not one this list issued (it belongs to another sort order)",
        )),
        key => Ok(key),
    }
}

pub(crate) fn list_page(
    rows: Vec<ListView>,
    limit: i64,
    sort: store::ListSort,
) -> Page<ListSummary> {
    pagination::page(
        rows,
        limit,
        |v| match sort {
            store::ListSort::Popular => ListCursor::Likes(v.list.like_count, v.list.id.get()),
            store::ListSort::Recent => ListCursor::Created(v.list.created_at, v.list.id.get()),
            store::ListSort::Updated => ListCursor::Updated(v.list.updated_at, v.list.id.get()),
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
        (status = 401, response = crate::error::SortFollowingWithoutTokenMissing),
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
                ErrorCode::MissingToken,
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
    let film = film_id(&conn, &slug, viewer.member()).await?;
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
            ErrorCode::InvalidQueryParameter,
            "q must be one line of 1 to 200 characters",
        )
    })?;
    let after = list_key(query.cursor.as_deref(), store::ListSort::Popular)?;
    let mut conn = state.read_conn().await?;
    let rows = store::search(&mut conn, &q, viewer.member(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(list_page(rows, limit, store::ListSort::Popular)))
}
