//! The verbs' handlers. [`run`] parses the verb once into a [`Command`], connects as it
//! needs, and routes it with one `match`; each handler is a plain function of the
//! runtime, the context and its typed arguments, and renders its result.

use crate::app::args::{Verb, VerifyArgs};
use crate::app::command::{Command, Mode, Need, SqlStart, WriteFlags};
use crate::app::confirm::Policy;
use crate::app::context::Context;
use crate::app::json::{
    ChangeJson, CheckJson, CurrentJson, Event, Listing, RevisionJson, ScriptJson, VerifyJson,
};
use crate::app::progress::Progress;
use crate::app::render::{self, Output, describe_current};
use sea_orm_migration::sea_orm::DbBackend;

use crate::engine::connect::Db;
use crate::engine::dry_run::{DryGoal, DryRunOptions};
use crate::engine::runtime::{Runtime, State, WriteOptions};
use crate::engine::script::{Goal, Start};
use crate::engine::status::failures;
use crate::engine::step::StepOutcome;
use crate::engine::url::DbUrl;
use crate::engine::verify::VerifyOptions;
use crate::error::{Error, Result, exit};
use crate::model::graph::ids;
use crate::model::messages;
use crate::model::spec::{RangeSpec, Resolver, Spec};

/// Runs `verb`: parses it, checks a writing verb's revisions before anything connects
/// (bad input creates nothing: no SQLite file, no tracking table), connects as the verb
/// needs, runs it, closes the connection. Returns the exit code.
pub async fn run(rt: &Runtime, ctx: &Context, verb: &Verb) -> Result<u8> {
    // `check` says it as its verdict.
    if !matches!(verb, Verb::Check { .. })
        && let Some(problem) = rt.unregistered_problem()
    {
        ctx.out.warn(problem);
    }
    let command = Command::parse(verb, Some(rt.graph()))?;
    for target in command.targets() {
        rt.check_target(command.name(), target)?;
    }
    let (db, policy) = ctx.connect(&command).await?;
    let result = dispatch(rt, ctx, &command, db.as_ref(), policy).await;
    if let Some(db) = db {
        db.close().await;
    }
    result
}

/// The one routing `match`.
async fn dispatch(
    rt: &Runtime,
    ctx: &Context,
    command: &Command,
    db: Option<&Db>,
    policy: Policy,
) -> Result<u8> {
    match command.mode() {
        Mode::Sql { start, backend } => return script(rt, ctx, command, db, start, *backend).await,
        Mode::DryRun {
            lock_timeout,
            statement_timeout,
        } => {
            let defaults = DryRunOptions::default();
            let limits = DryRunOptions {
                lock_timeout: lock_timeout.unwrap_or(defaults.lock_timeout),
                statement_timeout: statement_timeout.unwrap_or(defaults.statement_timeout),
            };
            return dry_run(rt, ctx, command, connected(db)?, &limits).await;
        }
        Mode::Run => {}
    }
    // A writing verb reads the state itself, under the lock.
    let state = match db {
        Some(db) if command.need() == Need::Read => Some(rt.state(db).await?),
        _ => None,
    };
    let state = state.as_ref();
    let mut progress = Progress {
        out: ctx.out,
        ask: db.filter(|_| policy == Policy::Ask).map(Db::url),
        verbose: ctx.verbose,
    };
    let writing = |write: WriteFlags| write.options(ctx.lock_timeout, ctx.lock_strategy);
    let plain = WriteOptions {
        lock_timeout: ctx.lock_timeout,
        lock_strategy: ctx.lock_strategy,
        ..Default::default()
    };
    match command {
        Command::Upgrade { target, write, .. } | Command::Downgrade { target, write, .. } => {
            let (db, opts) = (connected(db)?, writing(*write));
            let steps = if matches!(command, Command::Upgrade { .. }) {
                rt.upgrade(db, target, &opts, &mut progress).await?
            } else {
                rt.downgrade(db, target, &opts, &mut progress).await?
            };
            finished(rt, ctx.out, db, command, &steps).await
        }
        Command::Redo { write, .. } => {
            let db = connected(db)?;
            let steps = rt.redo(db, &writing(*write), &mut progress).await?;
            finished(rt, ctx.out, db, command, &steps).await
        }
        Command::Stamp { targets, purge, .. } => {
            let db = connected(db)?;
            let outcome = rt.stamp(db, targets, *purge, &plain, &mut progress).await?;
            render::stamped(ctx.out, &outcome);
            Ok(exit::OK)
        }
        Command::Rehash { targets } => {
            let db = connected(db)?;
            let done = rt.rehash(db, targets, &plain, &mut progress).await?;
            render::rehashed(ctx.out, &done);
            Ok(exit::OK)
        }
        Command::History { range, .. } => history(rt, ctx, state, range.as_ref()),
        Command::Heads => heads(rt, ctx, state),
        Command::Current => current(rt, ctx, connected(db)?, read(state)?),
        Command::Status => status(rt, ctx.out, connected(db)?, read(state)?),
        Command::Check => check(rt, ctx.out, read(state)?),
        Command::Verify { verify: args } => {
            verify(rt, ctx, connected(db)?, args, &mut progress).await
        }
        Command::Show { target } => show(rt, ctx, state, target),
        Command::Branches => branches(rt, ctx),
    }
}

