//! Shared test support: a fresh database per test on each backend.
//!
//! PostgreSQL and MySQL/MariaDB come from `TEST_POSTGRES_URL` and `TEST_MYSQL_URL`
//! (an admin URL; each test creates and drops its own database), by default the local
//! servers of DESIGN.md §8. Outside CI an unreachable server skips the test with a
//! line on stderr; under `CI=true` it fails the test.
#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};

pub mod late_server;
pub mod run;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl Backend {
    /// The servers every machine of this project runs (see DESIGN.md §8).
    fn default_url(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Backend::MySql => "mysql://root@127.0.0.1:3306/test",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "TEST_POSTGRES_URL",
            Backend::MySql => "TEST_MYSQL_URL",
        }
    }
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!(
        "cm_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
    )
}

/// Replaces the database part of `admin` with `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..path_start]);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A process's stdout, as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A process's stderr, as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A password that appears nowhere else, as typed, percent-encoded (`%53` is `S`) and
/// as the encoded form decodes: no output may contain any of them.
pub const SECRET: &str = "Sup3rS3cretPw";
pub const SECRET_ENCODED: &str = "Sup3r%53ecretPw";
pub const SECRET_DECODED: &str = "Sup3rSecretPw";

/// How a command gets its database URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Flag,
    Env,
}

/// Prints past the test harness's capture, so a skip is always visible.
pub fn skipped(what: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}");
}

impl TestDb {
    /// A fresh empty database, or `None` when the backend is not configured (skipped).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().expect("temp dir");
            // `mode=rwc`: the writing verbs create the file (and only they).
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            return Some(TestDb {
                url,
                backend,
                admin: None,
                _dir: Some(dir),
            });
        }
        let admin = std::env::var(backend.env())
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| backend.default_url().to_string());
        let conn = match Database::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) => {
                if in_ci() {
                    panic!("{} ({admin}) is unreachable in CI: {e}", backend.env());
                }
                skipped(&format!(
                    "{backend:?} test: no server at {admin} ({e}); set {} to run it",
                    backend.env()
                ));
                return None;
            }
        };
        let name = unique_name();
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let _ = conn.close().await;
        Some(TestDb {
            url: with_database(&admin, &name),
            backend,
            admin: Some((admin, name)),
            _dir: None,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.admin.take() {
            let backend = self.backend;
            // A fresh runtime on its own thread: Drop may run inside a test's runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(conn) = Database::connect(&admin).await {
                        let sql = match backend {
                            Backend::Postgres => {
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                            }
                            _ => format!("DROP DATABASE IF EXISTS {name}"),
                        };
                        let _ = conn.execute_unprepared(&sql).await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Defines one test per listed backend, `name::<test>` for each `test: Backend`, each
/// running `body` on a fresh database of its own (skipped when the backend is not
/// configured): `on_backends!(name [sqlite: Sqlite, postgres: Postgres], |db| { … })`.
#[macro_export]
macro_rules! on_backends {
    ($name:ident [$($test:ident: $backend:ident),+], |$db:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn body($db: $crate::support::TestDb) $body

            $(
                #[tokio::test]
                async fn $test() {
                    let backend = $crate::support::Backend::$backend;
                    if let Some(db) = $crate::support::TestDb::new(backend).await {
                        body(db).await;
                    }
                }
            )+
        }
    };
}

/// Defines one test per backend: `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, |$db:ident| $body:block) => {
        $crate::on_backends!(
            $name [sqlite: Sqlite, postgres: Postgres, mysql: MySql],
            |$db| $body
        );
    };
}
