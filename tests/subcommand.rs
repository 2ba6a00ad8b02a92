//! `cargo migrate` end to end: the real binary on temporary workspaces, building real
//! migration crates. Every workspace builds into one shared target directory
//! (`target/e2e`) from this repository's `Cargo.lock`, so sea-orm compiles once.

#[path = "support/project.rs"]
mod project;
mod support;

use std::path::Path;

use project::{Project, REPO, git};
use support::run::Ran;

on_every_backend!(the_whole_workflow, |db| {
    let p = Project::new();
    let url = db.url.as_str();
    p.init();
    let [first, a, b, c] = workflow::create_three_after_the_first(&p);
    workflow::upgrade_builds_then_applies_each(&p, url, [&first, &a, &b, &c]);
    workflow::history_lists_them_newest_first(&p, url, [&first, &a, &b, &c]);
    workflow::downgrade_redo_and_check_need_no_build(&p, url, &b, &c);
    workflow::stamp_base_leaves_all_four_pending(&p, url);
});

/// The steps of `the_whole_workflow`, in order.
mod workflow {
    use super::*;

    /// `init` keeps the user's manifest; three `create`s (one of SQL) follow its first
    /// migration: their ids, with the first's.
    pub fn create_three_after_the_first(p: &Project) -> [String; 4] {
        assert!(
            p.read("Cargo.toml")
                .contains("name = \"app\" # the application")
        );
        assert!(
            p.read("Cargo.toml")
                .contains("[workspace]\nmembers = [\"migration\"]")
        );
        let first = p.first_migration();
        let a = p.create(&["add users table"]);
        let b = p.create(&["add posts table"]);
        let c = p.create(&["-t", "sql", "seed the users"]);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(p.path().join(format!("migration/src/{c}.rs")).is_file());
        p.write(
            &format!("migration/src/{c}/up.sql"),
            "CREATE TABLE seeded (id integer PRIMARY KEY);\nINSERT INTO seeded (id) VALUES (1);\n",
        );
        p.write(
            &format!("migration/src/{c}/down.sql"),
            "DROP TABLE seeded;\n",
        );
        [first, a, b, c]
    }

    pub fn upgrade_builds_then_applies_each(p: &Project, url: &str, ids: [&String; 4]) {
        let mut o = p.run(&["upgrade", "head"]).on(url).status(0);
        for id in ids {
            o = o.stderr_has(&format!("Applied {id} ("));
        }
        // the first build shows cargo's progress
        o.stderr_has(&format!("Compiling {} ", p.name));
    }

    pub fn history_lists_them_newest_first(p: &Project, url: &str, ids: [&String; 4]) {
        let [first, a, b, c] = ids;
        let out = p.run(&["history"]).on(url).status(0).stdout();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], format!("{b} -> {c} (head), seed the users"));
        assert_eq!(lines[1], format!("{a} -> {b}, add posts table"));
        assert_eq!(lines[3], format!("<base> -> {first}, create post table"));
    }

    pub fn downgrade_redo_and_check_need_no_build(p: &Project, url: &str, b: &str, c: &str) {
        p.run(&["downgrade", "-1", "--yes"])
            .on(url)
            .status(0)
            .stderr_has(&format!("Reverted {c} ("))
            // nothing to compile
            .stderr_lacks("Compiling");
        p.run(&["current"])
            .on(url)
            .status(0)
            .stdout_is(&format!("{b}\n"));
        p.run(&["redo"])
            .on(url)
            .status(0)
            .stderr_has(&format!("Reverted {b} ("))
            .stderr_has(&format!("Applied {b} ("));
        p.run(&["check"]).on(url).status(3); // `c` is pending: the exit code comes through
    }

    pub fn stamp_base_leaves_all_four_pending(p: &Project, url: &str) {
        p.run(&["stamp", "base", "--yes"]).on(url).status(0);
        p.run(&["current"])
            .on(url)
            .status(0)
            .stdout_is("")
            .stderr_has("at base");
        let v = p
            .run(&["status", "--format", "json"])
            .on(url)
            .status(0)
            .json();
        assert_eq!(v["applied"], 0);
        assert_eq!(v["pending"].as_array().map(Vec::len), Some(4));
    }
}

