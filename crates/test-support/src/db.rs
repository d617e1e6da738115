use std::path::Path;

use diesel::QueryableByName;
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn admin_url() -> String {
    std::env::var("FILMLOG_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| {
            panic!("set FILMLOG_TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL server; `make test` does this for you")
        })
}

/// A name that changes whenever a migration or a replaceable SQL file does, so either builds a new
/// template.
fn template_name() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap_or_default());
    }
    // The replaceable schema (functions and triggers) is part of the template too.
    hasher.update(filmlog_persistence::replaceable::hash().as_bytes());
    format!("filmlog_tpl_{}", &hex::encode(hasher.finalize())[..16])
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    if let Err(e) = diesel::sql_query(sql).execute(conn).await {
        panic!("{sql}: {e}");
    }
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    let sql =
        format!("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}') AS exists");
    match diesel::sql_query(sql).get_result::<Exists>(conn).await {
        Ok(row) => row.exists,
        Err(e) => panic!("checking for {name}: {e}"),
    }
}

async fn connect(url: &str) -> AsyncPgConnection {
    match AsyncPgConnection::establish(url).await {
        Ok(c) => c,
        Err(e) => panic!("cannot connect to {url}: {e}"),
    }
}

/// A database of a test's own, dropped when the value is.
pub struct TestDatabase {
    name: String,
    admin_url: String,
    url: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let admin_url = admin_url();
        let template = template_name();
        let mut admin = connect(&admin_url).await;
        if !database_exists(&mut admin, &template).await {
            exec(&mut admin, "SELECT pg_advisory_lock(727274)").await;
            if !database_exists(&mut admin, &template).await {
                let building = format!("{template}_building");
                exec(
                    &mut admin,
                    &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
                )
                .await;
                exec(&mut admin, &format!("CREATE DATABASE {building}")).await;
                if let Err(e) =
                    filmlog_persistence::run_migrations(&with_database(&admin_url, &building)).await
                {
                    panic!("migrating the test template: {e}");
                }
                exec(
                    &mut admin,
                    &format!("ALTER DATABASE {building} RENAME TO {template}"),
                )
                .await;
            }
            exec(&mut admin, "SELECT pg_advisory_unlock(727274)").await;
        }
        let mut suffix = [0u8; 8];
        rand::rng().fill_bytes(&mut suffix);
        let name = format!("filmlog_test_{}", hex::encode(suffix));
        exec(
            &mut admin,
            &format!("CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"),
        )
        .await;
        let url = with_database(&admin_url, &name);
        TestDatabase {
            name,
            admin_url,
            url,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn connect(&self) -> AsyncPgConnection {
        connect(&self.url).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread with a runtime of
        // its own does the work. Databases left by a killed test are swept by `make test`.
        let done = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                        let _ = diesel::sql_query(sql).execute(&mut admin).await;
                    }
                });
            }
        });
        let _ = done.join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    }
}
