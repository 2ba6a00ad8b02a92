//! The migration lock: one writer per database at a time. Three strategies
//! ([`LockStrategy`]), chosen per database; without a choice, the server's default
//! after asking it what it is (`crate::engine::server`):
//!
//! - `session`: a lock held by a connection of its own for the whole run, released
//!   when the process dies: PostgreSQL `pg_advisory_lock` (the key names the database
//!   and the schema of the tracking table), MySQL/MariaDB/TiDB `GET_LOCK` (the name
//!   includes the database, since lock names are server-wide), SQLite an exclusive lock
//!   on the file `<database>-migrate-lock` (`lock_file`). Behind a pooler in
//!   transaction mode a session lock stays on a pooled server connection: the run
//!   checks that its own main connection is refused the lock, and stops if not.
//! - `transaction` (PostgreSQL): `pg_advisory_xact_lock` in a transaction kept open on
//!   the lock's connection for the whole run; pooler-safe.
//! - `table`: a row of `<table>_lock` with an expiry its holder renews
//!   (`lock_table`); works where advisory locks do not (CockroachDB, YugabyteDB).
//!
//! Each SQLite step still takes SQLite's write lock (`BEGIN IMMEDIATE`) for its
//! transaction.

use std::fs::File;
use std::time::Duration;

use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
};

use crate::engine::connect::{Db, describe};
use crate::engine::lock_advisory::{self as advisory, Key};
use crate::engine::lock_table::{TableLock, TableLockOptions};
use crate::error::{Error, Result};
use crate::model::server::LockStrategy;

/// The migration lock, held until [`Lock::release`] or until the process ends.
pub struct Lock {
    held: Held,
}

enum Held {
    /// An in-memory SQLite database: no other process can reach it.
    Nothing,
    /// SQLite: the open lock file (closing it releases the lock).
    File(File),
    /// PostgreSQL and MySQL: the session holding the lock, and the lock's key.
    Session(DatabaseConnection, Key),
    /// PostgreSQL: the transaction holding `pg_advisory_xact_lock` on its own connection.
    Transaction(DatabaseTransaction, DatabaseConnection),
    /// A lock row, renewed while held, and the connection that renews it.
    Table(TableLock, DatabaseConnection),
}

