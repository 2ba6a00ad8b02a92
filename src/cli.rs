//! The migration binary's command line: `./migration upgrade head`, the same verbs
//! `cargo migrate` forwards. Parsed arguments are turned into a resolved context, then
//! one `match` routes each verb to its handler.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::db::{ConnectOptionsExt, Db, resolve_url};
use crate::error::{Error, Result, exit};
use crate::output::{self, Format, Output, Progress};
use crate::revision::Migrations;
use crate::runtime::{Runtime, State, WriteOptions, ids};
use crate::spec::parse_range;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Run this crate's migrations: Alembic's verbs over a SeaORM revision graph",
    after_help = "Revisions: `head`, `heads`, `base`, `current`, a revision id or a unique prefix \
                  of at least 4 characters (the leading `m` is optional), `+N`/`-N` from current, \
                  `<rev>+N`, `<rev>-N`, `head-N`.\n\
                  Exit codes: 0 ok, 1 migration or database error, 2 usage error or bad input; \
                  `check`: 3 pending migrations, 4 multiple heads or unknown revisions."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database URL [default: $DATABASE_URL, then DATABASE_URL in .env]
    #[arg(
        short = 'u',
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,
    /// Coloring: auto, always, never
    #[arg(long, value_name = "WHEN", env = "CARGO_TERM_COLOR", global = true)]
    pub color: Option<ColorChoice>,
    /// Print only data and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Give up waiting for another process's migration lock after this long (e.g. 30s, 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub lock_timeout: Option<Duration>,
    /// Keep retrying an unreachable database this long before giving up (e.g. 60s)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub wait: Option<Duration>,
    /// Answer yes to confirmations (destructive verbs)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Carry on although the database holds revisions this crate does not know
    #[arg(long)]
    pub allow_unknown: bool,
    /// Run again a migration that failed part-way outside a transaction
    #[arg(long)]
    pub retry_failed: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Verb {
    /// Apply migrations up to a revision (default: head)
    Upgrade {
        #[arg(default_value = "head", allow_hyphen_values = true)]
        revision: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Revert migrations down to a revision (`-1`: the last one, `base`: all)
    Downgrade {
        #[arg(allow_hyphen_values = true)]
        revision: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Revert the last migration and apply it again
    Redo {
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Record revisions as applied without running them (`base`: record nothing)
    Stamp {
        #[arg(required = true, allow_hyphen_values = true)]
        revisions: Vec<String>,
        /// Also delete recorded revisions this crate does not know
        #[arg(long)]
        purge: bool,
    },
    /// List revisions, newest first
    History {
        /// Range START:END, either end optional (e.g. `base:head`, `-2:`, `m2026:`)
        #[arg(short = 'r', long = "rev-range", allow_hyphen_values = true)]
        range: Option<String>,
        #[arg(short, long)]
        verbose: bool,
        /// Mark the database's current revisions (connects to it)
        #[arg(short = 'i', long)]
        indicate_current: bool,
    },
    /// Show the revisions nothing revises yet
    Heads {
        #[arg(short, long)]
        verbose: bool,
    },
    /// Show the database's current revisions
    Current {
        #[arg(short, long)]
        verbose: bool,
    },
    /// Show every revision, applied or pending, and any failure
    Status,
    /// Exit 0 if the database is at the single head; 3 if migrations are pending;
    /// 4 with several heads or revisions unknown to this crate
    Check,
    /// Show one revision in full
    Show {
        #[arg(allow_hyphen_values = true)]
        revision: String,
    },
    /// Show the revisions where history branches
    Branches {
        #[arg(short, long)]
        verbose: bool,
    },
}

/// Parses `500ms`, `30s`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; expected e.g. 500ms, 30s, 2m"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// The entry point of a migration crate's binary:
/// `fn main() -> std::process::ExitCode { cargo_migrate::run::<migration::Migrator>() }`.
pub fn run<M: Migrations>() -> ExitCode {
    run_with(Runtime::of::<M>, Cli::parse())
}

/// Runs a parsed command line against the runtime `make` builds.
pub fn run_with(make: impl FnOnce() -> Result<Runtime>, cli: Cli) -> ExitCode {
    let out = Output {
        format: cli.global.format,
        quiet: cli.global.quiet,
    };
    set_colors(cli.global.color);
    let code = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(tokio) => tokio.block_on(async {
            match make() {
                Ok(rt) => execute(&rt, &cli, out).await,
                Err(e) => Err(e),
            }
        }),
        Err(e) => Err(Error::Database(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(e.to_string());
            ExitCode::from(e.exit_code())
        }
    }
}

fn set_colors(choice: Option<ColorChoice>) {
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

/// What a verb needs from the database.
enum Need {
    Nothing,
    Read,
    Write,
}

async fn connect(global: &GlobalArgs, need: Need) -> Result<Option<Db>> {
    let write = match need {
        Need::Nothing => return Ok(None),
        Need::Read => false,
        Need::Write => true,
    };
    let url = resolve_url(global.database_url.clone())?;
    let db = Db::connect(
        &url,
        ConnectOptionsExt {
            write,
            wait: global.wait,
            lock_timeout: global.lock_timeout,
        },
    )
    .await?;
    Ok(Some(db))
}

async fn execute(rt: &Runtime, cli: &Cli, out: Output) -> Result<u8> {
    let g = &cli.global;
    let need = match &cli.verb {
        Verb::Upgrade { .. } | Verb::Downgrade { .. } | Verb::Redo { .. } | Verb::Stamp { .. } => {
            Need::Write
        }
        Verb::Current { .. } | Verb::Status | Verb::Check => Need::Read,
        Verb::History {
            range,
            indicate_current,
            ..
        } => {
            if *indicate_current || range.as_deref().is_some_and(mentions_current) {
                Need::Read
            } else {
                Need::Nothing
            }
        }
        Verb::Show { revision } if mentions_current(revision) => Need::Read,
        Verb::Heads { .. } | Verb::Show { .. } | Verb::Branches { .. } => Need::Nothing,
    };
    let db = connect(g, need).await?;
    let result = dispatch(rt, cli, out, db.as_ref()).await;
    if let Some(db) = db {
        db.close().await;
    }
    result
}

fn mentions_current(spec: &str) -> bool {
    spec.contains("current")
        || spec.starts_with(['+', '-'])
        || spec.contains(":-")
        || spec.contains(":+")
}

async fn dispatch(rt: &Runtime, cli: &Cli, out: Output, db: Option<&Db>) -> Result<u8> {
    let state = match (&cli.verb, db) {
        (
            Verb::Upgrade { .. } | Verb::Downgrade { .. } | Verb::Redo { .. } | Verb::Stamp { .. },
            _,
        )
        | (_, None) => None,
        (_, Some(db)) => Some(rt.state(db).await?),
    };
    let state = state.as_ref();
    match &cli.verb {
        Verb::Upgrade { revision, write } => {
            migrate(rt, out, db, "upgrade", revision, &cli.global, write).await
        }
        Verb::Downgrade { revision, write } => {
            migrate(rt, out, db, "downgrade", revision, &cli.global, write).await
        }
        Verb::Redo { write } => migrate(rt, out, db, "redo", "", &cli.global, write).await,
        Verb::Stamp { revisions, purge } => {
            stamp(rt, out, db, revisions, *purge, &cli.global).await
        }
        Verb::History { range, verbose, .. } => history(rt, out, state, range.as_deref(), *verbose),
        Verb::Heads { verbose } => {
            let heads = rt.graph().heads();
            list(rt, out, state, &heads, *verbose, "heads");
            Ok(exit::OK)
        }
        Verb::Current { verbose } => current(rt, out, db, state, *verbose),
        Verb::Status => status(rt, out, db, state),
        Verb::Check => check(rt, out, state),
        Verb::Show { revision } => {
            let current = state.map(|s| s.current.clone());
            let resolver = crate::spec::Resolver::new(rt.graph(), current.as_deref());
            let revs = resolver.resolve_str(revision)?;
            if revs.is_empty() {
                out.note("`base` is the empty state before the first revision");
            }
            list(rt, out, state, &revs, true, "revisions");
            Ok(exit::OK)
        }
        Verb::Branches { verbose } => branches(rt, out, *verbose),
    }
}

fn expect_db(db: Option<&Db>) -> Result<&Db> {
    db.ok_or_else(|| Error::usage("this verb needs a database"))
}

async fn migrate(
    rt: &Runtime,
    out: Output,
    db: Option<&Db>,
    verb: &str,
    revision: &str,
    global: &GlobalArgs,
    write: &WriteArgs,
) -> Result<u8> {
    let db = expect_db(db)?;
    let opts = WriteOptions {
        lock_timeout: global.lock_timeout,
        allow_unknown: write.allow_unknown,
        retry_failed: write.retry_failed,
    };
    let mut progress = Progress { out };
    let started = std::time::Instant::now();
    let steps = match verb {
        "upgrade" => rt.upgrade(db, revision, &opts, &mut progress).await?,
        "downgrade" => rt.downgrade(db, revision, &opts, &mut progress).await?,
        _ => rt.redo(db, &opts, &mut progress).await?,
    };
    let state = rt.state(db).await?;
    let current = ids(rt.graph(), &state.current);
    if out.json() {
        out.object(&json!({
            "event": "done",
            "verb": verb,
            "steps": steps.iter().filter(|s| !s.skipped).count(),
            "current": current,
        }));
    } else if steps.is_empty() {
        out.status(
            "Finished",
            format!(
                "nothing to do: the database is at {}",
                describe_current(&current)
            ),
        );
    } else {
        let n = steps.iter().filter(|s| !s.skipped).count();
        out.status(
            "Finished",
            format!(
                "{verb}: {n} migration{} in {}; the database is at {}",
                if n == 1 { "" } else { "s" },
                output::duration(started.elapsed().as_secs_f64() * 1000.0),
                describe_current(&current)
            ),
        );
    }
    Ok(exit::OK)
}

fn describe_current(current: &[String]) -> String {
    if current.is_empty() {
        "base".to_string()
    } else {
        current.join(", ")
    }
}

async fn stamp(
    rt: &Runtime,
    out: Output,
    db: Option<&Db>,
    revisions: &[String],
    purge: bool,
    global: &GlobalArgs,
) -> Result<u8> {
    let db = expect_db(db)?;
    let opts = WriteOptions {
        lock_timeout: global.lock_timeout,
        ..Default::default()
    };
    let mut progress = Progress { out };
    let outcome = rt.stamp(db, revisions, purge, &opts, &mut progress).await?;
    if out.json() {
        let mut v = serde_json::to_value(&outcome).unwrap_or_default();
        v["event"] = json!("stamped");
        out.object(&v);
    } else {
        for id in &outcome.purged {
            out.status("Purged", id);
        }
        for id in &outcome.removed {
            out.status("Unstamped", id);
        }
        for id in &outcome.added {
            out.status("Stamped", id);
        }
        out.status(
            "Finished",
            format!(
                "the database is recorded at {}",
                describe_current(&outcome.current)
            ),
        );
    }
    Ok(exit::OK)
}

fn history(
    rt: &Runtime,
    out: Output,
    state: Option<&State>,
    range: Option<&str>,
    verbose: bool,
) -> Result<u8> {
    let current = state.map(|s| s.current.clone());
    let resolver = crate::spec::Resolver::new(rt.graph(), current.as_deref());
    let revs = match range {
        Some(r) => resolver.range(&parse_range(r)?)?,
        None => rt.graph().topo_order().iter().rev().copied().collect(),
    };
    list(rt, out, state, &revs, verbose, "revisions");
    Ok(exit::OK)
}

/// Prints revisions as history lines, verbose blocks, or one JSON object.
fn list(
    rt: &Runtime,
    out: Output,
    state: Option<&State>,
    revs: &[usize],
    verbose: bool,
    key: &str,
) {
    if out.json() {
        let items: Vec<_> = revs
            .iter()
            .map(|&r| output::revision_json(rt, state, r))
            .collect();
        out.object(&json!({ key: items }));
    } else if verbose {
        let blocks: Vec<String> = revs
            .iter()
            .map(|&r| output::log_entry(rt, state, r))
            .collect();
        out.data(blocks.join("\n").trim_end());
    } else {
        for &r in revs {
            out.data(output::history_line(rt, state, r));
        }
    }
}

fn current(
    rt: &Runtime,
    out: Output,
    db: Option<&Db>,
    state: Option<&State>,
    verbose: bool,
) -> Result<u8> {
    let db = expect_db(db)?;
    let state = state.ok_or_else(|| Error::usage("no state"))?;
    let g = rt.graph();
    if out.json() {
        let revisions: Vec<_> = state
            .current
            .iter()
            .map(|&r| output::revision_json(rt, Some(state), r))
            .collect();
        out.object(&json!({
            "database": db.url().to_string(),
            "current": ids(g, &state.current),
            "revisions": revisions,
            "unknown": state.unknown,
            "failures": failures_json(state),
        }));
        return Ok(exit::OK);
    }
    if verbose {
        out.data(format!("Current revision(s) for {}:", db.url()));
    }
    for &r in &state.current {
        if verbose {
            out.data(output::log_entry(rt, Some(state), r).trim_end());
        } else {
            let head = if g.is_head(r) { " (head)" } else { "" };
            out.data(format!("{}{head}", g.id(r)));
        }
    }
    for row in &state.unknown {
        out.data(format!(
            "{} (unknown: not in this migration crate)",
            row.version
        ));
    }
    if state.current.is_empty() && state.unknown.is_empty() {
        out.note("no revision is applied: the database is at base");
    }
    report_problems(rt, out, state);
    Ok(exit::OK)
}

fn failures_json(state: &State) -> Vec<serde_json::Value> {
    let mut v: Vec<_> = state
        .recorded
        .meta
        .values()
        .filter_map(|m| {
            m.failure
                .as_ref()
                .map(|f| json!({"revision": m.version, "failure": f}))
        })
        .collect();
    v.sort_by(|a, b| a["revision"].as_str().cmp(&b["revision"].as_str()));
    v
}

fn report_problems(rt: &Runtime, out: Output, state: &State) {
    if !state.unknown.is_empty() {
        let names: Vec<&str> = state.unknown.iter().map(|r| r.version.as_str()).collect();
        out.warn(format!(
            "the database has revisions this migration crate does not know: {}",
            names.join(", ")
        ));
    }
    for (id, f) in state
        .recorded
        .meta
        .values()
        .filter_map(|m| m.failure.as_ref().map(|f| (&m.version, f)))
    {
        let partial = if f.transactional {
            "rolled back"
        } else {
            "may be half-applied"
        };
        out.warn(format!(
            "{} of `{id}` failed at {} ({partial}): {}",
            f.direction,
            output::timestamp(f.failed_at_ms / 1000),
            f.error
        ));
    }
    let _ = rt;
}

fn status(rt: &Runtime, out: Output, db: Option<&Db>, state: Option<&State>) -> Result<u8> {
    let db = expect_db(db)?;
    let state = state.ok_or_else(|| Error::usage("no state"))?;
    let g = rt.graph();
    let order = g.topo_order();
    let pending: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&r| !state.applied[r])
        .collect();
    if out.json() {
        let revisions: Vec<_> = order
            .iter()
            .map(|&r| output::revision_json(rt, Some(state), r))
            .collect();
        out.object(&json!({
            "database": db.url().to_string(),
            "revisions": revisions,
            "applied": state.applied_count(),
            "pending": ids(g, &pending),
            "current": ids(g, &state.current),
            "heads": ids(g, &g.heads()),
            "unknown": state.unknown,
            "failures": failures_json(state),
        }));
        return Ok(exit::OK);
    }
    out.data(format!("Database: {}", db.url()));
    let width = order.iter().map(|&r| g.id(r).len()).max().unwrap_or(0);
    for &r in order {
        let id = g.id(r);
        let line = match state.recorded.applied.iter().find(|row| row.version == id) {
            Some(row) => {
                let ms = state
                    .recorded
                    .meta
                    .get(id)
                    .and_then(|m| m.execution_ms)
                    .map(|ms| format!("  {ms} ms"))
                    .unwrap_or_default();
                format!(
                    "  {}  {id:<width$}  {}{ms}",
                    console::style("applied").green(),
                    output::timestamp(row.applied_at)
                )
            }
            None => format!("  {}  {id}", console::style("pending").yellow()),
        };
        out.data(line.trim_end());
    }
    for row in &state.unknown {
        out.data(format!(
            "  {}  {}  (not in this migration crate)",
            console::style("unknown").red(),
            row.version
        ));
    }
    out.data(format!(
        "{} applied, {} pending; current: {}; head{}: {}",
        state.applied_count(),
        pending.len(),
        describe_current(&ids(g, &state.current)),
        if g.heads().len() == 1 { "" } else { "s" },
        ids(g, &g.heads()).join(", ")
    ));
    report_problems(rt, out, state);
    Ok(exit::OK)
}

fn check(rt: &Runtime, out: Output, state: Option<&State>) -> Result<u8> {
    let state = state.ok_or_else(|| Error::usage("no state"))?;
    let g = rt.graph();
    let heads = g.heads();
    let pending: Vec<usize> = g
        .topo_order()
        .iter()
        .copied()
        .filter(|&r| !state.applied[r])
        .collect();
    let unknown: Vec<&str> = state.unknown.iter().map(|r| r.version.as_str()).collect();
    let (code, verdict, message) = if heads.len() > 1 {
        (
            exit::DRIFT,
            "multiple_heads",
            format!(
                "{} heads: {}; join them with `cargo migrate merge`",
                heads.len(),
                ids(g, &heads).join(", ")
            ),
        )
    } else if !unknown.is_empty() {
        (
            exit::DRIFT,
            "unknown_revisions",
            format!(
                "the database has revisions this migration crate does not know: {}",
                unknown.join(", ")
            ),
        )
    } else if !pending.is_empty() {
        (
            exit::PENDING,
            "pending",
            format!(
                "{} pending migration{}: {}",
                pending.len(),
                if pending.len() == 1 { "" } else { "s" },
                ids(g, &pending).join(", ")
            ),
        )
    } else {
        (
            exit::OK,
            "up_to_date",
            format!(
                "up to date at {}",
                describe_current(&ids(g, &state.current))
            ),
        )
    };
    if out.json() {
        out.object(&json!({
            "status": verdict,
            "exit_code": code,
            "heads": ids(g, &heads),
            "pending": ids(g, &pending),
            "unknown": unknown,
            "current": ids(g, &state.current),
        }));
    } else {
        out.data(message);
    }
    Ok(code)
}

fn branches(rt: &Runtime, out: Output, verbose: bool) -> Result<u8> {
    let g = rt.graph();
    let points: Vec<usize> = g
        .topo_order()
        .iter()
        .copied()
        .filter(|&r| g.is_branch_point(r))
        .collect();
    if out.json() {
        let items: Vec<_> = points
            .iter()
            .map(|&r| output::revision_json(rt, None, r))
            .collect();
        out.object(&json!({ "branchpoints": items }));
        return Ok(exit::OK);
    }
    for &r in &points {
        if verbose {
            out.data(output::log_entry(rt, None, r).trim_end());
        } else {
            out.data(format!("{} (branchpoint)", g.id(r)));
        }
        let pad = " ".repeat(g.id(r).len());
        for &c in g.children(r) {
            let head = if g.is_head(c) { " (head)" } else { "" };
            out.data(format!(
                "{pad} -> {}{head}, {}",
                g.id(c),
                output::message(g.id(c))
            ));
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn relative_specs_are_accepted_as_values() {
        let cli = Cli::try_parse_from(["m", "downgrade", "-1"]).unwrap();
        assert!(matches!(cli.verb, Verb::Downgrade { ref revision, .. } if revision == "-1"));
        let cli = Cli::try_parse_from(["m", "history", "-r", "-3:current"]).unwrap();
        assert!(matches!(cli.verb, Verb::History { range: Some(ref r), .. } if r == "-3:current"));
        let cli = Cli::try_parse_from(["m", "upgrade"]).unwrap();
        assert!(matches!(cli.verb, Verb::Upgrade { ref revision, .. } if revision == "head"));
    }
}
