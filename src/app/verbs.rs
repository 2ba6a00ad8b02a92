//! The verbs' handlers: each takes the runtime, the parsed command line and the output,
//! talks to the database through the runtime, and renders the result.

use serde_json::json;

use crate::app::args::{Cli, GlobalArgs, Need, Verb};
use crate::app::confirm::{self, Policy};
use crate::app::progress::Progress;
use crate::app::render::{self, Output};
use crate::engine::connect::{Db, DbOptions};
use crate::engine::runtime::{Runtime, State, WriteOptions, ids};
use crate::engine::url::{resolve_schema, resolve_url};
use crate::error::{Error, Result, exit};
use crate::model::spec::parse_range;

/// Connects as the verb needs; a destructive verb that may not run is refused first.
async fn connect(verb: &Verb, global: &GlobalArgs) -> Result<(Option<Db>, Policy)> {
    let write = match verb.need() {
        Need::Nothing => return Ok((None, Policy::Go)),
        Need::Read => false,
        Need::Write => true,
    };
    let url = resolve_url(global.database_url.clone())?
        .with_schema(resolve_schema(global.database_schema.clone())?)?;
    let policy = confirm::policy(verb, global, &url)?;
    let db = Db::connect(
        &url,
        DbOptions {
            write,
            wait: global.wait,
            lock_timeout: global.lock_timeout,
        },
    )
    .await?;
    Ok((Some(db), policy))
}

/// Connects as the verb needs, runs it, closes the connection.
pub async fn execute(rt: &Runtime, cli: &Cli, out: Output) -> Result<u8> {
    // `check` says it as its verdict.
    if !matches!(cli.verb, Verb::Check)
        && let Some(problem) = rt.unregistered_problem()
    {
        out.warn(problem);
    }
    check_targets(rt, &cli.verb)?;
    let (db, policy) = connect(&cli.verb, &cli.global).await?;
    let ask = policy == Policy::Ask;
    let result = dispatch(rt, cli, out, db.as_ref(), ask).await;
    if let Some(db) = db {
        db.close().await;
    }
    result
}

/// A writing verb's revisions are checked before it connects, so bad input creates
/// nothing (no SQLite file, no tracking table).
fn check_targets(rt: &Runtime, verb: &Verb) -> Result<()> {
    match verb {
        Verb::Upgrade { revision, .. } | Verb::Downgrade { revision, .. } => {
            rt.check_target(verb.name(), revision)
        }
        Verb::Stamp { revisions, .. } | Verb::Rehash { revisions } => revisions
            .iter()
            .try_for_each(|r| rt.check_target(verb.name(), r)),
        _ => Ok(()),
    }
}

async fn dispatch(rt: &Runtime, cli: &Cli, out: Output, db: Option<&Db>, ask: bool) -> Result<u8> {
    // A writing verb reads the state itself, under the lock.
    let state = match db {
        Some(db) if cli.verb.need() == Need::Read => Some(rt.state(db).await?),
        _ => None,
    };
    let state = state.as_ref();
    let verbose = cli.global.verbose > 0;
    match &cli.verb {
        Verb::Upgrade { .. } | Verb::Downgrade { .. } | Verb::Redo { .. } => {
            migrate(rt, out, expect_db(db)?, &cli.verb, &cli.global, ask).await
        }
        Verb::Stamp { revisions, purge } => {
            let progress = Progress {
                out,
                ask: ask.then(|| expect_db(db).map(Db::url)).transpose()?,
            };
            stamp(rt, expect_db(db)?, revisions, *purge, &cli.global, progress).await
        }
        Verb::Rehash { revisions } => rehash(rt, out, expect_db(db)?, revisions, &cli.global).await,
        Verb::History { range, .. } => history(rt, out, state, range.as_deref(), verbose),
        Verb::Heads => {
            let heads = rt.graph().heads();
            if verbose || out.json() {
                list(rt, out, state, &heads, verbose, "heads");
            } else {
                for &r in &heads {
                    out.data(render::id_line(rt, state, r));
                }
            }
            Ok(exit::OK)
        }
        Verb::Current => current(rt, out, db, state, verbose),
        Verb::Status => status(rt, out, db, state),
        Verb::Check => check(rt, out, state),
        Verb::Show { revision } => {
            let current = state.map(|s| s.current.clone());
            let resolver = crate::model::spec::Resolver::new(rt.graph(), current.as_deref());
            let revs = resolver.resolve_str(revision)?;
            if revs.is_empty() {
                out.note("`base` is the empty state before the first revision");
            }
            list(rt, out, state, &revs, true, "revisions");
            Ok(exit::OK)
        }
        Verb::Branches => branches(rt, out, verbose),
    }
}

