//! The lock strategies, end to end: eight copies of the example crate's real binary
//! started at once, directly and through PgBouncer in transaction pooling mode
//! (`TEST_PGBOUNCER_URL`, started by `.ci/pgbouncer.sh`); every migration applied
//! once, no run hangs, and the session lock behind the pooler is refused, not trusted.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};
use support::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_migrations");
const MIGRATIONS: usize = 6;

fn start(url: &str, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("MIGRATE_LOCK_STRATEGY")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the migration binary")
}

/// Waits for every child, killing all and failing if any takes longer than `limit`:
/// a hang is a failure, never a stuck test run.
fn wait_all(children: Vec<Child>, limit: Duration) -> Vec<Output> {
    let deadline = Instant::now() + limit;
    let mut children: Vec<Option<Child>> = children.into_iter().map(Some).collect();
    loop {
        let running = children
            .iter_mut()
            .flatten()
            .map(|c| matches!(c.try_wait(), Ok(None)))
            .filter(|&running| running)
            .count();
        if running == 0 {
            break;
        }
        if Instant::now() > deadline {
            for c in children.iter_mut().flatten() {
                let _ = c.kill();
            }
            panic!("{running} run(s) still waiting after {limit:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    children
        .iter_mut()
        .map(|c| c.take().expect("child").wait_with_output().expect("output"))
        .collect()
}

/// Eight runs of `upgrade head` with `strategy` at once on `url`: all exit 0, and
/// between them every migration is applied exactly once.
fn eight_at_once(url: &str, strategy: &str) {
    let children = (0..8)
        .map(|_| start(url, &["upgrade", "head", "--lock-strategy", strategy]))
        .collect();
    let mut applied = 0;
    for out in wait_all(children, Duration::from_secs(180)) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a run failed ({strategy}): {stderr}");
        applied += stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("Applied "))
            .count();
    }
    assert_eq!(applied, MIGRATIONS, "each migration once ({strategy})");
}

async fn versions(url: &str) -> usize {
    let conn = Database::connect(url).await.expect("connect");
    let rows = conn
        .query_all_raw(
            cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT version FROM seaql_migrations",
            ),
        )
        .await
        .map_or(0, |rows| rows.len()); // no table yet: nothing applied
    let _ = conn.close().await;
    rows
}

on_every_backend!(
    eight_runs_with_the_table_strategy_apply_each_migration_once,
    |db| {
        eight_at_once(&db.url, "table");
        assert_eq!(versions(&db.url).await, MIGRATIONS);
    }
);

on_backends!(
    eight_runs_with_the_transaction_strategy_apply_each_migration_once [postgres: Postgres],
    |db| {
        eight_at_once(&db.url, "transaction");
        assert_eq!(versions(&db.url).await, MIGRATIONS);
    }
);

on_backends!(
    the_transaction_strategy_is_refused_where_there_is_no_such_lock [mysql: MySql],
    |db| {
        let out = wait_all(
            vec![start(&db.url, &["upgrade", "head", "--lock-strategy", "transaction"])],
            Duration::from_secs(60),
        );
        let stderr = String::from_utf8_lossy(&out[0].stderr);
        assert_eq!(out[0].status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("`transaction` lock strategy"), "{stderr}");
        assert!(stderr.contains("--lock-strategy session"), "{stderr}");
        assert_eq!(versions(&db.url).await, 0, "nothing ran");
    }
);

#[test]
fn an_unknown_strategy_is_a_usage_error_naming_the_three() {
    let out = wait_all(
        vec![start(
            "sqlite::memory:",
            &["upgrade", "head", "--lock-strategy", "row"],
        )],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out[0].stderr);
    assert_eq!(out[0].status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`session`, `transaction` or `table`"),
        "{stderr}"
    );
}

/// The PgBouncer URL for `db`'s database, or `None` (skipped; a failure under CI).
fn through_pgbouncer(db: &TestDb) -> Option<String> {
    let Ok(base) = std::env::var("TEST_PGBOUNCER_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("TEST_PGBOUNCER_URL must be set in CI (.ci/run starts PgBouncer)");
        }
        support::skipped("PgBouncer test: set TEST_PGBOUNCER_URL (see .ci/pgbouncer.sh)");
        return None;
    };
    let name = db.url.rsplit('/').next()?.split('?').next()?.to_string();
    let (server, _) = base.rsplit_once('/')?;
    // PgBouncer 1.18 in transaction mode keeps no prepared statement from one
    // transaction to the next: sqlx must not cache them.
    Some(format!("{server}/{name}?statement-cache-capacity=0"))
}

