//! Lists of films: create, read (header and cursor-paged entries in order), edit the header, edit
//! the entries in one atomic batch under `If-Match`, delete; a member's lists.

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use filmlog_domain::visibility::Viewer;
use filmlog_domain::{ListId, MemberId, Subject};
use filmlog_persistence::lists::{self as store, ListView};
use filmlog_persistence::{AsyncPgConnection, members};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::PipelinedViewing;
use crate::dto::{FilmSummary, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::middleware::conditional::{etag_with_version, json_with_version, lists_etag};
use crate::pagination::{self, Page};
use filmlog_app::ops::{OpError, OpResult, Step, step};
use filmlog_app::visibility;

mod comments;
mod entries;
mod likes;
mod read;
mod write;

pub use comments::*;
pub use entries::*;
pub use likes::*;
pub use read::*;
pub use write::*;

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
) -> OpResult<List> {
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
    id: ListId,
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
    id: ListId,
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
async fn owners_view(conn: &mut AsyncPgConnection, id: ListId, owner: MemberId) -> OpResult<List> {
    let view = store::view(conn, id, Some(owner))
        .await?
        .ok_or(OpError::NotFound("that list"))?;
    load(conn, view, Viewer::Member(owner), pagination::DEFAULT_LIMIT).await
}

/// The check of an `If-Match` an edit of a list runs with the list locked: 412 unless `if_match`
/// names the list as its owner reads it now, by its ETag or that of its first page of entries
/// (`GET /lists/{list_id}/entries` gives the owner that ETag, and the list as its owner reads it
/// holds that very page). No `If-Match`, no check.
pub(crate) fn require_current(
    id: ListId,
    owner: MemberId,
    if_match: Option<String>,
) -> impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send {
    step(move |conn| {
        Box::pin(async move {
            let Some(if_match) = if_match else {
                return Ok(());
            };
            let current = owners_view(conn, id, owner).await?;
            // (An ETag fails only if the representation does not serialise: internal.)
            let etag = |v: ApiResult<String>| v.map_err(OpError::internal);
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
