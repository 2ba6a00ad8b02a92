//! `--dry-run` end to end with the example crate's binary (issue 11, item 4): the real
//! plan runs and is taken back, and a full dump of the database (schema and data) is
//! byte for byte what it was. PostgreSQL and SQLite roll back one transaction;
//! MySQL/MariaDB runs in a scratch database that must not outlive the run.

#[path = "../../tests/support/inspect.rs"]
mod inspect;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database, TransactionTrait};
use inspect::{
    dry_failure_message, dump, exec, failure, scratch_databases, server, simulated, tables,
};
use support::run::{self, Run};
use support::{Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");

/// The branch point of the example's history: `author` and `post` exist, four
/// revisions are pending (`add_post_published`, `create_tag`, the merge, the index).
const MIDDLE: &str = "m20260102_000001_create_post";
const PENDING: [&str; 4] = [
    "m20260103_000001_add_post_published",
    "m20260103_000002_create_tag",
    "m20260104_000001_merge_published_and_tags",
    "m20260105_000001_index_post_title",
];
const HEAD: &str = "m20260105_000001_index_post_title";

/// The binary with `args`, no DATABASE_URL from the environment, no colours.
fn bin(args: &[&str]) -> Run {
    run::migrations(BIN, args)
}

/// The example database at [`MIDDLE`], with two authors and their posts.
async fn middle_with_rows(db: &TestDb) {
    bin(&["upgrade", MIDDLE]).on(&db.url).status(0);
    exec(
        &db.url,
        "INSERT INTO author (name, email) VALUES ('Ada', 'ada@example.com'), \
         ('Brian', 'brian@example.com')",
    )
    .await;
    exec(
        &db.url,
        "INSERT INTO post (author_id, title, body) VALUES (1, 'Engines', 'Notes on the engine'), \
         (2, 'Pipes', 'On pipes')",
    )
    .await;
}

/// `current`'s output.
fn current(url: &str) -> String {
    bin(&["current"]).on(url).status(0).stdout()
}

// ---------------------------------------------------------------------------------------
// Rolled back: PostgreSQL and SQLite

on_backends!(rehearsals_leave_the_database_byte_for_byte [sqlite: Sqlite, postgres: Postgres], |db| {
    let url = db.url.as_str();
    middle_with_rows(&db).await;
    let before = dump(&db);
    assert!(before.contains("Engines") && before.contains("brian@example.com"), "{before}");
    let at = current(url);
    assert!(at.contains(MIDDLE), "{at}");
    let took_locks = match db.backend {
        Backend::Postgres => "it took real locks on",
        _ => "it held the write lock of",
    };

    let o = bin(&["upgrade", "--dry-run"]).on(url).status(0).stderr_has(took_locks);
    simulated(o, "upgrade", &PENDING).stderr_lacks("Applied");
    assert_eq!(dump(&db), before, "upgrade --dry-run changed the database");

    bin(&["downgrade", "base", "--dry-run"])
        .on(url)
        .status(0)
        .stderr_has(took_locks)
        .stderr_has(&format!("Simulated downgrade {MIDDLE}"))
        .stderr_has("Simulated downgrade m20260101_000001_create_author")
        .stderr_lacks("Reverted");
    assert_eq!(dump(&db), before, "downgrade base --dry-run changed the database");

    bin(&["redo", "--dry-run"])
        .on(url)
        .status(0)
        .stderr_has(took_locks)
        .stderr_has(&format!("Simulated downgrade {MIDDLE}"))
        .stderr_has(&format!("Simulated upgrade {MIDDLE}"));
    assert_eq!(dump(&db), before, "redo --dry-run changed the database");

    // -v shows what each step sent
    bin(&["upgrade", "--dry-run", "-v"])
        .on(url)
        .status(0)
        .stderr_has("ALTER TABLE")
        .stderr_has("published")
        .stderr_has("CREATE TABLE");
    assert_eq!(dump(&db), before, "upgrade --dry-run -v changed the database");
    assert_eq!(current(url), at);

    // the dump sees what a real run changes
    bin(&["upgrade"]).on(url).status(0).stderr_has("Applied");
    assert_ne!(dump(&db), before);
});

on_backends!(a_dry_run_on_an_empty_database_leaves_no_tables [sqlite: Sqlite, postgres: Postgres], |db| {
    let url = db.url.as_str();
    let at = current(url);
    assert_eq!(tables(&db), Vec::<String>::new());
    let before = dump(&db);
    let o = bin(&["upgrade", "--dry-run"]).on(url).status(0);
    let o = simulated(o, "upgrade", &["m20260101_000001_create_author", HEAD]);
    assert_eq!(tables(&db), Vec::<String>::new(), "{}", o.context());
    assert_eq!(dump(&db), before);
    assert_eq!(current(url), at);
});

on_backends!(a_failing_step_fails_as_it_would_for_real [sqlite: Sqlite, postgres: Postgres], |db| {
    let url = db.url.as_str();
    middle_with_rows(&db).await;
    // what `add_post_published` adds is already there
    exec(url, "ALTER TABLE post ADD COLUMN published BOOLEAN").await;
    let before = dump(&db);
    let at = current(url);

    let dry = bin(&["upgrade", "--dry-run"])
        .on(url)
        .status(1)
        .stderr_has(&format!("upgrade of `{}` failed: ", PENDING[0]))
        .stderr_has("(dry run: nothing was changed)");
    let message = dry_failure_message(&dry, PENDING[0]);
    assert!(message.contains("published"), "{message}\n{}", dry.context());
    assert_eq!(dump(&db), before, "the failed dry run changed the database");
    assert_eq!(current(url), at);

    let real = bin(&["upgrade"]).on(url).status(1);
    // the same database message, then what the real run left behind
    let real_line = failure(&real, PENDING[0]);
    assert!(
        real_line.starts_with(&format!("{message} (rolled back")),
        "dry run: {message:?}\n{}",
        real.context()
    );
});

// ---------------------------------------------------------------------------------------
// PostgreSQL: the dry run's locks are bounded

#[tokio::test]
async fn a_locked_table_times_out_instead_of_hanging() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let url = db.url.as_str();
    middle_with_rows(&db).await;
    let before = dump(&db);

    let holder = Database::connect(url).await.expect("connect");
    let txn = holder.begin().await.expect("begin");
    txn.execute_unprepared("LOCK TABLE post IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock post");

    let started = Instant::now();
    let o = bin(&["upgrade", "--dry-run", "--table-lock-timeout", "1s"])
        .on(url)
        .status(1)
        .stderr_has("lock timeout")
        .stderr_has("(dry run: nothing was changed)");
    let took = started.elapsed();
    // well under the 5s default: the flag is what bounded it
    assert!(
        took < Duration::from_millis(4500),
        "took {took:?}\n{}",
        o.context()
    );

    txn.rollback().await.expect("release the lock");
    let _ = holder.close().await;
    assert_eq!(dump(&db), before);
    assert!(current(url).contains(MIDDLE));
}

