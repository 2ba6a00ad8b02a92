//! The migration lock: one writer per database at a time, released when the process
//! dies because it lives in a database session.
//!
//! - PostgreSQL: a session advisory lock on a dedicated connection; the key names the
//!   database and the schema of the tracking table.
//! - MySQL/MariaDB: `GET_LOCK` on a dedicated connection; the name includes the
//!   database, since lock names are server-wide.
//! - SQLite: an exclusive lock on the file `<database>-migrate-lock` beside it, which
//!   the operating system releases when the process dies. SQLite's own write lock
//!   cannot serve: it ends with each step's commit, and a step that opts out of
//!   transactions (`VACUUM`, `PRAGMA foreign_keys`) must run without one. Held across
//!   commits (`locking_mode = EXCLUSIVE`) it would also shut out every reader, and in
//!   WAL mode wait for every other open connection. Each step still takes SQLite's
//!   write lock (`BEGIN IMMEDIATE`) for its transaction.

use std::fs::{File, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value,
};

use crate::engine::connect::{Db, describe};
use crate::error::{Error, Result};

/// The migration lock, held until [`Lock::release`] or until the process ends.
pub struct Lock {
    held: Held,
}

enum Held {
    /// An in-memory SQLite database: no other process can reach it.
    Nothing,
    /// SQLite: the open lock file (closing it releases the lock).
    File(File),
    /// PostgreSQL and MySQL: the session holding the lock, and the lock's name.
    Session(DatabaseConnection, String),
}

/// How often a SQLite run waiting for the lock tries again.
const POLL: Duration = Duration::from_millis(50);

impl Lock {
    /// Takes the lock for `table` on `db`'s database, waiting at most `timeout`
    /// (forever if `None`). `waiting` is called once if another process holds it.
    pub async fn acquire(
        db: &Db,
        table: &str,
        timeout: Option<Duration>,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Lock> {
        let backend = db.backend();
        if backend == DbBackend::Sqlite {
            let held = match db.url().sqlite_file() {
                // a dry run on a file that does not exist runs on an empty stand-in
                Some(file) if !db.is_absent() => {
                    Held::File(lock_file(&file, timeout, waiting).await?)
                }
                _ => Held::Nothing,
            };
            return Ok(Lock { held });
        }
        let fail = |e| Error::Database(db.url().scrub(&describe(&e)));
        let (conn, database) = session(db).await.map_err(fail)?;
        let name = format!("cargo-migrate:{database}:{table}");
        let try_sql = match backend {
            DbBackend::Postgres => "SELECT pg_try_advisory_lock($1) AS v",
            _ => "SELECT GET_LOCK(?, 0) AS v",
        };
        let key = lock_key(backend, &name);
        if !granted(&conn, backend, try_sql, vec![key.clone()])
            .await
            .map_err(fail)?
        {
            waiting();
            let acquired = match backend {
                DbBackend::Postgres => pg_wait(&conn, &key, timeout).await,
                _ => mysql_wait(&conn, &key, timeout).await,
            }
            .map_err(fail)?;
            if !acquired {
                let waited = timeout.map(|t| t.as_secs_f64()).unwrap_or_default();
                let by = holder(&conn, backend, key.clone())
                    .await
                    .map(|h| format!("held by {h}"))
                    .unwrap_or_else(|| "held by another cargo-migrate process".to_string());
                let _ = conn.close().await;
                return Err(Error::Database(format!(
                    "gave up after {waited}s waiting for the migration lock `{name}` on database \
                     `{database}`, {by}; wait for it to finish, or raise --lock-timeout"
                )));
            }
        }
        if backend == DbBackend::Postgres && timeout.is_some() {
            conn.execute_unprepared("SET lock_timeout = 0")
                .await
                .map_err(fail)?;
        }
        Ok(Lock {
            held: Held::Session(conn, name),
        })
    }

    /// Releases the lock now (dropping the process also releases it).
    pub async fn release(self) {
        match self.held {
            Held::Nothing => {}
            Held::File(file) => {
                let _ = file.unlock();
            }
            Held::Session(conn, name) => {
                let backend = conn.get_database_backend();
                let sql = match backend {
                    DbBackend::Postgres => "SELECT pg_advisory_unlock($1)",
                    _ => "SELECT RELEASE_LOCK(?)",
                };
                let _ = conn
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        sql,
                        vec![lock_key(backend, &name)],
                    ))
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}

/// The path of the file whose lock is the migration lock of the SQLite database `db`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-migrate-lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock of `db`'s lock file, waiting at most `timeout`, and writes
/// who holds it into the file for whoever waits next.
async fn lock_file(
    db: &Path,
    timeout: Option<Duration>,
    waiting: &mut (dyn FnMut() + Send),
) -> Result<File> {
    let path = lock_path(db);
    let cannot = |e: std::io::Error| {
        Error::Database(format!(
            "cannot open the migration lock file {}: {e}",
            path.display()
        ))
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot)?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut waited = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::Database(format!(
                "gave up after {}s waiting for the migration lock of {} ({}), held by {}; \
                 wait for it to finish, or raise --lock-timeout",
                timeout.unwrap_or_default().as_secs_f64(),
                db.display(),
                path.display(),
                file_holder(&mut file)
            )));
        }
        if !waited {
            waited = true;
            waiting();
        }
        tokio::time::sleep(POLL).await;
    }
    // Best effort: the lock holds whether or not its holder is written down.
    let _ = file
        .set_len(0)
        .and_then(|()| write!(file, "process {} (cargo-migrate)", std::process::id()));
    Ok(file)
}

