//! Applying one staged import row, inside the caller's transaction, through the same operations the
//! endpoints use (logging a film, rating, liking, lists), with the re-import rule of
//! `filmlog_domain::portability::decide`: a source row already imported is `unchanged` when it is
//! the same, `update`d when it changed, and never brought back once the member deleted what it made.

use std::collections::HashMap;

use filmlog_domain::list::{self as list_rules, ListOp};
use filmlog_domain::member::{Bio, DisplayName, Location, Pronouns, Website};
use filmlog_domain::portability::{Action, FilmRef, Item, MatchedBy, decide};
use filmlog_domain::relationship::FilmCommand;
use filmlog_domain::{Audience, FilmId, ImportJobId, MemberId, Rating, ReviewText, Slug, Title};
use filmlog_persistence::lists::{self as list_store, EntryText, ListChanges, NewList};
use filmlog_persistence::log_entries::{LogEntryChanges, NewLogEntry};
use filmlog_persistence::portability::{self as store, ImportRow, SourceRow};
use filmlog_persistence::{AsyncPgConnection, catalog, members};
use serde::Deserialize;
use serde_json::Value;

use super::{OpError, OpResult, films};

/// What applying a row did (or, in a rehearsal, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub note: Option<String>,
    /// The film the row turned out to be about (a new unverified one, for a row that matched none).
    pub film: Option<FilmId>,
}

impl Decision {
    fn of(action: Action) -> Self {
        Decision {
            action,
            note: None,
            film: None,
        }
    }

    fn skip(note: impl Into<String>) -> Self {
        Decision {
            action: Action::Skip,
            note: Some(note.into()),
            film: None,
        }
    }
}

/// One job's run: the member, and the films it created for titles the catalog lacked (so each is
/// created once; `persist` also writes them to the job's other rows, which a rehearsal must not).
pub struct Run {
    pub job: ImportJobId,
    pub member: MemberId,
    pub persist: bool,
    created: HashMap<(String, Option<i32>), (FilmId, String)>,
    /// The film the current row created, forgotten when the row's savepoint is rolled back.
    last_created: Option<(String, Option<i32>)>,
}

impl Run {
    pub fn new(job: ImportJobId, member: MemberId, persist: bool) -> Self {
        Run {
            job,
            member,
            persist,
            created: HashMap::new(),
            last_created: None,
        }
    }

    /// The films made so far (to put back with [`Run::restore_created_films`] when a batch that
    /// made more is rolled back).
    pub fn created_films(&self) -> HashMap<(String, Option<i32>), (FilmId, String)> {
        self.created.clone()
    }

    pub fn restore_created_films(
        &mut self,
        films: HashMap<(String, Option<i32>), (FilmId, String)>,
    ) {
        self.created = films;
    }

    /// The current row was rolled back: the film it created is gone.
    pub fn forget_last_created(&mut self) {
        if let Some(pair) = self.last_created.take() {
            self.created.remove(&pair);
        }
    }
}

#[derive(Deserialize)]
struct Staged {
    film: Option<FilmRef>,
    item: Item,
}

