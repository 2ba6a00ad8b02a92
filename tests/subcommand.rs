//! `cargo migrate` end to end: the real binary on temporary workspaces, building real
//! migration crates. Every workspace builds into one shared target directory
//! (`target/e2e`) from this repository's `Cargo.lock`, so sea-orm compiles once.

#[path = "support/project.rs"]
mod project;
mod support;

use std::path::Path;

use project::{Project, REPO, err, git, one_line, out};

on_every_backend!(the_whole_workflow, |db| {
    let p = Project::new();
    let url = db.url.as_str();
    p.init();
    assert!(
        p.read("Cargo.toml")
            .contains("name = \"app\" # the application")
    );
    assert!(
        p.read("Cargo.toml")
            .contains("[workspace]\nmembers = [\"migration\"]")
    );
    let first = p
        .files("migration/src")
        .into_iter()
        .find(|f| f.starts_with('m'))
        .unwrap();
    let first = first.trim_end_matches(".rs").to_string();
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

    let o = p.expect_on(url, &["upgrade", "head"], 0);
    let e = err(&o);
    for id in [&first, &a, &b, &c] {
        assert!(e.contains(&format!("Applied {id} (")), "{e}");
    }
    assert!(
        e.contains(&format!("Compiling {} ", p.name)),
        "the first build shows cargo's progress:\n{e}"
    );

    let o = p.expect_on(url, &["history"], 0);
    let lines: Vec<String> = out(&o).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], format!("{b} -> {c} (head), seed the users"));
    assert_eq!(lines[1], format!("{a} -> {b}, add posts table"));
    assert_eq!(lines[3], format!("<base> -> {first}, create post table"));

    let o = p.expect_on(url, &["downgrade", "-1", "--yes"], 0);
    assert!(err(&o).contains(&format!("Reverted {c} (")), "{}", err(&o));
    assert!(
        !err(&o).contains("Compiling"),
        "nothing to compile:\n{}",
        err(&o)
    );
    assert_eq!(out(&p.expect_on(url, &["current"], 0)), format!("{b}\n"));

    let o = p.expect_on(url, &["redo"], 0);
    assert!(
        err(&o).contains(&format!("Reverted {b} (")) && err(&o).contains(&format!("Applied {b} (")),
        "{}",
        err(&o)
    );
    p.expect_on(url, &["check"], 3); // `c` is pending: the exit code comes through

    p.expect_on(url, &["stamp", "base", "--yes"], 0);
    let o = p.expect_on(url, &["current"], 0);
    assert_eq!(out(&o), "");
    assert!(err(&o).contains("at base"), "{}", err(&o));
    let o = p.expect_on(url, &["status", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["applied"], 0);
    assert_eq!(v["pending"].as_array().map(Vec::len), Some(4));
});

#[test]
fn two_branches_are_two_heads_until_merged() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/branches.db?mode=rwc", p.path().display());
    let base = p
        .files("migration/src")
        .into_iter()
        .find(|f| f.starts_with('m'))
        .unwrap();
    let base = base.trim_end_matches(".rs");
    let left = p.create(&["add left"]);
    let right = p.create(&["add right", "--head", base]);
    let o = p.expect(&["heads"], 0);
    let heads = out(&o);
    assert_eq!(heads.lines().count(), 2, "{heads}");
    // One revision a line, as Alembic prints them; the parents and messages with -v.
    let mut lines: Vec<&str> = heads.lines().collect();
    lines.sort();
    let mut want = [format!("{left} (head)"), format!("{right} (head)")];
    want.sort();
    assert_eq!(lines, want, "{heads}");
    let o = p.expect(&["heads", "-v"], 0);
    let verbose = out(&o);
    for (id, message) in [(&left, "add left"), (&right, "add right")] {
        assert!(
            verbose.contains(&format!("Rev: {id} (head)\nParent: {base}\n"))
                && verbose.contains(message),
            "{verbose}"
        );
    }

    let o = p.expect_on(&db, &["upgrade", "head"], 2);
    let e = one_line(&o);
    assert!(
        e.contains(&left) && e.contains(&right) && e.contains("merge"),
        "{e}"
    );
    p.expect_on(&db, &["check"], 4);
    let o = p.expect(&["create", "more"], 2);
    let e = one_line(&o);
    assert!(
        e.contains("cargo migrate merge") && e.contains("--head"),
        "{e}"
    );

    let o = p.expect(&["merge", "-m", "join left and right"], 0);
    assert!(
        err(&o).contains(&format!("revises {left}, {right}")),
        "{}",
        err(&o)
    );
    let o = p.expect(&["heads"], 0);
    assert_eq!(out(&o).lines().count(), 1, "{}", out(&o));
    assert!(
        out(&o).contains("join_left_and_right (head)"),
        "{}",
        out(&o)
    );
    p.expect_on(&db, &["upgrade", "head"], 0);
    p.expect_on(&db, &["check"], 0);
    let o = p.expect(&["merge"], 2);
    assert!(one_line(&o).contains("nothing to merge"), "{}", err(&o));
}

