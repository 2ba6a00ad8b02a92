//! Reliability end to end (issue 4): concurrent deploys, the lock's timeout, a process
//! killed mid-migration, a MySQL/MariaDB migration that fails half-way, and the failure
//! record every backend keeps. Each test builds one real migration crate (in the shared
//! `target/e2e`), then runs its binary as separate processes against a fresh database
//! and checks exit codes, messages and what the database actually holds.

#[path = "support/project.rs"]
mod project;
mod support;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use project::Project;
use support::{Backend, TestDb};

// ---------------------------------------------------------------------------------------
// The migration crate

/// Sleeps inside a migration: on the server where there is one (the session is busy in
/// the migration's transaction), in the process on SQLite (whose write lock the
/// transaction holds). Prints a marker first, so a test knows the step is under way.
const SLEEP_FN: &str = r#"
/// Sleeps `secs` seconds if the environment variable `var` is set (to anything).
#[allow(dead_code)]
async fn sleep_if(manager: &SchemaManager<'_>, var: &str, secs: u64) -> Result<(), DbErr> {
    if std::env::var_os(var).is_none() {
        return Ok(());
    }
    eprintln!("MIGRATION SLEEPING {secs}s");
    let sql = match manager.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("SELECT pg_sleep({secs})"),
        sea_orm::DbBackend::MySql => format!("DO SLEEP({secs})"),
        _ => {
            std::thread::sleep(std::time::Duration::from_secs(secs));
            return Ok(());
        }
    };
    manager.get_connection().execute_unprepared(&sql).await.map(|_| ())
}
"#;

/// A migration crate of its own (its binary has a name no other test file uses).
fn new_crate(tag: &str) -> Project {
    let mut p = Project::new();
    p.name = format!("reliability_{tag}_{}", p.name);
    p.init();
    p
}

/// Replaces the body of migration `id` (everything after its `REVISES` and `impl
/// MigrationName`, which stay as `create` wrote them) with `up` and `down`: Rust
/// statements with `db` (the connection) and `manager` in scope.
fn set_body(p: &Project, id: &str, up: &str, down: &str) {
    let rel = format!("migration/src/{id}.rs");
    let text = p.read(&rel);
    let head = &text[..text
        .find("#[async_trait::async_trait]")
        .unwrap_or_else(|| panic!("{rel} has no MigrationTrait impl:\n{text}"))];
    assert!(head.contains("pub const REVISES"), "{head}");
    assert!(head.contains(&format!("\"{id}\"")), "{head}");
    // the default template's example table goes with its body
    let head: String = head
        .lines()
        .filter(|l| !l.starts_with("const TABLE") && !l.starts_with("/// The example's table"))
        .map(|l| format!("{l}\n"))
        .collect();
    p.write(
        &rel,
        &format!(
            "{head}#[async_trait::async_trait]
impl MigrationTrait for Migration {{
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        let db = manager.get_connection();
        {up}
        Ok(())
    }}

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        let db = manager.get_connection();
        {down}
        Ok(())
    }}
}}
{SLEEP_FN}"
        ),
    );
}

/// `db.execute_unprepared("<sql>").await?;`
fn exec(sql: &str) -> String {
    format!("db.execute_unprepared({sql:?}).await?;")
}

/// A crate whose migrations have the given bodies (`(up, down)`): the first replaces
/// the one `init` wrote, the others are created after it. Built once; returns the ids
/// in order.
fn crate_with(p: &Project, bodies: &[(String, String)]) -> Vec<String> {
    let mut ids = vec![p.first_migration()];
    for i in 1..bodies.len() {
        ids.push(p.create(&["-t", "empty", &format!("step {i}")]));
    }
    for (id, (up, down)) in ids.iter().zip(bodies) {
        set_body(p, id, up, down);
    }
    // builds the crate (heads needs no database)
    p.run(&["heads"])
        .status(0)
        .stdout_has(&format!("{} (head)", ids[ids.len() - 1]));
    ids
}

/// The migration binary `crate_with` built, against `url`.
fn bin(p: &Project, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary(p));
    cmd.args(args)
        .current_dir(p.path())
        .env("DATABASE_URL", url)
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("SLEEP_IN_MIGRATION")
        .env_remove("BREAK_MIGRATION")
        .stdin(Stdio::null());
    cmd
}