/// Applies `row`, given what its key made when it was imported before (`previous`, read for the
/// whole batch by [`store::sources`]). Bad values are `skip` decisions with the reason; a refusal by
/// a rule or the database is an error, after which the caller rolls back what the row wrote (see
/// [`refused`]).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    run: &mut Run,
    row: &ImportRow,
    previous: Option<SourceRow>,
) -> OpResult<Decision> {
    run.last_created = None;
    let Some(staged) = row
        .item
        .clone()
        .and_then(|v| serde_json::from_value::<Staged>(v).ok())
    else {
        return Ok(Decision::skip("the staged row cannot be read"));
    };
    let Some(key) = row.source_key.as_deref() else {
        return Ok(Decision::skip("the row has no key"));
    };
    // A film the catalog lacked that an earlier import of this row already made (or that an
    // admin merged into a real one since) is that film again, not another new one.
    let earlier = previous.as_ref().and_then(|p| p.film_id);
    let (film, slug) = match (&staged.film, staged.item.needs_film()) {
        (Some(_), true) if row.film_id.is_none() && earlier.is_some() => (earlier, None),
        (Some(f), true) => {
            let (id, slug) = film_of(conn, run, row, f).await?;
            (Some(id), slug)
        }
        (None, true) => return Ok(Decision::skip("the row names no film")),
        _ => (None, None),
    };
    let result = match &staged.item {
        Item::Entry { .. } => {
            let film = film.map(|f| (f, slug.as_deref()));
            entry(conn, run, key, film, &staged.item, previous.as_ref()).await
        }
        Item::List { .. } => list(conn, run, key, &staged.item, previous.as_ref()).await,
        Item::ListEntry { .. } => {
            list_entry(conn, run, key, film, &staged.item, previous.as_ref()).await
        }
        Item::Profile { .. } => profile(conn, run, key, &staged.item, previous.as_ref()).await,
        _ => film_state(conn, run, key, film, &staged.item, previous.as_ref()).await,
    };
    let mut decision = result?;
    if decision.film.is_none() {
        decision.film = film;
    }
    Ok(decision)
}

/// A row whose operation was refused (a rule, something gone): skipped, with the reason.
pub fn refused(e: &OpError) -> Option<Decision> {
    match e {
        OpError::Rule(e) => Some(Decision::skip(e.to_string())),
        OpError::NotFound(what) => Some(Decision::skip(format!("{what} was not found"))),
        OpError::Persistence(_)
        | OpError::Internal(_)
        | OpError::Denied(_)
        | OpError::PreconditionFailed
        | OpError::Invalid(_) => None,
    }
}

/// The row's film: the one matching found, else (the catalog has none) the unverified film made
/// for its title and year, made once per run.
async fn film_of(
    conn: &mut AsyncPgConnection,
    run: &mut Run,
    row: &ImportRow,
    f: &FilmRef,
) -> OpResult<(FilmId, Option<String>)> {
    if let Some(id) = row.film_id {
        return Ok((id, row.film_slug.clone()));
    }
    let pair = (f.name.clone(), f.year);
    if let Some((id, slug)) = run.created.get(&pair) {
        return Ok((*id, Some(slug.clone())));
    }
    let title = Title::parse(&f.name)
        .map(Title::into_inner)
        .unwrap_or_else(|_| {
            f.name
                .chars()
                .filter(|c| !c.is_control())
                .take(filmlog_domain::Title::MAX)
                .collect()
        });
    let slug = Slug::from_title(&title, f.year)
        .map(Slug::into_inner)
        .unwrap_or_else(|| f.year.map_or("film".to_owned(), |y| format!("film-{y}")));
    let film = catalog::insert_unverified(conn, run.member, &title, f.year, &slug).await?;
    run.created
        .insert(pair.clone(), (film.id, film.slug.clone()));
    run.last_created = Some(pair.clone());
    if run.persist {
        store::set_films(
            conn,
            run.job,
            &[(pair.0, pair.1, film.id, MatchedBy::Created)],
        )
        .await?;
    }
    Ok((film.id, Some(film.slug)))
}

/// The re-import rule (`decide`) for a row whose key made a log entry or a list: `made` tells
/// whether that still exists. A record the current `Item` cannot read is taken as changed.
fn again(
    item: &Item,
    previous: Option<&SourceRow>,
    made: impl Fn(&SourceRow) -> bool,
) -> (Action, Option<&'static str>) {
    let Some(p) = previous else {
        return decide(item, None);
    };
    match serde_json::from_value::<Item>(p.item.clone()) {
        Ok(old) => decide(item, Some((&old, made(p)))),
        Err(_) if made(p) => (Action::Update, None),
        Err(_) => decide(item, Some((item, false))),
    }
}

fn rating_of(halves: Option<i16>) -> Option<Rating> {
    halves.and_then(|h| Rating::from_halves(h).ok())
}

