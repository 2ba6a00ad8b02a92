//! The `table` lock strategy (issue 13, item 4): a lock row with an expiry, renewed by
//! a heartbeat. On every backend, and on PostgreSQL behind PgBouncer in transaction
//! pooling mode (`TEST_PGBOUNCER_URL`, started by `.ci/pgbouncer.sh`): eight acquirers
//! take turns exactly, a crashed holder is taken over after its expiry and not before,
//! and a lock taken away is reported. Last, what a *session* advisory lock does behind
//! that pooler: why the table lock exists.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use cargo_migrate::__private::server::LockStrategy;
use cargo_migrate::__private::{Lock, TableLock, TableLockOptions};
use cargo_migrate::sea_orm_migration::sea_orm::sqlx::{
    self, AssertSqlSafe, Connection, Executor, Row,
};
use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};
use cargo_migrate::{Db, DbOptions, DbUrl};
use support::{Backend, TestDb};

/// The tracking table the lock is for: the lock table is `seaql_migrations_lock`.
const TABLE: &str = "seaql_migrations";
const NAME: &str = "cargo-migrate:test.public:seaql_migrations";

// ---------------------------------------------------------------------------------------
// Connections

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The database a URL names: `postgres://u@h:5432/cm_1_2?x=y` → `cm_1_2`.
fn database_of(url: &str) -> &str {
    let path = url.split('?').next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or_default()
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `db`'s database through PgBouncer (`TEST_PGBOUNCER_URL` with the database replaced),
/// or `None` (skipped) when it is not configured or not reachable; under `CI=true` that
/// fails the test instead.
async fn through_pgbouncer(db: &TestDb) -> Option<String> {
    let start = "`bash .ci/pgbouncer.sh` starts PgBouncer on 127.0.0.1:6432";
    let base = match std::env::var("TEST_PGBOUNCER_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if in_ci() {
                panic!("TEST_PGBOUNCER_URL is not set in CI; {start}");
            }
            support::skipped(&format!(
                "PgBouncer test: TEST_PGBOUNCER_URL is not set ({start}; then \
                 TEST_PGBOUNCER_URL=postgres://postgres@127.0.0.1:6432/test)"
            ));
            return None;
        }
    };
    let url = with_database(&base, database_of(&db.url));
    match connect(&url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Some(url)
        }
        Err(e) => {
            if in_ci() {
                panic!("TEST_PGBOUNCER_URL ({base}) is unreachable in CI: {e}; {start}");
            }
            support::skipped(&format!(
                "PgBouncer test: no PgBouncer at {base} ({e}); {start}"
            ));
            None
        }
    }
}

/// A connection of its own (a small pool: the heartbeat renews on it too).
async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(2)
        .acquire_timeout(Duration::from_secs(20))
        .sqlx_logging(false);
    Database::connect(opts).await
}

/// One integer, read with the simple query protocol on PostgreSQL: a prepared
/// statement does not survive transaction pooling (see
/// `prepared_statements_behind_transaction_pooling`).
async fn read_i64(conn: &DatabaseConnection, sql: &str) -> i64 {
    match conn.get_database_backend() {
        DbBackend::Postgres => sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .fetch_one(conn.get_postgres_connection_pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .try_get::<i64, _>(0)
            .expect("an integer"),
        backend => conn
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("a row")
            .try_get_by_index::<i64>(0)
            .expect("an integer"),
    }
}

fn options(ttl: Duration, timeout: Duration) -> TableLockOptions {
    TableLockOptions::with_ttl(ttl).timeout(Some(timeout))
}

// ---------------------------------------------------------------------------------------
// (a) Eight acquirers take turns

/// Eight acquirers, each on its own connection, each adding one to a counter under the
/// lock with a read, a pause and a write: any two holders at once lose an increment.
/// All eight finish (none hangs) and the count is exactly eight.
async fn eight_take_turns(url: &str) {
    let admin = connect(url).await.expect("connect");
    admin
        .execute_unprepared("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
        .await
        .expect("counter table");
    admin
        .execute_unprepared("INSERT INTO counter (id, n) VALUES (1, 0)")
        .await
        .expect("counter row");
    let waited = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let url = url.to_string();
            let waited = waited.clone();
            tokio::spawn(async move {
                let conn = connect(&url).await.expect("connect");
                let opts = options(Duration::from_secs(10), Duration::from_secs(45));
                let lock = TableLock::acquire(&conn, TABLE, NAME, opts, &mut || {
                    waited.fetch_add(1, SeqCst);
                })
                .await
                .expect("the lock");
                let n = read_i64(&conn, "SELECT n FROM counter WHERE id = 1").await;
                tokio::time::sleep(Duration::from_millis(40)).await;
                conn.execute_unprepared(&format!("UPDATE counter SET n = {} WHERE id = 1", n + 1))
                    .await
                    .expect("write the counter");
                assert!(!lock.lost(), "a holder lost the lock");
                lock.release().await;
                let _ = conn.close().await;
            })
        })
        .collect();
    let all = async {
        for task in tasks {
            task.await.expect("an acquirer failed");
        }
    };
    tokio::time::timeout(Duration::from_secs(90), all)
        .await
        .expect("an acquirer hung");
    assert_eq!(
        read_i64(&admin, "SELECT n FROM counter WHERE id = 1").await,
        8,
        "two holders at once lost an increment"
    );
    assert_eq!(
        read_i64(&admin, "SELECT COUNT(*) FROM seaql_migrations_lock").await,
        0,
        "every holder deletes its row"
    );
    assert!(waited.load(SeqCst) >= 1, "nobody waited: no race was run");
    let _ = admin.close().await;
}

