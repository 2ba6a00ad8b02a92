//! Several migration sets in one workspace (issue 13, item 3): each migration crate keeps
//! its own tracking table, written into its code by `init`; `-p` picks one, and `--all`
//! runs a database verb on every set in the order `sets` declares (`downgrade`
//! backwards), reporting per set. The real binary on temporary workspaces, building into
//! the shared `target/e2e`: one workspace of two crates per backend, each crate built
//! once (and the second again after `create`).

#[path = "support/project.rs"]
mod project;
mod support;

use cargo_migrate::sea_orm_migration::SchemaManager;
use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};

use std::process::Command;

use project::Project;
use support::TestDb;
use support::run::Ran;

on_every_backend!(two_sets_share_a_database, |db| {
    let p = Project::new();
    let url = db.url.as_str();
    p.init();
    let a = p.name.clone();
    let b = format!("{a}_billing");
    let b_table = format!("seaql_migrations_{b}");
    flow::init_adds_a_second_set_with_its_own_table(&p, &b);
    let a1 = p.first_migration();
    let b1 = first_migration_of(&p, &b);

    flow::all_upgrade_applies_each_set_in_order(&p, url, [&a, &b], [&a1, &b1], &b_table);
    flow::each_set_has_its_tables(&db, &b_table, &b).await;
    flow::neither_set_sees_the_other_s_revisions(&p, url, &a, &b);
    p.run(&["--all", "check"]).on(url).status(0);
    flow::all_status_reads_per_set(&p, &db, &a, &b, &b_table);

    let b2 = p.create(&["-p", &b, "add invoices"]);
    flow::all_check_exits_with_the_worst_code(&p, url, &a, &b, &b2);
    flow::a_failing_set_stops_a_writing_verb(&p, &db, &a, &b, &b2).await;
    p.run(&["--all", "upgrade", "head"])
        .on(url)
        .status(0)
        .stderr_has(&format!("Applied {b2} ("));
    flow::all_downgrade_reverts_the_last_set_first(&p, url, [&a, &b], [&a1, &b1, &b2]);
    flow::each_set_has_only_its_tracking_tables(&db, &b_table).await;
    flow::all_status_reads_each_set_under_its_header(&p, url, &a, &b);
});

/// The steps of `two_sets_share_a_database`, in order.
mod flow {
    use super::*;

    /// `init --name` beside a migration crate: a second set, whose `discover!` names a
    /// table of its own, whose example table is its own, and which `sets` orders after
    /// the first; the first crate is untouched.
    pub fn init_adds_a_second_set_with_its_own_table(p: &Project, b: &str) {
        let first_lib = p.read("migration/src/lib.rs");
        p.run(&["init", "--name", b, "--database", "sqlite,postgres,mysql"])
            .status(0)
            .stderr_has(&format!("its migrations in table `seaql_migrations_{b}`"))
            .stderr_has(&format!("sets = [\"{}\", \"{b}\"]", p.name))
            .stderr_has(&format!("cargo migrate -p {b} upgrade head"));
        assert_eq!(p.read("migration/src/lib.rs"), first_lib);
        assert!(
            first_lib.contains("cargo_migrate::discover!();"),
            "{first_lib}"
        );
        let lib = p.read(&format!("{b}/src/lib.rs"));
        assert!(
            lib.contains(&format!(
                "cargo_migrate::discover!(table = \"seaql_migrations_{b}\");"
            )),
            "{lib}"
        );
        let manifest = p.read("Cargo.toml");
        assert!(
            manifest.contains(&format!(
                "[workspace.metadata.migrate]\nsets = [\"{}\", \"{b}\"]\n",
                p.name
            )),
            "{manifest}"
        );
        let first = first_migration_of(p, b);
        assert!(
            first.ends_with(&format!("_create_{b}_post_table")),
            "{first}"
        );
    }

    /// Both sets build before either runs; each runs under its header, `a` first.
    pub fn all_upgrade_applies_each_set_in_order(
        p: &Project,
        url: &str,
        [a, b]: [&str; 2],
        [a1, b1]: [&str; 2],
        b_table: &str,
    ) {
        let o = p.run(&["--all", "upgrade", "head"]).on(url).status(0);
        let err = o.stderr();
        let order = [
            format!("Compiling {a} "),
            format!("Compiling {b} "),
            format!("==> {a} (seaql_migrations)"),
            format!("Applied {a1} ("),
            format!("==> {b} ({b_table})"),
            format!("Applied {b1} ("),
            format!("Finished `upgrade` on 2 sets, exit codes: {a} 0, {b} 0"),
        ];
        in_order(&o, &err, &order);
    }

