//! What users read, pinned: every built-in template's output, the subcommand's help,
//! and the one-line errors of a broken user template.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cargo_migrate::subcommand::templates::{self, Context, Template, render_one};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

const ID: &str = "m20260102_030405_add_users_table";
const PARENT: &str = "m20260101_000001_create_author";

/// The context `create "add users table"` builds in a crate of the runtime, fixed in time.
fn context() -> Context {
    Context {
        id: ID.into(),
        message: "add users table".into(),
        slug: "add_users_table".into(),
        revises: vec![PARENT.into()],
        revises_rust: format!("&[{PARENT:?}]"),
        created: "2026-01-02 03:04:05 UTC".into(),
        table: "add_users_table".into(),
        legacy: false,
        prelude: "cargo_migrate::prelude::*".into(),
        crate_name: "migration".into(),
    }
}

/// The same in a sea-orm-cli crate: no `REVISES`, sea-orm-migration's prelude.
fn legacy_context() -> Context {
    Context {
        legacy: true,
        prelude: "sea_orm_migration::{prelude::*, schema::*}".into(),
        ..context()
    }
}

fn built_in(name: &str) -> Template {
    let template = templates::find(name, None).expect("a built-in template");
    assert_eq!(template.origin, templates::Origin::BuiltIn);
    template
}

/// Renders `template` and checks it writes exactly `expected` (output names, in order).
fn render(template: &Template, ctx: &Context, expected: &[&str]) -> Vec<(String, String)> {
    let files = template.render(ctx).expect("the template renders");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expected, "files of template `{}`", template.name);
    files
}

/// What insta's comparison forgives: the file's last newline, blank lines at either end,
/// trailing spaces, runs of blank lines (a template tag alone on a line leaves one).
fn assert_tidy(name: &str, text: &str) {
    assert!(
        text.ends_with('\n') && !text.ends_with("\n\n"),
        "{name}: one final newline"
    );
    assert!(
        !text.starts_with('\n'),
        "{name}: starts with a blank line:\n{text}"
    );
    assert!(
        text.lines().all(|l| l == l.trim_end()),
        "{name}: trailing whitespace:\n{text}"
    );
    assert!(
        !text.contains("\n\n\n"),
        "{name}: two blank lines in a row:\n{text}"
    );
}

/// Renders one snapshot per file, named `<prefix>_<file>` with the id left out.
fn snapshot_files(prefix: &str, files: &[(String, String)]) {
    for (name, text) in files {
        assert_tidy(name, text);
        let short = name
            .strip_prefix(ID)
            .unwrap_or(name)
            .trim_start_matches(['/', '.'])
            .replace(['/', '.'], "_");
        let short = if short == "rs" {
            "module".to_string()
        } else {
            short
        };
        insta::assert_snapshot!(format!("{prefix}_{short}"), text);
    }
}

#[test]
fn the_default_template_renders_a_migration_that_creates_a_table() {
    let files = render(&built_in("default"), &context(), &[&format!("{ID}.rs")]);
    let text = &files[0].1;
    assert!(text.contains(&format!("pub const REVISES: &[&str] = &[\"{PARENT}\"];")));
    assert!(!text.contains("todo!"));
    snapshot_files("template_default", &files);
}

#[test]
fn the_default_template_in_a_legacy_crate_has_no_revises() {
    let files = render(
        &built_in("default"),
        &legacy_context(),
        &[&format!("{ID}.rs")],
    );
    let text = &files[0].1;
    assert!(!text.contains("REVISES"), "{text}");
    assert!(text.contains("use sea_orm_migration::{prelude::*, schema::*};"));
    snapshot_files("template_default_legacy", &files);
}

#[test]
fn the_empty_template_renders_up_and_down_that_do_nothing() {
    let files = render(&built_in("empty"), &context(), &[&format!("{ID}.rs")]);
    snapshot_files("template_empty", &files);
    let files = render(
        &built_in("empty"),
        &legacy_context(),
        &[&format!("{ID}.rs")],
    );
    snapshot_files("template_empty_legacy", &files);
}

#[test]
fn the_sql_template_renders_the_module_and_its_two_sql_files() {
    // The module, and the SQL in a folder of the same name beside it.
    let expected = [
        format!("{ID}.rs"),
        format!("{ID}/up.sql"),
        format!("{ID}/down.sql"),
    ];
    let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    let template = built_in("sql");
    // The module first; the order of the others is the embedded order.
    let files = template.render(&context()).expect("renders");
    let mut names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], expected[0]);
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    snapshot_files("template_sql", &files);
}

