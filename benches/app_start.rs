//! What an application pays at start when its database is already at head, with N
//! applied migrations (default 1,000), side by side in one run, on the application's
//! own pool (`Database::connect` with sea-orm's defaults, opened before the clock):
//!
//! - **floor**: one round trip, `SELECT 1` on the same pool;
//! - sea-orm-migration's `Migrator::up(&db, None)`: what the README used to advise (it
//!   takes no lock);
//! - cargo-migrate's `cargo_migrate::upgrade::<M>(&db)`: the lock-free answer from one
//!   query;
//! - a **fleet**: 8 replicas starting at once (each connects its pool, calls
//!   `cargo_migrate::upgrade`, closes), against one replica starting alone; and the same
//!   call by 8 replicas whose pools are open already (only the call's own cost).
//!
//! The contenders alternate call by call; each figure is the median of `BENCH_ROUNDS`
//! calls (default 200; 30 fleet rounds).
//!
//! Run: `cargo bench --bench app_start`. `BENCH_MIGRATIONS`, `BENCH_ROUNDS` and
//! `BENCH_BACKENDS` (default `postgres,mysql,sqlite`) change what runs;
//! `TEST_POSTGRES_URL` and `TEST_MYSQL_URL` name the servers (each run creates and drops
//! its own database).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbErr,
};
use cargo_migrate::sea_orm_migration::{
    MigrationName, MigrationTrait, MigratorTrait, SchemaManager, async_trait,
};
use cargo_migrate::{Migrations, Revision};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn id(i: usize) -> String {
    format!("m20260101_{i:06}_step_{i:05}")
}

/// A migration whose body is one cheap statement: only the tracking rows matter here.
struct Step(String);

impl MigrationName for Step {
    fn name(&self) -> &str {
        &self.0
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Step {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("SELECT 1")
            .await?;
        Ok(())
    }
}

fn steps() -> Vec<Step> {
    (0..env_usize("BENCH_MIGRATIONS", 1000))
        .map(|i| Step(id(i)))
        .collect()
}

/// The N migrations as cargo-migrate's graph (a chain).
struct Chain;

impl Migrations for Chain {
    fn revisions() -> Vec<Revision> {
        let steps = steps();
        let ids: Vec<String> = steps.iter().map(|s| s.0.clone()).collect();
        steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let parent: Vec<&str> = if i == 0 { vec![] } else { vec![&ids[i - 1]] };
                Revision::new(s, &parent)
            })
            .collect()
    }
}

/// The same N migrations as sea-orm-migration's list.
struct SeaOrm;

impl MigratorTrait for SeaOrm {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        steps()
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn MigrationTrait>)
            .collect()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

async fn bench(backend: &str, admin: &str, rounds: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (url, name) = common::databases::fresh(admin, "bench_app_start", 0, dir.path()).await?;
    let result = async {
        let db = Database::connect(&url).await.map_err(|e| e.to_string())?;
        let first = cargo_migrate::upgrade::<Chain>(&db)
            .await
            .map_err(|e| e.to_string())?;
        let n = first.applied.len();
        let (mut floor, mut theirs, mut ours) = (vec![], vec![], vec![]);
        for _ in 0..rounds {
            let t = Instant::now();
            db.execute_unprepared("SELECT 1")
                .await
                .map_err(|e| e.to_string())?;
            floor.push(ms(t));
            let t = Instant::now();
            SeaOrm::up(&db, None).await.map_err(|e| e.to_string())?;
            theirs.push(ms(t));
            let t = Instant::now();
            let report = cargo_migrate::upgrade::<Chain>(&db)
                .await
                .map_err(|e| e.to_string())?;
            ours.push(ms(t));
            assert!(report.up_to_date && report.applied.is_empty());
        }
        // A replica's start: its pool's first connection, then the call.
        let (mut alone, mut fleet) = (vec![], vec![]);
        for _ in 0..30 {
            let t = Instant::now();
            start_one(url.clone()).await?;
            alone.push(ms(t));
            let t = Instant::now();
            let all = (0..8)
                .map(|_| tokio::spawn(start_one(url.clone())))
                .collect::<Vec<_>>();
            for h in all {
                h.await.map_err(|e| e.to_string())??;
            }
            fleet.push(ms(t));
        }
        // The same call by 8 replicas whose pools are already open: what the server
        // and the client's CPU cost when nothing else does.
        let pools = open_pools(&url, 8).await?;
        let (mut call, mut calls) = (vec![], vec![]);
        for _ in 0..30 {
            let t = Instant::now();
            call_one(pools[0].clone()).await?;
            call.push(ms(t));
            let t = Instant::now();
            let all = pools
                .iter()
                .map(|db| tokio::spawn(call_one(db.clone())))
                .collect::<Vec<_>>();
            for h in all {
                h.await.map_err(|e| e.to_string())??;
            }
            calls.push(ms(t));
        }
        let (floor, theirs, ours) = (median(floor), median(theirs), median(ours));
        let (alone, fleet) = (median(alone), median(fleet));
        let (call, calls) = (median(call), median(calls));
        println!(
            "| {backend} | {n} | {floor:.2} ms | {theirs:.2} ms | {ours:.2} ms | {:+.2} ms | {alone:.1} ms | {fleet:.1} ms | {:.2}x | {:.2}x |",
            ours - floor,
            fleet / alone,
            calls / call
        );
        Ok(())
    }
    .await;
    common::databases::drop(admin, name).await;
    result
}

/// One call on an open pool.
async fn call_one(db: DatabaseConnection) -> Result<(), String> {
    cargo_migrate::upgrade::<Chain>(&db)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `n` pools on `url`, each with a connection open.
async fn open_pools(url: &str, n: usize) -> Result<Vec<DatabaseConnection>, String> {
    let mut pools = Vec::with_capacity(n);
    for _ in 0..n {
        let db = Database::connect(url).await.map_err(|e| e.to_string())?;
        db.execute_unprepared("SELECT 1")
            .await
            .map_err(|e| e.to_string())?;
        pools.push(db);
    }
    Ok(pools)
}

/// One replica starting: connects its pool (sea-orm's defaults), upgrades, closes.
async fn start_one(url: String) -> Result<(), String> {
    let db = Database::connect(&url).await.map_err(|e| e.to_string())?;
    cargo_migrate::upgrade::<Chain>(&db)
        .await
        .map_err(|e| e.to_string())?;
    let _ = db.close().await;
    Ok(())
}

fn main() {
    let rounds = env_usize("BENCH_ROUNDS", 200);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or("postgres,mysql,sqlite".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| backend | applied | floor: `SELECT 1` | sea-orm-migration `Migrator::up` | `cargo_migrate::upgrade` | ours − floor | one replica starts | 8 start at once | 8 / 1 | 8 calls on open pools / 1 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for backend in backends.split(',') {
        let admin = match backend {
            "postgres" => std::env::var("TEST_POSTGRES_URL")
                .unwrap_or("postgres://postgres@127.0.0.1:5432/test".into()),
            "mysql" => {
                std::env::var("TEST_MYSQL_URL").unwrap_or("mysql://root@127.0.0.1:3306/test".into())
            }
            _ => "sqlite".to_string(),
        };
        if let Err(e) = runtime.block_on(bench(backend, &admin, rounds)) {
            println!("| {backend} | skipped: {e} |");
        }
    }
}
