//! No output of the `cargo-migrate` subcommand shows a database password, on the paths
//! that fail before anything is built: outside any workspace, a bad URL in this
//! repository, a bad `.env` or configuration in a workspace of its own. (The migration
//! binary's verbs, successes and failures: migrations/tests/bad_input.rs.)

use std::path::Path;
use std::process::{Command, Output, Stdio};

mod support;

use support::{SECRET, SECRET_DECODED, SECRET_ENCODED, Via};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");

/// `cargo-migrate` in `dir` with `args`, no colours and nothing from the test's
/// environment that would change the outcome.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("CARGO_MIGRATE_RUNTIME_PATH")
        .stdin(Stdio::null())
        .args(args);
    cmd
}

/// Runs it with the URL passed as `via` says (after the arguments, as a user adds it).
fn run(dir: &Path, url: &str, via: Via, args: &[&str]) -> Output {
    let mut cmd = command(dir, args);
    match via {
        Via::Flag => {
            cmd.args(["--database-url", url]);
        }
        Via::Env => {
            cmd.env("DATABASE_URL", url);
        }
    }
    cmd.output().expect("run cargo-migrate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit 2, one `error: ` line, and no form of the password on either stream.
fn assert_refused_in_one_line(o: &Output, what: &str) {
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    for (stream, shown) in [("stdout", &out), ("stderr", &err)] {
        for secret in [SECRET, SECRET_ENCODED, SECRET_DECODED] {
            assert!(
                !shown.contains(secret),
                "`{what}` printed the password `{secret}` on {stream}:\n{shown}"
            );
        }
    }
    assert_eq!(
        o.status.code(),
        Some(2),
        "`{what}` exited {:?}\nstdout:\n{out}\nstderr:\n{err}",
        o.status.code()
    );
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "`{what}`: not a one-line error:\n{err}"
    );
    assert!(
        !err.contains("Compiling"),
        "`{what}` built something:\n{err}"
    );
}

/// Runs `args` with `url` given `via`: refused in one line, without the password.
fn assert_url_refused(dir: &Path, url: &str, via: Via, args: &[&str]) {
    let what = format!("cargo-migrate {} (URL via {via:?})", args.join(" "));
    assert_refused_in_one_line(&run(dir, url, via, args), &what);
}

/// This repository's manifest.
fn this_manifest() -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    manifest.to_str().expect("a UTF-8 path").to_string()
}

/// Every database verb, at each output setting, with and without `migrate` in front.
fn verb_lines() -> Vec<Vec<&'static str>> {
    let verbs: [&[&str]; 11] = [
        &["upgrade", "head"],
        &["downgrade", "-1", "--yes"],
        &["redo"],
        &["stamp", "head", "--yes"],
        &["history", "-i", "-v"],
        &["heads", "-v"],
        &["current", "-v"],
        &["status"],
        &["check"],
        &["show", "head"],
        &["branches", "-v"],
    ];
    let settings: [&[&str]; 4] = [&[], &["-q"], &["-vv"], &["--format", "json"]];
    let mut lines = Vec::new();
    for verb in verbs {
        for setting in settings {
            for prefix in [&["migrate"][..], &[]] {
                lines.push(prefix.iter().chain(verb).chain(setting).copied().collect());
            }
        }
    }
    lines
}

/// Outside any workspace every verb stops at finding the workspace, before anything
/// else, and says so without the URL's password.
#[test]
fn outside_a_workspace_no_verb_shows_the_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let urls = [
        format!("postgres://app:{SECRET}@127.0.0.1:5432/app"),
        format!("mysql://root:{SECRET_ENCODED}@127.0.0.1:3306/test"),
        format!("oracle://app:{SECRET}@db/app"),
    ];
    for (i, url) in urls.iter().enumerate() {
        for via in [Via::Flag, Via::Env] {
            // Every line for the first URL; the most verbose one for the others.
            let lines = verb_lines()
                .into_iter()
                .filter(|l| i == 0 || l[0] == "migrate" && l.contains(&"-vv"));
            for args in lines {
                assert_url_refused(dir.path(), url, via, &args);
            }
        }
    }
}

