//! Statements sent with PostgreSQL's simple query protocol, their values written into
//! the text: no prepared statement and no session state, so they mean the same through
//! a pooler in transaction mode (PgBouncer before 1.21 keeps no prepared statement from
//! one transaction to the next; sqlx names and reuses its own). The lock strategies and
//! server detection use these; other backends get an ordinary query.

use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, QueryResult, Statement,
};

/// The first row of `sql` on `conn` (simple protocol on PostgreSQL).
pub async fn row(conn: &DatabaseConnection, sql: &str) -> Result<Option<QueryResult>, DbErr> {
    #[cfg(feature = "postgres")]
    if let sea_orm_migration::sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_) =
        &conn.inner
    {
        use sea_orm_migration::sea_orm::sqlx::{self, AssertSqlSafe};
        let row = sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .fetch_optional(conn.get_postgres_connection_pool())
            .await
            .map_err(|e| {
                DbErr::Query(sea_orm_migration::sea_orm::RuntimeErr::SqlxError(
                    std::sync::Arc::new(e),
                ))
            })?;
        return Ok(row.map(QueryResult::from));
    }
    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
}

/// Column `v` of the first row of `sql` on `conn` (simple protocol on PostgreSQL).
pub async fn value<T: sea_orm_migration::sea_orm::TryGetable>(
    conn: &DatabaseConnection,
    sql: &str,
) -> Result<Option<T>, DbErr> {
    match row(conn, sql).await? {
        Some(row) => row.try_get::<Option<T>>("", "v"),
        None => Ok(None),
    }
}
