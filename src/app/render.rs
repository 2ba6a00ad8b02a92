//! Rendering: the human lines and JSON objects of every verb. Data goes to stdout,
//! progress and errors to stderr; nothing here decides what to do.

use console::style;
use serde::Serialize;

use crate::app::json::{Event, FORMAT_VERSION, Versioned};

use sea_orm_migration::sea_orm::DbBackend;

use crate::engine::dry_run::{DryRun, DryRunOptions};
use crate::engine::runtime::{Runtime, StampOutcome, State};
use crate::engine::step::StepOutcome;
use crate::engine::url::DbUrl;
use crate::engine::verify::Verification;
use crate::model::graph::Graph;
use crate::model::graph::ids;
use crate::model::messages;
use crate::text::{one_line, slug_words, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Where output goes and how it looks, resolved once from the flags.
///
/// A stream that is gone (`cargo migrate upgrade head | head -1`, a closed terminal) does
/// not stop the verb: what it does to the database does not depend on who reads.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Human lines or JSON objects.
    pub format: Format,
    /// `--quiet`: data and errors only.
    pub quiet: bool,
}

/// Writes one line, ignoring a reader that went away.
macro_rules! line {
    (stdout, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
    (stderr, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

impl Output {
    /// Whether the output is JSON.
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// A line of data on stdout.
    pub fn data(&self, line: impl AsRef<str>) {
        line!(stdout, "{}", line.as_ref());
    }

    /// One JSON object on one line of stdout, with the format version, its keys in
    /// alphabetical order.
    pub fn object(&self, body: impl Serialize) {
        let object = Versioned {
            format_version: FORMAT_VERSION,
            body,
        };
        match serde_json::to_value(&object) {
            Ok(value) => line!(stdout, "{value}"),
            Err(e) => line!(
                stderr,
                "{} cannot print JSON: {e}",
                style("error:").red().bold()
            ),
        }
    }

    /// A progress or summary line on stderr (human mode, not quiet).
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        if !self.quiet && !self.json() {
            line!(
                stderr,
                "{:>12} {}",
                style(verb).green().bold(),
                message.as_ref()
            );
        }
    }

    /// A detail under the last status line, indented, on stderr (human mode, not quiet).
    pub fn detail(&self, message: impl AsRef<str>) {
        if !self.quiet && !self.json() {
            line!(stderr, "{:>12} {}", "", style(message.as_ref()).dim());
        }
    }

    /// A note on stderr (human mode, not quiet).
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet && !self.json() {
            line!(
                stderr,
                "{} {}",
                style("note:").cyan().bold(),
                message.as_ref()
            );
        }
    }

    /// A warning on stderr (human mode, even quiet).
    pub fn warn(&self, message: impl AsRef<str>) {
        if !self.json() {
            line!(
                stderr,
                "{} {}",
                style("warning:").yellow().bold(),
                message.as_ref()
            );
        }
    }

    /// The error that ends the run: one line on stderr, whatever the message holds (a
    /// line break or another control character, typed into a revision say, is shown
    /// escaped); with `--format json` also one object on stdout, with the exit code, so a
    /// script reading stdout sees why there is no result.
    pub fn error(&self, message: impl AsRef<str>, exit_code: u8) {
        let message = message.as_ref();
        line!(
            stderr,
            "{} {}",
            style("error:").red().bold(),
            one_line(message)
        );
        if self.json() {
            self.object(Event::Error {
                error: message,
                exit_code,
            });
        }
    }
}

pub fn duration(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// An execution time as recorded (whole ms), as the step's line and `status` show it.
pub fn recorded_duration(ms: i64) -> String {
    if ms < 10_000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn tags(graph: &Graph, state: Option<&State>, r: usize) -> String {
    let mut t = String::new();
    if graph.is_head(r) {
        t.push_str(" (head)");
    }
    if state.is_some_and(|s| s.current.contains(&r)) {
        t.push_str(" (current)");
    }
    if graph.is_branch_point(r) {
        t.push_str(" (branchpoint)");
    }
    if graph.is_merge_point(r) {
        t.push_str(" (mergepoint)");
    }
    t
}

fn parent_list(graph: &Graph, r: usize) -> String {
    if graph.is_base(r) {
        "<base>".to_string()
    } else {
        let ps: Vec<&str> = graph.parents(r).iter().map(|&p| graph.id(p)).collect();
        ps.join(", ")
    }
}

/// `parents -> id (tags), message`, Alembic's history line.
pub fn history_line(rt: &Runtime, state: Option<&State>, r: usize) -> String {
    let g = rt.graph();
    format!(
        "{} -> {}{}, {}",
        parent_list(g, r),
        g.id(r),
        tags(g, state, r),
        slug_words(g.id(r))
    )
}

/// One revision by its id and tags, as Alembic's `heads` prints it: `<rev> (head)`.
pub fn id_line(rt: &Runtime, state: Option<&State>, r: usize) -> String {
    let g = rt.graph();
    format!("{}{}", g.id(r), tags(g, state, r))
}

/// The verbose block of one revision.
pub fn log_entry(rt: &Runtime, state: Option<&State>, r: usize) -> String {
    let g = rt.graph();
    let mut s = format!("Rev: {}{}\n", g.id(r), tags(g, state, r));
    if g.is_merge_point(r) {
        s.push_str(&format!("Merges: {}\n", parent_list(g, r)));
    } else {
        s.push_str(&format!("Parent: {}\n", parent_list(g, r)));
    }
    if g.is_branch_point(r) {
        let cs: Vec<&str> = g.children(r).iter().map(|&c| g.id(c)).collect();
        s.push_str(&format!("Branches into: {}\n", cs.join(", ")));
    }
    if let Some(path) = rt.revision(r).path {
        s.push_str(&format!("Path: {path}\n"));
    }
    if let Some(state) = state {
        match applied_row(state, g.id(r)) {
            Some((at, meta)) => {
                let mut line = format!("Applied: {}", timestamp(at));
                if let Some(ms) = meta.and_then(|m| m.execution_ms) {
                    line.push_str(&format!(" in {}", recorded_duration(ms)));
                }
                if let Some(by) = meta.and_then(|m| m.applied_by.as_deref()) {
                    line.push_str(&format!(" by {by}"));
                }
                s.push_str(&line);
                s.push('\n');
            }
            None => s.push_str("Applied: no\n"),
        }
        if let Some(f) = state
            .recorded
            .meta
            .get(g.id(r))
            .and_then(|m| m.failure.as_ref())
        {
            s.push_str(&format!(
                "Failed: {} at {}: {}\n",
                f.direction,
                timestamp(f.failed_at_ms / 1000),
                f.error
            ));
        }
    }
    s.push_str(&format!("\n    {}\n", slug_words(g.id(r))));
    s
}

fn applied_row<'s>(
    state: &'s State,
    id: &str,
) -> Option<(i64, Option<&'s crate::engine::tracking::MetaRow>)> {
    state
        .applied_at(id)
        .map(|at| (at, state.recorded.meta.get(id)))
}

/// The database's current revisions in a sentence: `base` when none is applied.
pub fn describe_current(current: &[String]) -> String {
    if current.is_empty() {
        "base".to_string()
    } else {
        current.join(", ")
    }
}

/// `s` when `n` is not one.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The summary line of `upgrade`, `downgrade` and `redo`.
pub fn migrated(out: Output, verb: &str, steps: &[StepOutcome], current: &[String]) {
    if steps.is_empty() {
        out.status(
            "Finished",
            format!(
                "nothing to do: the database is at {}",
                describe_current(current)
            ),
        );
    } else {
        let n = steps.len();
        out.status(
            "Finished",
            format!(
                "{verb}: {n} migration{} in {}; the database is at {}",
                plural(n),
                // the steps' own time, not the time spent at a confirmation
                duration(steps.iter().map(|s| s.duration_ms).sum()),
                describe_current(current)
            ),
        );
    }
}

/// The summary of a dry run: what it did, that nothing remains, and (rolled back on the
/// real database) that it took real locks there.
pub fn dry_run(out: Output, verb: &str, url: &DbUrl, run: &DryRun, limits: &DryRunOptions) {
    let simulated = run.steps.iter().filter(|s| s.simulated).count();
    let skipped = run.steps.len() - simulated;
    let mut line = if run.steps.is_empty() {
        format!(
            "dry run of {verb}: nothing to do: the database is at {}",
            describe_current(&run.from)
        )
    } else {
        format!(
            "dry run of {verb}: {simulated} migration{} ran in {} and {} taken back{}; the \
             database is still at {}, and a real run would leave it at {}",
            plural(simulated),
            duration(run.steps.iter().map(|s| s.duration_ms).sum()),
            if simulated == 1 { "was" } else { "were" },
            if skipped > 0 {
                format!(", {skipped} not simulated")
            } else {
                String::new()
            },
            describe_current(&run.from),
            describe_current(&run.to)
        )
    };
    match &run.scratch {
        Some(name) => line.push_str(&format!(
            " (in the scratch database `{name}`, dropped since)"
        )),
        None if url.backend() == DbBackend::Postgres => line.push_str(&format!(
            " (it took real locks on {url}: lock timeout {}s, statement timeout {}s)",
            limits.lock_timeout.as_secs_f64(),
            limits.statement_timeout.as_secs_f64()
        )),
        None => line.push_str(&format!(" (it held the write lock of {url} while it ran)")),
    }
    out.status("Finished", line);
}

/// `verify`'s verdict on stdout: a match, or each difference on a line of its own.
pub fn verified(out: Output, url: &DbUrl, found: &Verification) {
    let migrations = format!(
        "its {} applied migration{}",
        found.replayed,
        plural(found.replayed)
    );
    if found.matches() {
        out.data(format!(
            "verified: the schema of {url} is the one {migrations} build ({} table{} compared)",
            found.tables,
            plural(found.tables)
        ));
        return;
    }
    out.data(format!(
        "the schema of {url} differs from the one {migrations} build ({} difference{}; + only \
         in the database, - only in the migrations, ~ changed):",
        found.changes.len(),
        plural(found.changes.len())
    ));
    for change in &found.changes {
        out.data(format!("  {}", change.describe()));
    }
    out.note(
        "write a migration that makes these changes (`cargo migrate create`), or undo them \
         in the database",
    );
}

/// What `stamp` changed.
pub fn stamped(out: Output, outcome: &StampOutcome) {
    if out.json() {
        out.object(Event::Stamped(outcome));
        return;
    }
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
            plural(n),
            describe_current(&outcome.current)
        ),
    );
}

