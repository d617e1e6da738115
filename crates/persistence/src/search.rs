//! One search across the catalog and the community: films (by every title they are known by),
//! people, members (username and display name) and lists, each matched on the migration's
//! `search_key` (accents, case and punctuation folded) by trigram similarity, so that small typos
//! do not matter either, and each through the same visibility filters as its own pages. The four
//! statements are pipelined: one round trip.
//!
//! Full mode matches a whole query against whole titles and names (`%`, `<%`: similarity and word
//! similarity above pg_trgm's thresholds); prefix mode (as you type) matches titles and names that
//! start with the query, or have a word that does. Each statement returns its best candidates by
//! text score; the caller ranks them together.

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::sql_types::Text;
use diesel::{
    BoolExpressionMethods, ExpressionMethods, NullableExpressionMethods, QueryDsl,
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

/// The members' search key, exactly as its index has it.
fn member_key() -> diesel::expression::SqlLiteral<Text> {
    sql::<Text>("search_key(members.username || ' ' || coalesce(members.display_name, ''))")
}

/// Films whose titles match `q`, best first.
async fn film_hits(
    mut conn: &AsyncPgConnection,
    q: &str,
    mode: Mode,
    viewer: Option<MemberId>,
    per_kind: i64,
) -> Result<Vec<FilmHit>> {
    let k = film_search_titles::key;
    let text = search_score(search_key(q), k);
    let base = film_search_titles::table
        .inner_join(films::table.inner_join(film_stats::table))
        .left_join(crate::viewer_film_on(viewer_id(viewer), films::id))
        .filter(crate::film_in_scope(viewer_id(viewer), false))
        .select((
            FilmSummaryRow::as_select(),
            crate::viewer_film_columns(),
            film_stats::watch_count,
            k,
            text,
        ))
        .order((text.desc(), film_stats::watch_count.desc(), films::id.asc()))
        .limit(per_kind)
        .into_boxed::<Pg>();
    let query = match mode {
        Mode::Full => {
            base.filter(WordSimilar::new(search_key(q), k).or(Similar::new(k, search_key(q))))
        }
        Mode::Prefix => base.filter(
            k.like(search_key(q).concat("%"))
                .or(k.like(sql::<Text>("'% '").concat(search_key(q)).concat("%"))),
        ),
    };
    let rows: Vec<(FilmSummaryRow, ViewerFilmRow, i32, String, f32)> =
        query.load(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(|(film, viewer, watch_count, key, text)| FilmHit {
            film,
            viewer,
            watch_count,
            key,
            text,
        })
        .collect())
}

/// Searches every kind in `kinds` for `q` as `viewer` may see it, at most `per_kind` of each;
/// films also for `title_without_year` (the query less a trailing year), when given.
pub async fn search(
    conn: &AsyncPgConnection,
    q: &str,
    title_without_year: Option<&str>,
    mode: Mode,
    kinds: Kinds,
    viewer: Option<MemberId>,
    per_kind: i64,
) -> Result<Hits> {
    let key = async {
        let mut conn = conn;
        let key: String = diesel::select(search_key(q)).get_result(&mut conn).await?;
        Ok::<_, crate::PersistenceError>(key)
    };
    let films = async {
        if !kinds.films {
            return Ok((Vec::new(), Vec::new()));
        }
        let whole = film_hits(conn, q, mode, viewer, per_kind);
        match title_without_year {
            Some(title) => {
                let title = film_hits(conn, title, mode, viewer, per_kind);
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
        let text = search_score(search_key(q), k);
        let credits = film_credits::table
            .filter(film_credits::person_id.eq(people::id))
            .count()
            .single_value()
            .assume_not_null();
        let base = people::table
            .select((PersonRow::as_select(), k, text, credits))
            .order((text.desc(), credits.desc(), people::id.asc()))
            .limit(per_kind)
            .into_boxed::<Pg>();
        let query = match mode {
            Mode::Full => {
                base.filter(WordSimilar::new(search_key(q), k).or(Similar::new(k, search_key(q))))
            }
            Mode::Prefix => base.filter(
                k.like(search_key(q).concat("%"))
                    .or(k.like(sql::<Text>("'% '").concat(search_key(q)).concat("%"))),
            ),
        };
        let rows: Vec<(PersonRow, String, f32, i64)> = query.load(&mut conn).await?;
        Ok(rows
            .into_iter()
            .map(|(person, key, text, credits)| PersonHit {
                person,
                key,
                text,
                credits,
            })
            .collect())
    };
    let members = async {
        let mut conn = conn;
        if !kinds.members {
            return Ok(Vec::new());
        }
        let k = member_key();
        let text = search_score(search_key(q), k.clone());
        let base = crate::others_page(members::table.into_boxed::<Pg>(), viewer)
            .select((
                MemberSummaryRow::as_select(),
                members::follower_count,
                k.clone(),
                text.clone(),
            ))
            .order((
                text.desc(),
                members::follower_count.desc(),
                members::id.asc(),
            ))
            .limit(per_kind);
        let query = match mode {
            Mode::Full => base.filter(
                WordSimilar::new(search_key(q), k.clone()).or(Similar::new(k, search_key(q))),
            ),
            Mode::Prefix => base.filter(
                k.clone()
                    .like(search_key(q).concat("%"))
                    .or(k.like(sql::<Text>("'% '").concat(search_key(q)).concat("%"))),
            ),
        };
        let rows: Vec<(MemberSummaryRow, i32, String, f32)> = query.load(&mut conn).await?;
        Ok(rows
            .into_iter()
            .map(|(member, follower_count, key, text)| MemberHit {
                member,
                follower_count,
                key,
                text,
            })
            .collect())
    };
    let lists = async {
        let mut conn = conn;
        if !kinds.lists {
            return Ok(Vec::new());
        }
        // The lists' own page query (visibility, blocks, suspended owners), most liked first;
        // the caller scores their names.
        let k = search_key(lists::name);
        let page =
            crate::lists::lists_page(viewer, crate::lists::ListSort::Popular, None, per_kind);
        let rows: Vec<ListView> = match mode {
            Mode::Full => {
                page.filter(WordSimilar::new(search_key(q), k).or(Similar::new(k, search_key(q))))
                    .load(&mut conn)
                    .await?
            }
            Mode::Prefix => {
                page.filter(
                    k.like(search_key(q).concat("%"))
                        .or(k.like(sql::<Text>("'% '").concat(search_key(q)).concat("%"))),
                )
                .load(&mut conn)
                .await?
            }
        };
        Ok(rows.into_iter().map(|list| ListHit { list }).collect())
    };
    let (key, films, people, members, lists) =
        futures_util::future::try_join5(key, films, people, members, lists).await?;
    let (films, films_by_title) = films;
    Ok(Hits {
        key,
        films,
        films_by_title,
        people,
        members,
        lists,
    })
}
