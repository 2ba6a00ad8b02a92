//! Running one migration step: in its own transaction together with its tracking
//! change wherever the database can roll DDL back, and recording a failure otherwise.

use std::time::Instant;

use sea_orm_migration::sea_orm::{
    DbBackend, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use serde::Serialize;

use crate::db::{Db, describe};
use crate::error::{Error, Result};
use crate::tracking::{Failure, StepFacts, Tracking, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
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
    pub revision: String,
    pub direction: Direction,
    pub duration_ms: f64,
    /// Ran inside a transaction with its tracking change.
    pub transactional: bool,
    /// Another process had already done it (SQLite re-check under the write lock).
    pub skipped: bool,
    /// The in-progress mark of the step after it was written with its record (see
    /// [`run_step`]).
    #[serde(skip)]
    pub marked_next: bool,
}

/// Whether a migration runs in a transaction: its own choice first, otherwise every
/// backend with transactional DDL (PostgreSQL and SQLite; sea-orm-migration leaves
/// SQLite out, we do not).
pub fn uses_transaction(migration: &dyn MigrationTrait, backend: DbBackend) -> bool {
    migration
        .use_transaction()
        .unwrap_or(backend != DbBackend::MySql)
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
/// [`StepOutcome::marked_next`]. On MySQL a step that runs outside a transaction is
/// marked in progress before it runs; the mark of `next` is written with this step's
/// record, in the same round trip and the same commit, instead of on its own. (A kill
/// between the two steps then leaves `next` marked although it never started: a false
/// alarm, on the safe side.) While it runs, `running_step` names it; it is cleared when
/// the step returns, failed or not, and kept only if its code panics.
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

/// The mark of a step that runs outside a transaction, written before it runs and
/// replaced when it is done: if it is still there, the step was interrupted.
fn in_progress(direction: Direction) -> Failure {
    Failure {
        direction: direction.as_str().to_string(),
        failed_at_ms: now_ms(),
        error: "interrupted: the process stopped while this step ran outside a transaction \
                (killed, crashed or disconnected)"
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
    let started = Instant::now();
    let mut outcome = StepOutcome {
        revision: id.clone(),
        direction,
        duration_ms: 0.0,
        transactional,
        skipped: false,
        marked_next: false,
    };
    // MySQL: the next step's mark goes with this step's record (made when it is written).
    let next = next.filter(|(m, _)| backend == DbBackend::MySql && !uses_transaction(*m, backend));
    let next_mark = || next.map(|(m, d)| (m.name(), in_progress(d)));
    let facts = |started: Instant| StepFacts {
        execution_ms: started.elapsed().as_millis() as i64,
        applied_by: ctx.applied_by.to_string(),
        checksum: ctx.checksum.map(str::to_string),
    };
    if transactional {
        let txn = conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(|e| db.error(e))?;
        // SQLite has no session lock: re-check under the write lock this transaction
        // holds, so a step another process finished meanwhile is not run twice.
        if backend == DbBackend::Sqlite
            && tracking
                .is_applied(&txn, &id)
                .await
                .map_err(|e| db.error(e))?
                == (direction == Direction::Up)
        {
            txn.rollback().await.map_err(|e| db.error(e))?;
            outcome.skipped = true;
            return Ok(outcome);
        }
        let result = {
            let manager = SchemaManager::new(&txn);
            match direction {
                Direction::Up => migration.up(&manager).await,
                Direction::Down => migration.down(&manager).await,
            }
        };
        if let Err(err) = result {
            let _ = txn.rollback().await;
            return Err(fail(db, tracking, &id, direction, err, true).await);
        }
        let facts = facts(started);
        let facts = (direction == Direction::Up).then_some(&facts);
        let mark = next_mark();
        let mark = mark.as_ref().map(|(n, f)| (*n, f));
        tracking
            .record(&txn, &id, facts, mark, false)
            .await
            .map_err(|e| db.error(e))?;
        txn.commit().await.map_err(|e| db.error(e))?;
    } else {
        // Outside a transaction a killed process leaves part of the step behind with no
        // word of it: say so now (unless the previous step did), and take it back when
        // the step is done.
        if !marked {
            tracking
                .record_failure(conn, &id, &in_progress(direction))
                .await
                .map_err(|e| db.error(e))?;
        }
        let result = {
            let manager = SchemaManager::new(conn);
            match direction {
                Direction::Up => migration.up(&manager).await,
                Direction::Down => migration.down(&manager).await,
            }
        };
        if let Err(err) = result {
            return Err(fail(db, tracking, &id, direction, err, false).await);
        }
        let facts = facts(started);
        let facts = (direction == Direction::Up).then_some(&facts);
        let mark = next_mark();
        let mark = mark.as_ref().map(|(n, f)| (*n, f));
        tracking
            .record(conn, &id, facts, mark, true)
            .await
            .map_err(|e| db.error(e))?;
    }
    outcome.marked_next = next.is_some();
    outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(outcome)
}

/// Records the failure (best effort: the error being reported matters more) and
/// builds the error naming the migration and the database's message.
async fn fail(
    db: &Db,
    tracking: &Tracking,
    id: &str,
    direction: Direction,
    err: sea_orm_migration::sea_orm::DbErr,
    transactional: bool,
) -> Error {
    let mut message = db.url().scrub(&describe(&err));
    let failure = Failure {
        direction: direction.as_str().to_string(),
        failed_at_ms: now_ms(),
        error: message.clone(),
        transactional,
    };
    let _ = tracking.record_failure(db.connection(), id, &failure).await;
    if transactional {
        message.push_str(" (rolled back: nothing of this migration was applied)");
    } else {
        message.push_str(&match direction {
            Direction::Up => format!(
                " (this step ran outside a transaction, so part of it may have been applied; \
                 check the database, then either finish it by hand and run `stamp {id}`, \
                 or undo it by hand and run `upgrade --retry-failed`)"
            ),
            Direction::Down => {
                " (this step ran outside a transaction, so part of it may have been \
                 reverted; check the database, then either finish reverting it by hand and record \
                 the revision below it with `stamp`, or restore what was reverted and run \
                 `downgrade --retry-failed`)"
                    .to_string()
            }
        });
    }
    Error::Migration {
        id: id.to_string(),
        direction: match direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        },
        message,
    }
}
