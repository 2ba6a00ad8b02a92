//! What `cargo migrate` runs is this workspace's migrations as they are now, whatever
//! else shares the target directory, and no cargo once built: projects sharing a target
//! directory, the freshness record (no stale binary ever runs), adopted sea-orm-cli
//! crates without cargo, and `cargo migrate build`'s standalone binary.

#[path = "support/project.rs"]
mod project;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use project::{Project, target_dir};
use support::Via;
use support::run::{Ran, Run};

/// `args` in `dir` with no cargo to be found: only a recorded build can answer.
fn without_cargo(p: &Project, dir: &Path, db: &str, args: &[&str]) -> Run {
    p.run(args)
        .dir(dir)
        .env("CARGO", "/nonexistent/cargo")
        .on(db)
}

/// `args` ran the recorded binary.
fn runs_recorded(p: &Project, dir: &Path, db: &str, args: &[&str]) -> Ran {
    without_cargo(p, dir, db, args).status(0)
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
                    let run = |args: &[&str]| p.run(args).on(db).status(0).stderr();
                    for _ in 0..rounds {
                        log += &run(&["upgrade", "head"]);
                        log += &run(&["downgrade", "base", "--yes"]);
                    }
                    log += &run(&["upgrade", "head"]);
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
        p.run(&["current"])
            .on(&db(p))
            .status(0)
            .stdout_is(&format!("{head} (head)\n"));
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
        runs_recorded(p, p.path(), &db(p), &["current"]).stdout_is(&format!("{head} (head)\n"));
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
    p.run(&["upgrade", "head"]).on(&db).status(0);
    runs_recorded(&p, p.path(), &db, &["current"])
        .stdout_is("m20261122_132657_add_users (head)\n")
        .stderr_is(""); // no cargo, so none of its lock-file noise
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
    p.run(&["current", "--frozen"])
        .on(&db)
        .status(2)
        .one_line()
        .stderr_has("`--locked`")
        .stderr_has(&format!("tokio 1.40.0 → {tokio}"));
    // Without it the runner runs, and says so; the record keeps refusing `--locked`.
    p.run(&["current", "--offline"])
        .on(&db)
        .status(0)
        .stderr_has("tokio 1.40.0 → ");
    p.run(&["current", "--locked", "--offline"])
        .on(&db)
        .status(2);
}

#[test]
fn a_crate_picked_at_the_prompt_is_not_remembered_for_runs_without_a_terminal() {
    let p = Project::new();
    p.init();
    a_second_migration_crate(&p);
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    p.run(&["upgrade", "head", "-p", &p.name]).on(&db).status(0);

    // At a terminal (`script` gives one), Enter picks the first crate.
    let (status, text) = current_at_a_terminal_answering_enter(&p, &db);
    assert!(
        status.success() && text.contains("Which migration crate?"),
        "{text}"
    );

    // Without a terminal the choice is not made for the user.
    p.run(&["current"])
        .on(&db)
        .status(2)
        .one_line()
        .stderr_has("several migration crates");
}

/// A second migration crate: the first one again under another name.
fn a_second_migration_crate(p: &Project) {
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
}

/// `current` on a terminal of `script`, answering its question with Enter: its exit
/// status and what the terminal showed.
fn current_at_a_terminal_answering_enter(
    p: &Project,
    db: &str,
) -> (std::process::ExitStatus, String) {
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
        .env("DATABASE_URL", db)
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
    (o.status, String::from_utf8_lossy(&o.stdout).into_owned())
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
    p.run(&["upgrade", "head"])
        .dir(p.path().join("migration"))
        .on(&db)
        .env("CM_TEST_PREFIX", "a")
        .status(0);
    db
}

/// `current` from `migration/`, with no cargo, `CM_TEST_PREFIX=a` and `env`: its exit
/// code (1: it needed a build) and stderr.
fn current_without_cargo(p: &Project, db: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut run =
        without_cargo(p, &p.path().join("migration"), db, &["current"]).env("CM_TEST_PREFIX", "a");
    for (k, v) in env {
        run = run.env(k, v);
    }
    let o = run.output();
    (o.code(), o.stderr())
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
    // option_env! unset
    without_cargo(&p, &p.path().join("migration"), &db, &["current"])
        .env_remove("CM_TEST_PREFIX")
        .status(1);
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
    p.run(&["create", "one more"])
        .dir(p.path().join("migration"))
        .status(0);
    let (code, e) = current_without_cargo(&p, &db, &[]);
    assert_eq!(code, Some(1), "a new migration: {e}");
}

/// Copies the binary `cargo migrate build` printed to an empty directory, removes the
/// project's sources, and runs verbs there with no cargo on the `PATH`.
fn runs_standalone(p: &Project, built: &Ran, db: &str, head: &str) {
    let printed = PathBuf::from(built.stdout().trim());
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
        let mut cmd = Command::new(&bin);
        cmd.current_dir(elsewhere.path())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("CARGO", "/nonexistent/cargo")
            .env("NO_COLOR", "1");
        Run::new("migration", cmd, args, Via::Env).on(db).status(0)
    };
    run(&["upgrade", "head"]).stderr_has(&format!("Applied {head} ("));
    run(&["current"]).stdout_is(&format!("{head} (head)\n"));
}

#[test]
fn cargo_migrate_build_makes_a_binary_that_runs_with_no_cargo_and_no_sources() {
    let p = Project::new();
    p.init();
    let head = p.create(&["add things"]);
    let o = p.run(&["build"]).status(0);
    let default = target_dir()
        .join("debug")
        .join("cargo-migrate")
        .join(&p.name);
    assert!(default.is_file(), "{}", o.stdout());
    let o = p
        .run(&["build", "--out", "dist/migration"])
        .status(0)
        .stdout_is("dist/migration\n");
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    runs_standalone(&p, &o, &db, &head);
}

#[test]
fn cargo_migrate_build_makes_an_adopted_crates_runner_standalone() {
    let p = Project::new();
    p.sea_orm_cli_crate_as("migration", "m20261122_132657_add_users", "users");
    let o = p.run(&["build", "--out", "dist/migration"]).status(0);
    let db = format!("sqlite://{}/app.db?mode=rwc", p.path().display());
    runs_standalone(&p, &o, &db, "m20261122_132657_add_users");
}