async fn entry(
    conn: &mut AsyncPgConnection,
    run: &Run,
    key: &str,
    film: Option<(FilmId, Option<&str>)>,
    item: &Item,
    previous: Option<&SourceRow>,
) -> OpResult<Decision> {
    let (
        Some((film, slug)),
        Item::Entry {
            watched_on,
            rewatch,
            rating,
            review,
            spoilers,
            tags,
            visibility,
        },
    ) = (film, item)
    else {
        return Ok(Decision::skip("not an entry"));
    };
    let review_text = match review.as_deref().map(ReviewText::parse).transpose() {
        Ok(r) => r.flatten().map(ReviewText::into_inner),
        Err(e) => return Ok(Decision::skip(format!("review: {e}"))),
    };
    if watched_on.is_none() && review_text.is_none() {
        return Ok(Decision::skip(
            "neither a diary date nor a review: nothing to log",
        ));
    }
    let audience = visibility
        .as_deref()
        .and_then(|v| v.parse::<Audience>().ok());
    let (action, note) = again(item, previous, |p| p.log_entry_id.is_some());
    let value = serde_json::to_value(item).unwrap_or(Value::Null);
    let written = match action {
        Action::Create => {
            let new = NewLogEntry {
                watched_on: *watched_on,
                rewatch: *rewatch,
                rating: rating_of(*rating),
                review_text,
                contains_spoilers: *spoilers,
                tags: tags.clone(),
                visibility: audience,
            };
            // The one-statement path of logging a film (`POST /log-entries`'s), held to the
            // rule code's by the differential test; by id when the slug is not at hand.
            let id = match slug {
                Some(slug) => {
                    films::log_fast(conn, run.member, slug, &new, false)
                        .await?
                        .ok_or(OpError::NotFound("the film"))?
                        .entry
                        .id
                }
                None => {
                    films::log_locked(conn, run.member, film, &new, false)
                        .await?
                        .id
                }
            };
            Some(id)
        }
        Action::Update => {
            let Some(id) = previous.and_then(|p| p.log_entry_id) else {
                return Ok(Decision::skip(
                    "imported before and deleted in Filmlog since",
                ));
            };
            let current = films::lock_own_entry(conn, id, run.member).await?;
            let changes = LogEntryChanges {
                watched_on: Some(*watched_on),
                rewatch: Some(*rewatch),
                rating: Some(rating_of(*rating)),
                review_text: Some(review_text),
                contains_spoilers: Some(*spoilers),
                tags: Some(tags.clone()),
                visibility: audience,
                updated_at: Some(chrono::Utc::now()),
            };
            films::edit_entry(conn, run.member, &current, &changes, None).await?;
            Some(id)
        }
        Action::Unchanged | Action::Skip => None,
    };
    if let Some(entry) = written {
        store::remember(conn, run.member, key, &value, Some(film), Some(entry), None).await?;
    }
    Ok(Decision {
        action,
        note: note.map(str::to_owned),
        film: None,
    })
}

/// Watched, liked, on the watchlist, rated: the member's state with the film. What the state already
/// is counts as `unchanged`; a rating the member gave in Filmlog is never overwritten by one from an
/// import (only by a newer export's change to a rating an import set).
async fn film_state(
    conn: &mut AsyncPgConnection,
    run: &Run,
    key: &str,
    film: Option<FilmId>,
    item: &Item,
    previous: Option<&SourceRow>,
) -> OpResult<Decision> {
    let Some(film) = film else {
        return Ok(Decision::skip("no film"));
    };
    let state = films::load(conn, run.member, film).await?;
    let r = state.relationship;
    let old_rating = previous.and_then(|p| match serde_json::from_value::<Item>(p.item.clone()) {
        Ok(Item::Rating { rating }) => Some(rating),
        _ => None,
    });
    let value = serde_json::to_value(item).unwrap_or(Value::Null);
    let (already, command) = match item {
        Item::Watched => (r.watched, FilmCommand::Watch),
        Item::Like => (r.liked, FilmCommand::Like),
        Item::Watchlist => (r.in_watchlist, FilmCommand::AddToWatchlist),
        Item::Rating { rating } => {
            let Some(wanted) = rating_of(Some(*rating)) else {
                return Ok(Decision::skip("not a rating"));
            };
            let explicit = r.explicit.and_then(|e| e.rating).map(Rating::halves);
            let set_by_import = old_rating.is_some() && explicit == old_rating;
            if r.rating == Some(wanted) {
                (true, FilmCommand::Rate(wanted))
            } else if explicit.is_some() && !set_by_import {
                store::remember(conn, run.member, key, &value, Some(film), None, None).await?;
                return Ok(Decision::skip(
                    "rated differently in Filmlog; that rating is kept",
                ));
            } else {
                (false, FilmCommand::Rate(wanted))
            }
        }
        _ => return Ok(Decision::skip("not a film state")),
    };
    let action = if already {
        Action::Unchanged
    } else if previous.is_some() && !matches!(item, Item::Rating { .. }) {
        // Imported before and undone in Filmlog since (unliked, taken off the watchlist): kept so.
        return Ok(Decision::skip(
            "imported before and undone in Filmlog since; not redone",
        ));
    } else {
        films::commit(conn, run.member, film, &state, command).await?;
        if previous.is_some() {
            Action::Update
        } else {
            Action::Create
        }
    };
    store::remember(conn, run.member, key, &value, Some(film), None, None).await?;
    Ok(Decision::of(action))
}

