//! Which database a verb opens, if any: an offline verb needs none; a SQLite URL names
//! a file, and a missing one is created only when asked for. A relative path
//! is relative to the workspace root for `cargo migrate` whatever names it (flag,
//! environment, `.env`, configuration), and to the working directory for the migration
//! binary run on its own. A missing file is an error for every verb, unless the URL
//! asks for it (`mode=rwc`) or is the project's own default (`.env`, configuration):
//! then a writing verb creates it and a read-only verb reads an empty database without
//! creating anything.

#[path = "support/project.rs"]
mod project;
mod support;

use std::path::Path;
use std::process::{Command, Output};

use project::{Project, err, one_line, out};

/// `cargo migrate` with a URL in the flag or in `DATABASE_URL`, from `dir`.
fn run(p: &Project, dir: &Path, via_env: bool, url: &str, args: &[&str], code: i32) -> Output {
    let mut all = Vec::new();
    if !via_env {
        all.extend(["-u", url]);
    }
    all.extend(args);
    let mut cmd = p.command(&all);
    cmd.current_dir(dir);
    if via_env {
        cmd.env("DATABASE_URL", url);
    }
    p.expect_with(cmd, &all, code)
}

#[test]
fn a_missing_sqlite_file_is_created_only_where_the_project_says() {
    let p = Project::new();
    p.init();
    p.expect(&["heads"], 0); // builds the binary: what follows is its output alone
    let root = p.path();
    let sub = root.join("migration");

    // A typo'd path: every verb says so, naming the absolute path, and creates nothing.
    let typo = root.join("myap.db");
    let reads: [&[&str]; 4] = [&["status"], &["current"], &["check"], &["history", "-i"]];
    for (i, args) in reads.into_iter().enumerate() {
        let o = run(&p, root, i % 2 == 1, "sqlite://myap.db", args, 2);
        let e = one_line(&o);
        assert!(
            e.contains(&format!("no SQLite database at {}", typo.display())),
            "{args:?}: {e}"
        );
        assert_eq!(
            out(&o),
            "",
            "{args:?}: no data from a database that is not there"
        );
    }
    let writes: [&[&str]; 4] = [
        &["upgrade", "head"],
        &["stamp", "head", "--yes"],
        &["downgrade", "base", "--yes"],
        &["redo"],
    ];
    for (i, args) in writes.into_iter().enumerate() {
        let o = run(&p, &sub, i % 2 == 1, "sqlite://myap.db", args, 2);
        let e = one_line(&o);
        assert!(
            e.contains(&format!("no SQLite database at {}", typo.display()))
                && e.contains(&format!("sqlite://{}?mode=rwc", typo.display())),
            "{args:?}: {e}"
        );
    }
    assert!(!typo.exists() && !sub.join("myap.db").exists());

    // `mode=rwc` asks for the file: a read creates nothing, a write creates it, at the
    // root whichever directory and whichever source.
    for (via_env, name) in [(false, "flag.db"), (true, "env.db")] {
        let url = format!("sqlite://{name}?mode=rwc");
        let o = run(&p, &sub, via_env, &url, &["status"], 0);
        assert!(out(&o).contains("pending"), "{}", out(&o));
        assert!(!root.join(name).exists(), "a read creates nothing");
        run(&p, &sub, via_env, &url, &["upgrade", "head"], 0);
        assert!(root.join(name).is_file(), "{name} at the workspace root");
        assert!(!sub.join(name).exists());
    }

    // A schema is PostgreSQL's: on SQLite it is refused, not ignored.
    let mut cmd = in_dir(&p, root, &["current"]);
    cmd.env("DATABASE_SCHEMA", "app");
    let o = p.expect_with(cmd, &["current"], 2);
    assert!(
        one_line(&o).contains("selects a PostgreSQL schema"),
        "{}",
        err(&o)
    );

    // The project's own default (`init`'s `.env`) is created by the first upgrade.
    let env = p.read(".env");
    let file = env
        .lines()
        .find_map(|l| l.strip_prefix("DATABASE_URL=sqlite://"))
        .unwrap_or_else(|| panic!("init's .env: {env}"));
    let dotenv_db = root.join(file);
    let o = p.expect_with(in_dir(&p, &sub, &["status"]), &["status"], 0);
    assert!(out(&o).contains("pending"), "{}", out(&o));
    assert!(!dotenv_db.exists(), "a read creates nothing");
    p.expect_with(in_dir(&p, &sub, &["upgrade"]), &["upgrade"], 0);
    assert!(dotenv_db.is_file());

    // So is the configured one.
    std::fs::remove_file(root.join(".env")).unwrap();
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ndatabase-url = \"sqlite://cfg.db\"\n"),
    );
    p.expect_with(in_dir(&p, &sub, &["upgrade"]), &["upgrade"], 0);
    assert!(root.join("cfg.db").is_file() && !sub.join("cfg.db").exists());
}

fn in_dir(p: &Project, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = p.command(args);
    cmd.current_dir(dir);
    cmd
}

/// The migration binary on its own (production: no workspace) reads relative paths
/// from its working directory, whichever source names them.
#[test]
fn the_binary_on_its_own_reads_paths_from_its_working_directory() {
    let p = Project::new();
    p.init();
    p.expect(&["heads"], 0); // builds the binary
    let binary = project::target_dir().join("debug").join(&p.name);
    assert!(binary.is_file(), "{}", binary.display());
    let here = tempfile::tempdir().unwrap();
    let bin = |args: &[&str], env_url: Option<&str>| {
        let mut cmd = Command::new(&binary);
        cmd.args(args)
            .current_dir(here.path())
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_SCHEMA")
            .env("NO_COLOR", "1");
        if let Some(url) = env_url {
            cmd.env("DATABASE_URL", url);
        }
        cmd.output().unwrap()
    };

    let o = bin(&["-u", "sqlite://typo.db", "upgrade"], None);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let typo = here.path().join("typo.db");
    assert!(
        err(&o).contains(&format!("no SQLite database at {}", typo.display())),
        "{}",
        err(&o)
    );
    assert!(!typo.exists());

    let o = bin(&["upgrade"], Some("sqlite://env.db?mode=rwc"));
    assert!(o.status.success(), "{}", err(&o));
    assert!(here.path().join("env.db").is_file());

    // `.env` is the project's default: created by a write.
    std::fs::write(here.path().join(".env"), "DATABASE_URL=sqlite://dot.db\n").unwrap();
    let o = bin(&["current"], None);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        !here.path().join("dot.db").exists(),
        "a read creates nothing"
    );
    let o = bin(&["upgrade"], None);
    assert!(o.status.success(), "{}", err(&o));
    assert!(here.path().join("dot.db").is_file());
}

/// `show` of a revision whose id contains `current` is an offline verb like any `show`
/// of a revision: only a spec that names the database's state connects.
#[test]
fn show_of_an_id_containing_current_needs_no_database() {
    let p = Project::new();
    p.init();
    let id = p.create(&["add current price"]);
    assert!(id.ends_with("_add_current_price"), "{id}");
    std::fs::remove_file(p.path().join(".env")).unwrap();
    let o = p.expect(&["show", &id], 0);
    assert!(out(&o).contains(&id), "{}", out(&o));
    let o = p.expect(&["history", "-r", &format!("{id}:")], 0);
    assert!(out(&o).contains(&id), "{}", out(&o));
    // `current` itself still needs one.
    let o = p.expect(&["show", "current"], 2);
    assert!(one_line(&o).contains("no database URL"), "{}", err(&o));
}
