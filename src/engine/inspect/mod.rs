//! Reading a database's schema into a [`Schema`]: the catalog of each backend
//! (`pg_catalog`, MySQL's `information_schema`, SQLite's `pragma_*` functions), read
//! by the same code on both sides of every comparison, so each database spells its
//! own types. sea-schema is not used: its PostgreSQL discovery has no non-unique
//! indexes, and its SQLite discovery rewrites every integer as `bigint`.
//! Extension-owned objects (PostGIS's `spatial_ref_sys`) are left out; so are the
//! tables the caller names (the tracking tables).

mod catalog;
mod mysql;
mod postgres;
mod sqlite;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr};

use crate::model::schema::{Dialect, Schema};

/// Reads the schema `conn` sees: on PostgreSQL the schema `schema` (or the connection's
/// `current_schema()`), elsewhere the connection's database.
pub async fn inspect<C: ConnectionTrait>(conn: &C, schema: Option<&str>) -> Result<Schema, DbErr> {
    match conn.get_database_backend() {
        DbBackend::Postgres => postgres::inspect(conn, schema).await,
        DbBackend::MySql => mysql::inspect(conn).await,
        DbBackend::Sqlite => sqlite::inspect(conn).await,
        other => Err(DbErr::Custom(format!("no schema inspection for {other:?}"))),
    }
}

/// The dialect whose type rules apply to `backend`'s schemas.
pub fn dialect(backend: DbBackend) -> Dialect {
    match backend {
        DbBackend::Postgres => Dialect::Postgres,
        DbBackend::MySql => Dialect::MySql,
        _ => Dialect::Sqlite,
    }
}
