//! A verb with its revision specs parsed, once: what the handlers take instead of the
//! command line's text. Whether the verb needs the database is answered here, from the
//! parsed specs, for the binary and (without the crate's graph) for the subcommand.

use std::time::Duration;

use sea_orm_migration::sea_orm::DbBackend;

use crate::app::args::{BackendArg, DryRunArgs, SqlArgs, Verb, VerifyArgs, WriteArgs};
use crate::engine::runtime::WriteOptions;
use crate::engine::url::DbUrl;
use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::model::spec::{self, RangeSpec, Spec, SpecError};

/// What a verb needs from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: the verb answers from the crate alone.
    Nothing,
    /// A read-only connection.
    Read,
    /// A connection that writes, under the migration lock.
    Write,
}

/// The flags of a migrating verb.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteFlags {
    /// `--allow-unknown`.
    pub allow_unknown: bool,
    /// `--retry-failed`.
    pub retry_failed: bool,
}

/// How a migrating verb runs.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// For real.
    #[default]
    Run,
    /// `--sql`: the script, not the run.
    Sql {
        /// Where the script starts.
        start: SqlStart,
        /// `--backend`: the database it is for, if given.
        backend: Option<DbBackend>,
    },
    /// `--dry-run`: run, then roll back.
    DryRun {
        /// `--table-lock-timeout`.
        lock_timeout: Option<Duration>,
        /// `--statement-timeout`.
        statement_timeout: Option<Duration>,
    },
}

/// Where a `--sql` script starts.
#[derive(Debug, Clone, Default)]
pub enum SqlStart {
    /// Nothing given: `base` (a `downgrade` script must be given a start).
    #[default]
    Unsaid,
    /// `A` of `A:B`.
    At(Spec),
    /// `--from-db`.
    Database,
}

/// A verb and its typed arguments.
#[derive(Debug, Clone)]
pub enum Command {
    /// `upgrade REV`.
    Upgrade {
        target: Spec,
        write: WriteFlags,
        mode: Mode,
    },
    /// `downgrade REV`.
    Downgrade {
        target: Spec,
        write: WriteFlags,
        mode: Mode,
    },
    /// `redo`.
    Redo { write: WriteFlags, mode: Mode },
    /// `stamp REV... [--purge]`.
    Stamp {
        targets: Vec<Spec>,
        purge: bool,
        mode: Mode,
    },
    /// `rehash [REV...]`.
    Rehash { targets: Vec<Spec> },
    /// `history [-r A:B] [-i]`.
    History {
        range: Option<RangeSpec>,
        indicate_current: bool,
    },
    /// `heads`.
    Heads,
    /// `current`.
    Current,
    /// `status`.
    Status,
    /// `check`.
    Check,
    /// `verify [--dev-url URL] [--include P] [--exclude P]`.
    Verify { verify: VerifyArgs },
    /// `show REV`.
    Show { target: Spec },
    /// `branches`.
    Branches,
}

