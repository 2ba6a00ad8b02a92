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

/// `cargo build` of one binary, reporting artifacts as JSON on stdout.
pub fn build(
    manifest: &Path,
    package: &str,
    bin: &str,
    target_dir: &Path,
    args: &CargoArgs,
    color: bool,
    quiet: bool,
) -> Command {
    let mut cmd = Command::new(program());
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--package", package, "--bin", bin])
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--message-format=json-render-diagnostics")
        .arg(if color {
            "--color=always"
        } else {
            "--color=never"
        })
        .args(resolution_flags(args));
    if quiet {
        cmd.arg("--quiet");
    }
    cmd
}
