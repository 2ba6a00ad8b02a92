//! Running one migration step: in its own transaction together with its tracking
//! change wherever the database can roll DDL back, and recording a failure otherwise.

use std::time::Instant;

use sea_orm_migration::sea_orm::{DbBackend, DbErr};
use sea_orm_migration::{IntoSchemaManagerConnection, MigrationTrait, SchemaManager};
use serde::Serialize;

use crate::engine::connect::Db;
use crate::engine::tracking::{Failure, StepFacts, Tracking, now_ms};
use crate::error::{Error, Result};
use crate::model::messages;

/// Which way a step runs a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `up`: apply it.
    Up,
    /// `down`: revert it.
    Down,
}

impl Direction {
    /// `up` or `down`, as recorded with a failure.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// The revision's id.
    pub revision: String,
    /// Which way it ran.
    pub direction: Direction,
    /// Wall time of the whole step, its record included, in milliseconds.
    pub duration_ms: f64,
    /// The execution time recorded with the step (an upgrade step), in whole ms: what
    /// `status` shows later, so what the step's line shows now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_ms: Option<i64>,
    /// Ran inside a transaction with its tracking change.
    pub transactional: bool,
    /// The in-progress mark of the step after it was written with its record (see
    /// `run_step`).
    #[serde(skip)]
    pub marked_next: bool,
}

/// One step of a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct DryStep {
    /// The revision.
    pub revision: String,
    /// Which way it ran.
    pub direction: Direction,
    /// It ran (and was rolled back); `false`: it could not run here, see `note`.
    pub simulated: bool,
    /// Why it was not simulated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Wall time of the step, in milliseconds.
    pub duration_ms: f64,
    /// The statements it sent, values inlined, its tracking change included.
    pub statements: Vec<String>,
}

impl DryStep {
    /// A step that ran from `started`, sending `statements`.
    pub(crate) fn ran(
        migration: &dyn MigrationTrait,
        direction: Direction,
        started: Instant,
        statements: Vec<String>,
    ) -> DryStep {
        DryStep {
            revision: migration.name().to_string(),
            direction,
            simulated: true,
            note: None,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            statements,
        }
    }
}

/// Whether a migration runs in a transaction: its own choice first, otherwise every
/// backend with transactional DDL (PostgreSQL and SQLite; sea-orm-migration leaves
/// SQLite out, we do not).
pub fn uses_transaction(migration: &dyn MigrationTrait, backend: DbBackend) -> bool {
    migration
        .use_transaction()
        .unwrap_or(backend != DbBackend::MySql)
}

/// Whether a failed or interrupted step leaves nothing of itself behind: it runs in a
/// transaction on a backend that can roll DDL back. MySQL/MariaDB commits each DDL
/// statement as it runs, in a transaction or not, so a step there never is. A step
/// that is not is marked in progress before it runs, and its failure is recorded as
/// half-applied.
fn atomic(migration: &dyn MigrationTrait, backend: DbBackend) -> bool {
    uses_transaction(migration, backend) && backend != DbBackend::MySql
}

/// Who runs a step, and what the code it runs is: recorded with the step.
pub struct StepContext<'a> {
    pub applied_by: &'a str,
    pub checksum: Option<&'a str>,
}

thread_local! {
    /// The step running on this thread, for the message if its code panics.
    static RUNNING: std::cell::RefCell<Option<(String, Direction)>> = const { std::cell::RefCell::new(None) };
}

/// The step that was running when a migration's code panicked.
pub fn running_step() -> Option<(String, Direction)> {
    RUNNING.with(|r| r.borrow().clone())
}

/// Runs one step of a plan and records it, knowing its neighbours: `next` is the step
/// the caller runs right after this one, and `marked` is the previous step's
/// [`StepOutcome::marked_next`]. A step that is not [`atomic`] is marked in progress
/// before it runs; on MySQL the mark of `next` is written with this step's record, in
/// the same round trip and the same commit, instead of on its own. (A kill between the
/// two steps then leaves `next` marked although it never started: a false alarm, on the
/// safe side.) Whatever fails once the step's code has started (the code, its tracking
/// record, the commit) is recorded as the step's failure and named in the error. While
/// it runs, `running_step` names it; it is cleared when the step returns, failed or
/// not, and kept only if its code panics.
pub async fn run_step(
    db: &Db,
    tracking: &Tracking,
    migration: &dyn MigrationTrait,
    direction: Direction,
    ctx: &StepContext<'_>,
    marked: bool,
    next: Option<(&dyn MigrationTrait, Direction)>,
) -> Result<StepOutcome> {
    RUNNING.with(|r| *r.borrow_mut() = Some((migration.name().to_string(), direction)));
    let result = step(db, tracking, migration, direction, ctx, marked, next).await;
    RUNNING.with(|r| *r.borrow_mut() = None);
    result
}

/// The mark of a step that is not [`atomic`], written before it runs and replaced when
/// it is done: if it is still there, the step was interrupted.
fn in_progress(direction: Direction) -> Failure {
    Failure {
        direction: direction.as_str().to_string(),
        failed_at_ms: now_ms(),
        error: "interrupted: the process stopped (killed, crashed or disconnected) while \
                this step ran where nothing could roll it back"
            .to_string(),
        transactional: false,
    }
}

