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
use std::process::Command;

use project::Project;
use support::Via;
use support::run::Run;

/// `cargo migrate` from `dir` with a URL in the flag (`-u`) or in `DATABASE_URL`.
fn run(p: &Project, dir: &Path, via_env: bool, url: &str, args: &[&str]) -> Run {
    if via_env {
        p.run(args).on(url).dir(dir)
    } else {
        let all: Vec<&str> = ["-u", url]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        p.run(&all).dir(dir)
    }
}

#[test]
fn a_missing_sqlite_file_is_created_only_where_the_project_says() {
    let p = Project::new();
    p.init();
    p.run(&["heads"]).status(0); // builds the binary: what follows is its output alone
    a_typo_is_named_by_every_verb_and_creates_nothing(&p);
    mode_rwc_creates_the_file_at_the_root_on_a_write(&p);

    // A schema is PostgreSQL's: on SQLite it is refused, not ignored.
    p.run(&["current"])
        .dir(p.path())
        .env("DATABASE_SCHEMA", "app")
        .status(2)
        .one_line()
        .stderr_has("selects a PostgreSQL schema");

    the_projects_own_default_is_created_by_the_first_upgrade(&p);
}

/// A typo'd path: every verb says so, naming the absolute path, and creates nothing.
fn a_typo_is_named_by_every_verb_and_creates_nothing(p: &Project) {
    let (root, sub) = (p.path(), p.path().join("migration"));
    let typo = root.join("myap.db");
    let named = format!("no SQLite database at {}", typo.display());
    let reads: [&[&str]; 4] = [&["status"], &["current"], &["check"], &["history", "-i"]];
    for (i, args) in reads.into_iter().enumerate() {
        run(p, root, i % 2 == 1, "sqlite://myap.db", args)
            .status(2)
            .one_line()
            .stderr_has(&named)
            // no data from a database that is not there
            .stdout_is("");
    }
    let writes: [&[&str]; 4] = [
        &["upgrade", "head"],
        &["stamp", "head", "--yes"],
        &["downgrade", "base", "--yes"],
        &["redo"],
    ];
    for (i, args) in writes.into_iter().enumerate() {
        run(p, &sub, i % 2 == 1, "sqlite://myap.db", args)
            .status(2)
            .one_line()
            .stderr_has(&named)
            .stderr_has(&format!("sqlite://{}?mode=rwc", typo.display()));
    }
    assert!(!typo.exists() && !sub.join("myap.db").exists());
}

/// `mode=rwc` asks for the file: a read creates nothing, a write creates it, at the root
/// whichever directory and whichever source.
fn mode_rwc_creates_the_file_at_the_root_on_a_write(p: &Project) {
    let (root, sub) = (p.path(), p.path().join("migration"));
    for (via_env, name) in [(false, "flag.db"), (true, "env.db")] {
        let url = format!("sqlite://{name}?mode=rwc");
        run(p, &sub, via_env, &url, &["status"])
            .status(0)
            .stdout_has("pending");
        assert!(!root.join(name).exists(), "a read creates nothing");
        run(p, &sub, via_env, &url, &["upgrade", "head"]).status(0);
        assert!(root.join(name).is_file(), "{name} at the workspace root");
        assert!(!sub.join(name).exists());
    }
}

/// The project's own default (`init`'s `.env`) is created by the first upgrade; so is
/// the configured one.
fn the_projects_own_default_is_created_by_the_first_upgrade(p: &Project) {
    let (root, sub) = (p.path(), p.path().join("migration"));
    let env = p.read(".env");
    let file = env
        .lines()
        .find_map(|l| l.strip_prefix("DATABASE_URL=sqlite://"))
        .unwrap_or_else(|| panic!("init's .env: {env}"));
    let dotenv_db = root.join(file);
    p.run(&["status"]).dir(&sub).status(0).stdout_has("pending");
    assert!(!dotenv_db.exists(), "a read creates nothing");
    p.run(&["upgrade"]).dir(&sub).status(0);
    assert!(dotenv_db.is_file());

    std::fs::remove_file(root.join(".env")).unwrap();
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\ndatabase-url = \"sqlite://cfg.db\"\n"),
    );
    p.run(&["upgrade"]).dir(&sub).status(0);
    assert!(root.join("cfg.db").is_file() && !sub.join("cfg.db").exists());
}

/// The migration binary on its own (production: no workspace) reads relative paths
/// from its working directory, whichever source names them.
#[test]
fn the_binary_on_its_own_reads_paths_from_its_working_directory() {
    let p = Project::new();
    p.init();
    p.run(&["heads"]).status(0); // builds the binary
    let binary = project::target_dir().join("debug").join(&p.name);
    assert!(binary.is_file(), "{}", binary.display());
    let here = tempfile::tempdir().unwrap();
    let bin = |args: &[&str]| {
        let mut cmd = Command::new(&binary);
        cmd.current_dir(here.path())
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_SCHEMA")
            .env("NO_COLOR", "1");
        Run::new(&p.name, cmd, args, Via::Env)
    };

    let typo = here.path().join("typo.db");
    bin(&["-u", "sqlite://typo.db", "upgrade"])
        .status(2)
        .stderr_has(&format!("no SQLite database at {}", typo.display()));
    assert!(!typo.exists());

    bin(&["upgrade"]).on("sqlite://env.db?mode=rwc").status(0);
    assert!(here.path().join("env.db").is_file());

    // `.env` is the project's default: created by a write.
    std::fs::write(here.path().join(".env"), "DATABASE_URL=sqlite://dot.db\n").unwrap();
    bin(&["current"]).status(0);
    assert!(
        !here.path().join("dot.db").exists(),
        "a read creates nothing"
    );
    bin(&["upgrade"]).status(0);
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
    p.run(&["show", &id]).status(0).stdout_has(&id);
    p.run(&["history", "-r", &format!("{id}:")])
        .status(0)
        .stdout_has(&id);
    // `current` itself still needs one.
    p.run(&["show", "current"])
        .status(2)
        .one_line()
        .stderr_has("no database URL");
}
