//! `--sql`: the script is the plan. The example crate's offline scripts, run by each
//! database's own client (`psql`, `mysql`, `sqlite3`, stopping at the first error),
//! leave exactly the schema and the recorded revisions that running the same verb
//! leaves, on every backend; the scripts themselves are pinned, and the flags that
//! cannot go together are usage errors.

#[path = "../../tests/support/mod.rs"]
mod support;

#[path = "../../tests/support/dump.rs"]
mod dump;

use support::TestDb;
use support::run::{self, Ran, Run};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");
const AUTHOR: &str = "m20260101_000001_create_author";
const POST: &str = "m20260102_000001_create_post";
const PUBLISHED: &str = "m20260103_000001_add_post_published";
const TAG: &str = "m20260103_000002_create_tag";
const MERGE: &str = "m20260104_000001_merge_published_and_tags";
const HEAD: &str = "m20260105_000001_index_post_title";
const ALL: [&str; 6] = [AUTHOR, POST, PUBLISHED, TAG, MERGE, HEAD];

/// The binary with `args`, no DATABASE_URL from the environment, no colours.
fn bin(args: &[&str]) -> Run {
    run::migrations(BIN, args)
}

/// The script `args` print for `db` (the URL given, so its scheme names the backend);
/// it must exit 0 and print only the script.
fn script(db: &TestDb, args: &[&str]) -> String {
    let o = bin(args).on(&db.url).status(0);
    let text = o.stdout();
    assert!(
        text.starts_with("-- "),
        "a script starts with its header\n{}",
        o.context()
    );
    text
}

/// A second empty database on the same backend.
async fn another(db: &TestDb) -> TestDb {
    TestDb::new(db.backend)
        .await
        .expect("the backend of the first database is reachable")
}

use dump::assert_same_database as same_database;

/// `current` and `check` on a database the script left at the head.
fn at_head(db: &TestDb) -> Ran {
    bin(&["current"])
        .on(&db.url)
        .status(0)
        .stdout_starts_with(HEAD);
    bin(&["check"]).on(&db.url).status(0)
}

on_every_backend!(upgrade_from_base_builds_what_upgrade_head_builds, |db| {
    if !dump::clients(&db) {
        return;
    }
    let text = script(&db, &["upgrade", "--sql"]);
    for id in ALL {
        assert_eq!(
            text.matches(&format!("\n-- upgrade {id}\n")).count(),
            1,
            "{id} once\n{text}"
        );
    }
    dump::run_script(&db, &text);
    let run = another(&db).await;
    bin(&["upgrade", "head"]).on(&run.url).status(0);
    same_database(&db, &run, &ALL);
    at_head(&db);
    // the script recorded nothing twice: running `upgrade head` now has nothing to do
    bin(&["upgrade", "head"])
        .on(&db.url)
        .status(0)
        .stderr_lacks("Applied");
});

on_every_backend!(a_middle_range_builds_what_upgrade_to_its_end_builds, |db| {
    if !dump::clients(&db) {
        return;
    }
    // both at `create_post`: one by the script `base:A`, one by running `upgrade A`
    let first = script(&db, &["upgrade", "--sql", &format!("base:{POST}")]);
    dump::run_script(&db, &first);
    let run = another(&db).await;
    bin(&["upgrade", POST]).on(&run.url).status(0);
    same_database(&db, &run, &[AUTHOR, POST]);

    // then `A:B` against `upgrade B`
    let range = format!("{POST}:{MERGE}");
    let second = script(&db, &["upgrade", "--sql", &range]);
    assert!(
        !second.contains(&format!("-- upgrade {POST}\n")),
        "`A:B` starts after A\n{second}"
    );
    assert!(!second.contains(HEAD), "`A:B` stops at B\n{second}");
    dump::run_script(&db, &second);
    bin(&["upgrade", MERGE]).on(&run.url).status(0);
    same_database(&db, &run, &[AUTHOR, POST, PUBLISHED, TAG, MERGE]);
    bin(&["current"])
        .on(&db.url)
        .status(0)
        .stdout_starts_with(MERGE);
    bin(&["check"]).on(&db.url).status(3);
});

