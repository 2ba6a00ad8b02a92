//! `verify` end to end with the example crate's binary (issue 12, item 7): the live
//! schema against the one its applied migrations build, replayed in a scratch
//! database that never outlives the run. A clean deploy verifies; a column added by
//! hand, an index dropped, a type changed and a table nobody migrated are each
//! reported (exit 4), in words and in JSON; the live database is only read.

#[path = "../../tests/support/inspect.rs"]
mod inspect;
#[path = "../../tests/support/mod.rs"]
mod support;

use inspect::{dump, exec, query};
use support::run::{self, Run};
use support::{Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");
const MIDDLE: &str = "m20260102_000001_create_post";

fn bin(args: &[&str]) -> Run {
    run::migrations(BIN, args)
}

/// Scratch databases a `verify` of `db` left on its server (named after it), and
/// scratch schemas left inside it (a dev database's).
fn leftovers(db: &TestDb) -> Vec<String> {
    let prefix = format!("{}_verify_", inspect::server(&db.url).database);
    let (databases, schemas) = match db.backend {
        Backend::Sqlite => return Vec::new(),
        Backend::Postgres => (
            "SELECT datname FROM pg_database",
            Some("SELECT nspname FROM pg_namespace"),
        ),
        Backend::MySql => ("SHOW DATABASES", None),
    };
    let mut left: Vec<String> = query(db, databases)
        .into_iter()
        .filter(|d| d.starts_with(&prefix))
        .collect();
    left.extend(
        schemas
            .map(|sql| query(db, sql))
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.starts_with("cargo_migrate_verify_")),
    );
    left
}

/// The four hand changes of the issue, in each backend's own SQL.
fn hand_changes(backend: Backend) -> [&'static str; 4] {
    match backend {
        Backend::Sqlite => [
            "ALTER TABLE post ADD COLUMN slug varchar(80)",
            "DROP INDEX idx_post_title",
            "CREATE TABLE audit (id integer PRIMARY KEY, note text)",
            // SQLite has no ALTER COLUMN: the table is rebuilt with `name` as text.
            "PRAGMA foreign_keys = OFF; \
             CREATE TABLE tag2 (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name text NOT NULL UNIQUE); \
             INSERT INTO tag2 SELECT id, name FROM tag; DROP TABLE tag; ALTER TABLE tag2 RENAME TO tag",
        ],
        Backend::Postgres => [
            "ALTER TABLE post ADD COLUMN slug varchar(80)",
            "DROP INDEX idx_post_title",
            "CREATE TABLE audit (id serial PRIMARY KEY, note text)",
            "ALTER TABLE tag ALTER COLUMN name TYPE text",
        ],
        Backend::MySql => [
            "ALTER TABLE post ADD COLUMN slug varchar(80)",
            "DROP INDEX idx_post_title ON post",
            "CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, note text)",
            "ALTER TABLE tag MODIFY COLUMN name text NOT NULL",
        ],
    }
}

on_every_backend!(a_clean_deploy_verifies_and_only_reads, |db| {
    let url = db.url.as_str();
    bin(&["upgrade", "head"]).on(url).status(0);
    let before = dump(&db);
    bin(&["verify"])
        .on(url)
        .status(0)
        .stdout_has("verified: the schema of")
        .stdout_has("its 6 applied migrations build (4 tables compared)");
    let json = bin(&["verify", "--format", "json"])
        .on(url)
        .status(0)
        .json();
    assert_eq!(json["status"], "match", "{json}");
    assert_eq!(json["changes"].as_array().map(Vec::len), Some(0), "{json}");
    assert_eq!(dump(&db), before, "verify changed the database");
    assert_eq!(leftovers(&db), Vec::<String>::new(), "scratch left behind");
});

on_every_backend!(
    a_database_part_way_verifies_against_its_applied_revisions,
    |db| {
        let url = db.url.as_str();
        bin(&["upgrade", MIDDLE]).on(url).status(0);
        bin(&["verify"])
            .on(url)
            .status(0)
            .stdout_has("its 2 applied migrations build (2 tables compared)");
        // An empty database is what no migration builds.
        let empty = TestDb::new(db.backend).await.expect("second database");
        bin(&["verify"]).on(&empty.url).status(0);
    }
);

