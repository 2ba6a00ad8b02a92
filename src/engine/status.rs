//! A database's migration status as data: every revision with its facts, what is
//! pending, current, unknown or failed, and the health verdict an application's
//! readiness endpoint answers with. `status --format json` prints this type; the
//! app-start API and the HTTP handlers return it.

use serde::{Deserialize, Serialize};

use crate::engine::runtime::{Runtime, State};
use crate::engine::tracking::{AppliedRow, Failure};
use crate::model::graph::ids;
use crate::text::slug_words;

/// A database's migration status, read without changing anything.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// The database, its password masked.
    pub database: String,
    /// The PostgreSQL schema, when one is set.
    pub schema: Option<String>,
    /// Every revision, parents first.
    pub revisions: Vec<RevisionInfo>,
    /// How many revisions are applied.
    pub applied: usize,
    /// The pending revisions' ids, in the order an upgrade applies them.
    pub pending: Vec<String>,
    /// The current revisions' ids.
    pub current: Vec<String>,
    /// The heads' ids.
    pub heads: Vec<String>,
    /// Recorded revisions this crate does not know.
    pub unknown: Vec<AppliedRow>,
    /// Recorded failures.
    pub failures: Vec<FailureInfo>,
    /// The verdict for a health or readiness check.
    pub health: Health,
}

/// One revision: its place in the graph, and its database facts when they were read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RevisionInfo {
    /// The revision id (its module's name).
    pub id: String,
    /// The revisions it revises.
    pub parents: Vec<String>,
    /// The revisions that revise it.
    pub children: Vec<String>,
    /// Its message, from the id.
    pub message: String,
    /// Its source file, relative to the crate.
    pub path: Option<String>,
    /// No revision revises it.
    pub head: bool,
    /// It revises nothing.
    pub base: bool,
    /// Several revisions revise it.
    pub branchpoint: bool,
    /// It revises several.
    pub mergepoint: bool,
    /// The checksum of its source.
    pub checksum: Option<String>,
    /// Its facts in the database, when read.
    #[serde(flatten)]
    pub state: Option<RevisionState>,
}

/// A revision's facts in the database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RevisionState {
    /// It is applied.
    pub applied: bool,
    /// It is applied and none of its children is.
    pub current: bool,
    /// Its source changed since it was applied.
    pub changed: bool,
    /// When and how it was applied.
    #[serde(flatten)]
    pub record: Option<AppliedRecord>,
    /// Its recorded failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// The record of an applied revision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppliedRecord {
    /// When (Unix seconds).
    pub applied_at: i64,
    /// How long its step took.
    pub execution_ms: Option<i64>,
    /// Which tool, user and host applied it.
    pub applied_by: Option<String>,
}

/// A recorded failure and its revision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailureInfo {
    /// The revision that failed.
    pub revision: String,
    /// How it failed.
    pub failure: Failure,
}

/// How a database stands for an application that needs it at the code's head: the
/// answer of a health or readiness endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Health {
    /// The verdict: the worst of what was found.
    pub verdict: Verdict,
    /// The pending revisions' ids.
    pub pending: Vec<String>,
    /// Revisions with a recorded failure.
    pub failed: Vec<String>,
    /// Recorded revisions this code does not know (a newer deploy, or another crate's).
    pub unknown: Vec<String>,
    /// Applied revisions whose source changed since they were applied.
    pub edited: Vec<String>,
}

/// A health verdict, worst first: `failed`, `unknown_revisions`, `edited`, `pending`,
/// `ok`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A migration failed and its failure is recorded.
    Failed,
    /// The database holds revisions this code does not know.
    UnknownRevisions,
    /// An applied migration's source changed since it ran.
    Edited,
    /// Migrations are waiting to be applied.
    Pending,
    /// At the code's head.
    Ok,
}

impl Health {
    /// `true` only for [`Verdict::Ok`].
    pub fn is_ok(&self) -> bool {
        self.verdict == Verdict::Ok
    }

