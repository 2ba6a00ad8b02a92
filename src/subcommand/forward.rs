//! Building the migration binary and handing a verb to it. cargo's JSON messages on
//! stdout give the binary's path; cargo's human output on stderr is held back until
//! something is actually compiled, so a fresh build prints nothing. The binary then
//! replaces this process (on Unix), so its output, exit code and signals are the
//! user's directly.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use cargo_metadata::Message;

use crate::cli::{ColorChoice, EXPECT_TABLE_ENV, GlobalArgs, Need, Verb};

use super::args::{self, MigrateArgs};
use super::config::Config;
use super::error::{Result, ToolError};
use super::workspace::{Kind, MigrationCrate, Workspace};
use super::{cargo, compat, dburl, fresh, legacy};
use crate::db::DbUrl;

/// A database verb: resolve the URL, build (or reuse) the binary, run it.
pub fn run(args: &MigrateArgs, verb: &Verb) -> Result<ExitCode> {
    if let Some(hit) = fresh::lookup(&args.cargo) {
        let url = resolve_url(
            &args.global,
            verb,
            &hit.root,
            hit.config.database_url.as_deref(),
        )?;
        let backend = url
            .as_ref()
            .map(|u| args::Backend::of(u).feature().to_string());
        if hit.runner_backend.is_none() || hit.runner_backend == backend {
            let argv = child_args(&args.global, verb, &hit.root, &hit.config)?;
            return exec(&hit.binary, &argv, &child_env(url.as_ref(), &hit.config));
        }
    }
    let ws = Workspace::load(&args.cargo)?;
    let (krate, config) = ws.migration_crate(args.cargo.package.as_deref())?;
    let url = resolve_url(&args.global, verb, &ws.root, config.database_url.as_deref())?;
    let argv = child_args(&args.global, verb, &ws.root, &config)?;
    let binary = build_migration_crate(args, &ws, &krate, &config, url.as_ref())?;
    exec(&binary, &argv, &child_env(url.as_ref(), &config))
}

/// The binary's command line: the global flags with the schema resolved here (empty
/// for none, so the binary looks nowhere else), then the verb.
fn child_args(
    global: &GlobalArgs,
    verb: &Verb,
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
    let mut argv = global.to_args();
    argv.extend(verb.to_args());
    Ok(argv)
}

/// Builds the migration crate's binary (a legacy crate's runner), records the build
/// for the next verb, and returns the binary.
fn build_migration_crate(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    config: &Config,
    url: Option<&DbUrl>,
) -> Result<PathBuf> {
    let started = std::time::SystemTime::now();
    let noise = if args.global.verbose >= 2 {
        Noise::All
    } else {
        Noise::WhenCompiling
    };
    let (manifest, package, bin, manifests) = match krate.kind {
        Kind::Runtime => (
            ws.root_manifest.clone(),
            krate.name.clone(),
            krate.bin.clone().unwrap_or_else(|| krate.name.clone()),
            Vec::new(),
        ),
        Kind::Legacy => {
            compat::check_sea_orm_migration(ws, krate)?;
            let backend = url.map(args::Backend::of);
            let runner = legacy::prepare(ws, krate, backend)?;
            let m = runner.manifest.clone();
            (runner.manifest, runner.package, runner.bin, vec![m])
        }
    };
    let mut cargo_args = args.cargo.clone();
    if krate.kind == Kind::Legacy {
        // The runner's lock file is its own; it may have to grow.
        cargo_args.locked = false;
        cargo_args.frozen = false;
    }
    let cmd = cargo::build(
        &manifest,
        &package,
        &bin,
        &ws.target_dir,
        &cargo_args,
        cargo_color(args.global.color),
        args.global.quiet,
    );
    let binary = build(cmd, &krate.name, &bin, noise)?;
    {
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
                binary: &binary,
                config,
                entries,
                manifests,
                started,
                build_script: krate.build_script.as_deref(),
                runner_backend: match krate.kind {
                    Kind::Legacy => url.map(|u| args::Backend::of(u).feature().to_string()),
                    Kind::Runtime => None,
                },
            },
        );
    }
    Ok(binary)
}

fn resolve_url(
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

fn child_env(url: Option<&DbUrl>, config: &Config) -> Vec<(&'static str, OsString)> {
    let mut env = Vec::new();
    if let Some(url) = url {
        env.push(("DATABASE_URL", OsString::from(url.expose())));
    }
    if let Some(table) = &config.table {
        env.push((EXPECT_TABLE_ENV, OsString::from(table)));
    }
    env
}

/// Whether cargo's (piped) output should be coloured: what our stderr would get.
fn cargo_color(choice: Option<ColorChoice>) -> bool {
    match choice {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        _ => console::colors_enabled_stderr(),
    }
}

/// How much of cargo's stderr to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// Only when something compiles (or the build fails).
    WhenCompiling,
    /// Everything, as cargo prints it.
    All,
}

