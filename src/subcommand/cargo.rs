//! Calling cargo back: `$CARGO` (what cargo sets for its subcommands) or `cargo`, with
//! the user's `--locked/--offline/--frozen` on every call.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::args::CargoArgs;

pub fn program() -> PathBuf {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// cargo's home directory: `$CARGO_HOME`, else `~/.cargo`.
pub fn home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".cargo")))
}

/// Flags that change how cargo resolves and fetches, for every cargo call.
pub fn resolution_flags(args: &CargoArgs) -> Vec<String> {
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
pub struct Build {
    /// Colour cargo's (piped) output.
    pub color: bool,
    pub quiet: bool,
    /// The release profile instead of the dev profile.
    pub release: bool,
}

/// `cargo build` of one binary, reporting artifacts as JSON on stdout.
pub fn build(
    manifest: &Path,
    package: &str,
    bin: &str,
    target_dir: &Path,
    args: &CargoArgs,
    how: Build,
) -> Command {
    let mut cmd = Command::new(program());
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--package", package, "--bin", bin])
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
pub fn clean(
    manifest: &Path,
    packages: &[String],
    target_dir: &Path,
    args: &CargoArgs,
    how: Build,
) -> Command {
    let mut cmd = Command::new(program());
    cmd.arg("clean")
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
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
/// downloads what it needs, compiling nothing.
pub fn fetch(manifest: &Path, args: &CargoArgs, color: bool) -> Command {
    let mut cmd = Command::new(program());
    cmd.arg("fetch")
        .arg("--manifest-path")
        .arg(manifest)
        .arg(color_flag(color))
        .args(resolution_flags(args));
    cmd
}

fn color_flag(color: bool) -> &'static str {
    if color {
        "--color=always"
    } else {
        "--color=never"
    }
}
