//! `cargo migrate`: the cargo subcommand. It will find the workspace's migration crate,
//! write migrations from templates, and forward database verbs to the crate's binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // cargo runs `cargo-migrate migrate <args>`.
    let args: Vec<&str> = match args.first().map(String::as_str) {
        Some("migrate") => args[1..].iter().map(String::as_str).collect(),
        _ => args.iter().map(String::as_str).collect(),
    };
    match args.first().copied() {
        None | Some("-h" | "--help" | "help") => {
            println!("{}", HELP.trim_end());
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("cargo-migrate {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!(
                "error: `cargo migrate {other}` is not available yet in this version; \
                 run the migration crate's binary instead, e.g. `cargo run -p migrations -- {other}`"
            );
            ExitCode::from(cargo_migrate::exit::USAGE)
        }
    }
}

const HELP: &str = "\
Alembic's migration workflow for SeaORM, native to cargo

Usage: cargo migrate <COMMAND>

This version ships the runtime: a migration crate's own binary runs the verbs
  upgrade, downgrade, redo, stamp, history, heads, current, status, check, show, branches
e.g. `cargo run -p migrations -- upgrade head`. See README.md.

Options:
  -h, --help     Print help
  -V, --version  Print version
";
