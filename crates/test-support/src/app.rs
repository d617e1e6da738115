use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use filmlog_api::AppState;
use filmlog_api::ratelimit::{Budgets, Limiter, Quota, RateLimits};
use filmlog_api::server::{ServerOptions, http_server};
use filmlog_api::state::HttpLimits;
use filmlog_app::credentials::{AuthSettings, PasswordService, TokenService};
use filmlog_persistence::{PoolSettings, build_pool, members, sessions};
use rand::RngCore;
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::db::TestDatabase;

/// What a test may change about the app it gets.
pub struct TestConfig {
    pub pool: PoolSettings,
    /// The read pool's settings; `None` uses `pool`'s (read-only either way).
    pub reads: Option<PoolSettings>,
    pub http: HttpLimits,
    pub rate: RateLimits,
    pub auth: AuthSettings,
    /// Overrides the database URL (e.g. to point at a server that is down).
    pub database_url: Option<String>,
    /// A standby to read from (`Some("")`: the test database itself, which, being a primary, shows
    /// every write).
    pub standby_url: Option<String>,
    pub instance: Option<String>,
    pub workers: usize,
    pub cors: filmlog_api::cors::CorsPolicy,
    /// How often live event streams send a heartbeat.
    pub event_heartbeat: Duration,
    /// Webhook delivery: plain http and private targets allowed (the tests' receivers listen on
    /// 127.0.0.1), short waits.
    pub webhooks: filmlog_jobs::webhooks::WebhookSettings,
    /// Run a webhook delivery worker in this app.
    pub webhook_worker: bool,
    /// How imports and exports run (the link key is the app's token secret unless changed).
    pub portability: Option<filmlog_jobs::portability::PortabilitySettings>,
    /// Run an import/export worker in this app.
    pub portability_worker: bool,
    /// Run the home feed's worker (fan-out, timeline builds) in this app.
    pub feed_worker: bool,
    /// Run a mail worker sending to this SMTP URL (a [`crate::SmtpSink`]'s); without one, mail
    /// stays queued in the outbox.
    pub smtp: Option<String>,
    /// Mail's links and limits (`web_base` is set to the app's own address when left empty).
    pub mail: filmlog_app::mail::MailSettings,
}

/// A member created directly in the database (no argon2 on the way), with a live session.
#[derive(Debug, Clone)]
pub struct TestMember {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A response, read in full.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A 422 `validation_failed` whose first error is a body serde refused, at `pointer`.
    #[track_caller]
    pub fn assert_invalid_body(&self, pointer: &str) {
        let problem = self.assert_problem(422, "validation_failed");
        assert_eq!(
            (
                problem["errors"][0]["pointer"].as_str(),
                problem["errors"][0]["code"].as_str()
            ),
            (Some(pointer), Some("invalid_body")),
            "{}",
            self.text
        );
    }

    /// Asserts a problem+json response with this status and code; returns the body.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "content type of {}",
            self.text
        );
        assert_eq!(self.json["code"], code, "code of {}", self.text);
        assert_eq!(self.json["status"], status, "status field of {}", self.text);
        assert!(
            self.json["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("/problems/")),
            "type of {}",
            self.text
        );
        assert!(
            self.json["title"].is_string() && self.json["detail"].is_string(),
            "title/detail of {}",
            self.text
        );
        assert!(
            self.header("x-request-id").is_some(),
            "x-request-id on {}",
            self.text
        );
        assert_eq!(
            self.json["request_id"].as_str(),
            self.header("x-request-id"),
            "request id of {}",
            self.text
        );
        &self.json
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "status of {}", self.text);
        &self.json
    }
}

/// The argon2 hash of [`TestApp::PASSWORD`], computed once per test process.
fn shared_hash(passwords: &Arc<PasswordService>) -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let passwords = Arc::clone(passwords);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let password = filmlog_domain::Password::parse(TestApp::PASSWORD).ok()?;
            rt.block_on(passwords.hash(&password)).ok()
        })
        .join()
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("hashing the test password failed"))
    })
    .clone()
}

/// The running application of one test.
pub struct TestApp {
    pub base: String,
    /// Where this app serves `/metrics`.
    pub metrics_base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub jwt_secret: String,
    pub db: TestDatabase,
    handle: ServerHandle,
    /// The workers, stopped with the app (as when its process ends); the import/export worker also
    /// by [`TestApp::stop_portability_worker`].
    jobs: filmlog_jobs::Running,
}

impl TestApp {
    /// Stops this app's import/export worker, as when its process dies: a job it was running stays
    /// claimed until its claim lapses.
    pub fn stop_portability_worker(&self) {
        self.jobs.stop_portability();
    }

