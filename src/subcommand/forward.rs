//! Handing a database verb to the migration binary: resolve the URL, reuse the binary
//! the last build left (`fresh`) or build it (`build`), then run it. The binary replaces
//! this process (on Unix), so its output, exit code and signals are the user's directly
//! (`--all` runs several instead: `sets`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::app::args::{GlobalArgs, Verb};
use crate::app::command::Need;
use crate::app::run::EXPECT_TABLE_ENV;
use crate::engine::url::DbUrl;

use super::args::MigrateArgs;
use super::backend::Backend;
use super::build::{Binary, build_binary};
use super::config::Config;
use super::dburl;
use super::error::{Result, ToolError};
use super::fresh;
use super::workspace::{MigrationCrate, Workspace};

/// A database verb: resolve the URL, build (or reuse) the binary, run it in place of
/// this process.
pub(crate) fn run(args: &MigrateArgs, verb: &Verb) -> Result<ExitCode> {
    let ready = prepare(args, verb)?;
    exec(&ready.binary, &ready.name, &ready.argv, &ready.env)
}

/// A verb ready to run: the binary, what it is called, its arguments and environment.
pub(crate) struct Prepared {
    pub(crate) binary: PathBuf,
    /// The migration crate's name (the binary's `argv[0]`).
    pub(crate) name: String,
    pub(crate) argv: Vec<String>,
    pub(crate) env: Vec<(&'static str, OsString)>,
}

/// Resolves the URL and builds the binary (or reuses the last build when nothing it was
/// built from changed) for `verb` on the crate `args` picks.
pub(crate) fn prepare(args: &MigrateArgs, verb: &Verb) -> Result<Prepared> {
    if let Some(hit) = fresh::lookup(&args.cargo)
        && !(hit.lock_moved && args.cargo.keeps_lock())
    {
        let url = resolve_url(
            &args.global,
            verb,
            &hit.root,
            hit.config.database_url.as_deref(),
        )?;
        if hit.serves(url.as_ref().map(|u| Backend::of(u).feature())) {
            return Ok(Prepared {
                argv: child_args(&args.global, verb, &hit.root, &hit.config)?,
                env: child_env(url.as_ref(), verb, &hit.config),
                binary: hit.binary,
                name: hit.name,
            });
        }
    }
    let ws = Workspace::load(&args.cargo)?;
    let (krate, config) = super::pick::migration_crate(&ws, &args.cargo)?;
    let url = resolve_url(&args.global, verb, &ws.root, config.database_url.as_deref())?;
    let argv = child_args(&args.global, verb, &ws.root, &config)?;
    let started = std::time::SystemTime::now();
    let binary = build_binary(args, &ws, &krate, url.as_ref(), false)?;
    remember(args, &ws, &krate, &config, &binary, started);
    Ok(Prepared {
        binary: binary.path,
        name: krate.name,
        argv,
        env: child_env(url.as_ref(), verb, &config),
    })
}

/// The binary's command line: the global flags with the schema resolved here (empty
/// for none, so the binary looks nowhere else), then the verb.
fn child_args(
    global: &GlobalArgs,
    verb: &Verb,
    root: &Path,
    config: &Config,
) -> Result<Vec<String>> {
    let mut argv = global_args(global, root, config)?;
    argv.extend(verb.to_args());
    Ok(argv)
}

/// The global flags a binary of ours is run with: the schema resolved here (empty for
/// none, so the binary looks nowhere else).
pub(crate) fn global_args(
    global: &GlobalArgs,
    root: &Path,
    config: &Config,
) -> Result<Vec<String>> {
    let schema = dburl::resolve_schema(
        global.database_schema.as_deref(),
        root,
        config.schema.as_deref(),
    )?;
    let global = GlobalArgs {
        database_schema: Some(schema.unwrap_or_default()),
        ..global.clone()
    };
    Ok(global.to_args())
}

/// Records a build for the next verb (`fresh`), unless the crate was picked at the
/// prompt: a later run without a terminal would not get it ("several migration
/// crates").
fn remember(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    config: &Config,
    binary: &Binary,
    started: std::time::SystemTime,
) {
    if krate.picked {
        return;
    }
    let mut entries: Vec<PathBuf> = ws
        .members()
        .iter()
        .map(|p| p.manifest_path.clone().into())
        .collect();
    entries.push(ws.root_manifest.clone());
    fresh::store(
        &args.cargo,
        fresh::Build {
            target_dir: &ws.target_dir,
            root: &ws.root,
            name: &krate.name,
            built: &binary.built,
            config,
            entries,
            manifests: binary.runner.iter().flat_map(|r| r.files()).collect(),
            started,
            runner_backends: binary
                .runner
                .as_ref()
                .map(|r| r.backends.iter().map(|b| b.feature().to_string()).collect()),
            lock_moved: binary.lock_moved,
            generated: binary.runner.as_ref().map(|r| r.dir.as_path()),
            build_script: krate.build_script.as_deref(),
        },
    );
}

pub(crate) fn resolve_url(
    global: &GlobalArgs,
    verb: &Verb,
    root: &Path,
    configured: Option<&str>,
) -> Result<Option<DbUrl>> {
    let resolved = dburl::resolve(global.database_url.as_deref(), root, configured)?;
    if resolved.is_none() && verb.need() != Need::Nothing {
        return Err(dburl::missing(root));
    }
    Ok(resolved.map(|r| r.url))
}

/// The binary's environment: the URLs go here, never on a command line.
pub(crate) fn child_env(
    url: Option<&DbUrl>,
    verb: &Verb,
    config: &Config,
) -> Vec<(&'static str, OsString)> {
    let mut env = Vec::new();
    if let Some(url) = url {
        env.push(("DATABASE_URL", OsString::from(url.expose())));
    }
    if let Verb::Verify { verify } = verb
        && let Some(dev) = &verify.dev_url
    {
        env.push(("DEV_DATABASE_URL", OsString::from(dev)));
    }
    if let Some(table) = &config.table {
        env.push((EXPECT_TABLE_ENV, OsString::from(table)));
    }
    // The configured strategy; `--lock-strategy` (forwarded) and the caller's own
    // `MIGRATE_LOCK_STRATEGY` (inherited) win over it.
    if let Some(lock) = config.lock
        && std::env::var_os(LOCK_STRATEGY_ENV).is_none()
    {
        env.push((LOCK_STRATEGY_ENV, OsString::from(lock.as_str())));
    }
    env
}

/// The binary's environment variable for `--lock-strategy`.
const LOCK_STRATEGY_ENV: &str = "MIGRATE_LOCK_STRATEGY";

/// Runs the migration binary with `args` and `env` in place of this process, and
/// returns its exit code where the platform cannot replace processes. It is told it is
/// `name` (the crate's), as it is called in production.
pub(crate) fn exec(
    binary: &Path,
    name: &str,
    args: &[String],
    env: &[(&str, OsString)],
) -> Result<ExitCode> {
    let mut cmd = Command::new(binary);
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.arg0(name).exec();
        Err(ToolError::Failure(format!(
            "cannot run the migration binary {}: {err}",
            binary.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let _ = name;
        let status = cmd.status().map_err(|err| {
            ToolError::Failure(format!(
                "cannot run the migration binary {}: {err}",
                binary.display()
            ))
        })?;
        Ok(ExitCode::from(
            status.code().unwrap_or(1).clamp(0, 255) as u8
        ))
    }
}
