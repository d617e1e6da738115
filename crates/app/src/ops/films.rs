//! A member's state with a film: the relationship commands and the log entries that change it.

use chrono::NaiveDate;
use chrono::Utc;
use diesel_async::AsyncConnection;
use filmlog_domain::relationship::{Effect, FilmCommand, MemberFilm, Transition};
use filmlog_domain::{
    ActivityKind, Audience, FilmId, LogEntryId, MemberId, Rating, ReviewText, rules,
};
use filmlog_persistence::activity::{self, NewActivity};
use filmlog_persistence::log_entries::{
    self, LogEntryChanges, LogEntryRow, LoggedEntry, NewLogEntry,
};
use filmlog_persistence::notifications::About;
use filmlog_persistence::{AsyncPgConnection, relationships};

use super::idempotency::{Idempotency, Outcome};
use super::{OpResult, Step, notify, step};

/// The member's state with the film, the relationship locked until the transaction ends.
pub async fn load(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
) -> OpResult<MemberFilm> {
    let relationship = relationships::lock(conn, member, film).await?;
    let entries = log_entries::facts(conn, member, film).await?;
    Ok(MemberFilm {
        relationship,
        entries,
    })
}

/// Applies `command` to `before` (as [`load`] read it) and persists the transition: the relationship
/// row when it changed (or is empty, so the row `load` may have created goes), then each effect.
pub async fn commit(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
    before: &MemberFilm,
    command: FilmCommand,
) -> OpResult<Transition> {
    let t = before.apply(command, Utc::now())?;
    if t.relationship_changed(before) || t.state.relationship.is_empty() {
        relationships::save(conn, member, film, t.state.relationship).await?;
    }
    for effect in &t.effects {
        match *effect {
            Effect::Record(a) => {
                let what = NewActivity {
                    film: Some(film),
                    log_entry: a.entry,
                    rating: a.rating,
                    ..Default::default()
                };
                activity::record(conn, member, a.kind, what).await?;
            }
            Effect::Retract { kind, entry } => {
                let what = NewActivity {
                    film: Some(film),
                    log_entry: entry,
                    ..Default::default()
                };
                activity::retract(conn, member, kind, what).await?;
            }
            Effect::Restate(a) => {
                if let Some(entry) = a.entry {
                    activity::restate(conn, entry, a.kind, a.rating).await?;
                }
            }
        }
    }
    Ok(t)
}

/// A relationship command (watch, like, watchlist, rate and their undoing), in its own transaction.
pub async fn change(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
    command: FilmCommand,
) -> OpResult<Transition> {
    conn.transaction(async |conn| {
        let before = load(conn, member, film).await?;
        commit(conn, member, film, &before, command).await
    })
    .await
}

/// Logs the film `slug` names in one statement: the fast path of `LogEntryCreated` (see
/// `log_entries::log_film`; the differential test holds it to [`log_locked`]). `None` when no film has
/// that slug.
pub async fn log_fast(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    slug: &str,
    new: &NewLogEntry,
    liked: bool,
) -> OpResult<Option<LoggedEntry>> {
    let kind = ActivityKind::of_entry(new.review_text.is_some());
    let logged = log_entries::log_film(conn, member, slug, new, liked, kind).await?;
    if let Some(logged) = &logged {
        mentions(conn, &logged.entry).await?;
    }
    Ok(logged)
}

/// The members a review `@`-mentions are told (see `notify::mentions_in_review`).
async fn mentions(conn: &mut AsyncPgConnection, entry: &LogEntryRow) -> OpResult<()> {
    let place = notify::Place {
        owner: entry.member_id,
        audience: entry.visibility,
        about: About {
            log_entry: Some(entry.id),
            ..About::default()
        },
    };
    let review = entry.review_text.as_deref();
    notify::mentions_in_review(conn, entry.member_id, review, place).await
}

/// Logs a film through the rule code, inside the caller's transaction: the relationship locked, the
/// entry inserted, `LogEntryCreated` applied.
pub async fn log_locked(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
    new: &NewLogEntry,
    liked: bool,
) -> OpResult<LogEntryRow> {
    let before = load(conn, member, film).await?;
    let row = log_entries::insert(conn, member, film, new).await?;
    let command = FilmCommand::LogEntryCreated {
        entry: row.facts(),
        liked,
    };
    commit(conn, member, film, &before, command).await?;
    mentions(conn, &row).await?;
    Ok(row)
}

