//! `cargo migrate`: the cargo subcommand. It finds the workspace and its migration
//! crate, writes migrations from templates (`init`, `create`, `merge`, `templates`),
//! and hands every database verb to the migration crate's binary, which it builds
//! only when something changed.

pub mod args;
pub mod build;
pub mod cargo;
pub mod compat;
pub mod config;
pub mod create;
pub mod dburl;
pub mod error;
pub mod forward;
pub mod fresh;
pub mod index;
pub mod init;
pub mod legacy;
pub mod naming;
pub mod profile;
pub mod register;
pub mod runtime_dep;
pub mod source;
pub mod templates;
pub mod workspace;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::app::render::Output;

use args::{CargoCli, Command, MigrateArgs, TemplatesAction};
use error::{Result, ToolError};
use workspace::Workspace;

/// The binary's `main`: parses `argv`, runs, and maps errors to exit codes.
pub fn main(argv: Vec<OsString>) -> ExitCode {
    let CargoCli::Migrate(args) = match CargoCli::try_parse_from(args::normalize(argv)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                crate::error::exit::USAGE
            } else {
                crate::error::exit::OK
            });
        }
    };
    crate::app::run::set_colors(args.global.color);
    let out = Output {
        format: args.global.format,
        quiet: args.global.quiet,
    };
    match run(&args, out) {
        Ok(code) => code,
        Err(e) => {
            out.error(e.to_string(), e.exit_code());
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(args: &MigrateArgs, out: Output) -> Result<ExitCode> {
    match &args.command {
        Command::Db(verb) => forward::run(args, verb),
        Command::Build(b) => {
            build::build(args, b, out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init(init_args) => {
            let ws = Workspace::load(&args.cargo)?;
            let url = args.global.database_url.as_deref();
            let done = init::init(&ws, init_args, url)?;
            let rel = relative(&done.dir);
            let backends: Vec<&str> = done.backends.iter().map(|b| b.feature()).collect();
            if out.json() {
                out.object(
                    &json!({"event": "initialized", "package": done.name, "path": done.dir,
                    "backends": backends, "first": done.first, "env_written": done.env_written,
                    "gitignored": done.ignored,
                    "local_runtime": done.local_runtime.as_ref().map(|(source, p)| json!({
                        "source": source, "config": p.config, "excluded_from_git": p.excluded}))}),
                );
            } else {
                out.status(
                    "Created",
                    format!(
                        "migration crate `{}` at {rel} ({})",
                        done.name,
                        backends.join(", ")
                    ),
                );
                out.status("Created", format!("first migration {}", done.first));
                if done.env_written {
                    out.status(
                        "Wrote",
                        format!("DATABASE_URL to {}", relative(&ws.root.join(".env"))),
                    );
                }
                if !done.ignored.is_empty() {
                    out.status(
                        "Ignored",
                        format!("{} in .gitignore", done.ignored.join(" ")),
                    );
                }
                if let Some((source, patched)) = &done.local_runtime {
                    let kept = if patched.excluded {
                        ", kept out of git"
                    } else {
                        ""
                    };
                    out.status(
                        "Patched",
                        format!(
                            "cargo-migrate to this machine's source at {} in {} (this machine \
                             only{kept}; the committed manifest asks for the published version)",
                            source.display(),
                            relative(&patched.config)
                        ),
                    );
                }
                out.data(rel);
                out.note("next: edit the first migration, then `cargo migrate upgrade head`");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Create(a) => write_revision(args, out, "Created", |t| create::create(t, a)),
        Command::Merge(a) => write_revision(args, out, "Merged", |t| create::merge(t, a)),
        Command::Templates(t) => {
            // Listing needs no migration crate (the built-ins are listed); a workspace
            // that cannot be read is an error all the same.
            let listing = matches!(t.action, None | Some(TemplatesAction::List));
            let (krate, config) = if listing && !in_a_package(args) {
                (None, Default::default())
            } else {
                let ws = Workspace::load(&args.cargo)?;
                if listing && !ws.members().into_iter().any(workspace::is_migration_crate) {
                    (None, Default::default())
                } else {
                    let found = ws.migration_crate(args.cargo.package.as_deref())?;
                    (Some(found.0), found.1)
                }
            };
            let dir = krate.as_ref().map(|k| create::template_dir(k, &config));
            match &t.action {
                None | Some(TemplatesAction::List) => {
                    list_templates(out, dir.as_deref())?;
                }
                Some(TemplatesAction::Eject { names, dir: to }) => {
                    let to = to
                        .clone()
                        .or(dir)
                        .ok_or_else(|| ToolError::usage("no template directory: pass `--dir`"))?;
                    for (path, written) in templates::eject(names, &to)? {
                        if written {
                            out.status("Ejected", relative(&path));
                        } else {
                            out.warn(format!("{} exists; left as it is", relative(&path)));
                        }
                    }
                    out.data(relative(&to));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `create` and `merge`: the crate's source, a new revision in it, a report.
fn write_revision(
    args: &MigrateArgs,
    out: Output,
    verb: &str,
    write: impl FnOnce(&create::Target) -> Result<create::Written>,
) -> Result<ExitCode> {
    let (krate, config) = locate(args)?;
    // Read the graph and write the file under one lock, so two `create`s at once
    // cannot both revise the same head or both edit lib.rs from the same copy.
    let lock = create::lock(&krate)?;
    let target = create::Target::open(&krate, &config)?;
    let written = write(&target)?;
    drop(lock);
    report_written(out, &written, verb);
    // A file the crate's own list leaves out is not compiled: its revision is missing
    // from the graph the new one was placed in.
    for file in target.source.unregistered() {
        out.warn(format!(
            "{} is a migration file that lib.rs does not register, so it is neither compiled nor run",
            relative(&file)
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether cargo would find a manifest: `--manifest-path`, or a `Cargo.toml` here or
/// in a parent directory.
fn in_a_package(args: &MigrateArgs) -> bool {
    args.cargo.manifest_path.is_some()
        || std::env::current_dir()
            .is_ok_and(|cwd| cwd.ancestors().any(|dir| dir.join("Cargo.toml").is_file()))
}

fn locate(args: &MigrateArgs) -> Result<(workspace::MigrationCrate, config::Config)> {
    let ws = Workspace::load(&args.cargo)?;
    ws.migration_crate(args.cargo.package.as_deref())
}

fn report_written(out: Output, w: &create::Written, verb: &str) {
    if out.json() {
        out.object(&json!({"event": "created", "id": w.id, "revises": w.revises, "path": w.path, "files": w.files}));
        return;
    }
    let revises = if w.revises.is_empty() {
        "the first revision".to_string()
    } else {
        format!("revises {}", w.revises.join(", "))
    };
    out.status(verb, format!("{} ({revises})", w.id));
    for f in &w.files {
        out.data(relative(f));
    }
}

fn list_templates(out: Output, dir: Option<&Path>) -> Result<()> {
    let all = templates::all(dir)?;
    if out.json() {
        let items: Vec<_> = all
            .iter()
            .map(|t| json!({"name": t.name, "origin": match &t.origin {
                templates::Origin::BuiltIn => json!("built-in"),
                templates::Origin::User(p) => json!(p),
            }, "files": t.files.iter().map(|(f, _)| f).collect::<Vec<_>>(), "description": t.description()}))
            .collect();
        out.object(&json!({ "templates": items }));
        return Ok(());
    }
    let width = all.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &all {
        let origin = match &t.origin {
            templates::Origin::BuiltIn => "built-in".to_string(),
            templates::Origin::User(p) => relative(p),
        };
        out.data(format!("{:<width$}  {origin}: {}", t.name, t.description()));
    }
    if let Some(dir) = dir.filter(|d| !d.is_dir()) {
        out.note(format!(
            "templates in {} replace the built-ins of the same name (`cargo migrate templates eject` copies them there)",
            relative(dir)
        ));
    }
    Ok(())
}

/// A path relative to the working directory when it is below it.
pub(crate) fn relative(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
