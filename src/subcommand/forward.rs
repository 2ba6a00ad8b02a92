//! Building the migration binary and handing a verb to it. cargo's JSON messages on
//! stdout give the binary's path and the units it was built from; cargo's human output
//! on stderr is held back until something is actually compiled, so a fresh build prints
//! nothing. The binary then replaces this process (on Unix), so its output, exit code
//! and signals are the user's directly.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use cargo_metadata::Message;

use crate::app::args::{ColorChoice, GlobalArgs, Verb};
use crate::app::command::Need;
use crate::app::render::Output;
use crate::app::run::EXPECT_TABLE_ENV;

use super::args::{self, CargoArgs, MigrateArgs};
use super::config::Config;
use super::error::{Result, ToolError};
use super::fresh::{self, Built};
use super::workspace::{Kind, MigrationCrate, Workspace};
use super::{cargo, compat, dburl, legacy};
use crate::engine::url::DbUrl;

/// A database verb: resolve the URL, build (or reuse) the binary, run it.
pub fn run(args: &MigrateArgs, verb: &Verb) -> Result<ExitCode> {
    if let Some(hit) = fresh::lookup(&args.cargo)
        && !(hit.lock_moved && args.cargo.keeps_lock())
    {
        let url = resolve_url(
            &args.global,
            verb,
            &hit.root,
            hit.config.database_url.as_deref(),
        )?;
        if hit.serves(url.as_ref().map(|u| args::Backend::of(u).feature())) {
            let argv = child_args(&args.global, verb, &hit.root, &hit.config)?;
            let env = child_env(url.as_ref(), &hit.config);
            return exec(&hit.binary, &hit.name, &argv, &env);
        }
    }
    let ws = Workspace::load(&args.cargo)?;
    let (krate, config) = ws.migration_crate(args.cargo.package.as_deref())?;
    let url = resolve_url(&args.global, verb, &ws.root, config.database_url.as_deref())?;
    let argv = child_args(&args.global, verb, &ws.root, &config)?;
    let started = std::time::SystemTime::now();
    let binary = build_binary(args, &ws, &krate, url.as_ref(), false)?;
    remember(args, &ws, &krate, &config, &binary, started);
    exec(
        &binary.path,
        &krate.name,
        &argv,
        &child_env(url.as_ref(), &config),
    )
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

/// A built migration binary.
pub struct Binary {
    /// The file to run: kept in the workspace's own directory (see `fresh`), or
    /// cargo's copy if it could not be.
    pub path: PathBuf,
    pub built: Built,
    /// A sea-orm-cli crate's runner.
    pub runner: Option<legacy::Runner>,
    /// The runner uses other versions than the workspace's `Cargo.lock`.
    pub lock_moved: bool,
}

/// Builds the migration crate's binary (a sea-orm-cli crate's runner, built for the
/// URL's backend besides its own), in the release profile if `release`.
pub fn build_binary(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    url: Option<&DbUrl>,
    release: bool,
) -> Result<Binary> {
    let mut cargo_args = args.cargo.clone();
    let runner = match krate.kind {
        Kind::Runtime => None,
        Kind::Legacy => Some(prepare_runner(args, ws, krate, url, &mut cargo_args)?),
    };
    let (manifest, package, bin) = match &runner {
        Some(r) => (r.manifest.clone(), r.package.clone(), r.bin.clone()),
        None => (
            ws.root_manifest.clone(),
            krate.name.clone(),
            krate.bin.clone().unwrap_or_else(|| krate.name.clone()),
        ),
    };
    let target = Target {
        manifest: &manifest,
        package: &package,
        bin: &bin,
    };
    let (path, built) = build_owned(args, ws, &krate.name, &target, &cargo_args, release)?;
    let lock_moved = runner
        .as_ref()
        .is_some_and(|r| lock_moved(args, ws, krate, r));
    Ok(Binary {
        path,
        built,
        runner,
        lock_moved,
    })
}

/// A binary target of a package of the workspace at `manifest`.
struct Target<'a> {
    manifest: &'a Path,
    package: &'a str,
    bin: &'a str,
}

/// Builds `target` and keeps its binary in the workspace's own directory. A unit that
/// another workspace of the same layout built last (see `fresh::Owners`) may be taken
/// by cargo as fresh for this one: its package is cleaned and built again.
fn build_owned(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &str,
    target: &Target,
    cargo_args: &CargoArgs,
    release: bool,
) -> Result<(PathBuf, Built)> {
    let how = cargo::Build {
        color: cargo_color(args.global.color),
        quiet: args.global.quiet,
        release,
    };
    let Target {
        manifest,
        package,
        bin,
    } = *target;
    let cargo_build = || cargo::build(manifest, package, bin, &ws.target_dir, cargo_args, how);
    let noise = if args.global.verbose >= 2 {
        Noise::All
    } else {
        Noise::WhenCompiling
    };
    let cwd = manifest.parent().unwrap_or(&ws.root);
    let profile = if release { "release" } else { "debug" };
    let keep = ws
        .state_dir()
        .join(profile)
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let owners = fresh::Owners::lock(&ws.target_dir, &ws.root);
    let (mut path, mut built) = build(cargo_build(), krate, bin, noise, cwd, &keep)?;
    if let Some(owners) = &owners {
        let foreign = owners.foreign(&built);
        if !foreign.is_empty() {
            run_held(
                cargo::clean(manifest, &foreign, &ws.target_dir, cargo_args, how),
                krate,
            )?;
            (path, built) = build(cargo_build(), krate, bin, noise, cwd, &keep)?;
        }
        owners.claim(&built);
    }
    Ok((path, built))
}

