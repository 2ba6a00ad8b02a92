//! Rendering: the human lines and JSON objects of every verb. Data goes to stdout,
//! progress and errors to stderr; nothing here decides what to do.

use console::style;
use serde_json::{Value, json};

use crate::engine::runtime::{Runtime, State};
use crate::model::graph::Graph;
use crate::text::{one_line, timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Where output goes and how it looks, resolved once from the flags.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
}

impl Output {
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// A line of data on stdout.
    pub fn data(&self, line: impl AsRef<str>) {
        println!("{}", line.as_ref());
    }

    /// One JSON object on one line of stdout.
    pub fn object(&self, value: &Value) {
        println!("{value}");
    }

    /// A progress or summary line on stderr (human mode, not quiet).
    pub fn status(&self, verb: &str, message: impl AsRef<str>) {
        if !self.quiet && !self.json() {
            eprintln!("{:>12} {}", style(verb).green().bold(), message.as_ref());
        }
    }

    pub fn note(&self, message: impl AsRef<str>) {
        if !self.quiet && !self.json() {
            eprintln!("{} {}", style("note:").cyan().bold(), message.as_ref());
        }
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        if !self.json() {
            eprintln!("{} {}", style("warning:").yellow().bold(), message.as_ref());
        }
    }

    /// The error that ends the run: one line on stderr, whatever the message holds (a
    /// line break or another control character, typed into a revision say, is shown
    /// escaped); with `--format json` also one object on stdout, with the exit code, so a
    /// script reading stdout sees why there is no result.
    pub fn error(&self, message: impl AsRef<str>, exit_code: u8) {
        let message = message.as_ref();
        eprintln!("{} {}", style("error:").red().bold(), one_line(message));
        if self.json() {
            self.object(&json!({"event": "error", "error": message, "exit_code": exit_code}));
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

/// The human message of a revision: its slug, as words.
pub fn message(id: &str) -> String {
    let b = id.as_bytes();
    let timestamped = b.len() > 17
        && b[0] == b'm'
        && b[1..9].iter().all(u8::is_ascii_digit)
        && b[9] == b'_'
        && b[10..16].iter().all(u8::is_ascii_digit)
        && b[16] == b'_';
    let slug = if timestamped { &id[17..] } else { id };
    slug.replace('_', " ")
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
        message(g.id(r))
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
    s.push_str(&format!("\n    {}\n", message(g.id(r))));
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

/// A revision as JSON, with its database facts when the state is known.
pub fn revision_json(rt: &Runtime, state: Option<&State>, r: usize) -> Value {
    let g = rt.graph();
    let names =
        |revs: &[usize]| -> Vec<String> { revs.iter().map(|&x| g.id(x).to_string()).collect() };
    let mut v = json!({
        "id": g.id(r),
        "parents": names(g.parents(r)),
        "children": names(g.children(r)),
        "message": message(g.id(r)),
        "path": rt.revision(r).path,
        "head": g.is_head(r),
        "base": g.is_base(r),
        "branchpoint": g.is_branch_point(r),
        "mergepoint": g.is_merge_point(r),
    });
    v["checksum"] = json!(rt.revision(r).checksum());
    if let Some(state) = state {
        v["applied"] = json!(state.applied[r]);
        v["current"] = json!(state.current.contains(&r));
        v["changed"] = json!(state.changed.contains(&r));
        if let Some((at, meta)) = applied_row(state, g.id(r)) {
            v["applied_at"] = json!(at);
            v["execution_ms"] = json!(meta.and_then(|m| m.execution_ms));
            v["applied_by"] = json!(meta.and_then(|m| m.applied_by.clone()));
        }
        if let Some(f) = state
            .recorded
            .meta
            .get(g.id(r))
            .and_then(|m| m.failure.as_ref())
        {
            v["failure"] = json!(f);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_slugs() {
        assert_eq!(
            message("m20261122_101500_add_users_table"),
            "add users table"
        );
        assert_eq!(message("m20220101_000001_create_table"), "create table");
        assert_eq!(message("seed_data"), "seed data");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(1.234), "1.2 ms");
        assert_eq!(duration(123.4), "123 ms");
        assert_eq!(duration(12_345.0), "12.3 s");
    }
}
