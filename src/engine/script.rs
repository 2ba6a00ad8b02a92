//! `--sql`: the SQL script that performs a plan, written without running it. Each
//! migration runs against an [offline connection](crate::engine::offline) that records
//! what it sends; the script wraps each in `BEGIN`/`COMMIT` exactly where a real run
//! uses a transaction, and adds the tracking rows a real step writes. The start is the
//! empty database, a revision (Alembic's `A:B`), or a database's recorded state and
//! schema, read and never written (`--from-db`).

use std::fmt;

use sea_orm_migration::SchemaManager;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement,
};
use serde::Serialize;

use crate::engine::connect::Db;
use crate::engine::offline::{self, Shared};
use crate::engine::runtime::{Change, Runtime, State, WriteOptions, unknown_error};
use crate::engine::step::{Direction, failed, uses_transaction};
use crate::engine::tracking::{AppliedRow, Recorded};
use crate::error::{Error, Result};
use crate::model::ddl::Shape;
use crate::model::graph::ids;
use crate::model::plan;
use crate::model::spec::{Resolver, Spec};

/// Where a script starts.
#[derive(Clone, Copy)]
pub enum Start<'a> {
    /// The empty database (`base`).
    Base,
    /// The database at these revisions (`A` of `A:B`): the schema the revisions before
    /// them build is replayed offline, so the migrations' probes see it.
    At(&'a Spec),
    /// A real database's recorded revisions and schema, read without writing anything.
    Database(&'a Db),
}

/// What the script does.
#[derive(Debug, Clone)]
pub enum Goal {
    /// `upgrade`.
    Upgrade(Spec),
    /// `downgrade`.
    Downgrade(Spec),
    /// `stamp` (with `--purge`: forgets the recorded revisions this crate does not know).
    Stamp(Vec<Spec>, bool),
}

/// What one part of a script does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Runs the revision's `up` and records it.
    Upgrade,
    /// Runs the revision's `down` and forgets it.
    Downgrade,
    /// Records the revision without running it.
    Stamp,
    /// Forgets the revision without running it.
    Unstamp,
}

/// One migration (or one stamped revision) of a script.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptStep {
    /// The revision.
    pub revision: String,
    /// What the step does to it.
    pub action: Action,
    /// Wrapped in `BEGIN`/`COMMIT` with its tracking change, as a real run would.
    pub transactional: bool,
    /// The migration's statements, in order, each without its `;`.
    pub statements: Vec<String>,
    /// The tracking tables' changes, each without its `;`.
    pub tracking: Vec<String>,
}

/// A complete SQL script; its [`Display`](fmt::Display) is the text to hand to the
/// database's client.
#[derive(Debug, Clone, Serialize)]
pub struct Script {
    /// `postgres`, `mysql` or `sqlite`.
    pub backend: &'static str,
    /// The verb it performs.
    pub verb: &'static str,
    /// The current revisions it starts from (empty: the empty database).
    pub from: Vec<String>,
    /// The current revisions once it has run.
    pub to: Vec<String>,
    /// PostgreSQL: the `SET search_path` that puts everything in the schema asked for
    /// (see [`Script::in_schema`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_path: Option<String>,
    /// Creates the tracking tables if they are missing (`IF NOT EXISTS`), each without its
    /// `;`.
    pub install: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<ScriptStep>,
}

/// The name a backend has in scripts and on the command line.
pub fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgres",
        DbBackend::MySql => "mysql",
        _ => "sqlite",
    }
}