async fn list(
    conn: &mut AsyncPgConnection,
    run: &Run,
    key: &str,
    item: &Item,
    previous: Option<&SourceRow>,
) -> OpResult<Decision> {
    let Item::List {
        name,
        description,
        ranked,
        tags,
        visibility,
    } = item
    else {
        return Ok(Decision::skip("not a list"));
    };
    let name = match list_rules::name(name) {
        Ok(n) => n,
        Err(e) => return Ok(Decision::skip(format!("list name: {e}"))),
    };
    let description = match description
        .as_deref()
        .map(|d| list_rules::prose(d, list_rules::DESCRIPTION_MAX))
        .transpose()
    {
        Ok(d) => d.flatten(),
        Err(e) => return Ok(Decision::skip(format!("list description: {e}"))),
    };
    let (tags, _) = filmlog_domain::portability::parse_tags(&tags.join(","));
    let audience = visibility
        .as_deref()
        .and_then(|v| v.parse::<Audience>().ok())
        .unwrap_or(Audience::Public);
    let (action, note) = again(item, previous, |p| p.list_id.is_some());
    let value = serde_json::to_value(item).unwrap_or(Value::Null);
    // The list written, and what to say of it.
    let written = match action {
        Action::Create => {
            let new = NewList {
                owner: run.member,
                name: &name,
                description: description.as_deref(),
                ranked: *ranked,
                visibility: audience,
                tags: &tags,
            };
            let id = list_store::insert(conn, &new).await?;
            super::lists::created(conn, run.member, id, 0).await?;
            Some((id, note))
        }
        Action::Update => {
            let Some(id) = previous.and_then(|p| p.list_id) else {
                return Ok(Decision::skip(
                    "imported before and deleted in Filmlog since",
                ));
            };
            let Some(row) = list_store::lock_owned(conn, id, run.member).await? else {
                return Ok(Decision::skip("the list is gone"));
            };
            // The rule every edit of a list follows: one a moderator removed keeps its visibility.
            let removed = filmlog_domain::rules::check_list_visibility_change(
                row.removed_at.is_some(),
                audience != Audience::Private,
            )
            .is_err();
            let changes = ListChanges {
                name: Some(name),
                description: Some(description),
                ranked: Some(*ranked),
                visibility: (!removed).then(|| audience.as_str()),
                tags: Some(tags),
            };
            list_store::update_header(conn, id, &changes).await?;
            let kept = "a moderator removed this list: it stays private";
            Some((id, if removed { Some(kept) } else { note }))
        }
        Action::Unchanged | Action::Skip => None,
    };
    let note = match written {
        Some((id, said)) => {
            store::remember(conn, run.member, key, &value, None, None, Some(id)).await?;
            said
        }
        None => note,
    };
    Ok(Decision {
        action,
        note: note.map(str::to_owned),
        film: None,
    })
}

