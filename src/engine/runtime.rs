//! The runtime: a migration crate's revisions, its graph and its tracking table, and
//! the verbs that read or change a database. No printing happens here: results are
//! returned, and progress goes to an [`Observer`].

use std::time::Duration;

use sea_orm_migration::sea_orm::DatabaseTransaction;

use crate::engine::connect::Db;
use crate::engine::lock::Lock;
use crate::engine::step::{Direction, StepContext, StepOutcome, run_step};
use crate::engine::tracking::{AppliedRow, Recorded, StepFacts, Tracking};
use crate::error::{Error, Result};
use crate::model::graph::Graph;
use crate::model::graph::ids;
use crate::model::messages;
use crate::model::plan;
use crate::model::revision::{Migrations, Revision};
use crate::model::spec::{AsSpec, Resolver, Spec};

/// One change a writing verb is about to make, for a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `upgrade`: run this revision's `up`.
    Apply(String),
    /// `downgrade`: run this revision's `down`.
    Revert(String),
    /// `stamp`: record as applied without running it.
    Stamp(String),
    /// `stamp`: forget without running it.
    Unstamp(String),
    /// `stamp --purge`: forget a row this crate does not know.
    Purge(String),
}

/// Progress of a writing verb, reported as it happens.
pub trait Observer: Send {
    /// Another process holds the migration lock; this one waits.
    fn waiting_for_lock(&mut self) {}
    /// Whether a verb asks this observer to [`confirm`](Observer::confirm) its plan.
    fn asks(&self) -> bool {
        false
    }
    /// The plan is not empty: go ahead? `false` cancels the verb with nothing changed.
    /// Asked before the lock is taken (an answer can take minutes, and nobody waits for
    /// it), and asked `again` only if the plan, made anew under the lock, changed.
    fn confirm(&mut self, _changes: &[Change], _again: bool) -> Result<bool> {
        Ok(true)
    }
    /// A step is about to run.
    fn step_started(&mut self, _revision: &str, _direction: Direction) {}
    /// A step ran and was recorded.
    fn step_finished(&mut self, _outcome: &StepOutcome) {}
    /// A dry run's step ran and was taken back (or could not run: not simulated).
    fn dry_step_finished(&mut self, _step: &crate::engine::step::DryStep) {}
    /// Something went wrong that does not fail the verb.
    fn warning(&mut self, _message: &str) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// Options of the writing verbs.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Bound on the wait for the migration lock.
    pub lock_timeout: Option<Duration>,
    /// Carry on although the database holds revisions this crate does not know.
    pub allow_unknown: bool,
    /// Run again a migration whose non-transactional step failed part-way.
    pub retry_failed: bool,
    /// How the run locks out the others; the server's default when `None`.
    pub lock_strategy: Option<crate::model::server::LockStrategy>,
}

/// The database's state, as seen against this crate's graph.
#[derive(Debug, Clone)]
pub struct State {
    /// The tracking tables' rows, as read.
    pub recorded: Recorded,
    /// Indexed by revision.
    pub applied: Vec<bool>,
    /// Applied revisions none of whose children are applied, in topological order.
    pub current: Vec<usize>,
    /// Applied rows that name no revision of this crate.
    pub unknown: Vec<AppliedRow>,
    /// Applied revisions whose source changed since they were applied (the recorded
    /// checksum differs from the compiled one), in topological order.
    pub changed: Vec<usize>,
    /// When each applied revision was applied (Unix seconds), by id.
    applied_at: std::collections::HashMap<String, i64>,
}

impl State {
    /// When `id` was applied (Unix seconds), if it is.
    pub fn applied_at(&self, id: &str) -> Option<i64> {
        self.applied_at.get(id).copied()
    }

    /// How many of this crate's revisions are applied.
    pub fn applied_count(&self) -> usize {
        self.applied.iter().filter(|&&a| a).count()
    }

    /// Revisions whose failed, non-transactional step may have left part of it applied.
    pub fn half_applied(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .recorded
            .meta
            .values()
            .filter(|m| m.failure.as_ref().is_some_and(|f| !f.transactional))
            .map(|m| m.version.as_str())
            .collect();
        v.sort_unstable();
        v
    }
}

