//! Which server a connection reaches (issue 13, item 6), on every real backend: the
//! project's PostgreSQL, MariaDB (or MySQL) and SQLite are told apart from their
//! distributed look-alikes, with the lock and DDL capabilities the runner relies on.
//! And the capability the model claims is checked against the server: where it says a
//! session lock is real, a second session is refused.

mod support;

use cargo_migrate::__private::detect_server;
use cargo_migrate::__private::server::{Ddl, LockStrategy, Server, Trust};
use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use support::{Backend, TestDb};

/// One connection, not a pool of them: a session lock must be taken and released on
/// the same session.
async fn connect(db: &TestDb) -> DatabaseConnection {
    let mut opts = ConnectOptions::new(db.url.clone());
    opts.max_connections(1);
    Database::connect(opts).await.expect("connect")
}

/// The raw string the server reports, to compare the detection with.
async fn raw_version(conn: &DatabaseConnection) -> String {
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT version() AS v",
        DbBackend::MySql => "SELECT VERSION() AS v",
        _ => "SELECT sqlite_version() AS v",
    };
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("version query")
        .expect("a row");
    row.try_get::<String>("", "v").expect("a string")
}

on_every_backend!(detects_the_server, |db| {
    let conn = connect(&db).await;
    let server = detect_server(&conn).await.expect("detect");
    let raw = raw_version(&conn).await;
    eprintln!("{:?}: {raw} -> {server}", db.backend);
    let version = server.version().expect("a version");
    match db.backend {
        Backend::Postgres => {
            assert!(
                matches!(server, Server::Postgres { .. }),
                "{raw} -> {server:?}"
            );
            assert!(version.major() >= 12, "{server}");
            assert_eq!(server.session_advisory_lock(), Trust::Real);
            assert_eq!(server.transaction_advisory_lock(), Trust::Real);
            assert_eq!(server.transactional_ddl(), Ddl::Transactional);
            assert_eq!(server.default_lock_strategy(), LockStrategy::Session);
        }
        Backend::MySql => {
            // The project's servers run MariaDB (DESIGN.md §8); a MySQL is told apart.
            if raw.contains("MariaDB") {
                assert!(
                    matches!(server, Server::MariaDb { .. }),
                    "{raw} -> {server:?}"
                );
                assert!(version.major() >= 10, "{server}");
            } else {
                assert!(
                    matches!(server, Server::MySql { .. }),
                    "{raw} -> {server:?}"
                );
            }
            assert_eq!(server.session_advisory_lock(), Trust::Real);
            assert_eq!(server.transaction_advisory_lock(), Trust::Unsupported);
            assert_eq!(server.transactional_ddl(), Ddl::AutoCommit);
            assert_eq!(server.default_lock_strategy(), LockStrategy::Session);
            assert_eq!(server.lock_wait_limit(), None);
        }
        Backend::Sqlite => {
            assert!(
                matches!(server, Server::Sqlite { .. }),
                "{raw} -> {server:?}"
            );
            assert_eq!(version.major(), 3, "{server}");
            assert_eq!(server.session_advisory_lock(), Trust::Real);
            assert_eq!(server.transaction_advisory_lock(), Trust::Unsupported);
            assert_eq!(server.transactional_ddl(), Ddl::Transactional);
            assert_eq!(server.default_lock_strategy(), LockStrategy::Session);
        }
    }
    assert_eq!(server.to_string(), format!("{} {version}", server.name()));
    conn.close().await.expect("close");
});

/// Takes an advisory lock on `a` and asks for it on `b`: `Some(true)` when `b` is
/// refused (the lock excludes), `None` where the backend has no advisory lock.
async fn second_session_refused(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
    key: &str,
) -> Option<bool> {
    let backend = a.get_database_backend();
    let (take, release) = match backend {
        DbBackend::Postgres => (
            format!("SELECT pg_try_advisory_lock(hashtext('{key}')) AS v"),
            format!("SELECT pg_advisory_unlock(hashtext('{key}')) AS v"),
        ),
        DbBackend::MySql => (
            format!("SELECT GET_LOCK('{key}', 0) AS v"),
            format!("SELECT RELEASE_LOCK('{key}') AS v"),
        ),
        // SQLite's session strategy is a lock file (engine::lock's tests).
        _ => return None,
    };
    let granted = |conn: &DatabaseConnection, sql: String| {
        let conn = conn.clone();
        async move {
            let row = conn
                .query_one_raw(Statement::from_string(backend, sql))
                .await
                .expect("lock query")
                .expect("a row");
            match backend {
                // `pg_try_advisory_lock` answers a boolean, `GET_LOCK` 1, 0 or NULL.
                DbBackend::Postgres => row.try_get::<bool>("", "v").expect("a boolean"),
                _ => row.try_get::<Option<i64>>("", "v").expect("a number") == Some(1),
            }
        }
    };
    assert!(
        granted(a, take.clone()).await,
        "the first session is granted"
    );
    let refused = !granted(b, take).await;
    assert!(granted(a, release).await, "the first session releases");
    Some(refused)
}

on_every_backend!(a_real_session_lock_excludes, |db| {
    let a = connect(&db).await;
    let b = connect(&db).await;
    let server = detect_server(&a).await.expect("detect");
    let key = format!("cargo-migrate-server-test-{}", std::process::id());
    if let Some(refused) = second_session_refused(&a, &b, &key).await {
        assert_eq!(
            refused,
            server.session_advisory_lock().is_real(),
            "{server}: the model's trust and the server's behaviour differ"
        );
    }
    a.close().await.expect("close");
    b.close().await.expect("close");
});

/// Behind PgBouncer in transaction mode (`TEST_PGBOUNCER_URL`, see `.ci/pgbouncer.sh`)
/// the server is still PostgreSQL: the pooler cannot be seen from `version()`, which
/// is why the lock strategy behind one has to be chosen, not detected.
#[tokio::test]
async fn behind_pgbouncer_it_is_still_postgres() {
    let Some(url) = std::env::var("TEST_PGBOUNCER_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        support::skipped("PgBouncer test: set TEST_PGBOUNCER_URL to run it");
        return;
    };
    let conn = Database::connect(&url)
        .await
        .expect("connect through PgBouncer");
    // Several times over a pool of clients: no prepared statement is left on a server
    // connection for another client to collide with.
    let server = detect_server(&conn)
        .await
        .expect("detect through PgBouncer");
    for _ in 0..5 {
        let (a, b) = tokio::join!(detect_server(&conn), detect_server(&conn));
        assert_eq!(a.expect("detect"), server);
        assert_eq!(b.expect("detect"), server);
    }
    assert!(matches!(server, Server::Postgres { .. }), "{server:?}");
    assert_eq!(server.default_lock_strategy(), LockStrategy::Session);
    assert!(
        server
            .lock_caveat(LockStrategy::Session)
            .is_some_and(|c| c.contains("pooler"))
    );
    conn.close().await.expect("close");
}