async fn list_entry(
    conn: &mut AsyncPgConnection,
    run: &Run,
    key: &str,
    film: Option<FilmId>,
    item: &Item,
    previous: Option<&SourceRow>,
) -> OpResult<Decision> {
    let (
        Some(film),
        Item::ListEntry {
            list: list_key,
            position,
            notes,
            spoilers,
        },
    ) = (film, item)
    else {
        return Ok(Decision::skip("not a list entry"));
    };
    let notes = match notes
        .as_deref()
        .map(|n| list_rules::prose(n, list_rules::NOTES_MAX))
        .transpose()
    {
        Ok(n) => n.flatten(),
        Err(e) => return Ok(Decision::skip(format!("notes: {e}"))),
    };
    let Some(list_id) = store::source(conn, run.member, list_key)
        .await?
        .and_then(|s| s.list_id)
    else {
        return Ok(Decision::skip("its list was not imported"));
    };
    if list_store::lock_owned(conn, list_id, run.member)
        .await?
        .is_none()
    {
        return Ok(Decision::skip("its list is gone"));
    }
    let value = serde_json::to_value(item).unwrap_or(Value::Null);
    let slots = list_store::slots(conn, list_id).await?;
    let present = slots.iter().any(|s| s.film == film);
    let same = previous.is_some_and(|p| p.item == value);
    let op = match (present, previous.is_some()) {
        (true, _) if same => return Ok(Decision::of(Action::Unchanged)),
        (true, false) => {
            // The member put the film in the list in Filmlog: theirs, not touched.
            store::remember(
                conn,
                run.member,
                key,
                &value,
                Some(film),
                None,
                Some(list_id),
            )
            .await?;
            return Ok(Decision::of(Action::Unchanged));
        }
        (true, true) => ListOp::Update { film },
        (false, true) => {
            return Ok(Decision::skip(
                "imported before and removed from the list in Filmlog since",
            ));
        }
        (false, false) => ListOp::Add {
            film,
            position: Some((*position).min(slots.len() + 1)),
        },
    };
    let added = matches!(op, ListOp::Add { .. });
    let plan = match list_rules::plan(&slots, &[op]) {
        Ok(p) => p,
        Err((_, e)) => return Ok(Decision::skip(e.to_string())),
    };
    let mut text = HashMap::new();
    text.insert(
        film,
        EntryText {
            notes: Some(notes),
            contains_spoilers: Some(*spoilers),
        },
    );
    list_store::apply(conn, list_id, &plan, &text).await?;
    if added {
        super::lists::films_added(conn, run.member, list_id, 1).await?;
    }
    store::remember(
        conn,
        run.member,
        key,
        &value,
        Some(film),
        None,
        Some(list_id),
    )
    .await?;
    Ok(Decision::of(if added {
        Action::Create
    } else {
        Action::Update
    }))
}

