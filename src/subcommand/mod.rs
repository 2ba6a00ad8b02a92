//! `cargo migrate`: the cargo subcommand. It finds the workspace and its migration
//! crate, writes migrations from templates (`init`, `create`, `merge`, `templates`),
//! and hands every database verb to the migration crate's binary, which it builds
//! only when something changed.

mod args;
mod autogen;
mod backend;
mod build;
mod cargo;
mod compat;
pub mod config;
pub mod create;
mod dburl;
mod entities;
mod error;
mod forward;
mod fresh;
mod index;
mod init;
mod legacy;
mod module;
pub mod naming;
mod paths;
mod pick;
mod profile;
mod register;
mod report;
mod runtime_dep;
mod schema_runner;
mod sets;
mod source;
pub mod templates;
mod workspace;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::app::render::Output;

use crate::app::args::Verb;
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

/// The one routing `match`: each command with what it needs, then its report.
fn run(args: &MigrateArgs, out: Output) -> Result<ExitCode> {
    match &args.command {
        Command::Db(verb) if args.cargo.all => return sets::run(args, verb),
        _ if args.cargo.all => {
            return Err(ToolError::usage(
                "`--all` runs a database verb on every migration set; the other commands work on \
                 one migration crate: pick it with `-p <name>`",
            ));
        }
        Command::Db(Verb::Check { entities: true }) => return autogen::check_entities(args),
        Command::Db(verb) => return forward::run(args, verb),
        Command::Build(b) => build::build(args, b, out)?,
        Command::Init(a) => {
            let ws = Workspace::load(&args.cargo)?;
            let done = init::init(&ws, a, args.global.database_url.as_deref())?;
            report::initialized(out, &ws.root, &done);
        }
        Command::Create(a) if a.autogenerate => autogen::create(args, a, out)?,
        Command::Create(a) => write_revision(args, out, "Created", |t| create::create(t, a))?,
        Command::Merge(a) => write_revision(args, out, "Merged", |t| create::merge(t, a))?,
        Command::Templates(t) => match &t.action {
            None | Some(TemplatesAction::List) => {
                report::templates(out, template_dir(args, true)?.as_deref())?;
            }
            Some(TemplatesAction::Eject { names, dir }) => {
                let to = dir
                    .clone()
                    .or(template_dir(args, false)?)
                    .ok_or_else(|| ToolError::usage("no template directory: pass `--dir`"))?;
                report::ejected(out, &templates::eject(names, &to)?, &to);
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// `create` and `merge` (`verb`: what the report says): a new revision in the
/// migration crate, and a report.
fn write_revision(
    args: &MigrateArgs,
    out: Output,
    verb: &str,
    write: impl FnOnce(&create::Target) -> Result<create::Written>,
) -> Result<()> {
    let ws = Workspace::load(&args.cargo)?;
    let (krate, config) = pick::migration_crate(&ws, &args.cargo)?;
    let (written, unregistered) = create::write_locked(&krate, &config, write)?;
    report::written(out, &written, verb, &unregistered);
    Ok(())
}

/// The migration crate's template directory. Listing (`listing`) needs no migration
/// crate (the built-ins are listed), but a workspace that cannot be read is an error
/// all the same.
fn template_dir(args: &MigrateArgs, listing: bool) -> Result<Option<PathBuf>> {
    if listing && !in_a_package(args) {
        return Ok(None);
    }
    let ws = Workspace::load(&args.cargo)?;
    if listing && !ws.members().into_iter().any(workspace::is_migration_crate) {
        return Ok(None);
    }
    let (krate, config) = pick::migration_crate(&ws, &args.cargo)?;
    Ok(Some(create::template_dir(&krate, &config)))
}

/// Whether cargo would find a manifest: `--manifest-path`, or a `Cargo.toml` here or
/// in a parent directory.
fn in_a_package(args: &MigrateArgs) -> bool {
    args.cargo.manifest_path.is_some()
        || std::env::current_dir()
            .is_ok_and(|cwd| cwd.ancestors().any(|dir| dir.join("Cargo.toml").is_file()))
}
