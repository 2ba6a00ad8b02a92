//! Every verb's `--format json` output, pinned: the example crate's migration binary on
//! SQLite databases brought to known states by a fixed sequence of verbs (and, for what
//! no verb makes, a line of SQL). Each line must be JSON; only what differs between runs
//! (times, durations, the temporary directory, the user and host) is redacted.

#[path = "../../tests/support/mod.rs"]
mod support;

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};
use support::run::{self, Ran, Run};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");
const GHOST: &str = "m20991231_000000_ghost";

/// `args` with `--format json`.
fn json(args: &[&str]) -> Run {
    let all: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    run::migrations(BIN, &all)
}

/// An empty SQLite database in a directory of its own.
struct Db {
    dir: tempfile::TempDir,
    url: String,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        Db { dir, url }
    }

    /// Runs `args` in JSON on this database and checks the exit code.
    fn json(&self, args: &[&str], code: i32) -> Ran {
        json(args).on(&self.url).status(code)
    }

    /// Runs `args` in JSON and snapshots stdout as `name`, redacted.
    fn snapshot(&self, name: &str, args: &[&str], code: i32) {
        let ran = self.json(args, code);
        insta::assert_snapshot!(name, redacted(&ran, &self.dir.path().display().to_string()));
    }

    fn execute(&self, sql: &str) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let conn = Database::connect(&self.url).await.expect("connect");
            conn.execute_unprepared(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = conn.close().await;
        });
    }
}

/// The values that differ between runs.
const TIMES: [&str; 5] = [
    "applied_at",
    "duration_ms",
    "execution_ms",
    "failed_at_ms",
    "updated_at_ms",
];

/// stdout, each line checked to be JSON, with the times, the temporary directory `dir`
/// and the user and host redacted, the rest as printed.
fn redacted(ran: &Ran, dir: &str) -> String {
    let lines = ran.json_lines();
    assert!(!lines.is_empty(), "no JSON\n{}", ran.context());
    let mut text = ran.stdout().replace(dir, "[dir]");
    for key in TIMES {
        text = redact_values(&text, key, |_| format!("\"[{key}]\""));
    }
    // `cargo-migrate/0.1.0 user@host (stamp)`: keep all but the user and host.
    text = redact_values(&text, "applied_by", |v| {
        let words: Vec<&str> = v
            .trim_matches('"')
            .split(' ')
            .map(|w| if w.contains('@') { "[user@host]" } else { w })
            .collect();
        format!("\"{}\"", words.join(" "))
    });
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("redacting broke the JSON ({e}): {line}"));
    }
    text
}

/// `text` with the value of every `"key":` replaced by `with(value as printed)`.
fn redact_values(text: &str, key: &str, with: impl Fn(&str) -> String) -> String {
    let tag = format!("\"{key}\":");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&tag) {
        let (before, after) = rest.split_at(at + tag.len());
        out.push_str(before);
        let end = value_end(after);
        out.push_str(&with(&after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Where the JSON scalar that `text` starts with ends.
fn value_end(text: &str) -> usize {
    if let Some(inner) = text.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return i + 2,
                _ => {}
            }
        }
        text.len()
    } else {
        text.find([',', '}', ']']).unwrap_or(text.len())
    }
}

#[test]
fn the_verbs_that_read_only_the_code_print_the_graph() {
    let db = Db::new();
    db.snapshot("history", &["history"], 0);
    db.snapshot(
        "history_range",
        &["history", "-r", "m20260102_000001_create_post:head-1"],
        0,
    );
    db.snapshot("heads", &["heads"], 0);
    db.snapshot("heads_verbose", &["heads", "-v"], 0);
    db.snapshot("show_the_merge", &["show", "20260104"], 0);
    db.snapshot("branches", &["branches"], 0);
    assert!(
        !db.dir.path().join("t.db").exists(),
        "reading created the file"
    );
}

#[test]
fn a_database_halfway_up_is_pending() {
    let db = Db::new();
    db.snapshot("check_pending_on_an_empty_database", &["check"], 3);
    db.snapshot("upgrade_to_a_middle_revision", &["upgrade", "20260102"], 0);
    db.snapshot("current_halfway", &["current"], 0);
    db.snapshot("status_halfway", &["status"], 0);
    db.snapshot("history_indicating_halfway", &["history", "-i"], 0);
    db.snapshot(
        "history_range_indicating_halfway",
        &[
            "history",
            "-i",
            "-r",
            "m20260101_000001_create_author:current",
        ],
        0,
    );
    db.snapshot("check_pending_halfway", &["check"], 3);
}

#[test]
fn a_failed_downgrade_is_an_error_line_and_a_failure_record() {
    let db = Db::new();
    db.json(&["upgrade", "20260102"], 0);
    // Recorded without running: its column was never added, so its `down` fails.
    db.snapshot(
        "stamp_past_a_migration",
        &["stamp", "--yes", "m20260103_000001_add_post_published"],
        0,
    );
    db.snapshot("downgrade_that_fails", &["downgrade", "--yes", "-1"], 1);
    db.snapshot("current_with_a_failure", &["current"], 0);
    db.snapshot("status_with_a_failure", &["status"], 0);
}

#[test]
fn to_the_head_down_one_and_redo() {
    let db = Db::new();
    db.snapshot("upgrade_to_the_head", &["upgrade", "head"], 0);
    db.snapshot("check_up_to_date", &["check"], 0);
    db.snapshot("downgrade_one", &["downgrade", "--yes", "-1"], 0);
    db.snapshot("redo", &["redo"], 0);
    db.snapshot("stamp_the_head", &["stamp", "--yes", "head"], 0);
    db.snapshot("rehash_with_nothing_changed", &["rehash"], 0);
}

#[test]
fn a_recorded_checksum_that_differs_is_changed_until_rehashed() {
    let db = Db::new();
    db.json(&["upgrade", "head"], 0);
    db.execute(
        "UPDATE seaql_migrations_meta SET checksum = 'v1:0000000000000000' \
         WHERE version = 'm20260102_000001_create_post'",
    );
    db.snapshot("check_changed", &["check"], 4);
    db.snapshot("rehash_what_changed", &["rehash"], 0);
    db.snapshot("check_up_to_date_after_rehash", &["check"], 0);
}

#[test]
fn a_revision_the_code_does_not_know_is_reported_and_refused() {
    let db = Db::new();
    db.json(&["upgrade", "20260102"], 0);
    db.execute(&format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{GHOST}', 0)"
    ));
    db.snapshot("check_unknown_revisions", &["check"], 4);
    db.snapshot("current_with_an_unknown_revision", &["current"], 0);
    db.snapshot("status_with_an_unknown_revision", &["status"], 0);
    db.snapshot(
        "upgrade_refused_for_an_unknown_revision",
        &["upgrade", "head"],
        2,
    );
}

#[test]
fn a_spec_that_matches_nothing_is_one_error_object() {
    let db = Db::new();
    db.snapshot(
        "upgrade_to_an_unknown_revision",
        &["upgrade", "nope_nope"],
        2,
    );
    db.snapshot("show_an_ambiguous_revision", &["show", "m20260103"], 2);
}

#[test]
fn a_script_is_its_text_and_its_parts() {
    let db = Db::new();
    db.snapshot(
        "script_sqlite_merge_to_head",
        &["upgrade", "--sql", "--backend", "sqlite", "m20260104:head"],
        0,
    );
    db.snapshot(
        "script_stamp_postgres",
        &["stamp", "--sql", "--backend", "postgres", "m20260101"],
        0,
    );
}
