//! The `table` lock strategy: the migration lock as a row of `<tracking table>_lock`,
//! for servers and poolers where a session lock does not hold (PgBouncer in
//! transaction pooling mode, CockroachDB, YugabyteDB).
//!
//! A holder inserts the row named for the lock, with a random owner token and an
//! expiry (`expires_at`, the server's clock in Unix milliseconds), and a heartbeat
//! task renews the expiry every `heartbeat` while the lock is held. A holder that dies
//! stops renewing; once its row has expired, the next acquirer deletes it and takes
//! the lock. Release deletes the row (only if it is still this holder's).
//!
//! Every statement stands alone (autocommitted, its own transaction) and is sent with
//! the simple query protocol, its values written into the text: no session state,
//! and no prepared statement, which a transaction-mode pooler would leave on one
//! server connection while the next statement runs on another (sqlx names and caches
//! its prepared statements per client connection; PgBouncer 1.18 does not follow
//! them). Time is always the server's (`clock_timestamp()`, `UTC_TIMESTAMP(6)`,
//! `julianday('now')`), so the clocks of the machines that take turns do not matter,
//! only the one database's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sea_orm_migration::sea_orm::sea_query::{
    Alias, ColumnDef, Expr, ExprTrait, MysqlQueryBuilder, OnConflict, PostgresQueryBuilder, Query,
    QueryStatementWriter, SqliteQueryBuilder, Table, TableRef,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlErr};
use tokio::task::JoinHandle;

use crate::engine::connect::describe;
use crate::error::{Error, Result};

/// How long a lock row lives without renewal, how often its holder renews it, and how
/// long an acquirer waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLockOptions {
    /// How long the row outlives its last renewal: a holder that dies keeps the others
    /// waiting this long at most. Default 60 s.
    pub ttl: Duration,
    /// How often the holder renews the row; shorter than `ttl`. Default `ttl / 3`.
    pub heartbeat: Duration,
    /// How long to wait for the lock; forever if `None` (the default).
    pub timeout: Option<Duration>,
    /// The schema of the lock table (PostgreSQL); the connection's search path if
    /// `None` (the default). Behind a transaction-mode pooler give it: a `SET
    /// search_path` stays with one pooled server session, and each statement may run on
    /// another.
    pub schema: Option<String>,
}

impl Default for TableLockOptions {
    fn default() -> Self {
        TableLockOptions::with_ttl(Duration::from_secs(60))
    }
}

impl TableLockOptions {
    /// A time-to-live of `ttl`, renewed every `ttl / 3`, waiting forever.
    pub fn with_ttl(ttl: Duration) -> Self {
        TableLockOptions {
            ttl,
            heartbeat: ttl / 3,
            timeout: None,
            schema: None,
        }
    }

    /// The same options, waiting at most `timeout` (forever if `None`).
    pub fn timeout(self, timeout: Option<Duration>) -> Self {
        TableLockOptions { timeout, ..self }
    }

    /// The same options, the lock table in `schema` (see [`TableLockOptions::schema`]).
    pub fn schema(self, schema: Option<String>) -> Self {
        TableLockOptions { schema, ..self }
    }
}

/// The migration lock held as a row of the lock table, renewed by a heartbeat task
/// until [`TableLock::release`]. Dropped without release, it stops renewing and the
/// row expires after the time-to-live.
pub struct TableLock {
    conn: DatabaseConnection,
    /// This holder's token (the row's `owner`).
    owner: String,
    /// The statement that deletes the row if it is still this holder's.
    release: String,
    heartbeat: Option<JoinHandle<()>>,
    health: Arc<Health>,
}

/// What the heartbeat knows about the lock, shared with the holder.
struct Health {
    /// Since when [`Health::confirmed_ms`] counts.
    start: Instant,
    /// When (ms after `start`) the last statement that found the row still ours was
    /// sent: the row lives at least `ttl` past that.
    confirmed_ms: AtomicU64,
    /// A renewal found the row gone or someone else's.
    gone: AtomicBool,
    ttl: Duration,
}

impl Health {
    fn confirm(&self, sent: Instant) {
        let ms = sent.saturating_duration_since(self.start).as_millis() as u64;
        self.confirmed_ms.fetch_max(ms, Ordering::AcqRel);
    }

    fn lost(&self) -> bool {
        let confirmed =
            self.start + Duration::from_millis(self.confirmed_ms.load(Ordering::Acquire));
        self.gone.load(Ordering::Acquire) || confirmed.elapsed() >= self.ttl
    }
}

