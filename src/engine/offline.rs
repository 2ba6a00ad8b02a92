//! A database connection with no database behind it, for `--sql`: it records every
//! statement a migration sends (values inlined, as the database's own client would take
//! them), answers sea-orm-migration's schema probes (`has_table`, `has_column`,
//! `has_index`) from the schema the recorded DDL has built so far, and refuses every
//! other query: a migration that reads rows cannot be written as a script (Alembic's
//! rule), and a guessed answer would write a wrong one.
//!
//! Built on sea-orm's mock connection (its `proxy` connection does not compile with the
//! MySQL and SQLite drivers in sea-orm 2.0.4): each call first queues the one result it
//! returns, so the mock's queue never runs dry whatever the migration sends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use sea_orm_migration::sea_orm::{
    DatabaseConnection, DatabaseConnectionType, DbBackend, DbErr, ExecResult, MockDatabase,
    MockDatabaseConnection, MockDatabaseTrait, MockExecResult, QueryResult, Statement, Transaction,
    Value,
};

use crate::model::ddl::{Names, Shape};

/// What the offline connection has seen: shared between it and the script's writer.
#[derive(Debug)]
pub struct Capture {
    /// The statements recorded since the last [`Capture::take`], each without its `;`.
    lines: Vec<String>,
    /// The schema the recorded DDL has built.
    pub shape: Shape,
    /// Transactions open inside the current step; a step that runs in a transaction
    /// starts at 1, so a migration's own `begin` is a savepoint there, as it is for real.
    depth: usize,
    /// The first query that was not a probe: the step reads data.
    pub read: Option<String>,
    /// Record nothing (the schema is still tracked): replaying the revisions before an
    /// offline start.
    pub muted: bool,
}

/// The shared [`Capture`].
pub type Shared = Arc<Mutex<Capture>>;

/// Locks the capture (a panic elsewhere does not make it unreadable).
pub fn lock(shared: &Shared) -> MutexGuard<'_, Capture> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl Capture {
    /// Starts a step: `in_transaction` when the script wraps it in `BEGIN`/`COMMIT`.
    pub fn start_step(&mut self, in_transaction: bool) {
        self.lines.clear();
        self.read = None;
        self.depth = usize::from(in_transaction);
    }

    /// The statements recorded since the step started.
    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    fn push(&mut self, line: String) {
        if !self.muted {
            self.lines.push(line);
        }
    }
}

/// How `backend` compares names, for the tracked schema.
pub fn names(backend: DbBackend) -> Names {
    match backend {
        DbBackend::Postgres => Names::Folded,
        _ => Names::Insensitive,
    }
}

/// An offline connection for `backend` starting from the schema `shape`, and the capture
/// it records into.
pub fn connect(backend: DbBackend, shape: Shape) -> (DatabaseConnection, Shared) {
    let shared = Arc::new(Mutex::new(Capture {
        lines: Vec::new(),
        shape,
        depth: 0,
        read: None,
        muted: false,
    }));
    let recorder = Recorder {
        inner: Some(MockDatabase::new(backend)),
        backend,
        capture: shared.clone(),
    };
    let conn = DatabaseConnectionType::MockDatabaseConnection(Arc::new(
        MockDatabaseConnection::new(recorder),
    ))
    .into();
    (conn, shared)
}

#[derive(Debug)]
struct Recorder {
    /// The mock that turns a queued result into sea-orm's result types (whose fields
    /// only sea-orm can set). `None` only while a result is being queued.
    inner: Option<MockDatabase>,
    backend: DbBackend,
    capture: Shared,
}

impl Recorder {
    fn inner(&mut self) -> &mut MockDatabase {
        self.inner
            .get_or_insert_with(|| MockDatabase::new(self.backend))
    }

    fn queue(&mut self, add: impl FnOnce(MockDatabase) -> MockDatabase) {
        let db = self
            .inner
            .take()
            .unwrap_or_else(|| MockDatabase::new(self.backend));
        self.inner = Some(add(db));
    }

    /// The answer to a sea-schema probe, by the column it selects; the names it asks
    /// about are its last bound values (sea-schema binds them last on every backend).
    fn probe(&self, stmt: &Statement) -> Option<(&'static str, bool)> {
        let kind = ["has_table", "has_column", "has_index"]
            .into_iter()
            .find(|k| {
                stmt.sql.contains(&format!("AS \"{k}\"")) || stmt.sql.contains(&format!("AS `{k}`"))
            })?;
        let values: Vec<String> = stmt
            .values
            .as_ref()?
            .0
            .iter()
            .filter_map(|v| match v {
                Value::String(Some(s)) => Some(s.to_string()),
                _ => None,
            })
            .collect();
        let shape = &lock(&self.capture).shape;
        let answer = match (kind, values.as_slice()) {
            ("has_table", [.., table]) => shape.has_table(table),
            ("has_column", [.., table, column]) => shape.has_column(table, column),
            ("has_index", [.., table, index]) => shape.has_index(table, index),
            _ => return None,
        };
        Some((kind, answer))
    }
}

impl MockDatabaseTrait for Recorder {
    fn execute(&mut self, counter: usize, stmt: Statement) -> Result<ExecResult, DbErr> {
        let text = stmt.to_string();
        {
            let mut capture = lock(&self.capture);
            capture.shape.apply(&text);
            let line = text.trim_end().trim_end_matches(';').trim_end().to_string();
            capture.push(line);
        }
        self.queue(|db| db.append_exec_results([MockExecResult::default()]));
        self.inner().execute(counter, stmt)
    }

    fn query(&mut self, counter: usize, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.probe(&stmt) {
            Some((kind, answer)) => {
                let row = BTreeMap::from([(kind.to_string(), Value::Bool(Some(answer)))]);
                self.queue(|db| db.append_query_results([vec![row]]));
                self.inner().query(counter, stmt)
            }
            None => {
                // Keeps the mock's queue in step with its counter.
                self.queue(|db| db.append_query_results([Vec::<BTreeMap<String, Value>>::new()]));
                let text = stmt.to_string();
                let mut capture = lock(&self.capture);
                if capture.read.is_none() {
                    capture.read = Some(text.clone());
                }
                Err(DbErr::Custom(format!(
                    "a script written without a database cannot answer a query: {text}"
                )))
            }
        }
    }

    fn begin(&mut self) {
        let mut capture = lock(&self.capture);
        let line = match capture.depth {
            0 => "BEGIN".to_string(),
            n => format!("SAVEPOINT cargo_migrate_{n}"),
        };
        capture.depth += 1;
        capture.push(line);
    }

    fn commit(&mut self) {
        let mut capture = lock(&self.capture);
        capture.depth = capture.depth.saturating_sub(1);
        let line = match capture.depth {
            0 => "COMMIT".to_string(),
            n => format!("RELEASE SAVEPOINT cargo_migrate_{n}"),
        };
        capture.push(line);
    }

    fn rollback(&mut self) {
        let mut capture = lock(&self.capture);
        capture.depth = capture.depth.saturating_sub(1);
        let line = match capture.depth {
            0 => "ROLLBACK".to_string(),
            n => format!("ROLLBACK TO SAVEPOINT cargo_migrate_{n}"),
        };
        capture.push(line);
    }

    fn drain_transaction_log(&mut self) -> Vec<Transaction> {
        self.inner().drain_transaction_log()
    }

    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    fn ping(&self) -> Result<(), DbErr> {
        Ok(())
    }
}