#[test]
fn two_branches_are_two_heads_until_merged() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/branches.db?mode=rwc", p.path().display());
    let base = p.first_migration();
    let left = p.create(&["add left"]);
    let right = p.create(&["add right", "--head", &base]);
    let heads = p.run(&["heads"]).status(0).stdout();
    assert_eq!(heads.lines().count(), 2, "{heads}");
    // One revision a line, as Alembic prints them; the parents and messages with -v.
    let mut lines: Vec<&str> = heads.lines().collect();
    lines.sort();
    let mut want = [format!("{left} (head)"), format!("{right} (head)")];
    want.sort();
    assert_eq!(lines, want, "{heads}");
    let mut o = p.run(&["heads", "-v"]).status(0);
    for (id, message) in [(&left, "add left"), (&right, "add right")] {
        o = o
            .stdout_has(&format!("Rev: {id} (head)\nParent: {base}\n"))
            .stdout_has(message);
    }

    p.run(&["upgrade", "head"])
        .on(&db)
        .status(2)
        .one_line()
        .stderr_has(&left)
        .stderr_has(&right)
        .stderr_has("merge");
    p.run(&["check"]).on(&db).status(4);
    p.run(&["create", "more"])
        .status(2)
        .one_line()
        .stderr_has("cargo migrate merge")
        .stderr_has("--head");

    p.run(&["merge", "-m", "join left and right"])
        .status(0)
        .stderr_has(&format!("revises {left}, {right}"));
    let o = p
        .run(&["heads"])
        .status(0)
        .stdout_has("join_left_and_right (head)");
    assert_eq!(o.stdout().lines().count(), 1, "{}", o.stdout());
    p.run(&["upgrade", "head"]).on(&db).status(0);
    p.run(&["check"]).on(&db).status(0);
    p.run(&["merge"])
        .status(2)
        .one_line()
        .stderr_has("nothing to merge");
}

/// A crate exactly as sea-orm-cli writes it: cargo migrate runs it, extends it in its own
/// layout, and it stays a sea-orm-cli crate.
#[test]
fn a_sea_orm_cli_crate_works_with_zero_edits() {
    let p = Project::new();
    p.sea_orm_cli_crate();
    let db = format!("sqlite://{}/legacy.db?mode=rwc", p.path().display());
    sea_orm_cli::runs_as_it_is(&p, &db);
    let id = sea_orm_cli::create_appends_in_its_own_layout(&p);
    sea_orm_cli::its_own_binary_sees_the_same_state(&p, &db, &id);
    sea_orm_cli::an_unlisted_migration_file_is_named(&p, &db, &id);
}

/// The steps of `a_sea_orm_cli_crate_works_with_zero_edits`, in order.
mod sea_orm_cli {
    use super::*;

    pub fn runs_as_it_is(p: &Project, db: &str) {
        let mut o = p.run(&["upgrade", "head"]).on(db).status(0);
        for id in [
            "m20220101_000001_create_table",
            "m20261122_132657_add_users",
        ] {
            o = o.stderr_has(&format!("Applied {id} ("));
        }
        p.run(&["history"]).status(0).stdout_is(
            "m20220101_000001_create_table -> m20261122_132657_add_users (head), add users\n\
             <base> -> m20220101_000001_create_table, create table\n",
        );
        p.run(&["downgrade", "-1", "-y"]).on(db).status(0);
        p.run(&["current"])
            .on(db)
            .status(0)
            .stdout_is("m20220101_000001_create_table\n");
    }