fn expect_db(db: Option<&Db>) -> Result<&Db> {
    db.ok_or_else(|| Error::usage("this verb needs a database"))
}

async fn migrate(
    rt: &Runtime,
    out: Output,
    db: &Db,
    verb: &Verb,
    global: &GlobalArgs,
    ask: bool,
) -> Result<u8> {
    let (revision, write) = match verb {
        Verb::Upgrade { revision, write } | Verb::Downgrade { revision, write } => {
            (revision.as_str(), write)
        }
        Verb::Redo { write } => ("", write),
        _ => return Err(Error::usage("not a migrating verb")),
    };
    let opts = WriteOptions {
        lock_timeout: global.lock_timeout,
        allow_unknown: write.allow_unknown,
        retry_failed: write.retry_failed,
    };
    let mut progress = Progress {
        out,
        ask: ask.then(|| db.url()),
    };
    let steps = match verb {
        Verb::Upgrade { .. } => rt.upgrade(db, revision, &opts, &mut progress).await?,
        Verb::Downgrade { .. } => rt.downgrade(db, revision, &opts, &mut progress).await?,
        _ => rt.redo(db, &opts, &mut progress).await?,
    };
    let verb = verb.name();
    let state = rt.state(db).await?;
    let current = ids(rt.graph(), &state.current);
    warn_changed(rt, out, &state);
    if out.json() {
        out.object(&json!({
            "event": "done",
            "verb": verb,
            "steps": steps.len(),
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
        let n = steps.len();
        out.status(
            "Finished",
            format!(
                "{verb}: {n} migration{} in {}; the database is at {}",
                if n == 1 { "" } else { "s" },
                // the steps' own time, not the time spent at a confirmation
                render::duration(steps.iter().map(|s| s.duration_ms).sum()),
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
    db: &Db,
    revisions: &[String],
    purge: bool,
    global: &GlobalArgs,
    mut progress: Progress<'_>,
) -> Result<u8> {
    let out = progress.out;
    let opts = WriteOptions {
        lock_timeout: global.lock_timeout,
        ..Default::default()
    };
    let outcome = rt.stamp(db, revisions, purge, &opts, &mut progress).await?;
    if out.json() {
        let mut v = serde_json::to_value(&outcome).unwrap_or_default();
        v["event"] = json!("stamped");
        out.object(&v);
    } else {
        for id in &outcome.purged {
            out.status("Purged", id);
        }
        for id in &outcome.cleared {
            out.status("Cleared", format!("the failure recorded for {id}"));
        }
        for id in &outcome.removed {
            out.status("Unstamped", id);
        }
        for id in &outcome.added {
            out.status("Stamped", id);
        }
        let n = outcome.added.len() + outcome.removed.len() + outcome.purged.len();
        out.status(
            "Finished",
            format!(
                "stamp: {n} record{} changed; the database is at {}",
                if n == 1 { "" } else { "s" },
                describe_current(&outcome.current)
            ),
        );
    }
    Ok(exit::OK)
}

async fn rehash(
    rt: &Runtime,
    out: Output,
    db: &Db,
    revisions: &[String],
    global: &GlobalArgs,
) -> Result<u8> {
    let opts = WriteOptions {
        lock_timeout: global.lock_timeout,
        ..Default::default()
    };
    let mut progress = Progress { out, ask: None };
    let done = rt.rehash(db, revisions, &opts, &mut progress).await?;
    if out.json() {
        out.object(&json!({"event": "rehashed", "revisions": done}));
    } else if done.is_empty() {
        out.status(
            "Finished",
            "no applied migration changed since it was applied",
        );
    } else {
        for id in &done {
            out.status("Rehashed", id);
        }
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
    let resolver = crate::model::spec::Resolver::new(rt.graph(), current.as_deref());
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
            .map(|&r| render::revision_json(rt, state, r))
            .collect();
        out.object(&json!({ key: items }));
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
            .map(|&r| render::revision_json(rt, Some(state), r))
            .collect();
        out.object(&json!({
            "database": db.url().masked(),
            "schema": db.url().schema(),
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
            out.data(render::log_entry(rt, Some(state), r).trim_end());
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

fn warn_changed(rt: &Runtime, out: Output, state: &State) {
    if !state.changed.is_empty() {
        out.warn(format!(
            "applied migrations changed since they were applied: {}; review, then `rehash`",
            ids(rt.graph(), &state.changed).join(", ")
        ));
    }
}

fn report_problems(rt: &Runtime, out: Output, state: &State) {
    warn_changed(rt, out, state);
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
            crate::text::timestamp(f.failed_at_ms / 1000),
            f.error
        ));
    }
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
            .map(|&r| render::revision_json(rt, Some(state), r))
            .collect();
        out.object(&json!({
            "database": db.url().masked(),
            "schema": db.url().schema(),
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
        let line = match state.applied_at(id) {
            Some(applied_at) => {
                let ms = state
                    .recorded
                    .meta
                    .get(id)
                    .and_then(|m| m.execution_ms)
                    .map(|ms| format!("  {}", render::recorded_duration(ms)))
                    .unwrap_or_default();
                let changed = if state.changed.contains(&r) {
                    format!("  {}", console::style("(changed since applied)").red())
                } else {
                    String::new()
                };
                format!(
                    "  {}  {id:<width$}  {}{ms}{changed}",
                    console::style("applied").green(),
                    crate::text::timestamp(applied_at)
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
    let (code, verdict, message) = if let Some(problem) = rt.unregistered_problem() {
        (exit::DRIFT, "unregistered_files", problem)
    } else if heads.len() > 1 {
        (
            exit::DRIFT,
            "multiple_heads",
            format!(
                "{} heads: {}; join them with `cargo migrate merge`",
                heads.len(),
                ids(g, &heads).join(", ")
            ),
        )
    } else if let Some(id) = state.half_applied().first() {
        (
            exit::DRIFT,
            "half_applied",
            format!(
                "`{id}` failed part-way outside a transaction, so the database may hold part of it; \
                 see `status`, fix the database, then `stamp` the truth (or retry with `--retry-failed`)"
            ),
        )
    } else if !state.changed.is_empty() {
        (
            exit::DRIFT,
            "changed_since_applied",
            format!(
                "applied migration{} changed since {} applied: {}; review the change, then record it with `rehash`",
                if state.changed.len() == 1 { "" } else { "s" },
                if state.changed.len() == 1 {
                    "it was"
                } else {
                    "they were"
                },
                ids(g, &state.changed).join(", ")
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
            "changed": ids(g, &state.changed),
            "half_applied": state.half_applied(),
            "unregistered": rt.unregistered(),
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
            .map(|&r| render::revision_json(rt, None, r))
            .collect();
        out.object(&json!({ "branchpoints": items }));
        return Ok(exit::OK);
    }
    if points.is_empty() {
        out.note("no branch points: no revision has more than one child");
    }
    for &r in &points {
        if verbose {
            out.data(render::log_entry(rt, None, r).trim_end());
        } else {
            out.data(format!("{} (branchpoint)", g.id(r)));
        }
        let pad = " ".repeat(g.id(r).len());
        for &c in g.children(r) {
            let head = if g.is_head(c) { " (head)" } else { "" };
            out.data(format!(
                "{pad} -> {}{head}, {}",
                g.id(c),
                render::message(g.id(c))
            ));
        }
    }
    Ok(exit::OK)
}