impl Runtime {
    /// The SQL script that takes a `backend` database from `start` to `goal`, written
    /// without running anything. A migration that reads data through a query cannot be
    /// written offline: that is an error naming it.
    ///
    /// `opts` are the run's: from a database's state (`--from-db`), the script refuses
    /// what the run would (revisions this crate does not know, unless `allow_unknown`; a
    /// step half-applied, unless `retry_failed`).
    pub async fn script(
        &self,
        backend: DbBackend,
        start: Start<'_>,
        goal: &Goal,
        opts: &WriteOptions,
    ) -> Result<Script> {
        let (state, shape) = self.start(backend, start).await?;
        let (conn, capture) = offline::connect(backend, shape);
        let changes = self.changes(&state, goal, opts)?;
        let mut steps = Vec::with_capacity(changes.len());
        let mut applied = state.applied.clone();
        for change in &changes {
            let step = self
                .script_step(&conn, &capture, change, &mut applied)
                .await?;
            steps.push(step);
        }
        Ok(Script {
            backend: backend_name(backend),
            verb: match goal {
                Goal::Upgrade(_) => "upgrade",
                Goal::Downgrade(_) => "downgrade",
                Goal::Stamp(..) => "stamp",
            },
            from: ids(self.graph(), &state.current),
            to: ids(self.graph(), &self.graph().frontier(&applied)),
            search_path: None,
            // whatever the start (a database sea-orm-cli migrated has no side table yet),
            // unless there is nothing to do
            install: if steps.is_empty() {
                Vec::new()
            } else {
                self.tracking().install_sql(backend).to_vec()
            },
            steps,
        })
    }

    /// The state and schema a script starts from.
    async fn start(&self, backend: DbBackend, start: Start<'_>) -> Result<(State, Shape)> {
        let empty = Shape::new(offline::names(backend));
        match start {
            Start::Base => Ok((self.state_of(&[]), empty)),
            Start::At(spec) => {
                let revs = Resolver::new(self.graph(), None).resolve(spec)?;
                let shape = self.replay(backend, &revs).await?;
                Ok((self.state_of(&revs), shape))
            }
            Start::Database(db) => {
                if db.backend() != backend {
                    return Err(Error::usage(format!(
                        "the database is {}, not {}: leave out `--backend`, or give it `{}`",
                        backend_name(db.backend()),
                        backend_name(backend),
                        backend_name(db.backend())
                    )));
                }
                let state = self.state(db).await?;
                let shape = read_shape(db).await.map_err(|e| db.error(e))?;
                Ok((state, shape))
            }
        }
    }

    /// The state of a database where exactly the ancestry of `revs` is applied.
    fn state_of(&self, revs: &[usize]) -> State {
        let desired = plan::stamp_set(self.graph(), revs);
        let applied = self
            .graph()
            .topo_order()
            .iter()
            .filter(|&&r| desired[r])
            .map(|&r| AppliedRow {
                version: self.graph().id(r).to_string(),
                applied_at: 0,
            })
            .collect();
        self.state_from(Recorded {
            applied,
            meta: Default::default(),
        })
    }

    /// The schema the revisions up to `revs` build, run offline and not recorded.
    async fn replay(&self, backend: DbBackend, revs: &[usize]) -> Result<Shape> {
        let (conn, capture) = offline::connect(backend, Shape::new(offline::names(backend)));
        offline::lock(&capture).muted = true;
        let none = vec![false; self.graph().len()];
        for rev in plan::upgrade_to(self.graph(), &none, revs) {
            let migration = self.revision(rev).migration.as_ref();
            offline::lock(&capture).start_step(false);
            let ran = migration.up(&SchemaManager::new(&conn)).await;
            let read = offline::lock(&capture).read.take();
            if let Some(query) = read.or_else(|| ran.err().map(|e| e.to_string())) {
                return Err(Error::usage(format!(
                    "cannot know the schema at the script's start offline: `{}` needs the \
                     database ({query}); start from the database itself with `--from-db`",
                    migration.name()
                )));
            }
        }
        let shape = offline::lock(&capture).shape.clone();
        Ok(shape)
    }