fn binary(p: &Project) -> PathBuf {
    project::target_dir().join("debug").join(&p.name)
}

// ---------------------------------------------------------------------------------------
// Processes

/// A running process whose output is collected as it comes; killed (SIGKILL) and reaped
/// when dropped, so no test leaves one behind.
struct Proc {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    started: Instant,
}

/// How a process ended.
#[derive(Debug)]
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Finished {
    fn expect(self, code: i32, what: &str) -> Finished {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: exit {:?} after {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.elapsed,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts stderr says each of `ids` was applied.
    fn assert_applied(&self, ids: &[String]) {
        for id in ids {
            assert!(
                self.stderr.contains(&format!("Applied {id} (")),
                "{}",
                self.stderr
            );
        }
    }

    /// The `error:` lines of stderr.
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{}", self.stdout))
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Proc {
            child,
            stdout,
            stderr,
            readers,
            started: Instant::now(),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`; panics after `timeout` or if the process
    /// ends first.
    fn wait_for(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stderr().contains(needle) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the process ended ({status}) before printing {needle:?}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {timeout:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to end; kills it and panics after `timeout`.
    fn finish(mut self, timeout: Duration) -> Finished {
        let deadline = self.started + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "still running after {timeout:?}, killed:\n{}",
                        self.stderr()
                    );
                }
            }
        };
        let elapsed = self.started.elapsed();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Finished {
            code: status.code(),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr(),
            elapsed,
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a command to its end (at most `timeout`).
fn run(cmd: Command, timeout: Duration) -> Finished {
    Proc::spawn(cmd).finish(timeout)
}

/// With `RELIABILITY_SHOW=1` (and `--nocapture`), prints what the processes printed.
fn show(backend: Backend, text: &str) {
    if std::env::var_os("RELIABILITY_SHOW").is_some() {
        eprintln!("=== {backend:?}:\n{text}");
    }
}

const LONG: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The database, as the test sees it

async fn connect(db: &TestDb) -> DatabaseConnection {
    Database::connect(&db.url).await.expect("connect")
}

async fn strings(conn: &DatabaseConnection, sql: &str) -> Vec<String> {
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("a string column"))
        .collect()
}

/// Every table of the database, sorted.
async fn tables(conn: &DatabaseConnection) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        }
        DbBackend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
        }
        _ => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"
        }
    };
    let mut v = strings(conn, sql).await;
    v.sort();
    v
}

fn with_tracking(user_tables: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = user_tables
        .iter()
        .map(|s| s.to_string())
        .chain(["seaql_migrations".into(), "seaql_migrations_meta".into()])
        .collect();
    v.sort();
    v
}

/// The tracking table's versions, every row (duplicates would show), sorted.
async fn tracking_rows(conn: &DatabaseConnection) -> Vec<String> {
    strings(
        conn,
        "SELECT version FROM seaql_migrations ORDER BY version",
    )
    .await
}

/// A row of `seaql_migrations_meta`.
#[derive(Debug)]
struct Meta {
    version: String,
    execution_ms: Option<i64>,
    applied_by: Option<String>,
    failed_direction: Option<String>,
    failed_error: Option<String>,
}

async fn meta_rows(conn: &DatabaseConnection) -> Vec<Meta> {
    let sql = "SELECT version, execution_ms, applied_by, failed_direction, failed_error \
               FROM seaql_migrations_meta ORDER BY version";
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| Meta {
            version: r.try_get("", "version").unwrap(),
            execution_ms: r.try_get("", "execution_ms").unwrap(),
            applied_by: r.try_get("", "applied_by").unwrap(),
            failed_direction: r.try_get("", "failed_direction").unwrap(),
            failed_error: r.try_get("", "failed_error").unwrap(),
        })
        .collect()
}

/// Asserts the tracking tables record exactly `ids` as applied, each once, with its
/// facts and no failure.
async fn assert_applied_cleanly(conn: &DatabaseConnection, ids: &[String]) {
    let mut want = ids.to_vec();
    want.sort();
    assert_eq!(tracking_rows(conn).await, want);
    let meta = meta_rows(conn).await;
    assert_eq!(
        meta.iter().map(|m| m.version.clone()).collect::<Vec<_>>(),
        want,
        "{meta:?}"
    );
    for m in &meta {
        assert!(
            m.execution_ms.is_some()
                && m.applied_by
                    .as_deref()
                    .is_some_and(|b| b.starts_with("cargo-migrate/"))
                && m.failed_direction.is_none()
                && m.failed_error.is_none(),
            "{m:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 1. Concurrent deploys

on_every_backend!(eight_concurrent_upgrades_apply_each_migration_once, |db| {
    let p = new_crate("concurrent");
    let bodies: Vec<(String, String)> = (1..=5)
        .map(|i| {
            let mut up = exec(&format!("CREATE TABLE c_{i} (id INTEGER PRIMARY KEY)"));
            if i == 3 {
                // one slow step, so the runs overlap
                up.push_str("\n        sleep_if(manager, \"CARGO_MIGRATE_TEST_SLOW\", 1).await?;");
            }
            (up, exec(&format!("DROP TABLE c_{i}")))
        })
        .collect();
    let ids = crate_with(&p, &bodies);

    let procs: Vec<Proc> = (0..8)
        .map(|_| {
            let mut cmd = bin(&p, &db.url, &["upgrade", "head"]);
            cmd.env("CARGO_MIGRATE_TEST_SLOW", "1");
            Proc::spawn(cmd)
        })
        .collect();
    let runs: Vec<Finished> = procs
        .into_iter()
        .enumerate()
        .map(|(i, proc)| {
            proc.finish(LONG).expect(
                0,
                &format!("run {i} of 8 concurrent `upgrade head` (no --lock-timeout)"),
            )
        })
        .collect();
    one_run_applied_everything_and_the_others_waited(db.backend, &runs, &ids);

    let conn = connect(&db).await;
    assert_eq!(
        tables(&conn).await,
        with_tracking(&["c_1", "c_2", "c_3", "c_4", "c_5"])
    );
    assert_applied_cleanly(&conn, &ids).await;
    let slow = meta_rows(&conn)
        .await
        .into_iter()
        .find(|m| m.version == ids[2])
        .and_then(|m| m.execution_ms);
    assert!(slow.is_some_and(|ms| ms >= 900), "{slow:?}");
    conn.close().await.unwrap();
    run(bin(&p, &db.url, &["check"]), LONG).expect(0, "check");
});

/// Each migration applied by exactly one run, each run ended at the head without an
/// error: the lock serialises whole runs, on SQLite too.
fn one_run_applied_everything_and_the_others_waited(
    backend: Backend,
    runs: &[Finished],
    ids: &[String],
) {
    let all: String = runs
        .iter()
        .enumerate()
        .map(|(i, r)| format!("--- run {i} ({:?})\n{}", r.elapsed, r.stderr))
        .collect();
    show(backend, &all);
    // each migration applied by exactly one process
    for id in ids {
        let n = all.matches(&format!("Applied {id} (")).count();
        assert_eq!(n, 1, "{id} applied {n} times:\n{all}");
    }
    for r in runs {
        assert!(r.errors().is_empty(), "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("the database is at {}", ids[4])),
            "{}",
            r.stderr
        );
    }
    // the lock serialises whole runs, on SQLite too: one applies everything, the others
    // wait, then find nothing to do
    assert!(
        runs.iter()
            .filter(|r| r.stderr.contains("Waiting for the migration lock"))
            .count()
            >= 1,
        "{all}"
    );
    let busy: Vec<&Finished> = runs
        .iter()
        .filter(|r| r.stderr.contains("Applied "))
        .collect();
    assert_eq!(busy.len(), 1, "{all}");
}

// ---------------------------------------------------------------------------------------
// 2. The lock's timeout

on_every_backend!(
    lock_timeout_gives_up_with_a_clear_error_and_changes_nothing,
    |db| {
        let p = new_crate("lock");
        // the first step sleeps before it changes anything, so killing its process leaves
        // nothing behind on any backend
        let first_up = format!(
            "sleep_if(manager, \"SLEEP_IN_MIGRATION\", 10).await?;\n        {}",
            exec("CREATE TABLE l_1 (id INTEGER PRIMARY KEY)")
        );
        let ids = crate_with(
            &p,
            &[
                (first_up, exec("DROP TABLE l_1")),
                (
                    exec("CREATE TABLE l_2 (id INTEGER PRIMARY KEY)"),
                    exec("DROP TABLE l_2"),
                ),
            ],
        );

        let mut cmd = bin(&p, &db.url, &["upgrade", "head"]);
        cmd.env("SLEEP_IN_MIGRATION", "1");
        let mut holder = Proc::spawn(cmd);
        holder.wait_for("MIGRATION SLEEPING", LONG);
        a_second_run_gives_up_at_its_timeout_in_one_error(&p, &db);

        // nothing changed by the second run, nor (yet) by the holder
        let conn = connect(&db).await;
        nothing_is_applied_and_only_an_interrupted_mysql_step_is_marked(&db, &conn, &ids).await;
        holder.kill();
        nothing_is_applied_and_only_an_interrupted_mysql_step_is_marked(&db, &conn, &ids).await;
        if db.backend == Backend::MySql {
            // killed outside a transaction: refused until someone looks, then retried
            let refused = run(
                bin(&p, &db.url, &["upgrade", "head", "--lock-timeout", "5s"]),
                LONG,
            )
            .expect(
                2,
                "upgrade head after a step was killed outside a transaction",
            );
            assert!(refused.stderr.contains("interrupted"), "{}", refused.stderr);
        }

        // the lock died with its holder
        let mut args = vec!["upgrade", "head", "--lock-timeout", "5s"];
        if db.backend == Backend::MySql {
            args.push("--retry-failed");
        }
        let next = run(bin(&p, &db.url, &args), LONG)
            .expect(0, "upgrade head after the holder was killed");
        assert!(!next.stderr.contains("Waiting"), "{}", next.stderr);
        assert_eq!(tables(&conn).await, with_tracking(&["l_1", "l_2"]));
        assert_applied_cleanly(&conn, &ids).await;
        conn.close().await.unwrap();
    }
);

/// While another process holds the lock, `--lock-timeout 1s` gives up after about a
/// second with one error that says what it waited for and what to do.
fn a_second_run_gives_up_at_its_timeout_in_one_error(p: &Project, db: &TestDb) {
    let second = run(
        bin(p, &db.url, &["upgrade", "head", "--lock-timeout", "1s"]),
        Duration::from_secs(20),
    )
    .expect(
        1,
        "upgrade head --lock-timeout 1s while another process migrates",
    );
    assert!(
        second.elapsed >= Duration::from_millis(900) && second.elapsed < Duration::from_secs(6),
        "waited {:?}:\n{}",
        second.elapsed,
        second.stderr
    );
    show(db.backend, &second.stderr);
    let errors = second.errors();
    assert_eq!(errors.len(), 1, "{}", second.stderr);
    let error = errors[0];
    assert!(
        error.contains("migration lock") && error.contains("--lock-timeout"),
        "the error says what it waited for and what to do: {error}"
    );
    assert!(
        second.stderr.lines().count() <= 2,
        "at most a `Waiting` line and the error:\n{}",
        second.stderr
    );
    assert!(!second.stderr.contains("Applied"), "{}", second.stderr);
}

/// No table and no tracking row; on MySQL the holder's step, which runs outside a
/// transaction, is marked as interrupted (in progress, or killed), elsewhere nothing
/// is: a lock timeout is not a migration failure.
async fn nothing_is_applied_and_only_an_interrupted_mysql_step_is_marked(
    db: &TestDb,
    conn: &DatabaseConnection,
    ids: &[String],
) {
    assert_eq!(tables(conn).await, with_tracking(&[]));
    assert!(tracking_rows(conn).await.is_empty());
    let meta = meta_rows(conn).await;
    if db.backend == Backend::MySql {
        let in_progress = meta.len() == 1
            && meta[0].version == ids[0]
            && meta[0]
                .failed_error
                .as_deref()
                .is_some_and(|e| e.starts_with("interrupted"));
        assert!(in_progress, "only the holder's step is marked: {meta:?}");
    } else {
        assert!(
            meta.is_empty(),
            "a lock timeout is not a migration failure: {meta:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. A process killed mid-migration

/// PostgreSQL and SQLite: the step's transaction dies with the process, the lock too.
async fn killed_mid_migration(db: TestDb) {
    let p = new_crate("crash");
    let table = |n: u32| {
        (
            exec(&format!("CREATE TABLE k_{n} (id INTEGER PRIMARY KEY)")),
            exec(&format!("DROP TABLE k_{n}")),
        )
    };
    let (k2_up, k2_down) = table(2);
    let ids = crate_with(
        &p,
        &[
            table(1),
            (
                format!("{k2_up}\n        sleep_if(manager, \"SLEEP_IN_MIGRATION\", 30).await?;"),
                k2_down,
            ),
            table(3),
        ],
    );

    let mut cmd = bin(&p, &db.url, &["upgrade", "head"]);
    cmd.env("SLEEP_IN_MIGRATION", "1");
    let mut victim = Proc::spawn(cmd);
    victim.wait_for("MIGRATION SLEEPING", LONG);
    assert!(
        victim.stderr().contains(&format!("Applied {} (", ids[0])),
        "{}",
        victim.stderr()
    );
    victim.kill();

    // the first step stays; nothing of the second (k_2 was created in its transaction)
    let conn = connect(&db).await;
    assert_eq!(tables(&conn).await, with_tracking(&["k_1"]));
    assert_applied_cleanly(&conn, &ids[..1]).await;

    // the lock is free at once, and the next run completes the upgrade
    let next = run(
        bin(&p, &db.url, &["upgrade", "head", "--lock-timeout", "2s"]),
        LONG,
    )
    .expect(0, "upgrade head after the crash");
    show(db.backend, &format!("{:?}\n{}", next.elapsed, next.stderr));
    assert!(!next.stderr.contains("Waiting"), "{}", next.stderr);
    assert!(
        next.elapsed < Duration::from_secs(10),
        "the run after the crash took {:?}: the killed process's session (still sleeping on \
         the server, in the transaction that created k_2) held it up:\n{}",
        next.elapsed,
        next.stderr
    );
    next.assert_applied(&ids[1..]);
    assert_eq!(tables(&conn).await, with_tracking(&["k_1", "k_2", "k_3"]));
    assert_applied_cleanly(&conn, &ids).await;
    conn.close().await.unwrap();
}

on_backends!(
    killed_mid_migration_leaves_nothing_of_its_step [sqlite: Sqlite, postgres: Postgres],
    |db| {
        killed_mid_migration(db).await;
    }
);

// ---------------------------------------------------------------------------------------
// 4. MySQL/MariaDB: a step that fails half-way

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Checks that `status`, `current -v` and both verbs' `--format json` show the failure
/// of `id`'s up step, recorded between `since` and `until` (Unix ms), with an error
/// containing `error`.
fn assert_failure_visible(
    p: &Project,
    url: &str,
    id: &str,
    error: &str,
    transactional: bool,
    (since, until): (i64, i64),
) {
    let partial = if transactional {
        "(rolled back)"
    } else {
        "(may be half-applied)"
    };
    let warning = |r: &Finished| {
        let line = r
            .stderr
            .lines()
            .find(|l| l.starts_with("warning:") && l.contains(&format!("`{id}`")))
            .unwrap_or_else(|| panic!("no warning about {id}:\n{}", r.stderr))
            .to_string();
        assert!(
            line.contains(&format!("up of `{id}` failed at 20"))
                && line.contains(" UTC ")
                && line.contains(partial)
                && line.contains(error),
            "{line}"
        );
    };
    let status = run(bin(p, url, &["status"]), LONG).expect(0, "status");
    warning(&status);
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.trim() == format!("pending  {id}")),
        "{}",
        status.stdout
    );
    let current = run(bin(p, url, &["current", "-v"]), LONG).expect(0, "current -v");
    warning(&current);
    assert!(current.stdout.contains("Rev: "), "{}", current.stdout);

    for verb in ["status", "current"] {
        let r = run(bin(p, url, &[verb, "--format", "json"]), LONG)
            .expect(0, &format!("{verb} --format json"));
        assert!(
            r.stderr.is_empty(),
            "JSON mode prints no warning: {}",
            r.stderr
        );
        let v = r.json();
        let failures = v["failures"].as_array().expect("a failures array");
        assert_eq!(failures.len(), 1, "{v}");
        let f = &failures[0];
        assert_eq!(f["revision"], id, "{f}");
        assert_eq!(f["failure"]["direction"], "up", "{f}");
        assert_eq!(f["failure"]["transactional"], transactional, "{f}");
        assert!(
            f["failure"]["error"]
                .as_str()
                .is_some_and(|e| e.contains(error)),
            "{f}"
        );
        let at = f["failure"]["failed_at_ms"].as_i64().expect("failed_at_ms");
        assert!(since <= at && at <= until, "{since} <= {at} <= {until}");
    }
}

/// The failure record is gone from every view.
fn assert_no_failure(p: &Project, url: &str) {
    for verb in ["status", "current"] {
        let r = run(bin(p, url, &[verb, "--format", "json"]), LONG)
            .expect(0, &format!("{verb} --format json"));
        assert_eq!(r.json()["failures"], serde_json::json!([]), "{}", r.stdout);
        let r = run(bin(p, url, &[verb]), LONG).expect(0, verb);
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    }
}

/// A crate whose second migration creates `half_a`, then (with `BREAK_MIGRATION` set)
/// fails creating it again, else creates `half_b`.
fn half_applied_crate() -> (Project, Vec<String>) {
    let p = new_crate("half");
    let half_up = format!(
        "{}
        if std::env::var_os(\"BREAK_MIGRATION\").is_some() {{
            {}
        }}
        {}",
        exec("CREATE TABLE half_a (id INTEGER)"),
        exec("CREATE TABLE half_a (id INTEGER)"),
        exec("CREATE TABLE half_b (id INTEGER)"),
    );
    let ids = crate_with(
        &p,
        &[
            (
                exec("CREATE TABLE h_1 (id INTEGER PRIMARY KEY)"),
                exec("DROP TABLE h_1"),
            ),
            (
                half_up,
                format!(
                    "{}\n        {}",
                    exec("DROP TABLE half_b"),
                    exec("DROP TABLE half_a")
                ),
            ),
            (
                exec("CREATE TABLE h_3 (id INTEGER PRIMARY KEY)"),
                exec("DROP TABLE h_3"),
            ),
        ],
    );
    (p, ids)
}

/// A fresh MySQL database where `upgrade head` failed half-way through `ids[1]`: checks
/// the failure's message, the refusal that follows, and that every view shows it.
async fn half_applied(p: &Project, ids: &[String]) -> Option<(TestDb, DatabaseConnection)> {
    let db = TestDb::new(Backend::MySql).await?;
    let url = db.url.as_str();
    let since = now_ms();
    let mut cmd = bin(p, url, &["upgrade", "head"]);
    cmd.env("BREAK_MIGRATION", "1");
    let failed = run(cmd, LONG).expect(1, "upgrade head through the breaking step");
    let until = now_ms();
    show(db.backend, &failed.stderr);
    assert!(
        failed.stderr.contains(&format!("Applied {} (", ids[0])),
        "{}",
        failed.stderr
    );
    let errors = failed.errors();
    assert_eq!(errors.len(), 1, "{}", failed.stderr);
    let e = errors[0];
    for part in [
        format!("upgrade of `{}` failed", ids[1]),
        "Table 'half_a' already exists".to_string(),
        "outside a transaction".to_string(),
        format!("`stamp {}`", ids[1]),
        "--retry-failed".to_string(),
    ] {
        assert!(e.contains(&part), "{part:?} not in: {e}");
    }

    let conn = connect(&db).await;
    // half of it is there, the first step is recorded, the broken one is not
    assert_eq!(tables(&conn).await, with_tracking(&["h_1", "half_a"]));
    assert_eq!(tracking_rows(&conn).await, [ids[0].clone()]);
    let meta = meta_rows(&conn).await;
    let failed_meta = meta.iter().find(|m| m.version == ids[1]).expect("recorded");
    assert_eq!(failed_meta.failed_direction.as_deref(), Some("up"));
    assert!(
        failed_meta
            .failed_error
            .as_deref()
            .is_some_and(|e| e.contains("already exists")),
        "{failed_meta:?}"
    );

    // every later run refuses (exit 2) and says what happened and how to resolve it,
    // even with the migration fixed
    for args in [
        &["upgrade", "head"][..],
        &["upgrade", "+1"],
        &["downgrade", "base", "--yes"],
    ] {
        let refused = run(bin(p, url, args), LONG).expect(2, &args.join(" "));
        let errors = refused.errors();
        assert_eq!(errors.len(), 1, "{}", refused.stderr);
        let e = errors[0];
        for part in [
            format!("`{}` failed part-way outside a transaction", ids[1]),
            "Table 'half_a' already exists".to_string(),
            "stamp".to_string(),
            "--retry-failed".to_string(),
        ] {
            assert!(e.contains(&part), "{part:?} not in: {e}");
        }
        assert!(!refused.stderr.contains("Applied"), "{}", refused.stderr);
    }
    assert_eq!(tables(&conn).await, with_tracking(&["h_1", "half_a"]));
    assert_eq!(tracking_rows(&conn).await, [ids[0].clone()]);

    assert_failure_visible(
        p,
        url,
        &ids[1],
        "Table 'half_a' already exists",
        false,
        (since, until),
    );
    let check = run(bin(p, url, &["check"]), LONG);
    assert_ne!(check.code, Some(0), "check passes a half-applied database");
    Some((db, conn))
}

/// After the resolution: at head, nothing failed, `check` passes.
async fn assert_clean(p: &Project, db: &TestDb, conn: &DatabaseConnection, ids: &[String]) {
    assert_eq!(
        tables(conn).await,
        with_tracking(&["h_1", "h_3", "half_a", "half_b"])
    );
    assert_applied_cleanly(conn, ids).await;
    assert_no_failure(p, &db.url);
    run(bin(p, &db.url, &["check"]), LONG).expect(0, "check");
}

#[tokio::test]
async fn mysql_half_applied_step_is_refused_until_resolved() {
    let (p, ids) = half_applied_crate();

    // (a) undo the partial change by hand, record the truth (only the first step), run
    let undone_and_stamped = |db: &TestDb| {
        let stamped = run(bin(&p, &db.url, &["stamp", &ids[0], "--yes"]), LONG)
            .expect(0, "stamp the first step");
        show(db.backend, &stamped.stderr);
        assert_no_failure(&p, &db.url);
        let up = run(bin(&p, &db.url, &["upgrade", "head"]), LONG).expect(0, "upgrade head");
        assert!(
            up.stderr.contains(&format!("Applied {} (", ids[1])),
            "{}",
            up.stderr
        );
    };
    if !resolved(&p, &ids, "DROP TABLE half_a", undone_and_stamped).await {
        return;
    }

    // (a') finish the step by hand, record it as applied with `stamp`
    let finished_and_stamped = |db: &TestDb| {
        let stamped = run(bin(&p, &db.url, &["stamp", &ids[1], "--yes"]), LONG)
            .expect(0, "stamp the failed step");
        assert!(
            stamped.stderr.contains(&format!("Stamped {}", ids[1])),
            "{}",
            stamped.stderr
        );
        let up = run(bin(&p, &db.url, &["upgrade", "head"]), LONG).expect(0, "upgrade head");
        assert!(
            !up.stderr.contains(&format!("Applied {} (", ids[1])),
            "{}",
            up.stderr
        );
        assert!(
            up.stderr.contains(&format!("Applied {} (", ids[2])),
            "{}",
            up.stderr
        );
    };
    let finish = "CREATE TABLE half_b (id INTEGER)";
    assert!(
        resolved(&p, &ids, finish, finished_and_stamped).await,
        "MySQL is up"
    );

    // (b) undo the partial change by hand, run the step again with `--retry-failed`
    let undone_and_retried = |db: &TestDb| {
        let up = run(
            bin(&p, &db.url, &["upgrade", "head", "--retry-failed"]),
            LONG,
        )
        .expect(0, "upgrade head --retry-failed");
        up.assert_applied(&ids[1..]);
    };
    assert!(
        resolved(&p, &ids, "DROP TABLE half_a", undone_and_retried).await,
        "MySQL is up"
    );
}

/// A fresh half-applied database, fixed by hand with the statement `by_hand`, then
/// resolved by `verbs`: it must end clean. `false` when MySQL is not there (skipped).
async fn resolved(p: &Project, ids: &[String], by_hand: &str, verbs: impl FnOnce(&TestDb)) -> bool {
    let Some((db, conn)) = half_applied(p, ids).await else {
        return false;
    };
    conn.execute_unprepared(by_hand).await.unwrap();
    verbs(&db);
    assert_clean(p, &db, &conn, ids).await;
    conn.close().await.unwrap();
    true
}

// ---------------------------------------------------------------------------------------
// 5. The failure record, on every backend

on_every_backend!(a_failed_migration_is_recorded_and_shown, |db| {
    let p = new_crate("failure");
    let broken_up = format!(
        "{}
        if std::env::var_os(\"BREAK_MIGRATION\").is_some() {{
            {}
        }}",
        exec("CREATE TABLE f_2 (id INTEGER PRIMARY KEY)"),
        exec("INSERT INTO no_such_table VALUES (1)"),
    );
    let ids = crate_with(
        &p,
        &[
            (
                exec("CREATE TABLE f_1 (id INTEGER PRIMARY KEY)"),
                exec("DROP TABLE f_1"),
            ),
            (broken_up, exec("DROP TABLE f_2")),
            (
                exec("CREATE TABLE f_3 (id INTEGER PRIMARY KEY)"),
                exec("DROP TABLE f_3"),
            ),
        ],
    );
    let url = db.url.as_str();
    let transactional = db.backend != Backend::MySql;

    let (since, until) = the_failing_run_names_the_step_in_one_error(&p, &db, &ids);

    let conn = connect(&db).await;
    if transactional {
        // rolled back: nothing of the failed step remains
        assert_eq!(tables(&conn).await, with_tracking(&["f_1"]));
    } else {
        assert_eq!(tables(&conn).await, with_tracking(&["f_1", "f_2"]));
    }
    assert_eq!(tracking_rows(&conn).await, [ids[0].clone()]);
    assert_failure_visible(
        &p,
        url,
        &ids[1],
        "no_such_table",
        transactional,
        (since, until),
    );

    if transactional {
        // a rolled-back failure does not block: fixed, the next run applies the rest and
        // forgets the failure
        let up = run(bin(&p, url, &["upgrade", "head"]), LONG).expect(0, "upgrade head");
        up.assert_applied(&ids[1..]);
        assert_eq!(tables(&conn).await, with_tracking(&["f_1", "f_2", "f_3"]));
        assert_applied_cleanly(&conn, &ids).await;
        assert_no_failure(&p, url);
        run(bin(&p, url, &["check"]), LONG).expect(0, "check");
    } else {
        run(bin(&p, url, &["upgrade", "head"]), LONG).expect(2, "upgrade head");
    }
    conn.close().await.unwrap();
});

/// `upgrade head` with the second step broken: one error naming it (and, where it ran in
/// a transaction, that it was rolled back), and the third step never runs. When it ran
/// (milliseconds since the epoch, before and after).
fn the_failing_run_names_the_step_in_one_error(
    p: &Project,
    db: &TestDb,
    ids: &[String],
) -> (i64, i64) {
    let transactional = db.backend != Backend::MySql;
    let since = now_ms();
    let mut cmd = bin(p, &db.url, &["upgrade", "head"]);
    cmd.env("BREAK_MIGRATION", "1");
    let failed = run(cmd, LONG).expect(1, "upgrade head through the failing step");
    let until = now_ms();
    show(db.backend, &failed.stderr);
    let errors = failed.errors();
    assert_eq!(errors.len(), 1, "{}", failed.stderr);
    let e = errors[0];
    assert!(
        e.starts_with(&format!("error: upgrade of `{}` failed: ", ids[1]))
            && e.contains("no_such_table"),
        "{e}"
    );
    if transactional {
        assert!(e.contains("rolled back"), "{e}");
    }
    assert!(
        !failed.stderr.contains(&format!("Applied {}", ids[2])),
        "{}",
        failed.stderr
    );
    (since, until)
}