    /// One chain (no branching from an earlier migration); `create` appends in
    /// sea-orm-cli's own layout: a `mod` line and a vec entry. The new id.
    pub fn create_appends_in_its_own_layout(p: &Project) -> String {
        p.run(&["create", "x", "--head", "m20220101_000001_create_table"])
            .status(2)
            .one_line()
            .stderr_has("`--head`");
        let id = p.create(&["add posts index"]);
        let lib = p.read("migration/src/lib.rs");
        assert!(
            lib.contains(&format!("mod m20261122_132657_add_users;\nmod {id};\n")),
            "{lib}"
        );
        assert!(lib.contains(&format!("            Box::new(m20261122_132657_add_users::Migration),\n            Box::new({id}::Migration),\n        ]")), "{lib}");
        let file = p.read(&format!("migration/src/{id}.rs"));
        assert!(
            file.contains("use sea_orm_migration::{prelude::*, schema::*};")
                && !file.contains("REVISES"),
            "{file}"
        );
        p.run(&["heads"])
            .status(0)
            .stdout_starts_with(&format!("{id} (head)\n"));
        id
    }

    /// The crate is still a sea-orm-cli crate: its own binary sees the same state.
    pub fn its_own_binary_sees_the_same_state(p: &Project, db: &str, id: &str) {
        p.run(&["upgrade", "head"])
            .on(db)
            .status(0)
            .stderr_has(&format!("Applied {id} ("));
        let status = p.sea_orm_cli(db, &["status"]).exited(0);
        let text = format!("{}{}", status.stdout(), status.stderr());
        assert!(
            text.contains(&format!("Migration '{id}'... Applied")),
            "{text}"
        );
    }

    /// A migration file that lib.rs does not list (one side of a conflict in lib.rs kept)
    /// is named, and `check` fails.
    pub fn an_unlisted_migration_file_is_named(p: &Project, db: &str, id: &str) {
        let unlisted = "m20261130_000000_unlisted";
        p.write(
            &format!("migration/src/{unlisted}.rs"),
            &p.read(&format!("migration/src/{id}.rs"))
                .replace(id, unlisted),
        );
        p.run(&["check"]).on(db).status(4).stdout_has(&format!(
            "src/{unlisted}.rs is a migration file that lib.rs does not register"
        ));
        p.run(&["create", "after the unlisted one"])
            .status(0)
            .stderr_has(&format!(
                "warning: migration/src/{unlisted}.rs is a migration file"
            ));
    }
}

#[test]
fn bad_messages_and_templates_write_nothing() {
    let p = Project::new();
    p.init();
    let lib = p.read("migration/src/lib.rs");
    let files = p.files("migration/src");
    for message in ["", "   ", "?!…---", "\u{E000}"] {
        p.run(&["create", message])
            .status(2)
            .one_line()
            .stderr_has("at least one letter or digit");
    }
    p.run(&["create", "-t", "nope", "x"])
        .status(2)
        .one_line()
        .stderr_has("`default`, `empty`, `sql`");
    p.run(&["create", "--head", "m1999", "x"])
        .status(2)
        .one_line();
    p.write(
        "migration/templates/default/migration.rs.j2",
        "//! {{ message }}\n\n{% if %}\n",
    );
    p.run(&["create", "x"])
        .status(2)
        .one_line()
        .stderr_has("templates/default/migration.rs.j2")
        .stderr_has("line 3");
    p.write(
        "migration/templates/default/migration.rs.j2",
        "//! {{ message }}\n{{ nope }}\n",
    );
    p.run(&["create", "x"])
        .status(2)
        .one_line()
        .stderr_has("line 2")
        .stderr_has("`nope`");
    p.write(
        "migration/templates/default/migration.rs.j2",
        "//! {{ message }} without REVISES\n",
    );
    p.run(&["create", "x"])
        .status(2)
        .one_line()
        .stderr_has("REVISES");
    assert_eq!(p.read("migration/src/lib.rs"), lib);
    assert_eq!(p.files("migration/src"), files);

    // odd characters make a safe file name inside src/, never a path elsewhere
    std::fs::remove_dir_all(p.path().join("migration/templates")).unwrap();
    let id = p.create(&["../../etc/passwd"]);
    assert!(id.ends_with("_etc_passwd"), "{id}");
    assert!(p.path().join(format!("migration/src/{id}.rs")).is_file());
    let id = p.create(&[&"very long message ".repeat(20)]);
    assert!(id.len() <= "m20261123_101500_".len() + 40, "{id}");
}