    /// The HTTP status a health endpoint answers with: 200 when ok, else 503.
    pub fn http_status(&self) -> u16 {
        if self.is_ok() { 200 } else { 503 }
    }
}

impl Runtime {
    /// The status of `state`, a database the `database` and `schema` name for people.
    pub fn status_of(&self, state: &State, database: String, schema: Option<String>) -> Status {
        let g = self.graph();
        let pending = self.pending(state);
        Status {
            database,
            schema,
            revisions: self.revision_infos(Some(state), g.topo_order()),
            applied: state.applied_count(),
            pending: ids(g, &pending),
            current: ids(g, &state.current),
            heads: ids(g, &g.heads()),
            unknown: state.unknown.clone(),
            failures: failures(state),
            health: self.health(state),
        }
    }

    /// The health of `state`: its worst problem, else pending, else ok.
    pub fn health(&self, state: &State) -> Health {
        let g = self.graph();
        let failed: Vec<String> = failures(state).into_iter().map(|f| f.revision).collect();
        let unknown: Vec<String> = state.unknown.iter().map(|r| r.version.clone()).collect();
        let edited = ids(g, &state.changed);
        let pending = ids(g, &self.pending(state));
        let verdict = if !failed.is_empty() {
            Verdict::Failed
        } else if !unknown.is_empty() {
            Verdict::UnknownRevisions
        } else if !edited.is_empty() {
            Verdict::Edited
        } else if !pending.is_empty() {
            Verdict::Pending
        } else {
            Verdict::Ok
        };
        Health {
            verdict,
            pending,
            failed,
            unknown,
            edited,
        }
    }

    /// The revisions not applied, parents first.
    pub fn pending(&self, state: &State) -> Vec<usize> {
        self.graph()
            .topo_order()
            .iter()
            .copied()
            .filter(|&r| !state.applied[r])
            .collect()
    }

    /// Revision `r`, with its facts from `state` when known.
    pub fn revision_info(&self, state: Option<&State>, r: usize) -> RevisionInfo {
        let g = self.graph();
        let names = |revs: &[usize]| revs.iter().map(|&x| g.id(x).to_string()).collect();
        let id = g.id(r);
        RevisionInfo {
            id: id.to_string(),
            parents: names(g.parents(r)),
            children: names(g.children(r)),
            message: slug_words(id),
            path: self.revision(r).path.map(str::to_string),
            head: g.is_head(r),
            base: g.is_base(r),
            branchpoint: g.is_branch_point(r),
            mergepoint: g.is_merge_point(r),
            checksum: self.revision(r).checksum().map(str::to_string),
            state: state.map(|state| {
                let meta = state.recorded.meta.get(id);
                RevisionState {
                    applied: state.applied[r],
                    current: state.current.contains(&r),
                    changed: state.changed.contains(&r),
                    record: state.applied_at(id).map(|at| AppliedRecord {
                        applied_at: at,
                        execution_ms: meta.and_then(|m| m.execution_ms),
                        applied_by: meta.and_then(|m| m.applied_by.clone()),
                    }),
                    failure: meta.and_then(|m| m.failure.clone()),
                }
            }),
        }
    }

    /// Each of `revs`, with their facts from `state` when known.
    pub fn revision_infos(&self, state: Option<&State>, revs: &[usize]) -> Vec<RevisionInfo> {
        revs.iter().map(|&r| self.revision_info(state, r)).collect()
    }
}

/// The failures `state` records, by revision id.
pub fn failures(state: &State) -> Vec<FailureInfo> {
    let mut all: Vec<FailureInfo> = state
        .recorded
        .meta
        .values()
        .filter_map(|m| {
            m.failure.as_ref().map(|failure| FailureInfo {
                revision: m.version.clone(),
                failure: failure.clone(),
            })
        })
        .collect();
    all.sort_by(|a, b| a.revision.cmp(&b.revision));
    all
}