#[test]
fn a_sea_orm_cli_crate_works_with_zero_edits() {
    let p = Project::new();
    p.sea_orm_cli_crate();
    let db = format!("sqlite://{}/legacy.db?mode=rwc", p.path().display());
    let o = p.expect_on(&db, &["upgrade", "head"], 0);
    for id in [
        "m20220101_000001_create_table",
        "m20261122_132657_add_users",
    ] {
        assert!(err(&o).contains(&format!("Applied {id} (")), "{}", err(&o));
    }
    let o = p.expect(&["history"], 0);
    assert_eq!(
        out(&o),
        "m20220101_000001_create_table -> m20261122_132657_add_users (head), add users\n\
         <base> -> m20220101_000001_create_table, create table\n"
    );
    p.expect_on(&db, &["downgrade", "-1", "-y"], 0);
    assert_eq!(
        out(&p.expect_on(&db, &["current"], 0)),
        "m20220101_000001_create_table\n"
    );

    // One chain: no branching from an earlier migration.
    let o = p.expect(
        &["create", "x", "--head", "m20220101_000001_create_table"],
        2,
    );
    assert!(one_line(&o).contains("`--head`"), "{}", err(&o));
    // `create` appends in sea-orm-cli's own layout: a `mod` line and a vec entry.
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
    let o = p.expect(&["heads"], 0);
    assert!(
        out(&o).starts_with(&format!("{id} (head)\n")),
        "{}",
        out(&o)
    );

    let o = p.expect_on(&db, &["upgrade", "head"], 0);
    assert!(err(&o).contains(&format!("Applied {id} (")), "{}", err(&o));
    // and the crate is still a sea-orm-cli crate: its own binary sees the same state
    let status = p.sea_orm_cli(&db, &["status"]);
    let text = format!("{}{}", out(&status), err(&status));
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains(&format!("Migration '{id}'... Applied")),
        "{text}"
    );

    // A migration file that lib.rs does not list (one side of a conflict in lib.rs kept)
    // is named, and `check` fails.
    let unlisted = "m20261130_000000_unlisted";
    p.write(
        &format!("migration/src/{unlisted}.rs"),
        &p.read(&format!("migration/src/{id}.rs"))
            .replace(&id, unlisted),
    );
    let o = p.expect_on(&db, &["check"], 4);
    assert!(
        out(&o).contains(&format!(
            "src/{unlisted}.rs is a migration file that lib.rs does not register"
        )),
        "{}",
        out(&o)
    );
    let o = p.expect(&["create", "after the unlisted one"], 0);
    assert!(
        err(&o).contains(&format!(
            "warning: migration/src/{unlisted}.rs is a migration file"
        )),
        "{}",
        err(&o)
    );
}