on_every_backend!(a_downgrade_script_undoes_what_downgrade_base_undoes, |db| {
    if !dump::clients(&db) {
        return;
    }
    let run = another(&db).await;
    for d in [&db, &run] {
        bin(&["upgrade", "head"]).on(&d.url).status(0);
    }
    let text = script(&db, &["downgrade", "--sql", "head:base"]);
    for id in ALL {
        assert_eq!(
            text.matches(&format!("\n-- downgrade {id}\n")).count(),
            1,
            "{id} once\n{text}"
        );
    }
    dump::run_script(&db, &text);
    bin(&["downgrade", "base", "--yes"]).on(&run.url).status(0);
    same_database(&db, &run, &[]);
    bin(&["current"])
        .on(&db.url)
        .status(0)
        .stdout_is("")
        .stderr_has("at base");
});

on_every_backend!(a_script_from_the_database_takes_it_to_the_head, |db| {
    if !dump::clients(&db) {
        return;
    }
    bin(&["upgrade", POST]).on(&db.url).status(0);
    let before = dump::schema(&db);
    let text = script(&db, &["upgrade", "--sql", "--from-db"]);
    // read, never written
    assert_eq!(
        dump::schema(&db),
        before,
        "`--from-db` changed the database"
    );
    assert_eq!(dump::versions(&db), [AUTHOR, POST]);
    assert!(
        !text.contains(&format!("-- upgrade {POST}\n"))
            && !text.contains(&format!("-- upgrade {AUTHOR}\n")),
        "the applied revisions are not in the script\n{text}"
    );
    dump::run_script(&db, &text);
    let run = another(&db).await;
    bin(&["upgrade", "head"]).on(&run.url).status(0);
    same_database(&db, &run, &ALL);
    at_head(&db);
});

on_every_backend!(
    a_downgrade_script_to_the_branch_point_undoes_both_branches,
    |db| {
        if !dump::clients(&db) {
            return;
        }
        let run = another(&db).await;
        for d in [&db, &run] {
            bin(&["upgrade", "head"]).on(&d.url).status(0);
        }
        let text = script(&db, &["downgrade", "--sql", &format!("head:{POST}")]);
        for id in [HEAD, MERGE, PUBLISHED, TAG] {
            assert!(
                text.contains(&format!("\n-- downgrade {id}\n")),
                "{id}\n{text}"
            );
        }
        assert!(!text.contains(&format!("-- downgrade {POST}\n")), "{text}");
        dump::run_script(&db, &text);
        bin(&["downgrade", POST, "--yes"]).on(&run.url).status(0);
        same_database(&db, &run, &[AUTHOR, POST]);
    }
);

on_every_backend!(a_stamp_script_records_what_stamp_records, |db| {
    if !dump::clients(&db) {
        return;
    }
    let text = script(&db, &["stamp", "--sql", "head"]);
    dump::run_script(&db, &text);
    let run = another(&db).await;
    bin(&["stamp", "head", "--yes"]).on(&run.url).status(0);
    same_database(&db, &run, &ALL);
    // recorded, not run: no table of the migrations' own
    assert!(!dump::schema(&db).contains("author"));
    at_head(&db);
});

on_every_backend!(
    a_script_from_an_empty_database_creates_the_tracking_tables,
    |db| {
        if !dump::clients(&db) {
            return;
        }
        let text = script(&db, &["upgrade", "--sql", "--from-db"]);
        assert!(text.contains("-- the tracking tables\n"), "{text}");
        assert_eq!(
            text,
            script(&db, &["upgrade", "--sql"]),
            "an empty database is the base"
        );
        dump::run_script(&db, &text);
        // at the head, the script from the database does nothing, and runs
        let again = script(&db, &["upgrade", "--sql", "--from-db"]);
        assert_eq!(
            again.trim_end().lines().count(),
            1,
            "only the header\n{again}"
        );
        dump::run_script(&db, &again);
        at_head(&db);
    }
);

/// The scripts written with no database at all: only `--backend` says which.
mod offline {
    use super::*;

    fn offline(args: &[&str]) -> String {
        bin(args).status(0).stdout()
    }

    #[test]
    fn upgrade_scripts_for_each_backend() {
        for backend in ["postgres", "mysql", "sqlite"] {
            let text = offline(&["upgrade", "--sql", "--backend", backend]);
            insta::assert_snapshot!(format!("upgrade_{backend}"), text);
        }
    }