    /// Two tracking tables (and their side tables), and each set's example table.
    pub async fn each_set_has_its_tables(db: &TestDb, b_table: &str, b: &str) {
        let want = [
            "seaql_migrations".to_string(),
            format!("{b_table}_meta"),
            b_table.to_string(),
            "post".to_string(),
            format!("{b}_post"),
        ];
        for table in want {
            assert!(has_table(db, &table).await, "no table {table}");
        }
    }

    /// `-p` works on one set: neither reads the other's rows as unknown.
    pub fn neither_set_sees_the_other_s_revisions(p: &Project, url: &str, a: &str, b: &str) {
        for set in [a, b] {
            let v = p
                .run(&["-p", set, "status", "--format", "json"])
                .on(url)
                .status(0)
                .json();
            assert_eq!(v["applied"], 1, "{set}: {v}");
            assert_eq!(v["unknown"], serde_json::json!([]), "{set}: {v}");
            p.run(&["-p", set, "check"]).on(url).status(0);
            p.run(&["-p", set, "current"])
                .on(url)
                .status(0)
                .stderr_lacks("unknown")
                .stderr_lacks("not in this migration crate");
        }
    }

    /// `--all status --format json`: each set's object names its set, and a last one
    /// sums up.
    pub fn all_status_reads_per_set(p: &Project, db: &TestDb, a: &str, b: &str, b_table: &str) {
        let lines = p
            .run(&["--all", "status", "--format", "json"])
            .on(&db.url)
            .status(0)
            .json_lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["set"], a);
        assert_eq!(lines[0]["applied"], 1);
        assert_eq!(lines[1]["set"], b);
        let summary = &lines[2];
        assert_eq!(summary["event"], "sets");
        assert_eq!(summary["exit_code"], 0);
        assert_eq!(
            summary["sets"],
            serde_json::json!([
                {"set": a, "table": "seaql_migrations", "exit_code": 0},
                {"set": b, "table": b_table, "exit_code": 0},
            ])
        );
    }

    /// After `create` in `b` only: `b` has a pending migration (3), `a` is up to date
    /// (0); `--all check` runs both and exits 3.
    pub fn all_check_exits_with_the_worst_code(p: &Project, url: &str, a: &str, b: &str, b2: &str) {
        let o = p.run(&["--all", "check"]).on(url).status(3).stdout_has(b2);
        in_order(
            &o,
            &o.stderr(),
            &[
                format!("==> {a} "),
                format!("==> {b} "),
                format!("Finished `check` on 2 sets, exit codes: {a} 0, {b} 3"),
            ],
        );
        p.run(&["-p", a, "check"]).on(url).status(0);
        let lines = p
            .run(&["--all", "check", "--format", "json"])
            .on(url)
            .status(3)
            .json_lines();
        let last = lines.last().unwrap();
        assert_eq!(last["exit_code"], 3, "{lines:?}");
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l["set"] == a || l["set"] == b),
            "{lines:?}"
        );
    }

    /// A row `a` does not know (another tool wrote it) makes `a`'s upgrade refuse: `b`'s
    /// pending migration is not applied, and the error says `b` did not run. `check`
    /// reads both: drift (4) is worse than pending (3).
    pub async fn a_failing_set_stops_a_writing_verb(
        p: &Project,
        db: &TestDb,
        a: &str,
        b: &str,
        b2: &str,
    ) {
        let unknown = "m20000101_000000_elsewhere";
        exec(
            &db.url,
            &format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{unknown}', 0)"),
        )
        .await;
        let o = p.run(&["--all", "upgrade", "head"]).on(&db.url).output();
        let code = o.code().unwrap_or_default();
        assert!(code != 0, "{}", o.context());
        let o = o
            .stderr_has(unknown)
            .stderr_has(&format!(
                "`upgrade` failed in `{a}` (exit {code}); not run: `{b}`"
            ))
            .stderr_lacks(&format!("==> {b}"))
            .stderr_lacks(&format!("Applied {b2}"));
        drop(o);
        p.run(&["-p", b, "check"]).on(&db.url).status(3);
        p.run(&["--all", "check"]).on(&db.url).status(4);
        exec(
            &db.url,
            &format!("DELETE FROM seaql_migrations WHERE version = '{unknown}'"),
        )
        .await;
    }

    /// `--all downgrade base`: `b` first, then `a`.
    pub fn all_downgrade_reverts_the_last_set_first(
        p: &Project,
        url: &str,
        [a, b]: [&str; 2],
        [a1, b1, b2]: [&str; 3],
    ) {
        let o = p
            .run(&["--all", "downgrade", "base", "--yes"])
            .on(url)
            .status(0)
            .stderr_lacks("Compiling");
        in_order(
            &o,
            &o.stderr(),
            &[
                format!("==> {b} "),
                format!("Reverted {b2} ("),
                format!("Reverted {b1} ("),
                format!("==> {a} "),
                format!("Reverted {a1} ("),
                format!("Finished `downgrade` on 2 sets, exit codes: {b} 0, {a} 0"),
            ],
        );
        p.run(&["--all", "check"]).on(url).status(3);
    }

    /// `--all status` once both sets are at base: each set's report under its header,
    /// stdout and stderr as a terminal interleaves them (ids, names and the database
    /// aside, the same on every backend).
    pub fn all_status_reads_each_set_under_its_header(p: &Project, url: &str, a: &str, b: &str) {
        let text = both_streams(p, url, &["--all", "status"]);
        let text = redact(&text, &[(b, "<b>"), (a, "<a>")]);
        insta::assert_snapshot!("all_status", text);
    }

    /// After `downgrade base` only the tracking tables are left.
    pub async fn each_set_has_only_its_tracking_tables(db: &TestDb, b_table: &str) {
        for table in ["seaql_migrations", b_table] {
            assert!(has_table(db, table).await, "no table {table}");
        }
        assert!(!has_table(db, "post").await);
    }
}

