//! The tracking tables.
//!
//! Applied revisions live in sea-orm-migration's own table, `seaql_migrations(version,
//! applied_at)`, created with sea-orm-migration's own DDL, so a database migrated by
//! sea-orm-cli is adopted as it is and sea-orm-migration keeps working on a database
//! that cargo-migrate manages. The facts sea-orm-migration has no column for (execution
//! time, who applied it, high-resolution time, checksum, the last failure) live in a
//! side table `<table>_meta` keyed by the same version. A side row whose version is
//! not in the main table only describes a failure or is stale; it never makes a
//! revision applied.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm_migration::sea_orm::sea_query::{
    Alias, ColumnDef, Expr, ExprTrait, OnConflict, Order, Query, Table, TableCreateStatement,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr, Schema, Statement};
use sea_orm_migration::seaql_migrations;
use serde::Serialize;

/// A row of the main tracking table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRow {
    pub version: String,
    /// Unix seconds, as sea-orm-migration records it.
    pub applied_at: i64,
}

/// A row of the side table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetaRow {
    pub version: String,
    pub execution_ms: Option<i64>,
    pub applied_at_ms: Option<i64>,
    pub applied_by: Option<String>,
    pub checksum: Option<String>,
    /// The last failure of this revision, if it has not succeeded since.
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// `up` or `down`.
    pub direction: String,
    /// Unix milliseconds.
    pub failed_at_ms: i64,
    pub error: String,
    /// False when the step ran outside a transaction (MySQL DDL, or a migration that
    /// opted out): part of it may have been applied.
    pub transactional: bool,
}

/// What the database says: the applied rows and their side facts.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub applied: Vec<AppliedRow>,
    pub meta: HashMap<String, MetaRow>,
}

/// Facts about a successful step, stored beside its tracking row.
#[derive(Debug, Clone)]
pub struct StepFacts {
    pub execution_ms: i64,
    pub applied_by: String,
    pub checksum: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Tracking {
    table: String,
    meta: String,
}

const META_COLUMNS: [&str; 10] = [
    "version",
    "execution_ms",
    "applied_at_ms",
    "applied_by",
    "checksum",
    "failed_direction",
    "failed_at_ms",
    "failed_error",
    "failed_transactional",
    "updated_at_ms",
];

impl Tracking {
    pub fn new(table: impl Into<String>) -> Self {
        let table = table.into();
        let meta = format!("{table}_meta");
        Tracking { table, meta }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn meta_table(&self) -> &str {
        &self.meta
    }

    /// Creates both tables if they are missing (writing verbs only, under the lock).
    pub async fn install<C: ConnectionTrait>(&self, db: &C) -> Result<(), DbErr> {
        let schema = Schema::new(db.get_database_backend());
        let mut main = schema.create_table_from_entity(seaql_migrations::Entity);
        main.table(Alias::new(&self.table)).if_not_exists();
        db.execute(&main).await?;
        db.execute(&self.meta_ddl()).await?;
        Ok(())
    }

    fn meta_ddl(&self) -> TableCreateStatement {
        Table::create()
            .table(Alias::new(&self.meta))
            .if_not_exists()
            .col(
                ColumnDef::new(Alias::new("version"))
                    .string_len(255)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Alias::new("execution_ms"))
                    .big_integer()
                    .null(),
            )
            .col(
                ColumnDef::new(Alias::new("applied_at_ms"))
                    .big_integer()
                    .null(),
            )
            .col(
                ColumnDef::new(Alias::new("applied_by"))
                    .string_len(255)
                    .null(),
            )
            .col(
                ColumnDef::new(Alias::new("checksum"))
                    .string_len(128)
                    .null(),
            )
            .col(
                ColumnDef::new(Alias::new("failed_direction"))
                    .string_len(8)
                    .null(),
            )
            .col(
                ColumnDef::new(Alias::new("failed_at_ms"))
                    .big_integer()
                    .null(),
            )
            .col(ColumnDef::new(Alias::new("failed_error")).text().null())
            .col(
                ColumnDef::new(Alias::new("failed_transactional"))
                    .boolean()
                    .null(),
            )
            .col(
                ColumnDef::new(Alias::new("updated_at_ms"))
                    .big_integer()
                    .not_null(),
            )
            .to_owned()
    }

