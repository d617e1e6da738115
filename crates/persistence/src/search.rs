//! One search across the catalog and the community: films (by every title they are known by),
//! people, members (username and display name) and lists, each matched on the migration's
//! `search_key` (accents, case and punctuation folded) by trigram similarity, so that small typos
//! do not matter either, and each through the same visibility filters as its own pages.
//!
//! Each kind's best candidates by text are read through the visibility filters of its pages (a
//! hidden thing never takes a visible one's place), pipelined in one round trip; then the films'
//! rows for the film candidates. The query is folded first, apart: a query that folds to less than
//! two characters would match everything, and is refused.
//!
//! Full mode matches a whole query against whole titles and names (`%`, `<%`: similarity and word
//! similarity above pg_trgm's thresholds); prefix mode (as you type) matches titles and names that
//! start with the query, or have a word that does. Each statement returns its best candidates by
//! text score; the caller ranks them together.

use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Text};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, IntoSql, NullableExpressionMethods, QueryDsl,
    SelectableHelper, TextExpressionMethods,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;
use crate::catalog::FilmSummaryRow;
use crate::lists::ListView;
use crate::members::MemberSummaryRow;
use crate::people::PersonRow;
use crate::schema::{film_credits, film_search_titles, film_stats, films, lists, members, people};
use crate::viewer::{ViewerFilmRow, viewer_id};

diesel::define_sql_function! {
    /// The migration's `search_key(text)`: lowered, accents folded, punctuation to spaces.
    fn search_key(t: Text) -> Text;
}
diesel::define_sql_function! {
    /// The migration's `search_score(q, key)`: how well a folded query matches a folded key (0–1).
    fn search_score(q: Text, k: Text) -> Float;
}
diesel::define_sql_function! {
    /// The migration's `member_search_key(username, display_name)`, as its index has it.
    fn member_search_key(username: Text, display_name: Nullable<Text>) -> Text;
}
diesel::infix_operator!(Similar, " % ", backend: Pg);
diesel::infix_operator!(WordSimilar, " <% ", backend: Pg);

pub use filmlog_domain::search::Mode;

/// Which kinds of thing a search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    pub films: bool,
    pub people: bool,
    pub members: bool,
    pub lists: bool,
}

/// A film that matched, by the title that matched best.
#[derive(Debug, Clone)]
pub struct FilmHit {
    pub film: FilmSummaryRow,
    pub viewer: ViewerFilmRow,
    pub watch_count: i32,
    /// The folded title that matched.
    pub key: String,
    pub text: f32,
}

#[derive(Debug, Clone)]
pub struct PersonHit {
    pub person: PersonRow,
    pub key: String,
    pub text: f32,
    /// Films they are credited on.
    pub credits: i64,
}

#[derive(Debug, Clone)]
pub struct MemberHit {
    pub member: MemberSummaryRow,
    pub follower_count: i32,
    pub key: String,
    pub text: f32,
}

/// A list that matched (most liked first; its name is scored by the caller).
#[derive(Debug, Clone)]
pub struct ListHit {
    pub list: ListView,
}

/// What matched, per kind, each best first, plus the query as folded.
#[derive(Debug, Clone, Default)]
pub struct Hits {
    pub key: String,
    pub films: Vec<FilmHit>,
    /// Films matched by the query less its trailing year.
    pub films_by_title: Vec<FilmHit>,
    pub people: Vec<PersonHit>,
    pub members: Vec<MemberHit>,
    pub lists: Vec<ListHit>,
}

/// Runs `$query` filtered by whether `$key` matches the query `$q` in `$mode` (whole words with
/// typos, or as typed so far): one statement per mode, each prepared once.
macro_rules! matching {
    ($conn:expr, $mode:expr, $q:expr, $key:expr, $query:expr) => {
        match $mode {
            Mode::Full => {
                $query
                    .filter(
                        WordSimilar::new(search_key($q), $key)
                            .or(Similar::new($key, search_key($q))),
                    )
                    .load(&mut $conn)
                    .await?
            }
            Mode::Prefix => {
                $query
                    .filter(
                        $key.like(search_key($q).concat("%"))
                            .or($key
                                .like("% ".into_sql::<Text>().concat(search_key($q)).concat("%"))),
                    )
                    .load(&mut $conn)
                    .await?
            }
        }
    };
}

/// The query and the title less its year as the database folds them (what matching uses).
pub async fn fold(
    conn: &AsyncPgConnection,
    q: &str,
    title: Option<&str>,
) -> Result<(String, Option<String>)> {
    let key = async {
        let mut conn = conn;
        let key: String = diesel::select(search_key(q)).get_result(&mut conn).await?;
        Ok::<_, crate::PersistenceError>(key)
    };
    let title = async {
        let mut conn = conn;
        match title {
            Some(t) => {
                let key: String = diesel::select(search_key(t)).get_result(&mut conn).await?;
                Ok::<_, crate::PersistenceError>(Some(key))
            }
            None => Ok(None),
        }
    };
    futures_util::future::try_join(key, title).await
}

/// Each kind's best candidates by text, as the viewer may see them.
#[derive(Default)]
struct Candidates {
    films: Vec<(i64, String, f32)>,
    films_by_title: Vec<(i64, String, f32)>,
    people: Vec<(PersonRow, String, f32, i64)>,
    members: Vec<(MemberSummaryRow, i32, String, f32)>,
    lists: Vec<ListView>,
}