impl Command {
    /// Parses the verb's specs. With the crate's `graph`, an input equal to a revision
    /// id means that revision whatever the grammar says; without it (the subcommand,
    /// which has no graph) the grammar alone decides.
    pub fn parse(verb: &Verb, graph: Option<&Graph>) -> Result<Command> {
        let one = |input: &str| match graph {
            Some(g) => spec::parse_with(g, input),
            None => spec::parse(input),
        };
        let all = |inputs: &[String]| -> Result<Vec<Spec>, SpecError> {
            inputs.iter().map(|i| one(i)).collect()
        };
        // `A:B` (with --sql): the start, and the target (`end` when B is left out).
        let ranged = |input: &str, sql: &SqlArgs, end: &str| -> Result<(SqlStart, Spec)> {
            let Some((a, b)) = input.split_once(':') else {
                let start = if sql.from_db {
                    SqlStart::Database
                } else {
                    SqlStart::Unsaid
                };
                return Ok((start, one(input)?));
            };
            if !sql.sql {
                return Err(Error::usage(format!(
                    "`{input}`: a range `A:B` is for a script (`--sql`); to run migrations, \
                     give the revision to reach"
                )));
            }
            if sql.from_db {
                return Err(Error::usage(format!(
                    "`{input}`: give the script's start either as `A:B` or with `--from-db`, \
                     not both"
                )));
            }
            let start = if a.is_empty() {
                SqlStart::Unsaid
            } else {
                SqlStart::At(one(a)?)
            };
            Ok((start, one(if b.is_empty() { end } else { b })?))
        };
        Ok(match verb {
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
                let up = matches!(verb, Verb::Upgrade { .. });
                let (start, target) = ranged(revision, sql, if up { "head" } else { "base" })?;
                let mode = mode(sql, dry, start)?;
                if up {
                    Command::Upgrade {
                        target,
                        write: write.into(),
                        mode,
                    }
                } else {
                    Command::Downgrade {
                        target,
                        write: write.into(),
                        mode,
                    }
                }
            }
            Verb::Redo { write, dry } => Command::Redo {
                write: write.into(),
                mode: mode(&SqlArgs::default(), dry, SqlStart::Unsaid)?,
            },
            Verb::Stamp {
                revisions,
                purge,
                sql,
            } => {
                let (start, targets) = match revisions.as_slice() {
                    [only] if only.contains(':') => {
                        let (start, target) = ranged(only, sql, "head")?;
                        (start, vec![target])
                    }
                    _ if sql.from_db => (SqlStart::Database, all(revisions)?),
                    _ => (SqlStart::Unsaid, all(revisions)?),
                };
                Command::Stamp {
                    targets,
                    purge: *purge,
                    mode: mode(sql, &DryRunArgs::default(), start)?,
                }
            }
            Verb::Rehash { revisions } => Command::Rehash {
                targets: all(revisions)?,
            },
            Verb::History {
                range,
                indicate_current,
            } => Command::History {
                range: range.as_deref().map(spec::parse_range).transpose()?,
                indicate_current: *indicate_current,
            },
            Verb::Heads => Command::Heads,
            Verb::Current => Command::Current,
            Verb::Status => Command::Status,
            Verb::Check { entities: false } => Command::Check,
            Verb::Check { entities: true } => {
                return Err(Error::usage(
                    "`check --entities` compares the application's SeaORM entities with the \
                     migrations, and this binary has no entities: run `cargo migrate check \
                     --entities` in the workspace",
                ));
            }
            Verb::Verify { verify } => Command::Verify {
                verify: verify.clone(),
            },
            Verb::Show { revision } => Command::Show {
                target: one(revision)?,
            },
            Verb::Branches => Command::Branches,
        })
    }

    /// How a migrating verb runs (`Run` for the others).
    pub fn mode(&self) -> &Mode {
        static RUN: Mode = Mode::Run;
        match self {
            Command::Upgrade { mode, .. }
            | Command::Downgrade { mode, .. }
            | Command::Redo { mode, .. }
            | Command::Stamp { mode, .. } => mode,
            _ => &RUN,
        }
    }

    /// The verb's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Upgrade { .. } => "upgrade",
            Command::Downgrade { .. } => "downgrade",
            Command::Redo { .. } => "redo",
            Command::Stamp { .. } => "stamp",
            Command::Rehash { .. } => "rehash",
            Command::History { .. } => "history",
            Command::Heads => "heads",
            Command::Current => "current",
            Command::Status => "status",
            Command::Check => "check",
            Command::Verify { .. } => "verify",
            Command::Show { .. } => "show",
            Command::Branches => "branches",
        }
    }

    /// Whether the verb connects, and whether it writes.
    pub fn need(&self) -> Need {
        match self.mode() {
            Mode::Sql {
                start: SqlStart::Database,
                ..
            } => return Need::Read,
            Mode::Sql { .. } => return Need::Nothing,
            // It writes, but takes everything back: a SQLite file that does not exist
            // is not created for it (an empty database stands in).
            Mode::DryRun { .. } => return Need::Read,
            Mode::Run => {}
        }
        match self {
            Command::Upgrade { .. }
            | Command::Downgrade { .. }
            | Command::Redo { .. }
            | Command::Stamp { .. }
            | Command::Rehash { .. } => Need::Write,
            Command::Current | Command::Status | Command::Check | Command::Verify { .. } => {
                Need::Read
            }
            Command::History {
                range,
                indicate_current,
            } => {
                let ends = range.iter().flat_map(|r| [&r.start, &r.end]).flatten();
                if *indicate_current || ends.into_iter().any(Spec::needs_state) {
                    Need::Read
                } else {
                    Need::Nothing
                }
            }
            Command::Show { target } if target.needs_state() => Need::Read,
            Command::Heads | Command::Show { .. } | Command::Branches => Need::Nothing,
        }
    }

    /// Whether the verb changes what the database records in a way that asks first:
    /// `downgrade` and `stamp` always, `redo` against a database on another machine (on
    /// this one it is the edit-run loop).
    pub fn destructive(&self, url: &DbUrl) -> bool {
        if !matches!(self.mode(), Mode::Run) {
            return false;
        }
        match self {
            Command::Downgrade { .. } | Command::Stamp { .. } => true,
            Command::Redo { .. } => !url.is_local(),
            _ => false,
        }
    }

    /// The specs a writing verb will act on, checked before it connects.
    pub fn targets(&self) -> &[Spec] {
        match self {
            Command::Upgrade { target, .. } | Command::Downgrade { target, .. } => {
                std::slice::from_ref(target)
            }
            Command::Stamp { targets, .. } | Command::Rehash { targets } => targets,
            _ => &[],
        }
    }
}