/// Profile fields Filmlog has are filled where the member's profile has none; what the member wrote
/// in Filmlog is kept.
async fn profile(
    conn: &mut AsyncPgConnection,
    run: &Run,
    key: &str,
    item: &Item,
    previous: Option<&SourceRow>,
) -> OpResult<Decision> {
    let Item::Profile {
        display_name,
        bio,
        location,
        website,
        pronouns,
    } = item
    else {
        return Ok(Decision::skip("not a profile"));
    };
    let Some(current) = members::lock(conn, run.member).await? else {
        return Err(OpError::NotFound("the member"));
    };
    let mut changes = members::MemberChanges::default();
    let mut problems = Vec::new();
    macro_rules! fill {
        ($field:ident, $parse:expr) => {
            if current.$field.is_none()
                && let Some(raw) = $field.as_deref()
            {
                match $parse(raw) {
                    Ok(Some(v)) => changes.$field = Some(Some(v)),
                    Ok(None) => {}
                    Err(e) => problems.push(format!("{}: {e}", stringify!($field))),
                }
            }
        };
    }
    fill!(display_name, |r| DisplayName::parse(r)
        .map(|v| v.map(DisplayName::into_inner)));
    fill!(bio, |r| Bio::parse(r).map(|v| v.map(Bio::into_inner)));
    fill!(location, |r| Location::parse(r)
        .map(|v| v.map(Location::into_inner)));
    fill!(website, |r| Website::parse(r)
        .map(|v| v.map(Website::into_inner)));
    fill!(pronouns, |r| Pronouns::parse(r)
        .map(|v| v.map(Pronouns::into_inner)));
    let value = serde_json::to_value(item).unwrap_or(Value::Null);
    let changed = changes.display_name.is_some()
        || changes.bio.is_some()
        || changes.location.is_some()
        || changes.website.is_some()
        || changes.pronouns.is_some();
    if changed {
        members::update_profile(conn, run.member, &changes).await?;
    }
    store::remember(conn, run.member, key, &value, None, None, None).await?;
    let action = match (changed, previous.is_some()) {
        (false, _) => Action::Unchanged,
        (true, false) => Action::Create,
        (true, true) => Action::Update,
    };
    let note = (!problems.is_empty()).then(|| format!("not kept: {}", problems.join("; ")));
    Ok(Decision {
        action,
        note,
        film: None,
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::ops::fixture::Fixture;

    const KEY: &str = "lb:diary:children-of-heaven:2026-11-01";

    fn row(film: FilmId, rating: i16) -> ImportRow {
        let item = Item::Entry {
            watched_on: NaiveDate::from_ymd_opt(2026, 11, 1),
            rewatch: false,
            rating: Some(rating),
            review: Some("A quiet marvel.".to_owned()),
            spoilers: false,
            tags: vec!["tearjerker".to_owned()],
            visibility: None,
        };
        let staged = serde_json::json!({
            "film": {"name": "Children of Heaven", "year": 1997},
            "item": item,
        });
        ImportRow {
            seq: 1,
            file: "diary.csv".to_owned(),
            line: 2,
            kind: "entry".to_owned(),
            source_key: Some(KEY.to_owned()),
            item: Some(staged),
            film_id: Some(film),
            film_slug: Some("children-of-heaven-1997".to_owned()),
            matched_by: Some(MatchedBy::TitleYear),
            note: None,
        }
    }

    #[tokio::test]
    async fn importing_again_changes_nothing_an_edit_updates_and_a_deletion_is_not_undone() {
        let mut f = Fixture::new().await;
        let ana = f.member("ana").await;
        let film = f.film("children-of-heaven-1997").await;
        let mut run = Run::new(ImportJobId::new(1), ana, false);
        let mut apply_row = async |f: &mut Fixture, rating| {
            let previous = store::source(&mut f.conn, ana, KEY)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            apply(&mut f.conn, &mut run, &row(film, rating), previous)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };

        let first = apply_row(&mut f, 9).await;
        assert_eq!((first.action, first.film), (Action::Create, Some(film)));
        assert_eq!(f.count("log_entries").await, 1);
        let again = apply_row(&mut f, 9).await;
        assert_eq!(again.action, Action::Unchanged);
        assert_eq!(f.count("log_entries").await, 1, "nothing logged twice");

        let edited = apply_row(&mut f, 10).await;
        assert_eq!(edited.action, Action::Update);
        let (entry, rating): (i64, Option<i16>) = {
            use diesel::{ExpressionMethods, QueryDsl};
            use diesel_async::RunQueryDsl;
            use filmlog_persistence::schema::log_entries;
            log_entries::table
                .filter(log_entries::member_id.eq(ana.get()))
                .select((log_entries::id, log_entries::rating))
                .first(&mut f.conn)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(rating, Some(10), "the entry took the new rating");

        let entry = filmlog_domain::LogEntryId::new(entry);
        let accept = || super::super::step(|_| Box::pin(async { Ok(()) }));
        films::delete_own_entry(&mut f.conn, ana, entry, accept())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let deleted = apply_row(&mut f, 8).await;
        assert_eq!(deleted.action, Action::Skip);
        assert!(
            deleted.note.is_some_and(|n| n.contains("deleted")),
            "says why"
        );
        assert_eq!(
            f.count("log_entries").await,
            0,
            "a deletion in Filmlog stands"
        );
    }
}
