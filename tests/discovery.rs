//! How a migration crate knows its migrations: found in `src/` at build time by the
//! build script `init` writes, so two git branches that each add one merge without a
//! conflict, a stale binary never misses a file, a crate that lists its modules itself
//! is told which file it left out, and SQL files are edited and re-run without a build.
//! The real binary on temporary workspaces, building into the shared `target/e2e`.

#[path = "support/project.rs"]
mod project;
mod support;

use std::path::PathBuf;
use std::process::Command;

use project::{Project, git, target_dir};
use support::Via;
use support::run::Run;

/// A migration file written by hand (as a teammate's commit brings it): an empty
/// migration revising `parent`.
fn hand_written(p: &Project, id: &str, parent: &str) {
    p.write(
        &format!("migration/src/{id}.rs"),
        &format!(
            "use cargo_migrate::prelude::*;\n\npub const REVISES: &[&str] = &[{parent:?}];\n\n\
             pub struct Migration;\n\nimpl MigrationName for Migration {{\n    fn name(&self) -> &str {{\n        {id:?}\n    }}\n}}\n\n\
             #[async_trait::async_trait]\nimpl MigrationTrait for Migration {{\n    async fn up(&self, _: &SchemaManager) -> Result<(), DbErr> {{\n        Ok(())\n    }}\n}}\n"
        ),
    );
}

/// The migration crate's binary in the shared target directory.
fn binary(p: &Project) -> PathBuf {
    target_dir().join("debug").join(&p.name)
}

/// That binary run directly, with `args`; `on` passes the URL as DATABASE_URL.
fn run_binary(p: &Project, args: &[&str]) -> Run {
    Run::new(&p.name, Command::new(binary(p)), args, Via::Env)
}

#[test]
fn two_git_branches_that_each_add_a_migration_merge_without_a_conflict() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/branches.db?mode=rwc", p.path().display());
    let base = p.first_migration();
    let [left, right] = a_migration_on_each_of_two_branches(&p);
    git(p.path(), &["checkout", "-q", "main"]);
    git(p.path(), &["merge", "-q", "--no-edit", "left"]);
    git(p.path(), &["merge", "-q", "--no-edit", "right"]); // no conflict

    // Both files are compiled in: two heads, and the binary knows both.
    let heads = p.run(&["heads"]).status(0).stdout();
    assert!(
        heads.lines().any(|l| l == format!("{left} (head)"))
            && heads.lines().any(|l| l == format!("{right} (head)")),
        "{heads}"
    );
    p.run(&["check"])
        .on(&db)
        .status(4)
        .stdout_has(&left)
        .stdout_has(&right);
    p.run(&["upgrade", "head"]).on(&db).status(2);

    p.run(&["merge", "-m", "join the branches"])
        .status(0)
        .stderr_has(&format!("revises {left}, {right}"));
    let mut o = p.run(&["upgrade", "head"]).on(&db).status(0);
    for id in [&base, &left, &right] {
        o = o.stderr_has(&format!("Applied {id} ("));
    }
    p.run(&["check"]).on(&db).status(0);
}

/// Commits the crate on `main`, then `create`s one migration on a branch `left` and one
/// on a branch `right`, both from `main`: their ids.
fn a_migration_on_each_of_two_branches(p: &Project) -> [String; 2] {
    p.write(".gitignore", "/target\n*.db\n");
    git(p.path(), &["init", "-q"]);
    git(p.path(), &["add", "-A"]);
    git(p.path(), &["commit", "-qm", "migration crate"]);

    git(p.path(), &["checkout", "-qb", "left"]);
    let left = p.create(&["add left"]);
    git(p.path(), &["add", "-A"]);
    git(p.path(), &["commit", "-qm", "left"]);
    git(p.path(), &["checkout", "-q", "main"]);
    git(p.path(), &["checkout", "-qb", "right"]);
    let right = p.create(&["add right"]);
    assert_ne!(left, right);
    git(p.path(), &["add", "-A"]);
    git(p.path(), &["commit", "-qm", "right"]);
    // `create` edited no shared file: only the new migration is in each commit.
    let changed = git(p.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        changed.trim(),
        format!("migration/src/{right}.rs"),
        "{changed}"
    );
    [left, right]
}

#[test]
fn a_stale_binary_names_a_migration_file_it_does_not_contain() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/stale.db?mode=rwc", p.path().display());
    let base = p.first_migration();
    p.run(&["upgrade", "head"]).on(&db).status(0);
    // A file arrives (a `git pull`) after the binary was built.
    let pulled = "m29990101_000000_pulled";
    hand_written(&p, pulled, &base);

    run_binary(&p, &["check"])
        .on(&db)
        .status(4)
        .stdout_has(&format!("src/{pulled}.rs is not in this binary"));
    run_binary(&p, &["heads"])
        .status(0)
        .stderr_has(&format!("warning: src/{pulled}.rs is not in this binary"));

    // Through `cargo migrate` the new file means a build: nothing is stale.
    p.run(&["check"])
        .on(&db)
        .status(3)
        .stdout_has(pulled)
        .stderr_lacks("not in this binary");
}

