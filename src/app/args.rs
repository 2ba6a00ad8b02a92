//! The migration binary's command line: `./migration upgrade head`, the same verbs
//! `cargo migrate` forwards. This module holds the arguments (and turns them back into
//! an argument list for forwarding); [`crate::verbs`] runs them.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::app::render::Format;
use crate::model::server::LockStrategy;

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
    /// PostgreSQL schema to migrate, as sea-orm-migration's `-s` [default:
    /// $DATABASE_SCHEMA, then DATABASE_SCHEMA in .env]
    #[arg(
        short = 's',
        long,
        value_name = "SCHEMA",
        env = "DATABASE_SCHEMA",
        hide_env_values = true,
        global = true
    )]
    pub database_schema: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,
    /// Coloring: auto, always, never
    #[arg(
        long,
        value_name = "WHEN",
        env = "CARGO_TERM_COLOR",
        hide_env_values = true,
        global = true
    )]
    pub color: Option<ColorChoice>,
    /// Print only data and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail: verbose listings (`history`, `heads`, `current`, `branches`)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Give up waiting for another process's migration lock after this long (e.g. 30s, 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub lock_timeout: Option<Duration>,
    /// How runs lock each other out: session, transaction (PostgreSQL, pooler-safe) or
    /// table (a lock row; distributed SQL). Default: what the server supports
    #[arg(
        long,
        value_name = "STRATEGY",
        env = "MIGRATE_LOCK_STRATEGY",
        value_parser = parse_lock_strategy,
        global = true
    )]
    pub lock_strategy: Option<LockStrategy>,
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

/// `--sql`: the script instead of the run.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Preview")]
pub struct SqlArgs {
    /// Print the SQL script that would do it instead, with no database (from `base`, or
    /// from A given as `A:B`)
    #[arg(long)]
    pub sql: bool,
    /// With --sql: start from the database's recorded revisions and schema (read only)
    #[arg(long, requires = "sql")]
    pub from_db: bool,
    /// With --sql: the database the script is for [default: the database URL's]
    #[arg(long, value_enum, requires = "sql")]
    pub backend: Option<BackendArg>,
}

/// What `verify` compares, and where it rebuilds the expected schema.
#[derive(Debug, Clone, Default, Args)]
pub struct VerifyArgs {
    /// An empty database to rebuild the migrations' schema in, for a user who may not
    /// create databases [default: a scratch database on the same server, dropped after]
    #[arg(
        long,
        value_name = "URL",
        env = "DEV_DATABASE_URL",
        hide_env_values = true
    )]
    pub dev_url: Option<String>,
    /// Compare only tables matching this pattern (`*` matches anything; repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Leave out tables matching this pattern (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
}

/// A database kind, for a script written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Postgres,
    Mysql,
    Sqlite,
}

/// `--dry-run`: run it, then roll it all back.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Preview")]
pub struct DryRunArgs {
    /// Run the plan against the database and roll everything back (PostgreSQL, SQLite;
    /// MySQL/MariaDB: in a scratch copy it creates and drops)
    #[arg(long)]
    pub dry_run: bool,
    /// In a dry run: give up a statement that waits this long for a table lock [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "dry_run")]
    pub table_lock_timeout: Option<Duration>,
    /// In a dry run: give up a statement that runs this long [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "dry_run")]
    pub statement_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Verb {
    /// Apply migrations up to a revision (default: head)
    Upgrade {
        /// The revision to reach: `head`, `heads`, an id or prefix, `+N`; with --sql also
        /// `A:B`
        #[arg(default_value = "head", allow_negative_numbers = true)]
        revision: String,
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        sql: SqlArgs,
        #[command(flatten)]
        dry: DryRunArgs,
    },
    /// Revert migrations down to a revision (`-1`: the last one, `base`: all)
    Downgrade {
        /// The revision to go back to; with --sql `A:B` (e.g. `head:base`)
        #[arg(allow_negative_numbers = true)]
        revision: String,
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        sql: SqlArgs,
        #[command(flatten)]
        dry: DryRunArgs,
    },
    /// Revert the last migration and apply it again
    Redo {
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        dry: DryRunArgs,
    },
    /// Record revisions as applied without running them (`base`: record nothing)
    Stamp {
        #[arg(required = true, allow_negative_numbers = true)]
        revisions: Vec<String>,
        /// Also delete recorded revisions this crate does not know
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        sql: SqlArgs,
    },
    /// Record the current source of applied migrations that were edited since they
    /// were applied (default: all of them), once the change is reviewed
    Rehash {
        #[arg(allow_negative_numbers = true)]
        revisions: Vec<String>,
    },
    /// List revisions, newest first
    History {
        /// Range START:END, either end optional (e.g. `base:head`, `-2:`, `m2026:`)
        #[arg(short = 'r', long = "rev-range", allow_hyphen_values = true)]
        range: Option<String>,
        /// Mark the database's current revisions (connects to it)
        #[arg(short = 'i', long)]
        indicate_current: bool,
    },
    /// Show the revisions nothing revises yet
    Heads,
    /// Show the database's current revisions
    Current,
    /// Show every revision, applied or pending, and any failure
    Status,
    /// Exit 0 if the database is at the single head; 3 if migrations are pending;
    /// 4 with several heads or revisions unknown to this crate
    Check {
        /// Instead: exit 4 if the application's SeaORM entities differ from the schema the
        /// migrations build (a migration is missing); needs `cargo migrate`
        #[arg(long)]
        entities: bool,
    },
    /// Compare the database's schema with the one its applied migrations build
    /// (replayed in a scratch database): exit 0 if they match, 4 with the differences
    Verify {
        #[command(flatten)]
        verify: VerifyArgs,
    },
    /// Show one revision in full
    Show {
        #[arg(allow_negative_numbers = true)]
        revision: String,
    },
    /// Show the revisions where history branches
    Branches,
}

/// A `--lock-strategy` value.
fn parse_lock_strategy(s: &str) -> Result<LockStrategy, String> {
    s.parse()
        .map_err(|e: crate::model::server::ParseLockStrategyError| e.to_string())
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
    // A week is more than any migration lock or start-up should take.
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d <= Duration::from_secs(7 * 24 * 3600))
        .ok_or_else(|| format!("`{text}` is out of range; give at most a week, e.g. 30s, 10m, 2h"))
}