/// Runs `cmd` (a `cargo build --message-format=json-render-diagnostics`) and returns
/// the executable of binary target `bin`.
pub fn build(mut cmd: Command, krate: &str, bin: &str, noise: Noise) -> Result<PathBuf> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd.stderr(match noise {
        Noise::All => Stdio::inherit(),
        Noise::WhenCompiling => Stdio::piped(),
    });
    let mut child = cmd.spawn().map_err(|e| {
        ToolError::Failure(format!(
            "cannot run `{}` to build the migration crate: {e}",
            cmd.get_program().to_string_lossy()
        ))
    })?;
    let filter = child
        .stderr
        .take()
        .map(|stderr| std::thread::spawn(move || hold_until_compiling(stderr)));
    let mut binary = None;
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            if let Message::CompilerArtifact(artifact) = message
                && artifact.target.name.as_str() == bin
                && let Some(exe) = artifact.executable
            {
                binary = Some(PathBuf::from(exe));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| ToolError::Failure(format!("cargo did not finish: {e}")))?;
    let held = filter.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&held);
        return Err(ToolError::Build(krate.to_string()));
    }
    binary.ok_or_else(|| {
        ToolError::Failure(format!(
            "cargo built `{krate}` but reported no executable for its binary `{bin}`"
        ))
    })
}

/// Copies cargo's stderr through once it shows that something is being fetched or
/// compiled; until then holds it (a fresh build's `Finished` line and replayed
/// warnings). Returns what it held and never printed.
fn hold_until_compiling(stderr: impl std::io::Read) -> Vec<u8> {
    let mut reader = BufReader::new(stderr);
    let mut held = Vec::new();
    let mut streaming = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !streaming && waits(&line) {
            // Another cargo holds the build directory: say why nothing happens yet.
            let _ = std::io::stderr().lock().write_all(&line);
            continue;
        }
        if !streaming && shows_work(&line) {
            streaming = true;
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&held);
            held.clear();
        }
        if streaming {
            let _ = std::io::stderr().lock().write_all(&line);
        } else {
            held.extend_from_slice(&line);
        }
    }
    held
}

/// cargo's status words for work being done (as opposed to `Finished` and `Fresh`).
fn shows_work(line: &[u8]) -> bool {
    matches!(
        status_word(line).as_str(),
        "Compiling" | "Downloading" | "Downloaded" | "Updating" | "Locking" | "Adding" | "Building"
    )
}

/// cargo waits for another cargo's lock on the build directory.
fn waits(line: &[u8]) -> bool {
    status_word(line) == "Blocking"
}

fn status_word(line: &[u8]) -> String {
    let text = strip_ansi(&String::from_utf8_lossy(line));
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs the migration binary with `args` and `env` in place of this process, and
/// returns its exit code where the platform cannot replace processes.
pub fn exec(binary: &Path, args: &[String], env: &[(&str, OsString)]) -> Result<ExitCode> {
    let mut cmd = Command::new(binary);
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        Err(ToolError::Failure(format!(
            "cannot run the migration binary {}: {err}",
            binary.display()
        )))
    }
    #[cfg(not(unix))]
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_told_from_a_fresh_build() {
        assert!(shows_work(
            b"   Compiling migration v0.1.0 (/ws/migration)\n"
        ));
        assert!(shows_work(
            b"\x1b[1m\x1b[32m   Compiling\x1b[0m sea-orm v2.0.4\n"
        ));
        assert!(waits(
            b"    Blocking waiting for file lock on build directory\n"
        ));
        assert!(!shows_work(
            b"    Blocking waiting for file lock on build directory\n"
        ));
        assert!(!shows_work(
            b"    Finished `dev` profile [unoptimized] target(s) in 0.21s\n"
        ));
        assert!(!shows_work(b"warning: unused variable: `x`\n"));
    }

    #[test]
    fn a_fresh_build_prints_nothing_and_a_real_one_everything() {
        let fresh = b"warning: unused import\n    Finished `dev` profile\n".as_slice();
        assert_eq!(hold_until_compiling(fresh), fresh.to_vec());
        let waited = b"    Blocking waiting for file lock\n    Finished `dev` profile\n".as_slice();
        assert_eq!(
            hold_until_compiling(waited),
            b"    Finished `dev` profile\n".to_vec()
        );
        let real = b"   Compiling x v0.1.0\nwarning: unused\n    Finished\n".as_slice();
        assert!(hold_until_compiling(real).is_empty());
    }
}
