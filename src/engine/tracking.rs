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
    Alias, ColumnDef, Expr, ExprTrait, JoinType, OnConflict, Order, Query, Table,
    TableCreateStatement,
};
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DbBackend, DbErr, QueryResult, Schema, Statement,
};
use sea_orm_migration::seaql_migrations;
use serde::Serialize;

/// A row of the main tracking table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AppliedRow {
    /// The revision's id.
    pub version: String,
    /// Unix seconds, as sea-orm-migration records it.
    pub applied_at: i64,
}

/// A row of the side table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetaRow {
    /// The revision's id.
    pub version: String,
    /// How long its `up` took, in whole milliseconds; `None` if not recorded (stamped
    /// before, or applied by sea-orm-migration).
    pub execution_ms: Option<i64>,
    /// When it was applied, in Unix milliseconds; `None` if not recorded.
    pub applied_at_ms: Option<i64>,
    /// Who applied it (`cargo-migrate/<version> user@host`); `None` if not recorded.
    pub applied_by: Option<String>,
    /// The checksum of its source when it was applied; `None` if not recorded.
    pub checksum: Option<String>,
    /// The last failure of this revision, if it has not succeeded since.
    pub failure: Option<Failure>,
}

/// A step that failed, or that is under way where nothing could roll it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Failure {
    /// `up` or `down`.
    pub direction: String,
    /// Unix milliseconds.
    pub failed_at_ms: i64,
    /// The database's message (free of secrets), or why the step is marked.
    pub error: String,
    /// False when the step ran outside a transaction (MySQL DDL, or a migration that
    /// opted out): part of it may have been applied.
    pub transactional: bool,
}

/// What the database says: the applied rows and their side facts.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// The main table's rows, in the order read.
    pub applied: Vec<AppliedRow>,
    /// The side table's rows, by version.
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