/// `--sql`: prints the script that would carry out `command`, running nothing.
async fn script(
    rt: &Runtime,
    ctx: &Context,
    command: &Command,
    db: Option<&Db>,
    start: &SqlStart,
    backend: Option<DbBackend>,
) -> Result<u8> {
    let backend = match (backend, db) {
        (Some(b), _) => b,
        (None, Some(db)) => db.backend(),
        (None, None) => ctx.url_backend()?.ok_or_else(|| {
            Error::usage(
                "`--sql` writes a script for one kind of database: give `--backend \
                 postgres|mysql|sqlite`, or a database URL whose scheme says which",
            )
        })?,
    };
    let goal = match command {
        Command::Upgrade { target, .. } => Goal::Upgrade(target.clone()),
        Command::Downgrade { target, .. } => Goal::Downgrade(target.clone()),
        Command::Stamp { targets, purge, .. } => Goal::Stamp(targets.clone(), *purge),
        _ => return Err(Error::usage(format!("`{}` has no `--sql`", command.name()))),
    };
    let (start, schema) = match start {
        SqlStart::Unsaid if matches!(command, Command::Downgrade { .. }) => {
            return Err(Error::usage(messages::DOWNGRADE_SCRIPT_START));
        }
        SqlStart::Unsaid => (Start::Base, ctx.schema()?),
        SqlStart::At(spec) => (Start::At(spec), ctx.schema()?),
        SqlStart::Database => {
            let db = connected(db)?;
            (Start::Database(db), db.url().schema().map(str::to_string))
        }
    };
    let write = match command {
        Command::Upgrade { write, .. } | Command::Downgrade { write, .. } => *write,
        _ => WriteFlags::default(),
    };
    let script = rt
        .script(
            backend,
            start,
            &goal,
            &write.options(ctx.lock_timeout, ctx.lock_strategy),
        )
        .await?
        .in_schema(schema.as_deref())?;
    if ctx.out.json() {
        ctx.out.object(ScriptJson {
            sql: script.to_string(),
            script: &script,
        });
    } else {
        ctx.out.data(script.to_string().trim_end());
    }
    Ok(exit::OK)
}

/// `--dry-run`: runs the plan and takes it back.
async fn dry_run(
    rt: &Runtime,
    ctx: &Context,
    command: &Command,
    db: &Db,
    limits: &DryRunOptions,
) -> Result<u8> {
    let (goal, write) = match command {
        Command::Upgrade { target, write, .. } => (DryGoal::Upgrade(target.clone()), write),
        Command::Downgrade { target, write, .. } => (DryGoal::Downgrade(target.clone()), write),
        Command::Redo { write, .. } => (DryGoal::Redo, write),
        _ => {
            return Err(Error::usage(format!(
                "`{}` has no `--dry-run`",
                command.name()
            )));
        }
    };
    let mut progress = Progress {
        out: ctx.out,
        ask: None,
        verbose: ctx.verbose,
    };
    let opts = write.options(ctx.lock_timeout, ctx.lock_strategy);
    let run = rt.dry_run(db, &goal, &opts, limits, &mut progress).await?;
    if ctx.out.json() {
        ctx.out.object(Event::DryRun {
            verb: command.name(),
            run: &run,
        });
    } else {
        render::dry_run(ctx.out, command.name(), db.url(), &run, limits);
    }
    Ok(exit::OK)
}