impl Lock {
    /// Takes the lock for `table` on `db`'s database with `strategy` (the server's
    /// default when `None`), waiting at most `timeout` (forever if `None`). `waiting` is
    /// called once if another process holds it.
    pub async fn acquire(
        db: &Db,
        table: &str,
        strategy: Option<LockStrategy>,
        timeout: Option<Duration>,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Lock> {
        let backend = db.backend();
        let fail = |e| Error::Database(db.url().scrub(&describe(&e)));
        let strategy = choose(db, strategy).await?;
        if backend == DbBackend::Sqlite && strategy != LockStrategy::Table {
            let held = match db.url().sqlite_file() {
                // a dry run on a file that does not exist runs on an empty stand-in
                Some(file) if !db.is_absent() => {
                    Held::File(crate::engine::lock_file::lock_file(&file, timeout, waiting).await?)
                }
                _ => Held::Nothing,
            };
            return Ok(Lock { held });
        }
        let database = if backend == DbBackend::Sqlite {
            // One file, one database: its lock row needs no more than a fixed name.
            "main".to_string()
        } else {
            advisory::database_name(db.connection())
                .await
                .map_err(fail)?
        };
        let name = format!("cargo-migrate:{database}:{table}");
        let conn = db.session().await.map_err(fail)?;
        let held = match strategy {
            LockStrategy::Table => {
                let opts = TableLockOptions::default()
                    .timeout(timeout)
                    .schema(db.url().creation_schema());
                TableLock::acquire(&conn, table, &name, opts, waiting)
                    .await
                    .map(|lock| Held::Table(lock, conn.clone()))
            }
            LockStrategy::Transaction => {
                let key = Key::of(backend, &name);
                match advisory::transaction_lock(&conn, &key, timeout, waiting).await {
                    Ok(Some(txn)) => Ok(Held::Transaction(txn, conn.clone())),
                    Ok(None) => Err(gave_up(&name, &database, timeout, "held by another run")),
                    Err(e) => Err(fail(e)),
                }
            }
            LockStrategy::Session => session(db, &conn, &name, &database, timeout, waiting)
                .await
                .map(|key| Held::Session(conn.clone(), key)),
        };
        match held {
            Ok(held) => Ok(Lock { held }),
            Err(e) => {
                let _ = conn.close().await;
                Err(e)
            }
        }
    }

    /// Why the lock can no longer be trusted to be this run's, if it cannot: a lock row
    /// whose renewals failed until it expired (another run may have taken it over).
    pub fn lost(&self) -> Option<String> {
        match &self.held {
            Held::Table(lock, _) if lock.lost() => Some(format!(
                "the migration lock row of this run (owner `{}`) could not be renewed before it \
                 expired, so another run may hold the lock now; stopped before the next step \
                 (run again when the database is reachable)",
                lock.owner()
            )),
            _ => None,
        }
    }

    /// Releases the lock now (dropping the process also releases it).
    pub async fn release(self) {
        match self.held {
            Held::Nothing => {}
            Held::File(file) => {
                let _ = file.unlock();
            }
            Held::Transaction(txn, conn) => {
                let _ = txn.rollback().await;
                let _ = conn.close().await;
            }
            Held::Table(lock, conn) => {
                lock.release().await;
                let _ = conn.close().await;
            }
            Held::Session(conn, key) => {
                advisory::release_session(&conn, &key).await;
                let _ = conn.close().await;
            }
        }
    }
}

/// The strategy a run uses: the one asked for, if this server keeps it, else the
/// server's default. The server is asked what it is (`version()`): CockroachDB and
/// YugabyteDB answer the advisory-lock functions with stubs or errors, and a lock that
/// says "granted" without locking anything is worse than none.
async fn choose(db: &Db, wanted: Option<LockStrategy>) -> Result<LockStrategy> {
    if db.backend() == DbBackend::Sqlite {
        return Ok(wanted.unwrap_or(LockStrategy::Session));
    }
    let server = crate::engine::server::detect(db.connection())
        .await
        .map_err(|e| db.error(e))?;
    let Some(strategy) = wanted else {
        return Ok(server.default_lock_strategy());
    };
    if server.lock(strategy).is_real() {
        return Ok(strategy);
    }
    let why = server
        .lock_caveat(strategy)
        .unwrap_or("it has no such lock");
    let instead = server.default_lock_strategy();
    Err(Error::Config(format!(
        "the `{strategy}` lock strategy does not hold on {server}: {why}; use `--lock-strategy \
         {instead}` (or `lock = \"{instead}\"` in the configuration)"
    )))
}

/// The session lock on `conn`, then a check that a pooler does not stand between
/// ([`advisory::pooled`]); returns its key.
async fn session(
    db: &Db,
    conn: &DatabaseConnection,
    name: &str,
    database: &str,
    timeout: Option<Duration>,
    waiting: &mut (dyn FnMut() + Send),
) -> Result<Key> {
    let backend = db.backend();
    let fail = |e| Error::Database(db.url().scrub(&describe(&e)));
    let key = Key::of(backend, name);
    if backend == DbBackend::Postgres {
        // Shown to whoever waits for this lock, and in pg_stat_activity.
        let _ = conn
            .execute_unprepared(&format!(
                "SET application_name = 'cargo-migrate {}'",
                std::process::id()
            ))
            .await;
    }
    if !advisory::try_session(conn, &key).await.map_err(fail)? {
        waiting();
        if !advisory::wait_session(conn, &key, timeout)
            .await
            .map_err(fail)?
        {
            let by = advisory::holder(conn, &key)
                .await
                .map(|h| format!("held by {h}"))
                .unwrap_or_else(|| "held by another cargo-migrate process".to_string());
            return Err(gave_up(name, database, timeout, &by));
        }
    }
    if advisory::pooled(db.connection(), &key).await {
        return Err(Error::Database(format!(
            "the migration lock `{name}` was granted to a second connection while this run \
             held it: a connection pooler in transaction mode (PgBouncer, a pooled endpoint) \
             stands between, and a session lock does not hold there; use `--lock-strategy \
             transaction` or `--lock-strategy table` (or connect directly)"
        )));
    }
    Ok(key)
}

fn gave_up(name: &str, database: &str, timeout: Option<Duration>, by: &str) -> Error {
    let waited = timeout.map(|t| t.as_secs_f64()).unwrap_or_default();
    Error::Database(format!(
        "gave up after {waited}s waiting for the migration lock `{name}` on database \
         `{database}`, {by}; wait for it to finish, or raise --lock-timeout"
    ))
}