#[test]
fn a_merge_and_a_first_revision_list_their_parents() {
    let merge = Context {
        revises: vec![PARENT.into(), "m20260101_000002_create_tag".into()],
        revises_rust: format!("&[{PARENT:?}, \"m20260101_000002_create_tag\"]"),
        message: "merge heads".into(),
        ..context()
    };
    let files = render(&built_in("empty"), &merge, &[&format!("{ID}.rs")]);
    snapshot_files("template_empty_merge", &files);
    let first = Context {
        revises: Vec::new(),
        revises_rust: "&[]".into(),
        ..context()
    };
    let files = render(&built_in("default"), &first, &[&format!("{ID}.rs")]);
    assert!(
        files[0].1.contains("//! Revises: (base)\n"),
        "{}",
        files[0].1
    );
    assert!(files[0].1.contains("pub const REVISES: &[&str] = &[];\n"));
}

/// The keys `init` renders its files with (src/subcommand/init.rs).
fn init_context(table: Option<&str>) -> serde_json::Value {
    json!({
        "crate_name": "migration",
        "lib_name": "migration",
        "runtime_dep": "{ version = \"0.1\", default-features = false, features = [\"postgres\", \"prompt\"] }",
        "first": "m20260102_030405_create_post_table",
        "table": table,
    })
}

#[test]
fn the_init_templates_render_a_crate() {
    let names: Vec<&str> = templates::init_files().map(|(n, _)| n).collect();
    assert_eq!(names, ["Cargo.toml", "lib.rs", "main.rs", "README.md"]);
    for (file, source) in templates::init_files() {
        let text =
            render_one(&format!("init {file}"), source, &init_context(None)).expect("renders");
        assert_tidy(file, &text);
        insta::assert_snapshot!(format!("init_{}", file.replace('.', "_")), text);
    }
    // A configured tracking table goes into `discover!`.
    let (_, lib) = templates::init_files()
        .find(|(n, _)| *n == "lib.rs")
        .expect("lib.rs");
    let text = render_one("init lib.rs", lib, &init_context(Some("my_migrations"))).unwrap();
    assert_tidy("lib.rs", &text);
    insta::assert_snapshot!("init_lib_rs_with_table", text);
}

/// Runs the subcommand's binary with a pipe for stdout and a fixed width and no colour.
fn run(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd);
    cmd.args(args).output().expect("run cargo-migrate")
}

/// Environment that would change the help text: clap shows the values of `env` flags.
fn isolate(cmd: &mut Command) {
    cmd.env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("LINES", "50")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("DATABASE_URL")
        .env_remove("CARGO_NET_OFFLINE")
        .env_remove("CARGO_MIGRATE_RUNTIME_PATH")
        .stdin(Stdio::null());
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn expect_ok(args: &[&str], o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "`{}`: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

#[test]
fn help_of_the_subcommand_and_its_commands() {
    for (name, args) in [
        ("help_migrate", &["migrate", "--help"][..]),
        ("help_create", &["migrate", "create", "--help"]),
        ("help_init", &["migrate", "init", "--help"]),
        ("help_merge", &["migrate", "merge", "--help"]),
        ("help_templates", &["migrate", "templates", "--help"]),
        ("help_upgrade", &["migrate", "upgrade", "--help"]),
    ] {
        let out = expect_ok(args, &run(args));
        assert!(!out.contains('\x1b'), "no colour in a pipe: {out:?}");
        assert!(
            out.lines().all(|l| l.chars().count() <= 100),
            "wrapped at COLUMNS=100:\n{out}"
        );
        // The same again: nothing in it depends on the moment or the machine.
        assert_eq!(
            out,
            text(&run(args).stdout),
            "`{}` is stable",
            args.join(" ")
        );
        insta::assert_snapshot!(name, out);
    }
}

#[test]
fn cargo_options_in_the_help_are_cargo_s_own() {
    let out = expect_ok(&["migrate", "--help"], &run(&["migrate", "--help"]));
    let cargo_section: String = out
        .split_once("Cargo options:\n")
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or_default().to_string())
        .expect("a `Cargo options:` section");
    assert!(cargo_section.contains("--manifest-path"), "{out}");
    for flag in [
        "--database-url",
        "--format",
        "--lock-timeout",
        "--wait",
        "--yes",
    ] {
        assert!(
            !cargo_section.contains(flag),
            "`{flag}` is listed under `Cargo options:`:\n{out}"
        );
    }
}

#[test]
fn help_without_the_migrate_word_is_the_same() {
    // `cargo-migrate --help` run directly reads as `cargo migrate --help`.
    let direct = expect_ok(&["--help"], &run(&["--help"]));
    let through_cargo = expect_ok(&["migrate", "--help"], &run(&["migrate", "--help"]));
    assert_eq!(direct, through_cargo);
}

fn bin_dir() -> PathBuf {
    Path::new(BIN)
        .parent()
        .expect("the binary's directory")
        .to_path_buf()
}

#[test]
fn cargo_help_migrate_prints_the_subcommands_help() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut path = vec![bin_dir()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let mut cmd = Command::new(cargo);
    isolate(&mut cmd);
    let o = cmd
        .args(["help", "migrate"])
        .env(
            "PATH",
            std::env::join_paths(path).expect("a PATH of valid directories"),
        )
        .output()
        .expect("run cargo");
    let through_cargo = expect_ok(&["cargo", "help", "migrate"], &o);
    let direct = expect_ok(&["migrate", "--help"], &run(&["migrate", "--help"]));
    assert_eq!(through_cargo, direct);
}

#[test]
fn version_names_the_package_and_its_version() {
    for args in [&["--version"][..], &["migrate", "--version"], &["-V"]] {
        let out = expect_ok(args, &run(args));
        assert_eq!(
            out,
            format!("cargo-migrate {}\n", env!("CARGO_PKG_VERSION")),
            "`{}`",
            args.join(" ")
        );
    }
}

/// A user template directory holding `default/migration.rs.j2` with `source`.
fn user_template(source: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("default");
    std::fs::create_dir(&folder).expect("template folder");
    let file = folder.join(templates::MODULE);
    std::fs::write(&file, source).expect("template file");
    (dir, file)
}

fn render_error(source: &str) -> (String, PathBuf) {
    let (dir, file) = user_template(source);
    let template = templates::find("default", Some(dir.path())).expect("the user's template");
    assert_eq!(
        template.origin,
        templates::Origin::User(dir.path().join("default")),
        "the user's folder replaces the built-in"
    );
    let err = template
        .render(&context())
        .expect_err("a broken template fails");
    (err.to_string(), file)
}

#[test]
fn a_template_syntax_error_is_one_line_naming_the_file_and_the_line() {
    let (message, file) = render_error("//! {{ message }}\n//! ok\n{% if %}\n{% endif %}\n");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with(&format!("template {}, line 3: ", file.display())),
        "{message}"
    );
    assert!(
        message.contains("syntax") || message.contains("expected"),
        "{message}"
    );
}