/// The connection a verb that needs one was given ([`Command::need`] decided).
fn connected(db: Option<&Db>) -> Result<&Db> {
    db.ok_or_else(|| Error::Internal("a verb that needs the database was not connected".into()))
}

/// The state a reading verb was given.
fn read(state: Option<&State>) -> Result<&State> {
    state.ok_or_else(|| Error::Internal("a reading verb was given no state".into()))
}

/// The end of `upgrade`, `downgrade` and `redo`: where the database is now.
async fn finished(
    rt: &Runtime,
    out: Output,
    db: &Db,
    command: &Command,
    steps: &[StepOutcome],
) -> Result<u8> {
    let state = rt.state(db).await?;
    let current = ids(rt.graph(), &state.current);
    render::warn_changed(rt, out, &state);
    if out.json() {
        out.object(Event::Done {
            verb: command.name(),
            steps: steps.len(),
            current,
        });
    } else {
        render::migrated(out, command.name(), steps, &current);
    }
    Ok(exit::OK)
}

fn history(
    rt: &Runtime,
    ctx: &Context,
    state: Option<&State>,
    range: Option<&RangeSpec>,
) -> Result<u8> {
    let current = state.map(|s| s.current.clone());
    let resolver = Resolver::new(rt.graph(), current.as_deref());
    let revs = match range {
        Some(r) => resolver.range(r)?,
        None => rt.graph().topo_order().iter().rev().copied().collect(),
    };
    list(rt, ctx.out, state, &revs, ctx.verbose, Listing::Revisions);
    Ok(exit::OK)
}

fn heads(rt: &Runtime, ctx: &Context, state: Option<&State>) -> Result<u8> {
    let heads = rt.graph().heads();
    if ctx.verbose || ctx.out.json() {
        list(rt, ctx.out, state, &heads, ctx.verbose, Listing::Heads);
    } else {
        for &r in &heads {
            ctx.out.data(render::id_line(rt, state, r));
        }
    }
    Ok(exit::OK)
}

fn show(rt: &Runtime, ctx: &Context, state: Option<&State>, target: &Spec) -> Result<u8> {
    let current = state.map(|s| s.current.clone());
    let revs = Resolver::new(rt.graph(), current.as_deref()).resolve(target)?;
    if revs.is_empty() {
        ctx.out
            .note("`base` is the empty state before the first revision");
    }
    list(rt, ctx.out, state, &revs, true, Listing::Revisions);
    Ok(exit::OK)
}

/// Prints revisions as history lines, verbose blocks, or one JSON object whose key
/// `listing` names.
fn list(
    rt: &Runtime,
    out: Output,
    state: Option<&State>,
    revs: &[usize],
    verbose: bool,
    listing: fn(Vec<RevisionJson>) -> Listing,
) {
    if out.json() {
        out.object(listing(rt.revision_infos(state, revs)));
    } else if verbose {
        let blocks: Vec<String> = revs
            .iter()
            .map(|&r| render::log_entry(rt, state, r))
            .collect();
        out.data(blocks.join("\n").trim_end());
    } else {
        for &r in revs {
            out.data(render::history_line(rt, state, r));
        }
    }
}

fn current(rt: &Runtime, ctx: &Context, db: &Db, state: &State) -> Result<u8> {
    if ctx.out.json() {
        ctx.out.object(CurrentJson {
            database: db.url().masked(),
            schema: db.url().schema(),
            current: ids(rt.graph(), &state.current),
            revisions: rt.revision_infos(Some(state), &state.current),
            unknown: &state.unknown,
            failures: failures(state),
        });
    } else {
        render::current(rt, ctx.out, db.url(), state, ctx.verbose);
    }
    Ok(exit::OK)
}