#[test]
fn bad_messages_and_templates_write_nothing() {
    let p = Project::new();
    p.init();
    let lib = p.read("migration/src/lib.rs");
    let files = p.files("migration/src");
    for message in ["", "   ", "?!…---", "\u{E000}"] {
        let o = p.expect(&["create", message], 2);
        assert!(
            one_line(&o).contains("at least one letter or digit"),
            "{}",
            err(&o)
        );
    }
    let o = p.expect(&["create", "-t", "nope", "x"], 2);
    assert!(
        one_line(&o).contains("`default`, `empty`, `sql`"),
        "{}",
        err(&o)
    );
    let o = p.expect(&["create", "--head", "m1999", "x"], 2);
    one_line(&o);
    p.write(
        "migration/templates/default/migration.rs.j2",
        "//! {{ message }}\n\n{% if %}\n",
    );
    let o = p.expect(&["create", "x"], 2);
    let e = one_line(&o);
    assert!(
        e.contains("templates/default/migration.rs.j2") && e.contains("line 3"),
        "{e}"
    );
    p.write(
        "migration/templates/default/migration.rs.j2",
        "//! {{ message }}\n{{ nope }}\n",
    );
    let e = one_line(&p.expect(&["create", "x"], 2));
    assert!(e.contains("line 2") && e.contains("`nope`"), "{e}");
    p.write(
        "migration/templates/default/migration.rs.j2",
        "//! {{ message }} without REVISES\n",
    );
    let e = one_line(&p.expect(&["create", "x"], 2));
    assert!(e.contains("REVISES"), "{e}");
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
    let o = p.expect(&["init"], 2);
    assert!(
        one_line(&o).contains("already has a migration crate"),
        "{}",
        err(&o)
    );
    let o = p.expect(&["init", "other"], 2);
    one_line(&o);
    assert_eq!(p.read("Cargo.toml"), manifest);
    assert!(!p.path().join("other").exists());

    let q = Project::new();
    std::fs::create_dir(q.path().join("migration")).unwrap();
    let o = q.expect(&["init"], 2);
    assert!(one_line(&o).contains("already exists"), "{}", err(&o));

    p.write("Cargo.toml", "[package\nname = \"app\"\n");
    let o = p.expect(&["create", "x"], 2);
    assert!(
        one_line(&o).contains("cannot read the workspace"),
        "{}",
        err(&o)
    );
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
    let o = p.expect_on("sqlite::memory:", &["upgrade", "head"], 101);
    let e = err(&o);
    assert_eq!(
        e.matches(&format!("could not compile `{}`", p.name))
            .count(),
        1,
        "{e}"
    );
    assert!(e.contains("error[E0308]"), "{e}");
    assert!(e.contains("failed to build"), "{e}");
}

#[test]
fn the_binary_runs_without_cargo_when_nothing_changed() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/fresh.db?mode=rwc", p.path().display());
    p.expect_on(&db, &["upgrade", "head"], 0);
    // No cargo at all: the recorded build is still fresh.
    let mut cmd = p.command(&["current"]);
    cmd.env("CARGO", "/nonexistent/cargo")
        .env("DATABASE_URL", &db);
    let o = p.expect_with(cmd, &["current"], 0);
    assert!(out(&o).contains("(head)"), "{}", out(&o));
    // From a subdirectory too.
    let mut cmd = p.command(&["current"]);
    cmd.current_dir(p.path().join("migration/src"))
        .env("CARGO", "/nonexistent/cargo")
        .env("DATABASE_URL", &db);
    p.expect_with(cmd, &["current"], 0);

    // An edit means a build, and a build needs cargo.
    p.create(&["one more"]);
    let mut cmd = p.command(&["current"]);
    cmd.env("CARGO", "/nonexistent/cargo")
        .env("DATABASE_URL", &db);
    let o = p.expect_with(cmd, &["current"], 1);
    assert!(one_line(&o).contains("/nonexistent/cargo"), "{}", err(&o));

    // A build that finds everything fresh prints nothing of cargo's.
    let o = p.expect_on(&db, &["upgrade", "head"], 0);
    assert!(
        err(&o).contains(&format!("Compiling {} ", p.name)),
        "{}",
        err(&o)
    );
    // This workspace's records (other tests' are in other directories).
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
    let o = p.expect_on(&db, &["current"], 0);
    assert_eq!(err(&o), "", "a fresh build is silent");
}