on_every_backend!(hand_changes_are_each_reported, |db| {
    let url = db.url.as_str();
    bin(&["upgrade", "head"]).on(url).status(0);
    for sql in hand_changes(db.backend) {
        exec(url, sql).await;
    }
    let o = bin(&["verify"]).on(url).status(4);
    let out = o.stdout();
    let lines: Vec<&str> = out.lines().skip(1).map(str::trim).collect();
    let want_type = match db.backend {
        Backend::Postgres => "~ column tag.name: character varying → text",
        Backend::MySql => "~ column tag.name: varchar(255) → text",
        Backend::Sqlite => "~ column tag.name: varchar → text",
    };
    for want in [
        "+ column post.slug",
        "- index post (title)",
        "+ table audit (2 columns)",
        want_type,
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "`{want}` not reported:\n{}",
            o.context()
        );
    }
    let json = bin(&["verify", "--format", "json"])
        .on(url)
        .status(4)
        .json();
    assert_eq!(json["status"], "drift");
    assert_eq!(json["exit_code"], 4);
    let kinds: Vec<&str> = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["change"].as_str())
        .collect();
    for kind in ["add_column", "drop_index", "create_table", "alter_column"] {
        assert!(kinds.contains(&kind), "{kind} missing from {json}");
    }
    // Filters: an excluded table is not compared, an included one alone is.
    let o = bin(&["verify", "--exclude", "audit", "--exclude", "t*g"])
        .on(url)
        .status(4);
    o.stdout_lacks("audit")
        .stdout_lacks("tag.name")
        .stdout_has("post.slug");
    bin(&["verify", "--include", "author"]).on(url).status(0);
    assert_eq!(leftovers(&db), Vec::<String>::new(), "scratch left behind");
});

on_every_backend!(revisions_it_cannot_replay_are_named, |db| {
    let url = db.url.as_str();
    bin(&["upgrade", "head"]).on(url).status(0);
    exec(
        url,
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20990101_000000_gone', 0)",
    )
    .await;
    bin(&["verify"])
        .on(url)
        .status(1)
        .one_line()
        .stderr_has("`m20990101_000000_gone`")
        .stderr_has("cannot be rebuilt");
});

on_backends!(a_dev_database_stands_in_for_a_scratch_one [postgres: Postgres, mysql: MySql], |db| {
    let url = db.url.as_str();
    bin(&["upgrade", "head"]).on(url).status(0);
    let dev = TestDb::new(db.backend).await.expect("dev database");
    bin(&["verify", "--dev-url", &dev.url]).on(url).status(0).stdout_has("verified");
    assert_eq!(inspect::tables(&dev), Vec::<String>::new(), "the dev database kept tables");
    // Through the environment too, as `cargo migrate` passes it.
    bin(&["verify"]).on(url).env("DEV_DATABASE_URL", &dev.url).status(0);
    // A dev database with tables in it is refused, and left alone.
    exec(&dev.url, "CREATE TABLE keep_me (id int)").await;
    let o = bin(&["verify", "--dev-url", &dev.url]).on(url).output();
    if db.backend == Backend::MySql {
        o.exited(2).one_line().stderr_has("must name an empty database");
    } else {
        // PostgreSQL works in a schema of its own inside it.
        o.exited(0);
    }
    assert!(inspect::tables(&dev).contains(&"keep_me".to_string()));
    assert_eq!(leftovers(&db), Vec::<String>::new(), "scratch left behind");
    assert_eq!(leftovers(&dev), Vec::<String>::new(), "scratch schema left behind");
});

on_backends!(a_postgres_schema_is_verified_in_that_schema [postgres: Postgres], |db| {
    let url = db.url.as_str();
    exec(url, "CREATE SCHEMA app").await;
    bin(&["-s", "app", "upgrade", "head"]).on(url).status(0);
    bin(&["-s", "app", "verify"]).on(url).status(0).stdout_has("(4 tables compared)");
    exec(url, "ALTER TABLE app.author ADD COLUMN bio text").await;
    bin(&["-s", "app", "verify"]).on(url).status(4).stdout_has("+ column author.bio text NULL");
    // `public` holds nothing the migrations built.
    bin(&["verify"]).on(url).status(0).stdout_has("0 applied migrations");
});