    async fn has_table<C: ConnectionTrait>(&self, db: &C, table: &str) -> Result<bool, DbErr> {
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?"
            }
            DbBackend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_name = $1 AND table_schema = ANY(current_schemas(false))"
            }
            _ => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_name = ? AND table_schema = DATABASE()"
            }
        };
        let stmt = Statement::from_sql_and_values(backend, sql, [table.into()]);
        let row = db.query_one_raw(stmt).await?;
        Ok(row
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0)
            > 0)
    }

    /// Reads everything without creating or altering anything: missing tables are an
    /// empty history.
    pub async fn read<C: ConnectionTrait>(&self, db: &C) -> Result<Recorded, DbErr> {
        let mut recorded = Recorded::default();
        if !self.has_table(db, &self.table).await? {
            return Ok(recorded);
        }
        recorded.applied = self.read_applied(db).await?;
        if self.has_table(db, &self.meta).await? {
            let select = Query::select()
                .columns(META_COLUMNS.map(Alias::new))
                .from(Alias::new(&self.meta))
                .to_owned();
            for row in db.query_all(&select).await? {
                let version: String = row.try_get("", "version")?;
                let failure = match row.try_get::<Option<String>>("", "failed_direction")? {
                    Some(direction) => Some(Failure {
                        direction,
                        failed_at_ms: row
                            .try_get::<Option<i64>>("", "failed_at_ms")?
                            .unwrap_or_default(),
                        error: row
                            .try_get::<Option<String>>("", "failed_error")?
                            .unwrap_or_default(),
                        transactional: row
                            .try_get::<Option<bool>>("", "failed_transactional")?
                            .unwrap_or(true),
                    }),
                    None => None,
                };
                let meta = MetaRow {
                    version: version.clone(),
                    execution_ms: row.try_get("", "execution_ms")?,
                    applied_at_ms: row.try_get("", "applied_at_ms")?,
                    applied_by: row.try_get("", "applied_by")?,
                    checksum: row.try_get("", "checksum")?,
                    failure,
                };
                recorded.meta.insert(version, meta);
            }
        }
        Ok(recorded)
    }

    async fn read_applied<C: ConnectionTrait>(&self, db: &C) -> Result<Vec<AppliedRow>, DbErr> {
        let select = Query::select()
            .columns([Alias::new("version"), Alias::new("applied_at")])
            .from(Alias::new(&self.table))
            .order_by(Alias::new("version"), Order::Asc)
            .to_owned();
        db.query_all(&select)
            .await?
            .into_iter()
            .map(|row| {
                Ok(AppliedRow {
                    version: row.try_get("", "version")?,
                    applied_at: row.try_get("", "applied_at")?,
                })
            })
            .collect()
    }

    /// Whether `version` is recorded as applied (re-checked inside a step's transaction
    /// on SQLite, where the write lock is per transaction).
    pub async fn is_applied<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
    ) -> Result<bool, DbErr> {
        let select = Query::select()
            .column(Alias::new("version"))
            .from(Alias::new(&self.table))
            .and_where(Expr::col(Alias::new("version")).eq(version))
            .to_owned();
        Ok(db.query_one(&select).await?.is_some())
    }

    /// Records `version` as applied, with its facts, clearing any failure.
    pub async fn insert<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
        facts: &StepFacts,
    ) -> Result<(), DbErr> {
        let now = now_ms();
        if db.get_database_backend() == DbBackend::Postgres {
            // One round trip for both tables: the per-migration cost stays at
            // sea-orm-migration's.
            let q = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
            let sql = format!(
                "WITH applied AS (INSERT INTO {} (version, applied_at) VALUES ($1, $2)) \
                 INSERT INTO {} ({}) VALUES ($1, $3, $4, $5, $6, NULL, NULL, NULL, NULL, $4) \
                 ON CONFLICT (version) DO UPDATE SET execution_ms = EXCLUDED.execution_ms, \
                 applied_at_ms = EXCLUDED.applied_at_ms, applied_by = EXCLUDED.applied_by, \
                 checksum = EXCLUDED.checksum, failed_direction = NULL, failed_at_ms = NULL, \
                 failed_error = NULL, failed_transactional = NULL, updated_at_ms = EXCLUDED.updated_at_ms",
                q(&self.table),
                q(&self.meta),
                META_COLUMNS.join(", ")
            );
            let values: Vec<sea_orm_migration::sea_orm::Value> = vec![
                version.into(),
                (now / 1000).into(),
                facts.execution_ms.into(),
                now.into(),
                facts.applied_by.clone().into(),
                facts.checksum.clone().into(),
            ];
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?;
            return Ok(());
        }
        let insert = Query::insert()
            .into_table(Alias::new(&self.table))
            .columns([Alias::new("version"), Alias::new("applied_at")])
            .values_panic([version.into(), (now / 1000).into()])
            .to_owned();
        db.execute(&insert).await?;
        let values = [
            version.into(),
            facts.execution_ms.into(),
            now.into(),
            facts.applied_by.clone().into(),
            facts.checksum.clone().into(),
            Option::<String>::None.into(),
            Option::<i64>::None.into(),
            Option::<String>::None.into(),
            Option::<bool>::None.into(),
            now.into(),
        ];
        self.upsert_meta(db, values).await
    }

    /// Removes `version` from the applied set (and its side facts).
    pub async fn delete<C: ConnectionTrait>(&self, db: &C, version: &str) -> Result<(), DbErr> {
        for table in [&self.table, &self.meta] {
            let delete = Query::delete()
                .from_table(Alias::new(table))
                .and_where(Expr::col(Alias::new("version")).eq(version))
                .to_owned();
            db.execute(&delete).await?;
        }
        Ok(())
    }

    /// Removes every row of both tables (`stamp --purge`, `stamp base`).
    pub async fn delete_all<C: ConnectionTrait>(&self, db: &C) -> Result<(), DbErr> {
        for table in [&self.table, &self.meta] {
            db.execute(&Query::delete().from_table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }

    /// Records a failed step, keeping the revision's other facts.
    pub async fn record_failure<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
        failure: &Failure,
    ) -> Result<(), DbErr> {
        let values = meta_row(version, None, Some(failure));
        let keep_the_rest = [
            "failed_direction",
            "failed_at_ms",
            "failed_error",
            "failed_transactional",
            "updated_at_ms",
        ];
        self.upsert_meta_columns(db, values, &keep_the_rest).await
    }

    /// Records `checksum` as the source `version` was applied from (`rehash`).
    pub async fn set_checksum<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
        checksum: &str,
    ) -> Result<(), DbErr> {
        let values = meta_row(version, Some(checksum), None);
        self.upsert_meta_columns(db, values, &["checksum", "updated_at_ms"])
            .await
    }

    /// Forgets the failure of `version` (after `stamp`, or a later success).
    pub async fn clear_failure<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
    ) -> Result<(), DbErr> {
        let update = Query::update()
            .table(Alias::new(&self.meta))
            .values([
                (
                    Alias::new("failed_direction"),
                    Option::<String>::None.into(),
                ),
                (Alias::new("failed_at_ms"), Option::<i64>::None.into()),
                (Alias::new("failed_error"), Option::<String>::None.into()),
                (
                    Alias::new("failed_transactional"),
                    Option::<bool>::None.into(),
                ),
            ])
            .and_where(Expr::col(Alias::new("version")).eq(version))
            .to_owned();
        db.execute(&update).await?;
        Ok(())
    }

    /// Inserts a side-table row, or updates only `columns` of an existing one.
    async fn upsert_meta_columns<C: ConnectionTrait>(
        &self,
        db: &C,
        values: [sea_orm_migration::sea_orm::sea_query::SimpleExpr; 10],
        columns: &[&str],
    ) -> Result<(), DbErr> {
        let insert = Query::insert()
            .into_table(Alias::new(&self.meta))
            .columns(META_COLUMNS.map(Alias::new))
            .values_panic(values)
            .on_conflict(
                OnConflict::column(Alias::new("version"))
                    .update_columns(columns.iter().map(|c| Alias::new(*c)))
                    .to_owned(),
            )
            .to_owned();
        db.execute(&insert).await?;
        Ok(())
    }

    async fn upsert_meta<C: ConnectionTrait>(
        &self,
        db: &C,
        values: [sea_orm_migration::sea_orm::sea_query::SimpleExpr; 10],
    ) -> Result<(), DbErr> {
        self.upsert_meta_columns(db, values, &META_COLUMNS[1..])
            .await
    }
}

/// A side-table row (`META_COLUMNS`) with only a checksum or a failure.
fn meta_row(
    version: &str,
    checksum: Option<&str>,
    failure: Option<&Failure>,
) -> [sea_orm_migration::sea_orm::sea_query::SimpleExpr; 10] {
    [
        version.into(),
        Option::<i64>::None.into(),
        Option::<i64>::None.into(),
        Option::<String>::None.into(),
        checksum.map(str::to_string).into(),
        failure.map(|f| f.direction.clone()).into(),
        failure.map(|f| f.failed_at_ms).into(),
        failure.map(|f| f.error.clone()).into(),
        failure.map(|f| f.transactional).into(),
        now_ms().into(),
    ]
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
