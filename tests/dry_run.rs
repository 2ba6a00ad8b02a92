//! `--dry-run` end to end with migrations the example crate has not (issue 11, item 4):
//! one that fails and one that opts out of transactions. One migration crate, built
//! once for the whole file (in the shared `target/e2e`), whose binary runs as a
//! separate process against a fresh database per test; a full dump of the database
//! (schema and data) before and after shows that nothing was changed.
//!
//! The crate: `author`, then `post`, then `add_published` (which, with `DRY_RUN_BREAK`
//! set, adds `post.title` again and fails; with `DRY_RUN_SLEEP`, first sleeps 30 s on
//! MySQL), then `notx`, which runs outside a transaction (`use_transaction() ->
//! Some(false)`).

#[path = "support/inspect.rs"]
mod inspect;
#[path = "support/project.rs"]
mod project;
mod support;

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use inspect::{dry_failure_message, dump, exec, failure, scratch_databases, simulated, tables};
use project::Project;
use support::run::{Ran, Run};
use support::{Backend, TestDb, Via};

/// The crate and its migrations' ids, in order: author, post, add_published, notx.
struct Fixture {
    project: Project,
    ids: Vec<String>,
}

/// Replaces the body of migration `id` (everything after its `REVISES` and `impl
/// MigrationName`, which stay as `create` wrote them) with `up` and `down`, Rust
/// statements with `db` (the connection) in scope, and `extra`, more items of its
/// `MigrationTrait` impl.
fn set_body(p: &Project, id: &str, up: &str, down: &str, extra: &str) {
    let rel = format!("migration/src/{id}.rs");
    let text = p.read(&rel);
    let head = &text[..text
        .find("#[async_trait::async_trait]")
        .unwrap_or_else(|| panic!("{rel} has no MigrationTrait impl:\n{text}"))];
    assert!(head.contains("pub const REVISES"), "{head}");
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
{extra}
}}
"
        ),
    );
}

/// `db.execute_unprepared("<sql>").await?;`
fn exec_stmt(sql: &str) -> String {
    format!("db.execute_unprepared({sql:?}).await?;")
}

/// The crate, built on first use.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut p = Project::new();
        p.name = format!("dry_run_{}", p.name);
        p.init();
        let mut ids = vec![p.first_migration()];
        for name in ["post", "add published", "notx"] {
            ids.push(p.create(&["-t", "empty", name]));
        }
        set_body(
            &p,
            &ids[0],
            &exec_stmt("CREATE TABLE author (id INTEGER PRIMARY KEY, name VARCHAR(100))"),
            &exec_stmt("DROP TABLE author"),
            "",
        );
        set_body(
            &p,
            &ids[1],
            &exec_stmt("CREATE TABLE post (id INTEGER PRIMARY KEY, title VARCHAR(100))"),
            &exec_stmt("DROP TABLE post"),
            "",
        );
        set_body(
            &p,
            &ids[2],
            &format!(
                "if std::env::var_os(\"DRY_RUN_SLEEP\").is_some() {{ {} }}
        if std::env::var_os(\"DRY_RUN_BREAK\").is_some() {{ {} }} else {{ {} }}",
                exec_stmt("SELECT SLEEP(30)"),
                exec_stmt("ALTER TABLE post ADD COLUMN title VARCHAR(10)"),
                exec_stmt("ALTER TABLE post ADD COLUMN published INTEGER")
            ),
            &exec_stmt("ALTER TABLE post DROP COLUMN published"),
            "",
        );
        set_body(
            &p,
            &ids[3],
            &exec_stmt("CREATE TABLE notx (id INTEGER PRIMARY KEY)"),
            &exec_stmt("DROP TABLE notx"),
            "\n    fn use_transaction(&self) -> Option<bool> {\n        Some(false)\n    }",
        );
        // builds the crate (heads needs no database)
        p.run(&["heads"])
            .status(0)
            .stdout_has(&format!("{} (head)", ids[3]));
        Fixture { project: p, ids }
    })
}

/// The crate's migration binary with `args`, on `url`, nothing from the test's
/// environment that would change what its migrations do.
fn bin(url: &str, args: &[&str]) -> Run {
    let f = fixture();
    let mut cmd = Command::new(project::target_dir().join("debug").join(&f.project.name));
    cmd.current_dir(f.project.path())
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("DATABASE_SCHEMA")
        .env_remove("DRY_RUN_BREAK")
        .env_remove("DRY_RUN_SLEEP")
        .stdin(Stdio::null());
    Run::new(&f.project.name, cmd, args, Via::Env).on(url)
}