/// What fails before anything is built: the order `--all` needs, the commands it does
/// not apply to, revisions of one set, and `init` without a name.
#[test]
fn all_refuses_what_it_cannot_run_on_every_set() {
    let p = Project::new();
    p.init();
    let a = p.name.clone();
    p.run(&["init"])
        .status(2)
        .one_line()
        .stderr_has("already has a migration crate")
        .stderr_has("cargo migrate init --name <name>");
    // A second crate written by hand (no `init`): no declared order.
    let b = format!("{a}_other");
    hand_made_second_crate(&p, &b, "seaql_migrations");
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    p.run(&["--all", "status"])
        .on(&db)
        .status(2)
        .one_line()
        .stderr_has(&format!("add `sets = [\"{a}\", \"{b}\"]`"));
    p.run(&["status"])
        .on(&db)
        .status(2)
        .stderr_has("several migration crates")
        .stderr_has("--all");

    // Declared, but both record in `seaql_migrations` of one database.
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\nsets = [\"{a}\", \"{b}\"]\n"),
    );
    p.run(&["--all", "status"])
        .on(&db)
        .status(2)
        .one_line()
        .stderr_has(&format!(
            "`{a}` and `{b}` both record in the tracking table `seaql_migrations`"
        ));
    p.run(&["status"])
        .on(&db)
        .status(2)
        .stderr_has("several migration crates");

    // What `--all` cannot mean.
    for (args, says) in [
        (&["--all", "create", "x"][..], "pick it with `-p <name>`"),
        (
            &["--all", "downgrade", "m2026"],
            "`m2026` names a revision of one set",
        ),
        (&["--all", "show", "head"], "`show` names one revision"),
        (&["--all", "check", "--entities"], "`check --entities`"),
    ] {
        p.run(args).on(&db).status(2).one_line().stderr_has(says);
    }
    p.run(&["--all", "-p", &a, "status"])
        .on(&db)
        .status(2)
        .stderr_has("cannot be used with");
    // `sets` naming a crate the workspace does not have.
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\nsets = [\"{a}\", \"nope\"]\n"),
    );
    p.run(&["--all", "status"])
        .on(&db)
        .status(2)
        .one_line()
        .stderr_has("`nope`");
    p.run(&["init", "--name", "third", "--table", "seaql_migrations"])
        .status(2)
        .one_line()
        .stderr_has(&format!("`{a}` records in `seaql_migrations` already"));
    assert!(!p.path().join("third").exists());
}

/// A workspace-wide `table` would be expected of every crate: a second set gets its
/// own in its `[package.metadata.migrate]`, whose keys win; `sets` joins the
/// configuration that is there. Nothing is built.
#[test]
fn a_second_set_beside_a_configured_table_names_its_own() {
    let p = Project::new();
    p.init();
    let a = p.name.clone();
    let b = format!("{a}-ledger");
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ntable = \"seaql_migrations\"\n"),
    );
    let v = p
        .run(&[
            "init",
            "--name",
            &b,
            "--database",
            "sqlite",
            "--format",
            "json",
        ])
        .status(0)
        .json();
    let table = format!("seaql_migrations_{a}_ledger");
    assert_eq!(v["table"], table.as_str(), "{v}");
    assert_eq!(v["sets"], serde_json::json!([a, b]), "{v}");
    let own = p.read(&format!("{b}/Cargo.toml"));
    assert!(
        own.ends_with(&format!(
            "[package.metadata.migrate]\ntable = \"{table}\"\n"
        )),
        "{own}"
    );
    let manifest = p.read("Cargo.toml");
    assert!(
        manifest.contains(
            "[workspace.metadata.migrate]\ntable = \"seaql_migrations\"\n# The migration crates"
        ) && manifest.contains(&format!("sets = [\"{a}\", \"{b}\"]\n")),
        "{manifest}"
    );
    // A third: after the two, in the `sets` that is there.
    let c = format!("{a}_audit");
    p.run(&["init", "--name", &c, "--database", "sqlite"])
        .status(0)
        .stderr_has(&format!("table `seaql_migrations_{c}`"));
    assert!(
        p.read("Cargo.toml")
            .contains(&format!("sets = [\"{a}\", \"{b}\", \"{c}\"]\n")),
        "{}",
        p.read("Cargo.toml")
    );
}

