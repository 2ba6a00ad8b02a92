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

use project::{Project, err, git, out, target_dir};

/// The first migration `init` wrote.
fn first_migration(p: &Project) -> String {
    let first = p
        .files("migration/src")
        .into_iter()
        .find(|f| f.starts_with('m') && f.ends_with(".rs"))
        .expect("init writes a first migration");
    first.trim_end_matches(".rs").to_string()
}

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

#[test]
fn two_git_branches_that_each_add_a_migration_merge_without_a_conflict() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/branches.db?mode=rwc", p.path().display());
    let base = first_migration(&p);
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

    git(p.path(), &["checkout", "-q", "main"]);
    git(p.path(), &["merge", "-q", "--no-edit", "left"]);
    git(p.path(), &["merge", "-q", "--no-edit", "right"]); // no conflict

    // Both files are compiled in: two heads, and the binary knows both.
    let o = p.expect(&["heads"], 0);
    let heads = out(&o);
    assert!(
        heads.lines().any(|l| l == format!("{left} (head)"))
            && heads.lines().any(|l| l == format!("{right} (head)")),
        "{heads}"
    );
    let o = p.expect_on(&db, &["check"], 4);
    assert!(
        out(&o).contains(&left) && out(&o).contains(&right),
        "{}",
        out(&o)
    );
    p.expect_on(&db, &["upgrade", "head"], 2);

    let o = p.expect(&["merge", "-m", "join the branches"], 0);
    assert!(
        err(&o).contains(&format!("revises {left}, {right}")),
        "{}",
        err(&o)
    );
    let o = p.expect_on(&db, &["upgrade", "head"], 0);
    for id in [&base, &left, &right] {
        assert!(err(&o).contains(&format!("Applied {id} (")), "{}", err(&o));
    }
    p.expect_on(&db, &["check"], 0);
}

#[test]
fn a_stale_binary_names_a_migration_file_it_does_not_contain() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/stale.db?mode=rwc", p.path().display());
    let base = first_migration(&p);
    p.expect_on(&db, &["upgrade", "head"], 0);
    // A file arrives (a `git pull`) after the binary was built.
    let pulled = "m29990101_000000_pulled";
    hand_written(&p, pulled, &base);

    let o = Command::new(binary(&p))
        .args(["check"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains(&format!("src/{pulled}.rs is not in this binary")),
        "{}",
        out(&o)
    );
    let o = Command::new(binary(&p)).args(["heads"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err(&o).contains(&format!("warning: src/{pulled}.rs is not in this binary")),
        "{}",
        err(&o)
    );

    // Through `cargo migrate` the new file means a build: nothing is stale.
    let o = p.expect_on(&db, &["check"], 3);
    assert!(out(&o).contains(pulled), "{}", out(&o));
    assert!(!err(&o).contains("not in this binary"), "{}", err(&o));
}

#[test]
fn a_crate_that_lists_its_modules_is_told_which_file_it_left_out() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/listed.db?mode=rwc", p.path().display());
    let base = first_migration(&p);
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
    p.expect_on(&db, &["upgrade", "head"], 0);

    // A file the list leaves out (one side of a lib.rs conflict kept) is named by
    // every verb, and `check` fails.
    let left_out = "m29990101_000000_left_out";
    hand_written(&p, left_out, &added);
    let o = p.expect_on(&db, &["check"], 4);
    assert!(
        out(&o).contains(&format!(
            "src/{left_out}.rs is a migration file that lib.rs does not register"
        )),
        "{}",
        out(&o)
    );
    let o = p.expect_on(&db, &["current"], 0);
    assert!(
        err(&o).contains(&format!("warning: src/{left_out}.rs is a migration file")),
        "{}",
        err(&o)
    );
    let o = p.expect_on(&db, &["check", "--format", "json"], 4);
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["status"], "unregistered_files");
    assert_eq!(v["unregistered"][0], format!("src/{left_out}.rs"));

    // `migrator!` (modules declared inside it) is told the same.
    p.write(
        "migration/src/lib.rs",
        &format!("cargo_migrate::migrator! {{\n    {base},\n    {added},\n}}\n"),
    );
    let o = p.expect_on(&db, &["check"], 4);
    assert!(out(&o).contains(left_out), "{}", out(&o));
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
    p.expect_on(&db, &["upgrade", "head"], 0);

    // Edit the applied SQL: no cargo is needed (none is there), and the edit shows.
    let no_cargo = |args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.env("CARGO", "/nonexistent/cargo")
            .env("DATABASE_URL", &db);
        cmd
    };
    p.write(&up, "CREATE TABLE second_try (id integer PRIMARY KEY);\n");
    let o = p.expect_with(no_cargo(&["check"]), &["check"], 4);
    assert!(
        out(&o).contains("changed since it was applied") && out(&o).contains(&id),
        "{}",
        out(&o)
    );
    // `redo` reverts with the old down.sql and applies the new up.sql, from disk.
    let o = p.expect_with(no_cargo(&["redo", "--yes"]), &["redo"], 0);
    assert!(err(&o).contains(&format!("Applied {id} (")), "{}", err(&o));
    p.expect_with(no_cargo(&["check"]), &["check"], 0);
    // Only `second_try` exists now: its down.sql drops it.
    p.write(&down, "DROP TABLE second_try;\n");
    p.expect_with(no_cargo(&["rehash"]), &["rehash"], 0);
    let o = p.expect_with(no_cargo(&["downgrade", "-1", "--yes"]), &["downgrade"], 0);
    assert!(err(&o).contains(&format!("Reverted {id} (")), "{}", err(&o));

    p.expect_with(no_cargo(&["upgrade", "head"]), &["upgrade"], 0);

    // Without debug assertions (a release build) the SQL is compiled in: the binary
    // runs with no source tree. (Only the migration crate is built so, not sea-orm.)
    let o = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "-q", "-p", &p.name, "--config"])
        .arg(format!(
            "profile.dev.package.{}.debug-assertions=false",
            p.name
        ))
        .current_dir(p.path())
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let moved = tempfile::tempdir().unwrap();
    let standalone = moved.path().join("migration-binary");
    std::fs::copy(binary(&p), &standalone).unwrap();
    std::fs::remove_dir_all(p.path().join("migration/src")).unwrap();
    let run = |args: &[&str]| {
        Command::new(&standalone)
            .args(args)
            .env("DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    // The checksum of the compiled-in SQL is the one recorded from the files on disk.
    let o = run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let o = run(&["downgrade", "-1", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = run(&["upgrade", "head"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains(&format!("Applied {id} (")), "{}", err(&o));
}