/// Changes the member's entry `current` (locked by the caller) and what follows from it: its
/// activity restated, the current rating re-derived, `liked` liking or unliking the film.
pub async fn edit_entry(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    current: &LogEntryRow,
    changes: &LogEntryChanges,
    liked: Option<bool>,
) -> OpResult<LogEntryRow> {
    let film = current.film_id;
    let before = load(conn, member, film).await?;
    let updated = log_entries::update(conn, current.id, changes).await?;
    let command = FilmCommand::LogEntryEdited {
        entry: updated.facts(),
        liked,
    };
    commit(conn, member, film, &before, command).await?;
    mentions(conn, &updated).await?;
    Ok(updated)
}

/// Deletes the member's entry `current` (locked by the caller); its likes, comments and activity go
/// with it, the film stays watched and the current rating is re-derived.
pub async fn delete_entry(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    current: &LogEntryRow,
) -> OpResult<()> {
    let film = current.film_id;
    let before = load(conn, member, film).await?;
    log_entries::delete(conn, current.id).await?;
    commit(
        conn,
        member,
        film,
        &before,
        FilmCommand::LogEntryDeleted(current.id),
    )
    .await?;
    Ok(())
}

/// The entry, locked for a change by its owner.
pub async fn lock_own_entry(
    conn: &mut AsyncPgConnection,
    id: LogEntryId,
    owner: MemberId,
) -> OpResult<LogEntryRow> {
    log_entries::lock_owned(conn, id, owner)
        .await?
        .ok_or(super::OpError::NotFound("that log entry"))
}

/// Logs the film `slug` names once per idempotency key (see [`Idempotency::once`]); `render` turns
/// the new entry into the response stored under the key. Without a key the entry is written by
/// [`log_fast`]'s one statement, with no transaction around it.
pub async fn log_once(
    conn: &mut AsyncPgConnection,
    idempotency: &Idempotency,
    member: MemberId,
    slug: &str,
    new: &NewLogEntry,
    liked: bool,
    render: impl FnOnce(Option<LoggedEntry>) -> OpResult<Outcome> + Send,
) -> OpResult<Outcome> {
    if !idempotency.is_keyed() {
        return render(log_fast(conn, member, slug, new, liked).await?);
    }
    let (slug, new) = (slug.to_owned(), new.clone());
    let create =
        step(move |conn| Box::pin(async move { log_fast(conn, member, &slug, &new, liked).await }));
    idempotency.once(conn, member, create, render).await
}

/// An author's edit of their entry: `None` leaves a field, `Some(None)` clears a nullable one; a
/// review comes with whether it contains spoilers, and `liked` changes their like of the film.
#[derive(Debug, Clone, Default)]
pub struct EntryPatch {
    pub watched_on: Option<Option<NaiveDate>>,
    pub rewatch: Option<bool>,
    pub rating: Option<Option<Rating>>,
    pub review: Option<Option<(ReviewText, bool)>>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Audience>,
    pub liked: Option<bool>,
}

impl EntryPatch {
    /// The change to `current`; an entry keeps a date or a review (`log_entry_needs_date_or_review`),
    /// and a cleared review takes its spoiler mark with it.
    pub fn changes(self, current: &LogEntryRow) -> OpResult<LogEntryChanges> {
        let date = self.watched_on.unwrap_or(current.watched_on);
        let review = match &self.review {
            Some(r) => r.is_some(),
            None => current.review_text.is_some(),
        };
        rules::check_date_or_review(date.is_some(), review)?;
        let (review_text, contains_spoilers) = match self.review {
            Some(Some((text, spoilers))) => (Some(Some(text.into_inner())), Some(spoilers)),
            Some(None) => (Some(None), Some(false)),
            None => (None, None),
        };
        Ok(LogEntryChanges {
            watched_on: self.watched_on,
            rewatch: self.rewatch,
            rating: self.rating,
            review_text,
            contains_spoilers,
            tags: self.tags,
            visibility: self.visibility,
            updated_at: Some(Utc::now()),
        })
    }
}

