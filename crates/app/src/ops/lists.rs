//! Lists: making, copying, editing and deleting them, and what their changes write beside them (their
//! activity in feeds, with the collapse rule of `filmlog_domain::activity::ListAddition`).

use std::collections::HashMap;

use chrono::Utc;
use diesel_async::AsyncConnection;
use filmlog_domain::activity::ListAddition;
use filmlog_domain::list::{self as list_rules, BatchError, ListOp, Plan};
use filmlog_domain::{ActivityKind, Audience, FilmId, ListId, MemberId};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::activity::{self, NewActivity};
use filmlog_persistence::lists::{self as store, EntryText, ListChanges, NewList};

use super::{FieldIssue, OpError, OpResult, Step};

fn count(films: usize) -> i32 {
    i32::try_from(films).unwrap_or(i32::MAX)
}

/// A list made by `owner` with `films` films: one activity. A step, inside the caller's unit (an
/// import's batch, the seed, [`create`]).
pub async fn created(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    list: ListId,
    films: usize,
) -> OpResult<()> {
    let what = NewActivity {
        list: Some(list),
        film_count: Some(count(films)),
        ..Default::default()
    };
    activity::record(conn, owner, ActivityKind::ListCreated, what).await?;
    Ok(())
}

/// `added` films added to `list` by its owner: counted into the list's newest activity when it is
/// within the window, else a new activity; nothing when nothing was added. (The caller holds the
/// list's row lock, so two edits of one list never both start an activity.)
pub async fn films_added(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    list: ListId,
    added: usize,
) -> OpResult<()> {
    let newest = activity::newest_list_addition(conn, owner, list).await?;
    match ListAddition::of(added, newest, Utc::now()) {
        ListAddition::Silent => {}
        ListAddition::CountInto(id) => activity::count_films_into(conn, id, count(added)).await?,
        ListAddition::New => {
            let what = NewActivity {
                list: Some(list),
                film_count: Some(count(added)),
                ..Default::default()
            };
            activity::record(conn, owner, ActivityKind::ListFilmsAdded, what).await?;
        }
    }
    Ok(())
}

/// A refused batch of list operations as a field issue: `base` locates the batch in the request, `i`
/// the operation.
pub fn batch_issue(base: &str, i: usize, e: BatchError) -> FieldIssue {
    let code = match e {
        BatchError::DuplicateFilm => "duplicate_film",
        BatchError::NotInList => "not_in_list",
        BatchError::PositionOutOfRange { .. } => "position_out_of_range",
        BatchError::TooManyEntries => "too_many_entries",
    };
    let pointer = match e {
        BatchError::PositionOutOfRange { .. } => format!("{base}/{i}/position"),
        BatchError::TooManyEntries => format!("{base}/{i}"),
        _ => format!("{base}/{i}/film"),
    };
    FieldIssue::new(pointer, code, e)
}

/// Makes a list with its first films (planned by [`list_rules::plan`]) and its activity.
pub async fn create(
    conn: &mut AsyncPgConnection,
    new: &NewList<'_>,
    plan: &Plan,
    text: &HashMap<FilmId, EntryText>,
) -> OpResult<ListId> {
    conn.transaction(async |conn| {
        let id = store::insert(conn, new).await?;
        store::apply(conn, id, plan, text).await?;
        created(conn, new.owner, id, plan.added.len()).await?;
        Ok(id)
    })
    .await
}

/// A copy of a list the member may read, made theirs and public; a list a moderator removed is not
/// copied (it stays private to its owner).
pub async fn copy(
    conn: &mut AsyncPgConnection,
    original: ListId,
    removed: bool,
    new: &NewList<'_>,
) -> OpResult<ListId> {
    filmlog_domain::rules::check_list_visibility_change(removed, true)?;
    conn.transaction(async |conn| {
        let copy = store::insert(conn, new).await?;
        let films = store::copy_entries(conn, original, copy).await?;
        created(conn, new.owner, copy, films).await?;
        Ok(copy)
    })
    .await
}