/// A migration crate's revisions and graph, and its tracking tables: runs the verbs
/// against a [`Db`].
pub struct Runtime {
    graph: Graph,
    revisions: Vec<Revision>,
    tracking: Tracking,
    applied_by: String,
    missing: Missing,
}

/// Migration files beside the crate's sources that this binary does not contain.
#[derive(Debug, Clone, Default)]
struct Missing {
    /// `src/<module>.rs`, sorted.
    files: Vec<String>,
    /// The crate finds its modules at build time: a missing file means a stale binary.
    discovered: bool,
}

impl Runtime {
    /// A runtime for `revisions`, tracked in the table `table`; fails if they do not form a
    /// valid graph.
    pub fn new(revisions: Vec<Revision>, table: &str) -> Result<Runtime> {
        let graph = Graph::build(revisions.iter().map(Revision::node))?;
        Ok(Runtime {
            graph,
            revisions,
            tracking: Tracking::new(table),
            applied_by: applied_by(),
            missing: Missing::default(),
        })
    }

    /// The runtime of the migration crate `M`, which also knows the migration files in its
    /// source directory that the binary does not contain.
    pub fn of<M: Migrations>() -> Result<Runtime> {
        let mut rt = Runtime::new(M::revisions(), &M::table_name())?;
        if let Some(dir) = M::source_dir() {
            crate::engine::url::remember_crate_source(dir);
            // A legacy revision has no path: its id is its module's name.
            let modules = rt.revisions.iter().map(|r| r.module().unwrap_or(r.id()));
            rt.missing = Missing {
                files: crate::engine::files::unregistered_files(dir, modules)
                    .into_iter()
                    .map(|f| format!("src/{f}"))
                    .collect(),
                discovered: M::discovered(),
            };
        }
        Ok(rt)
    }

    /// Migration files in the crate's `src/` that this binary does not contain.
    pub fn unregistered(&self) -> &[String] {
        &self.missing.files
    }

    /// What to tell the user about [`Runtime::unregistered`] files, if there are any.
    pub fn unregistered_problem(&self) -> Option<String> {
        let files = &self.missing.files;
        let (list, one) = (files.join(", "), files.len() == 1);
        if files.is_empty() {
            None
        } else if self.missing.discovered {
            Some(format!(
                "{list} {} not in this binary, which was built before {} added; rebuild it \
                 (`cargo migrate` rebuilds when a file changes)",
                if one { "is" } else { "are" },
                if one { "it was" } else { "they were" },
            ))
        } else {
            Some(format!(
                "{list} {} migration file{} that lib.rs does not register, so {} neither compiled \
                 nor run; add {} to the crate's list, or let the crate find its migrations with \
                 `cargo_migrate::discover!()`",
                if one { "is a" } else { "are" },
                if one { "" } else { "s" },
                if one { "it is" } else { "they are" },
                if one { "it" } else { "them" },
            ))
        }
    }

    /// The revision graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The tracking tables.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// The revision at index `rev` of the graph.
    pub fn revision(&self, rev: usize) -> &Revision {
        &self.revisions[rev]
    }