    #[test]
    fn downgrade_script_for_postgres() {
        let text = offline(&["downgrade", "--sql", "head:base", "--backend", "postgres"]);
        insta::assert_snapshot!("downgrade_postgres", text);
    }

    #[test]
    fn the_scripts_scheme_can_come_from_the_url_alone() {
        // no server behind it: a script from base connects to nothing
        let text = bin(&["upgrade", "--sql"])
            .on("postgres://nobody@127.0.0.1:1/none")
            .status(0)
            .stdout();
        assert_eq!(
            text,
            offline(&["upgrade", "--sql", "--backend", "postgres"])
        );
    }

    #[test]
    fn json_carries_the_text_and_the_steps() {
        let v = bin(&[
            "upgrade",
            "--sql",
            "--backend",
            "sqlite",
            "--format",
            "json",
        ])
        .status(0)
        .json();
        let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
        for key in ["format_version", "sql", "script"] {
            assert!(keys.iter().any(|k| *k == key), "{key} in {keys:?}");
        }
        assert_eq!(v["format_version"], 1);
        let text = offline(&["upgrade", "--sql", "--backend", "sqlite"]);
        assert_eq!(
            v["sql"].as_str().map(str::trim_end),
            Some(text.trim_end()),
            "the JSON's `sql` is the script the text output prints"
        );
        let steps = v["script"]["steps"].as_array().expect("steps");
        let revisions: Vec<&str> = steps
            .iter()
            .map(|s| s["revision"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(revisions, ALL);
        assert!(
            steps
                .iter()
                .all(|s| s["action"] == "upgrade" && s["transactional"] == true)
        );
        assert!(
            steps[0]["statements"][0]
                .as_str()
                .is_some_and(|s| s.contains("\"author\""))
        );
        assert_eq!(v["script"]["backend"], "sqlite");
        assert_eq!(v["script"]["to"][0], HEAD);
    }

    #[test]
    fn a_stamp_script_records_without_running() {
        let text = offline(&["stamp", "--sql", "head", "--backend", "sqlite"]);
        for id in ALL {
            assert!(text.contains(&format!("-- stamp {id}\n")), "{id}\n{text}");
        }
        assert!(
            !text.contains("CREATE TABLE IF NOT EXISTS \"author\""),
            "{text}"
        );
    }
}

/// What `--sql` refuses, before anything connects.
mod refused {
    use super::*;

    #[test]
    fn a_downgrade_script_needs_a_start() {
        bin(&["downgrade", "--sql", "base", "--backend", "postgres"])
            .status(2)
            .one_line()
            .stderr_has("A:B")
            .stderr_has("--from-db")
            .stdout_is("");
    }

    #[test]
    fn a_script_needs_to_know_its_backend() {
        bin(&["upgrade", "--sql"])
            .status(2)
            .stderr_has("--backend")
            .stdout_is("");
    }

    #[test]
    fn a_range_is_only_for_a_script() {
        bin(&["upgrade", "m2026:head"])
            .on("sqlite::memory:")
            .status(2)
            .one_line()
            .stderr_has("--sql");
    }

    #[test]
    fn sql_and_dry_run_do_not_go_together() {
        bin(&["upgrade", "--sql", "--dry-run", "--backend", "sqlite"])
            .status(2)
            .one_line()
            .stderr_has("--sql")
            .stderr_has("--dry-run")
            .stdout_is("");
    }

    #[test]
    fn a_database_start_and_a_range_do_not_go_together() {
        bin(&["upgrade", "--sql", "--from-db", &format!("{POST}:head")])
            .on("sqlite::memory:")
            .status(2)
            .one_line()
            .stderr_has("--from-db");
    }

    #[test]
    fn a_bad_backend_is_a_usage_error() {
        bin(&["upgrade", "--sql", "--backend", "oracle"])
            .status(2)
            .stderr_has("oracle");
    }
}

/// A script for a PostgreSQL schema other than the default (`-s`, DATABASE_SCHEMA)
/// builds in that schema, as `upgrade head -s` does: it sets the search path first.
#[tokio::test]
async fn a_script_for_a_schema_builds_in_that_schema() {
    let Some(db) = TestDb::new(support::Backend::Postgres).await else {
        return;
    };
    if !dump::clients(&db) {
        return;
    }
    let run = another(&db).await;
    for d in [&db, &run] {
        dump::query(d, "CREATE SCHEMA app");
    }
    let text = bin(&["-s", "app", "upgrade", "--sql"])
        .on(&db.url)
        .status(0)
        .stdout();
    dump::run_script(&db, &text);
    bin(&["-s", "app", "upgrade", "head"])
        .on(&run.url)
        .status(0);
    let tables = |d: &TestDb| {
        dump::query(
            d,
            "SELECT table_schema || '.' || table_name FROM information_schema.tables \
             WHERE table_schema IN ('app', 'public') ORDER BY 1",
        )
    };
    assert_eq!(tables(&db), tables(&run));
    bin(&["-s", "app", "current"])
        .on(&db.url)
        .status(0)
        .stdout_starts_with(HEAD);
}

/// What the database records that a plain run would refuse, `--from-db` refuses too.
mod recorded {
    use super::*;

    const GHOST: &str = "m20991231_000000_ghost";

    /// A SQLite database at `create_post` that also records `extra` by hand (`None`:
    /// no `sqlite3` to write it with, skipped).
    async fn at_post_with(extra: &str) -> Option<TestDb> {
        let db = TestDb::new(support::Backend::Sqlite).await?;
        if !dump::clients(&db) {
            return None;
        }
        bin(&["upgrade", POST]).on(&db.url).status(0);
        dump::query(&db, extra);
        Some(db)
    }

    async fn with_a_ghost() -> Option<TestDb> {
        at_post_with(&format!(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{GHOST}', 1)"
        ))
        .await
    }

    /// A half-applied `add_post_published` (failed outside a transaction).
    async fn with_a_failure() -> Option<TestDb> {
        at_post_with(&format!(
            "INSERT INTO seaql_migrations_meta (version, failed_direction, failed_at_ms, \
             failed_error, failed_transactional, updated_at_ms) \
             VALUES ('{PUBLISHED}', 'up', 1, 'boom', 0, 1)"
        ))
        .await
    }

    #[tokio::test]
    async fn an_unknown_revision_is_refused_and_purged_by_a_stamp_script() {
        let Some(db) = with_a_ghost().await else {
            return;
        };
        bin(&["upgrade", "--sql", "--from-db"])
            .on(&db.url)
            .status(2)
            .one_line()
            .stderr_has(GHOST)
            .stderr_has("--allow-unknown")
            .stdout_is("");
        let text = script(&db, &["stamp", "--sql", "--from-db", "--purge", "head"]);
        assert!(text.contains(&format!("-- unstamp {GHOST}\n")), "{text}");
        dump::run_script(&db, &text);
        assert_eq!(dump::versions(&db), ALL);
    }

    /// `upgrade head --allow-unknown` runs past an unknown revision; so does the script
    /// of the same command line.
    #[tokio::test]
    async fn allow_unknown_writes_the_script_the_run_would_run() {
        let (Some(db), Some(run)) = (with_a_ghost().await, with_a_ghost().await) else {
            return;
        };
        let text = script(&db, &["upgrade", "--sql", "--from-db", "--allow-unknown"]);
        dump::run_script(&db, &text);
        bin(&["upgrade", "head", "--allow-unknown"])
            .on(&run.url)
            .status(0);
        let mut want = ALL.to_vec();
        want.push(GHOST);
        same_database(&db, &run, &want);
    }

    /// A half-applied step makes `upgrade head` refuse (exit 2, fix it first or
    /// `--retry-failed`); the script from that database does not quietly re-run it.
    #[tokio::test]
    async fn a_half_applied_step_is_refused_as_the_run_refuses_it() {
        let Some(db) = with_a_failure().await else {
            return;
        };
        bin(&["upgrade", "head"])
            .on(&db.url)
            .status(2)
            .stderr_has("--retry-failed");
        bin(&["upgrade", "--sql", "--from-db"])
            .on(&db.url)
            .status(2)
            .stderr_has(PUBLISHED)
            .stderr_has("--retry-failed")
            .stdout_is("");
    }
}
