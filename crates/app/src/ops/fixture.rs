//! What the use-case tests start from: a fresh database cloned from the migrated template, members
//! and a film written through persistence.

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use filmlog_domain::{Email, FilmId, LogEntryId, MemberId};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::catalog::{self, NewFilm};
use filmlog_persistence::log_entries::NewLogEntry;
use filmlog_persistence::members::{self, NewMember};
use filmlog_test_support::TestDatabase;

pub struct Fixture {
    pub conn: AsyncPgConnection,
    /// Dropped (the database with it) after the connection.
    db: TestDatabase,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let db = TestDatabase::new().await;
        let conn = db.connect().await;
        Fixture { conn, db }
    }

    /// Another connection to the same database (a concurrent session).
    pub async fn connect(&self) -> AsyncPgConnection {
        self.db.connect().await
    }

    pub async fn member(&mut self, username: &str) -> MemberId {
        let email = Email::parse(&format!("{username}@example.com"))
            .unwrap_or_else(|e| panic!("email: {e}"));
        let new = NewMember {
            username,
            email: &email,
            password_hash: "not a hash",
        };
        let id = members::insert(&mut self.conn, &new)
            .await
            .unwrap_or_else(|e| panic!("member: {e}"))
            .id;
        // With a verified address, as a member who opened their link.
        members::verify_email(&mut self.conn, id, &email.key())
            .await
            .unwrap_or_else(|e| panic!("verify: {e}"));
        id
    }

    pub async fn film(&mut self, slug: &str) -> FilmId {
        let new = NewFilm {
            slug: slug.to_owned(),
            title: slug.to_owned(),
            original_title: None,
            year: Some(1997),
            release_date: None,
            runtime_minutes: Some(89),
            synopsis: None,
            poster_url: None,
            genres: Vec::new(),
            countries: Vec::new(),
            languages: Vec::new(),
        };
        catalog::insert_film(&mut self.conn, &new, &[])
            .await
            .unwrap_or_else(|e| panic!("film: {e}"))
            .id
    }

    /// A review of `slug` by `member`.
    pub async fn review(&mut self, member: MemberId, slug: &str) -> LogEntryId {
        let new = NewLogEntry {
            watched_on: None,
            rewatch: false,
            rating: None,
            review_text: Some("a review".to_owned()),
            contains_spoilers: false,
            tags: Vec::new(),
            visibility: None,
        };
        super::films::log_fast(&mut self.conn, member, slug, &new, false)
            .await
            .unwrap_or_else(|e| panic!("log: {e}"))
            .unwrap_or_else(|| panic!("no film {slug}"))
            .entry
            .id
    }

    /// The kinds of `member`'s notifications, sorted.
    pub async fn notified(&mut self, member: MemberId) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Kind {
            #[diesel(sql_type = diesel::sql_types::Text)]
            kind: String,
        }
        diesel::sql_query("SELECT kind FROM notifications WHERE recipient_id = $1 ORDER BY kind")
            .bind::<BigInt, _>(member.get())
            .load::<Kind>(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("notifications: {e}"))
            .into_iter()
            .map(|k| k.kind)
            .collect()
    }

    /// Rows of `table` (one of the tables the tests count).
    pub async fn count(&mut self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let sql = format!("SELECT count(*) AS n FROM {table}");
        diesel::sql_query(sql)
            .get_result::<N>(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e}"))
            .n
    }
}
