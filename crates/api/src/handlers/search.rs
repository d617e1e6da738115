//! One search across films, people, members and lists.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, web};
use filmlog_app::ErrorCode;
use filmlog_domain::Viewer;
use filmlog_domain::search::{self as rank, MAX_QUERY_CHARS, MIN_QUERY_CHARS, Mode};
use filmlog_persistence::search::{self, FilmHit, Hits, Kinds};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Viewing;
use crate::dto::{FilmSummary, MemberSummary};
use crate::error::{ApiError, ApiResult, BadPageQuery, ServiceUnavailable};
use crate::extract::Query;
use crate::handlers::lists::ListSummary;
use crate::state::AppState;

/// The most results a search returns.
const MAX_RESULTS: i64 = 50;
/// What a film's year adds when the query ends with it ("the thing 1982").
const YEAR_BONUS: f64 = 0.3;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Whole words; small typos, accents, case and punctuation do not matter.
    Full,
    /// As you type: titles and names that start with the query, or have a word that does.
    Autocomplete,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for: 2–100 characters with at least two letters or digits. A trailing year
    /// ("the thing 1982") prefers films of that year.
    #[param(example = "heaven")]
    pub q: String,
    /// Comma-separated kinds to return: `film`, `person`, `member`, `list` (default: all).
    #[param(example = "film,person")]
    pub types: Option<String>,
    /// `full` (default) or `autocomplete`.
    #[param(inline)]
    pub mode: Option<SearchMode>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

/// A person as search finds them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonSummary {
    #[schema(example = "majid-majidi")]
    pub slug: String,
    #[schema(example = "Majid Majidi")]
    pub name: String,
    /// Films they are credited on.
    pub credit_count: i64,
}

/// One result: its kind in `type`, its `score` (higher is better; comparable within one
/// response only) and the thing itself under the kind's name.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SearchResult {
    Film { score: f64, film: FilmSummary },
    Person { score: f64, person: PersonSummary },
    Member { score: f64, member: MemberSummary },
    List { score: f64, list: ListSummary },
}

impl SearchResult {
    /// Between equal scores: films, people, members, lists, each by its name.
    fn tie(&self) -> (u8, &str) {
        match self {
            SearchResult::Film { film, .. } => (0, film.slug.as_str()),
            SearchResult::Person { person, .. } => (1, person.slug.as_str()),
            SearchResult::Member { member, .. } => (2, member.username.as_str()),
            SearchResult::List { list, .. } => (3, list.id.as_str()),
        }
    }

    fn score(&self) -> f64 {
        match self {
            SearchResult::Film { score, .. }
            | SearchResult::Person { score, .. }
            | SearchResult::Member { score, .. }
            | SearchResult::List { score, .. } => *score,
        }
    }
}

/// Search results, best first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    /// The query as it was matched: lowercase, accents and punctuation folded.
    #[schema(example = "children of heaven")]
    pub query: String,
    pub results: Vec<SearchResult>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQueryParameter, message)
}

fn kinds(raw: Option<&str>) -> ApiResult<Kinds> {
    let Some(raw) = raw else {
        return Ok(Kinds {
            films: true,
            people: true,
            members: true,
            lists: true,
        });
    };
    let mut kinds = Kinds {
        films: false,
        people: false,
        members: false,
        lists: false,
    };
    for kind in raw.split(',').map(str::trim) {
        match kind {
            "film" => kinds.films = true,
            "person" => kinds.people = true,
            "member" => kinds.members = true,
            "list" => kinds.lists = true,
            other => {
                return Err(bad(format!(
                    "types takes film, person, member and list, not {:?}",
                    other.chars().take(40).collect::<String>()
                )));
            }
        }
    }
    Ok(kinds)
}