/// What `rehash` recorded.
pub fn rehashed(out: Output, done: &[String]) {
    if out.json() {
        out.object(Event::Rehashed { revisions: done });
    } else if done.is_empty() {
        out.status(
            "Finished",
            "no applied migration changed since it was applied",
        );
    } else {
        for id in done {
            out.status("Rehashed", id);
        }
    }
}

/// `current` for people.
pub fn current(rt: &Runtime, out: Output, url: &DbUrl, state: &State, verbose: bool) {
    let g = rt.graph();
    if verbose {
        out.data(format!("Current revision(s) for {url}:"));
    }
    for &r in &state.current {
        if verbose {
            out.data(log_entry(rt, Some(state), r).trim_end());
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
}

/// `status` for people: one line per revision, parents first, then a summary.
pub fn status(rt: &Runtime, out: Output, url: &DbUrl, state: &State, pending: &[usize]) {
    let g = rt.graph();
    let order = g.topo_order();
    out.data(format!("Database: {url}"));
    let width = order.iter().map(|&r| g.id(r).len()).max().unwrap_or(0);
    for &r in order {
        out.data(status_line(rt, state, r, width).trim_end());
    }
    for row in &state.unknown {
        out.data(format!(
            "  {}  {}  (not in this migration crate)",
            style("unknown").red(),
            row.version
        ));
    }
    let heads = ids(g, &g.heads());
    out.data(format!(
        "{} applied, {} pending; current: {}; head{}: {}",
        state.applied_count(),
        pending.len(),
        describe_current(&ids(g, &state.current)),
        plural(heads.len()),
        heads.join(", ")
    ));
    report_problems(rt, out, state);
}

/// One revision's line of `status`, its id padded to `width`.
fn status_line(rt: &Runtime, state: &State, r: usize, width: usize) -> String {
    let id = rt.graph().id(r);
    let Some(applied_at) = state.applied_at(id) else {
        return format!("  {}  {id}", style("pending").yellow());
    };
    let ms = state
        .recorded
        .meta
        .get(id)
        .and_then(|m| m.execution_ms)
        .map(|ms| format!("  {}", recorded_duration(ms)))
        .unwrap_or_default();
    let changed = if state.changed.contains(&r) {
        format!("  {}", style("(changed since applied)").red())
    } else {
        String::new()
    };
    format!(
        "  {}  {id:<width$}  {}{ms}{changed}",
        style("applied").green(),
        timestamp(applied_at)
    )
}

/// `branches` for people: each branch point and its children.
pub fn branches(rt: &Runtime, out: Output, points: &[usize], verbose: bool) {
    let g = rt.graph();
    if points.is_empty() {
        out.note("no branch points: no revision has more than one child");
    }
    for &r in points {
        if verbose {
            out.data(log_entry(rt, None, r).trim_end());
        } else {
            out.data(format!("{} (branchpoint)", g.id(r)));
        }
        let pad = " ".repeat(g.id(r).len());
        for &c in g.children(r) {
            let head = if g.is_head(c) { " (head)" } else { "" };
            out.data(format!(
                "{pad} -> {}{head}, {}",
                g.id(c),
                slug_words(g.id(c))
            ));
        }
    }
}

/// Warns about applied migrations whose source changed since.
pub fn warn_changed(rt: &Runtime, out: Output, state: &State) {
    if !state.changed.is_empty() {
        out.warn(format!(
            "applied migrations changed since they were applied: {}; review, then `rehash`",
            ids(rt.graph(), &state.changed).join(", ")
        ));
    }
}

/// Warns about everything in the state that needs a person: edited migrations, unknown
/// revisions, recorded failures.
fn report_problems(rt: &Runtime, out: Output, state: &State) {
    warn_changed(rt, out, state);
    if !state.unknown.is_empty() {
        let names: Vec<&str> = state.unknown.iter().map(|r| r.version.as_str()).collect();
        out.warn(messages::unknown_revisions(&names));
    }
    for (id, f) in state
        .recorded
        .meta
        .values()
        .filter_map(|m| m.failure.as_ref().map(|f| (&m.version, f)))
    {
        let partial = messages::failure_left(f.transactional);
        out.warn(format!(
            "{} of `{id}` failed at {} ({partial}): {}",
            f.direction,
            timestamp(f.failed_at_ms / 1000),
            f.error
        ));
    }
}

/// `check`: applied migrations whose source changed.
pub fn changed_since_applied(changed: &[String]) -> String {
    format!(
        "applied migration{} changed since {} applied: {}; review the change, then record it with `rehash`",
        plural(changed.len()),
        if changed.len() == 1 {
            "it was"
        } else {
            "they were"
        },
        changed.join(", ")
    )
}

/// `check`: migrations are pending.
pub fn pending(pending: &[String]) -> String {
    format!(
        "{} pending migration{}: {}",
        pending.len(),
        plural(pending.len()),
        pending.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(1.234), "1.2 ms");
        assert_eq!(duration(123.4), "123 ms");
        assert_eq!(duration(12_345.0), "12.3 s");
    }
}