on_every_backend!(eight_acquirers_take_turns, |db| {
    eight_take_turns(&db.url).await;
});

#[tokio::test]
async fn eight_acquirers_take_turns_behind_pgbouncer() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(url) = through_pgbouncer(&db).await else {
        return;
    };
    eight_take_turns(&url).await;
}

// ---------------------------------------------------------------------------------------
// (b) A crashed holder is taken over after its expiry, and not before

async fn crash_and_take_over(url: &str) {
    let ttl = Duration::from_secs(2);
    let (a_conn, b_conn) = (
        connect(url).await.expect("a"),
        connect(url).await.expect("b"),
    );
    let a = TableLock::acquire(&a_conn, TABLE, NAME, options(ttl, ttl), &mut || {})
        .await
        .expect("a takes the lock");

    // The heartbeat keeps a live holder's row past its first expiry.
    tokio::time::sleep(ttl + Duration::from_millis(500)).await;
    let mut waited = 0;
    let started = Instant::now();
    let refused = TableLock::acquire(
        &b_conn,
        TABLE,
        NAME,
        options(ttl, Duration::from_millis(600)),
        &mut || waited += 1,
    )
    .await;
    let message = refused
        .err()
        .expect("a live holder keeps the lock")
        .to_string();
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(waited, 1, "`waiting` is called once");
    let pid = std::process::id().to_string();
    for part in [
        "gave up after 0.6s waiting for the migration lock",
        NAME,
        "seaql_migrations_lock",
        &format!("held by owner {}", a.owner()),
        &format!("process {pid}"),
        " UTC",
        "raise --lock-timeout",
    ] {
        assert!(message.contains(part), "`{part}` in: {message}");
    }
    assert!(!a.lost());

    // A crash: the heartbeat stops, the row stays.
    let expiry = "SELECT expires_at FROM seaql_migrations_lock";
    let a_expires = read_i64(&b_conn, expiry).await;
    drop(a);
    let crashed = Instant::now();
    let mut waited = 0;
    let b = TableLock::acquire(
        &b_conn,
        TABLE,
        NAME,
        options(ttl, Duration::from_secs(15)),
        &mut || waited += 1,
    )
    .await
    .expect("b takes over the expired row");
    let took = crashed.elapsed();
    assert_eq!(waited, 1, "b waited for the crashed holder");
    // Not before the row expired (the server's clock: a renewal in flight at the crash
    // only moves the expiry later), and soon after (one heartbeat plus one poll, with
    // room for a loaded machine).
    let acquired = "SELECT acquired_at FROM seaql_migrations_lock";
    let b_acquired = read_i64(&b_conn, acquired).await;
    assert!(
        b_acquired > a_expires,
        "taken over at {b_acquired} ms, before the row expired at {a_expires} ms"
    );
    assert!(
        took <= ttl + Duration::from_secs(3),
        "taken over only {took:?} after the crash"
    );

    // A lock taken away (here: its row deleted) is reported at the next renewal.
    assert!(!b.lost());
    a_conn
        .execute_unprepared("DELETE FROM seaql_migrations_lock")
        .await
        .expect("delete the row");
    tokio::time::sleep(ttl / 3 + Duration::from_millis(500)).await;
    assert!(b.lost(), "the holder learns its row is gone");
    b.release().await;
    let _ = (a_conn.close().await, b_conn.close().await);
}