    /// The password of every member made by [`TestApp::member`].
    pub const PASSWORD: &'static str = "correct horse battery staple";

    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A second instance on this one's database, taking its tokens (as instances behind one
    /// balancer do).
    pub async fn another_instance(&self) -> Self {
        let url = self.db.url().to_owned();
        let jwt = self.jwt_secret.clone();
        Self::spawn_with(|c| {
            c.database_url = Some(url);
            c.auth = filmlog_app::credentials::AuthSettings::new(secrecy::SecretString::from(jwt));
        })
        .await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut TestConfig)) -> Self {
        let db = TestDatabase::new().await;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let jwt_secret = hex::encode(key);
        let mut config = TestConfig {
            pool: PoolSettings {
                max_size: 8,
                timeout: Duration::from_secs(1),
                ..PoolSettings::default()
            },
            reads: None,
            http: HttpLimits::default(),
            // Suites that are not about limits run many requests from one address: budgets they
            // never reach (tests/http/limits.rs sets real ones).
            rate: RateLimits {
                budgets: Budgets::all(Quota::new(1_000_000, Duration::from_secs(1))),
                ..RateLimits::default()
            },
            auth: AuthSettings::new(SecretString::from(jwt_secret.clone())),
            database_url: None,
            standby_url: None,
            instance: None,
            workers: 2,
            cors: filmlog_api::cors::CorsPolicy::Closed,
            event_heartbeat: filmlog_jobs::events::HEARTBEAT,
            webhooks: filmlog_jobs::webhooks::WebhookSettings {
                targets: filmlog_domain::webhook::TargetPolicy {
                    http_hosts: vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
                    allow_private: true,
                },
                retry: filmlog_domain::webhook::RetryPolicy {
                    first: Duration::from_millis(200),
                    cap: Duration::from_secs(1),
                    ..Default::default()
                },
                poll: Duration::from_millis(100),
                hold: Duration::from_secs(2),
                timeout: Duration::from_secs(5),
                // The app's own key is set from its token secret when it is built.
                secrets: None,
            },
            webhook_worker: true,
            portability: None,
            portability_worker: true,
            feed_worker: true,
            smtp: None,
            mail: filmlog_app::mail::MailSettings::new(""),
        };
        configure(&mut config);
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("address: {e}"));
        if config.mail.web_base.is_empty() {
            config.mail.web_base = format!("http://{addr}");
        }
        let url = config
            .database_url
            .clone()
            .unwrap_or_else(|| db.url().to_owned());
        let pool = build_pool(&url, &config.pool).unwrap_or_else(|e| panic!("pool: {e}"));
        let read_settings = PoolSettings {
            read_only: true,
            ..config.reads.clone().unwrap_or_else(|| config.pool.clone())
        };
        let reads = build_pool(&url, &read_settings).unwrap_or_else(|e| panic!("read pool: {e}"));
        let tokens =
            TokenService::new(config.auth.clone()).unwrap_or_else(|e| panic!("tokens: {e}"));
        let passwords = PasswordService::new(config.auth.hash_concurrency)
            .unwrap_or_else(|e| panic!("passwords: {e}"));
        let standby = config.standby_url.as_ref().map(|standby| {
            let standby = if standby.is_empty() { &url } else { standby };
            build_pool(standby, &read_settings).unwrap_or_else(|e| panic!("standby pool: {e}"))
        });
        let state = AppState {
            pool,
            reads,
            standby,
            primary_seen: Default::default(),
            instance: config.instance.as_deref().map(Into::into),
            limits: config.http,
            limiter: Arc::new(Limiter::in_memory(config.rate.clone())),
            tokens: Arc::new(tokens),
            passwords: Arc::new(passwords),
            cors: Arc::new(config.cors.clone()),
            mail: Arc::new(config.mail.clone()),
            events: Arc::new(filmlog_jobs::events::EventHub::with_heartbeat(
                config.event_heartbeat,
            )),
            webhooks: Arc::new(filmlog_jobs::webhooks::WebhookSettings {
                secrets: Some(Arc::new(filmlog_jobs::webhooks::SecretBox::new(
                    config.auth.jwt_secret.expose_secret().as_bytes(),
                ))),
                ..config.webhooks.clone()
            }),
            portability: Arc::new(config.portability.clone().unwrap_or_else(|| {
                let mut p = filmlog_jobs::portability::PortabilitySettings::new(
                    config.auth.jwt_secret.expose_secret().as_bytes(),
                );
                p.poll = Duration::from_millis(100);
                p
            })),
        };
        let metrics_listener =
            std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap_or_else(|e| panic!("bind: {e}"));
        let metrics_base = format!(
            "http://{}",
            metrics_listener
                .local_addr()
                .unwrap_or_else(|e| panic!("address: {e}"))
        );
        let options = ServerOptions {
            metrics: Some(metrics_listener),
            workers: config.workers,
            shutdown_timeout: Duration::from_secs(1),
            handle_signals: false,
        };
        let server =
            http_server(state.clone(), listener, options).unwrap_or_else(|e| panic!("server: {e}"));
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let jobs = filmlog_jobs::spawn(
            state.pool.clone(),
            &filmlog_jobs::Jobs {
                webhooks: state.webhooks.clone(),
                portability: state.portability.clone(),
                events: state.events.clone(),
                listen_url: url.clone(),
                webhook_workers: usize::from(config.webhook_worker),
                portability_workers: usize::from(config.portability_worker),
                prune: false,
                popularity_every: None,
                feed: config
                    .feed_worker
                    .then(filmlog_jobs::feed::FeedSettings::default),
                mail: config.smtp.as_deref().map(|url| {
                    let transport =
                        filmlog_jobs::mail::Transport::smtp(url, Duration::from_secs(5))
                            .unwrap_or_else(|e| panic!("smtp: {e}"));
                    let from = "Filmlog <no-reply@filmlog.test>"
                        .parse()
                        .unwrap_or_else(|e| panic!("from: {e}"));
                    let mut settings = filmlog_jobs::mail::MailerSettings::new(transport, from);
                    settings.poll = Duration::from_millis(50);
                    settings.retry.first = Duration::from_millis(200);
                    settings.retry.cap = Duration::from_secs(1);
                    Arc::new(settings)
                }),
            },
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        TestApp {
            base: format!("http://{addr}"),
            metrics_base,
            client,
            state,
            jwt_secret,
            db,
            handle,
            jobs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::read(req).await
    }

    /// Sends a prepared request and reads the whole response.
    pub async fn read(req: reqwest::RequestBuilder) -> TestResponse {
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// Creates a member straight in the database with a live session and tokens, skipping argon2
    /// (all test members share one precomputed hash of [`TestApp::PASSWORD`]).
    pub async fn member(&self, username: &str) -> TestMember {
        let hash = shared_hash(&self.state.passwords);
        let mut conn = self.db.connect().await;
        let email = filmlog_domain::Email::parse(&format!("{username}@example.com"))
            .unwrap_or_else(|e| panic!("email of {username}: {e}"));
        let member = members::insert(
            &mut conn,
            &members::NewMember {
                username,
                email: &email,
                password_hash: &hash,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("member {username}: {e}"));
        // Made with a verified address, as a member who opened their link.
        members::verify_email(&mut conn, member.id, &email.key())
            .await
            .unwrap_or_else(|e| panic!("verify {username}: {e}"));
        let session = sessions::create(&mut conn, member.id, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("session: {e}"));
        let refresh = filmlog_app::credentials::new_refresh_token();
        sessions::insert_refresh_token(
            &mut conn,
            session,
            &filmlog_app::credentials::refresh_token_hash(&refresh),
            self.state.tokens.refresh_expiry(),
        )
        .await
        .unwrap_or_else(|e| panic!("refresh token: {e}"));
        let access = self
            .state
            .tokens
            .issue_access(member.id, session, None)
            .unwrap_or_else(|e| panic!("token: {e}"));
        TestMember {
            id: member.id.get(),
            username: username.to_owned(),
            password: Self::PASSWORD.to_owned(),
            access_token: access,
            refresh_token: refresh,
        }
    }
}

impl TestApp {
    /// An access token of a third-party app `member` authorised with `scopes` (space-separated):
    /// a public app registered for the occasion and a grant, straight in the database.
    pub async fn app_token(&self, member: &TestMember, scopes: &str) -> String {
        use filmlog_persistence::oauth;
        let scopes =
            filmlog_domain::oauth::Scopes::parse(scopes).unwrap_or_else(|e| panic!("scopes: {e}"));
        let mut conn = self.db.connect().await;
        let who = filmlog_domain::MemberId::new(member.id);
        let client_id = filmlog_app::credentials::random_token(18);
        let app = oauth::create_app(
            &mut conn,
            who,
            &client_id,
            &oauth::AppFields {
                name: "Test app".to_owned(),
                description: String::new(),
                homepage: None,
                redirect_uris: vec!["http://127.0.0.1/callback".to_owned()],
            },
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("app: {e}"));
        let session = oauth::create_grant(&mut conn, who, app.id, scopes, None)
            .await
            .unwrap_or_else(|e| panic!("grant: {e}"));
        let grant = filmlog_app::credentials::Grant {
            app: app.id,
            scopes,
        };
        self.state
            .tokens
            .issue_access(who, session, Some(grant))
            .unwrap_or_else(|e| panic!("token: {e}"))
    }

    /// Sends raw bytes on a new connection and reads the whole answer, up to the server closing it
    /// (at most 10 s).
    pub async fn raw(&self, bytes: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "no answer and no close after 10 s");
        String::from_utf8_lossy(&answer).into_owned()
    }
}

/// `answer` (a raw HTTP/1.1 response) is a problem+json of this status and code.
#[track_caller]
pub fn assert_raw_problem(answer: &str, status: u16, code: &str) {
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status} ")),
        "{answer}"
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_default();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
    let json: Value = serde_json::from_str(body).unwrap_or_default();
    assert_eq!(json["status"], status, "{answer}");
    assert_eq!(json["code"], code, "{answer}");
}

