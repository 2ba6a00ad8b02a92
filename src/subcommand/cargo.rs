//! Calling cargo back: `$CARGO` (what cargo sets for its subcommands) or `cargo`, with
//! the user's `--locked/--offline/--frozen` on every call. A build's JSON messages on
//! stdout give the binary's path and the units it was built from; cargo's human output
//! on stderr is held back until something is actually compiled, so a fresh build prints
//! nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::Message;

use crate::app::args::ColorChoice;

use super::args::CargoArgs;
use super::error::{Result, ToolError};
use super::fresh::Built;

pub(crate) fn program() -> PathBuf {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Flags that change how cargo resolves and fetches, for every cargo call.
pub(crate) fn resolution_flags(args: &CargoArgs) -> Vec<String> {
    let mut flags = Vec::new();
    if args.locked {
        flags.push("--locked".to_string());
    }
    if args.offline {
        flags.push("--offline".to_string());
    }
    if args.frozen {
        flags.push("--frozen".to_string());
    }
    flags
}

/// How `build` shows its output and what it builds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Build {
    /// Colour cargo's (piped) output.
    pub(crate) color: bool,
    pub(crate) quiet: bool,
    /// The release profile instead of the dev profile.
    pub(crate) release: bool,
}

/// `cargo build` of one binary, reporting artifacts as JSON on stdout.
pub(crate) fn build(
    manifest: &Path,
    package: &str,
    bin: &str,
    target_dir: &Path,
    args: &CargoArgs,
    how: Build,
) -> Command {
    let mut cmd = cargo("build", manifest);
    cmd.args(["--package", package, "--bin", bin])
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--message-format=json-render-diagnostics")
        .arg(color_flag(how.color))
        .args(resolution_flags(args));
    if how.release {
        cmd.arg("--release");
    }
    if how.quiet {
        cmd.arg("--quiet");
    }
    cmd
}

/// `cargo clean` of `packages` (package ids) in the profile `how` builds.
pub(crate) fn clean(
    manifest: &Path,
    packages: &[String],
    target_dir: &Path,
    args: &CargoArgs,
    how: Build,
) -> Command {
    let mut cmd = cargo("clean", manifest);
    cmd.arg("--target-dir")
        .arg(target_dir)
        .arg(color_flag(how.color))
        .args(resolution_flags(args));
    for package in packages {
        cmd.args(["--package", package]);
    }
    if how.release {
        cmd.arg("--release");
    }
    cmd
}

/// `cargo fetch`: resolves the workspace at `manifest` (writing its lock file) and
/// downloads what this machine builds, compiling nothing. Only the host's packages: a
/// fetch for every platform would, offline, fail on a Windows-only crate that no build
/// here ever needed.
pub(crate) fn fetch(manifest: &Path, args: &CargoArgs, color: bool) -> Command {
    let mut cmd = cargo("fetch", manifest);
    cmd.arg(color_flag(color)).args(resolution_flags(args));
    if let Some(host) = host_triple() {
        cmd.args(["--target", &host]);
    }
    cmd
}

/// The host's target triple, as the toolchain that builds says it (`rustc -vV`).
fn host_triple() -> Option<String> {
    let rustc = std::env::var_os("RUSTC")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
}

/// `cargo <command> --manifest-path <manifest>`.
fn cargo(command: &str, manifest: &Path) -> Command {
    let mut cmd = Command::new(program());
    cmd.arg(command).arg("--manifest-path").arg(manifest);
    // What `cargo run` sets for the program it runs (`cargo run -- migrate ...`, the
    // README's demo) is not ours to pass on: build scripts that track one of these
    // (ring's tracks CARGO_MANIFEST_DIR) would be rebuilt at every other build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || matches!(
                key.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd
}

fn color_flag(color: bool) -> &'static str {
    if color {
        "--color=always"
    } else {
        "--color=never"
    }
}

/// Whether cargo's (piped) output should be coloured: what our stderr would get.
pub(crate) fn color(choice: Option<ColorChoice>) -> bool {
    match choice {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        _ => console::colors_enabled_stderr(),
    }
}

/// How much of cargo's stderr to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Noise {
    /// Only when something compiles (or the build fails).
    WhenCompiling,
    /// Everything, as cargo prints it.
    All,
}

/// Runs `cmd` (a `cargo build --message-format=json-render-diagnostics` of a workspace
/// rooted at `cwd`) and returns the executable of binary target `bin`, kept at `keep`,
/// and what `fresh` needs of the build.
pub(crate) fn run_build(
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
    let (binary, built) = match child.stdout.take() {
        Some(stdout) => read_messages(stdout, bin, cwd, keep),
        None => (None, Built::new(cwd)),
    };
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

/// Reads cargo's JSON messages, each as it comes, while cargo holds the build
/// directory: the executable of binary target `bin` (kept at `keep`), and what the
/// local units read.
fn read_messages(
    stdout: impl std::io::Read,
    bin: &str,
    cwd: &Path,
    keep: &Path,
) -> (Option<PathBuf>, Built) {
    let mut binary = None;
    let mut built = Built::new(cwd);
    let mut roots = HashMap::new();
    for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
        match message {
            Message::CompilerArtifact(artifact) => {
                if is_local(&artifact.package_id) {
                    if let Some(dir) = artifact.manifest_path.parent() {
                        roots.insert(artifact.package_id.clone(), dir.as_std_path().to_path_buf());
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
    (binary, built)
}

/// Runs a cargo command whose output matters only when it fails.
pub(crate) fn run_held(mut cmd: Command, krate: &str) -> Result<()> {
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