/// The owner's list, locked for a change, after `precondition` accepted it (an `If-Match`).
async fn lock_own(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: ListId,
    precondition: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send,
) -> OpResult<store::ListRow> {
    let row = store::lock_owned(conn, id, owner)
        .await?
        .ok_or(OpError::NotFound("that list"))?;
    precondition(conn).await?;
    Ok(row)
}

/// Changes a list's header (name, description, ranked, visibility, tags); a list a moderator removed
/// keeps its visibility.
pub async fn update_header(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: ListId,
    changes: &ListChanges,
    precondition: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send,
) -> OpResult<()> {
    // Whether the change opens the list to anyone but its owner.
    let opens = changes
        .visibility
        .is_some_and(|v| v != Audience::Private.as_str());
    conn.transaction(async |conn| {
        let row = lock_own(conn, owner, id, precondition).await?;
        filmlog_domain::rules::check_list_visibility_change(row.removed_at.is_some(), opens)?;
        store::update_header(conn, id, changes).await?;
        Ok(())
    })
    .await
}

/// Applies a batch of entry operations to the owner's list, all or none, with the activity of the
/// films it added.
pub async fn edit_entries(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: ListId,
    ops: &[ListOp],
    text: &HashMap<FilmId, EntryText>,
    precondition: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        lock_own(conn, owner, id, precondition).await?;
        let current = store::slots(conn, id).await?;
        let plan = list_rules::plan(&current, ops)
            .map_err(|(i, e)| OpError::Invalid(vec![batch_issue("", i, e)]))?;
        store::apply(conn, id, &plan, text).await?;
        films_added(conn, owner, id, plan.added.len()).await?;
        Ok(())
    })
    .await
}

/// Deletes the owner's list.
pub async fn delete(conn: &mut AsyncPgConnection, owner: MemberId, id: ListId) -> OpResult<()> {
    conn.transaction(async |conn| {
        store::lock_owned(conn, id, owner)
            .await?
            .ok_or(OpError::NotFound("that list"))?;
        store::delete(conn, id).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fixture::Fixture;
    use filmlog_domain::Audience;

    #[tokio::test]
    async fn an_entries_batch_is_all_or_none_and_waits_for_its_precondition() {
        let mut f = Fixture::new().await;
        let ana = f.member("ana").await;
        let (one, two) = (f.film("one-1990").await, f.film("two-1991").await);
        let new = NewList {
            owner: ana,
            name: "Favourites",
            description: None,
            ranked: true,
            visibility: Audience::Public,
            tags: &[],
        };
        let first = list_rules::plan(
            &[],
            &[ListOp::Add {
                film: one,
                position: None,
            }],
        )
        .unwrap_or_else(|(_, e)| panic!("{e}"));
        let list = create(&mut f.conn, &new, &first, &HashMap::new())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.count("list_entries").await, 1);

        let stale = crate::ops::step(|_conn| Box::pin(async { Err(OpError::PreconditionFailed) }));
        let add_two = [ListOp::Add {
            film: two,
            position: None,
        }];
        let refused = edit_entries(&mut f.conn, ana, list, &add_two, &HashMap::new(), stale).await;
        assert!(
            matches!(refused, Err(OpError::PreconditionFailed)),
            "{refused:?}"
        );
        assert_eq!(f.count("list_entries").await, 1);

        // The second operation is refused: neither is applied.
        let batch = [
            ListOp::Add {
                film: two,
                position: None,
            },
            ListOp::Add {
                film: one,
                position: None,
            },
        ];
        let fine = crate::ops::step(|_conn| Box::pin(async { Ok(()) }));
        let refused = edit_entries(&mut f.conn, ana, list, &batch, &HashMap::new(), fine).await;
        let Err(OpError::Invalid(issues)) = refused else {
            panic!("not refused: {refused:?}");
        };
        assert_eq!(issues[0].pointer, "/1/film");
        assert_eq!(issues[0].code, "duplicate_film");
        assert_eq!(f.count("list_entries").await, 1);

        let someone = f.member("bo").await;
        let fine = crate::ops::step(|_conn| Box::pin(async { Ok(()) }));
        let theirs =
            edit_entries(&mut f.conn, someone, list, &add_two, &HashMap::new(), fine).await;
        assert!(matches!(theirs, Err(OpError::NotFound(_))), "{theirs:?}");
    }
}
