//! What seeing a plan before running it costs, on N generated migrations written as the
//! `default` template writes them (sea-query schema builders: a table with a key, a
//! column and an index each):
//!
//! - **`--sql`**: `Runtime::script` from base to head and the script's text, with no
//!   database, on each backend, each migration's source checksummed as the binary does
//!   (the binary's `upgrade --sql` is this plus its start-up, which `subcommand`
//!   measures with a no-op `current`);
//! - **`--dry-run` against a real `upgrade`** of the same plan on a fresh database,
//!   interleaved: on PostgreSQL and SQLite in one transaction rolled back, on
//!   MySQL/MariaDB in a scratch database.
//!
//! Run: `cargo bench --bench preview`. `BENCH_MIGRATIONS` (default 1000), `BENCH_ROUNDS`
//! (default 5), `BENCH_BACKENDS` (default `sqlite,postgres,mysql`); `TEST_POSTGRES_URL` and
//! `TEST_MYSQL_URL` name the servers (each round creates and drops its own database).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use cargo_migrate::sea_orm_migration::prelude::*;
use cargo_migrate::sea_orm_migration::schema::{pk_auto, string};
use cargo_migrate::sea_orm_migration::sea_orm::DbBackend;
use cargo_migrate::{
    Db, DbOptions, DbUrl, DryGoal, DryRunOptions, Goal, Quiet, Revision, Runtime, Spec, Start,
    WriteOptions,
};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn count() -> usize {
    env_or("BENCH_MIGRATIONS", "1000").parse().unwrap_or(1000)
}

/// A migration as the `default` template writes one.
struct Templated {
    name: String,
    table: String,
}

impl MigrationName for Templated {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Templated {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new(&self.table))
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string("name"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(format!("idx_{}_name", self.table))
                    .table(Alias::new(&self.table))
                    .col("name")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new(&self.table)).to_owned())
            .await
    }
}

fn runtime() -> Runtime {
    let ids: Vec<String> = (0..count())
        .map(|i| format!("m20260101_{i:06}_t{i:05}"))
        .collect();
    let revisions = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let parents: Vec<&str> = if i == 0 {
                vec![]
            } else {
                vec![ids[i - 1].as_str()]
            };
            let m = Templated {
                name: id.clone(),
                table: format!("t{i:05}"),
            };
            // its source, as the crate compiles it in: checksummed into the script
            let source = SOURCE.replace("t00000", &format!("t{i:05}"));
            Revision::new(m, &parents).with_source(Box::leak(source.into_boxed_str()))
        })
        .collect();
    Runtime::new(revisions, "seaql_migrations").expect("graph")
}

/// A migration's source as the `default` template writes it (what a checksum reads).
const SOURCE: &str = r#"//! Create t00000.

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of.
pub const REVISES: &[&str] = &["m20260101_000000_t00000"];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260101_000000_t00000"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("t00000")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string("name"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_t00000_name")
                    .table("t00000")
                    .col("name")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("t00000").to_owned())
            .await
    }
}
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Seconds of a real `upgrade head` (`dry`: a dry run of it) on a fresh database.
async fn apply(rt: &Runtime, url: &str, dry: bool) -> f64 {
    let write = DbOptions {
        write: true,
        ..Default::default()
    };
    let db = Db::connect(&DbUrl::parse(url).expect("url"), write)
        .await
        .expect("connect");
    let opts = WriteOptions::default();
    let start = Instant::now();
    if dry {
        let goal = DryGoal::Upgrade(Spec::Head);
        rt.dry_run(&db, &goal, &opts, &DryRunOptions::default(), &mut Quiet)
            .await
            .expect("dry run");
    } else {
        rt.upgrade(&db, "head", &opts, &mut Quiet)
            .await
            .expect("upgrade");
    }
    let secs = start.elapsed().as_secs_f64();
    db.close().await;
    secs
}

fn main() {
    let rounds: usize = env_or("BENCH_ROUNDS", "5").parse().unwrap_or(5);
    let wanted = env_or("BENCH_BACKENDS", "sqlite,postgres,mysql");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let backends = [
        ("SQLite", "sqlite", DbBackend::Sqlite, "sqlite".to_string()),
        (
            "PostgreSQL",
            "postgres",
            DbBackend::Postgres,
            env_or(
                "TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
        ),
        (
            "MariaDB",
            "mysql",
            DbBackend::MySql,
            env_or("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        ),
    ];
    println!(
        "| backend | migrations | `--sql` script (no database) | script size | `upgrade head` | `upgrade --dry-run` | dry run / upgrade |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    tokio.block_on(async {
        let mut n = 0;
        for (label, key, backend, admin) in &backends {
            if !wanted.split(',').any(|w| w.trim() == *key) {
                continue;
            }
            let mut script_secs = Vec::new();
            let mut size = 0;
            for _ in 0..rounds {
                let start = Instant::now();
                let script = rt
                    .script(
                        *backend,
                        Start::Base,
                        &Goal::Upgrade(Spec::Head),
                        &WriteOptions::default(),
                    )
                    .await
                    .expect("script");
                let text = script.to_string();
                script_secs.push(start.elapsed().as_secs_f64());
                size = text.len();
            }
            let (mut real, mut dry) = (Vec::new(), Vec::new());
            'rounds: for round in 0..rounds {
                // interleaved, the order alternating from round to round
                for k in 0..2 {
                    let is_dry = (round + k) % 2 == 1;
                    n += 1;
                    let (url, name) =
                        match common::databases::fresh(admin, "preview", n, dir.path()).await {
                            Ok(f) => f,
                            Err(why) => {
                                notes.push(format!("{label}: database runs left out ({why})"));
                                break 'rounds;
                            }
                        };
                    let secs = apply(&rt, &url, is_dry).await;
                    if is_dry { &mut dry } else { &mut real }.push(secs);
                    common::databases::drop(admin, name).await;
                }
            }
            let ms = |s: f64| format!("{:.0} ms", s * 1000.0);
            let (s, r, d) = (median(script_secs), median(real), median(dry));
            println!(
                "| {label} | {} | {} | {:.0} KiB | {} | {} | {:.2}× |",
                count(),
                ms(s),
                size as f64 / 1024.0,
                if r.is_nan() { "–".to_string() } else { ms(r) },
                if d.is_nan() { "–".to_string() } else { ms(d) },
                d / r
            );
        }
    });
    for note in notes {
        println!("\n{note}");
    }
}
