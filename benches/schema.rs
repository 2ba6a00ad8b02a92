//! What schema awareness costs beyond building the crate, at realistic scale: 200
//! migrations (30 tables created, then 170 columns added, one per migration) and 30
//! SeaORM entities describing the result, on each backend:
//!
//! - **`check --entities` / `create --autogenerate`**: `Runtime::entity_diff` (both
//!   schemas built in one scratch database, read back, compared; the runner process
//!   adds its start-up, which `subcommand` measures with a no-op `current`);
//! - **`verify`**: `Runtime::verify` of a database at head (its 200 applied revisions
//!   replayed in a scratch database, both read, compared);
//! - beside them, the floor: `upgrade head` of the same 200 migrations on a fresh
//!   database (what any replay costs at least).
//!
//! Targets (issue 12): each adds at most 2 s on PostgreSQL and 0.5 s on SQLite.
//!
//! Run: `cargo bench --bench schema`. `BENCH_ROUNDS` (default 5), `BENCH_BACKENDS`
//! (default `sqlite,postgres,mysql`); `TEST_POSTGRES_URL` and `TEST_MYSQL_URL` name the
//! servers.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use cargo_migrate::sea_orm_migration::prelude::*;
use cargo_migrate::{
    Db, DbOptions, DbUrl, EntityDef, Quiet, Revision, Runtime, SchemaOptions, VerifyOptions,
    WriteOptions, entity,
};

const TABLES: usize = 30;
const MIGRATIONS: usize = 200;

