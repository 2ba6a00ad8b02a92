//! The migration lock: one writer per database at a time, released when the process
//! dies because it lives in a database session.
//!
//! - PostgreSQL: a session advisory lock on a dedicated connection; the key names the
//!   database and the schema of the tracking table.
//! - MySQL/MariaDB: `GET_LOCK` on a dedicated connection; the name includes the
//!   database, since lock names are server-wide.
//! - SQLite: every step runs in a `BEGIN IMMEDIATE` transaction (SQLite's write lock)
//!   and re-checks its revision inside it, so no separate lock is held.

use std::time::Duration;

use sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use crate::db::{Db, connect_options, describe};
use crate::error::{Error, Result};

pub struct Lock {
    conn: Option<(DatabaseConnection, String)>,
}

impl Lock {
    /// Takes the lock for `table` on `db`'s database, waiting at most `timeout`
    /// (forever if `None`). `waiting` is called once if another process holds it.
    pub async fn acquire(
        db: &Db,
        table: &str,
        timeout: Option<Duration>,
        waiting: &mut dyn FnMut(),
    ) -> Result<Lock> {
        let backend = db.backend();
        if backend == DbBackend::Sqlite {
            return Ok(Lock { conn: None });
        }
        let fail = |e| Error::Database(db.url().scrub(&describe(&e)));
        let conn = Database::connect(connect_options(
            db.url().expose(),
            db.url().search_path_sql(),
            None,
        ))
        .await
        .map_err(fail)?;
        let database: String = scalar(&conn, backend, database_name_sql(backend), vec![])
            .await
            .map_err(fail)?
            .unwrap_or_default();
        let name = format!("cargo-migrate:{database}:{table}");
        if backend == DbBackend::Postgres {
            // Shown to whoever waits for this lock, and in pg_stat_activity.
            let _ = conn
                .execute_unprepared(&format!(
                    "SET application_name = 'cargo-migrate {}'",
                    std::process::id()
                ))
                .await;
        }
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
                DbBackend::Postgres => {
                    if let Some(t) = timeout {
                        let set = format!("SET lock_timeout = {}", t.as_millis().max(1));
                        conn.execute_unprepared(&set).await.map_err(fail)?;
                    }
                    match conn
                        .execute_raw(Statement::from_sql_and_values(
                            backend,
                            "SELECT pg_advisory_lock($1)",
                            vec![key.clone()],
                        ))
                        .await
                    {
                        Ok(_) => true,
                        Err(e) if describe(&e).contains("lock timeout") => false,
                        Err(e) => return Err(fail(e)),
                    }
                }
                _ => {
                    // No timeout: a year. MariaDB answers NULL at once to a negative one.
                    let secs = timeout.map_or(365 * 24 * 3600, |t| t.as_secs_f64().ceil() as i64);
                    granted(
                        &conn,
                        backend,
                        "SELECT GET_LOCK(?, ?) AS v",
                        vec![key.clone(), secs.into()],
                    )
                    .await
                    .map_err(fail)?
                }
            };
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
            conn: Some((conn, name)),
        })
    }

    /// Releases the lock now (dropping the process also releases it).
    pub async fn release(self) {
        if let Some((conn, name)) = self.conn {
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
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
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