/// In this repository, a URL that cannot be used is refused before the migration crate
/// is built, and the refusal does not show its password.
#[test]
fn a_bad_url_in_a_workspace_is_refused_before_building_without_the_password() {
    let manifest = this_manifest();
    let dir = tempfile::tempdir().expect("temp dir");
    for url in [
        format!("oracle://app:{SECRET}@db/app"),
        format!("oracle://app:{SECRET_ENCODED}@db/app"),
        "mysql:///app".to_string(),
        "sqlite:".to_string(),
    ] {
        for via in [Via::Flag, Via::Env] {
            for args in [
                &["migrate", "upgrade", "head"][..],
                &["migrate", "current", "-vv"],
                &["migrate", "status", "--format", "json"],
                &["migrate", "stamp", "--yes", "base", "-q"],
                &["history", "-i"],
            ] {
                let mut args = args.to_vec();
                args.extend(["--manifest-path", &manifest]);
                assert_url_refused(dir.path(), &url, via, &args);
            }
        }
    }
}

/// URLs that are not quite URLs hold a password too.
#[test]
fn a_malformed_url_in_a_workspace_does_not_show_the_password() {
    let manifest = this_manifest();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut leaks = Vec::new();
    for url in [
        format!("postgres//app:{SECRET}@db/app"),
        format!("postgres:/app:{SECRET}@db/app"),
        format!("mysql:///app?password={SECRET}"),
    ] {
        let args = ["migrate", "current", "--manifest-path", &manifest];
        let o = run(dir.path(), &url, Via::Flag, &args);
        let shown = format!("{}{}", text(&o.stdout), text(&o.stderr));
        if shown.contains(SECRET) {
            leaks.push(shown);
        }
    }
    assert!(leaks.is_empty(), "the password shows:\n{}", leaks.join(""));
}

/// A workspace of its own whose migration crate exists but is never built: the verbs
/// stop at its `.env` or its configuration.
fn workspace(env: Option<&str>, metadata_url: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let metadata = metadata_url
        .map(|u| format!("\n[workspace.metadata.migrate]\ndatabase-url = \"{u}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nmembers = [\"migration\"]\nresolver = \"3\"\n{metadata}"),
    )
    .expect("write Cargo.toml");
    std::fs::create_dir_all(root.join("migration/src")).expect("mkdir");
    std::fs::write(
        root.join("migration/Cargo.toml"),
        format!(
            "[package]\nname = \"migration\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\ncargo-migrate = {{ path = {:?}, default-features = false, features = [\"postgres\"] }}\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .expect("write migration/Cargo.toml");
    std::fs::write(root.join("migration/src/main.rs"), "fn main() {}\n").expect("main.rs");
    if let Some(env) = env {
        std::fs::write(root.join(".env"), env).expect("write .env");
    }
    dir
}

#[test]
fn a_bad_dotenv_or_configuration_does_not_show_the_password() {
    let cases = [
        // A line dotenv cannot parse, which holds the password.
        (
            Some(format!(
                "DATABASE_URL=postgres://app:{SECRET}@db/app 'unterminated\n"
            )),
            None,
        ),
        (
            Some(format!("DATABASE_URL=\"postgres://app:{SECRET}@db/app\n")),
            None,
        ),
        // Unsupported schemes from `.env` and from the configuration.
        (
            Some(format!("DATABASE_URL=oracle://app:{SECRET}@db/app\n")),
            None,
        ),
        (None, Some(format!("oracle://app:{SECRET_ENCODED}@db/app"))),
    ];
    for (env, metadata) in cases {
        let ws = workspace(env.as_deref(), metadata.as_deref());
        for args in [
            &["migrate", "upgrade", "head"][..],
            &["migrate", "current", "-vv"],
            &["migrate", "status", "--format", "json"],
        ] {
            let what = format!("cargo-migrate {} with .env {env:?}", args.join(" "));
            let o = command(ws.path(), args)
                .output()
                .expect("run cargo-migrate");
            assert_refused_in_one_line(&o, &what);
        }
    }
}

/// `--help` says DATABASE_URL is read, never what it holds.
#[test]
fn help_never_shows_the_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("postgres://app:{SECRET}@db/app");
    for args in [
        &["migrate", "--help"][..],
        &["migrate", "upgrade", "--help"],
        &["migrate", "current", "-h"],
        &["--help"],
    ] {
        let o = run(dir.path(), &url, Via::Env, args);
        let shown = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_eq!(o.status.code(), Some(0), "{}: {shown}", args.join(" "));
        assert!(!shown.contains(SECRET), "{}: {shown}", args.join(" "));
    }
}