#[test]
fn a_crate_that_lists_its_modules_is_told_which_file_it_left_out() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/listed.db?mode=rwc", p.path().display());
    let base = p.first_migration();
    // Explicit registration: plain `mod` lines and `register!`.
    p.write(
        "migration/src/lib.rs",
        &format!(
            "//! listed by hand\n\nmod {base};\n\ncargo_migrate::register! {{\n    {base},\n}}\n"
        ),
    );
    let added = p.create(&["add users"]);
    let lib = p.read("migration/src/lib.rs");
    assert_eq!(
        lib,
        format!(
            "//! listed by hand\n\nmod {base};\nmod {added};\n\ncargo_migrate::register! {{\n    {base},\n    {added},\n}}\n"
        )
    );
    p.run(&["upgrade", "head"]).on(&db).status(0);

    // A file the list leaves out (one side of a lib.rs conflict kept) is named by
    // every verb, and `check` fails.
    let left_out = "m29990101_000000_left_out";
    hand_written(&p, left_out, &added);
    p.run(&["check"]).on(&db).status(4).stdout_has(&format!(
        "src/{left_out}.rs is a migration file that lib.rs does not register"
    ));
    p.run(&["current"])
        .on(&db)
        .status(0)
        .stderr_has(&format!("warning: src/{left_out}.rs is a migration file"));
    let v = p
        .run(&["check", "--format", "json"])
        .on(&db)
        .status(4)
        .json();
    assert_eq!(v["status"], "unregistered_files");
    assert_eq!(v["unregistered"][0], format!("src/{left_out}.rs"));

    // `migrator!` (modules declared inside it) is told the same.
    p.write(
        "migration/src/lib.rs",
        &format!("cargo_migrate::migrator! {{\n    {base},\n    {added},\n}}\n"),
    );
    p.run(&["check"]).on(&db).status(4).stdout_has(left_out);
}

#[test]
fn sql_files_are_read_from_disk_in_debug_builds_and_checksummed() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/sql.db?mode=rwc", p.path().display());
    let id = p.create(&["-t", "sql", "seed"]);
    let up = format!("migration/src/{id}/up.sql");
    let down = format!("migration/src/{id}/down.sql");
    p.write(&up, "CREATE TABLE first_try (id integer PRIMARY KEY);\n");
    p.write(&down, "DROP TABLE first_try;\n");
    p.run(&["upgrade", "head"]).on(&db).status(0);
    edits_to_applied_sql_need_no_cargo(&p, &db, &id);
    a_release_build_compiles_the_sql_in(&p, &db, &id);
}

/// Edit the applied SQL: no cargo is needed (none is there), and the edit shows.
fn edits_to_applied_sql_need_no_cargo(p: &Project, db: &str, id: &str) {
    let up = format!("migration/src/{id}/up.sql");
    let down = format!("migration/src/{id}/down.sql");
    let no_cargo = |args: &[&str]| p.run(args).on(db).env("CARGO", "/nonexistent/cargo");
    p.write(&up, "CREATE TABLE second_try (id integer PRIMARY KEY);\n");
    no_cargo(&["check"])
        .status(4)
        .stdout_has("changed since it was applied")
        .stdout_has(id);
    // `redo` reverts with the old down.sql and applies the new up.sql, from disk.
    no_cargo(&["redo", "--yes"])
        .status(0)
        .stderr_has(&format!("Applied {id} ("));
    no_cargo(&["check"]).status(0);
    // Only `second_try` exists now: its down.sql drops it.
    p.write(&down, "DROP TABLE second_try;\n");
    no_cargo(&["rehash"]).status(0);
    no_cargo(&["downgrade", "-1", "--yes"])
        .status(0)
        .stderr_has(&format!("Reverted {id} ("));
    no_cargo(&["upgrade", "head"]).status(0);
}

/// Without debug assertions (a release build) the SQL is compiled in: the binary runs
/// with no source tree. (Only the migration crate is built so, not sea-orm.)
fn a_release_build_compiles_the_sql_in(p: &Project, db: &str, id: &str) {
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .args(["build", "-q", "-p", &p.name, "--config"])
        .arg(format!(
            "profile.dev.package.{}.debug-assertions=false",
            p.name
        ))
        .current_dir(p.path())
        .env("CARGO_TARGET_DIR", target_dir());
    Run::new("cargo", build, &[], Via::Env).status(0);
    let moved = tempfile::tempdir().unwrap();
    let standalone = moved.path().join("migration-binary");
    std::fs::copy(binary(p), &standalone).unwrap();
    std::fs::remove_dir_all(p.path().join("migration/src")).unwrap();
    let run = |args: &[&str]| {
        Run::new(
            "migration-binary",
            Command::new(&standalone),
            args,
            Via::Env,
        )
        .on(db)
    };
    // The checksum of the compiled-in SQL is the one recorded from the files on disk.
    run(&["check"]).status(0);
    run(&["downgrade", "-1", "--yes"]).status(0);
    run(&["upgrade", "head"])
        .status(0)
        .stderr_has(&format!("Applied {id} ("));
}
