//! Editing a list's entries in batches.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, patch, web};
use filmlog_domain::FilmId;
use filmlog_domain::list::{ListOp, MAX_OPS};
use filmlog_persistence::catalog;
use filmlog_persistence::lists::EntryText;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{List, film_of, list_response, notes, owners_view, require_current};
use crate::auth::Caller;
use crate::error::{
    ApiError, ApiResult, MalformedJson, NotJson, NotYourList, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{JsonBody, ListPath, double_option};
use crate::middleware::conditional::if_match;
use crate::state::AppState;
use filmlog_app::ops;

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
        (status = 412, response = crate::error::PreconditionFailed),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedPointingAtOperation),
        (status = 428, response = crate::error::PreconditionRequiredSendIfMatch),
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
    let texts = notes_of(&operations)?;
    let me = auth.id();
    let mut conn = state.conn().await?;
    let slugs: Vec<String> = operations.iter().map(|o| o.film.clone()).collect();
    let films = catalog::ids_by_slug(&mut conn, me, &slugs).await?;
    let (ops, entry_text) = operations_of(&operations, texts, &films)?;
    let precondition = require_current(id, me, Some(precondition));
    ops::lists::edit_entries(&mut conn, me, id, &ops, &entry_text, precondition).await?;
    let list = owners_view(&mut conn, id, me).await?;
    list_response(&list)
}

/// Each operation's notes, checked (`None`: the operation leaves them).
fn notes_of(operations: &[EntryOperation]) -> ApiResult<Vec<Option<Option<String>>>> {
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
    if errors.is_empty() {
        Ok(texts)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The batch as the list rules take it, with the text each added or updated film gets; the films
/// are those the operations' slugs name (`films`, looked up together).
fn operations_of(
    operations: &[EntryOperation],
    texts: Vec<Option<Option<String>>>,
    films: &HashMap<String, FilmId>,
) -> ApiResult<(Vec<ListOp>, HashMap<FilmId, EntryText>)> {
    let mut ops = Vec::with_capacity(operations.len());
    let mut entry_text: HashMap<FilmId, EntryText> = HashMap::new();
    for (i, (o, note)) in operations.iter().zip(texts).enumerate() {
        let film = film_of(films, &o.film, format!("/{i}/film"))?;
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
    Ok((ops, entry_text))
}
