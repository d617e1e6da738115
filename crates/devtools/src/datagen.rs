//! `filmlog gen-data --profile ci|medium`: a deterministic, realistic data set for benchmarks and
//! plan checks, written straight into PostgreSQL with COPY.
//!
//! Shape (medium; `ci` is a tenth, except 20k films: a catalog so small that PostgreSQL rightly
//! scans it whole would hide what the search plan does at scale): 100k members; about 10M follows whose followees are drawn with a
//! heavy tail (a few members with tens of thousands of followers, most with a few dozen); 50k films
//! (the real demo catalog plus generated ones); 1M log entries (ratings on most, review text of
//! realistic length on a third) skewed towards popular films and active members; review likes and
//! comments skewed towards popular reviews; activity rows for entries, likes, comments and recent
//! follows. Triggers are off during the load (`session_replication_role = replica`), secondary
//! indexes are dropped and rebuilt, and every maintained counter is then computed set-wise and
//! checked against the base tables.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::SinkExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, NoTls};

use filmlog::{BoxError, Settings};

/// Sizes of a data set.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub members: u64,
    pub films: u64,
    pub log_entries: u64,
    /// Mean follows per member.
    pub mean_following: u64,
    pub likes: u64,
    pub comments: u64,
    /// Lists, besides the bench's (sizes heavy-tailed: most hold a handful of films, a few thousands).
    pub lists: u64,
}

pub const MEDIUM: Profile = Profile {
    name: "medium",
    members: 100_000,
    films: 50_000,
    log_entries: 1_000_000,
    mean_following: 100,
    likes: 1_500_000,
    comments: 200_000,
    lists: 50_000,
};
pub const CI: Profile = Profile {
    name: "ci",
    members: 10_000,
    films: 20_000,
    log_entries: 100_000,
    mean_following: 100,
    likes: 150_000,
    comments: 20_000,
    lists: 5_000,
};

/// The member that follows about 1,000 members, and the one that follows about 100 (bench subjects).
pub const HEAVY_READER: i64 = 1;
pub const LIGHT_READER: i64 = 2;
/// The bench's lists: the first `BENCH_LISTS` lists, each of the same `BENCH_LIST_SIZE` generated
/// films (the first ones, consecutive ids) in its own order, public, ranked, owned by HEAVY_READER.
pub const BENCH_LISTS: u64 = 8;
pub const BENCH_LIST_SIZE: u64 = 1_000;
/// Every generated member's password.
pub const PASSWORD: &str = "filmlog-bench-password";

impl Profile {
    /// The database comment that marks a complete load of this profile.
    pub fn marker(&self) -> String {
        self.marker_of(4)
    }

    /// The marker of version `v` of the data set: v3 had no lists (v4 adds them in place, leaving
    /// the rest as it was).
    fn marker_of(&self, v: u32) -> String {
        format!("filmlog gen-data {} v{v} complete", self.name)
    }
}

const WORDS: &[&str] = &[
    "the",
    "film",
    "light",
    "quiet",
    "city",
    "night",
    "mother",
    "river",
    "long",
    "house",
    "camera",
    "slow",
    "music",
    "child",
    "winter",
    "road",
    "face",
    "story",
    "ending",
    "frame",
    "memory",
    "small",
    "war",
    "love",
    "silence",
    "train",
    "sea",
    "window",
    "every",
    "scene",
    "shot",
    "actor",
    "never",
    "again",
    "after",
    "before",
    "only",
    "beautiful",
    "strange",
    "heavy",
    "tender",
    "cold",
    "bright",
    "dark",
    "familiar",
    "patient",
    "restless",
    "sharp",
    "and",
    "but",
    "with",
    "without",
    "through",
    "under",
    "like",
    "is",
    "was",
    "feels",
    "moves",
    "breaks",
    "holds",
];

/// Syllables of made-up title words, so that generated titles are as varied as a real catalog's (a
/// search matches a few dozen of 50k titles, not thousands).
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "te", "vu", "sen", "dor", "ba", "ne", "li", "qua", "zo", "fi", "gar",
    "hu", "jen", "pa", "ri", "sto", "tam", "vel", "wi", "yor", "el", "an", "mor", "ti", "su",
    "den",
];