fn status(rt: &Runtime, out: Output, db: &Db, state: &State) -> Result<u8> {
    if out.json() {
        out.object(rt.status_of(
            state,
            db.url().masked(),
            db.url().schema().map(str::to_string),
        ));
    } else {
        render::status(rt, out, db.url(), state, &rt.pending(state));
    }
    Ok(exit::OK)
}

/// `check`'s verdict: the first problem in order of harm, else pending, else up to date.
struct Verdict {
    code: u8,
    name: &'static str,
    message: String,
}

/// `check`'s verdict from the facts `check` reports beside it: the heads, the pending
/// revisions and the unknown ones.
fn verdict(
    rt: &Runtime,
    state: &State,
    heads: &[usize],
    pending: &[usize],
    unknown: &[&str],
) -> Verdict {
    let g = rt.graph();
    let drift = |name, message| Verdict {
        code: exit::DRIFT,
        name,
        message,
    };
    if let Some(problem) = rt.unregistered_problem() {
        drift("unregistered_files", problem)
    } else if heads.len() > 1 {
        drift(
            "multiple_heads",
            messages::multiple_heads_found(&ids(g, heads)),
        )
    } else if let Some(id) = state.half_applied().first() {
        drift("half_applied", messages::half_applied(id))
    } else if !state.changed.is_empty() {
        drift(
            "changed_since_applied",
            render::changed_since_applied(&ids(g, &state.changed)),
        )
    } else if !unknown.is_empty() {
        drift("unknown_revisions", messages::unknown_revisions(unknown))
    } else if !pending.is_empty() {
        Verdict {
            code: exit::PENDING,
            name: "pending",
            message: render::pending(&ids(g, pending)),
        }
    } else {
        Verdict {
            code: exit::OK,
            name: "up_to_date",
            message: format!(
                "up to date at {}",
                describe_current(&ids(g, &state.current))
            ),
        }
    }
}

fn check(rt: &Runtime, out: Output, state: &State) -> Result<u8> {
    let g = rt.graph();
    let heads = g.heads();
    let pending = rt.pending(state);
    let unknown: Vec<&str> = state.unknown.iter().map(|r| r.version.as_str()).collect();
    let verdict = verdict(rt, state, &heads, &pending, &unknown);
    if out.json() {
        out.object(CheckJson {
            status: verdict.name,
            exit_code: verdict.code,
            heads: ids(g, &heads),
            pending: ids(g, &pending),
            unknown,
            changed: ids(g, &state.changed),
            half_applied: state.half_applied(),
            unregistered: rt.unregistered(),
            current: ids(g, &state.current),
        });
    } else {
        out.data(verdict.message);
    }
    Ok(verdict.code)
}

/// `verify`: the live schema against the one its applied migrations build.
async fn verify(
    rt: &Runtime,
    ctx: &Context,
    db: &Db,
    args: &VerifyArgs,
    progress: &mut Progress<'_>,
) -> Result<u8> {
    let opts = VerifyOptions {
        dev_url: args
            .dev_url
            .as_deref()
            .map(DbUrl::parse)
            .transpose()
            .map_err(|e| Error::Config(format!("--dev-url: {e}")))?,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
    };
    let found = rt.verify(db, &opts, progress).await?;
    let code = if found.matches() {
        exit::OK
    } else {
        exit::DRIFT
    };
    if ctx.out.json() {
        ctx.out.object(VerifyJson {
            status: if found.matches() { "match" } else { "drift" },
            exit_code: code,
            replayed: found.replayed,
            tables: found.tables,
            changes: found
                .changes
                .iter()
                .map(|change| ChangeJson {
                    change,
                    description: change.describe(),
                    destructive: change.destructive(),
                })
                .collect(),
        });
    } else {
        render::verified(ctx.out, db.url(), &found);
    }
    Ok(code)
}

fn branches(rt: &Runtime, ctx: &Context) -> Result<u8> {
    let g = rt.graph();
    let points: Vec<usize> = g
        .topo_order()
        .iter()
        .copied()
        .filter(|&r| g.is_branch_point(r))
        .collect();
    if ctx.out.json() {
        ctx.out
            .object(Listing::Branchpoints(rt.revision_infos(None, &points)));
    } else {
        render::branches(rt, ctx.out, &points, ctx.verbose);
    }
    Ok(exit::OK)
}