/// How long a waiting acquirer sleeps between tries: this, plus or minus up to a fifth.
const POLL: Duration = Duration::from_millis(250);

/// The longest lock name the `name` column holds; a longer one is replaced by its hash.
const NAME_MAX: usize = 190;

impl TableLock {
    /// Takes the lock `name` in the table `<table>_lock` (created if it does not exist)
    /// on `conn`'s database, waiting at most `opts.timeout`; `waiting` is called once if
    /// another holder has it. `table` is the tracking table's name; `name` names the
    /// lock, e.g. `cargo-migrate:<database>.<schema>:<table>`.
    ///
    /// The heartbeat renews the row on a clone of `conn`: give the lock a connection
    /// (pool) of its own, so a renewal never waits behind a long migration step.
    pub async fn acquire(
        conn: &DatabaseConnection,
        table: &str,
        name: &str,
        opts: TableLockOptions,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<TableLock> {
        if opts.heartbeat.is_zero() || opts.heartbeat >= opts.ttl {
            return Err(Error::Usage(format!(
                "the lock's heartbeat ({}s) must be shorter than its time-to-live ({}s)",
                opts.heartbeat.as_secs_f64(),
                opts.ttl.as_secs_f64()
            )));
        }
        let backend = conn.get_database_backend();
        let sql = Sql::new(backend, opts.schema.as_deref(), table, name, opts.ttl);
        let fail = |what: &str, e: DbErr| {
            Error::Database(format!(
                "cannot {what} of the migration lock `{}` (table `{}`): {}",
                sql.name,
                sql.table,
                describe(&e)
            ))
        };
        create_table(conn, &sql)
            .await
            .map_err(|e| fail("create the table", e))?;
        let start = Instant::now();
        let deadline = opts.timeout.map(|t| start + t);
        let mut waited = false;
        let mut jitter = crate::text::Fnv1a::default();
        jitter.write(sql.owner.as_bytes());
        loop {
            conn.execute_unprepared(&sql.delete_expired)
                .await
                .map_err(|e| fail("delete an expired row", e))?;
            let sent = Instant::now();
            if try_insert(conn, &sql)
                .await
                .map_err(|e| fail("insert the row", e))?
            {
                let health = Arc::new(Health {
                    start: sent,
                    confirmed_ms: AtomicU64::new(0),
                    gone: AtomicBool::new(false),
                    ttl: opts.ttl,
                });
                let heartbeat = tokio::spawn(renew(
                    conn.clone(),
                    sql.renew,
                    opts.heartbeat,
                    health.clone(),
                ));
                return Ok(TableLock {
                    conn: conn.clone(),
                    owner: sql.owner,
                    release: sql.release,
                    heartbeat: Some(heartbeat),
                    health,
                });
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                let by = holder(conn, &sql)
                    .await
                    .unwrap_or_else(|| "held by another cargo-migrate process".to_string());
                return Err(Error::Database(format!(
                    "gave up after {}s waiting for the migration lock `{}` (a row of table \
                     `{}`), {by}; wait for it to finish, or raise --lock-timeout",
                    opts.timeout.unwrap_or_default().as_secs_f64(),
                    sql.name,
                    sql.table,
                )));
            }
            if !waited {
                waited = true;
                waiting();
            }
            jitter.write(&now.duration_since(start).as_nanos().to_le_bytes());
            let spread = POLL.as_millis() as u64 * 2 / 5;
            let pause = POLL - POLL / 5 + Duration::from_millis(jitter.finish() % (spread + 1));
            let pause = match deadline {
                Some(d) => pause.min(d.saturating_duration_since(now)),
                None => pause,
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// Whether the lock may no longer be this holder's: a renewal found the row gone
    /// (expired and taken over, or deleted), or no renewal has confirmed it within the
    /// time-to-live (the database was unreachable or the heartbeat could not run), so
    /// another process may have taken it.
    pub fn lost(&self) -> bool {
        self.health.lost()
    }

    /// The random token that identifies this holder in the lock row's `owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Stops the heartbeat and deletes the lock row if it is still this holder's. A
    /// failure is ignored: the row then expires after its time-to-live.
    pub async fn release(mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
            let _ = heartbeat.await;
        }
        let _ = self.conn.execute_unprepared(&self.release).await;
    }
}

impl Drop for TableLock {
    /// A holder dropped without [`TableLock::release`] stops renewing its row, which
    /// expires after the time-to-live.
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }
}

/// The heartbeat: renews the row every `every` until it finds it no longer ours.
async fn renew(conn: DatabaseConnection, sql: String, every: Duration, health: Arc<Health>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sent = Instant::now();
        match conn.execute_unprepared(&sql).await {
            Ok(done) if done.rows_affected() == 0 => {
                health.gone.store(true, Ordering::Release);
                return;
            }
            Ok(_) => health.confirm(sent),
            // Tried again at the next tick; `lost()` tells once the row may have expired.
            Err(_) => {}
        }
    }
}

/// Creates the lock table if it does not exist. PostgreSQL's `CREATE TABLE IF NOT
/// EXISTS` can fail on a unique violation in its catalog when several processes run it
/// at once; it is tried again, and then finds the table.
async fn create_table(conn: &DatabaseConnection, sql: &Sql) -> std::result::Result<(), DbErr> {
    let mut tries = 0;
    loop {
        match conn.execute_unprepared(&sql.create).await {
            Ok(_) => return Ok(()),
            Err(_) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Inserts the lock row: `true` if this holder took the lock, `false` if the row
/// exists (another holder has it).
async fn try_insert(conn: &DatabaseConnection, sql: &Sql) -> std::result::Result<bool, DbErr> {
    match conn.execute_unprepared(&sql.insert).await {
        Ok(done) => Ok(done.rows_affected() == 1),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Who holds the lock, as its row says: `held by owner … on host …, process …, since
/// …`, and when the row expires unless renewed.
async fn holder(conn: &DatabaseConnection, sql: &Sql) -> Option<String> {
    let row = crate::engine::simple::row(conn, &sql.holder).await.ok()??;
    let text = |c: &str| row.try_get::<Option<String>>("", c).ok().flatten();
    let number = |c: &str| row.try_get::<Option<i64>>("", c).ok().flatten();
    let owner = text("owner")?;
    let host = text("host").unwrap_or_else(|| "?".to_string());
    let pid = number("pid").map_or_else(|| "?".to_string(), |p| p.to_string());
    let acquired = number("acquired_at").map_or_else(
        || "an unknown time".to_string(),
        |ms| crate::text::timestamp(ms.div_euclid(1000)),
    );
    let expiry = match (number("expires_at"), number("now_ms")) {
        (Some(expires), Some(now)) if expires >= now => format!(
            "; it expires in {}s unless renewed",
            (expires - now) as f64 / 1000.0
        ),
        (Some(_), Some(_)) => "; it has expired and is taken over next".to_string(),
        _ => String::new(),
    };
    Some(format!(
        "held by owner {owner} on host {host}, process {pid}, since {acquired}{expiry}"
    ))
}

/// The lock's statements, with their values written in (see the module docs).
struct Sql {
    /// `<tracking table>_lock`.
    table: String,
    /// The lock's name as stored (a long one hashed).
    name: String,
    /// This holder's token.
    owner: String,
    create: String,
    delete_expired: String,
    insert: String,
    renew: String,
    release: String,
    holder: String,
}

impl Sql {
    fn new(
        backend: DbBackend,
        schema: Option<&str>,
        table: &str,
        name: &str,
        ttl: Duration,
    ) -> Sql {
        let table = format!("{table}_lock");
        let table_ref: TableRef = match schema {
            Some(schema) => (Alias::new(schema), Alias::new(&table)).into(),
            None => Alias::new(&table).into(),
        };
        let name = if name.chars().count() <= NAME_MAX {
            name.to_string()
        } else {
            format!("cargo-migrate:{:016x}", crate::text::fnv1a(name.as_bytes()))
        };
        let owner = owner_token();
        let now = now_ms_sql(backend);
        let expires = || Expr::cust(format!("{now} + {}", ttl.as_millis()));
        let t = || table_ref.clone();
        let col = |c: &'static str| Expr::col(Alias::new(c));
        let ours = || {
            col("name")
                .eq(name.as_str())
                .and(col("owner").eq(owner.as_str()))
        };

        let create = {
            let mut t = Table::create();
            t.table(table_ref.clone())
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string_len(NAME_MAX as u32)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("owner"))
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("host")).string_len(255).null())
                .col(ColumnDef::new(Alias::new("pid")).big_integer().null())
                .col(
                    ColumnDef::new(Alias::new("acquired_at"))
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("expires_at"))
                        .big_integer()
                        .not_null(),
                );
            backend.build(&t).to_string()
        };
        let delete_expired = Query::delete()
            .from_table(t())
            .and_where(col("name").eq(name.as_str()))
            .and_where(col("expires_at").lt(Expr::cust(now.clone())))
            .to_owned();
        let mut insert = Query::insert();
        insert
            .into_table(t())
            .columns(["name", "owner", "host", "pid", "acquired_at", "expires_at"].map(Alias::new))
            .values_panic([
                name.as_str().into(),
                owner.as_str().into(),
                host_name().into(),
                i64::from(std::process::id()).into(),
                Expr::cust(now.clone()),
                expires(),
            ]);
        if backend != DbBackend::MySql {
            // MySQL says so with an error (a duplicate key), which `try_insert` reads.
            insert.on_conflict(
                OnConflict::column(Alias::new("name"))
                    .do_nothing()
                    .to_owned(),
            );
        }
        let renew = Query::update()
            .table(t())
            .value(Alias::new("expires_at"), expires())
            .and_where(ours())
            .to_owned();
        let release = Query::delete().from_table(t()).and_where(ours()).to_owned();
        let holder = Query::select()
            .columns(["owner", "host", "pid", "acquired_at", "expires_at"].map(Alias::new))
            .expr_as(Expr::cust(now.clone()), Alias::new("now_ms"))
            .from(t())
            .and_where(col("name").eq(name.as_str()))
            .to_owned();
        Sql {
            create,
            delete_expired: inline(backend, &delete_expired),
            insert: inline(backend, &insert),
            renew: inline(backend, &renew),
            release: inline(backend, &release),
            holder: inline(backend, &holder),
            table,
            name,
            owner,
        }
    }
}

/// `stmt` with its values written into the SQL text (quoted and escaped by SeaQuery).
fn inline<S: QueryStatementWriter>(backend: DbBackend, stmt: &S) -> String {
    match backend {
        DbBackend::Postgres => stmt.to_string(PostgresQueryBuilder),
        DbBackend::MySql => stmt.to_string(MysqlQueryBuilder),
        _ => stmt.to_string(SqliteQueryBuilder),
    }
}

/// The server's current time in Unix milliseconds, as an SQL expression. MySQL's
/// `UNIX_TIMESTAMP(NOW(3))` would go through the session's time zone (ambiguous in
/// the hour a daylight-saving clock goes back); `UTC_TIMESTAMP` does not.
fn now_ms_sql(backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint",
        DbBackend::MySql => {
            "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)"
        }
        _ => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
    .to_string()
}

/// A token no other holder has: this process, the time and a counter.
fn owner_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// This machine's name, for whoever waits (at most 255 characters).
fn host_name() -> String {
    let from_env = ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|h| !h.trim().is_empty());
    let name = from_env
        .or_else(|| {
            ["/proc/sys/kernel/hostname", "/etc/hostname"]
                .iter()
                .filter_map(|f| std::fs::read_to_string(f).ok())
                .find(|h| !h.trim().is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string());
    name.trim().chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_inlined_and_quoted() {
        let sql = Sql::new(
            DbBackend::Postgres,
            None,
            "seaql_migrations",
            "cargo-migrate:app's",
            Duration::from_secs(60),
        );
        // SeaQuery escapes a quote either way on PostgreSQL.
        let quoted = ["'cargo-migrate:app''s'", r"E'cargo-migrate:app\'s'"];
        assert!(
            quoted.iter().any(|q| sql.insert.contains(q)),
            "{}",
            sql.insert
        );
        assert!(sql.insert.contains("ON CONFLICT"), "{}", sql.insert);
        assert!(sql.renew.contains("+ 60000"), "{}", sql.renew);
        assert!(!sql.renew.contains('$'), "{}", sql.renew);
        let mysql = Sql::new(DbBackend::MySql, None, "t", "n", Duration::from_secs(1));
        assert!(!mysql.insert.contains("ON DUPLICATE"), "{}", mysql.insert);
        assert!(mysql.create.contains("`t_lock`"), "{}", mysql.create);
        let app = Sql::new(
            DbBackend::Postgres,
            Some("app"),
            "t",
            "n",
            Duration::from_secs(1),
        );
        for stmt in [
            &app.create,
            &app.insert,
            &app.renew,
            &app.release,
            &app.holder,
        ] {
            assert!(stmt.contains(r#""app"."t_lock""#), "{stmt}");
        }
    }

    #[test]
    fn a_long_name_is_hashed_and_owners_differ() {
        let long = "x".repeat(300);
        let a = Sql::new(DbBackend::Sqlite, None, "t", &long, Duration::from_secs(1));
        let b = Sql::new(DbBackend::Sqlite, None, "t", &long, Duration::from_secs(1));
        assert_eq!(a.name, b.name);
        assert!(a.name.len() <= NAME_MAX);
        assert_ne!(a.owner, b.owner);
    }
}