/// Edits the member's own entry with it locked, after `precondition` accepted the current entry (an
/// `If-Match`).
pub async fn edit_own_entry(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: LogEntryId,
    precondition: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send,
    patch: EntryPatch,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let current = lock_own_entry(conn, id, member).await?;
        precondition(conn).await?;
        let liked = patch.liked;
        let changes = patch.changes(&current)?;
        edit_entry(conn, member, &current, &changes, liked).await?;
        Ok(())
    })
    .await
}

/// Deletes the member's own entry with it locked, after `precondition` accepted it.
pub async fn delete_own_entry(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: LogEntryId,
    precondition: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let current = lock_own_entry(conn, id, member).await?;
        precondition(conn).await?;
        delete_entry(conn, member, &current).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use filmlog_domain::RuleError;
    use filmlog_persistence::log_entries;

    use super::*;
    use crate::ops::fixture::Fixture;
    use crate::ops::{OpError, step};

    fn rewrite() -> EntryPatch {
        let text = ReviewText::parse("rewritten")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("a review"));
        EntryPatch {
            review: Some(Some((text, false))),
            ..EntryPatch::default()
        }
    }

    async fn review_text(f: &mut Fixture, entry: LogEntryId) -> Option<String> {
        log_entries::view(&mut f.conn, entry, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no entry {entry}"))
            .0
            .entry
            .review_text
    }

    #[tokio::test]
    async fn only_the_author_edits_an_entry_and_a_refused_precondition_changes_nothing() {
        let mut f = Fixture::new().await;
        let (ana, bo) = (f.member("ana").await, f.member("bo").await);
        f.film("children-of-heaven-1997").await;
        let entry = f.review(ana, "children-of-heaven-1997").await;
        let accept = || step(|_| Box::pin(async { Ok(()) }));

        let by_other = edit_own_entry(&mut f.conn, bo, entry, accept(), rewrite()).await;
        assert!(
            matches!(by_other, Err(OpError::NotFound(_))),
            "{by_other:?}"
        );
        let refused = step(|_| Box::pin(async { Err(OpError::PreconditionFailed) }));
        let stale = edit_own_entry(&mut f.conn, ana, entry, refused, rewrite()).await;
        assert!(
            matches!(stale, Err(OpError::PreconditionFailed)),
            "{stale:?}"
        );
        assert_eq!(
            review_text(&mut f, entry).await.as_deref(),
            Some("a review")
        );

        // An entry keeps a date or a review: this one has no date, so its review stays.
        let clear = EntryPatch {
            review: Some(None),
            ..EntryPatch::default()
        };
        let emptied = edit_own_entry(&mut f.conn, ana, entry, accept(), clear).await;
        assert!(
            matches!(
                emptied,
                Err(OpError::Rule(RuleError::LogEntryNeedsDateOrReview))
            ),
            "{emptied:?}"
        );
        assert_eq!(
            review_text(&mut f, entry).await.as_deref(),
            Some("a review")
        );

        edit_own_entry(&mut f.conn, ana, entry, accept(), rewrite())
            .await
            .unwrap_or_else(|e| panic!("the author edits: {e}"));
        assert_eq!(
            review_text(&mut f, entry).await.as_deref(),
            Some("rewritten")
        );
    }

    #[tokio::test]
    async fn deleting_an_entry_takes_its_activity_and_keeps_the_film_watched() {
        let mut f = Fixture::new().await;
        let (ana, bo) = (f.member("ana").await, f.member("bo").await);
        f.film("children-of-heaven-1997").await;
        let entry = f.review(ana, "children-of-heaven-1997").await;
        let accept = || step(|_| Box::pin(async { Ok(()) }));
        assert_eq!(f.count("activities").await, 1);

        let by_other = delete_own_entry(&mut f.conn, bo, entry, accept()).await;
        assert!(
            matches!(by_other, Err(OpError::NotFound(_))),
            "{by_other:?}"
        );
        assert_eq!(f.count("log_entries").await, 1);

        delete_own_entry(&mut f.conn, ana, entry, accept())
            .await
            .unwrap_or_else(|e| panic!("the author deletes: {e}"));
        assert_eq!(f.count("log_entries").await, 0);
        assert_eq!(f.count("activities").await, 0);
        assert_eq!(
            f.count("member_films WHERE watched").await,
            1,
            "the film stays watched"
        );
    }
}