#[test]
fn init_twice_and_a_broken_manifest_are_clear_errors() {
    let p = Project::new();
    p.init();
    let manifest = p.read("Cargo.toml");
    p.run(&["init"])
        .status(2)
        .one_line()
        .stderr_has("already has a migration crate");
    p.run(&["init", "other"]).status(2).one_line();
    assert_eq!(p.read("Cargo.toml"), manifest);
    assert!(!p.path().join("other").exists());

    let q = Project::new();
    std::fs::create_dir(q.path().join("migration")).unwrap();
    q.run(&["init"])
        .status(2)
        .one_line()
        .stderr_has("already exists");

    p.write("Cargo.toml", "[package\nname = \"app\"\n");
    p.run(&["create", "x"])
        .status(2)
        .one_line()
        .stderr_has("cannot read the workspace");
}

#[test]
fn build_failures_exit_101_with_the_compiler_errors_once() {
    let p = Project::new();
    p.init();
    let id = p.create(&["broken"]);
    let path = format!("migration/src/{id}.rs");
    let text = p.read(&path).replace("Ok(())", "Ok(()").replace(
        ".await\n    }\n\n    async fn down",
        ".await;;; let x: u32 = \"s\";\n    }\n\n    async fn down",
    );
    p.write(&path, &text);
    let o = p
        .run(&["upgrade", "head"])
        .on("sqlite::memory:")
        .status(101)
        .stderr_has("error[E0308]")
        .stderr_has("failed to build");
    let e = o.stderr();
    assert_eq!(
        e.matches(&format!("could not compile `{}`", p.name))
            .count(),
        1,
        "{e}"
    );
}

#[test]
fn the_binary_runs_without_cargo_when_nothing_changed() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/fresh.db?mode=rwc", p.path().display());
    p.run(&["upgrade", "head"]).on(&db).status(0);
    // No cargo at all: the recorded build is still fresh.
    let no_cargo = |args: &[&str]| p.run(args).on(&db).env("CARGO", "/nonexistent/cargo");
    no_cargo(&["current"]).status(0).stdout_has("(head)");
    // From a subdirectory too.
    no_cargo(&["current"])
        .dir(p.path().join("migration/src"))
        .status(0);

    // An edit means a build, and a build needs cargo.
    p.create(&["one more"]);
    no_cargo(&["current"])
        .status(1)
        .one_line()
        .stderr_has("/nonexistent/cargo");

    // A build that finds everything fresh prints nothing of cargo's.
    p.run(&["upgrade", "head"])
        .on(&db)
        .status(0)
        .stderr_has(&format!("Compiling {} ", p.name));
    forget_fresh_builds(&p);
    p.run(&["current"]).on(&db).status(0).stderr_is(""); // a fresh build is silent
}

/// Removes this workspace's records of fresh builds (other tests' are in other
/// directories).
fn forget_fresh_builds(p: &Project) {
    let root = serde_json::to_string(&p.path().display().to_string()).unwrap();
    for dir in std::fs::read_dir(Path::new(REPO).join("target/e2e/cargo-migrate"))
        .unwrap()
        .flatten()
    {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.file_name().to_string_lossy().starts_with("fresh-")
                && std::fs::read_to_string(f.path()).is_ok_and(|r| r.contains(&root))
            {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
}

#[test]
fn configuration_and_dotenv_choose_the_database_from_any_directory() {
    let p = Project::new();
    p.init();
    std::fs::remove_file(p.path().join(".env")).unwrap();
    p.run(&["current"])
        .status(2)
        .one_line()
        .stderr_has(".env")
        .stderr_has("[workspace.metadata.migrate]");

    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[workspace.metadata.migrate]\ndatabase-url = \"sqlite://from-config.db\"\n"
        ),
    );
    p.run(&["upgrade", "head"])
        .dir(p.path().join("migration"))
        .status(0);
    assert!(
        p.path().join("from-config.db").is_file(),
        "relative to the workspace root"
    );
    assert!(!p.path().join("migration/from-config.db").exists());

    p.write(".env", "DATABASE_URL=sqlite://from-dotenv.db\n");
    p.run(&["upgrade", "head"]).status(0);
    assert!(p.path().join("from-dotenv.db").is_file());

    // A tracking table that differs from the crate's is refused before anything runs.
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ntable = \"versions\"\n"),
    );
    p.run(&["upgrade", "head"])
        .status(2)
        .one_line()
        .stderr_has("`versions`")
        .stderr_has("`seaql_migrations`");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ndatabse-url = \"x\"\n"),
    );
    p.run(&["current"])
        .status(2)
        .one_line()
        .stderr_has("unknown key `databse-url`");
}

