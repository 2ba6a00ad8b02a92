//! `--dry-run`: the real plan, really run, then taken back. It takes the migration lock
//! and plans from the database's state as a real run does; then
//!
//! - PostgreSQL and SQLite (transactional DDL): one transaction holds the whole run,
//!   each step with its tracking change, and is rolled back at the end. A step that
//!   opts out of transactions cannot run there and is not simulated.
//!   PostgreSQL's `lock_timeout` and `statement_timeout` bound how long the run can hold
//!   or wait for a lock on the real tables.
//! - MySQL/MariaDB (DDL commits at once): a scratch database beside the real one,
//!   created, given the real database's applied revisions, then the plan, and dropped
//!   whatever happens (an error, Ctrl-C).

use std::time::{Duration, Instant};

use sea_orm_migration::MigrationTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr};
use serde::Serialize;

use crate::engine::connect::Db;
use crate::engine::runtime::{Observer, Runtime, State, WriteOptions};
use crate::engine::scratch::unique_name;
use crate::engine::step::{
    Direction, DryStep, StepContext, facts, failed, run_and_record, uses_transaction,
};
use crate::error::{Error, Result};
use crate::model::graph::ids;
use crate::model::spec::Spec;

/// What a dry run rehearses.
#[derive(Debug, Clone)]
pub enum DryGoal {
    /// `upgrade`.
    Upgrade(Spec),
    /// `downgrade`.
    Downgrade(Spec),
    /// `redo`.
    Redo,
}

/// Bounds that keep a dry run from holding the real database's locks for long
/// (PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub struct DryRunOptions {
    /// How long a statement may wait for a lock before it fails.
    pub lock_timeout: Duration,
    /// How long a statement may run before it fails.
    pub statement_timeout: Duration,
}

impl Default for DryRunOptions {
    fn default() -> Self {
        DryRunOptions {
            lock_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(60),
        }
    }
}

/// How the plan was run without changing the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// In a transaction of the real database, rolled back: real locks were taken.
    Rollback,
    /// In a scratch database built from the real one's applied revisions, then dropped.
    ScratchDatabase,
}

/// The result of a dry run: nothing of it remains in the database.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    /// How it ran.
    pub method: Method,
    /// The scratch database it ran in (MySQL/MariaDB), dropped since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch: Option<String>,
    /// The steps, in order.
    pub steps: Vec<DryStep>,
    /// The database's current revisions (unchanged).
    pub from: Vec<String>,
    /// Where a real run would leave it.
    pub to: Vec<String>,
}

/// Why a step that opts out of transactions has no dry run on a rolled-back database.
const NOT_SIMULATED: &str = "not simulated: it runs outside a transaction (its \
     `use_transaction()` says so), so nothing could take it back";

impl Runtime {
    /// Runs what `goal` plans on `db`, under the lock, and takes it all back. A step
    /// that fails fails as it would for real (exit 1), with nothing changed.
    pub async fn dry_run(
        &self,
        db: &Db,
        goal: &DryGoal,
        opts: &WriteOptions,
        limits: &DryRunOptions,
        observer: &mut dyn Observer,
    ) -> Result<DryRun> {
        let plan = |state: &State| -> Result<Vec<(usize, Direction)>> {
            let with = |revs: Vec<usize>, d: Direction| revs.into_iter().map(|r| (r, d)).collect();
            match goal {
                DryGoal::Upgrade(t) => Ok(with(self.plan_upgrade(state, t)?, Direction::Up)),
                DryGoal::Downgrade(t) => Ok(with(self.plan_downgrade(state, t)?, Direction::Down)),
                DryGoal::Redo => self.plan_redo(state),
            }
        };
        let (lock, state, steps) = self
            .prepare(db, opts, observer, false, |s| self.steps(s, opts, &plan))
            .await?;
        let ran = match db.backend() {
            DbBackend::MySql => self.in_scratch(db, &state, &steps, observer).await,
            _ => self
                .rolled_back(db, &steps, limits, observer)
                .await
                .map(|steps| (None, steps)),
        };
        lock.release().await;
        let (scratch, done) = ran?;
        let mut applied = state.applied.clone();
        for &(r, d) in &steps {
            applied[r] = d == Direction::Up;
        }
        Ok(DryRun {
            method: if scratch.is_some() {
                Method::ScratchDatabase
            } else {
                Method::Rollback
            },
            scratch,
            steps: done,
            from: ids(self.graph(), &state.current),
            to: ids(self.graph(), &self.graph().frontier(&applied)),
        })
    }

