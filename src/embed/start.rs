//! The app-start API: `cargo_migrate::upgrade::<migrations::Migrator>(&db).await?` on
//! the application's own `DatabaseConnection`. Already at the target it answers from
//! one query and takes no lock, so a fleet of replicas restarting costs one query each;
//! otherwise it takes the migration lock and runs the plan as `upgrade` does.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sea_orm_migration::sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::engine::connect::Db;
use crate::engine::runtime::{Observer, Quiet, Runtime, WriteOptions};
use crate::engine::status::{Health, Status};
use crate::engine::step::{Direction, StepOutcome};
use crate::error::Result;
use crate::model::graph::ids;
use crate::model::revision::Migrations;
use crate::model::spec::AsSpec;

/// What an app-start upgrade did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The steps it ran, in order (none when the database was already there).
    pub applied: Vec<StepOutcome>,
    /// The database's current revisions afterwards.
    pub current: Vec<String>,
    /// Nothing was to do: answered from one query, without the lock.
    pub up_to_date: bool,
    /// Applied revisions whose source changed since they were applied (not run again;
    /// `cargo migrate check` fails on them).
    pub edited: Vec<String>,
}

/// Upgrades the database `db` reaches to the single head of `M`'s revisions, on the
/// application's own connection: the migration lock, one transaction per migration,
/// and the binary's refusals (several heads, unknown or half-applied revisions).
/// [`Upgrade`] sets a target, a lock timeout or an observer.
pub async fn upgrade<M: Migrations + 'static>(db: &DatabaseConnection) -> Result<Report> {
    Upgrade::new::<M>(db).run().await
}

/// The migration status of the database `db` reaches, against `M`'s revisions: read
/// only, nothing is created.
pub async fn status<M: Migrations + 'static>(db: &DatabaseConnection) -> Result<Status> {
    let rt = runtime::<M>()?;
    let db = Db::from_connection(db).await?;
    let state = rt.state(&db).await?;
    Ok(rt.status_of(
        &state,
        db.url().masked(),
        db.url().schema().map(str::to_string),
    ))
}

/// The health verdict of the database `db` reaches, against `M`'s revisions (read
/// only): ok, pending, failed, unknown revisions or edited; [`Health::http_status`]
/// maps it to 200 or 503.
pub async fn health<M: Migrations + 'static>(db: &DatabaseConnection) -> Result<Health> {
    Ok(status::<M>(db).await?.health)
}

/// An app-start upgrade with options; [`upgrade`] runs it with the defaults.
pub struct Upgrade<'a> {
    db: &'a DatabaseConnection,
    runtime: Result<Arc<Runtime>>,
    target: String,
    opts: WriteOptions,
    observer: Option<&'a mut dyn Observer>,
}

impl<'a> Upgrade<'a> {
    /// An upgrade of `db` to the single head of `M`'s revisions.
    pub fn new<M: Migrations + 'static>(db: &'a DatabaseConnection) -> Upgrade<'a> {
        Upgrade {
            db,
            runtime: runtime::<M>(),
            target: "head".to_string(),
            opts: WriteOptions::default(),
            observer: None,
        }
    }

    /// Upgrade to `spec` instead (`heads`, a revision id or prefix, `+2`...).
    pub fn to(mut self, spec: &str) -> Self {
        self.target = spec.to_string();
        self
    }

    /// Wait at most `timeout` for another process's migration lock (forever by
    /// default), then fail.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.opts.lock_timeout = Some(timeout);
        self
    }

    /// Lock out other runs with `strategy` instead of the server's default (`transaction`
    /// or `table` behind a pooler in transaction mode).
    pub fn lock_strategy(mut self, strategy: crate::model::server::LockStrategy) -> Self {
        self.opts.lock_strategy = Some(strategy);
        self
    }

    /// Carry on although the database holds revisions this code does not know (a newer
    /// release rolled back), as `--allow-unknown` does.
    pub fn allow_unknown(mut self, allow: bool) -> Self {
        self.opts.allow_unknown = allow;
        self
    }

    /// Report progress (lock waits, each step) to `observer`.
    pub fn observer(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Runs it: one query when nothing is to do, else the lock and the plan.
    pub async fn run(self) -> Result<Report> {
        let rt = self.runtime?;
        let target = self.target.as_str().as_spec(rt.graph())?;
        rt.check_target("upgrade", &target)?;
        let db = Db::from_connection(self.db).await?;
        // Already there? One query, no lock. Anything else (a missing table, a refusal
        // that may be another run's step under way) is decided under the lock.
        if let Ok(recorded) = rt
            .tracking()
            .read_applied_in_one_query(db.connection())
            .await
        {
            let state = rt.state_from(recorded);
            let plan = |s: &_| Ok(up(rt.plan_upgrade(s, &target)?));
            if let Ok((steps, _)) = rt.steps(&state, &self.opts, &plan)
                && steps.is_empty()
            {
                return Ok(Report {
                    applied: Vec::new(),
                    current: ids(rt.graph(), &state.current),
                    up_to_date: true,
                    edited: ids(rt.graph(), &state.changed),
                });
            }
        }
        let mut quiet = Quiet;
        let observer = self.observer.unwrap_or(&mut quiet);
        let applied = rt.upgrade(&db, &target, &self.opts, observer).await?;
        let state = rt.state(&db).await?;
        Ok(Report {
            applied,
            current: ids(rt.graph(), &state.current),
            up_to_date: false,
            edited: ids(rt.graph(), &state.changed),
        })
    }
}

/// `M`'s runtime, without the source-directory scan the binary does (an application
/// is built with its migrations: it cannot miss a file). Built once per process and
/// kept: a readiness probe asks every few seconds, and a thousand revisions cost more
/// to build than the query that answers it.
pub(crate) fn runtime<M: Migrations + 'static>() -> Result<Arc<Runtime>> {
    type Cache = Mutex<HashMap<TypeId, Arc<Runtime>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let id = TypeId::of::<M>();
    if let Some(rt) = cache.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return Ok(rt);
    }
    let rt = Arc::new(Runtime::new(M::revisions(), &M::table_name())?);
    if let Ok(mut c) = cache.lock() {
        c.insert(id, rt.clone());
    }
    Ok(rt)
}

fn up(revs: Vec<usize>) -> Vec<(usize, Direction)> {
    revs.into_iter().map(|r| (r, Direction::Up)).collect()
}