#[test]
fn passwords_never_show_and_bad_urls_are_one_line() {
    let p = Project::new();
    p.init();
    for (url, needle) in [
        (
            "oracle://app:hunter2@db/x",
            "unsupported database URL scheme",
        ),
        ("postgres://app:hunter2@127.0.0.1:1/x", "hunter2"),
    ] {
        let o = p.run(&["current", "-v"]).on(url).output();
        let all = format!("{}{}", o.stdout(), o.stderr());
        assert!(!all.contains("hunter2"), "{all}");
        assert_ne!(o.code(), Some(0), "{all}");
        if needle != "hunter2" {
            assert!(all.contains(needle), "{all}");
        }
    }
}

#[test]
fn several_migration_crates_need_a_choice() {
    let p = Project::new();
    p.init();
    p.write(
        "other/Cargo.toml",
        &format!(
            "[package]\nname = \"other\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\ncargo-migrate = {{ path = {REPO:?}, default-features = false }}\n"
        ),
    );
    p.write("other/src/main.rs", "fn main() {}\n");
    let manifest = p.read("Cargo.toml").replace(
        "members = [\"migration\"]",
        "members = [\"migration\", \"other\"]",
    );
    p.write("Cargo.toml", &manifest);
    p.run(&["create", "x"])
        .status(2)
        .one_line()
        .stderr_has(&format!("`{}`", p.name))
        .stderr_has("`other`")
        .stderr_has("-p");
    p.run(&["create", "-p", &p.name, "x"]).status(0);
    p.run(&["create", "-p", "nope", "x"])
        .status(2)
        .one_line()
        .stderr_has("not a member");
    p.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[workspace.metadata.migrate]\npackage = \"{}\"\n",
            p.name
        ),
    );
    p.run(&["create", "y"]).status(0);
}

#[test]
fn init_matches_the_workspaces_sea_orm_and_leaves_dotenv_alone() {
    let p = Project::new();
    let manifest = p.read("Cargo.toml").replace(
        "[dependencies]\n",
        "[dependencies]\nsea-orm = { version = \"2\", features = [\"sqlx-postgres\", \"runtime-tokio-rustls\"] }\n",
    );
    p.write("Cargo.toml", &manifest);
    p.write(".env", "# mine\nOTHER=1\n");
    p.run(&["init"]).status(0).stderr_has("(postgres)");
    let krate = p.read("migration/Cargo.toml");
    assert!(
        krate.contains("features = [\"postgres\", \"prompt\"]"),
        "{krate}"
    );
    assert_eq!(p.read(".env"), "# mine\nOTHER=1\n");
    assert!(
        p.read("Cargo.toml").starts_with(&manifest),
        "the user's manifest is kept as it was"
    );
}

