//! What the runtime tests read back from a database: a connection for writing, the
//! applied revisions, the test tables (`t_*`).
#![allow(dead_code)]

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use cargo_migrate::{Db, DbOptions};
use cargo_migrate::{DbUrl, Runtime, WriteOptions};

use crate::support::TestDb;

/// A connection to `url` with `opts`.
pub async fn connect_with(url: &str, opts: DbOptions) -> Db {
    Db::connect(&DbUrl::parse(url).expect("url"), opts)
        .await
        .expect("connect")
}

/// A connection to the test's database for writing.
pub async fn connect(db: &TestDb) -> Db {
    let write = DbOptions {
        write: true,
        ..Default::default()
    };
    connect_with(&db.url, write).await
}

/// The applied revisions, sorted.
pub async fn applied(rt: &Runtime, db: &Db) -> Vec<String> {
    let mut v: Vec<String> = rt
        .state(db)
        .await
        .expect("state")
        .recorded
        .applied
        .into_iter()
        .map(|r| r.version)
        .collect();
    v.sort();
    v
}

/// The tables whose name starts with `t_`, sorted.
pub async fn tables(db: &Db) -> Vec<String> {
    let sql = match db.backend() {
        DbBackend::Sqlite => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name LIKE 't\\_%' ESCAPE '\\' ORDER BY name"
        }
        DbBackend::Postgres => {
            "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 't\\_%' ORDER BY table_name"
        }
        _ => {
            "SELECT CAST(table_name AS CHAR) AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 't\\_%' ORDER BY table_name"
        }
    };
    db.connection()
        .query_all_raw(Statement::from_string(db.backend(), sql))
        .await
        .expect("list tables")
        .into_iter()
        .map(|r| r.try_get::<String>("", "t").expect("t"))
        .collect()
}

pub fn opts() -> WriteOptions {
    WriteOptions::default()
}

/// The steps of a verb, or why it failed.
type Steps = Result<Vec<cargo_migrate::StepOutcome>, cargo_migrate::Error>;

/// `upgrade` to `spec` with the default options, quietly.
pub async fn upgrade(rt: &Runtime, db: &Db, spec: &str) -> Steps {
    rt.upgrade(db, spec, &opts(), &mut cargo_migrate::Quiet)
        .await
}

/// `downgrade` to `spec` with the default options, quietly.
pub async fn downgrade(rt: &Runtime, db: &Db, spec: &str) -> Steps {
    rt.downgrade(db, spec, &opts(), &mut cargo_migrate::Quiet)
        .await
}

/// `stamp` to `revision` (purging unknown ones or not) with the default options, quietly.
pub async fn stamp(
    rt: &Runtime,
    db: &Db,
    revision: &str,
    purge: bool,
) -> Result<cargo_migrate::StampOutcome, cargo_migrate::Error> {
    let revisions = [revision.to_string()];
    rt.stamp(db, &revisions, purge, &opts(), &mut cargo_migrate::Quiet)
        .await
}

/// The revisions of the steps, in order.
pub fn ids(steps: &[cargo_migrate::StepOutcome]) -> Vec<&str> {
    steps.iter().map(|s| s.revision.as_str()).collect()
}