impl TestApp {
    /// Adds a film straight to the catalog; returns its slug.
    pub async fn film(&self, title: &str, year: i32) -> String {
        let slug = filmlog_domain::Slug::from_title(title, Some(year))
            .map(|s| s.into_inner())
            .unwrap_or_default();
        let mut conn = self.db.connect().await;
        let new = filmlog_persistence::catalog::NewFilm {
            slug: slug.clone(),
            title: title.to_owned(),
            original_title: None,
            year: Some(year),
            release_date: chrono::NaiveDate::from_ymd_opt(year, 6, 1),
            runtime_minutes: Some(100),
            synopsis: None,
            poster_url: None,
            genres: vec!["Drama".to_owned()],
            countries: Vec::new(),
            languages: Vec::new(),
        };
        filmlog_persistence::catalog::insert_film(&mut conn, &new, &[])
            .await
            .unwrap_or_else(|e| panic!("film {title}: {e}"));
        slug
    }

    /// Makes a member an admin.
    pub async fn make_admin(&self, username: &str) {
        let mut conn = self.db.connect().await;
        filmlog_persistence::members::set_role(&mut conn, username, filmlog_domain::Role::Admin)
            .await
            .unwrap_or_else(|e| panic!("admin {username}: {e}"));
    }

    /// Logs a film for `member` through the API; returns the new entry's id.
    pub async fn log(&self, member: &TestMember, body: Value) -> String {
        let res = self
            .post("/api/v1/log-entries", Some(&member.access_token), &body)
            .await;
        assert_eq!(res.status, 201, "logging {body}: {}", res.text);
        res.json["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits (5 s at most, else panics saying `what`) until `sql` returns a row: for what the app
    /// does in the background, after a response.
    pub async fn until(&self, sql: &str, what: &str) {
        use diesel_async::RunQueryDsl;
        let mut conn = self.db.connect().await;
        let started = std::time::Instant::now();
        loop {
            match diesel::sql_query(sql).execute(&mut conn).await {
                Ok(0) => {}
                Ok(_) => return,
                Err(e) => panic!("{sql}: {e}"),
            }
            assert!(started.elapsed() < Duration::from_secs(5), "{what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What the home feed's worker does, done now: every queued item and requested timeline (for
    /// tests whose app runs no feed worker). Answers how many things it did.
    pub async fn settle_feeds(&self) -> usize {
        let mut conn = self.db.connect().await;
        filmlog_jobs::feed::drain(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("feed: {e}"))
    }

    /// Every maintained counter that differs from a recomputation from its base tables (empty when
    /// consistent).
    pub async fn drift(&self) -> Vec<filmlog_domain::FilmId> {
        let mut conn = self.db.connect().await;
        filmlog_persistence::catalog::drifted_films(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("drift: {e}"))
    }

    /// Runs the periodic recomputation of review popularity scores now; how many entries changed.
    pub async fn recompute_popularity(&self) -> i64 {
        let mut conn = self.db.connect().await;
        filmlog_persistence::log_entries::recompute_popularity(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("recompute_popularity: {e}"))
    }

    /// A webhook endpoint of `who` (to a port nothing listens on, for `log_entry` events), made as
    /// a client makes one; its id.
    pub async fn webhook(&self, who: &TestMember) -> String {
        let res = self
            .post(
                "/api/v1/me/webhooks",
                Some(&who.access_token),
                &serde_json::json!({
                    "url": "http://127.0.0.1:9/hook",
                    "events": ["log_entry"],
                    "current_password": who.password,
                }),
            )
            .await;
        res.assert_status(201)["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn put(&self, path: &str, token: &str) -> TestResponse {
        self.send(Method::PUT, path, Some(token), None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.send(Method::DELETE, path, Some(token), None).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and let the workers go (and the live streams end); the database is
        // dropped after this.
        self.state.events.close();
        self.jobs.stop();
        drop(self.handle.stop(false));
    }
}