// Forwarding: only `cargo migrate` turns a parsed command line back into arguments.
#[cfg(feature = "cli")]
impl Verb {
    /// The verb's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Upgrade { .. } => "upgrade",
            Verb::Downgrade { .. } => "downgrade",
            Verb::Redo { .. } => "redo",
            Verb::Stamp { .. } => "stamp",
            Verb::Rehash { .. } => "rehash",
            Verb::History { .. } => "history",
            Verb::Heads => "heads",
            Verb::Current => "current",
            Verb::Status => "status",
            Verb::Check { .. } => "check",
            Verb::Verify { .. } => "verify",
            Verb::Show { .. } => "show",
            Verb::Branches => "branches",
        }
    }

    /// The verb and its own arguments, as a command line that parses back to `self`.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![self.name().to_string()];
        match self {
            Verb::Upgrade {
                revision,
                write,
                sql,
                dry,
            }
            | Verb::Downgrade {
                revision,
                write,
                sql,
                dry,
            } => {
                args.extend(write.to_args());
                args.extend(sql.to_args());
                args.extend(dry.to_args());
                args.push("--".to_string());
                args.push(revision.clone());
            }
            Verb::Redo { write, dry } => {
                args.extend(write.to_args());
                args.extend(dry.to_args());
            }
            Verb::Stamp {
                revisions,
                purge,
                sql,
            } => {
                if *purge {
                    args.push("--purge".to_string());
                }
                args.extend(sql.to_args());
                args.push("--".to_string());
                args.extend(revisions.iter().cloned());
            }
            Verb::Rehash { revisions } => {
                args.push("--".to_string());
                args.extend(revisions.iter().cloned());
            }
            Verb::History {
                range,
                indicate_current,
            } => {
                if let Some(r) = range {
                    args.push(format!("--rev-range={r}"));
                }
                if *indicate_current {
                    args.push("--indicate-current".to_string());
                }
            }
            Verb::Show { revision } => args.extend(["--".to_string(), revision.clone()]),
            // `--dev-url` goes in the environment (DEV_DATABASE_URL), never on a command line.
            Verb::Verify { verify } => {
                for p in &verify.include {
                    args.push(format!("--include={p}"));
                }
                for p in &verify.exclude {
                    args.push(format!("--exclude={p}"));
                }
            }
            Verb::Check { entities } => {
                if *entities {
                    args.push("--entities".to_string());
                }
            }
            Verb::Heads | Verb::Current | Verb::Status | Verb::Branches => {}
        }
        args
    }
}

// Forwarding: only `cargo migrate` turns a parsed command line back into arguments.
#[cfg(feature = "cli")]
impl WriteArgs {
    fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.allow_unknown {
            args.push("--allow-unknown".to_string());
        }
        if self.retry_failed {
            args.push("--retry-failed".to_string());
        }
        args
    }
}

#[cfg(feature = "cli")]
impl SqlArgs {
    fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.sql {
            args.push("--sql".to_string());
        }
        if self.from_db {
            args.push("--from-db".to_string());
        }
        if let Some(b) = self.backend {
            let name = match b {
                BackendArg::Postgres => "postgres",
                BackendArg::Mysql => "mysql",
                BackendArg::Sqlite => "sqlite",
            };
            args.push(format!("--backend={name}"));
        }
        args
    }
}