#[test]
fn user_templates_replace_built_ins_and_eject_never_overwrites() {
    let p = Project::new();
    p.init();
    let list = p.run(&["templates"]).status(0).stdout();
    for name in ["default", "empty", "sql"] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(name) && l.contains("built-in")),
            "{list}"
        );
    }
    let o = p.run(&["templates", "eject", "default"]).status(0);
    assert_eq!(o.stdout().trim(), "migration/templates");
    let ejected = p.read("migration/templates/default/migration.rs.j2");
    p.write(
        "migration/templates/default/migration.rs.j2",
        &ejected.replace(
            "use {{ prelude }};",
            "use {{ prelude }};\n// reviewed-by: the team",
        ),
    );
    p.run(&["templates", "eject"])
        .status(0)
        .stderr_has("exists; left as it is");
    assert!(
        p.read("migration/templates/default/migration.rs.j2")
            .contains("reviewed-by")
    );
    let list = p.run(&["templates"]).status(0).stdout();
    assert!(
        list.lines()
            .any(|l| l.starts_with("default") && l.contains("migration/templates/default")),
        "{list}"
    );
    let id = p.create(&["team style"]);
    assert!(
        p.read(&format!("migration/src/{id}.rs"))
            .contains("// reviewed-by: the team")
    );

    // A workspace without a migration crate lists the built-ins; one whose manifest is
    // broken is an error, not a list that silently leaves the team's templates out.
    let q = Project::new();
    let list = q.run(&["templates"]).status(0).stdout();
    assert!(list.lines().any(|l| l.starts_with("default")), "{list}");
    p.write("Cargo.toml", "[workspace\nmembers = [\"migration\"]\n");
    p.run(&["templates"])
        .status(2)
        .one_line()
        .stderr_has("cannot read the workspace");
}

#[test]
fn create_asks_cargo_about_the_workspace_only_when_a_manifest_changed() {
    let p = Project::new();
    p.init();
    p.create(&["first"]); // asks cargo, and keeps its answer
    let no_cargo = |args: &[&str]| p.run(args).env("CARGO", "/nonexistent/cargo");
    no_cargo(&["create", "second"]).status(0);
    no_cargo(&["create", "third"])
        .dir(p.path().join("migration"))
        .status(0);
    // From outside the workspace, through --manifest-path.
    let manifest_path = p.path().join("Cargo.toml");
    p.run(&[
        "--manifest-path",
        manifest_path.to_str().unwrap(),
        "create",
        "outside",
    ])
    .dir(std::env::temp_dir())
    .status(0)
    .stdout_has("_outside.rs");
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ntimezone = \"utc\"\n"),
    );
    no_cargo(&["create", "fourth"])
        .status(1)
        .one_line()
        .stderr_has("/nonexistent/cargo");
}

#[test]
fn an_applied_migration_edited_afterwards_is_reported_until_rehashed() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/sums.db?mode=rwc", p.path().display());
    let id = p.create(&["add users"]);
    let path = format!("migration/src/{id}.rs");
    p.run(&["upgrade", "head"]).on(&db).status(0);
    p.run(&["check"]).on(&db).status(0);

    // What `cargo fmt` and comments change is not a change.
    let original = p.read(&path);
    let reformatted = original
        .replace(".if_not_exists()\n", ".if_not_exists() // keep\n")
        .replace(
            "    async fn down",
            "    /// Reverts it.\n    async fn down",
        )
        .replace(
            "        manager\n            .create_table(",
            "        manager.create_table(",
        );
    assert_ne!(reformatted, original);
    p.write(&path, &reformatted);
    p.run(&["check"])
        .on(&db)
        .status(0)
        .stdout_starts_with("up to date");

    // A changed statement is.
    p.write(
        &path,
        &original.replace("string(\"name\")", "string(\"full_name\")"),
    );
    p.run(&["check"])
        .on(&db)
        .status(4)
        .stdout_has(&format!("changed since it was applied: {id}"));
    p.run(&["status"])
        .on(&db)
        .status(0)
        .stdout_has("(changed since applied)")
        .stderr_has("rehash");
    let v = p
        .run(&["status", "--format", "json"])
        .on(&db)
        .status(0)
        .json();
    let rev = v["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(rev["changed"], true, "{rev}");

    // Reviewed: record it.
    p.run(&["rehash"])
        .on(&db)
        .status(0)
        .stderr_has(&format!("Rehashed {id}"));
    p.run(&["check"]).on(&db).status(0);
}

