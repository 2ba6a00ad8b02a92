//! The machine output (`--format json`): one type per object, one object per line of
//! stdout, keys in alphabetical order, every object with `format_version`. The README's
//! "Machine output" section documents these as a stable schema: adding a key keeps the
//! version, changing or removing one raises it.

use serde::Serialize;

use crate::engine::dry_run::DryRun;
use crate::engine::runtime::StampOutcome;
use crate::engine::script::Script;
use crate::engine::step::{DryStep, StepOutcome};
use crate::engine::tracking::AppliedRow;
use crate::model::schema::Dialect;
use crate::model::schema_diff::Change;

/// The version of the objects below; raised when a key changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

/// An object as printed: its body and the format version.
#[derive(Serialize)]
pub struct Versioned<T: Serialize> {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The object.
    #[serde(flatten)]
    pub body: T,
}

/// What happens while a verb runs, and how it ends.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// A migration step finished.
    Step(&'a StepOutcome),
    /// A dry run's step ran and was taken back, or could not run.
    DryStep(&'a DryStep),
    /// A dry run finished: nothing of it remains.
    DryRun {
        /// The verb rehearsed.
        verb: &'a str,
        /// What it did.
        #[serde(flatten)]
        run: &'a DryRun,
    },
    /// Another process holds the migration lock; this one waits.
    WaitingForLock,
    /// `upgrade`, `downgrade` or `redo` finished.
    Done {
        /// The verb.
        verb: &'a str,
        /// How many steps ran.
        steps: usize,
        /// The database's current revisions afterwards.
        current: Vec<String>,
    },
    /// `stamp` finished.
    Stamped(&'a StampOutcome),
    /// `rehash` finished: the revisions whose checksum it recorded.
    Rehashed {
        /// Their ids.
        revisions: &'a [String],
    },
    /// The run failed: the message and the exit code.
    Error {
        /// The message, as on stderr.
        error: &'a str,
        /// The process's exit code.
        exit_code: u8,
    },
}

/// `--sql`: the script, as text and in parts.
#[derive(Serialize)]
pub struct ScriptJson<'a> {
    /// The whole script, as printed without `--format json`.
    pub sql: String,
    /// Its parts.
    pub script: &'a Script,
}

/// `heads`, `history`, `show` and `branches`: a list of revisions under one key.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// `heads`.
    Heads(Vec<RevisionJson>),
    /// `history` and `show`.
    Revisions(Vec<RevisionJson>),
    /// `branches`.
    Branchpoints(Vec<RevisionJson>),
}

/// A recorded failure and its revision.
pub use crate::engine::status::FailureInfo as FailureJson;
/// One revision: its place in the graph, and its database facts when the verb read them.
pub use crate::engine::status::RevisionInfo as RevisionJson;

/// `current`.
#[derive(Serialize)]
pub struct CurrentJson<'a> {
    /// The database URL, its password masked.
    pub database: String,
    /// The PostgreSQL schema, when one is set.
    pub schema: Option<&'a str>,
    /// The current revisions' ids.
    pub current: Vec<String>,
    /// The current revisions in full.
    pub revisions: Vec<RevisionJson>,
    /// Recorded revisions this crate does not know.
    pub unknown: &'a [AppliedRow],
    /// Recorded failures.
    pub failures: Vec<FailureJson>,
}

/// `check`: the verdict, its exit code, and what it is based on.
#[derive(Serialize)]
pub struct CheckJson<'a> {
    /// `up_to_date`, `pending`, `multiple_heads`, `half_applied`,
    /// `changed_since_applied`, `unknown_revisions` or `unregistered_files`.
    pub status: &'a str,
    /// The exit code `check` returns.
    pub exit_code: u8,
    /// The heads' ids.
    pub heads: Vec<String>,
    /// The pending revisions' ids.
    pub pending: Vec<String>,
    /// Recorded revisions this crate does not know.
    pub unknown: Vec<&'a str>,
    /// Applied revisions whose source changed since.
    pub changed: Vec<String>,
    /// Revisions that failed part-way outside a transaction.
    pub half_applied: Vec<&'a str>,
    /// Migration files the binary was built without.
    pub unregistered: &'a [String],
    /// The current revisions' ids.
    pub current: Vec<String>,
}

/// `verify`: whether the live schema is the migrations' schema, and what differs.
#[derive(Serialize)]
pub struct VerifyJson<'a> {
    /// `match` or `drift`.
    pub status: &'a str,
    /// The exit code `verify` returns.
    pub exit_code: u8,
    /// The applied revisions replayed to build the expected schema.
    pub replayed: usize,
    /// The tables compared.
    pub tables: usize,
    /// What turns the migrations' schema into the database's (`+` only in the database).
    pub changes: Vec<ChangeJson<'a>>,
}

/// One difference, with its line for people.
#[derive(Serialize)]
pub struct ChangeJson<'a> {
    #[serde(flatten)]
    pub change: &'a Change,
    pub description: String,
    /// It can lose data or fail on existing rows: a generated migration asks for review.
    pub destructive: bool,
}

/// The schema runner's `diff`: what `create --autogenerate` writes.
#[derive(Serialize)]
pub struct AutogenJson<'a> {
    /// The revision the entities were compared with.
    pub head: Option<&'a str>,
    pub dialect: Dialect,
    /// What turns the migrations' schema into the entities'.
    pub changes: Vec<ChangeJson<'a>>,
    /// The bodies of the migration's `up` and `down` (none when nothing changed).
    pub up: Option<String>,
    pub down: Option<String>,
    /// Why no migration can be written for the changes.
    pub unexpressible: Option<String>,
}

/// `check --entities`: whether the entities match the migrations' schema.
#[derive(Serialize)]
pub struct EntityCheckJson<'a> {
    /// `match` or `changes`.
    pub status: &'a str,
    pub exit_code: u8,
    pub head: Option<&'a str>,
    /// What turns the migrations' schema into the entities'.
    pub changes: Vec<ChangeJson<'a>>,
}

/// The schema runner's `check-revision`.
#[derive(Serialize)]
pub struct RevisionCheckJson<'a> {
    pub revision: &'a str,
    pub passed: bool,
    /// What still differs from the entities after its `up`.
    pub after_up: Vec<ChangeJson<'a>>,
    /// What still differs from its parents' schema after its `down`.
    pub after_down: Vec<ChangeJson<'a>>,
}