#[cfg(feature = "cli")]
impl DryRunArgs {
    fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.dry_run {
            args.push("--dry-run".to_string());
        }
        if let Some(d) = self.table_lock_timeout {
            args.push(format!("--table-lock-timeout={}ms", d.as_millis()));
        }
        if let Some(d) = self.statement_timeout {
            args.push(format!("--statement-timeout={}ms", d.as_millis()));
        }
        args
    }
}

// Forwarding: only `cargo migrate` turns a parsed command line back into arguments.
#[cfg(feature = "cli")]
impl GlobalArgs {
    /// The global flags as a command line, **without the database URL**: a forwarding
    /// process passes that in `DATABASE_URL`, where `ps` does not show it.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.format != Format::Human {
            args.push("--format=json".to_string());
        }
        if let Some(color) = self.color {
            let when = match color {
                ColorChoice::Auto => "auto",
                ColorChoice::Always => "always",
                ColorChoice::Never => "never",
            };
            args.push(format!("--color={when}"));
        }
        if self.quiet {
            args.push("--quiet".to_string());
        }
        for _ in 0..self.verbose {
            args.push("--verbose".to_string());
        }
        if let Some(d) = self.lock_timeout {
            args.push(format!("--lock-timeout={}ms", d.as_millis()));
        }
        if let Some(strategy) = self.lock_strategy {
            args.push(format!("--lock-strategy={strategy}"));
        }
        if let Some(d) = self.wait {
            args.push(format!("--wait={}ms", d.as_millis()));
        }
        if self.yes {
            args.push("--yes".to_string());
        }
        if let Some(schema) = &self.database_schema {
            args.push(format!("--database-schema={schema}"));
        }
        args
    }
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
        assert!(parse_duration("99999999999999999999").is_err());
        assert!(parse_duration("8d").is_err());
    }

    /// Forwarding rebuilds the command line from the parsed one: it must mean the same.
    #[test]
    #[cfg(feature = "cli")]
    fn command_lines_survive_the_round_trip() {
        for line in [
            "upgrade",
            "upgrade heads --allow-unknown --retry-failed",
            "upgrade --sql --backend postgres m1:head",
            "upgrade --sql --from-db",
            "downgrade --sql head:base",
            "stamp --sql --backend sqlite head",
            "upgrade --dry-run --table-lock-timeout 2s --statement-timeout 1m",
            "redo --dry-run -v",
            "downgrade -1",
            "downgrade base --yes",
            "redo --lock-timeout 2s --wait 1m",
            "stamp --purge head m2026",
            "stamp base -y",
            "rehash",
            "rehash m2026 -1",
            "downgrade -2 --yes",
            "stamp -- -1",
            "history -r -3:current -v -i",
            "history --rev-range=:head",
            "heads -vv --format json",
            "current -q --color never",
            "status --color always",
            "check",
            "show -1",
            "branches -v",
            "current -s app",
            "upgrade --database-schema=app,public",
        ] {
            let argv = line.split(' ');
            let first = Cli::try_parse_from(std::iter::once("m").chain(argv)).unwrap();
            let mut again = vec!["m".to_string()];
            again.extend(first.global.to_args());
            again.extend(first.verb.to_args());
            let second = Cli::try_parse_from(&again).unwrap_or_else(|e| panic!("{again:?}: {e}"));
            assert_eq!(format!("{:?}", first), format!("{:?}", second), "`{line}`");
        }
    }

    #[test]
    #[cfg(feature = "cli")]
    fn the_database_url_is_never_forwarded_on_the_command_line() {
        let cli = Cli::try_parse_from(["m", "-u", "postgres://u:hunter2@h/db", "current"]).unwrap();
        let args = cli.global.to_args().join(" ");
        assert!(
            !args.contains("hunter2") && !args.contains("postgres"),
            "{args}"
        );
    }

    #[test]
    fn flags_after_a_relative_spec_are_still_flags() {
        let cli = Cli::try_parse_from(["m", "stamp", "base", "-y"]).unwrap();
        assert!(cli.global.yes);
        assert!(matches!(cli.verb, Verb::Stamp { ref revisions, .. } if revisions == &["base"]));
        let cli = Cli::try_parse_from(["m", "downgrade", "-1", "--dry-run", "-v"]).unwrap();
        assert!(matches!(cli.verb, Verb::Downgrade { ref dry, .. } if dry.dry_run));
        let cli = Cli::try_parse_from(["m", "downgrade", "-1", "-y"]).unwrap();
        assert!(cli.global.yes);
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