/// Writes the runner of a sea-orm-cli crate. Its lock file is its own and grows by the
/// runner's packages, so cargo is not asked to keep it (`--locked`); with `--locked`
/// or `--frozen` the runner is resolved first and must keep the workspace's versions.
fn prepare_runner(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    url: Option<&DbUrl>,
    cargo_args: &mut CargoArgs,
) -> Result<legacy::Runner> {
    compat::check_sea_orm_migration(ws, krate)?;
    let runner = legacy::prepare(ws, krate, url.map(args::Backend::of))?;
    cargo_args.offline |= cargo_args.frozen;
    cargo_args.locked = false;
    cargo_args.frozen = false;
    if args.cargo.keeps_lock() {
        let color = cargo_color(args.global.color);
        run_held(
            cargo::fetch(&runner.manifest, cargo_args, color),
            &krate.name,
        )?;
        let moved = legacy::moved(&ws.root.join("Cargo.lock"), &runner.lock);
        if !moved.is_empty() {
            return Err(ToolError::usage(format!(
                "`--locked`: the runner of the sea-orm-cli crate `{}` needs other versions than \
                 the workspace's Cargo.lock ({}); update the workspace (`cargo update -p <name>`) \
                 so that they agree, or drop `--locked`",
                krate.name,
                moved.join(", ")
            )));
        }
    }
    Ok(runner)
}

/// Whether the runner uses other versions than the workspace's lock file (cargo-migrate
/// needs newer ones); says which.
fn lock_moved(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    runner: &legacy::Runner,
) -> bool {
    let moved = legacy::moved(&ws.root.join("Cargo.lock"), &runner.lock);
    if !moved.is_empty() {
        let out = Output {
            format: args.global.format,
            quiet: args.global.quiet,
        };
        out.warn(format!(
            "the runner of the sea-orm-cli crate `{}` uses other versions than the workspace's \
             Cargo.lock ({}), as cargo-migrate needs; `--locked` refuses this",
            krate.name,
            moved.join(", ")
        ));
    }
    !moved.is_empty()
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

/// Runs `cmd` (a `cargo build --message-format=json-render-diagnostics` of a workspace
/// rooted at `cwd`) and returns the executable of binary target `bin`, kept at `keep`,
/// and what `fresh` needs of the build.
pub fn build(
    mut cmd: Command,
    krate: &str,
    bin: &str,
    noise: Noise,
    cwd: &Path,
    keep: &Path,
) -> Result<(PathBuf, Built)> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd.stderr(match noise {
        Noise::All => Stdio::inherit(),
        Noise::WhenCompiling => Stdio::piped(),
    });
    let mut child = spawn(&mut cmd)?;
    let filter = child
        .stderr
        .take()
        .map(|stderr| std::thread::spawn(move || hold_until_compiling(stderr)));
    let mut binary = None;
    let mut built = Built::new(cwd);
    let mut roots = HashMap::new();
    if let Some(stdout) = child.stdout.take() {
        // Each message is read as it comes, while cargo holds the build directory.
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            match message {
                Message::CompilerArtifact(artifact) => {
                    if is_local(&artifact.package_id) {
                        if let Some(dir) = artifact.manifest_path.parent() {
                            roots.insert(
                                artifact.package_id.clone(),
                                dir.as_std_path().to_path_buf(),
                            );
                        }
                        let root = artifact
                            .manifest_path
                            .parent()
                            .map_or(cwd, |d| d.as_std_path());
                        built.add_artifact(
                            &artifact.package_id.repr,
                            root,
                            artifact.filenames.iter().map(|f| f.as_std_path()),
                        );
                    }
                    if artifact.target.name.as_str() == bin
                        && let Some(exe) = &artifact.executable
                    {
                        binary = Some(built.keep_binary(exe.as_std_path(), keep));
                    }
                }
                Message::BuildScriptExecuted(script) if is_local(&script.package_id) => {
                    let root = roots.get(&script.package_id).map(PathBuf::as_path);
                    built.add_build_script(root, script.out_dir.as_std_path());
                }
                _ => {}
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
    let binary = binary.ok_or_else(|| {
        ToolError::Failure(format!(
            "cargo built `{krate}` but reported no executable for its binary `{bin}`"
        ))
    })?;
    Ok((binary, built))
}

/// Runs a cargo command whose output matters only when it fails.
fn run_held(mut cmd: Command, krate: &str) -> Result<()> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = spawn(&mut cmd)?
        .wait_with_output()
        .map_err(|e| ToolError::Failure(format!("cargo did not finish: {e}")))?;
    if !output.status.success() {
        let _ = std::io::stderr().lock().write_all(&output.stderr);
        return Err(ToolError::Build(krate.to_string()));
    }
    Ok(())
}

fn spawn(cmd: &mut Command) -> Result<std::process::Child> {
    cmd.spawn().map_err(|e| {
        ToolError::Failure(format!(
            "cannot run `{}` to build the migration crate: {e}",
            cmd.get_program().to_string_lossy()
        ))
    })
}

/// A package from a path (the workspace's own and path dependencies), whose sources
/// can change, as opposed to a registry's or a git checkout's.
fn is_local(package: &cargo_metadata::PackageId) -> bool {
    package.repr.starts_with("path+")
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
/// returns its exit code where the platform cannot replace processes. It is told it is
/// `name` (the crate's), as it is called in production.
pub fn exec(
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