#[test]
fn configuration_and_dotenv_choose_the_database_from_any_directory() {
    let p = Project::new();
    p.init();
    std::fs::remove_file(p.path().join(".env")).unwrap();
    let o = p.expect(&["current"], 2);
    let e = one_line(&o);
    assert!(
        e.contains(".env") && e.contains("[workspace.metadata.migrate]"),
        "{e}"
    );

    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[workspace.metadata.migrate]\ndatabase-url = \"sqlite://from-config.db\"\n"
        ),
    );
    let mut cmd = p.command(&["upgrade", "head"]);
    cmd.current_dir(p.path().join("migration"));
    p.expect_with(cmd, &["upgrade", "head"], 0);
    assert!(
        p.path().join("from-config.db").is_file(),
        "relative to the workspace root"
    );
    assert!(!p.path().join("migration/from-config.db").exists());

    p.write(".env", "DATABASE_URL=sqlite://from-dotenv.db\n");
    p.expect(&["upgrade", "head"], 0);
    assert!(p.path().join("from-dotenv.db").is_file());

    // A tracking table that differs from the crate's is refused before anything runs.
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ntable = \"versions\"\n"),
    );
    let o = p.expect(&["upgrade", "head"], 2);
    let e = one_line(&o);
    assert!(
        e.contains("`versions`") && e.contains("`seaql_migrations`"),
        "{e}"
    );
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ndatabse-url = \"x\"\n"),
    );
    let o = p.expect(&["current"], 2);
    assert!(
        one_line(&o).contains("unknown key `databse-url`"),
        "{}",
        err(&o)
    );
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
        let mut cmd = p.command(&["current", "-v"]);
        cmd.env("DATABASE_URL", url);
        let o = cmd.output().unwrap();
        let all = format!("{}{}", out(&o), err(&o));
        assert!(!all.contains("hunter2"), "{all}");
        assert_ne!(o.status.code(), Some(0), "{all}");
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
    let o = p.expect(&["create", "x"], 2);
    let e = one_line(&o);
    assert!(
        e.contains(&format!("`{}`", p.name)) && e.contains("`other`") && e.contains("-p"),
        "{e}"
    );
    p.expect(&["create", "-p", &p.name, "x"], 0);
    let o = p.expect(&["create", "-p", "nope", "x"], 2);
    assert!(one_line(&o).contains("not a member"), "{}", err(&o));
    p.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[workspace.metadata.migrate]\npackage = \"{}\"\n",
            p.name
        ),
    );
    p.expect(&["create", "y"], 0);
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
    let o = p.expect(&["init"], 0);
    assert!(err(&o).contains("(postgres)"), "{}", err(&o));
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
    let o = p.expect(&["templates"], 0);
    let list = out(&o);
    for name in ["default", "empty", "sql"] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(name) && l.contains("built-in")),
            "{list}"
        );
    }
    let o = p.expect(&["templates", "eject", "default"], 0);
    assert_eq!(out(&o).trim(), "migration/templates");
    let ejected = p.read("migration/templates/default/migration.rs.j2");
    p.write(
        "migration/templates/default/migration.rs.j2",
        &ejected.replace(
            "use {{ prelude }};",
            "use {{ prelude }};\n// reviewed-by: the team",
        ),
    );
    let o = p.expect(&["templates", "eject"], 0);
    assert!(err(&o).contains("exists; left as it is"), "{}", err(&o));
    assert!(
        p.read("migration/templates/default/migration.rs.j2")
            .contains("reviewed-by")
    );
    let list = out(&p.expect(&["templates"], 0));
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
    let list = out(&q.expect(&["templates"], 0));
    assert!(list.lines().any(|l| l.starts_with("default")), "{list}");
    p.write("Cargo.toml", "[workspace\nmembers = [\"migration\"]\n");
    let o = p.expect(&["templates"], 2);
    assert!(
        one_line(&o).contains("cannot read the workspace"),
        "{}",
        err(&o)
    );
}

#[test]
fn create_asks_cargo_about_the_workspace_only_when_a_manifest_changed() {
    let p = Project::new();
    p.init();
    p.create(&["first"]); // asks cargo, and keeps its answer
    let no_cargo = |args: &[&str], code: i32| {
        let mut cmd = p.command(args);
        cmd.env("CARGO", "/nonexistent/cargo");
        p.expect_with(cmd, args, code)
    };
    no_cargo(&["create", "second"], 0);
    let mut cmd = p.command(&["create", "third"]);
    cmd.current_dir(p.path().join("migration"))
        .env("CARGO", "/nonexistent/cargo");
    p.expect_with(cmd, &["create", "third"], 0);
    // From outside the workspace, through --manifest-path.
    let manifest_path = p.path().join("Cargo.toml");
    let args = [
        "--manifest-path",
        manifest_path.to_str().unwrap(),
        "create",
        "outside",
    ];
    let mut cmd = p.command(&args);
    cmd.current_dir(std::env::temp_dir());
    let o = p.expect_with(cmd, &args, 0);
    assert!(out(&o).contains("_outside.rs"), "{}", out(&o));
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ntimezone = \"utc\"\n"),
    );
    let o = no_cargo(&["create", "fourth"], 1);
    assert!(one_line(&o).contains("/nonexistent/cargo"), "{}", err(&o));
}