/// The database at `post`, with rows in both tables.
async fn at_post(db: &TestDb) -> &'static [String] {
    let ids = &fixture().ids;
    bin(&db.url, &["upgrade", &ids[1]]).status(0);
    exec(
        &db.url,
        "INSERT INTO author (id, name) VALUES (1, 'Ada'), (2, 'Brian')",
    )
    .await;
    exec(
        &db.url,
        "INSERT INTO post (id, title) VALUES (1, 'Engines'), (2, 'Pipes')",
    )
    .await;
    ids
}

fn current(url: &str) -> String {
    bin(url, &["current"]).status(0).stdout()
}

/// Checks stderr says `id` was not simulated.
fn not_simulated(o: Ran, id: &str) -> Ran {
    o.stderr_has(&format!("upgrade {id}: not simulated"))
        .stderr_lacks(&format!("Simulated upgrade {id}"))
}

on_backends!(a_step_outside_transactions_is_not_run [sqlite: Sqlite, postgres: Postgres], |db| {
    let url = db.url.as_str();
    let ids = at_post(&db).await;
    let before = dump(&db);
    assert!(before.contains("Engines"), "{before}");
    let at = current(url);

    let o = bin(url, &["upgrade", "--dry-run"]).status(0);
    let o = simulated(o, "upgrade", &[&ids[2]]);
    not_simulated(o, &ids[3])
        .stderr_has("use_transaction()")
        .stderr_has("1 migration ran")
        .stderr_has("1 not simulated");
    assert!(!tables(&db).contains(&"notx".to_string()), "{:?}", tables(&db));
    assert_eq!(dump(&db), before, "the dry run changed the database");
    assert_eq!(current(url), at);

    let lines = bin(url, &["upgrade", "--dry-run", "--format", "json"])
        .status(0)
        .json_lines();
    let last = lines.last().expect("a final object");
    assert_eq!(last["event"], "dry_run", "{lines:?}");
    assert_eq!(last["method"], "rollback");
    let steps = last["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{last}");
    assert_eq!(steps[0]["revision"], ids[2].as_str());
    assert_eq!(steps[0]["simulated"], true);
    assert_eq!(steps[1]["revision"], ids[3].as_str());
    assert_eq!(steps[1]["simulated"], false);
    assert!(
        steps[1]["note"].as_str().is_some_and(|n| n.contains("not simulated")),
        "{last}"
    );
    assert_eq!(steps[1]["statements"], serde_json::json!([]));
    // where a real run would leave it, though the last step was not rehearsed
    assert_eq!(last["to"], serde_json::json!([ids[3]]));
    assert!(!tables(&db).contains(&"notx".to_string()));
    assert_eq!(dump(&db), before);

    // for real, it runs
    bin(url, &["upgrade"]).status(0);
    assert!(tables(&db).contains(&"notx".to_string()), "{:?}", tables(&db));
});

on_every_backend!(
    a_failing_migration_fails_the_dry_run_as_it_fails_for_real,
    |db| {
        let url = db.url.as_str();
        let ids = at_post(&db).await;
        let before = dump(&db);
        let at = current(url);

        let dry = bin(url, &["upgrade", "--dry-run"])
            .env("DRY_RUN_BREAK", "1")
            .status(1)
            .stderr_has("(dry run: nothing was changed)");
        let message = dry_failure_message(&dry, &ids[2]);
        assert!(message.contains("title"), "{message}\n{}", dry.context());
        assert_eq!(dump(&db), before, "the failed dry run changed the database");
        assert_eq!(current(url), at);
        if db.backend == Backend::MySql {
            assert_eq!(scratch_databases(&db), Vec::<String>::new());
        }

        // the real upgrade fails on the same step with the same message from the database
        let real = bin(url, &["upgrade"]).env("DRY_RUN_BREAK", "1").status(1);
        let line = failure(&real, &ids[2]);
        assert!(
            line.starts_with(&format!("{message} (")) || line == message,
            "dry run: {message:?}\n{}",
            real.context()
        );
    }
);

/// Ctrl-C in the middle of a MySQL dry run: the run stops, and its scratch database is
/// dropped on the way out.
#[tokio::test]
async fn mysql_ctrl_c_drops_the_scratch_database() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    at_post(&db).await;
    let (before, at) = (dump(&db), current(&db.url));
    let mut cmd = bin(&db.url, &["upgrade", "--dry-run"])
        .env("DRY_RUN_SLEEP", "1")
        .into_command();
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let started = std::time::Instant::now();
    // the scratch database exists while the sleeping step runs in it
    while scratch_databases(&db).is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no scratch database appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let out = child.wait_with_output().expect("wait for the binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "it waited for the step instead of stopping: {stderr}"
    );
    assert!(scratch_databases(&db).is_empty(), "{stderr}");
    assert_eq!(dump(&db), before);
    assert_eq!(current(&db.url), at);
}