on_every_backend!(a_crashed_holder_is_taken_over_after_its_expiry, |db| {
    crash_and_take_over(&db.url).await;
});

#[tokio::test]
async fn a_crashed_holder_is_taken_over_after_its_expiry_behind_pgbouncer() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(url) = through_pgbouncer(&db).await else {
        return;
    };
    crash_and_take_over(&url).await;
}

on_every_backend!(a_timeout_of_zero_tries_once, |db| {
    let conn = connect(&db.url).await.expect("connect");
    let ttl = Duration::from_secs(30);
    let held = TableLock::acquire(&conn, TABLE, NAME, options(ttl, ttl), &mut || {})
        .await
        .expect("the lock");
    let started = Instant::now();
    let other =
        TableLock::acquire(&conn, TABLE, NAME, options(ttl, Duration::ZERO), &mut || {}).await;
    assert!(other.is_err() && started.elapsed() < Duration::from_secs(2));
    // Another name is another lock; a quote in a name is only text.
    let beside = TableLock::acquire(
        &conn,
        TABLE,
        "it's \\ another",
        options(ttl, ttl),
        &mut || {},
    )
    .await
    .expect("another lock");
    held.release().await;
    let again = TableLock::acquire(&conn, TABLE, NAME, options(ttl, Duration::ZERO), &mut || {})
        .await
        .expect("released: free at once");
    again.release().await;
    beside.release().await;
    assert_eq!(
        read_i64(&conn, "SELECT COUNT(*) FROM seaql_migrations_lock").await,
        0
    );
});

on_backends!(the_lock_table_can_live_in_a_named_schema [postgres: Postgres], |db| {
    let conn = connect(&db.url).await.expect("connect");
    conn.execute_unprepared("CREATE SCHEMA app").await.expect("schema");
    let ttl = Duration::from_secs(30);
    let opts = options(ttl, ttl).schema(Some("app".to_string()));
    let held = TableLock::acquire(&conn, TABLE, NAME, opts.clone(), &mut || {})
        .await
        .expect("the lock");
    let rows = "SELECT COUNT(*) FROM app.seaql_migrations_lock";
    assert_eq!(read_i64(&conn, rows).await, 1);
    let in_public = "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'seaql_migrations_lock' \
                     AND schemaname = 'public'";
    assert_eq!(read_i64(&conn, in_public).await, 0);
    let other = TableLock::acquire(&conn, TABLE, NAME, opts.timeout(Some(Duration::ZERO)), &mut || {})
        .await;
    assert!(other.is_err(), "the same row in the same schema");
    held.release().await;
    assert_eq!(read_i64(&conn, rows).await, 0);
});

// ---------------------------------------------------------------------------------------
// (c) Session locks and prepared statements behind transaction pooling: observed