    /// PostgreSQL and SQLite: the steps in one transaction, rolled back.
    async fn rolled_back(
        &self,
        db: &Db,
        steps: &[(usize, Direction)],
        limits: &DryRunOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<DryStep>> {
        let txn = db.begin().await?;
        let result = async {
            if db.backend() == DbBackend::Postgres {
                txn.execute_unprepared(&format!(
                    "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
                    limits.lock_timeout.as_millis().max(1),
                    limits.statement_timeout.as_millis().max(1)
                ))
                .await
                .map_err(|e| db.error(e))?;
            }
            self.tracking()
                .install(&txn)
                .await
                .map_err(|e| db.error(e))?;
            let mut done: Vec<DryStep> = Vec::with_capacity(steps.len());
            for &(rev, direction) in steps {
                let migration = self.revision(rev).migration.as_ref();
                observer.step_started(migration.name(), direction);
                let step = if uses_transaction(migration, db.backend()) {
                    self.simulate(db, &txn, rev, direction, &done).await?
                } else {
                    DryStep {
                        revision: migration.name().to_string(),
                        direction,
                        simulated: false,
                        note: Some(NOT_SIMULATED.to_string()),
                        duration_ms: 0.0,
                        statements: Vec::new(),
                    }
                };
                observer.dry_step_finished(&step);
                done.push(step);
            }
            Ok(done)
        }
        .await;
        db.record(false);
        let _ = txn.rollback().await;
        result
    }

    /// One step on `conn` (the rolled-back transaction of `db`, or the scratch
    /// database `db`), its statements recorded; `done` are the steps before it. No
    /// savepoint: a step that fails ends the dry run, and everything is rolled back.
    async fn simulate<C>(
        &self,
        db: &Db,
        conn: &C,
        rev: usize,
        direction: Direction,
        done: &[DryStep],
    ) -> Result<DryStep>
    where
        C: ConnectionTrait,
        for<'c> &'c C: sea_orm_migration::IntoSchemaManagerConnection<'c>,
    {
        let migration = self.revision(rev).migration.as_ref();
        db.record(true);
        let started = Instant::now();
        let ran = self
            .run_recorded(conn, migration, direction, rev, started, db.sink())
            .await;
        let statements = db.recorded();
        db.record(false);
        ran.map_err(|e| dry_failure(db, migration.name(), direction, &e, done))?;
        Ok(DryStep::ran(migration, direction, started, statements))
    }

    /// A step's code and its tracking record on `conn`, as a real step runs them.
    async fn run_recorded<C>(
        &self,
        conn: &C,
        migration: &dyn MigrationTrait,
        direction: Direction,
        rev: usize,
        started: Instant,
        sink: crate::model::sql::Sink,
    ) -> std::result::Result<(), DbErr>
    where
        C: ConnectionTrait,
        for<'c> &'c C: sea_orm_migration::IntoSchemaManagerConnection<'c>,
    {
        let ctx = StepContext {
            applied_by: self.applied_by(),
            checksum: self.revision(rev).checksum(),
        };
        let run = run_and_record(
            conn,
            self.tracking(),
            migration,
            direction,
            || facts(&ctx, started),
            None,
            false,
        );
        crate::model::sql::recording(sink, run).await
    }

    /// MySQL/MariaDB: the plan in a scratch database, always dropped; returns its name.
    async fn in_scratch(
        &self,
        db: &Db,
        state: &State,
        steps: &[(usize, Direction)],
        observer: &mut dyn Observer,
    ) -> Result<(Option<String>, Vec<DryStep>)> {
        let name = unique_name(db.url().database().as_deref(), "dryrun");
        db.connection()
            .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
            .await
            .map_err(|e| {
                Error::Database(format!(
                    "a dry run on MySQL/MariaDB runs in a scratch database, and this user cannot \
                     create one ({}); grant it CREATE, or preview the script with \
                     `--sql --from-db` instead",
                    db.message(&e)
                ))
            })?;
        let ran = if db.is_borrowed() {
            // Inside an application, whose Ctrl-C is its own business (tokio's handler,
            // once installed, would outlive this run).
            self.scratch_steps(db, &name, state, steps, observer).await
        } else {
            tokio::select! {
                ran = self.scratch_steps(db, &name, state, steps, observer) => ran,
                _ = tokio::signal::ctrl_c() => Err(Error::Cancelled),
            }
        };
        let dropped = db
            .connection()
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .await;
        if let Err(e) = dropped {
            observer.warning(&format!(
                "could not drop the dry run's scratch database `{name}`: {}; drop it by hand",
                db.message(&e)
            ));
        }
        Ok((Some(name), ran?))
    }

    /// Builds the scratch database `name` from `state`'s applied revisions, then runs
    /// `steps` there.
    async fn scratch_steps(
        &self,
        db: &Db,
        name: &str,
        state: &State,
        steps: &[(usize, Direction)],
        observer: &mut dyn Observer,
    ) -> Result<Vec<DryStep>> {
        let scratch = db.other_database(name).await?;
        let result = async {
            let conn = scratch.connection();
            self.tracking()
                .install(conn)
                .await
                .map_err(|e| scratch.error(e))?;
            for &rev in self.graph().topo_order() {
                if !state.applied[rev] {
                    continue;
                }
                let started = Instant::now();
                let migration = self.revision(rev).migration.as_ref();
                self.run_recorded(conn, migration, Direction::Up, rev, started, scratch.sink())
                    .await
                    .map_err(|e| {
                        Error::Database(format!(
                            "the dry run cannot rebuild the database in its scratch database: \
                             `{}`, applied there, fails when replayed: {}",
                            migration.name(),
                            scratch.message(&e)
                        ))
                    })?;
            }
            let mut done: Vec<DryStep> = Vec::with_capacity(steps.len());
            for &(rev, direction) in steps {
                let migration = self.revision(rev).migration.as_ref();
                observer.step_started(migration.name(), direction);
                let step = self.simulate(&scratch, conn, rev, direction, &done).await?;
                observer.dry_step_finished(&step);
                done.push(step);
            }
            Ok(done)
        }
        .await;
        scratch.close().await;
        result
    }
}

/// The error of a step that fails in a dry run: the database's message as a real run
/// gives it, and that nothing was changed; a step not simulated before it may be why.
fn dry_failure(db: &Db, id: &str, direction: Direction, err: &DbErr, done: &[DryStep]) -> Error {
    let mut message = db.message(err);
    message.push_str(" (dry run: nothing was changed)");
    if let Some(skipped) = done.iter().find(|s| !s.simulated) {
        message.push_str(&format!(
            "; `{}` before it was not simulated, which may be why",
            skipped.revision
        ));
    }
    failed(id, direction, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_fit_and_differ() {
        let long = "x".repeat(100);
        let name = |db: &str| unique_name(Some(db), "dryrun");
        let a = name(&long);
        assert!(a.len() <= 64, "{a}");
        assert!(name("app").starts_with("app_dryrun_"));
        assert!(name("we`ird").starts_with("weird_dryrun_"));
        assert_ne!(name("app"), name("app"));
    }
}
