//! `cargo migrate`: the cargo subcommand (see `cargo_migrate::subcommand`).

fn main() -> std::process::ExitCode {
    cargo_migrate::subcommand::main(std::env::args_os().collect())
}