/// The side-table columns a failure sets (the revision's other facts are kept).
const FAILURE_COLUMNS: [&str; 5] = [
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
        // One-off DDL: sent as it is, not prepared, so it takes no place in the driver's
        // cache of prepared statements.
        for ddl in self.install_sql(db.get_database_backend()) {
            db.execute_unprepared(&ddl).await?;
        }
        Ok(())
    }

    /// The two `CREATE TABLE IF NOT EXISTS` of [`Tracking::install`], as SQL for `backend`.
    pub fn install_sql(&self, backend: DbBackend) -> [String; 2] {
        let mut main = Schema::new(backend).create_table_from_entity(seaql_migrations::Entity);
        main.table(Alias::new(&self.table)).if_not_exists();
        [
            backend.build(&main).to_string(),
            backend.build(&self.meta_ddl()).to_string(),
        ]
    }

    /// A script's statements that record `version` as applied (with the database's own
    /// clock, when the script runs), or as reverted without `applied`: the rows a real
    /// step writes, but no execution time (nobody measures a script's statements).
    pub fn script_record(
        &self,
        backend: DbBackend,
        version: &str,
        applied: Option<(&str, Option<&str>)>,
    ) -> Vec<String> {
        let (t, m, v) = (
            quote(backend, &self.table),
            quote(backend, &self.meta),
            literal(backend, version),
        );
        let col = |c: &str| quote(backend, c);
        let Some((applied_by, checksum)) = applied else {
            return vec![
                format!("DELETE FROM {t} WHERE {} = {v}", col("version")),
                format!("DELETE FROM {m} WHERE {} = {v}", col("version")),
            ];
        };
        let (secs, ms) = clock(backend);
        let checksum = checksum.map_or("NULL".to_string(), |c| literal(backend, c));
        let facts = [
            "version",
            "applied_at_ms",
            "applied_by",
            "checksum",
            "updated_at_ms",
        ];
        vec![
            format!(
                "INSERT INTO {t} ({}, {}) VALUES ({v}, {secs})",
                col("version"),
                col("applied_at")
            ),
            // a side row left by an earlier failure goes: the step succeeded
            format!("DELETE FROM {m} WHERE {} = {v}", col("version")),
            format!(
                "INSERT INTO {m} ({}) VALUES ({v}, {ms}, {}, {checksum}, {ms})",
                joined(&facts, col),
                literal(backend, applied_by),
            ),
        ]
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
        // A name in another case is the same table wherever the database says so:
        // SQLite always, MySQL/MariaDB on servers that fold names (and where they keep
        // them apart, reading the table fails loudly). Missing it would read as an empty
        // history and run every migration again. PostgreSQL keeps quoted names apart.
        let sql = match backend {
            DbBackend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master \
                 WHERE type = 'table' AND name = ? COLLATE NOCASE"
            }
            // Where sea-orm-migration looks, and where `install` creates it: the first
            // schema of the search path (`-s/--database-schema`).
            DbBackend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_name = $1 AND table_schema = current_schema()"
            }
            _ => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE LOWER(table_name) = LOWER(?) AND table_schema = DATABASE()"
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
                let meta = read_meta_row(&row)?;
                recorded.meta.insert(meta.version.clone(), meta);
            }
        }
        Ok(recorded)
    }

    /// The applied rows with what decides whether anything is left to do, in one
    /// query, for an application starting (it runs on every start of every replica):
    /// each applied version with its checksum and its recorded failure's direction and
    /// kind. Other side facts (times, who applied it, the failure's message) are left
    /// out, and so is a failure recorded for a revision that is not applied (that
    /// revision is pending anyway). Fails when either table is missing;
    /// [`Tracking::read`] then tells the whole story.
    pub async fn read_applied_in_one_query<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<Recorded, DbErr> {
        let (t, m) = (Alias::new("t"), Alias::new("m"));
        let mut select = Query::select();
        for (table, column) in [
            (&t, "version"),
            (&t, "applied_at"),
            (&m, "checksum"),
            (&m, "failed_direction"),
            (&m, "failed_transactional"),
        ] {
            select.expr_as(
                Expr::col((table.clone(), Alias::new(column))),
                Alias::new(column),
            );
        }
        select.from_as(Alias::new(&self.table), t.clone()).join_as(
            JoinType::LeftJoin,
            Alias::new(&self.meta),
            m.clone(),
            Expr::col((m.clone(), Alias::new("version")))
                .equals((t.clone(), Alias::new("version"))),
        );
        let mut recorded = Recorded::default();
        for row in db.query_all(&select).await? {
            let version: String = row.try_get_by_index(0)?;
            let checksum: Option<String> = row.try_get_by_index(2)?;
            let failed: Option<String> = row.try_get_by_index(3)?;
            recorded.applied.push(AppliedRow {
                version: version.clone(),
                applied_at: row.try_get_by_index(1)?,
            });
            if checksum.is_some() || failed.is_some() {
                let failure = match failed {
                    Some(direction) => Some(Failure {
                        direction,
                        failed_at_ms: 0,
                        error: String::new(),
                        transactional: row.try_get_by_index::<Option<bool>>(4)?.unwrap_or(true),
                    }),
                    None => None,
                };
                let meta = MetaRow {
                    version: version.clone(),
                    checksum,
                    failure,
                    ..MetaRow::default()
                };
                recorded.meta.insert(version, meta);
            }
        }
        recorded.applied.sort_by(|a, b| a.version.cmp(&b.version));
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

    /// Records `version` as applied, with its facts, clearing any failure (one round
    /// trip, inside the caller's transaction if it has one).
    pub async fn record_applied<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
        facts: &StepFacts,
    ) -> Result<(), DbErr> {
        self.record(db, version, Some(facts), None, false).await
    }

    /// Removes `version` from the applied set, with its side facts (one round trip).
    pub async fn record_reverted<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
    ) -> Result<(), DbErr> {
        self.record(db, version, None, None, false).await
    }

    /// Records a finished step in one round trip: `version` applied with `facts`
    /// (clearing its failure), or reverted when `facts` is `None`; and, with `next`,
    /// the in-progress mark of the step that runs next (MySQL: written in the same
    /// transaction, so it costs no commit of its own). `own_transaction`: the caller has
    /// no transaction open, and the rows are written in one of their own (PostgreSQL's
    /// one statement is one already), so a step's record is never half written: a kill
    /// between its rows would leave it applied yet marked interrupted.
    pub async fn record<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
        facts: Option<&StepFacts>,
        next: Option<(&str, &Failure)>,
        own_transaction: bool,
    ) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        if backend == DbBackend::MySql {
            return self
                .mysql_record_all(db, version, facts, next, own_transaction)
                .await;
        }
        let stmt = self.record_statement(backend, version, facts, own_transaction);
        let result = db.execute_raw(stmt).await;
        if result.is_err() && own_transaction && backend == DbBackend::Sqlite {
            // a statement failed: the rest did not run, the transaction is still open
            let _ = db.execute_unprepared("ROLLBACK").await;
        }
        result?;
        if let Some((next, failure)) = next {
            self.record_failure(db, next, failure).await?;
        }
        Ok(())
    }

    /// MySQL: [`Tracking::record`] in one text query.
    async fn mysql_record_all<C: ConnectionTrait>(
        &self,
        db: &C,
        version: &str,
        facts: Option<&StepFacts>,
        next: Option<(&str, &Failure)>,
        own_transaction: bool,
    ) -> Result<(), DbErr> {
        // Several statements in one text query (the driver allows it); the values
        // are written into the SQL as literals that no SQL mode can misread.
        let mut sql = String::new();
        if own_transaction {
            sql.push_str("START TRANSACTION;\n");
        }
        sql.push_str(&self.mysql_record(version, facts, now_ms()));
        if let Some((next, failure)) = next {
            sql.push_str(&self.mysql_failure(next, failure, now_ms()));
        }
        if own_transaction {
            sql.push_str("COMMIT");
        }
        crate::model::sql::note_unprepared(&sql);
        let result = db.execute_unprepared(&sql).await;
        if result.is_err() && own_transaction {
            // a statement failed: the rest did not run, the transaction is still open
            let _ = db.execute_unprepared("ROLLBACK").await;
        }
        result?;
        Ok(())
    }

    /// PostgreSQL and SQLite: the one statement that records `version` as applied (or
    /// reverted, without `facts`); on SQLite wrapped in `BEGIN IMMEDIATE`/`COMMIT` when
    /// `own_transaction`.
    fn record_statement(
        &self,
        backend: DbBackend,
        version: &str,
        facts: Option<&StepFacts>,
        own_transaction: bool,
    ) -> Statement {
        let now = now_ms();
        let (t, m) = (quote(backend, &self.table), quote(backend, &self.meta));
        let (begin, commit) = if own_transaction && backend == DbBackend::Sqlite {
            ("BEGIN IMMEDIATE; ", "; COMMIT")
        } else {
            ("", "")
        };
        match (backend, facts) {
            (DbBackend::Postgres, Some(facts)) => Statement::from_sql_and_values(
                backend,
                format!(
                    "WITH applied AS (INSERT INTO {t} (version, applied_at) VALUES ($1, $2)) \
                     INSERT INTO {m} ({}) VALUES ($1, $3, $4, $5, $6, NULL, NULL, NULL, NULL, $4) \
                     ON CONFLICT (version) DO UPDATE SET {}",
                    META_COLUMNS.join(", "),
                    excluded(&META_COLUMNS[1..])
                ),
                [
                    version.into(),
                    (now / 1000).into(),
                    facts.execution_ms.into(),
                    now.into(),
                    facts.applied_by.clone().into(),
                    facts.checksum.clone().into(),
                ],
            ),
            (DbBackend::Postgres, None) => Statement::from_sql_and_values(
                backend,
                format!(
                    "WITH reverted AS (DELETE FROM {t} WHERE version = $1) \
                     DELETE FROM {m} WHERE version = $1"
                ),
                [version.into()],
            ),
            // SQLite runs every statement of the text, binding `?`s in order.
            (_, Some(facts)) => Statement::from_sql_and_values(
                backend,
                format!(
                    "{begin}INSERT INTO {t} (version, applied_at) VALUES (?, ?); \
                     INSERT INTO {m} ({}) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?) \
                     ON CONFLICT (version) DO UPDATE SET {}{commit}",
                    META_COLUMNS.join(", "),
                    excluded(&META_COLUMNS[1..])
                ),
                [
                    version.into(),
                    (now / 1000).into(),
                    version.into(),
                    facts.execution_ms.into(),
                    now.into(),
                    facts.applied_by.clone().into(),
                    facts.checksum.clone().into(),
                    now.into(),
                ],
            ),
            (_, None) => Statement::from_sql_and_values(
                backend,
                format!(
                    "{begin}DELETE FROM {t} WHERE version = ?; \
                     DELETE FROM {m} WHERE version = ?{commit}"
                ),
                [version.into(), version.into()],
            ),
        }
    }

    /// MySQL: the statements that record `version` as applied (or reverted, without
    /// `facts`), each ending with `;`.
    fn mysql_record(&self, version: &str, facts: Option<&StepFacts>, now: i64) -> String {
        let (t, m) = (
            quote(DbBackend::MySql, &self.table),
            quote(DbBackend::MySql, &self.meta),
        );
        let v = mysql_string(version);
        let Some(facts) = facts else {
            return format!(
                "DELETE FROM {t} WHERE `version` = {v};\nDELETE FROM {m} WHERE `version` = {v};\n"
            );
        };
        format!(
            "INSERT INTO {t} (`version`, `applied_at`) VALUES ({v}, {});\n\
             INSERT INTO {m} ({}) VALUES ({v}, {}, {now}, {}, {}, NULL, NULL, NULL, NULL, {now}) \
             ON DUPLICATE KEY UPDATE {};\n",
            now / 1000,
            mysql_columns(&META_COLUMNS),
            facts.execution_ms,
            mysql_string(&facts.applied_by),
            facts
                .checksum
                .as_deref()
                .map_or("NULL".to_string(), mysql_string),
            mysql_update(&META_COLUMNS[1..]),
        )
    }

    /// MySQL: the statement that records `failure` for `version`, keeping its other facts.
    fn mysql_failure(&self, version: &str, failure: &Failure, now: i64) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({}, NULL, NULL, NULL, NULL, {}, {}, {}, {}, {now}) \
             ON DUPLICATE KEY UPDATE {};\n",
            quote(DbBackend::MySql, &self.meta),
            mysql_columns(&META_COLUMNS),
            mysql_string(version),
            mysql_string(&failure.direction),
            failure.failed_at_ms,
            mysql_string(&failure.error),
            i32::from(failure.transactional),
            mysql_update(&FAILURE_COLUMNS),
        )
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
        self.upsert_meta_columns(db, values, &FAILURE_COLUMNS).await
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

