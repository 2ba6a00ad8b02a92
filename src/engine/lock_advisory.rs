//! The advisory locks: `session` (PostgreSQL `pg_advisory_lock`, MySQL/MariaDB/TiDB
//! `GET_LOCK`, held by a connection of its own until it is released or the process
//! dies) and PostgreSQL's `transaction` (`pg_advisory_xact_lock` in a transaction kept
//! open on that connection). PostgreSQL's statements go with the simple query protocol,
//! the 64-bit key written into the text (`engine::simple`): nothing depends on a
//! prepared statement or on session state a pooler would hand to another client.

use std::time::{Duration, Instant};

use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait, Value,
};

use crate::engine::connect::describe;
use crate::engine::simple;

/// A lock's key: PostgreSQL takes 64 bits (FNV-1a of the name), MySQL a name of at most
/// 64 characters.
#[derive(Debug, Clone)]
pub enum Key {
    /// PostgreSQL.
    Pg(i64),
    /// MySQL/MariaDB/TiDB.
    My(String),
}

impl Key {
    /// The key of the lock `name` on `backend`.
    pub fn of(backend: DbBackend, name: &str) -> Key {
        let hash = crate::text::fnv1a(name.as_bytes());
        match backend {
            DbBackend::Postgres => Key::Pg(hash as i64),
            _ if name.len() <= 64 => Key::My(name.to_string()),
            _ => Key::My(format!("cargo-migrate:{hash:016x}")),
        }
    }
}

/// Tries the session lock once: `true` if this session holds it now.
pub async fn try_session(conn: &DatabaseConnection, key: &Key) -> std::result::Result<bool, DbErr> {
    match key {
        Key::Pg(k) => pg_bool(conn, &format!("SELECT pg_try_advisory_lock({k}) AS v")).await,
        Key::My(name) => get_lock(conn, name, 0).await,
    }
}

/// Waits for the session lock at most `timeout` (forever if `None`); `false` when the
/// wait timed out.
pub async fn wait_session(
    conn: &DatabaseConnection,
    key: &Key,
    timeout: Option<Duration>,
) -> std::result::Result<bool, DbErr> {
    match key {
        Key::Pg(k) => {
            if let Some(t) = timeout {
                let set = format!("SET lock_timeout = {}", t.as_millis().max(1));
                conn.execute_unprepared(&set).await?;
            }
            let waited = conn
                .execute_unprepared(&format!("SELECT pg_advisory_lock({k})"))
                .await;
            if timeout.is_some() {
                conn.execute_unprepared("SET lock_timeout = 0").await?;
            }
            match waited {
                Ok(_) => Ok(true),
                Err(e) if describe(&e).contains("lock timeout") => Ok(false),
                Err(e) => Err(e),
            }
        }
        Key::My(name) => mysql_wait(conn, name, timeout).await,
    }
}

/// Releases the session lock (best effort: the session's end releases it anyway).
/// `false` when this session did not hold it (a pooler gave the statement to another).
pub async fn release_session(conn: &DatabaseConnection, key: &Key) -> bool {
    match key {
        Key::Pg(k) => pg_bool(conn, &format!("SELECT pg_advisory_unlock({k}) AS v"))
            .await
            .unwrap_or(false),
        Key::My(name) => scalar::<i64>(
            conn,
            DbBackend::MySql,
            "SELECT RELEASE_LOCK(?) AS v",
            vec![name.clone().into()],
        )
        .await
        .is_ok_and(|v| v == Some(1)),
    }
}

/// PostgreSQL, just after this run's lock session took the advisory lock: whether
/// another connection of this run (`other`) is granted the same lock too. Two client
/// connections share a server session only through a pooler in transaction mode
/// (PgBouncer lends the server connection that just ran the lock session's statement,
/// last in first out), where the lock would stay behind on a pooled server connection
/// and hang every later run. Without a pooler this costs one round trip that answers
/// `false`.
pub async fn pooled(other: &DatabaseConnection, key: &Key) -> bool {
    let Key::Pg(k) = key else {
        return false;
    };
    // One statement, so that the unlock runs on the server session that granted it.
    pg_bool(
        other,
        &format!(
            "SELECT CASE WHEN pg_try_advisory_lock({k}) \
             THEN (SELECT true FROM (SELECT pg_advisory_unlock_all()) u) ELSE false END AS v"
        ),
    )
    .await
    .unwrap_or(false)
}