/// Ranks every kind's hits together, best first, at most `limit`.
fn rank(
    hits: Hits,
    year: Option<(String, i32)>,
    mode: Mode,
    viewer: Viewer,
    limit: usize,
) -> Vec<SearchResult> {
    let q = hits.key.as_str();
    let mut films: HashMap<String, (f64, FilmHit)> = HashMap::new();
    let mut keep = |score: f64, hit: FilmHit| match films.get(&hit.film.slug) {
        Some((best, _)) if *best >= score => {}
        _ => {
            films.insert(hit.film.slug.clone(), (score, hit));
        }
    };
    for hit in hits.films {
        let score = rank::score(
            q,
            &hit.key,
            f64::from(hit.text),
            i64::from(hit.watch_count),
            mode,
        );
        keep(score, hit);
    }
    if let Some((title, year)) = &year {
        for hit in hits
            .films_by_title
            .into_iter()
            .filter(|h| h.film.year == Some(*year))
        {
            let score = rank::score(
                title,
                &hit.key,
                f64::from(hit.text),
                i64::from(hit.watch_count),
                mode,
            ) + YEAR_BONUS;
            keep(score, hit);
        }
    }
    let mut results: Vec<SearchResult> = films
        .into_values()
        .map(|(score, hit)| SearchResult::Film {
            score,
            film: FilmSummary::from(hit.film).seen_by(viewer, hit.viewer),
        })
        .collect();
    results.extend(hits.people.into_iter().map(|hit| SearchResult::Person {
        score: rank::score(q, &hit.key, f64::from(hit.text), hit.credits, mode),
        person: PersonSummary {
            slug: hit.person.slug,
            name: hit.person.name,
            credit_count: hit.credits,
        },
    }));
    results.extend(hits.members.into_iter().map(|hit| {
        let followers = i64::from(hit.follower_count);
        // By the username or the display name alone (an exact username is an exact match), or
        // by both together.
        let username = rank::key(&hit.member.username);
        let display = hit
            .member
            .display_name
            .as_deref()
            .map(rank::key)
            .unwrap_or_default();
        let by = |key: &str| rank::score(q, key, rank::text_score(q, key), followers, mode);
        let score = by(&username).max(by(&display)).max(rank::score(
            q,
            &hit.key,
            f64::from(hit.text),
            followers,
            mode,
        ));
        SearchResult::Member {
            score,
            member: hit.member.into(),
        }
    }));
    results.extend(hits.lists.into_iter().map(|hit| {
        let key = rank::key(&hit.list.list.name);
        let text = rank::text_score(q, &key);
        let likes = i64::from(hit.list.list.like_count);
        SearchResult::List {
            score: rank::score(q, &key, text, likes, mode),
            list: hit.list.into(),
        }
    }));
    results.sort_by(|a, b| {
        b.score()
            .total_cmp(&a.score())
            .then_with(|| a.tie().cmp(&b.tie()))
    });
    results.truncate(limit);
    for r in &mut results {
        let rounded = (r.score() * 1000.0).round() / 1000.0;
        match r {
            SearchResult::Film { score, .. }
            | SearchResult::Person { score, .. }
            | SearchResult::Member { score, .. }
            | SearchResult::List { score, .. } => *score = rounded,
        }
    }
    results
}

/// Search everything
///
/// Films (by any title they are known by), people, members (by username or display name) and
/// lists, ranked together by how well the text matches and then by popularity. Case, accents,
/// punctuation and small typos do not matter ("amelie", "godfater", "wong kar wai"); a trailing
/// year tells remakes apart. `mode=autocomplete` matches what is typed so far against the start
/// of titles, names and their words. Only what you may see is found: no private list of
/// another's, no one on the other side of a block, no suspended member or their lists.
#[utoipa::path(
    operation_id = "search",
    tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, description = "Best first", body = SearchResults),
        (status = 400, response = BadPageQuery),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/search")]
pub async fn search_everything(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    query: Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let q = query.q.trim();
    if q.chars().count() > MAX_QUERY_CHARS || q.chars().any(char::is_control) {
        return Err(bad(format!(
            "q must be one line of at most {MAX_QUERY_CHARS} characters"
        )));
    }
    if rank::key(q).chars().filter(|c| c.is_alphanumeric()).count() < MIN_QUERY_CHARS {
        return Err(bad(format!(
            "q needs at least {MIN_QUERY_CHARS} letters or digits"
        )));
    }
    let kinds = kinds(query.types.as_deref())?;
    let limit = match query.limit {
        None => 20,
        Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidLimit,
                format!("limit must be between 1 and {MAX_RESULTS}"),
            ));
        }
    };
    let mode = match query.mode.unwrap_or(SearchMode::Full) {
        SearchMode::Full => Mode::Full,
        SearchMode::Autocomplete => Mode::Prefix,
    };
    let (title, year) = rank::trailing_year(q);
    // Enough candidates per kind for the ranking to choose from.
    let per_kind = (limit * 2).clamp(20, 60);
    let pooled = state.read_conn().await?;
    let conn: &filmlog_persistence::AsyncPgConnection = &pooled;
    // As the database folds them: a query of symbols it folds away would match everything.
    let (key, title_key) = search::fold(conn, q, year.map(|_| title)).await?;
    if key.chars().count() < MIN_QUERY_CHARS {
        return Err(bad(format!(
            "q needs at least {MIN_QUERY_CHARS} letters or digits"
        )));
    }
    let year = year
        .zip(title_key)
        .filter(|(_, t)| t.chars().count() >= MIN_QUERY_CHARS)
        .map(|(y, t)| (t, y));
    let hits = search::search(
        conn,
        q,
        key,
        year.as_ref().map(|_| title),
        mode,
        kinds,
        viewer.member(),
        per_kind,
    )
    .await?;
    drop(pooled);
    let folded = hits.key.clone();
    let results = rank(
        hits,
        year,
        mode,
        viewer,
        usize::try_from(limit).unwrap_or(20),
    );
    Ok(HttpResponse::Ok().json(SearchResults {
        query: folded,
        results,
    }))
}
