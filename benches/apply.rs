//! Apply N generated one-table migrations to a fresh database, side by side in one
//! run: sea-orm-migration's own `Migrator::up` and cargo-migrate's `upgrade head`, on
//! SQLite and PostgreSQL (and MySQL/MariaDB when reachable).
//! Run: `cargo bench --bench apply` (`BENCH_MIGRATIONS`, `BENCH_ROUNDS` to change sizes).
//!
//! Both sides get the same connection (`Db::connect`, one pooled connection), opened
//! before the clock starts. Ours does more per migration: a transaction on SQLite too,
//! the side-table row (execution time, who applied it), and the migration lock.

use std::time::Instant;

use cargo_migrate::db::{ConnectOptionsExt, Db};
use cargo_migrate::runtime::Quiet;
use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database, DbErr};
use cargo_migrate::sea_orm_migration::{
    MigrationName, MigrationTrait, MigratorTrait, SchemaManager, async_trait,
};
use cargo_migrate::{DbUrl, Revision, Runtime, WriteOptions};

fn count() -> usize {
    std::env::var("BENCH_MIGRATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

struct Trivial {
    name: String,
    sql: String,
}

impl MigrationName for Trivial {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Trivial {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&self.sql)
            .await?;
        Ok(())
    }
}

fn generated() -> Vec<Trivial> {
    (0..count())
        .map(|i| Trivial {
            name: format!("m20260101_{:06}_t{i:05}", i),
            sql: format!("CREATE TABLE t{i:05} (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"),
        })
        .collect()
}

struct SeaOrm;

impl MigratorTrait for SeaOrm {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        generated()
            .into_iter()
            .map(|m| Box::new(m) as Box<dyn MigrationTrait>)
            .collect()
    }
}

fn ours() -> Runtime {
    let migrations = generated();
    let ids: Vec<String> = migrations.iter().map(|m| m.name.clone()).collect();
    let revisions = migrations
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let parents: Vec<&str> = if i == 0 {
                vec![]
            } else {
                vec![ids[i - 1].as_str()]
            };
            Revision::new(m, &parents)
        })
        .collect();
    Runtime::new(revisions, "seaql_migrations").expect("graph")
}

/// A fresh database URL, and how to drop it.
async fn fresh(admin: &str, n: usize, dir: &std::path::Path) -> Option<(String, Option<String>)> {
    if admin.starts_with("sqlite") {
        return Some((format!("sqlite://{}/bench{n}.db", dir.display()), None));
    }
    let conn = Database::connect(admin).await.ok()?;
    let name = format!("bench_{}_{n}", std::process::id());
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .ok()?;
    let (base, _) = admin.rsplit_once('/')?;
    Some((format!("{base}/{name}"), Some(name)))
}

async fn drop_db(admin: &str, name: Option<String>) {
    if let (Some(name), Ok(conn)) = (name, Database::connect(admin).await) {
        let _ = conn
            .execute_unprepared(&format!("DROP DATABASE {name}"))
            .await;
    }
}

async fn timed(url: &str, ours_side: bool, rt: &Runtime) -> f64 {
    let db = Db::connect(
        &DbUrl::parse(url).expect("url"),
        ConnectOptionsExt {
            write: true,
            ..Default::default()
        },
    )
    .await
    .expect("connect");
    let start = Instant::now();
    if ours_side {
        rt.upgrade(&db, "head", &WriteOptions::default(), &mut Quiet)
            .await
            .expect("upgrade");
    } else {
        SeaOrm::up(db.connection(), None)
            .await
            .expect("Migrator::up");
    }
    let secs = start.elapsed().as_secs_f64();
    db.close().await;
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = ours();
    let backends = [
        ("SQLite", "sqlite".to_string()),
        (
            "PostgreSQL",
            std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        ),
        (
            "MariaDB",
            std::env::var("TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
        ),
    ];
    println!(
        "| backend | migrations | sea-orm-migration `Migrator::up` | cargo-migrate `upgrade head` | ratio |"
    );
    println!("|---|---|---|---|---|");
    tokio.block_on(async {
        let mut n = 0;
        for (label, admin) in &backends {
            let (mut theirs, mut mine) = (Vec::new(), Vec::new());
            for round in 0..rounds {
                for ours_first in [round % 2 == 0, round % 2 != 0] {
                    n += 1;
                    let Some((url, name)) = fresh(admin, n, dir.path()).await else {
                        println!("| {label} | skipped: no server at {admin} | | | |");
                        break;
                    };
                    let secs = timed(&url, ours_first, &rt).await;
                    if ours_first {
                        mine.push(secs)
                    } else {
                        theirs.push(secs)
                    }
                    drop_db(admin, name).await;
                }
            }
            if theirs.is_empty() || mine.is_empty() {
                continue;
            }
            let (t, m) = (median(theirs), median(mine));
            println!(
                "| {label} | {} | {t:.2} s | {m:.2} s | {:.2}× |",
                count(),
                m / t
            );
        }
    });
}