/// The advisory locks of the current database (the key alone is server-wide in
/// `pg_locks`; other tests' databases use the same keys).
const ADVISORY: &str = "FROM pg_locks WHERE locktype = 'advisory' \
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// One row of a simple query on a raw sqlx connection.
async fn row(conn: &mut sqlx::PgConnection, sql: &str) -> sqlx::postgres::PgRow {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The server sessions (backend pids) holding advisory lock `key` (however many times
/// each: `pg_locks` shows a session's lock once).
async fn holders(direct: &mut sqlx::PgConnection, key: i64) -> Vec<i32> {
    let sql =
        format!("SELECT pid {ADVISORY} AND granted AND objid = {key} AND classid = 0 ORDER BY pid");
    sqlx::raw_sql(AssertSqlSafe(sql))
        .fetch_all(&mut *direct)
        .await
        .expect("pg_locks")
        .iter()
        .map(|r| r.get::<i32, _>(0))
        .collect()
}

/// `pg_advisory_lock` and `pg_advisory_unlock` sent by one client through PgBouncer in
/// transaction mode run on whichever server connection is free: the lock stays with a
/// server connection, not with the client. Observed and printed (`--nocapture`); what
/// is asserted is what does not depend on which server PgBouncer picks.
#[tokio::test]
async fn session_advisory_lock_behind_transaction_pooling() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db).await else {
        return;
    };
    let key = 4242_i64;
    let mut seen = Vec::new();
    let mut direct = sqlx::PgConnection::connect(&db.url).await.expect("direct");
    let mut a = sqlx::PgConnection::connect(&bouncer).await.expect("a");
    let mut b = sqlx::PgConnection::connect(&bouncer).await.expect("b");

    let r = row(
        &mut a,
        &format!("SELECT pg_backend_pid(), pg_try_advisory_lock({key})"),
    )
    .await;
    let (a_server, got): (i32, bool) = (r.get(0), r.get(1));
    assert!(got);
    assert_eq!(holders(&mut direct, key).await, vec![a_server]);
    seen.push(format!(
        "client A: pg_try_advisory_lock -> true, on server session {a_server}"
    ));

    // B opens a transaction: PgBouncer gives it a free server, by default the one used
    // last (LIFO), which is the one holding A's lock.
    row(&mut b, "BEGIN; SELECT 1").await;
    let r = row(
        &mut b,
        &format!("SELECT pg_backend_pid(), pg_try_advisory_lock({key})"),
    )
    .await;
    let (b_server, b_got): (i32, bool) = (r.get(0), r.get(1));
    seen.push(format!(
        "client B (in a transaction): on server session {b_server} ({}), \
         pg_try_advisory_lock -> {b_got}{}",
        if b_server == a_server {
            "the session holding A's lock"
        } else {
            "another session"
        },
        if b_got {
            ": B holds the lock while A holds it"
        } else {
            ""
        }
    ));
    if b_server == a_server {
        assert!(b_got, "a session lock is re-entrant in its session");
    }

    // A unlocks while B's transaction holds the server A locked on.
    let r = row(
        &mut a,
        &format!("SELECT pg_backend_pid(), pg_advisory_unlock({key})"),
    )
    .await;
    let (u_server, unlocked): (i32, bool) = (r.get(0), r.get(1));
    seen.push(format!(
        "client A: pg_advisory_unlock on server session {u_server} -> {unlocked}{}",
        if unlocked {
            ""
        } else {
            " (WARNING: you don't own a lock of type ExclusiveLock)"
        }
    ));
    if u_server != a_server {
        assert!(!unlocked, "another session does not own the lock");
    }
    row(&mut b, "COMMIT; SELECT 1").await;

    // Both clients leave. Their server sessions stay open in the pool, and the lock
    // with them.
    let _ = a.close().await;
    let _ = b.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left = holders(&mut direct, key).await;
    seen.push(format!(
        "after A unlocked and both clients disconnected: held by server sessions {left:?}"
    ));
    let r = row(&mut direct, &format!("SELECT pg_try_advisory_lock({key})")).await;
    let free: bool = r.get(0);
    seen.push(format!(
        "a direct session: pg_try_advisory_lock -> {free}{}",
        if free {
            ""
        } else {
            " (a waiting `pg_advisory_lock` would hang until PgBouncer closes that server \
             session: server_idle_timeout 600 s, server_lifetime 3600 s by default)"
        }
    ));
    // The lock leaked: it outlived its client and its client's unlock.
    if u_server != a_server || b_got {
        assert!(!left.is_empty() && !free, "{seen:#?}");
    }

    // Any client whose statement lands on the leaked session "holds" the lock.
    let mut c = sqlx::PgConnection::connect(&bouncer).await.expect("c");
    let mut landed = Vec::new();
    for _ in 0..4 {
        let r = row(
            &mut c,
            &format!("SELECT pg_backend_pid(), pg_try_advisory_lock({key})"),
        )
        .await;
        let (server, got): (i32, bool) = (r.get(0), r.get(1));
        landed.push((server, got));
        if got {
            row(&mut c, &format!("SELECT pg_advisory_unlock({key})")).await;
        }
    }
    seen.push(format!(
        "client C, four pg_try_advisory_lock (+ unlock when granted): (server, granted) \
         {landed:?}"
    ));
    let _ = c.close().await;
    for line in &seen {
        eprintln!("OBSERVED {line}");
    }
    let _ = direct
        .execute(AssertSqlSafe(format!(
            "SELECT pg_terminate_backend(pid) {ADVISORY} AND objid = {key} \
             AND pid <> pg_backend_pid()"
        )))
        .await;
}