#[cfg(feature = "cli")]
impl Verb {
    /// Whether the verb connects, and whether it writes, as far as the text tells: the
    /// subcommand asks this to know whether to resolve a URL. Specs that do not parse
    /// need nothing (their error is told before anything connects).
    pub fn need(&self) -> Need {
        Command::parse(self, None).map_or(Need::Nothing, |c| c.need())
    }
}

/// The mode the flags ask for; `start` is where a script starts.
fn mode(sql: &SqlArgs, dry: &DryRunArgs, start: SqlStart) -> Result<Mode> {
    if sql.sql && dry.dry_run {
        return Err(Error::usage(
            "`--sql` writes a script without running anything, `--dry-run` runs and rolls \
             back: give one of them",
        ));
    }
    Ok(if sql.sql {
        Mode::Sql {
            start,
            backend: sql.backend.map(|b| match b {
                BackendArg::Postgres => DbBackend::Postgres,
                BackendArg::Mysql => DbBackend::MySql,
                BackendArg::Sqlite => DbBackend::Sqlite,
            }),
        }
    } else if dry.dry_run {
        Mode::DryRun {
            lock_timeout: dry.table_lock_timeout,
            statement_timeout: dry.statement_timeout,
        }
    } else {
        Mode::Run
    })
}

impl From<&WriteArgs> for WriteFlags {
    fn from(args: &WriteArgs) -> Self {
        WriteFlags {
            allow_unknown: args.allow_unknown,
            retry_failed: args.retry_failed,
        }
    }
}

impl WriteFlags {
    /// The runtime's options for a migrating verb.
    pub fn options(
        self,
        lock_timeout: Option<std::time::Duration>,
        lock_strategy: Option<crate::model::server::LockStrategy>,
    ) -> WriteOptions {
        WriteOptions {
            lock_timeout,
            lock_strategy,
            allow_unknown: self.allow_unknown,
            retry_failed: self.retry_failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::args::Cli;
    use clap::Parser;

    /// Only a spec that names the database's state connects: an id that merely
    /// contains `current` does not.
    #[test]
    #[cfg(feature = "cli")]
    fn offline_verbs_connect_only_for_state_specs() {
        let need = |line: &str| {
            let argv = std::iter::once("m").chain(line.split(' '));
            Cli::try_parse_from(argv).unwrap().verb.need()
        };
        for line in [
            "show m20260301_120000_add_current_price",
            "show 20260301_1200",
            "show head-1",
            "history -r m20260301_120000_add_current_price:",
            "history -r base:head",
            "show not+a+spec",
        ] {
            assert_eq!(need(line), Need::Nothing, "{line}");
        }
        for line in [
            "show current",
            "show -1",
            "show current-1",
            "history -r -3:current",
            "history -r :+1",
            "history -i",
        ] {
            assert_eq!(need(line), Need::Read, "{line}");
        }
    }
}