#[test]
fn a_panicking_migration_is_a_failed_migration() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/panic.db?mode=rwc", p.path().display());
    let id = p.create(&["not written yet"]);
    let path = format!("migration/src/{id}.rs");
    let text = p.read(&path);
    let up = text.find("        // An example").unwrap();
    let end = text[up..].find("\n    }\n").unwrap() + up;
    p.write(
        &path,
        &format!(
            "{}        todo!(\"write this migration\")\n{}",
            &text[..up],
            &text[end..]
        ),
    );
    p.run(&["heads"]).status(0); // builds it
    let e = p.run(&["upgrade", "head"]).on(&db).status(1).stderr();
    let last = e.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "error: upgrade of `{id}` failed: its code panicked"
        )) && last.contains("write this migration"),
        "{e}"
    );
    assert!(
        !e.contains("panicked at") && !e.contains("RUST_BACKTRACE"),
        "no panic report:\n{e}"
    );
    // the first migration was applied, the panicking one was not
    let v = p
        .run(&["status", "--format", "json"])
        .on(&db)
        .status(0)
        .json();
    assert_eq!(v["applied"], 1, "{v}");
}

#[test]
fn init_commits_no_machine_path_and_the_workspace_builds() {
    let p = Project::new();
    git(p.path(), &["init", "-q"]);
    // The local runtime is this machine's business, said in one line.
    p.run(&["init"])
        .status(0)
        .stderr_has("Patched")
        .stderr_has(REPO)
        .stderr_has("this machine only")
        .stderr_has("Ignored")
        .stderr_has(".env")
        .stderr_has(".db*");
    nothing_committed_names_this_machine(&p);
    assert!(
        p.read("migration/Cargo.toml").contains(
            "cargo-migrate = { version = \"0.1\", default-features = false, features = [\"sqlite\", \"prompt\"] }"
        ),
        "{}",
        p.read("migration/Cargo.toml")
    );
    assert!(p.read(".cargo/config.toml").contains(&format!(
        "[patch.crates-io]\ncargo-migrate = {{ path = \"{REPO}\" }}"
    )));
    // The committed manifest + this machine's patch build and run.
    let o = p.run(&["heads"]).status(0);
    assert!(
        o.stdout().ends_with("_create_post_table (head)\n"),
        "{}",
        o.stdout()
    );
    let head = o
        .stdout()
        .trim_end()
        .trim_end_matches(" (head)")
        .to_string();
    // One chain: `branches` says there is none; `stamp` ends with a sentence.
    p.run(&["branches"])
        .status(0)
        .stdout_is("")
        .stderr_has("no branch points");
    p.run(&["stamp", "head", "-y"])
        .status(0)
        .stderr_has(&format!(
            "Finished stamp: 1 record changed; the database is at {head}"
        ));
}

/// What `git add -A` would commit names neither this repository, the workspace nor the
/// home directory; `.cargo/` and `.env` are not committed.
fn nothing_committed_names_this_machine(p: &Project) {
    git(p.path(), &["add", "-A"]);
    let tracked = git(p.path(), &["ls-files"]);
    assert!(!tracked.contains(".cargo/"), "{tracked}");
    assert!(!tracked.lines().any(|f| f == ".env"), "{tracked}");
    let home = std::env::var("HOME").unwrap_or_default();
    for file in tracked.lines() {
        let text = std::fs::read_to_string(p.path().join(file)).unwrap_or_default();
        for machine in [REPO, p.path().to_str().unwrap(), home.as_str()] {
            assert!(
                machine.is_empty() || !text.contains(machine),
                "{file} names {machine}:\n{text}"
            );
        }
    }
}

#[test]
fn a_committed_cargo_config_is_left_alone_and_the_patch_goes_to_cargo_home() {
    let p = Project::new();
    git(p.path(), &["init", "-q"]);
    p.write(".cargo/config.toml", "# the team's\n[build]\njobs = 2\n");
    git(p.path(), &["add", ".cargo/config.toml"]);
    let home = tempfile::tempdir().unwrap();
    p.run(&["init"])
        .env("CARGO_HOME", home.path())
        .status(0)
        .stderr_has(&home.path().display().to_string());
    assert_eq!(
        p.read(".cargo/config.toml"),
        "# the team's\n[build]\njobs = 2\n"
    );
    let global = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(
        global.contains(&format!("cargo-migrate = {{ path = \"{REPO}\" }}")),
        "{global}"
    );
}