#[test]
fn an_applied_migration_edited_afterwards_is_reported_until_rehashed() {
    let p = Project::new();
    p.init();
    let db = format!("sqlite://{}/sums.db?mode=rwc", p.path().display());
    let id = p.create(&["add users"]);
    let path = format!("migration/src/{id}.rs");
    p.expect_on(&db, &["upgrade", "head"], 0);
    p.expect_on(&db, &["check"], 0);

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
    let o = p.expect_on(&db, &["check"], 0);
    assert!(out(&o).starts_with("up to date"), "{}", out(&o));

    // A changed statement is.
    p.write(
        &path,
        &original.replace("string(\"name\")", "string(\"full_name\")"),
    );
    let o = p.expect_on(&db, &["check"], 4);
    assert!(
        out(&o).contains(&format!("changed since it was applied: {id}")),
        "{}",
        out(&o)
    );
    let o = p.expect_on(&db, &["status"], 0);
    assert!(out(&o).contains("(changed since applied)"), "{}", out(&o));
    assert!(err(&o).contains("rehash"), "{}", err(&o));
    let o = p.expect_on(&db, &["status", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    let rev = v["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(rev["changed"], true, "{rev}");

    // Reviewed: record it.
    let o = p.expect_on(&db, &["rehash"], 0);
    assert!(err(&o).contains(&format!("Rehashed {id}")), "{}", err(&o));
    p.expect_on(&db, &["check"], 0);
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
    p.expect(&["heads"], 0); // builds it
    let o = p.expect_on(&db, &["upgrade", "head"], 1);
    let e = err(&o);
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
    let o = p.expect_on(&db, &["status", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["applied"], 1, "{v}");
}

#[test]
fn init_commits_no_machine_path_and_the_workspace_builds() {
    let p = Project::new();
    git(p.path(), &["init", "-q"]);
    let o = p.expect(&["init"], 0);
    // The local runtime is this machine's business, said in one line.
    let e = err(&o);
    assert!(
        e.contains("Patched") && e.contains(REPO) && e.contains("this machine only"),
        "{e}"
    );
    assert!(
        e.contains("Ignored") && e.contains(".env") && e.contains(".db*"),
        "{e}"
    );
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
    let o = p.expect(&["heads"], 0);
    assert!(
        out(&o).ends_with("_create_post_table (head)\n"),
        "{}",
        out(&o)
    );
    let head = out(&o).trim_end().trim_end_matches(" (head)").to_string();
    // One chain: `branches` says there is none; `stamp` ends with a sentence.
    let o = p.expect(&["branches"], 0);
    assert_eq!(out(&o), "");
    assert!(err(&o).contains("no branch points"), "{}", err(&o));
    let o = p.expect(&["stamp", "head", "-y"], 0);
    assert!(
        err(&o).contains(&format!(
            "Finished stamp: 1 record changed; the database is at {head}"
        )),
        "{}",
        err(&o)
    );
}

#[test]
fn a_committed_cargo_config_is_left_alone_and_the_patch_goes_to_cargo_home() {
    let p = Project::new();
    git(p.path(), &["init", "-q"]);
    p.write(".cargo/config.toml", "# the team's\n[build]\njobs = 2\n");
    git(p.path(), &["add", ".cargo/config.toml"]);
    let home = tempfile::tempdir().unwrap();
    let mut cmd = p.command(&["init"]);
    cmd.env("CARGO_HOME", home.path());
    let o = p.expect_with(cmd, &["init"], 0);
    assert_eq!(
        p.read(".cargo/config.toml"),
        "# the team's\n[build]\njobs = 2\n"
    );
    let global = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(
        global.contains(&format!("cargo-migrate = {{ path = \"{REPO}\" }}")),
        "{global}"
    );
    assert!(
        err(&o).contains(&home.path().display().to_string()),
        "{}",
        err(&o)
    );
}

#[test]
fn init_beside_a_sea_orm_cli_crate_points_at_the_crate_it_has() {
    let p = Project::new();
    p.sea_orm_cli_crate();
    let manifest = p.read("Cargo.toml");
    let o = p.expect(&["init", "migrations"], 2);
    let e = one_line(&o);
    assert!(
        e.contains(&format!("already has a migration crate, `{}`", p.name))
            && e.contains("no `init` needed")
            && e.contains("cargo migrate status"),
        "{e}"
    );
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
    let o = p.expect_on("sqlite::memory:", &["current"], 2);
    let e = one_line(&o);
    assert!(
        e.contains(&format!(
            "`{}` is built on sea-orm-migration `^1.1.0`",
            p.name
        )) && e.contains("cargo migrate runs crates on sea-orm-migration 2.x")
            && e.contains(&format!("cargo run -p {}", p.name)),
        "{e}"
    );
    assert!(!e.contains("Compiling"), "{e}");
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
        let o = match url {
            Some(url) => p.expect_on(url, args, code),
            None => p.expect(args, code),
        };
        let stdout = out(&o);
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
        assert_eq!(v["event"], "error", "{v}");
        assert_eq!(v["exit_code"], code, "{v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()) && err(&o).contains("error:"),
            "{v}"
        );
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
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", err(&o));
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