/// cargo-migrate's migration lock (`engine::lock`) through PgBouncer in transaction
/// mode, with each strategy: two runs, each with its own connections, the second while
/// the first holds the lock. Observed and printed (`--nocapture`); asserted: the
/// second run never holds the lock at the same time, and nothing is left locked.
#[tokio::test]
async fn migration_lock_strategies_behind_transaction_pooling() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db).await else {
        return;
    };
    let url = DbUrl::parse(&bouncer).expect("url");
    let opts = DbOptions {
        write: true,
        ..DbOptions::default()
    };
    let mut direct = sqlx::PgConnection::connect(&db.url).await.expect("direct");
    let mut seen = Vec::new();
    let mut both = Vec::new();
    for strategy in LockStrategy::ALL {
        // One run alone (its main connection and the lock's own are two clients).
        let alone = Db::connect(&url, opts).await.expect("connect");
        let lone = Lock::acquire(&alone, TABLE, Some(strategy), None, &mut || {}).await;
        seen.push(format!(
            "{strategy}: a run alone -> {}",
            match &lone {
                Ok(_) => "Ok".to_string(),
                Err(e) => format!("Err({e})"),
            }
        ));
        if let Ok(lock) = lone {
            lock.release().await;
        }
        alone.close().await;
        let (first, second) = match (Db::connect(&url, opts).await, Db::connect(&url, opts).await) {
            (Ok(f), Ok(s)) => (f, s),
            (f, s) => panic!(
                "Db::connect through PgBouncer: {:?} / {:?}",
                f.err().map(|e| e.to_string()),
                s.err().map(|e| e.to_string())
            ),
        };
        let short = Some(Duration::from_millis(800));
        let outcome = |r: &Result<Lock, cargo_migrate::Error>| match r {
            Ok(_) => "Ok".to_string(),
            Err(e) => format!("Err({e})"),
        };
        let held = Lock::acquire(&first, TABLE, Some(strategy), short, &mut || {}).await;
        let mut waited = false;
        let again =
            Lock::acquire(&second, TABLE, Some(strategy), short, &mut || waited = true).await;
        seen.push(format!(
            "{strategy}: run 1 -> {}; run 2 while run 1 holds it -> {} (waiting called: \
             {waited})",
            outcome(&held),
            outcome(&again)
        ));
        if held.is_ok() && again.is_ok() {
            both.push(strategy);
        }
        for lock in [again, held].into_iter().flatten() {
            lock.release().await;
        }
        first.close().await;
        second.close().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let left = sqlx::raw_sql(AssertSqlSafe(format!(
            "SELECT count(*)::bigint {ADVISORY} AND granted"
        )))
        .fetch_one(&mut direct)
        .await
        .expect("pg_locks")
        .get::<i64, _>(0);
        seen.push(format!(
            "{strategy}: after both released and closed: {left} advisory lock(s) still \
             granted"
        ));
        if left > 0 {
            // Free the leaked lock for the next strategy.
            let _ = direct
                .execute(AssertSqlSafe(format!(
                    "SELECT pg_terminate_backend(pid) {ADVISORY} AND pid <> pg_backend_pid()"
                )))
                .await;
        }
    }
    for line in &seen {
        eprintln!("OBSERVED {line}");
    }
    assert!(
        !both.contains(&LockStrategy::Table),
        "two runs held the table lock at once: {seen:#?}"
    );
}

/// How a client sends its statements in `prepared_statements_behind_transaction_pooling`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sending {
    /// sea-orm's default: bind values, so sqlx prepares (and caches) the statement.
    Prepared,
    /// The same with sqlx's statement cache off (`statement_cache_capacity(0)`).
    PreparedUncached,
    /// Prepared, inside an explicit transaction (one server session throughout).
    PreparedInTransaction,
    /// `execute_unprepared`: the simple query protocol, the value in the text.
    Simple,
}

