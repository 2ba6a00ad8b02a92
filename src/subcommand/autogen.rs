//! `create --autogenerate` and `check --entities`: the schema runner (`schema_runner`)
//! compares the entities with the migrations' schema; `create` writes what it says as
//! a revision, builds the crate again and has the runner replay the new revision
//! (`up` must give the entities' schema, `down` its parents'), and removes it again
//! if it does not. Nothing is written when nothing changed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde::Deserialize;

use crate::app::args::{GlobalArgs, Verb};
use crate::app::render::{Format, Output};
use crate::engine::url::DbUrl;

use super::args::{CreateArgs, MigrateArgs};
use super::config::Config;
use super::create::{self, Generated, Target, Written};
use super::entities::{self, EntityCrate};
use super::error::{Result, ToolError};
use super::forward::{child_env, global_args, resolve_url};
use super::workspace::{MigrationCrate, Workspace};
use super::{dburl, report, schema_runner, templates};

/// The schema runner's `diff` (`app::json::AutogenJson`).
#[derive(Deserialize)]
struct Diff {
    head: Option<String>,
    changes: Vec<ChangeLine>,
    up: Option<String>,
    down: Option<String>,
    unexpressible: Option<String>,
}

#[derive(Deserialize)]
struct ChangeLine {
    description: String,
    destructive: bool,
}

/// The schema runner's `check-revision` (`app::json::RevisionCheckJson`).
#[derive(Deserialize)]
struct Checked {
    passed: bool,
    after_up: Vec<ChangeLine>,
    after_down: Vec<ChangeLine>,
}

/// The crates, the database and the flags a schema runner is built and run with.
struct Session<'a> {
    args: &'a MigrateArgs,
    ws: Workspace,
    krate: MigrationCrate,
    config: Config,
    entities: EntityCrate,
    url: Option<DbUrl>,
    dev_url: Option<String>,
}

impl<'a> Session<'a> {
    fn open(args: &'a MigrateArgs, dev_url: Option<String>) -> Result<Session<'a>> {
        let ws = Workspace::load(&args.cargo)?;
        let (krate, config) = super::pick::migration_crate(&ws, &args.cargo)?;
        let entities = entities::find(&ws, &config)?;
        let url = resolve_url(
            &args.global,
            &Verb::Check { entities: true },
            &ws.root,
            config.database_url.as_deref(),
        )?;
        if url.is_none() && dev_url.is_none() {
            return Err(dburl::missing(&ws.root));
        }
        Ok(Session {
            args,
            ws,
            krate,
            config,
            entities,
            url,
            dev_url,
        })
    }

    /// The database the scratch one is created beside: the URL, else the dev URL.
    fn url(&self) -> Result<Option<DbUrl>> {
        match (&self.url, &self.dev_url) {
            (Some(u), _) => Ok(Some(u.clone())),
            (None, Some(dev)) => DbUrl::parse(dev).map(Some).map_err(ToolError::from),
            (None, None) => Ok(None),
        }
    }

    /// Builds the schema runner (cargo's output as a build shows it).
    fn build(&self) -> Result<PathBuf> {
        let url = self.url()?;
        schema_runner::build(
            self.args,
            &self.ws,
            &self.krate,
            &self.entities,
            url.as_ref(),
        )
    }

    /// The runner's command line for `verb`, its output in `format`.
    fn command(&self, binary: &Path, format: Format, verb: &[&str]) -> Result<Command> {
        let global = GlobalArgs {
            format,
            ..self.args.global.clone()
        };
        let mut cmd = Command::new(binary);
        cmd.args(global_args(&global, &self.ws.root, &self.config)?);
        cmd.args(verb);
        let url = self.url()?;
        let mut env: Vec<(&str, OsString)> = child_env(url.as_ref(), &Verb::Heads, &self.config);
        if let Some(dev) = &self.dev_url {
            env.push(("DEV_DATABASE_URL", OsString::from(dev)));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Ok(cmd)
    }

    /// Runs the runner's `verb` for its JSON answer. What it says on stderr is passed on,
    /// except its error, which is ours to report (once).
    fn ask<T: for<'de> Deserialize<'de>>(&self, binary: &Path, verb: &[&str]) -> Result<(u8, T)> {
        let mut cmd = self.command(binary, Format::Json, verb)?;
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(ToolError::io("run", binary))?;
        let code = out.status.code().unwrap_or(1) as u8;
        let text = String::from_utf8_lossy(&out.stdout);
        let answer = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<T>(l).ok());
        let Some(answer) = answer else {
            return Err(ToolError::Failure(runner_error(&text).unwrap_or_else(
                || {
                    format!(
                        "the schema runner of `{}` gave no answer (exit {code}): {}",
                        self.krate.name,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )
                },
            )));
        };
        use std::io::Write;
        let _ = std::io::stderr().write_all(&out.stderr);
        Ok((code, answer))
    }
}

/// The message of an error object the runner printed.
fn runner_error(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        v.get("error")?.as_str().map(str::to_owned)
    })
}