// ---------------------------------------------------------------------------------------
// MySQL/MariaDB: a scratch database, always dropped

#[tokio::test]
async fn mysql_runs_in_a_scratch_database_and_drops_it() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let url = db.url.as_str();
    middle_with_rows(&db).await;
    let before = dump(&db);
    assert!(before.contains("Engines"), "{before}");
    let at = current(url);
    let name = server(url).database;

    let o = bin(&["upgrade", "--dry-run"])
        .on(url)
        .status(0)
        .stderr_has(&format!("in the scratch database `{name}_dryrun_"))
        .stderr_has("dropped since");
    simulated(o, "upgrade", &PENDING);
    assert_eq!(dump(&db), before, "upgrade --dry-run changed the database");
    assert_eq!(scratch_databases(&db), Vec::<String>::new());

    let lines = bin(&["upgrade", "--dry-run", "--format", "json"])
        .on(url)
        .status(0)
        .json_lines();
    let last = lines.last().expect("a final object");
    assert_eq!(last["event"], "dry_run");
    assert_eq!(last["method"], "scratch_database");
    let scratch = last["scratch"]
        .as_str()
        .expect("the scratch database's name");
    assert!(scratch.starts_with(&format!("{name}_dryrun_")), "{last}");

    for args in [
        &["downgrade", "base", "--dry-run"][..],
        &["redo", "--dry-run"],
    ] {
        bin(args)
            .on(url)
            .status(0)
            .stderr_has(&format!("Simulated downgrade {MIDDLE}"));
    }
    assert_eq!(dump(&db), before);
    assert_eq!(scratch_databases(&db), Vec::<String>::new());
    assert_eq!(current(url), at);
}

