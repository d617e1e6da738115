//! What a list's changes write beside the list itself: its activity in feeds, with the collapse rule
//! of `filmlog_domain::activity::ListAddition`.

use chrono::Utc;
use filmlog_domain::activity::ListAddition;
use filmlog_domain::{ActivityKind, MemberId};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::activity::{self, NewActivity};

use super::OpResult;

fn count(films: usize) -> i32 {
    i32::try_from(films).unwrap_or(i32::MAX)
}

/// A list made by `owner` with `films` films: one activity.
pub async fn created(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    list: i64,
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
    list: i64,
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