/// A second migration crate copied from the first under the name `b`, recording in
/// `table`, added to the workspace's members.
fn hand_made_second_crate(p: &Project, b: &str, table: &str) {
    for file in ["Cargo.toml", "build.rs", "src/main.rs", "src/lib.rs"] {
        let text = p
            .read(&format!("migration/{file}"))
            .replace(&p.name, b)
            .replace(
                "cargo_migrate::discover!();",
                &format!("cargo_migrate::discover!(table = \"{table}\");"),
            );
        p.write(&format!("{b}/{file}"), &text);
    }
    let manifest = p.read("Cargo.toml").replace(
        "members = [\"migration\"]",
        &format!("members = [\"migration\", \"{b}\"]"),
    );
    p.write("Cargo.toml", &manifest);
}

/// The id of the first migration `init` wrote in the crate at `dir`.
fn first_migration_of(p: &Project, dir: &str) -> String {
    p.files(&format!("{dir}/src"))
        .into_iter()
        .find(|f| f.starts_with('m') && f.ends_with(".rs"))
        .expect("init writes a first migration")
        .trim_end_matches(".rs")
        .to_string()
}

/// Each of `needles` appears in `text`, in this order.
fn in_order(o: &Ran, text: &str, needles: &[String]) {
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle.as_str()) {
            Some(at) => from += at + needle.len(),
            None => panic!(
                "{needle:?} is missing, or not after what precedes it\n{}",
                o.context()
            ),
        }
    }
}

/// `cargo migrate <args>` on `url` with stderr sent where stdout goes, so that the text
/// is in the order a terminal shows it; it must exit 0.
fn both_streams(p: &Project, url: &str, args: &[&str]) -> String {
    let cmd = p.command(args);
    let mut sh = Command::new("sh");
    sh.args(["-c", "exec \"$@\" 2>&1", "sh"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .current_dir(p.path())
        .env("DATABASE_URL", url);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    let o = Ran::new(
        format!("cargo migrate {} 2>&1", args.join(" ")),
        sh.output().unwrap(),
    );
    o.exited(0).stdout()
}

/// `text` with each `(what, with)` replaced, the database of a `Database:` line as
/// `<url>` and the time in revision ids as `m<id>_`.
fn redact(text: &str, replace: &[(&str, &str)]) -> String {
    let mut text: String = text
        .lines()
        .map(|l| match l.split_once("Database: ") {
            Some((before, _)) => format!("{before}Database: <url>\n"),
            None => format!("{l}\n"),
        })
        .collect();
    for (what, with) in replace {
        text = text.replace(what, with);
    }
    let mut out = String::new();
    let bytes = text.as_bytes();
    let mut k = 0;
    while k < text.len() {
        // `m` + 8 digits + `_` + 6 digits + `_`: a revision id's time.
        let id = bytes.get(k) == Some(&b'm')
            && bytes.len() >= k + 17
            && bytes[k + 1..k + 9].iter().all(u8::is_ascii_digit)
            && bytes[k + 9] == b'_'
            && bytes[k + 10..k + 16].iter().all(u8::is_ascii_digit)
            && bytes[k + 16] == b'_';
        if id {
            out.push_str("m<id>_");
            k += 17;
        } else {
            let c = text[k..].chars().next().unwrap_or_default();
            out.push(c);
            k += c.len_utf8();
        }
    }
    out
}

async fn has_table(db: &TestDb, table: &str) -> bool {
    let conn = Database::connect(&db.url).await.expect("connect");
    let has = SchemaManager::new(&conn)
        .has_table(table)
        .await
        .expect("has_table");
    let _ = conn.close().await;
    has
}

async fn exec(url: &str, sql: &str) {
    let conn = Database::connect(url).await.expect("connect");
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}