    /// A resolver without database state (offline verbs).
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver::new(&self.graph, None)
    }

    /// Reads the database's state; creates and alters nothing.
    pub async fn state(&self, db: &Db) -> Result<State> {
        let recorded = if db.is_absent() {
            Recorded::default()
        } else {
            self.tracking
                .read(db.connection())
                .await
                .map_err(|e| db.error(e))?
        };
        Ok(self.state_from(recorded))
    }

    pub(crate) fn state_from(&self, recorded: Recorded) -> State {
        let mut applied = vec![false; self.graph.len()];
        let mut unknown = Vec::new();
        for row in &recorded.applied {
            match self.graph.find(&row.version) {
                Some(r) => applied[r] = true,
                None => unknown.push(row.clone()),
            }
        }
        let current = self.graph.frontier(&applied);
        let changed = self
            .graph
            .topo_order()
            .iter()
            .copied()
            .filter(|&r| {
                // Only a revision applied with a recorded checksum is compared (and
                // only its source is checksummed).
                let then = recorded
                    .meta
                    .get(self.graph.id(r))
                    .and_then(|m| m.checksum.as_deref());
                applied[r]
                    && match (then, then.and(self.revisions[r].checksum())) {
                        (Some(then), Some(now)) => now != then,
                        _ => false,
                    }
            })
            .collect();
        let applied_at = recorded
            .applied
            .iter()
            .map(|row| (row.version.clone(), row.applied_at))
            .collect();
        State {
            recorded,
            applied,
            current,
            unknown,
            changed,
            applied_at,
        }
    }

    /// `upgrade <spec>`: applies what `spec` needs, one transaction per migration.
    pub async fn upgrade(
        &self,
        db: &Db,
        target: &(impl AsSpec + ?Sized),
        opts: &WriteOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<StepOutcome>> {
        let target = target.as_spec(&self.graph)?;
        self.migrate(db, &target, Direction::Up, opts, observer)
            .await
    }

    /// `downgrade <spec>`: un-applies down to `spec`, children first.
    pub async fn downgrade(
        &self,
        db: &Db,
        target: &(impl AsSpec + ?Sized),
        opts: &WriteOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<StepOutcome>> {
        let target = target.as_spec(&self.graph)?;
        self.migrate(db, &target, Direction::Down, opts, observer)
            .await
    }

    /// Moves the database towards `target` in `direction`, as planned under the lock.
    async fn migrate(
        &self,
        db: &Db,
        target: &Spec,
        direction: Direction,
        opts: &WriteOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<StepOutcome>> {
        self.write(db, opts, observer, |state| {
            let steps = match direction {
                Direction::Up => self.plan_upgrade(state, target)?,
                Direction::Down => self.plan_downgrade(state, target)?,
            };
            Ok(steps.into_iter().map(|r| (r, direction)).collect())
        })
        .await
    }

    /// `redo`: downgrade the single current revision and upgrade it again.
    pub async fn redo(
        &self,
        db: &Db,
        opts: &WriteOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<StepOutcome>> {
        self.write(db, opts, observer, |state| self.plan_redo(state))
            .await
    }

    /// `redo`'s plan: the single current revision down, then up again.
    pub(crate) fn plan_redo(&self, state: &State) -> Result<Vec<(usize, Direction)>> {
        let last = plan::downgrade_steps(&self.graph, &state.applied, 1)
            .map_err(|e| Error::usage(e.to_string().replace("`downgrade -1`", "`redo`")))?;
        Ok(vec![(last[0], Direction::Down), (last[0], Direction::Up)])
    }

    /// `stamp <spec>...`: records exactly the ancestry of the targets as applied,
    /// running no migration code. Returns the revisions added and removed.
    pub async fn stamp(
        &self,
        db: &Db,
        targets: &[impl AsSpec],
        purge: bool,
        opts: &WriteOptions,
        observer: &mut dyn Observer,
    ) -> Result<StampOutcome> {
        let (lock, state, desired) = self
            .prepare(db, opts, observer, true, |state| {
                if !state.unknown.is_empty() && !purge {
                    return Err(unknown_error(&state.unknown, "stamp", "--purge"));
                }
                let resolver = Resolver::new(&self.graph, Some(&state.current));
                let mut wanted = Vec::new();
                for t in targets {
                    wanted.extend(resolver.resolve(&t.as_spec(&self.graph)?)?);
                }
                let desired = plan::stamp_set(&self.graph, &wanted);
                let changes = stamp_changes(&self.graph, state, &desired, purge);
                Ok((desired, changes))
            })
            .await?;
        let result = async {
            let txn = db.begin().await?;
            let mut outcome = self.stamp_rows(db, &txn, &state, &desired, purge).await?;
            txn.commit().await.map_err(|e| db.error(e))?;
            outcome.current = ids(&self.graph, &self.graph.frontier(&desired));
            Ok(outcome)
        }
        .await;
        lock.release().await;
        result
    }

    /// `stamp`'s changes to the tracking tables, in `txn`: forgets the unknown rows
    /// (`purge`), then the applied revisions `desired` leaves out (children first), then
    /// records the `desired` ones not applied yet (parents first), and clears every
    /// recorded failure.
    async fn stamp_rows(
        &self,
        db: &Db,
        txn: &DatabaseTransaction,
        state: &State,
        desired: &[bool],
        purge: bool,
    ) -> Result<StampOutcome> {
        let order = self.graph.topo_order();
        let mut outcome = StampOutcome::default();
        if purge {
            for row in &state.unknown {
                outcome.purged.push(row.version.clone());
                self.tracking
                    .record_reverted(txn, &row.version)
                    .await
                    .map_err(|e| db.error(e))?;
            }
        }
        for &r in order.iter().rev() {
            if state.applied[r] && !desired[r] {
                self.tracking
                    .record_reverted(txn, self.graph.id(r))
                    .await
                    .map_err(|e| db.error(e))?;
                outcome.removed.push(self.graph.id(r).to_string());
            }
        }
        for &r in order {
            if desired[r] && !state.applied[r] {
                let facts = StepFacts {
                    execution_ms: 0,
                    applied_by: format!("{} (stamp)", self.applied_by),
                    checksum: self.revisions[r].checksum().map(str::to_string),
                };
                self.tracking
                    .record_applied(txn, self.graph.id(r), &facts)
                    .await
                    .map_err(|e| db.error(e))?;
                outcome.added.push(self.graph.id(r).to_string());
            }
        }
        // The stamped state is the truth now: earlier failures are resolved.
        for meta in state.recorded.meta.values() {
            if meta.failure.is_some() {
                self.tracking
                    .clear_failure(txn, &meta.version)
                    .await
                    .map_err(|e| db.error(e))?;
                outcome.cleared.push(meta.version.clone());
            }
        }
        Ok(outcome)
    }

    /// `rehash [REV...]`: records the current checksum of applied revisions whose
    /// source changed (all of them, or those `targets` name), after a review.
    pub async fn rehash(
        &self,
        db: &Db,
        targets: &[impl AsSpec],
        opts: &WriteOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<String>> {
        let (lock, _, chosen) = self
            .prepare(db, opts, observer, true, |state| {
                let chosen = self.rehash_targets(state, targets)?;
                Ok((chosen, Vec::new()))
            })
            .await?;
        let result = async {
            let txn = db.begin().await?;
            let mut done = Vec::new();
            for r in chosen {
                if let Some(sum) = self.revisions[r].checksum() {
                    self.tracking
                        .set_checksum(&txn, self.graph.id(r), sum)
                        .await
                        .map_err(|e| db.error(e))?;
                    done.push(self.graph.id(r).to_string());
                }
            }
            txn.commit().await.map_err(|e| db.error(e))?;
            Ok(done)
        }
        .await;
        lock.release().await;
        result
    }

    /// The applied revisions `rehash` records: those `targets` name, or every one whose
    /// source changed.
    fn rehash_targets(&self, state: &State, targets: &[impl AsSpec]) -> Result<Vec<usize>> {
        if targets.is_empty() {
            return Ok(state.changed.clone());
        }
        let resolver = Resolver::new(&self.graph, Some(&state.current));
        let mut chosen = Vec::new();
        for t in targets {
            for r in resolver.resolve(&t.as_spec(&self.graph)?)? {
                if !state.applied[r] {
                    return Err(Error::usage(format!(
                        "`{}` is not applied, so it has no checksum to record",
                        self.graph.id(r)
                    )));
                }
                chosen.push(r);
            }
        }
        Ok(chosen)
    }

    pub(crate) fn plan_upgrade(&self, state: &State, target: &Spec) -> Result<Vec<usize>> {
        let resolver = Resolver::new(&self.graph, Some(&state.current));
        match target.clone() {
            Spec::Relative(n) if n > 0 => {
                let head = resolver.resolve(&Spec::Head)?;
                match head.first() {
                    Some(&h) => Ok(plan::upgrade_steps(
                        &self.graph,
                        &state.applied,
                        h,
                        n as u64,
                    )?),
                    None => Err(Error::usage("`upgrade +N`: the crate has no migrations")),
                }
            }
            Spec::Relative(n) => Err(backwards(n)),
            spec => {
                let targets = resolver.resolve(&spec)?;
                Ok(plan::upgrade_to(&self.graph, &state.applied, &targets))
            }
        }
    }

    pub(crate) fn plan_downgrade(&self, state: &State, target: &Spec) -> Result<Vec<usize>> {
        let resolver = Resolver::new(&self.graph, Some(&state.current));
        match target.clone() {
            Spec::Relative(n) if n < 0 => Ok(plan::downgrade_steps(
                &self.graph,
                &state.applied,
                n.unsigned_abs(),
            )?),
            Spec::Relative(n) => Err(forwards(n)),
            spec => {
                let targets = resolver.resolve(&spec)?;
                Ok(plan::downgrade_to(&self.graph, &state.applied, &targets)?)
            }
        }
    }

    /// Checks a target before anything connects: its syntax, its direction, and (when
    /// it does not depend on the database's state) that it names revisions that exist.
    /// A bad target then creates nothing, not even the tracking table.
    pub fn check_target(&self, verb: &str, target: &(impl AsSpec + ?Sized)) -> Result<()> {
        let spec = target.as_spec(&self.graph)?;
        match (verb, &spec) {
            ("upgrade", Spec::Relative(n)) if *n <= 0 => return Err(backwards(*n)),
            ("downgrade", Spec::Relative(n)) if *n > 0 => return Err(forwards(*n)),
            _ => {}
        }
        if !spec.needs_state() {
            Resolver::new(&self.graph, None).resolve(&spec)?;
        }
        Ok(())
    }

    /// Takes the migration lock, then (`install`) creates the tracking tables if they are
    /// missing.
    async fn lock(
        &self,
        db: &Db,
        opts: &WriteOptions,
        observer: &mut dyn Observer,
        install: bool,
    ) -> Result<Lock> {
        let lock = Lock::acquire(
            db,
            self.tracking.table(),
            opts.lock_strategy,
            opts.lock_timeout,
            &mut || observer.waiting_for_lock(),
        )
        .await?;
        if !install {
            return Ok(lock);
        }
        let installed = async {
            let txn = db.begin().await?;
            self.tracking.install(&txn).await.map_err(|e| db.error(e))?;
            txn.commit().await.map_err(|e| db.error(e))
        }
        .await;
        match installed {
            Ok(()) => Ok(lock),
            Err(e) => {
                lock.release().await;
                Err(e)
            }
        }
    }

    /// The first half of every writing verb: when the observer asks, plans and confirms
    /// before locking; then locks, reads the state and plans under the lock, and asks
    /// (again) only if that plan is not the one confirmed. `plan` gives a verb's plan
    /// and the changes it makes, or refuses the state. Returns the lock, the state read
    /// under it, and the plan.
    pub(crate) async fn prepare<P>(
        &self,
        db: &Db,
        opts: &WriteOptions,
        observer: &mut dyn Observer,
        install: bool,
        plan: impl Fn(&State) -> Result<(P, Vec<Change>)>,
    ) -> Result<(Lock, State, P)> {
        let asks = observer.asks();
        // A state refused before the lock may be another run's step under way (its
        // in-progress mark): the plan is then made and asked for under the lock.
        let confirmed = if !asks {
            None
        } else if let Ok((_, changes)) = plan(&self.state(db).await?) {
            if !changes.is_empty() && !observer.confirm(&changes, false)? {
                return Err(Error::Cancelled);
            }
            Some(changes)
        } else {
            None
        };
        let lock = self.lock(db, opts, observer, install).await?;
        let planned = async {
            let state = self.state(db).await?;
            let (plan, changes) = plan(&state)?;
            if asks
                && !changes.is_empty()
                && confirmed.as_ref() != Some(&changes)
                && !observer.confirm(&changes, confirmed.is_some())?
            {
                return Err(Error::Cancelled);
            }
            Ok((state, plan))
        }
        .await;
        match planned {
            Ok((state, plan)) => Ok((lock, state, plan)),
            Err(e) => {
                lock.release().await;
                Err(e)
            }
        }
    }

    /// `upgrade`, `downgrade` and `redo`: plans under the lock (refusing unknown and
    /// half-applied revisions), runs each step, releases.
    async fn write(
        &self,
        db: &Db,
        opts: &WriteOptions,
        observer: &mut dyn Observer,
        plan: impl Fn(&State) -> Result<Vec<(usize, Direction)>>,
    ) -> Result<Vec<StepOutcome>> {
        let (lock, _, steps) = self
            .prepare(db, opts, observer, true, |state| {
                self.steps(state, opts, &plan)
            })
            .await?;
        let result = async {
            let mut outcomes: Vec<StepOutcome> = Vec::with_capacity(steps.len());
            for (i, &(rev, direction)) in steps.iter().enumerate() {
                if let Some(why) = lock.lost() {
                    return Err(Error::Database(why));
                }
                let migration = self.revisions[rev].migration.as_ref();
                observer.step_started(self.graph.id(rev), direction);
                let ctx = StepContext {
                    applied_by: &self.applied_by,
                    checksum: self.revisions[rev].checksum(),
                };
                let marked = outcomes.last().is_some_and(|o| o.marked_next);
                let next = steps
                    .get(i + 1)
                    .map(|&(r, d)| (self.revisions[r].migration.as_ref(), d));
                let outcome =
                    run_step(db, &self.tracking, migration, direction, &ctx, marked, next).await?;
                observer.step_finished(&outcome);
                outcomes.push(outcome);
            }
            Ok(outcomes)
        }
        .await;
        lock.release().await;
        result
    }
}

impl Runtime {
    /// The plan of a migrating verb, with the changes it makes, or its refusal of the
    /// state: unknown revisions (without `--allow-unknown`), a half-applied one (without
    /// `--retry-failed`).
    pub(crate) fn steps(
        &self,
        state: &State,
        opts: &WriteOptions,
        plan: &dyn Fn(&State) -> Result<Steps>,
    ) -> Result<(Steps, Vec<Change>)> {
        if !state.unknown.is_empty() && !opts.allow_unknown {
            return Err(unknown_error(&state.unknown, "migrate", "--allow-unknown"));
        }
        let half = state.half_applied();
        if !half.is_empty() && !opts.retry_failed {
            return Err(half_applied_error(state, &half));
        }
        let steps = plan(state)?;
        let changes = steps
            .iter()
            .map(|&(rev, direction)| {
                let id = self.graph.id(rev).to_string();
                match direction {
                    Direction::Up => Change::Apply(id),
                    Direction::Down => Change::Revert(id),
                }
            })
            .collect();
        Ok((steps, changes))
    }

    /// Who this runtime records as applying a step.
    pub(crate) fn applied_by(&self) -> &str {
        &self.applied_by
    }
}

/// A plan of steps: each revision with the way it runs.
pub(crate) type Steps = Vec<(usize, Direction)>;

/// What `stamp` changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StampOutcome {
    /// Revisions recorded as applied, in topological order.
    pub added: Vec<String>,
    /// Revisions no longer recorded as applied, children first.
    pub removed: Vec<String>,
    /// Unknown revisions forgotten (`--purge`).
    pub purged: Vec<String>,
    /// Revisions whose recorded failure the stamp resolved.
    pub cleared: Vec<String>,
    /// The current revisions after the stamp.
    pub current: Vec<String>,
}

fn backwards(n: i64) -> Error {
    Error::usage(format!("`upgrade {n}` goes backwards; use `downgrade {n}`"))
}

fn forwards(n: i64) -> Error {
    Error::usage(format!(
        "`downgrade +{n}` goes forwards; use `upgrade +{n}`"
    ))
}

/// What `stamp` will change, in the order it changes it.
pub(crate) fn stamp_changes(
    graph: &Graph,
    state: &State,
    desired: &[bool],
    purge: bool,
) -> Vec<Change> {
    let order = graph.topo_order();
    let mut changes = Vec::new();
    if purge {
        changes.extend(
            state
                .unknown
                .iter()
                .map(|row| Change::Purge(row.version.clone())),
        );
    }
    for &r in order.iter().rev() {
        if state.applied[r] && !desired[r] {
            changes.push(Change::Unstamp(graph.id(r).to_string()));
        }
    }
    for &r in order {
        if desired[r] && !state.applied[r] {
            changes.push(Change::Stamp(graph.id(r).to_string()));
        }
    }
    changes
}

pub(crate) fn unknown_error(unknown: &[AppliedRow], verb: &str, flag: &str) -> Error {
    let names: Vec<&str> = unknown.iter().map(|r| r.version.as_str()).collect();
    Error::usage(messages::unknown_revisions_refused(&names, verb, flag))
}

fn half_applied_error(state: &State, half: &[&str]) -> Error {
    let id = half[0];
    let error = state
        .recorded
        .meta
        .get(id)
        .and_then(|m| m.failure.as_ref())
        .map(|f| f.error.as_str())
        .unwrap_or_default();
    Error::usage(messages::half_applied_refused(id, error))
}

/// `cargo-migrate/<version> user@host`, recorded with every applied step.
fn applied_by() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("cargo-migrate/{} {user}@{host}", env!("CARGO_PKG_VERSION"))
        .chars()
        .take(255)
        .collect()
}
