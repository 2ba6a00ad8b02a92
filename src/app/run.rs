//! The migration binary's process: parse, resolve, run one verb on a single-threaded
//! tokio runtime, turn panics and errors into one line and an exit code.

use std::process::ExitCode;

use clap::Parser;

use crate::app::args::{Cli, ColorChoice, GlobalArgs};
use crate::app::context::Context;
use crate::app::verbs;
use crate::engine::runtime::Runtime;
use crate::error::{Error, Result};
use crate::model::revision::Migrations;

/// The entry point of a migration crate's binary:
/// `fn main() -> std::process::ExitCode { cargo_migrate::run::<migration::Migrator>() }`.
pub fn run<M: Migrations>() -> ExitCode {
    run_with(Runtime::of::<M>, Cli::parse())
}

/// Runs a parsed command line against the runtime `make` builds.
pub fn run_with(make: impl FnOnce() -> Result<Runtime>, cli: Cli) -> ExitCode {
    execute(&cli.global, make, async |rt, ctx| {
        verbs::run(rt, ctx, &cli.verb).await
    })
}

/// The process around a verb: colours, a single-threaded tokio runtime, panics turned
/// into errors, an error into one line on stderr, the exit code.
pub(crate) fn execute(
    global: &GlobalArgs,
    make: impl FnOnce() -> Result<Runtime>,
    verb: impl AsyncFnOnce(&Runtime, &Context) -> Result<u8>,
) -> ExitCode {
    let ctx = Context::from_args(global);
    let out = ctx.out;
    set_colors(global.color);
    let code = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(tokio) => catch_panics(|| {
            tokio.block_on(async {
                match make().and_then(expected_table) {
                    Ok(rt) => verb(&rt, &ctx).await,
                    Err(e) => Err(e),
                }
            })
        }),
        Err(e) => Err(Error::Database(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(e.to_string(), e.exit_code());
            ExitCode::from(e.exit_code())
        }
    }
}

thread_local! {
    /// Where cargo-migrate's own code last panicked on this thread.
    static PANICKED_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`, turning a panic into an error. A migration that panics (`todo!()`, an
/// `unwrap`) is a failed migration, exit 1, reported without Rust's panic report. A
/// panic anywhere else is a bug of cargo-migrate: its error names where it happened,
/// and `RUST_BACKTRACE=1` prints the backtrace.
fn catch_panics<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if crate::engine::step::running_step().is_some() {
            return;
        }
        let location = info.location().map(|l| l.to_string());
        PANICKED_AT.with(|p| *p.borrow_mut() = location);
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            eprintln!("stack backtrace:\n{backtrace}");
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    result.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Err(match crate::engine::step::running_step() {
            Some((id, direction)) => Error::Migration {
                id,
                direction: match direction {
                    crate::engine::step::Direction::Up => "upgrade",
                    crate::engine::step::Direction::Down => "downgrade",
                },
                message: format!(
                    "its code panicked: {what} (where the database allows, the step was \
                     rolled back; nothing after it ran)"
                ),
            },
            None => Error::Panic {
                location: PANICKED_AT
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_else(|| "an unknown place".to_string()),
                message: what,
            },
        })
    })
}

/// `cargo migrate` passes the tracking table its configuration names; a binary that
/// records somewhere else must not run against it.
pub const EXPECT_TABLE_ENV: &str = "CARGO_MIGRATE_EXPECT_TABLE";

fn expected_table(rt: Runtime) -> Result<Runtime> {
    match std::env::var(EXPECT_TABLE_ENV) {
        Ok(want) if !want.is_empty() && want != rt.tracking().table() => {
            Err(Error::Config(format!(
                "the configuration names the tracking table `{want}`, but this migration crate \
                 records migrations in `{}`; set `table` in `[workspace.metadata.migrate]` and the \
                 crate's `discover!(table = \"...\")` to the same name",
                rt.tracking().table()
            )))
        }
        _ => Ok(rt),
    }
}

/// Applies `--color` (and `NO_COLOR`) to both output streams; `auto` leaves it to
/// `console`, which also reads `CLICOLOR` and whether the stream is a terminal.
pub fn set_colors(choice: Option<ColorChoice>) {
    let enabled = match choice {
        Some(ColorChoice::Always) => Some(true),
        Some(ColorChoice::Never) => Some(false),
        _ if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => Some(false),
        _ => None,
    };
    if let Some(on) = enabled {
        console::set_colors_enabled(on);
        console::set_colors_enabled_stderr(on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_outside_a_migration_says_where_it_happened() {
        let line = line!() + 1;
        let err = catch_panics(|| -> Result<()> { panic!("boom") }).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::FAILURE);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cargo-migrate panicked at src/app/run.rs:{line}:")),
            "{text}"
        );
        assert!(text.contains("boom") && text.contains("bug"), "{text}");
        // and nothing is left behind for the next one
        assert!(PANICKED_AT.with(|p| p.borrow().is_none()));
    }
}