/// Eight clients at once through `url`, twenty statements each, sent as `sending`:
/// the failures, counted by message.
async fn eight_clients(url: &str, sending: Sending) -> (usize, Vec<(String, usize)>) {
    use cargo_migrate::sea_orm_migration::sea_orm::TransactionTrait;
    let mut tasks = Vec::new();
    for client in 0..8_i64 {
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut opts = ConnectOptions::new(url);
            opts.max_connections(1).sqlx_logging(false);
            if sending == Sending::PreparedUncached {
                opts.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(0));
            }
            let conn = Database::connect(opts).await.expect("connect");
            let mut errors = Vec::new();
            for i in 0..20_i64 {
                let v = client * 100 + i;
                let stmt = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT $1::bigint AS v",
                    [v.into()],
                );
                let result = match sending {
                    Sending::Simple => conn
                        .execute_unprepared(&format!("SELECT {v}"))
                        .await
                        .map(|_| ()),
                    Sending::PreparedInTransaction => match conn.begin().await {
                        Ok(txn) => {
                            let r = txn.query_one_raw(stmt).await.map(|_| ());
                            let _ = txn.commit().await;
                            r
                        }
                        Err(e) => Err(e),
                    },
                    _ => conn.query_one_raw(stmt).await.map(|_| ()),
                };
                if let Err(e) = result {
                    errors.push(e.to_string());
                }
            }
            let _ = conn.close().await;
            errors
        }));
    }
    let mut failed = 0;
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for task in tasks {
        for e in task.await.expect("client") {
            failed += 1;
            // `prepared statement "sqlx_s_3" already exists` → `… "sqlx_s_N" already exists`
            let kind = e
                .split(" at ")
                .next()
                .unwrap_or_default()
                .chars()
                .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                .collect::<String>();
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => kinds.push((kind, 1)),
            }
        }
    }
    (failed, kinds)
}

/// sqlx prepares every statement that has bind values (sea-orm's `query_*`, `execute`,
/// `Statement::from_sql_and_values`): a statement named `sqlx_s_<n>` (numbered per
/// client connection from 1, and cached by it), parsed in one round trip and run in
/// the next. Behind transaction pooling the next round trip, or the next use of the
/// cached name, may run on another server session, where that name is missing or is
/// another client's. Observed and printed; asserted: the simple protocol never fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prepared_statements_behind_transaction_pooling() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db).await else {
        return;
    };
    for sending in [
        Sending::Prepared,
        Sending::PreparedUncached,
        Sending::PreparedInTransaction,
        Sending::Simple,
    ] {
        let (failed, kinds) = eight_clients(&bouncer, sending).await;
        eprintln!("OBSERVED {sending:?} through PgBouncer: {failed} of 160 failed {kinds:#?}");
        if sending == Sending::Simple {
            assert_eq!(failed, 0, "{kinds:#?}");
        }
    }
}

/// Whether `url` reaches PostgreSQL through transaction (or statement) pooling, told by
/// two connections: X's server session, then Y's inside a transaction (which pins a
/// server session to Y), then X's again. A direct session never changes and is never
/// another client's; behind PgBouncer, Y gets the session X used last (PgBouncer reuses
/// the most recently used one), or X moves off it. Never a false positive; a false
/// negative needs a pooler that hands out server sessions in another order.
async fn transaction_pooled(url: &str) -> bool {
    let mut x = sqlx::PgConnection::connect(url).await.expect("x");
    let mut y = sqlx::PgConnection::connect(url).await.expect("y");
    let pid = "SELECT pg_backend_pid()";
    let x_before: i32 = row(&mut x, pid).await.get(0);
    let y_pinned: i32 = row(&mut y, &format!("BEGIN; {pid}")).await.get(0);
    let x_after: i32 = row(&mut x, pid).await.get(0);
    let _ = y.execute("ROLLBACK").await;
    let _ = (x.close().await, y.close().await);
    y_pinned == x_before || x_after != x_before
}

#[tokio::test]
async fn two_connections_tell_transaction_pooling() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let Some(bouncer) = through_pgbouncer(&db).await else {
        return;
    };
    for _ in 0..5 {
        assert!(!transaction_pooled(&db.url).await, "direct");
        assert!(transaction_pooled(&bouncer).await, "through PgBouncer");
    }
}
