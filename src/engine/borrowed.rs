//! The application's own connection, borrowed for a migration run (the app-start API):
//! which database it reaches, named without its password, and the lock's own session,
//! opened with the same options as the application's pool (no second URL).

use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbBackend, DbErr, Statement,
};

use crate::engine::url::DbUrl;
use crate::error::{Error, Result};

/// A URL that names the database `conn` reaches, for messages and for the SQLite lock
/// file: user, host, port and database of a server (never a password, which the pool
/// does not give back), the file of a SQLite database (asked of SQLite itself, so an
/// in-memory database is told apart from a file whatever its URL said).
pub async fn describe(conn: &DatabaseConnection) -> Result<DbUrl> {
    let raw = match &conn.inner {
        #[cfg(feature = "postgres")]
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let o = conn.get_postgres_connection_pool().connect_options();
            server_url(
                "postgres",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database(),
            )
        }
        #[cfg(feature = "mysql")]
        DatabaseConnectionType::SqlxMySqlPoolConnection(_) => {
            let o = conn.get_mysql_connection_pool().connect_options();
            server_url(
                "mysql",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database(),
            )
        }
        #[cfg(feature = "sqlite")]
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let file = sqlite_main_file(conn).await.map_err(|e| {
                Error::Database(format!("cannot read which SQLite file is open: {e}"))
            })?;
            match file {
                Some(file) => format!("sqlite://{file}"),
                None => "sqlite::memory:".to_string(),
            }
        }
        _ => return Err(unsupported()),
    };
    DbUrl::parse(&raw)
}

/// A new connection with the options of `conn`'s pool, for the lock's session: the lock
/// lives as long as this connection, apart from the pool, so the application's pool
/// neither lends it out nor is starved of a connection while it is held.
pub async fn session(conn: &DatabaseConnection) -> std::result::Result<DatabaseConnection, DbErr> {
    match &conn.inner {
        #[cfg(feature = "postgres")]
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            use sea_orm_migration::sea_orm::sqlx::postgres::PgPoolOptions;
            let options = (*conn.get_postgres_connection_pool().connect_options()).clone();
            let pool = one_connection(PgPoolOptions::new())
                .connect_with(options)
                .await
                .map_err(sqlx_error)?;
            Ok(sea_orm_migration::sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
        }
        #[cfg(feature = "mysql")]
        DatabaseConnectionType::SqlxMySqlPoolConnection(_) => {
            use sea_orm_migration::sea_orm::sqlx::mysql::MySqlPoolOptions;
            let options = (*conn.get_mysql_connection_pool().connect_options()).clone();
            let pool = one_connection(MySqlPoolOptions::new())
                .connect_with(options)
                .await
                .map_err(sqlx_error)?;
            Ok(sea_orm_migration::sea_orm::SqlxMySqlConnector::from_sqlx_mysql_pool(pool))
        }
        #[cfg(feature = "sqlite")]
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            // The `table` strategy's own connection (SQLite's other strategies lock a file).
            use sea_orm_migration::sea_orm::sqlx::sqlite::SqlitePoolOptions;
            let options = (*conn.get_sqlite_connection_pool().connect_options()).clone();
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(sqlx_error)?;
            Ok(sea_orm_migration::sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
        }
        _ => Err(DbErr::Custom(unsupported().to_string())),
    }
}

/// A connection with the options of `conn`'s pool (MySQL/MariaDB) to the database
/// `name` instead: a dry run's scratch database.
pub async fn to_database(
    conn: &DatabaseConnection,
    name: &str,
) -> std::result::Result<DatabaseConnection, DbErr> {
    match &conn.inner {
        #[cfg(feature = "mysql")]
        DatabaseConnectionType::SqlxMySqlPoolConnection(_) => {
            use sea_orm_migration::sea_orm::sqlx::mysql::MySqlPoolOptions;
            let options = (*conn.get_mysql_connection_pool().connect_options())
                .clone()
                .database(name);
            let pool = one_connection(MySqlPoolOptions::new())
                .connect_with(options)
                .await
                .map_err(sqlx_error)?;
            Ok(sea_orm_migration::sea_orm::SqlxMySqlConnector::from_sqlx_mysql_pool(pool))
        }
        _ => {
            let _ = name;
            Err(DbErr::Custom(unsupported().to_string()))
        }
    }
}

/// A pool of exactly one connection that nothing closes while the lock is held.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn one_connection<DB: sea_orm_migration::sea_orm::sqlx::Database>(
    opts: sea_orm_migration::sea_orm::sqlx::pool::PoolOptions<DB>,
) -> sea_orm_migration::sea_orm::sqlx::pool::PoolOptions<DB> {
    opts.max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
}

/// The file of SQLite's `main` database, `None` in memory.
#[cfg(feature = "sqlite")]
async fn sqlite_main_file(conn: &DatabaseConnection) -> std::result::Result<Option<String>, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT file AS f FROM pragma_database_list WHERE name = 'main'",
        ))
        .await?;
    let file = match row {
        Some(row) => row.try_get::<Option<String>>("", "f")?,
        None => None,
    };
    Ok(file.filter(|f| !f.is_empty()))
}

/// A driver's connection error as sea-orm's.
fn sqlx_error(e: sea_orm_migration::sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(sea_orm_migration::sea_orm::RuntimeErr::SqlxError(
        std::sync::Arc::new(e),
    ))
}

/// `scheme://user@host:port/database`, with the host bracketed when it is IPv6.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn server_url(scheme: &str, user: &str, host: &str, port: u16, db: Option<&str>) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("{scheme}://{user}{host}:{port}/{}", db.unwrap_or_default())
}

fn unsupported() -> Error {
    Error::Config(
        "migrating needs a sqlx connection pool to PostgreSQL, MySQL/MariaDB or SQLite \
         (`sea_orm::Database::connect`), with that backend's feature enabled in cargo-migrate; \
         mock, proxy and rusqlite connections cannot take the migration lock"
            .to_string(),
    )
}

#[cfg(all(test, any(feature = "postgres", feature = "mysql")))]
mod tests {
    use super::*;

    #[test]
    fn server_urls_name_the_database_without_a_password() {
        assert_eq!(
            server_url("postgres", "app", "db.internal", 5432, Some("shop")),
            "postgres://app@db.internal:5432/shop"
        );
        assert_eq!(
            server_url("mysql", "", "::1", 3306, None),
            "mysql://[::1]:3306/"
        );
    }
}