#[test]
fn an_unknown_template_variable_is_named_with_the_known_ones() {
    let (message, file) = render_error("//! {{ message }}\n//! {{ nope }}\n");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with(&format!(
            "template {}, line 2: unknown variable `nope`; the variables are ",
            file.display()
        )),
        "{message}"
    );
    for known in [
        "`id`",
        "`message`",
        "`revises_rust`",
        "`legacy`",
        "`prelude`",
    ] {
        assert!(message.contains(known), "{message}");
    }
}

/// What `create` writes passes `cargo fmt --check` as written, for the shortest and the
/// longest slugs and for a merge of three long ids: a user's CI stays green.
#[test]
fn every_built_in_template_is_rustfmt_clean_at_any_id_length() {
    let Some(rustfmt) = ["rustfmt"].into_iter().find(|r| {
        Command::new(r)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        eprintln!("SKIPPED rustfmt check of the templates: no rustfmt on PATH");
        return;
    };
    let long = "abcdefghij_abcdefghij_abcdefghij_abcdefg";
    let parents: Vec<String> = (1..=3)
        .map(|i| format!("m2026010{i}_000000_{long}"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for (slug, revises) in [
        ("x", vec![PARENT.to_string()]),
        (long, parents.clone()),
        (long, vec![parents[0].clone()]),
    ] {
        for legacy in [false, true] {
            let id = format!("m20260102_030405_{slug}");
            let ctx = Context {
                id: id.clone(),
                slug: slug.into(),
                table: slug.into(),
                revises_rust: cargo_migrate::subcommand::create::revises_rust(&revises),
                revises: revises.clone(),
                ..if legacy { legacy_context() } else { context() }
            };
            for name in ["default", "empty", "sql"] {
                for (file, text) in built_in(name).render(&ctx).unwrap() {
                    if !file.ends_with(".rs") {
                        continue;
                    }
                    let path = dir
                        .path()
                        .join(format!("{name}_{}_{legacy}.rs", slug.len()));
                    std::fs::write(&path, &text).unwrap();
                    let o = Command::new(rustfmt)
                        .args(["--edition", "2024", "--check", "--color", "never"])
                        .arg(&path)
                        .output()
                        .unwrap();
                    assert!(
                        o.status.success(),
                        "template `{name}` ({file}) is not rustfmt-clean:\n{}",
                        String::from_utf8_lossy(&o.stdout)
                    );
                }
            }
        }
    }
}

#[test]
fn the_example_crate_finds_its_migrations_with_the_build_script_init_writes() {
    let example = std::fs::read_to_string(Path::new(REPO).join("migrations").join("build.rs"))
        .expect("migrations/build.rs");
    assert_eq!(example, templates::BUILD_SCRIPT);
    assert_tidy("build.rs", templates::BUILD_SCRIPT);
}
