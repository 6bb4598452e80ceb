//! The store engine of a test run, and each test's store on it: SQLite by
//! default, PostgreSQL with `TEST_STORE=postgres` and `DATABASE_URL` (as
//! `cargo xtask test` runs the binary a second time). A test's store lives
//! in its test directory ([`TestDir`]): a SQLite file in it, or a
//! PostgreSQL schema named after it, created on first use and dropped with
//! the directory.

#![allow(unreachable_pub, reason = "shared by the test modules")]

use std::path::Path;

use proxy::store::StoreUrl;
use sha2::Digest as _;
use sqlx::Connection as _;

/// The store engine of this test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestEngine {
    /// A SQLite file per test (the default).
    Sqlite,
    /// A schema per test in `DATABASE_URL`'s database.
    Postgres,
}

/// `TEST_STORE` (`sqlite`, the default, or `postgres`). A run asked
/// for PostgreSQL without `DATABASE_URL` fails: it never falls back.
pub fn engine() -> TestEngine {
    match std::env::var("TEST_STORE").as_deref() {
        Ok("postgres") => {
            assert!(
                std::env::var("DATABASE_URL").is_ok(),
                "TEST_STORE=postgres needs DATABASE_URL (cargo xtask test sets both up)"
            );
            TestEngine::Postgres
        }
        Ok("sqlite") | Err(_) => TestEngine::Sqlite,
        Ok(other) => panic!("TEST_STORE={other:?}: use sqlite or postgres"),
    }
}

/// True (and says so) when this run is on PostgreSQL, for a test of the
/// SQLite file itself (its locks, its file mode, a full disk), which the
/// caller then ends: `if sqlite_only("…") { return; }`.
pub fn sqlite_only(what: &str) -> bool {
    let postgres = engine() == TestEngine::Postgres;
    if postgres {
        eprintln!("SQLite-only test, not run on PostgreSQL: {what}");
    }
    postgres
}

/// True on a PostgreSQL run; on SQLite it says the test `what` runs in the
/// PostgreSQL pass and is false (the caller then ends).
pub fn needs_postgres(what: &str) -> bool {
    let postgres = engine() == TestEngine::Postgres;
    if !postgres {
        eprintln!("PostgreSQL-only test, run in the TEST_STORE=postgres pass: {what}");
    }
    postgres
}

fn database_url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL is set for a PostgreSQL run")
}

/// The PostgreSQL schema of the test directory `dir`.
fn schema_of(dir: &Path) -> String {
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    format!("test_{}", &hex::encode(digest)[..24])
}

/// Runs `sql` on `DATABASE_URL`, from any context (a thread of its own,
/// so that `Drop` and sync helpers can use it inside a test's runtime).
fn postgres_execute(sql: String) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut connection = sqlx::PgConnection::connect(&database_url())
                .await
                .unwrap_or_else(|e| panic!("cannot reach DATABASE_URL's PostgreSQL: {e}"));
            sqlx::raw_sql(&sql)
                .execute(&mut connection)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    })
    .join()
    .expect("the PostgreSQL helper thread");
}

/// Where the leads of the test directory `dir` are kept on this run's
/// engine (the PostgreSQL schema is created if it is not there yet).
pub fn store_url(dir: &Path) -> StoreUrl {
    match engine() {
        TestEngine::Sqlite => StoreUrl::Sqlite(dir.join("leads.db")),
        TestEngine::Postgres => {
            let schema = schema_of(dir);
            postgres_execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}"));
            let url = database_url();
            let joiner = if url.contains('?') { '&' } else { '?' };
            StoreUrl::parse(&format!("{url}{joiner}options[search_path]={schema}"))
                .expect("a PostgreSQL URL")
        }
    }
}

/// A test's temporary directory, and its store: the PostgreSQL schema
/// named after it (if one was made) is dropped with it.
#[derive(Debug)]
pub struct TestDir(tempfile::TempDir);

impl TestDir {
    /// A new empty directory.
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if engine() == TestEngine::Postgres {
            postgres_execute(format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                schema_of(self.path())
            ));
        }
    }
}

/// Runs `sql` on the store at `url` (to corrupt a row, say), on either engine.
pub async fn execute_sql(url: &StoreUrl, sql: &str) {
    use secrecy::ExposeSecret as _;
    match url {
        StoreUrl::Sqlite(path) => {
            let mut connection =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("open the store");
            sqlx::raw_sql(sql)
                .execute(&mut connection)
                .await
                .expect("the SQL runs");
        }
        StoreUrl::Postgres(url) => {
            let mut connection = sqlx::PgConnection::connect(url.expose_secret())
                .await
                .expect("open the store");
            sqlx::raw_sql(sql)
                .execute(&mut connection)
                .await
                .expect("the SQL runs");
        }
    }
}

/// The one text value `sql` selects from the store at `url`, on either engine.
pub async fn fetch_text(url: &StoreUrl, sql: &str) -> String {
    use secrecy::ExposeSecret as _;
    match url {
        StoreUrl::Sqlite(path) => {
            let mut connection =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("open the store");
            sqlx::query_scalar(sql)
                .fetch_one(&mut connection)
                .await
                .expect("the SQL runs")
        }
        StoreUrl::Postgres(url) => {
            let mut connection = sqlx::PgConnection::connect(url.expose_secret())
                .await
                .expect("open the store");
            sqlx::query_scalar(sql)
                .fetch_one(&mut connection)
                .await
                .expect("the SQL runs")
        }
    }
}

/// `[store] url` for a store in `database`'s directory on this run's
/// engine: nothing on SQLite (`database` says it).
pub(crate) fn store_table(database: &Path) -> String {
    match engine() {
        TestEngine::Sqlite => String::new(),
        TestEngine::Postgres => {
            let dir = database.parent().expect("the store file is in a directory");
            let StoreUrl::Postgres(url) = store_url(dir) else {
                unreachable!("a PostgreSQL run gives PostgreSQL URLs")
            };
            use secrecy::ExposeSecret as _;
            format!("[store]\nurl = {:?}\n\n", url.expose_secret())
        }
    }
}