/// `cargo migrate check --entities`: the runner's verdict, passed through.
pub(crate) fn check_entities(args: &MigrateArgs) -> Result<ExitCode> {
    let session = Session::open(args, None)?;
    let binary = session.build()?;
    let status = session
        .command(&binary, args.global.format, &["check"])?
        .status()
        .map_err(ToolError::io("run", &binary))?;
    Ok(ExitCode::from(status.code().unwrap_or(1) as u8))
}

/// `cargo migrate create --autogenerate "msg"`.
pub(crate) fn create(args: &MigrateArgs, create_args: &CreateArgs, out: Output) -> Result<()> {
    let session = Session::open(args, create_args.dev_url.clone())?;
    let lock = create::lock(&session.krate)?;
    let target = Target::open(&session.krate, &session.config)?;
    let graph = target.source.graph()?;
    let parents = create::parents(&target, &graph, create_args.head.as_deref())?;
    let binary = session.build()?;
    let mut verb = vec!["diff"];
    if let [parent] = parents.as_slice() {
        verb.extend(["--head", parent.as_str()]);
    }
    let (_, diff): (u8, Diff) = session.ask(&binary, &verb)?;
    if diff.changes.is_empty() {
        report::no_changes(out, diff.head.as_deref());
        return Ok(());
    }
    if let Some(why) = diff.unexpressible {
        return Err(ToolError::usage(format!(
            "the entities' changes cannot be written as a migration: {why}; write this one by \
             hand (`cargo migrate create \"{}\"`)",
            create_args.message
        )));
    }
    let (Some(up), Some(down)) = (diff.up, diff.down) else {
        return Err(ToolError::Failure("the schema runner wrote no code".into()));
    };
    let template = templates::find(create_args.template(), Some(&target.template_dir()))?;
    let generated = Generated {
        up,
        down,
        changes: diff.changes.iter().map(|c| c.description.clone()).collect(),
    };
    let written = create::write(
        &target,
        &graph,
        &template,
        &create_args.message,
        parents,
        Some(generated),
    )?;
    if let Err(e) = check_written(&session, &written) {
        undo(&target, &written);
        return Err(e);
    }
    drop(lock);
    let review = diff.changes.iter().filter(|c| c.destructive).count();
    report::written(out, &written, "Created", &target.source.unregistered());
    report::autogenerated(out, diff.changes.len(), review);
    Ok(())
}

/// Builds the crate with `written` and has the runner replay it.
fn check_written(session: &Session, written: &Written) -> Result<()> {
    let binary = session.build().map_err(|e| match e {
        ToolError::Build(name) => ToolError::Failure(format!(
            "the generated migration `{}` does not compile in `{name}` (a bug of cargo-migrate: \
             please report it with the errors above); it was removed",
            written.id
        )),
        other => other,
    })?;
    let (_, checked): (u8, Checked) =
        session.ask(&binary, &["check-revision", written.id.as_str()])?;
    if checked.passed {
        return Ok(());
    }
    let mut lines: Vec<String> = Vec::new();
    for c in &checked.after_up {
        lines.push(format!("  after up: {}", c.description));
    }
    for c in &checked.after_down {
        lines.push(format!("  after down: {}", c.description));
    }
    Err(ToolError::Failure(format!(
        "the generated migration `{}` does not do what the entities ask when replayed, so it \
         was not written; what it cannot express:\n{}",
        written.id,
        lines.join("\n")
    )))
}

/// Removes a written revision again (and restores lib.rs, which may list it).
fn undo(target: &Target, written: &Written) {
    for path in written.files.iter().rev() {
        let _ = std::fs::remove_file(path);
    }
    let lib = &target.source.lib;
    if std::fs::read_to_string(lib).is_ok_and(|now| now != target.source.text) {
        let _ = create::replace(lib, &target.source.text);
    }
}