/// Who holds a lock file, as its holder wrote it.
fn file_holder(file: &mut File) -> String {
    let mut holder = String::new();
    let _ = file.read_to_string(&mut holder);
    match holder.trim() {
        "" => "another cargo-migrate process".to_string(),
        holder => holder.to_string(),
    }
}

/// Who holds the lock `key`, as far as the server tells: its session, user, address
/// and since when.
async fn holder(
    conn: &DatabaseConnection,
    backend: DbBackend,
    key: sea_orm_migration::sea_orm::Value,
) -> Option<String> {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT 'PostgreSQL session ' || a.pid || ' (' || coalesce(nullif(a.application_name, ''), 'no name') \
             || ', user ' || coalesce(a.usename::text, '?') || coalesce(' from ' || host(a.client_addr), '') \
             || ', connected ' || to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') || ')' AS v \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted \
             AND l.classid::bigint = (($1::bigint >> 32) & 4294967295) \
             AND l.objid::bigint = ($1::bigint & 4294967295) LIMIT 1"
        }
        _ => {
            "SELECT CONCAT('MySQL connection ', p.ID, ' (', p.USER, '@', p.HOST, ', connected for ', p.TIME, ' s)') AS v \
             FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)"
        }
    };
    scalar::<String>(conn, backend, sql, vec![key])
        .await
        .ok()
        .flatten()
}

/// Opens the lock's own session on `db`'s database (PostgreSQL and MySQL), and names the
/// database the lock is for ([`database_name_sql`]), as `db`'s own connection sees it
/// (with its search path).
async fn session(db: &Db) -> std::result::Result<(DatabaseConnection, String), DbErr> {
    let backend = db.backend();
    let database: String = scalar(db.connection(), backend, database_name_sql(backend), vec![])
        .await?
        .unwrap_or_default();
    let conn = db.session().await?;
    if backend == DbBackend::Postgres {
        // Shown to whoever waits for this lock, and in pg_stat_activity.
        let _ = conn
            .execute_unprepared(&format!(
                "SET application_name = 'cargo-migrate {}'",
                std::process::id()
            ))
            .await;
    }
    Ok((conn, database))
}

/// PostgreSQL: waits for the advisory lock `key` on `conn`, at most `timeout` (forever
/// if `None`); `false` when the wait timed out.
async fn pg_wait(
    conn: &DatabaseConnection,
    key: &Value,
    timeout: Option<Duration>,
) -> std::result::Result<bool, DbErr> {
    if let Some(t) = timeout {
        let set = format!("SET lock_timeout = {}", t.as_millis().max(1));
        conn.execute_unprepared(&set).await?;
    }
    let wait = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_lock($1)",
        vec![key.clone()],
    );
    match conn.execute_raw(wait).await {
        Ok(_) => Ok(true),
        Err(e) if describe(&e).contains("lock timeout") => Ok(false),
        Err(e) => Err(e),
    }
}

/// MySQL/MariaDB: waits for the named lock `key` on `conn`, at most `timeout` (rounded
/// up to whole seconds; forever if `None`); `false` when the wait timed out.
async fn mysql_wait(
    conn: &DatabaseConnection,
    key: &Value,
    timeout: Option<Duration>,
) -> std::result::Result<bool, DbErr> {
    // No timeout: a year. MariaDB answers NULL at once to a negative one.
    let secs = timeout.map_or(365 * 24 * 3600, |t| t.as_secs_f64().ceil() as i64);
    granted(
        conn,
        DbBackend::MySql,
        "SELECT GET_LOCK(?, ?) AS v",
        vec![key.clone(), secs.into()],
    )
    .await
}

/// The database the lock is for; on PostgreSQL with the schema that holds the tracking
/// table (`app.public`): two schemas of one database are two sets of migrations.
fn database_name_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "SELECT current_database() || coalesce('.' || current_schema(), '') AS v"
        }
        _ => "SELECT DATABASE() AS v",
    }
}

/// PostgreSQL takes a 64-bit key (FNV-1a of the name); MySQL a name of at most 64
/// characters.
fn lock_key(backend: DbBackend, name: &str) -> sea_orm_migration::sea_orm::Value {
    let hash = crate::text::fnv1a(name.as_bytes());
    match backend {
        DbBackend::Postgres => (hash as i64).into(),
        _ if name.len() <= 64 => name.to_string().into(),
        _ => format!("cargo-migrate:{hash:016x}").into(),
    }
}

async fn scalar<T: sea_orm_migration::sea_orm::TryGetable>(
    conn: &DatabaseConnection,
    backend: DbBackend,
    sql: &str,
    values: Vec<sea_orm_migration::sea_orm::Value>,
) -> std::result::Result<Option<T>, sea_orm_migration::sea_orm::DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    match row {
        Some(row) => row.try_get::<Option<T>>("", "v"),
        None => Ok(None),
    }
}

/// Runs a lock function: `pg_try_advisory_lock` returns a boolean, `GET_LOCK` 1, 0 or NULL.
async fn granted(
    conn: &DatabaseConnection,
    backend: DbBackend,
    sql: &str,
    values: Vec<sea_orm_migration::sea_orm::Value>,
) -> std::result::Result<bool, sea_orm_migration::sea_orm::DbErr> {
    Ok(match backend {
        DbBackend::Postgres => scalar::<bool>(conn, backend, sql, values).await? == Some(true),
        _ => scalar::<i64>(conn, backend, sql, values).await? == Some(1),
    })
}
