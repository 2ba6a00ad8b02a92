//! What `cargo migrate` runs is this workspace's migrations as they are now, whatever
//! else shares the target directory, and no cargo once built: projects sharing a target
//! directory, the freshness record (no stale binary ever runs), adopted sea-orm-cli
//! crates without cargo, and `cargo migrate build`'s standalone binary.

#[path = "support/project.rs"]
mod project;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use project::{Project, err, one_line, out, target_dir};

/// Runs `args` with no cargo to be found: only a recorded build can answer.
fn without_cargo(p: &Project, dir: &Path, db: &str, args: &[&str]) -> Output {
    let mut cmd = p.command(args);
    cmd.current_dir(dir)
        .env("CARGO", "/nonexistent/cargo")
        .env("DATABASE_URL", db);
    cmd.output().expect("run cargo-migrate")
}

/// `args` ran the recorded binary, with nothing of cargo's on stderr.
fn runs_recorded(p: &Project, dir: &Path, db: &str, args: &[&str]) -> Output {
    let o = without_cargo(p, dir, db, args);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    o
}

/// Runs `cargo migrate upgrade head` in each project at once, `rounds` times with a
/// `downgrade base` between, and returns each project's stderr.
fn upgrade_at_once(projects: &[(&Project, String)], rounds: usize) -> Vec<String> {
    std::thread::scope(|s| {
        let runs: Vec<_> = projects
            .iter()
            .map(|(p, db)| {
                s.spawn(move || {
                    let mut log = String::new();
                    for _ in 0..rounds {
                        log += &err(&p.expect_on(db, &["upgrade", "head"], 0));
                        log += &err(&p.expect_on(db, &["downgrade", "base", "--yes"], 0));
                    }
                    log += &err(&p.expect_on(db, &["upgrade", "head"], 0));
                    log
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

#[test]
fn adopted_crates_sharing_a_target_directory_run_only_their_own_migrations() {
    let (a, b) = (Project::new(), Project::new());
    a.sea_orm_cli_crate_as("migration", "m20261122_132657_add_users", "users");
    b.sea_orm_cli_crate_as("migration", "m20261123_080000_add_orders", "orders");
    let db = |p: &Project| format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    let logs = upgrade_at_once(&[(&a, db(&a)), (&b, db(&b))], 3);
    for (log, own, other) in [
        (
            &logs[0],
            "m20261122_132657_add_users",
            "m20261123_080000_add_orders",
        ),
        (
            &logs[1],
            "m20261123_080000_add_orders",
            "m20261122_132657_add_users",
        ),
    ] {
        assert!(log.contains(&format!("Applied {own} (")), "{log}");
        assert!(
            !log.contains(other),
            "another project's migration ran:\n{log}"
        );
    }
    for (p, head) in [
        (&a, "m20261122_132657_add_users"),
        (&b, "m20261123_080000_add_orders"),
    ] {
        assert_eq!(
            out(&p.expect_on(&db(p), &["current"], 0)),
            format!("{head} (head)\n")
        );
    }
}

#[test]
fn crates_of_one_name_sharing_a_target_directory_run_only_their_own_migrations() {
    // One crate name in both projects: cargo links both binaries to one path.
    let mut a = Project::new();
    let mut b = Project::new();
    a.name = "twin_migration".to_string();
    b.name = a.name.clone();
    a.init();
    b.init();
    let own_a = a.create(&["only in a"]);
    let own_b = b.create(&["only in b"]);
    let db = |p: &Project| format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    let logs = upgrade_at_once(&[(&a, db(&a)), (&b, db(&b))], 3);
    for (log, own, other) in [(&logs[0], &own_a, &own_b), (&logs[1], &own_b, &own_a)] {
        assert!(log.contains(&format!("Applied {own} (")), "{log}");
        assert!(
            !log.contains(other.as_str()),
            "another project's migration ran:\n{log}"
        );
    }
    // and each record runs its own binary, whichever was built last
    for (p, head) in [(&a, &own_a), (&b, &own_b)] {
        let o = runs_recorded(p, p.path(), &db(p), &["current"]);
        assert_eq!(out(&o), format!("{head} (head)\n"));
    }
}

/// The runner directory of the adopted crate of `p` (its generated `main.rs` names the
/// crate's sources).
fn runner_dir(p: &Project) -> PathBuf {
    let src = p.path().join("migration").join("src");
    std::fs::read_dir(target_dir().join("cargo-migrate"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("runner").join("migration"))
        .find(|dir| {
            std::fs::read_to_string(dir.join("src").join("main.rs"))
                .is_ok_and(|main| main.contains(&format!("{:?}", src.display().to_string())))
        })
        .expect("the runner of this project")
}

/// The versions of `name` a lock file resolves.
fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let doc: toml_edit::DocumentMut = lock.parse().unwrap();
    doc["package"]
        .as_array_of_tables()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some(name))
        .map(|p| p["version"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_adopted_crate_runs_without_cargo_once_built_on_the_workspaces_versions() {
    let p = Project::new();
    p.sea_orm_cli_crate_as("migration", "m20261122_132657_add_users", "users");
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    p.expect_on(&db, &["upgrade", "head"], 0);
    let o = runs_recorded(&p, p.path(), &db, &["current"]);
    assert_eq!(out(&o), "m20261122_132657_add_users (head)\n");
    assert_eq!(err(&o), "", "no cargo, so none of its lock-file noise");
    runs_recorded(&p, &p.path().join("migration/src"), &db, &["history"]);

    let runner_lock = std::fs::read_to_string(runner_dir(&p).join("Cargo.lock")).unwrap();
    for name in ["sea-orm", "sea-orm-migration", "tokio"] {
        assert_eq!(
            locked_versions(&runner_lock, name),
            locked_versions(&p.read("Cargo.lock"), name),
            "{name}"
        );
    }

    // The workspace locks a tokio older than cargo-migrate needs: the runner moves it,
    // which `--locked` (`--frozen`) refuses, before building anything.
    let lock = p.read("Cargo.lock");
    let tokio = locked_versions(&lock, "tokio").remove(0);
    let entry = format!("name = \"tokio\"\nversion = \"{tokio}\"");
    assert!(lock.contains(&entry));
    p.write(
        "Cargo.lock",
        &lock.replace(&entry, "name = \"tokio\"\nversion = \"1.40.0\""),
    );
    let o = p.expect_on(&db, &["current", "--frozen"], 2);
    let e = one_line(&o);
    assert!(
        e.contains("`--locked`") && e.contains(&format!("tokio 1.40.0 → {tokio}")),
        "{e}"
    );
    // Without it the runner runs, and says so; the record keeps refusing `--locked`.
    let o = p.expect_on(&db, &["current", "--offline"], 0);
    assert!(err(&o).contains("tokio 1.40.0 → "), "{}", err(&o));
    p.expect_on(&db, &["current", "--locked", "--offline"], 2);
}

#[test]
fn a_crate_picked_at_the_prompt_is_not_remembered_for_runs_without_a_terminal() {
    let p = Project::new();
    p.init();
    // A second migration crate: the first one again under another name.
    let other = format!("{}_other", p.name);
    let mut files: Vec<String> = ["Cargo.toml", "build.rs", "src/main.rs", "src/lib.rs"]
        .map(String::from)
        .to_vec();
    files.extend(
        p.files("migration/src")
            .into_iter()
            .filter(|f| f.starts_with('m'))
            .map(|f| format!("src/{f}")),
    );
    for file in files {
        p.write(
            &format!("{other}/{file}"),
            &p.read(&format!("migration/{file}"))
                .replace(&p.name, &other),
        );
    }
    let manifest = p.read("Cargo.toml").replace(
        "members = [\"migration\"]",
        &format!("members = [\"migration\", \"{other}\"]"),
    );
    p.write("Cargo.toml", &manifest);
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    p.expect_on(&db, &["upgrade", "head", "-p", &p.name], 0);

    // At a terminal (`script` gives one), Enter picks the first crate.
    let cmd = p.command(&["current"]);
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let mut script = Command::new("script");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    script
        .args(["-qec", &line.join(" "), "/dev/null"])
        .current_dir(p.path())
        .env_remove("CI")
        .env("DATABASE_URL", &db)
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = script.spawn().expect("script(1)");
    // Enter, kept open until the end: a closed input ends the terminal session.
    let mut enter = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut enter, b"\r").unwrap();
    let o = child.wait_with_output().unwrap();
    drop(enter);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("Which migration crate?"),
        "{text}"
    );

    // Without a terminal the choice is not made for the user.
    let o = p.expect_on(&db, &["current"], 2);
    assert!(
        one_line(&o).contains("several migration crates"),
        "{}",
        err(&o)
    );
}

/// A built project whose migration crate reads `CM_TEST_PREFIX` at compile time, built
/// with `CM_TEST_PREFIX=a` from `migration/` below the workspace; its database URL.
fn built_reading_the_environment(p: &Project) -> String {
    p.init();
    let lib = p.read("migration/src/lib.rs");
    p.write(
        "migration/src/lib.rs",
        &format!("{lib}\npub const PREFIX: Option<&str> = option_env!(\"CM_TEST_PREFIX\");\n"),
    );
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    let mut cmd = p.command(&["upgrade", "head"]);
    cmd.current_dir(p.path().join("migration"))
        .env("DATABASE_URL", &db)
        .env("CM_TEST_PREFIX", "a");
    p.expect_with(cmd, &["upgrade", "head"], 0);
    db
}

/// `current` from `migration/`, with no cargo, `CM_TEST_PREFIX=a` and `env`: its exit
/// code (1: it needed a build) and stderr.
fn current_without_cargo(p: &Project, db: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = p.command(&["current"]);
    cmd.current_dir(p.path().join("migration"))
        .env("CARGO", "/nonexistent/cargo")
        .env("DATABASE_URL", db)
        .env("CM_TEST_PREFIX", "a");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    (o.status.code(), err(&o))
}

#[test]
fn a_binary_built_with_other_compile_time_environment_is_not_run() {
    let p = Project::new();
    let db = built_reading_the_environment(&p);
    assert_eq!(current_without_cargo(&p, &db, &[]).0, Some(0), "as built");
    let (code, e) = current_without_cargo(&p, &db, &[("CM_TEST_PREFIX", "b")]);
    assert!(
        code == Some(1) && e.contains("/nonexistent/cargo"),
        "option_env! changed: {e}"
    );
    let mut cmd = p.command(&["current"]);
    cmd.current_dir(p.path().join("migration"))
        .env("CARGO", "/nonexistent/cargo")
        .env("DATABASE_URL", &db)
        .env_remove("CM_TEST_PREFIX");
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "option_env! unset: {}", err(&o));
}

#[test]
fn a_binary_built_by_another_toolchain_is_not_run() {
    let p = Project::new();
    let db = built_reading_the_environment(&p);
    let other = [("RUSTUP_TOOLCHAIN", "cm-test-another-toolchain")];
    let (code, e) = current_without_cargo(&p, &db, &other);
    assert_eq!(code, Some(1), "`cargo +toolchain`: {e}");
    p.write(
        "rust-toolchain.toml",
        "[toolchain]\nchannel = \"nightly\"\n",
    );
    let (code, e) = current_without_cargo(&p, &db, &[]);
    assert_eq!(code, Some(1), "rust-toolchain.toml: {e}");
    std::fs::remove_file(p.path().join("rust-toolchain.toml")).unwrap();
    assert_eq!(current_without_cargo(&p, &db, &[]).0, Some(0), "as built");
}

#[test]
fn edits_are_seen_whatever_dep_info_basedir_says() {
    let p = Project::new();
    // cargo writes its dep-info relative to the workspace, and the user works below it
    p.write(".cargo/config.toml", "[build]\ndep-info-basedir = \".\"\n");
    let db = built_reading_the_environment(&p);
    assert_eq!(current_without_cargo(&p, &db, &[]).0, Some(0), "as built");
    let mut cmd = p.command(&["create", "one more"]);
    cmd.current_dir(p.path().join("migration"));
    p.expect_with(cmd, &["create"], 0);
    let (code, e) = current_without_cargo(&p, &db, &[]);
    assert_eq!(code, Some(1), "a new migration: {e}");
}

/// Copies the binary `cargo migrate build` printed to an empty directory, removes the
/// project's sources, and runs verbs there with no cargo on the `PATH`.
fn runs_standalone(p: &Project, built: &Output, db: &str, head: &str) {
    let printed = PathBuf::from(out(built).trim());
    let printed = if printed.is_absolute() {
        printed
    } else {
        p.path().join(printed)
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let bin = elsewhere.path().join("migration");
    std::fs::copy(&printed, &bin).unwrap();
    std::fs::remove_dir_all(p.path().join("migration")).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(&bin)
            .args(args)
            .current_dir(elsewhere.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("CARGO", "/nonexistent/cargo")
            .env("DATABASE_URL", db)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}{}", out(&o), err(&o));
        o
    };
    let o = run(&["upgrade", "head"]);
    assert!(
        err(&o).contains(&format!("Applied {head} (")),
        "{}",
        err(&o)
    );
    assert_eq!(out(&run(&["current"])), format!("{head} (head)\n"));
}

#[test]
fn cargo_migrate_build_makes_a_binary_that_runs_with_no_cargo_and_no_sources() {
    let p = Project::new();
    p.init();
    let head = p.create(&["add things"]);
    let o = p.expect(&["build"], 0);
    let default = target_dir()
        .join("debug")
        .join("cargo-migrate")
        .join(&p.name);
    assert!(default.is_file(), "{}", out(&o));
    let o = p.expect(&["build", "--out", "dist/migration"], 0);
    assert_eq!(out(&o), "dist/migration\n");
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    runs_standalone(&p, &o, &db, &head);
}

#[test]
fn cargo_migrate_build_makes_an_adopted_crates_runner_standalone() {
    let p = Project::new();
    p.sea_orm_cli_crate_as("migration", "m20261122_132657_add_users", "users");
    let o = p.expect(&["build", "--out", "dist/migration"], 0);
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    runs_standalone(&p, &o, &db, "m20261122_132657_add_users");
}