/// PostgreSQL's `transaction` strategy: a transaction on `conn` that takes
/// `pg_advisory_xact_lock` and stays open for the whole run. A pooler in transaction
/// mode keeps one server connection for an open transaction, so the lock holds there,
/// and it ends with the transaction when the client goes away. A run that waits tries
/// again every [`POLL`] in a new short transaction rather than blocking in one: a
/// blocked waiter would keep a pooled server connection each, and eight waiters on a
/// pool of four would leave none for the holder's steps. `Ok(None)`: `timeout` passed.
pub async fn transaction_lock(
    conn: &DatabaseConnection,
    key: &Key,
    timeout: Option<Duration>,
    waiting: &mut (dyn FnMut() + Send),
) -> std::result::Result<Option<DatabaseTransaction>, DbErr> {
    let Key::Pg(k) = key else {
        return Err(DbErr::Custom(
            "the transaction strategy needs PostgreSQL".to_string(),
        ));
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut waited = false;
    loop {
        let txn = conn.begin().await?;
        let tried = txn
            .execute_unprepared(&format!(
                "DO $$ BEGIN IF NOT pg_try_advisory_xact_lock({k}) THEN \
                 RAISE EXCEPTION 'cargo-migrate: the migration lock is held'; END IF; END $$"
            ))
            .await;
        match tried {
            Ok(_) => return Ok(Some(txn)),
            Err(e) if describe(&e).contains("the migration lock is held") => {
                let _ = txn.rollback().await;
            }
            Err(e) => return Err(e),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        if !waited {
            waited = true;
            waiting();
        }
        tokio::time::sleep(jittered(POLL)).await;
    }
}

/// How often a run waiting for the `transaction` lock tries again (± a fifth).
const POLL: Duration = Duration::from_millis(200);

/// `d`, plus or minus up to a fifth, so that waiters do not try in step.
fn jittered(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or_default();
    let fifth = d / 5;
    let spread = fifth.as_nanos() as u64 * 2;
    let offset = if spread == 0 {
        0
    } else {
        u64::from(nanos) % spread
    };
    d - fifth + Duration::from_nanos(offset)
}

/// Who holds the lock `key`, as far as the server tells: its session, user, address
/// and since when.
pub async fn holder(conn: &DatabaseConnection, key: &Key) -> Option<String> {
    match key {
        Key::Pg(k) => simple::value::<String>(
            conn,
            &format!(
                "SELECT 'PostgreSQL session ' || a.pid || ' (' || \
                 coalesce(nullif(a.application_name, ''), 'no name') || ', user ' || \
                 coalesce(a.usename::text, '?') || coalesce(' from ' || host(a.client_addr), '') \
                 || ', connected ' || to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') || ')' \
                 AS v FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted \
                 AND l.classid::bigint = (({k}::bigint >> 32) & 4294967295) \
                 AND l.objid::bigint = ({k}::bigint & 4294967295) LIMIT 1"
            ),
        )
        .await
        .ok()
        .flatten(),
        Key::My(name) => scalar::<String>(
            conn,
            DbBackend::MySql,
            "SELECT CONCAT('MySQL connection ', p.ID, ' (', p.USER, '@', p.HOST, \
             ', connected for ', p.TIME, ' s)') AS v \
             FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)",
            vec![name.clone().into()],
        )
        .await
        .ok()
        .flatten(),
    }
}

/// The database the lock is for, as `conn` sees it; on PostgreSQL with the schema that
/// holds the tracking table (`app.public`): two schemas of one database are two sets
/// of migrations.
pub async fn database_name(conn: &DatabaseConnection) -> std::result::Result<String, DbErr> {
    let sql = match conn.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT current_database() || coalesce('.' || current_schema(), '') AS v"
        }
        _ => "SELECT DATABASE() AS v",
    };
    Ok(simple::value::<String>(conn, sql)
        .await?
        .unwrap_or_default())
}

/// MySQL/MariaDB: waits for the named lock at most `timeout` (rounded up to whole
/// seconds; forever if `None`); `false` when the wait timed out. Each `GET_LOCK` waits
/// at most an hour and the wait goes on in turns: TiDB clamps a longer wait to 3,600 s,
/// and MariaDB answers NULL at once to a negative one.
async fn mysql_wait(
    conn: &DatabaseConnection,
    name: &str,
    timeout: Option<Duration>,
) -> std::result::Result<bool, DbErr> {
    const TURN: u64 = 3600;
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let secs = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (left.as_secs_f64().ceil() as u64).min(TURN)
            }
            None => TURN,
        };
        let got = get_lock(conn, name, secs as i64).await?;
        if got || secs == 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(got);
        }
    }
}

/// `GET_LOCK(name, secs)`: 1 granted, 0 timed out, NULL on an error.
async fn get_lock(
    conn: &DatabaseConnection,
    name: &str,
    secs: i64,
) -> std::result::Result<bool, DbErr> {
    Ok(scalar::<i64>(
        conn,
        DbBackend::MySql,
        "SELECT GET_LOCK(?, ?) AS v",
        vec![name.to_string().into(), secs.into()],
    )
    .await?
        == Some(1))
}

/// A PostgreSQL boolean, with the simple protocol.
async fn pg_bool(conn: &DatabaseConnection, sql: &str) -> std::result::Result<bool, DbErr> {
    Ok(simple::value::<bool>(conn, sql).await? == Some(true))
}

async fn scalar<T: sea_orm_migration::sea_orm::TryGetable>(
    conn: &impl ConnectionTrait,
    backend: DbBackend,
    sql: &str,
    values: Vec<Value>,
) -> std::result::Result<Option<T>, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    match row {
        Some(row) => row.try_get::<Option<T>>("", "v"),
        None => Ok(None),
    }
}