#[tokio::test]
async fn mysql_a_user_who_cannot_create_databases_is_told_of_sql() {
    let Some(db) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let url = db.url.as_str();
    middle_with_rows(&db).await;
    let before = dump(&db);
    let s = server(url);
    // a user of its own per test: tests run in parallel
    let user = format!("cmnc_{}", s.database.trim_start_matches("cm_"));
    let user = &user[..user.len().min(32)];
    for host in ["%", "localhost"] {
        exec(
            url,
            &format!(
                "CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY 'pw'; \
                 GRANT ALL ON `{}`.* TO '{user}'@'{host}'",
                s.database
            ),
        )
        .await;
    }
    let port = s.port.as_deref().map_or(String::new(), |p| format!(":{p}"));
    let limited = format!("mysql://{user}:pw@{}{port}/{}", s.host, s.database);
    // the user can read the database: `current` works
    assert!(current(&limited).contains(MIDDLE));

    let o = bin(&["upgrade", "--dry-run"]).on(&limited).output();
    let code = o.code();
    assert!(code.is_some() && code != Some(0), "{}", o.context());
    o.stderr_has("scratch database").stderr_has("--sql");
    assert_eq!(dump(&db), before);
    assert_eq!(scratch_databases(&db), Vec::<String>::new());

    for host in ["%", "localhost"] {
        exec(url, &format!("DROP USER IF EXISTS '{user}'@'{host}'")).await;
    }
}

// ---------------------------------------------------------------------------------------
// JSON

on_every_backend!(json_reports_each_step_and_the_whole_run, |db| {
    let url = db.url.as_str();
    bin(&["upgrade", MIDDLE]).on(url).status(0);
    let before = dump(&db);
    let o = bin(&["upgrade", "--dry-run", "--format", "json"])
        .on(url)
        .status(0);
    let lines = o.json_lines();
    let (last, steps) = lines.split_last().expect("JSON lines");
    assert_eq!(last["event"], "dry_run", "{}", o.context());
    assert_eq!(last["verb"], "upgrade");
    let method = match db.backend {
        Backend::MySql => "scratch_database",
        _ => "rollback",
    };
    assert_eq!(last["method"], method);
    assert_eq!(last["from"], serde_json::json!([MIDDLE]));
    assert_eq!(last["to"], serde_json::json!([HEAD]));

    let reported: Vec<&str> = last["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["revision"].as_str().expect("revision"))
        .collect();
    let mut sorted = reported.clone();
    sorted.sort();
    assert_eq!(sorted, PENDING, "{last}");
    // one `dry_step` line per step, before the summary, in the same order
    assert!(
        steps.iter().all(|s| s["event"] == "dry_step"),
        "{}",
        o.context()
    );
    let streamed: Vec<&str> = steps
        .iter()
        .map(|s| s["revision"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(streamed, reported);

    for step in last["steps"].as_array().expect("steps") {
        assert_eq!(step["simulated"], true, "{step}");
        assert_eq!(step["direction"], "up", "{step}");
        assert!(step.get("note").is_none(), "{step}");
    }
    let statements = |id: &str| -> Vec<String> {
        let step = last["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["revision"] == id))
            .unwrap_or_else(|| panic!("no step {id}"));
        step["statements"]
            .as_array()
            .expect("statements")
            .iter()
            .map(|s| s.as_str().expect("a statement").to_string())
            .collect()
    };
    let published = statements(PENDING[0]);
    assert!(
        published
            .iter()
            .any(|s| s.contains("ALTER TABLE") && s.contains("published")),
        "{published:?}"
    );
    let tag = statements(PENDING[1]);
    assert!(
        tag.iter()
            .any(|s| s.contains("CREATE TABLE") && s.contains("tag")),
        "{tag:?}"
    );
    // its tracking change too
    assert!(
        published
            .iter()
            .any(|s| s.contains(PENDING[0]) && s.contains("INSERT")),
        "{published:?}"
    );
    assert_eq!(dump(&db), before);
    if db.backend == Backend::MySql {
        assert_eq!(scratch_databases(&db), Vec::<String>::new());
    }
});

/// A SQLite file that does not exist yet is not created by a dry run, nor is its lock
/// file: the plan runs on an empty stand-in, from `base`.
#[test]
fn a_dry_run_creates_no_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("new.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let out = bin(&["upgrade", "--dry-run"]).on(&url).status(0);
    let out = simulated(out, "upgrade", &PENDING).stderr_has("still at base");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}: {}", out.stderr());
}