async fn film_candidates(
    mut conn: &AsyncPgConnection,
    q: &str,
    mode: Mode,
    viewer: Option<MemberId>,
    limit: i64,
) -> Result<Vec<(i64, String, f32)>> {
    let k = film_search_titles::key;
    let score = search_score(search_key(q), k);
    let query = film_search_titles::table
        .inner_join(films::table)
        .filter(crate::film_in_scope(viewer_id(viewer), false))
        .select((film_search_titles::film_id, k, score))
        .order((score.desc(), film_search_titles::film_id.asc()))
        .limit(limit);
    Ok(matching!(conn, mode, q, k, query))
}

async fn candidates(
    conn: &AsyncPgConnection,
    q: &str,
    title_without_year: Option<&str>,
    mode: Mode,
    kinds: Kinds,
    viewer: Option<MemberId>,
    per_kind: i64,
) -> Result<Candidates> {
    let films = async {
        if !kinds.films {
            return Ok((Vec::new(), Vec::new()));
        }
        // A film known by several titles may come more than once.
        let whole = film_candidates(conn, q, mode, viewer, per_kind * 2);
        match title_without_year {
            Some(title) => {
                let title = film_candidates(conn, title, mode, viewer, per_kind * 2);
                futures_util::future::try_join(whole, title).await
            }
            None => Ok((whole.await?, Vec::new())),
        }
    };
    let people = async {
        let mut conn = conn;
        if !kinds.people {
            return Ok(Vec::new());
        }
        let k = search_key(people::name);
        let score = search_score(search_key(q), k);
        let credits = film_credits::table
            .filter(film_credits::person_id.eq(people::id))
            .count()
            .single_value()
            .assume_not_null();
        let query = people::table
            .select((PersonRow::as_select(), k, score, credits))
            .order((score.desc(), people::id.asc()))
            .limit(per_kind);
        Ok::<_, crate::PersistenceError>(matching!(conn, mode, q, k, query))
    };
    let members = async {
        let mut conn = conn;
        if !kinds.members {
            return Ok(Vec::new());
        }
        // The members' own page filter: never suspended, never across a block.
        let k = member_search_key(members::username, members::display_name);
        let score = search_score(search_key(q), k);
        let query = crate::others_page(members::table.into_boxed::<Pg>(), viewer)
            .select((
                MemberSummaryRow::as_select(),
                members::follower_count,
                k,
                score,
            ))
            .order((score.desc(), members::id.asc()))
            .limit(per_kind);
        Ok::<_, crate::PersistenceError>(matching!(conn, mode, q, k, query))
    };
    let lists = async {
        let mut conn = conn;
        if !kinds.lists {
            return Ok(Vec::new());
        }
        // The lists' own page filter: the visibility rule, no suspended owner, never across a block.
        let k = search_key(lists::name);
        let score = search_score(search_key(q), k);
        let mut query = crate::lists::visible_lists(viewer_id(viewer))
            .order((score.desc(), lists::id.asc()))
            .limit(per_kind)
            .into_boxed::<Pg>();
        if let Some(viewer) = viewer {
            query = query.filter(crate::unblocked(viewer.get(), lists::owner_id));
        }
        Ok::<_, crate::PersistenceError>(matching!(conn, mode, q, k, query))
    };
    let ((films, films_by_title), people, members, lists) =
        futures_util::future::try_join4(films, people, members, lists).await?;
    Ok(Candidates {
        films,
        films_by_title,
        people,
        members,
        lists,
    })
}

/// Searches every kind in `kinds` for `q` as `viewer` may see it, at most `per_kind` of each;
/// films also for `title_without_year` (the query less a trailing year), when given. `key` is the
/// query as [`fold`] folded it.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    conn: &AsyncPgConnection,
    q: &str,
    key: String,
    title_without_year: Option<&str>,
    mode: Mode,
    kinds: Kinds,
    viewer: Option<MemberId>,
    per_kind: i64,
) -> Result<Hits> {
    let found = candidates(conn, q, title_without_year, mode, kinds, viewer, per_kind).await?;
    let film_ids: Vec<i64> = found
        .films
        .iter()
        .chain(&found.films_by_title)
        .map(|(id, _, _)| *id)
        .collect();
    let films: Vec<(FilmSummaryRow, ViewerFilmRow, i32)> = if film_ids.is_empty() {
        Vec::new()
    } else {
        let mut conn = conn;
        films::table
            .inner_join(film_stats::table)
            .left_join(crate::viewer_film_on(viewer_id(viewer), films::id))
            .filter(films::id.eq_any(&film_ids))
            .select((
                FilmSummaryRow::as_select(),
                crate::viewer_film_columns(),
                film_stats::watch_count,
            ))
            .load(&mut conn)
            .await?
    };
    let by_id: std::collections::HashMap<i64, (FilmSummaryRow, ViewerFilmRow, i32)> =
        films.into_iter().map(|row| (row.0.id.get(), row)).collect();
    let film_hits = |candidates: Vec<(i64, String, f32)>| -> Vec<FilmHit> {
        candidates
            .into_iter()
            .filter_map(|(id, key, text)| {
                let (film, viewer, watch_count) = by_id.get(&id)?.clone();
                Some(FilmHit {
                    film,
                    viewer,
                    watch_count,
                    key,
                    text,
                })
            })
            .collect()
    };
    Ok(Hits {
        key,
        films: film_hits(found.films),
        films_by_title: film_hits(found.films_by_title),
        people: found
            .people
            .into_iter()
            .map(|(person, key, text, credits)| PersonHit {
                person,
                key,
                text,
                credits,
            })
            .collect(),
        members: found
            .members
            .into_iter()
            .map(|(member, follower_count, key, text)| MemberHit {
                member,
                follower_count,
                key,
                text,
            })
            .collect(),
        lists: found
            .lists
            .into_iter()
            .map(|list| ListHit { list })
            .collect(),
    })
}