/// A made-up word of two or three syllables, capitalised.
fn made_up_word(rng: &mut StdRng) -> String {
    let n = 2 + rng.random_range(0..2);
    let word: String = (0..n)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect();
    let mut c = word.chars();
    c.next()
        .map(|h| h.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

const TITLE_WORDS: &[&str] = &[
    "Heaven", "Night", "River", "Glass", "Summer", "Winter", "Silent", "Last", "Red", "Blue",
    "Garden", "Harbor", "Mirror", "Stranger", "Letters", "Shadows", "Morning", "Horizon", "Paper",
    "Stone", "Wild", "Golden", "Hidden", "Distant", "Broken", "Little", "Endless", "Burning",
    "Secret", "Empty", "Northern", "Southern", "Long",
];

/// Progress of the phases: a bar per phase while it runs (on a terminal only), and one summary line
/// per phase when it ends.
struct Progress {
    started: Instant,
    bar: std::cell::RefCell<Option<(String, indicatif::ProgressBar)>>,
}

impl Progress {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            bar: std::cell::RefCell::new(None),
        }
    }

    fn step(&self, what: &str, done: u64, total: u64) {
        let mut bar = self.bar.borrow_mut();
        if bar.as_ref().is_none_or(|(name, _)| name != what) {
            *bar = Some((what.to_owned(), filmlog::progress_bar(what, total)));
        }
        if let Some((_, bar)) = bar.as_ref() {
            bar.set_position(done);
        }
    }

    fn done(&self, what: &str, n: u64) {
        if let Some((_, bar)) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
        eprintln!(
            "  {what:<30} {n:>10} rows  {:>6.1}s",
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Streams rows into `COPY table (columns) FROM STDIN` (text format), `rows` at a time.
struct Copy<'a> {
    client: &'a Client,
    statement: String,
    buf: String,
    rows: u64,
    sink: Option<std::pin::Pin<Box<tokio_postgres::CopyInSink<Bytes>>>>,
}

impl<'a> Copy<'a> {
    fn new(client: &'a Client, table: &str, columns: &str) -> Self {
        Copy {
            client,
            statement: format!("COPY {table} ({columns}) FROM STDIN"),
            buf: String::new(),
            rows: 0,
            sink: None,
        }
    }

    async fn row(&mut self, line: std::fmt::Arguments<'_>) -> Result<(), BoxError> {
        self.buf.write_fmt(line)?;
        self.buf.push('\n');
        self.rows += 1;
        if self.buf.len() > 1 << 20 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), BoxError> {
        if self.sink.is_none() {
            self.sink = Some(Box::pin(
                self.client.copy_in(self.statement.as_str()).await?,
            ));
        }
        if let Some(sink) = self.sink.as_mut() {
            let chunk = std::mem::take(&mut self.buf);
            sink.send(Bytes::from(chunk)).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, BoxError> {
        self.flush().await?;
        if let Some(mut sink) = self.sink.take() {
            sink.as_mut().finish().await?;
        }
        Ok(self.rows)
    }
}

/// A generated log entry: (member, film, rating, has review, created at).
type Entry = (i64, i64, Option<i16>, bool, DateTime<Utc>);

/// COPY text escaping.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
        .replace('\r', "\\r")
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// Index in `0..n` drawn with a heavy tail towards 0: `floor(n · u^k)`.
fn skewed(rng: &mut StdRng, n: u64, k: i32) -> u64 {
    let u: f64 = rng.random();
    ((n as f64) * u.powi(k)).floor().min((n - 1) as f64) as u64
}

fn sentence(rng: &mut StdRng, chars: usize) -> String {
    let mut out = String::with_capacity(chars + 16);
    let mut first = true;
    while out.len() < chars {
        let w = WORDS[rng.random_range(0..WORDS.len())];
        if first {
            let mut c = w.chars();
            if let Some(h) = c.next() {
                out.extend(h.to_uppercase());
                out.push_str(c.as_str());
            }
            first = false;
        } else {
            out.push(' ');
            out.push_str(w);
        }
        if rng.random_range(0..12) == 0 {
            out.push('.');
            first = true;
            if rng.random_range(0..6) == 0 {
                out.push_str("\n\n");
            }
        }
    }
    out.push('.');
    out
}

async fn exec(client: &Client, sql: &str) -> Result<(), BoxError> {
    client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("{sql}: {e}").into())
}

async fn scalar(client: &Client, sql: &str) -> Result<i64, BoxError> {
    Ok(client.query_one(sql, &[]).await?.get::<_, i64>(0))
}

/// Secondary indexes of `tables`, dropped for the load; returns their definitions.
async fn drop_secondary_indexes(client: &Client, tables: &[&str]) -> Result<Vec<String>, BoxError> {
    let rows = client
        .query(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i
             JOIN pg_class c ON c.relname = i.indexname
             JOIN pg_index x ON x.indexrelid = c.oid
             WHERE i.schemaname = 'public' AND i.tablename = ANY($1) AND NOT x.indisprimary AND NOT x.indisunique",
            &[&tables],
        )
        .await?;
    let mut defs = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        defs.push(row.get::<_, String>(1));
        exec(client, &format!("DROP INDEX {name}")).await?;
    }
    Ok(defs)
}

pub async fn run(settings: &Settings, profile: Profile) -> Result<(), BoxError> {
    let url = settings.database_url()?;
    filmlog_persistence::run_migrations(url).await?;
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let conn_task = tokio::spawn(connection);
    let progress = Progress::new();
    let marker: Option<String> = client
        .query_one("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()", &[])
        .await?
        .get(0);
    if marker.as_deref() == Some(profile.marker_of(3).as_str()) {
        println!("gen-data {}: adding lists to the v3 data set", profile.name);
    } else if scalar(&client, "SELECT count(*) FROM members").await? > 0 {
        return Err(
            "gen-data needs a fresh database (members exist); drop and recreate it first".into(),
        );
    } else {
        base(&client, url, profile, &progress).await?;
    }
    lists(&client, profile, &progress).await?;
    exec(&client, "VACUUM ANALYZE").await?;
    progress.done("analyzed", 0);
    let drift = client
        .query(filmlog_persistence::catalog::DRIFT_SQL, &[])
        .await?
        .len();
    if drift > 0 {
        return Err(format!("{drift} maintained counters differ from the base tables").into());
    }
    let db: String = client
        .query_one("SELECT current_database()", &[])
        .await?
        .get(0);
    exec(
        &client,
        &format!("COMMENT ON DATABASE \"{db}\" IS '{}'", profile.marker()),
    )
    .await?;
    let follows = scalar(&client, "SELECT count(*) FROM follows").await?;
    let top = scalar(&client, "SELECT max(follower_count)::bigint FROM members").await?;
    println!(
        "gen-data {}: done in {:.1}s; {follows} follows (most followed member: {top} followers); counters consistent",
        profile.name,
        progress.started.elapsed().as_secs_f64()
    );
    drop(client);
    let _ = conn_task.await;
    Ok(())
}

/// Everything but lists (the v3 data set, drawn exactly as it always was).
async fn base(
    client: &Client,
    url: &str,
    profile: Profile,
    progress: &Progress,
) -> Result<(), BoxError> {
    println!(
        "gen-data {}: {} members, {} films, {} log entries, ~{} follows",
        profile.name,
        profile.members,
        profile.films,
        profile.log_entries,
        profile.members * profile.mean_following
    );

    // The real catalog first (through the importer, with its checks), then generated films.
    let catalog = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/demo/vega-movies.json"
    ))?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&catalog)?;
    {
        use diesel_async::AsyncConnection;
        let mut diesel_conn = diesel_async::AsyncPgConnection::establish(url).await?;
        let summary = filmlog::import::import(&mut diesel_conn, &rows, false).await?;
        progress.done("real films", summary.imported as u64);
    }
    exec(client, "SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '512MB'").await?;
    let mut rng = StdRng::seed_from_u64(0x5eed_f11e);
    let now = Utc::now();
    let real_films = scalar(client, "SELECT count(*) FROM films").await? as u64;

    let dropped = drop_secondary_indexes(
        client,
        &[
            "follows",
            "log_entries",
            "activities",
            "review_likes",
            "comments",
            "member_films",
        ],
    )
    .await?;

    // Generated films.
    let mut copy = Copy::new(
        client,
        "films",
        "slug, title, year, release_date, runtime_minutes, genres",
    );
    let genres = [
        "Drama",
        "Comedy",
        "Thriller",
        "Horror",
        "Documentary",
        "Romance",
        "Action",
        "Animation",
    ];
    for i in 0..profile.films.saturating_sub(real_films) {
        let words = 1 + rng.random_range(0..3);
        // Mostly made-up words; now and then a common English title word.
        let title: Vec<String> = (0..words)
            .map(|_| {
                if rng.random_range(0..12) == 0 {
                    TITLE_WORDS[rng.random_range(0..TITLE_WORDS.len())].to_owned()
                } else {
                    made_up_word(&mut rng)
                }
            })
            .collect();
        let year = 1930 + rng.random_range(0..95);
        let date = NaiveDate::from_ymd_opt(
            year,
            1 + rng.random_range(0..12),
            1 + rng.random_range(0..28),
        )
        .unwrap_or_default();
        copy.row(format_args!(
            "gen-{i}\t{} {i}\t{year}\t{date}\t{}\t{{{}}}",
            title.join(" "),
            70 + rng.random_range(0..80),
            genres[rng.random_range(0..genres.len())]
        ))
        .await?;
    }
    progress.done("generated films", copy.finish().await?);
    exec(client, "INSERT INTO film_stats (film_id) SELECT id FROM films f WHERE NOT EXISTS (SELECT 1 FROM film_stats s WHERE s.film_id = f.id)").await?;
    let film_ids: Vec<i64> = client
        .query("SELECT id FROM films ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let film_count = film_ids.len() as u64;

    // Members: one shared argon2 hash of PASSWORD.
    let hash = {
        let passwords =
            filmlog_app::credentials::PasswordService::new(1).map_err(|e| e.to_string())?;
        passwords
            .hash(&filmlog_domain::Password::parse(PASSWORD)?)
            .await
            .map_err(|e| e.to_string())?
    };
    let mut copy = Copy::new(
        client,
        "members",
        "username, email, email_key, password_hash, display_name, created_at",
    );
    for i in 1..=profile.members {
        let joined = now - Duration::days(rng.random_range(30..2000));
        copy.row(format_args!(
            // Lower-case ASCII: the address is its own key.
            "u{i}\tu{i}@bench.filmlog.invalid\tu{i}@bench.filmlog.invalid\t{hash}\tMember {i}\t{}",
            ts(joined)
        ))
        .await?;
        if i % 10_000 == 0 {
            progress.step("members", i, profile.members);
        }
    }
    progress.done("members", copy.finish().await?);
    let first_member = scalar(client, "SELECT min(id) FROM members").await?;
    let member = |i: u64| first_member + i as i64;

    // Follows: out-degree around the mean (reader 1 follows ~1,000, reader 2 ~100); followees drawn
    // as floor(n·u³), so a few members collect tens of thousands of followers.
    let mut copy = Copy::new(client, "follows", "follower_id, followee_id, created_at");
    let mut follow_acts: Vec<(i64, i64, DateTime<Utc>)> = Vec::new();
    for i in 0..profile.members {
        let follower = member(i);
        let degree = match follower - first_member + 1 {
            HEAVY_READER => 1000,
            LIGHT_READER => 100,
            _ => {
                let u: f64 = rng.random();
                ((profile.mean_following as f64) * -(1.0 - u).ln())
                    .round()
                    .min(5000.0) as usize
            }
        };
        let mut seen = HashSet::with_capacity(degree);
        while seen.len() < degree.min(profile.members as usize - 1) {
            let followee = member(skewed(&mut rng, profile.members, 3));
            if followee != follower && seen.insert(followee) {
                let at = now - Duration::seconds(rng.random_range(60..63_000_000));
                copy.row(format_args!("{follower}\t{followee}\t{}", ts(at)))
                    .await?;
                if rng.random_range(0..10) == 0 {
                    follow_acts.push((follower, followee, at));
                }
            }
        }
        if i % 5000 == 0 {
            progress.step("follows", i, profile.members);
        }
    }
    progress.done("follows", copy.finish().await?);

    // Log entries, and the activity each stands for.
    let mut copy = Copy::new(
        client,
        "log_entries",
        "member_id, film_id, watched_on, rewatch, rating, review_text, contains_spoilers, created_at, updated_at",
    );
    let mut entries: Vec<Entry> = Vec::with_capacity(profile.log_entries as usize);
    let mut liked: Vec<(i64, i64)> = Vec::new();
    for n in 0..profile.log_entries {
        let m = member(skewed(&mut rng, profile.members, 2));
        let f = film_ids[skewed(&mut rng, film_count, 3) as usize];
        let watched = (now - Duration::days(rng.random_range(1..1100))).date_naive();
        let at = watched
            .and_hms_opt(20, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now)
            + Duration::seconds(rng.random_range(0..86_000));
        let rating: Option<i16> =
            (rng.random_range(0..10) < 8).then(|| (3 + rng.random_range(0..8)).min(10));
        let review = (n % 3 == 0).then(|| {
            let u: f64 = rng.random();
            let len = (80.0 * (1.0 + 6.0 * u * u)) as usize + rng.random_range(0..200);
            esc(&sentence(&mut rng, len))
        });
        let rewatch = rng.random_range(0..10) == 0;
        // A like of the film given with one entry in five (drawn in the order the data set has always
        // been drawn, so it stays the one earlier bench reports were measured on).
        if rng.random_range(0..5) == 0 {
            liked.push((m, f));
        }
        let spoilers = review.is_some() && rng.random_range(0..10) == 0;
        let flag = |b: bool| if b { "t" } else { "f" };
        copy.row(format_args!(
            "{m}\t{f}\t{watched}\t{}\t{}\t{}\t{}\t{}\t{}",
            flag(rewatch),
            rating.map_or("\\N".to_owned(), |r| r.to_string()),
            review.as_deref().unwrap_or("\\N"),
            flag(spoilers),
            ts(at),
            ts(at)
        ))
        .await?;
        entries.push((m, f, rating, review.is_some(), at));
        if n % 50_000 == 0 {
            progress.step("log entries", n, profile.log_entries);
        }
    }
    progress.done("log entries", copy.finish().await?);
    exec(
        client,
        "CREATE TEMP TABLE liked_films (member_id bigint, film_id bigint)",
    )
    .await?;
    let mut copy = Copy::new(client, "liked_films", "member_id, film_id");
    for (m, f) in &liked {
        copy.row(format_args!("{m}\t{f}")).await?;
    }
    progress.done("liked films", copy.finish().await?);
    let first_entry = scalar(client, "SELECT min(id) FROM log_entries").await?;
    let reviews: Vec<u64> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.3)
        .map(|(i, _)| i as u64)
        .collect();

    // Review likes and comments, skewed towards a few popular reviews.
    let mut copy = Copy::new(
        client,
        "review_likes",
        "log_entry_id, member_id, created_at",
    );
    let mut likes: HashSet<(u64, i64)> = HashSet::with_capacity(profile.likes as usize);
    let mut like_acts = Vec::with_capacity(profile.likes as usize);
    while (likes.len() as u64) < profile.likes {
        let r = reviews[skewed(&mut rng, reviews.len() as u64, 4) as usize];
        let liker = member(rng.random_range(0..profile.members));
        let (owner, film, _, _, at) = entries[r as usize];
        if liker != owner && likes.insert((r, liker)) {
            let when = at + Duration::seconds(rng.random_range(60..5_000_000));
            copy.row(format_args!(
                "{}\t{liker}\t{}",
                first_entry + r as i64,
                ts(when)
            ))
            .await?;
            like_acts.push((liker, film, first_entry + r as i64, owner, when));
        }
        if likes.len().is_multiple_of(100_000) {
            progress.step("review likes", likes.len() as u64, profile.likes);
        }
    }
    progress.done("review likes", copy.finish().await?);
    let mut copy = Copy::new(
        client,
        "comments",
        "log_entry_id, author_id, body, created_at, updated_at",
    );
    let mut comment_acts = Vec::with_capacity(profile.comments as usize);
    for _ in 0..profile.comments {
        let r = reviews[skewed(&mut rng, reviews.len() as u64, 4) as usize];
        let author = member(rng.random_range(0..profile.members));
        let (owner, film, _, _, at) = entries[r as usize];
        let when = at + Duration::seconds(rng.random_range(60..5_000_000));
        let len = 20 + rng.random_range(0..200);
        copy.row(format_args!(
            "{}\t{author}\t{}\t{}\t{}",
            first_entry + r as i64,
            esc(&sentence(&mut rng, len)),
            ts(when),
            ts(when)
        ))
        .await?;
        comment_acts.push((author, film, first_entry + r as i64, owner, when));
    }
    progress.done("comments", copy.finish().await?);
    let first_comment = scalar(client, "SELECT COALESCE(min(id), 1) FROM comments").await?;

    // Activity for all of it.
    let mut copy = Copy::new(
        client,
        "activities",
        "actor_id, kind, film_id, log_entry_id, comment_id, subject_member_id, rating, restricted, \
         created_at",
    );
    // (None restricted: every generated entry is public and no generated account is private; the
    // flag the trigger would set, written here as the triggers are off.)
    for (i, (m, f, rating, review, at)) in entries.iter().enumerate() {
        let kind = if *review { "review" } else { "diary_entry" };
        let rating = rating.map_or("\\N".to_owned(), |r| r.to_string());
        copy.row(format_args!(
            "{m}\t{kind}\t{f}\t{}\t\\N\t\\N\t{rating}\tf\t{}",
            first_entry + i as i64,
            ts(*at)
        ))
        .await?;
    }
    for (liker, film, entry, owner, at) in &like_acts {
        copy.row(format_args!(
            "{liker}\treview_like\t{film}\t{entry}\t\\N\t{owner}\t\\N\tf\t{}",
            ts(*at)
        ))
        .await?;
    }
    for (i, (author, film, entry, owner, at)) in comment_acts.iter().enumerate() {
        copy.row(format_args!(
            "{author}\tcomment\t{film}\t{entry}\t{}\t{owner}\t\\N\tf\t{}",
            first_comment + i as i64,
            ts(*at)
        ))
        .await?;
    }
    for (follower, followee, at) in &follow_acts {
        copy.row(format_args!(
            "{follower}\tfollow\t\\N\t\\N\t\\N\t{followee}\t\\N\tf\t{}",
            ts(*at)
        ))
        .await?;
    }
    progress.done("activities", copy.finish().await?);

    // The member–film relationship follows from the log: watched, the newest rated entry's rating,
    // liked when an entry came with a like.
    exec(client, "INSERT INTO member_films (member_id, film_id, watched, liked, rating, liked_at, updated_at)
        SELECT e.member_id, e.film_id, true, l.member_id IS NOT NULL,
               (array_agg(e.rating ORDER BY e.created_at DESC, e.id DESC) FILTER (WHERE e.rating IS NOT NULL))[1],
               CASE WHEN l.member_id IS NOT NULL THEN max(e.created_at) END, max(e.created_at)
        FROM log_entries e
        LEFT JOIN (SELECT DISTINCT member_id, film_id FROM liked_films) l
               ON l.member_id = e.member_id AND l.film_id = e.film_id
        GROUP BY e.member_id, e.film_id, l.member_id").await?;
    progress.done(
        "relationships",
        scalar(client, "SELECT count(*) FROM member_films").await? as u64,
    );

    for def in &dropped {
        exec(client, def).await?;
    }
    progress.done("indexes rebuilt", dropped.len() as u64);

    // Counters, set-wise.
    exec(client, "UPDATE film_stats s SET watch_count = t.w, like_count = t.l, rating_count = t.rc, rating_sum = t.rs,
            r1 = t.h[1], r2 = t.h[2], r3 = t.h[3], r4 = t.h[4], r5 = t.h[5], r6 = t.h[6], r7 = t.h[7], r8 = t.h[8], r9 = t.h[9], r10 = t.h[10]
        FROM (SELECT film_id, count(*) FILTER (WHERE watched) w, count(*) FILTER (WHERE liked) l, count(rating) rc,
                     COALESCE(sum(rating), 0) rs,
                     array[count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2), count(*) FILTER (WHERE rating = 3),
                           count(*) FILTER (WHERE rating = 4), count(*) FILTER (WHERE rating = 5), count(*) FILTER (WHERE rating = 6),
                           count(*) FILTER (WHERE rating = 7), count(*) FILTER (WHERE rating = 8), count(*) FILTER (WHERE rating = 9),
                           count(*) FILTER (WHERE rating = 10)]::int[] h
              FROM member_films GROUP BY film_id) t
        WHERE s.film_id = t.film_id").await?;
    exec(client, "UPDATE film_stats s SET review_count = t.n FROM
        (SELECT film_id, count(*) n FROM log_entries WHERE review_text IS NOT NULL GROUP BY film_id) t WHERE s.film_id = t.film_id").await?;
    exec(client, "UPDATE log_entries e SET like_count = t.n FROM (SELECT log_entry_id, count(*) n FROM review_likes GROUP BY log_entry_id) t WHERE e.id = t.log_entry_id").await?;
    exec(client, "UPDATE log_entries e SET comment_count = t.n FROM (SELECT log_entry_id, count(*) n FROM comments GROUP BY log_entry_id) t WHERE e.id = t.log_entry_id").await?;
    exec(client, "UPDATE members m SET following_count = t.n FROM (SELECT follower_id, count(*) n FROM follows GROUP BY follower_id) t WHERE m.id = t.follower_id").await?;
    exec(client, "UPDATE members m SET follower_count = t.n FROM (SELECT followee_id, count(*) n FROM follows GROUP BY followee_id) t WHERE m.id = t.followee_id").await?;
    exec(client, "SELECT recompute_review_popularity()").await?;
    progress.done("counters and popularity scores", 0);
    exec(client, "RESET session_replication_role").await?;
    Ok(())
}

/// Size of a list: 4·u^(-1/1.3) films, a Pareto tail, at most a list's limit (measured on `medium`:
/// median 6, 45 of 50,008 lists over 1,000 films, the largest 5,000).
fn list_size(rng: &mut StdRng) -> usize {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    ((4.0 * u.powf(-1.0 / 1.3)) as usize).clamp(1, filmlog_domain::list::MAX_ENTRIES)
}

/// A list's name: "Heaven and night", "Films about the river"…
fn list_name(rng: &mut StdRng, i: u64) -> String {
    let a = TITLE_WORDS[rng.random_range(0..TITLE_WORDS.len())];
    let b = WORDS[rng.random_range(0..WORDS.len())];
    match rng.random_range(0..4) {
        0 => format!("Films about the {b} {i}"),
        1 => format!("{a} and {b} {i}"),
        2 => format!("My {a} favourites {i}"),
        _ => format!("Every {a} film I saw {i}"),
    }
}

/// Lists (the bench's, then `profile.lists` more with heavy-tailed sizes, films skewed towards the
/// popular), their likes and comments (skewed towards a few popular lists), the activity of making
/// and liking them, and their counters. Drawn from a seed of their own, so adding them to a v3 data
/// set gives the same lists as generating v4 afresh.
async fn lists(client: &Client, profile: Profile, progress: &Progress) -> Result<(), BoxError> {
    exec(client, "SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '512MB'").await?;
    let dropped = drop_secondary_indexes(
        client,
        &["lists", "list_entries", "list_likes", "list_comments"],
    )
    .await?;
    let mut rng = StdRng::seed_from_u64(0x0001_1575_f11e);
    let now = Utc::now();
    let first_member = scalar(client, "SELECT min(id) FROM members").await?;
    let member = |i: u64| first_member + i as i64;
    let film_ids: Vec<i64> = client
        .query("SELECT id FROM films ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let bench_films: Vec<i64> = client
        .query(
            "SELECT id FROM films WHERE slug LIKE 'gen-%' ORDER BY id LIMIT $1",
            &[&(BENCH_LIST_SIZE as i64)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let total = BENCH_LISTS + profile.lists;

    // (owner, created at, visibility, films).
    let mut made: Vec<(i64, DateTime<Utc>, &str, Vec<i64>)> = Vec::with_capacity(total as usize);
    let mut copy = Copy::new(
        client,
        "lists",
        "owner_id, name, description, ranked, visibility, tags, created_at, updated_at",
    );
    for i in 0..total {
        let at = now - Duration::seconds(rng.random_range(3_600..90_000_000));
        let (owner, name, visibility, films) = if i < BENCH_LISTS {
            let mut films = bench_films.clone();
            for k in (1..films.len()).rev() {
                films.swap(k, rng.random_range(0..=k));
            }
            (member(0), format!("Bench list {i}"), "public", films)
        } else {
            let owner = member(skewed(&mut rng, profile.members, 2));
            let size = list_size(&mut rng).min(film_ids.len());
            let mut seen = HashSet::with_capacity(size);
            let mut films = Vec::with_capacity(size);
            while films.len() < size {
                let f = film_ids[skewed(&mut rng, film_ids.len() as u64, 3) as usize];
                if seen.insert(f) {
                    films.push(f);
                }
            }
            let visibility = match rng.random_range(0..100) {
                0..90 => "public",
                90..97 => "followers",
                _ => "private",
            };
            (owner, list_name(&mut rng, i), visibility, films)
        };
        let description = if rng.random_range(0..3) == 0 {
            let len = 40 + rng.random_range(0..300);
            esc(&sentence(&mut rng, len))
        } else {
            "\\N".to_owned()
        };
        let ranked = if rng.random_range(0..5) < 2 { "t" } else { "f" };
        let tags = if rng.random_range(0..4) == 0 {
            format!("{{{}}}", WORDS[rng.random_range(0..WORDS.len())])
        } else {
            "{}".to_owned()
        };
        copy.row(format_args!(
            "{owner}\t{}\t{description}\t{ranked}\t{visibility}\t{tags}\t{}\t{}",
            esc(&name),
            ts(at),
            ts(at)
        ))
        .await?;
        made.push((owner, at, visibility, films));
    }
    progress.done("lists", copy.finish().await?);
    let first_list = scalar(client, "SELECT min(id) FROM lists").await?;

    let mut copy = Copy::new(
        client,
        "list_entries",
        "list_id, film_id, sort_key, notes, contains_spoilers, added_at",
    );
    for (i, (_, at, _, films)) in made.iter().enumerate() {
        for (k, f) in films.iter().enumerate() {
            let notes = if rng.random_range(0..10) == 0 {
                let len = 20 + rng.random_range(0..160);
                esc(&sentence(&mut rng, len))
            } else {
                "\\N".to_owned()
            };
            let spoilers = if rng.random_range(0..50) == 0 {
                "t"
            } else {
                "f"
            };
            copy.row(format_args!(
                "{}\t{f}\t{}\t{notes}\t{spoilers}\t{}",
                first_list + i as i64,
                (k as i64 + 1) * filmlog_domain::list::KEY_GAP,
                ts(*at)
            ))
            .await?;
        }
        if i % 5_000 == 0 {
            progress.step("list entries", i as u64, total);
        }
    }
    progress.done("list entries", copy.finish().await?);

    // Likes: six per list on average, most of them on a few lists; every like is an activity.
    let mut copy = Copy::new(client, "list_likes", "list_id, member_id, created_at");
    let mut likes: HashSet<(u64, i64)> = HashSet::new();
    let mut like_acts = Vec::new();
    while (likes.len() as u64) < total * 6 {
        let l = skewed(&mut rng, total, 3);
        let liker = member(rng.random_range(0..profile.members));
        let (owner, at, _, _) = &made[l as usize];
        if liker != *owner && likes.insert((l, liker)) {
            let when = (*at + Duration::seconds(rng.random_range(60..5_000_000))).min(now);
            copy.row(format_args!(
                "{}\t{liker}\t{}",
                first_list + l as i64,
                ts(when)
            ))
            .await?;
            like_acts.push((liker, first_list + l as i64, *owner, when));
        }
    }
    progress.done("list likes", copy.finish().await?);
    let mut copy = Copy::new(
        client,
        "list_comments",
        "list_id, author_id, body, created_at",
    );
    for _ in 0..total / 2 {
        let l = skewed(&mut rng, total, 3);
        let author = member(rng.random_range(0..profile.members));
        let (_, at, _, _) = &made[l as usize];
        let when = (*at + Duration::seconds(rng.random_range(60..5_000_000))).min(now);
        let len = 20 + rng.random_range(0..200);
        copy.row(format_args!(
            "{}\t{author}\t{}\t{}",
            first_list + l as i64,
            esc(&sentence(&mut rng, len)),
            ts(when)
        ))
        .await?;
    }
    progress.done("list comments", copy.finish().await?);

    // Activity: each list made (with its films), each like; flagged restricted as the trigger
    // would (no generated account is private, so a list's visibility decides).
    let mut copy = Copy::new(
        client,
        "activities",
        "actor_id, kind, list_id, subject_member_id, film_count, restricted, created_at",
    );
    let flag = |visibility: &str| if visibility == "public" { "f" } else { "t" };
    for (i, (owner, at, visibility, films)) in made.iter().enumerate() {
        copy.row(format_args!(
            "{owner}\tlist_created\t{}\t\\N\t{}\t{}\t{}",
            first_list + i as i64,
            films.len(),
            flag(visibility),
            ts(*at)
        ))
        .await?;
    }
    for (liker, list, owner, at) in &like_acts {
        let visibility = made[(list - first_list) as usize].2;
        copy.row(format_args!(
            "{liker}\tlist_like\t{list}\t{owner}\t\\N\t{}\t{}",
            flag(visibility),
            ts(*at)
        ))
        .await?;
    }
    progress.done("list activities", copy.finish().await?);

    for def in &dropped {
        exec(client, def).await?;
    }
    exec(client, "UPDATE lists l SET entry_count = t.n FROM (SELECT list_id, count(*) n FROM list_entries GROUP BY list_id) t WHERE l.id = t.list_id").await?;
    exec(client, "UPDATE lists l SET like_count = t.n FROM (SELECT list_id, count(*) n FROM list_likes GROUP BY list_id) t WHERE l.id = t.list_id").await?;
    exec(client, "UPDATE lists l SET comment_count = t.n FROM (SELECT list_id, count(*) n FROM list_comments GROUP BY list_id) t WHERE l.id = t.list_id").await?;
    exec(client, "UPDATE members m SET list_count = t.n FROM (SELECT owner_id, count(*) n FROM lists GROUP BY owner_id) t WHERE m.id = t.owner_id").await?;
    exec(client, "UPDATE film_stats s SET list_count = t.n FROM (SELECT film_id, count(*) n FROM list_entries GROUP BY film_id) t WHERE s.film_id = t.film_id").await?;
    exec(client, "RESET session_replication_role").await?;
    progress.done("list indexes and counters", dropped.len() as u64);
    Ok(())
}

/// For benchmarks on generated data only: ends every session, then starts one for each of the
/// members 1..=`count` (so session id = member id) and prints their access tokens, one per line.
pub async fn mint_tokens(settings: &Settings, count: i64) -> Result<(), BoxError> {
    use diesel_async::AsyncConnection;
    let url = settings.database_url()?;
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let conn_task = tokio::spawn(connection);
    let comment: Option<String> = client
        .query_one("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()", &[])
        .await?
        .get(0);
    if !comment.unwrap_or_default().starts_with("filmlog gen-data") {
        return Err("bench-tokens works only on a database made by gen-data".into());
    }
    exec(
        &client,
        "TRUNCATE sessions, refresh_tokens RESTART IDENTITY CASCADE",
    )
    .await?;
    drop(client);
    let _ = conn_task.await;
    let tokens = filmlog_app::credentials::TokenService::new(settings.auth()?.clone())?;
    let mut conn = diesel_async::AsyncPgConnection::establish(url).await?;
    let mut out = String::new();
    for i in 1..=count {
        let member = filmlog_domain::MemberId::new(i);
        let session =
            filmlog_persistence::sessions::create(&mut conn, member, &Default::default()).await?;
        if session.get() != i {
            return Err(
                format!("session {session} for member {i}: sessions were not empty").into(),
            );
        }
        out.push_str(
            &tokens
                .issue_access(member, session, None)
                .map_err(|e| e.to_string())?,
        );
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}