on_backends!(through_pgbouncer_in_transaction_mode [postgres: Postgres], |db| {
    let Some(pooled) = through_pgbouncer(&db) else {
        return;
    };
    // The session lock stays on a pooled server connection: refused at once, not
    // trusted, and no later run hangs on a lock left behind.
    for _ in 0..2 {
        let out = wait_all(
            vec![start(
                &pooled,
                &["upgrade", "head", "--lock-strategy", "session"],
            )],
            Duration::from_secs(60),
        );
        let stderr = String::from_utf8_lossy(&out[0].stderr);
        assert_eq!(out[0].status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("pooler in transaction mode"), "{stderr}");
        assert!(stderr.contains("--lock-strategy transaction"), "{stderr}");
    }
    assert_eq!(versions(&db.url).await, 0, "nothing ran under the session lock");

    // The transaction and table locks hold through the pooler: eight runs at once
    // apply each migration once and none hangs. PgBouncer 1.18 (Debian 12) keeps no
    // prepared statement between transactions, so a run whose sea-orm statements land
    // on another server connection fails, saying so; the lock keeps the others out
    // meanwhile.
    for strategy in ["transaction", "table"] {
        let children = (0..8)
            .map(|_| start(&pooled, &["upgrade", "head", "--lock-strategy", strategy]))
            .collect();
        let mut applied = 0;
        for out in wait_all(children, Duration::from_secs(180)) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            applied += stderr
                .lines()
                .filter(|l| l.trim_start().starts_with("Applied "))
                .count();
            // A run ends: applied, or failed with a database error (exit 1); one the
            // pooler broke says what to do.
            let code = out.status.code();
            assert!(
                code == Some(0) || code == Some(1),
                "a run ended otherwise ({strategy}, {code:?}): {stderr}"
            );
            if stderr.contains("prepared statement") {
                assert!(
                    stderr.contains("does not keep this connection's prepared statements"),
                    "a pooler error without its explanation ({strategy}): {stderr}"
                );
            }
        }
        assert_eq!(versions(&db.url).await, applied, "{strategy}: recorded = applied");
        // Whatever the pooler broke, the rest is applied directly, once.
        let out = wait_all(
            vec![start(&db.url, &["upgrade", "head", "--lock-strategy", strategy])],
            Duration::from_secs(60),
        );
        assert!(out[0].status.success(), "{}", String::from_utf8_lossy(&out[0].stderr));
        assert_eq!(versions(&db.url).await, MIGRATIONS);
        let out = wait_all(
            vec![start(&db.url, &["downgrade", "base", "--yes"])],
            Duration::from_secs(60),
        );
        assert!(out[0].status.success(), "{}", String::from_utf8_lossy(&out[0].stderr));
    }
    // Nothing is left holding a lock: the lock table is empty.
    let conn = Database::connect(&db.url).await.expect("connect");
    let left = conn
        .query_all_raw(
            cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
                cargo_migrate::sea_orm_migration::sea_orm::DbBackend::Postgres,
                "SELECT name FROM seaql_migrations_lock",
            ),
        )
        .await
        .expect("read the lock table");
    assert!(left.is_empty(), "a lock row outlived its run");
});

/// Eight holders of the lock with `strategy` through the pooler, each incrementing a
/// counter with a read, a pause and a write (simple protocol, values in the text): a
/// lock that lets two in loses an increment.
async fn counted_through_the_pooler(
    db: &TestDb,
    pooled: &str,
    strategy: cargo_migrate::LockStrategy,
) {
    use cargo_migrate::sea_orm_migration::sea_orm::sqlx::{self, AssertSqlSafe, Row};
    use cargo_migrate::{Db, DbOptions, DbUrl};
    let direct = Database::connect(&db.url).await.expect("connect");
    direct
        .execute_unprepared("DROP TABLE IF EXISTS counter; CREATE TABLE counter (n INT); INSERT INTO counter VALUES (0)")
        .await
        .expect("counter");
    let url = DbUrl::parse(pooled).expect("url");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let opts = DbOptions {
                    write: true,
                    ..Default::default()
                };
                let db = Db::connect(&url, opts)
                    .await
                    .expect("connect through the pooler");
                let lock = cargo_migrate::__private::Lock::acquire(
                    &db,
                    "seaql_migrations",
                    Some(strategy),
                    Some(Duration::from_secs(120)),
                    &mut || {},
                )
                .await
                .expect("the lock");
                let pool = db.connection().get_postgres_connection_pool();
                let row = sqlx::raw_sql(AssertSqlSafe("SELECT n FROM counter".to_string()))
                    .fetch_one(pool)
                    .await
                    .expect("read");
                let n: i32 = row.get(0);
                tokio::time::sleep(Duration::from_millis(50)).await;
                sqlx::raw_sql(AssertSqlSafe(format!("UPDATE counter SET n = {}", n + 1)))
                    .execute(pool)
                    .await
                    .expect("write");
                lock.release().await;
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(150), t)
            .await
            .expect("a holder hung")
            .expect("a holder failed");
    }
    let n = cargo_migrate::sea_orm_migration::sea_orm::ConnectionTrait::query_one_raw(
        &direct,
        cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
            cargo_migrate::sea_orm_migration::sea_orm::DbBackend::Postgres,
            "SELECT n FROM counter",
        ),
    )
    .await
    .expect("read")
    .expect("a row")
    .try_get::<i32>("", "n")
    .expect("n");
    assert_eq!(n, 8, "{strategy}: every holder alone");
}

on_backends!(the_transaction_and_table_locks_exclude_through_pgbouncer [postgres: Postgres], |db| {
    let Some(pooled) = through_pgbouncer(&db) else {
        return;
    };
    counted_through_the_pooler(&db, &pooled, cargo_migrate::LockStrategy::Transaction).await;
    counted_through_the_pooler(&db, &pooled, cargo_migrate::LockStrategy::Table).await;
});