    /// The changes the script makes, in order, or the run's refusal of the state.
    fn changes(&self, state: &State, goal: &Goal, opts: &WriteOptions) -> Result<Vec<Change>> {
        let g = self.graph();
        let with = |revs: Vec<usize>, d: Direction| revs.into_iter().map(|r| (r, d)).collect();
        Ok(match goal {
            Goal::Upgrade(target) => {
                let plan = |s: &State| Ok(with(self.plan_upgrade(s, target)?, Direction::Up));
                self.steps(state, opts, &plan)?.1
            }
            Goal::Downgrade(target) => {
                let plan = |s: &State| Ok(with(self.plan_downgrade(s, target)?, Direction::Down));
                self.steps(state, opts, &plan)?.1
            }
            Goal::Stamp(targets, purge) => {
                if !state.unknown.is_empty() && !purge {
                    return Err(unknown_error(&state.unknown, "stamp", "--purge"));
                }
                let resolver = Resolver::new(g, Some(&state.current));
                let mut wanted = Vec::new();
                for t in targets {
                    wanted.extend(resolver.resolve(t)?);
                }
                let desired = plan::stamp_set(g, &wanted);
                crate::engine::runtime::stamp_changes(g, state, &desired, *purge)
            }
        })
    }

    /// One change as a script step; `applied` follows the script.
    async fn script_step(
        &self,
        conn: &DatabaseConnection,
        capture: &Shared,
        change: &Change,
        applied: &mut [bool],
    ) -> Result<ScriptStep> {
        let backend = conn.get_database_backend();
        let (id, action) = match change {
            Change::Apply(id) => (id, Action::Upgrade),
            Change::Revert(id) => (id, Action::Downgrade),
            Change::Stamp(id) => (id, Action::Stamp),
            Change::Unstamp(id) | Change::Purge(id) => (id, Action::Unstamp),
        };
        let rev = self.graph().find(id);
        if let Some(rev) = rev {
            applied[rev] = matches!(action, Action::Upgrade | Action::Stamp);
        }
        let tracking = self.tracking();
        let record = match action {
            Action::Upgrade | Action::Stamp => {
                let checksum = rev.and_then(|r| self.revision(r).checksum());
                tracking.script_record(backend, id, Some((SCRIPT_APPLIED_BY, checksum)))
            }
            Action::Downgrade | Action::Unstamp => tracking.script_record(backend, id, None),
        };
        let Some(rev) = rev.filter(|_| matches!(action, Action::Upgrade | Action::Downgrade))
        else {
            return Ok(ScriptStep {
                revision: id.clone(),
                action,
                transactional: backend != DbBackend::MySql,
                statements: Vec::new(),
                tracking: record,
            });
        };
        let migration = self.revision(rev).migration.as_ref();
        let transactional = uses_transaction(migration, backend);
        offline::lock(capture).start_step(transactional);
        let manager = SchemaManager::new(conn);
        let ran = match action {
            Action::Upgrade => migration.up(&manager).await,
            _ => migration.down(&manager).await,
        };
        let (statements, read) = {
            let mut c = offline::lock(capture);
            (c.take(), c.read.take())
        };
        let direction = if action == Action::Upgrade {
            Direction::Up
        } else {
            Direction::Down
        };
        if let Some(query) = read {
            return Err(failed(id, direction, reads_data(&query)));
        }
        ran.map_err(|e| failed(id, direction, cannot_write(&e)))?;
        Ok(ScriptStep {
            revision: id.clone(),
            action,
            transactional,
            statements,
            tracking: record,
        })
    }
}

/// Who a script's tracking rows say applied them.
const SCRIPT_APPLIED_BY: &str =
    concat!("cargo-migrate/", env!("CARGO_PKG_VERSION"), " (SQL script)");

/// Why a migration that reads data has no offline script.
fn reads_data(query: &str) -> String {
    let query: String = query.chars().take(120).collect();
    format!(
        "it reads data (`{query}`), which a script written without a database cannot \
         answer; preview it against the database with `--dry-run` instead"
    )
}

fn cannot_write(err: &DbErr) -> String {
    format!("it cannot be written as a script: {err}")
}