async fn step(
    db: &Db,
    tracking: &Tracking,
    migration: &dyn MigrationTrait,
    direction: Direction,
    ctx: &StepContext<'_>,
    marked: bool,
    next: Option<(&dyn MigrationTrait, Direction)>,
) -> Result<StepOutcome> {
    let id = migration.name().to_string();
    let backend = db.backend();
    let conn = db.connection();
    let transactional = uses_transaction(migration, backend);
    let atomic_step = atomic(migration, backend);
    let started = Instant::now();
    // MySQL: the next step's mark goes with this step's record (made when it is written).
    let next = next.filter(|(m, _)| backend == DbBackend::MySql && !atomic(*m, backend));
    let next_mark = next.map(|(m, d)| (m.name(), in_progress(d)));
    let next_mark = next_mark.as_ref().map(|(n, f)| (*n, f));
    // A step that can leave part of itself behind says so before it runs (unless the
    // previous step did), and takes it back with its record.
    if !atomic_step && !marked {
        tracking
            .record_failure(conn, &id, &in_progress(direction))
            .await
            .map_err(|e| db.error(e))?;
    }
    // Atomic rather than a `Cell`: the step's future stays `Send` (an application's
    // HTTP handler runs it on any thread). `i64::MIN`: nothing recorded.
    let recorded = std::sync::atomic::AtomicI64::new(i64::MIN);
    let facts = || {
        let facts = facts(ctx, started);
        recorded.store(facts.execution_ms, std::sync::atomic::Ordering::Relaxed);
        facts
    };
    let ran = if transactional {
        let txn = db.begin().await?;
        let ran = run_and_record(
            &txn, tracking, migration, direction, facts, next_mark, false,
        )
        .await;
        match ran {
            Ok(()) => txn.commit().await,
            Err(err) => {
                let _ = txn.rollback().await;
                Err(err)
            }
        }
    } else {
        run_and_record(conn, tracking, migration, direction, facts, next_mark, true).await
    };
    if let Err(err) = ran {
        return Err(fail(
            db,
            tracking,
            &id,
            direction,
            err,
            atomic_step,
            transactional,
        )
        .await);
    }
    Ok(StepOutcome {
        revision: id,
        direction,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        execution_ms: Some(recorded.load(std::sync::atomic::Ordering::Relaxed))
            .filter(|&ms| ms != i64::MIN),
        transactional,
        marked_next: next.is_some(),
    })
}

/// Runs a migration's code one way on `conn` (the step's transaction, or the bare
/// connection), then records it there (see [`Tracking::record`] for `next_mark` and
/// `own_transaction`). Both kinds of step go through here.
pub(crate) async fn run_and_record<'c>(
    conn: impl IntoSchemaManagerConnection<'c>,
    tracking: &Tracking,
    migration: &dyn MigrationTrait,
    direction: Direction,
    facts: impl FnOnce() -> StepFacts,
    next_mark: Option<(&str, &Failure)>,
    own_transaction: bool,
) -> std::result::Result<(), DbErr> {
    let manager = SchemaManager::new(conn);
    match direction {
        Direction::Up => migration.up(&manager).await?,
        Direction::Down => migration.down(&manager).await?,
    }
    let facts = (direction == Direction::Up).then(facts);
    tracking
        .record(
            manager.get_connection(),
            migration.name(),
            facts.as_ref(),
            next_mark,
            own_transaction,
        )
        .await
}

/// What is recorded with a step that succeeded.
pub(crate) fn facts(ctx: &StepContext<'_>, started: Instant) -> StepFacts {
    StepFacts {
        // Whole ms, rounded up: a step that ran never reads as taking no time.
        execution_ms: started.elapsed().as_micros().div_ceil(1000) as i64,
        applied_by: ctx.applied_by.to_string(),
        checksum: ctx.checksum.map(str::to_string),
    }
}

/// Records the failure (best effort: the error being reported matters more) and
/// builds the error naming the migration and the database's message. `atomic`: nothing
/// of the step remains ([`atomic`]); `transactional`: it ran in a transaction.
async fn fail(
    db: &Db,
    tracking: &Tracking,
    id: &str,
    direction: Direction,
    err: DbErr,
    atomic: bool,
    transactional: bool,
) -> Error {
    let mut message = db.message(&err);
    let failure = Failure {
        direction: direction.as_str().to_string(),
        failed_at_ms: now_ms(),
        error: message.clone(),
        transactional: atomic,
    };
    let _ = tracking.record_failure(db.connection(), id, &failure).await;
    let why = if transactional {
        "MySQL/MariaDB commits each DDL statement at once, even in a transaction"
    } else {
        "this step ran outside a transaction"
    };
    message.push_str(&match (atomic, direction) {
        (true, _) => messages::STEP_ROLLED_BACK.to_string(),
        (false, Direction::Up) => messages::step_half_applied(id, why),
        (false, Direction::Down) => messages::step_half_reverted(why),
    });
    failed(id, direction, message)
}

/// The error of a step of `id` that failed one way, with its message.
pub(crate) fn failed(id: &str, direction: Direction, message: String) -> Error {
    Error::Migration {
        id: id.to_string(),
        direction: match direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        },
        message,
    }
}