/// Entity `t<NN>` with the columns `c<i>` the migrations add to it.
macro_rules! entity {
    ($module:ident, $table:literal, $($column:ident)*) => {
        mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                #[sea_orm(primary_key)]
                pub id: i32,
                pub name: String,
                $(pub $column: Option<i32>,)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

// Migration 30 + k adds column `c<k / 30>` to table `t<k % 30>` (k < 170): tables 0..19
// get c0..c5, tables 20..29 get c0..c4.
entity!(t00, "t00", c0 c1 c2 c3 c4 c5);
entity!(t01, "t01", c0 c1 c2 c3 c4 c5);
entity!(t02, "t02", c0 c1 c2 c3 c4 c5);
entity!(t03, "t03", c0 c1 c2 c3 c4 c5);
entity!(t04, "t04", c0 c1 c2 c3 c4 c5);
entity!(t05, "t05", c0 c1 c2 c3 c4 c5);
entity!(t06, "t06", c0 c1 c2 c3 c4 c5);
entity!(t07, "t07", c0 c1 c2 c3 c4 c5);
entity!(t08, "t08", c0 c1 c2 c3 c4 c5);
entity!(t09, "t09", c0 c1 c2 c3 c4 c5);
entity!(t10, "t10", c0 c1 c2 c3 c4 c5);
entity!(t11, "t11", c0 c1 c2 c3 c4 c5);
entity!(t12, "t12", c0 c1 c2 c3 c4 c5);
entity!(t13, "t13", c0 c1 c2 c3 c4 c5);
entity!(t14, "t14", c0 c1 c2 c3 c4 c5);
entity!(t15, "t15", c0 c1 c2 c3 c4 c5);
entity!(t16, "t16", c0 c1 c2 c3 c4 c5);
entity!(t17, "t17", c0 c1 c2 c3 c4 c5);
entity!(t18, "t18", c0 c1 c2 c3 c4 c5);
entity!(t19, "t19", c0 c1 c2 c3 c4 c5);
entity!(t20, "t20", c0 c1 c2 c3 c4);
entity!(t21, "t21", c0 c1 c2 c3 c4);
entity!(t22, "t22", c0 c1 c2 c3 c4);
entity!(t23, "t23", c0 c1 c2 c3 c4);
entity!(t24, "t24", c0 c1 c2 c3 c4);
entity!(t25, "t25", c0 c1 c2 c3 c4);
entity!(t26, "t26", c0 c1 c2 c3 c4);
entity!(t27, "t27", c0 c1 c2 c3 c4);
entity!(t28, "t28", c0 c1 c2 c3 c4);
entity!(t29, "t29", c0 c1 c2 c3 c4);

fn entities() -> Vec<EntityDef> {
    vec![
        entity::<t00::Entity>(),
        entity::<t01::Entity>(),
        entity::<t02::Entity>(),
        entity::<t03::Entity>(),
        entity::<t04::Entity>(),
        entity::<t05::Entity>(),
        entity::<t06::Entity>(),
        entity::<t07::Entity>(),
        entity::<t08::Entity>(),
        entity::<t09::Entity>(),
        entity::<t10::Entity>(),
        entity::<t11::Entity>(),
        entity::<t12::Entity>(),
        entity::<t13::Entity>(),
        entity::<t14::Entity>(),
        entity::<t15::Entity>(),
        entity::<t16::Entity>(),
        entity::<t17::Entity>(),
        entity::<t18::Entity>(),
        entity::<t19::Entity>(),
        entity::<t20::Entity>(),
        entity::<t21::Entity>(),
        entity::<t22::Entity>(),
        entity::<t23::Entity>(),
        entity::<t24::Entity>(),
        entity::<t25::Entity>(),
        entity::<t26::Entity>(),
        entity::<t27::Entity>(),
        entity::<t28::Entity>(),
        entity::<t29::Entity>(),
    ]
}

/// Migration `i`: creates table `t<i>` (i < 30), else adds a column.
struct Step {
    name: String,
    i: usize,
}

impl MigrationName for Step {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Step {
    fn table(&self) -> String {
        format!(
            "t{:02}",
            if self.i < TABLES {
                self.i
            } else {
                (self.i - TABLES) % TABLES
            }
        )
    }

    fn column(&self) -> String {
        format!("c{}", (self.i - TABLES) / TABLES)
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Step {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if self.i < TABLES {
            return manager
                .create_table(
                    Table::create()
                        .table(self.table())
                        .col(
                            ColumnDef::new("id")
                                .integer()
                                .not_null()
                                .auto_increment()
                                .primary_key(),
                        )
                        .col(ColumnDef::new("name").string().not_null())
                        .to_owned(),
                )
                .await;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(self.table())
                    .add_column(ColumnDef::new(self.column()).integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if self.i < TABLES {
            return manager
                .drop_table(Table::drop().table(self.table()).to_owned())
                .await;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(self.table())
                    .drop_column(self.column())
                    .to_owned(),
            )
            .await
    }
}

fn runtime() -> Runtime {
    let ids: Vec<String> = (0..MIGRATIONS)
        .map(|i| format!("m20260101_{i:06}_step{i:03}"))
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
            Revision::new(
                Step {
                    name: id.clone(),
                    i,
                },
                &parents,
            )
        })
        .collect();
    Runtime::new(revisions, "seaql_migrations").expect("graph")
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A fresh database on `admin`'s server (or a SQLite file), and its name to drop.
fn main() {
    let rounds: usize = env_or("BENCH_ROUNDS", "5").parse().unwrap_or(5);
    let wanted = env_or("BENCH_BACKENDS", "sqlite,postgres,mysql");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rt = runtime();
    let entities = entities();
    let dir = tempfile::tempdir().expect("temp dir");
    let backends = [
        ("SQLite", "sqlite", "sqlite".to_string(), 0.5),
        (
            "PostgreSQL",
            "postgres",
            env_or(
                "TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            2.0,
        ),
        (
            "MariaDB",
            "mysql",
            env_or("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
            2.0,
        ),
    ];
    println!(
        "| backend | `upgrade head` (floor) | entities vs migrations (`check --entities`, `create --autogenerate`) | `verify` | target |"
    );
    println!("|---|---|---|---|---|");
    tokio.block_on(async {
        let mut n = 0;
        for (label, key, admin, target) in &backends {
            if !wanted.split(',').any(|w| w.trim() == *key) {
                continue;
            }
            let (mut upgrade, mut diff, mut verify) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                n += 1;
                let (url, name) = common::databases::fresh(admin, "bench_schema", n, dir.path())
                    .await
                    .expect("a fresh database");
                let url = DbUrl::parse(&url).expect("url");
                let write = DbOptions {
                    write: true,
                    ..Default::default()
                };
                let db = Db::connect(&url, write).await.expect("connect");
                let start = Instant::now();
                rt.upgrade(&db, "head", &WriteOptions::default(), &mut Quiet)
                    .await
                    .expect("upgrade");
                upgrade.push(start.elapsed().as_secs_f64());

                let start = Instant::now();
                let found = rt
                    .entity_diff(&url, &entities, &SchemaOptions::default(), &mut Quiet)
                    .await
                    .expect("entity diff");
                diff.push(start.elapsed().as_secs_f64());
                assert!(
                    found.up.is_empty(),
                    "the entities describe the head: {:?}",
                    found.up
                );

                let start = Instant::now();
                let checked = rt
                    .verify(&db, &VerifyOptions::default(), &mut Quiet)
                    .await
                    .expect("verify");
                verify.push(start.elapsed().as_secs_f64());
                assert!(checked.matches(), "{:?}", checked.changes);
                db.close().await;
                common::databases::drop(admin, name).await;
            }
            let (u, d, v) = (median(upgrade), median(diff), median(verify));
            println!(
                "| {label} | {u:.2} s | {d:.2} s | {v:.2} s | {target} s: {} |",
                if d <= *target && v <= *target {
                    "met"
                } else {
                    "missed"
                }
            );
        }
    });
    println!(
        "\n{MIGRATIONS} migrations, {TABLES} entities; median of {rounds} rounds, each on a fresh database."
    );
}
