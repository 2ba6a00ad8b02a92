//! Asking a connection which server it reaches: one query per protocol, read by
//! [`Server::detect`] (see `model::server` for what each server can be relied on for).
//!
//! - PostgreSQL's protocol: `SELECT version()`, which names CockroachDB and YugabyteDB
//!   (and passes through PgBouncer unchanged).
//! - MySQL's: `VERSION()` with `@@version_comment`, which still names TiDB when its
//!   `server-version` setting made `VERSION()` look like MySQL; only then a second
//!   query, `tidb_version()`, for TiDB's release.
//! - SQLite: `sqlite_version()`.
//!
//! On PostgreSQL the query goes with the simple query protocol: no prepared statement,
//! which behind a transaction-mode pooler (PgBouncer before 1.21, or without
//! `max_prepared_statements`) could land on a server connection where another client's
//! statement of the same name already exists.

use sea_orm_migration::sea_orm::{DatabaseConnection, DbBackend, DbErr};

use crate::model::schema::Dialect;
use crate::model::server::Server;

/// The server `conn` reaches. Fails only when a query fails (or on a backend this crate
/// does not know); a string the model does not recognise gives the protocol's own
/// server.
pub async fn detect(conn: &DatabaseConnection) -> Result<Server, DbErr> {
    let backend = conn.get_database_backend();
    match backend {
        DbBackend::Postgres => {
            let version = text(conn, "SELECT version() AS v", "v").await?;
            Ok(Server::detect(Dialect::Postgres, &version))
        }
        DbBackend::MySql => mysql(conn).await,
        DbBackend::Sqlite => {
            let version = text(conn, "SELECT sqlite_version() AS v", "v").await?;
            Ok(Server::detect(Dialect::Sqlite, &version))
        }
        other => Err(DbErr::Custom(format!(
            "cannot tell which server a {other:?} connection reaches"
        ))),
    }
}

/// MySQL's protocol: MySQL, MariaDB or TiDB.
async fn mysql(conn: &DatabaseConnection) -> Result<Server, DbErr> {
    let both =
        crate::engine::simple::row(conn, "SELECT VERSION() AS v, @@version_comment AS c").await;
    let (version, comment) = match both {
        Ok(Some(row)) => (
            row.try_get::<Option<String>>("", "v")?.unwrap_or_default(),
            row.try_get::<Option<String>>("", "c")?.unwrap_or_default(),
        ),
        Ok(None) => (String::new(), String::new()),
        // A MySQL look-alike without `@@version_comment`: the version alone.
        Err(_) => (
            text(conn, "SELECT VERSION() AS v", "v").await?,
            String::new(),
        ),
    };
    let server = Server::detect(Dialect::MySql, &version).with_comment(&comment);
    if let Server::TiDb { version: None, .. } = server {
        // Best effort: without its release, TiDB's GET_LOCK is not trusted.
        if let Ok(release) = text(conn, "SELECT tidb_version() AS v", "v").await {
            return Ok(server.with_tidb_version(&release));
        }
    }
    Ok(server)
}

/// The text in column `column` of the one row `sql` returns; empty when there is no
/// row or the value is NULL.
async fn text(conn: &DatabaseConnection, sql: &str, column: &str) -> Result<String, DbErr> {
    Ok(match crate::engine::simple::row(conn, sql).await? {
        Some(row) => row.try_get::<Option<String>>("", column)?,
        None => None,
    }
    .unwrap_or_default())
}