#[test]
fn init_beside_a_sea_orm_cli_crate_points_at_the_crate_it_has() {
    let p = Project::new();
    p.sea_orm_cli_crate();
    let manifest = p.read("Cargo.toml");
    p.run(&["init", "migrations"])
        .status(2)
        .one_line()
        .stderr_has(&format!("already has a migration crate, `{}`", p.name))
        .stderr_has("no `init` needed")
        .stderr_has("cargo migrate status");
    assert_eq!(p.read("Cargo.toml"), manifest);
    assert!(!p.path().join("migrations").exists());
}

#[test]
fn messages_in_other_scripts_keep_whole_words() {
    let p = Project::new();
    p.init();
    for (message, slug) in [
        ("añadir tabla de usuarios", "_anadir_tabla_de_usuarios"),
        ("Größe ändern", "_grosse_andern"),
    ] {
        let id = p.create(&[message]);
        assert!(id.ends_with(slug), "{message:?} -> {id}");
    }
}

#[test]
fn a_sea_orm_migration_1_crate_is_named_before_any_build() {
    let p = Project::new();
    p.sea_orm_cli_crate();
    let manifest = p
        .read("migration/Cargo.toml")
        .replace("version = \"2.0.0\"", "version = \"1.1.0\"");
    assert!(manifest.contains("\"1.1.0\""), "{manifest}");
    p.write("migration/Cargo.toml", &manifest);
    p.run(&["current"])
        .on("sqlite::memory:")
        .status(2)
        .one_line()
        .stderr_has(&format!(
            "`{}` is built on sea-orm-migration `^1.1.0`",
            p.name
        ))
        .stderr_has("cargo migrate runs crates on sea-orm-migration 2.x")
        .stderr_has(&format!("cargo run -p {}", p.name))
        .stderr_lacks("Compiling");
}

#[test]
fn errors_are_one_json_object_on_stdout_with_format_json() {
    let p = Project::new();
    p.init();
    std::fs::remove_file(p.path().join(".env")).unwrap();
    // The subcommand's own error (no database URL) and the binary's (an unknown revision).
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    for (url, args, code) in [
        (None, &["current", "--format", "json"][..], 2),
        (
            Some(db.as_str()),
            &["upgrade", "nope", "--format", "json"][..],
            2,
        ),
    ] {
        let run = p.run(args);
        let o = match url {
            Some(url) => run.on(url),
            None => run,
        }
        .status(code)
        .stderr_has("error:");
        let stdout = o.stdout();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
        assert_eq!(v["event"], "error", "{v}");
        assert_eq!(v["exit_code"], code, "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
}

#[test]
fn creates_at_once_make_one_chain() {
    let p = Project::new();
    p.init();
    let children: Vec<_> = (0..6)
        .map(|i| {
            p.command(&["create", &format!("step {i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        Ran::new("create", child.wait_with_output().unwrap()).exited(0);
    }
    // Every migration revises exactly one other, and no two revise the same: one chain.
    let mut parents = Vec::new();
    let files: Vec<String> = p
        .files("migration/src")
        .into_iter()
        .filter(|f| f.starts_with("m2") && f.ends_with(".rs"))
        .collect();
    assert_eq!(files.len(), 7, "{files:?}");
    for file in &files {
        let text = p.read(&format!("migration/src/{file}"));
        let line = text
            .lines()
            .find(|l| l.starts_with("pub const REVISES"))
            .unwrap()
            .to_string();
        parents.push(line);
    }
    parents.sort();
    let before = parents.len();
    parents.dedup();
    assert_eq!(
        parents.len(),
        before,
        "two migrations revise the same one: {parents:?}"
    );
}