/// The tables, columns and indexes of the database's schema (the one its tracking table
/// is in), for a script that starts from it.
async fn read_shape(db: &Db) -> std::result::Result<Shape, DbErr> {
    let backend = db.backend();
    let mut shape = Shape::new(offline::names(backend));
    if db.is_absent() {
        return Ok(shape);
    }
    let (columns, indexes) = match backend {
        DbBackend::Postgres => (
            "SELECT table_name::text AS t, column_name::text AS n FROM information_schema.columns \
             WHERE table_schema = current_schema()",
            "SELECT tablename::text AS t, indexname::text AS n FROM pg_indexes \
             WHERE schemaname = current_schema()",
        ),
        DbBackend::MySql => (
            "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS n \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE()",
            "SELECT DISTINCT CAST(TABLE_NAME AS CHAR) AS t, CAST(INDEX_NAME AS CHAR) AS n \
             FROM information_schema.statistics \
             WHERE table_schema = DATABASE()",
        ),
        _ => (
            "SELECT m.name AS t, p.name AS n FROM sqlite_master AS m \
             JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'",
            "SELECT tbl_name AS t, name AS n FROM sqlite_master WHERE type = 'index'",
        ),
    };
    let conn = db.connection();
    for (sql, index) in [(columns, false), (indexes, true)] {
        for row in conn
            .query_all_raw(Statement::from_string(backend, sql))
            .await?
        {
            let (t, n): (String, String) = (row.try_get("", "t")?, row.try_get("", "n")?);
            if index {
                shape.add_index(&t, &n);
            } else {
                shape.add_column(&t, &n);
            }
        }
    }
    Ok(shape)
}

impl Script {
    /// The script run in the PostgreSQL schema `schema` (sea-orm-migration's `-s`: one
    /// name, or a search path whose first schema holds what is created), as a run with
    /// `-s` is: it starts by setting the search path. `None` or empty: the server's own.
    pub fn in_schema(mut self, schema: Option<&str>) -> Result<Script> {
        let Some(schema) = schema.filter(|s| !s.is_empty()) else {
            self.search_path = None;
            return Ok(self);
        };
        if self.backend != "postgres" {
            return Err(Error::Config(format!(
                "`--database-schema {schema}` (or DATABASE_SCHEMA) selects a PostgreSQL \
                 schema; a {} script has none: unset it",
                self.backend
            )));
        }
        let url = crate::engine::url::DbUrl::parse("postgres://localhost/script")?
            .with_schema(Some(schema.to_string()))?;
        self.search_path = url.search_path_sql();
        Ok(self)
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = |revs: &[String]| {
            if revs.is_empty() {
                "base".to_string()
            } else {
                revs.join(", ")
            }
        };
        writeln!(
            f,
            "-- {} script for {}, from {} to {}, written by cargo-migrate {}",
            self.verb,
            match self.backend {
                "postgres" => "PostgreSQL",
                "mysql" => "MySQL/MariaDB",
                _ => "SQLite",
            },
            range(&self.from),
            range(&self.to),
            env!("CARGO_PKG_VERSION")
        )?;
        if let Some(set) = &self.search_path {
            writeln!(f, "\n{set};")?;
        }
        if !self.install.is_empty() {
            writeln!(f, "\n-- the tracking tables")?;
            for s in &self.install {
                writeln!(f, "{s};")?;
            }
        }
        for step in &self.steps {
            writeln!(f, "\n-- {} {}", step.action_name(), step.revision)?;
            if step.transactional {
                writeln!(f, "BEGIN;")?;
            }
            for s in step.statements.iter().chain(&step.tracking) {
                // a text that ends in a line comment gets its `;` on a line of its own
                let after = if s.lines().last().is_some_and(|l| l.contains("--")) {
                    "\n"
                } else {
                    ""
                };
                writeln!(f, "{s}{after};")?;
            }
            if step.transactional {
                writeln!(f, "COMMIT;")?;
            }
        }
        Ok(())
    }
}

impl ScriptStep {
    fn action_name(&self) -> &'static str {
        match self.action {
            Action::Upgrade => "upgrade",
            Action::Downgrade => "downgrade",
            Action::Stamp => "stamp",
            Action::Unstamp => "unstamp",
        }
    }
}