/// A name, quoted for `backend`.
pub(crate) fn quote(backend: DbBackend, name: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// Each of `columns` as `each` writes it, separated by commas.
fn joined(columns: &[&str], each: impl Fn(&str) -> String) -> String {
    columns
        .iter()
        .map(|c| each(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `c = EXCLUDED.c, ...` (PostgreSQL and SQLite upserts).
fn excluded(columns: &[&str]) -> String {
    joined(columns, |c| format!("{c} = EXCLUDED.{c}"))
}

/// `` `c`, ... `` (MySQL column lists).
fn mysql_columns(columns: &[&str]) -> String {
    joined(columns, |c| format!("`{c}`"))
}

/// `` `c` = VALUES(`c`), ... `` (MySQL upserts).
fn mysql_update(columns: &[&str]) -> String {
    joined(columns, |c| format!("`{c}` = VALUES(`{c}`)"))
}

/// A MySQL string literal that reads the same under every SQL mode (`ANSI_QUOTES`,
/// `NO_BACKSLASH_ESCAPES`) and connection character set: as it is when it has no quote,
/// backslash or other special character (a revision id, `user@host`), else its UTF-8
/// bytes in hex.
fn mysql_string(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || " _-.:@/()+,=#".contains(c);
    if s.chars().all(plain) {
        return format!("'{s}'");
    }
    let hex: String = s.bytes().map(|b| format!("{b:02X}")).collect();
    format!("_utf8mb4 X'{hex}'")
}

/// A string literal for `backend` (MySQL: see [`mysql_string`]).
fn literal(backend: DbBackend, s: &str) -> String {
    match backend {
        DbBackend::MySql => mysql_string(s),
        _ => format!("'{}'", s.replace('\'', "''")),
    }
}

/// The database's clock, as SQL: Unix seconds (`applied_at`) and Unix milliseconds.
fn clock(backend: DbBackend) -> (&'static str, &'static str) {
    match backend {
        DbBackend::Postgres => (
            "EXTRACT(EPOCH FROM now())::bigint",
            "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint",
        ),
        DbBackend::MySql => (
            "UNIX_TIMESTAMP()",
            "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
        ),
        _ => (
            "CAST(strftime('%s', 'now') AS INTEGER)",
            "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        ),
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A side-table row read by `SELECT` of [`META_COLUMNS`].
fn read_meta_row(row: &QueryResult) -> Result<MetaRow, DbErr> {
    let version = row.try_get("", "version")?;
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
    Ok(MetaRow {
        version,
        execution_ms: row.try_get("", "execution_ms")?,
        applied_at_ms: row.try_get("", "applied_at_ms")?,
        applied_by: row.try_get("", "applied_by")?,
        checksum: row.try_get("", "checksum")?,
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_literals_cannot_be_misread() {
        assert_eq!(
            mysql_string("m20260101_000001_init"),
            "'m20260101_000001_init'"
        );
        assert_eq!(mysql_string(""), "''");
        assert_eq!(mysql_string("root@host (stamp)"), "'root@host (stamp)'");
        // quotes, backslashes, semicolons and non-ASCII text go in hex
        assert_eq!(mysql_string("a'b"), "_utf8mb4 X'612762'");
        assert_eq!(
            mysql_string("\\'; DROP TABLE x; --"),
            format!(
                "_utf8mb4 X'{}'",
                "\\'; DROP TABLE x; --"
                    .bytes()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
            )
        );
        assert_eq!(mysql_string("é"), "_utf8mb4 X'C3A9'");
    }

    #[test]
    fn a_mysql_record_is_one_text_of_whole_statements() {
        let t = Tracking::new("my`table");
        let facts = StepFacts {
            execution_ms: 7,
            applied_by: "it's me".to_string(),
            checksum: None,
        };
        let sql = t.mysql_record("v1", Some(&facts), 1_000_000);
        assert!(
            sql.starts_with(
                "INSERT INTO `my``table` (`version`, `applied_at`) VALUES ('v1', 1000);"
            ),
            "{sql}"
        );
        assert!(sql.contains("INSERT INTO `my``table_meta`"), "{sql}");
        assert!(!sql.contains("it's"), "{sql}");
        assert_eq!(sql.matches(";\n").count(), 2, "{sql}");
        let reverted = t.mysql_record("v1", None, 0);
        assert_eq!(reverted.matches("DELETE FROM").count(), 2, "{reverted}");
    }
}
