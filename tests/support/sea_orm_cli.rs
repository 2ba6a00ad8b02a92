//! A migration crate exactly as sea-orm-cli writes it, for end-to-end tests.
#![allow(dead_code)]

use crate::project::Project;

/// A migration crate exactly as `sea-orm-cli migrate init` and `migrate generate`
/// write it (sea-orm-cli 2.0.4; the example's `todo!()`s edited out, as a user must).
pub fn sea_orm_cli_crate(p: &Project) {
    sea_orm_cli_crate_with(p, "m20261122_132657_add_users", "users");
}

/// The same crate, its second migration `id` creating table `table`.
pub fn sea_orm_cli_crate_with(p: &Project, id: &str, table: &str) {
    p.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"migration\"]\nresolver = \"3\"\n",
    );
    p.write(
        "migration/Cargo.toml",
        r#"[package]
edition      = "2024"
name         = "migration"
publish      = false
rust-version = "1.85.0"
version      = "0.1.0"

[lib]
name = "migration"
path = "src/lib.rs"

[dependencies]
tokio = { version = "1", features = ["macros", "rt", "rt-multi-thread"] }

[dependencies.sea-orm-migration]
features = [
  # Enable at least one `ASYNC_RUNTIME` and `DATABASE_DRIVER` feature if you want to run migration via CLI.
  # View the list of supported features at https://www.sea-ql.org/SeaORM/docs/install-and-config/database-and-async-runtime.
  # e.g.
  "runtime-tokio-rustls",  # `ASYNC_RUNTIME` feature
  "sqlx-postgres",         # `DATABASE_DRIVER` feature
  "sqlx-mysql",
  "sqlx-sqlite",
]
version = "2.0.0"
"#,
    );
    p.write(
        "migration/src/lib.rs",
        &r#"pub use sea_orm_migration::prelude::*;

mod m20220101_000001_create_table;
mod m20261122_132657_add_users;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20220101_000001_create_table::Migration),
            Box::new(m20261122_132657_add_users::Migration),
        ]
    }
}
"#
        .replace("m20261122_132657_add_users", id),
    );
    p.write(
        "migration/src/main.rs",
        "use sea_orm_migration::prelude::*;\n\n#[tokio::main]\nasync fn main() {\n    cli::run_cli(migration::Migrator).await;\n}\n",
    );
    p.write(
        "migration/src/m20220101_000001_create_table.rs",
        r#"use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("post")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string("title"))
                    .col(string("text"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("post").to_owned())
            .await
    }
}
"#,
    );
    p.write(
        &format!("migration/src/{id}.rs"),
        &r#"use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_132657_add_users"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(Table::create().table("users").col(pk_auto("id")).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("users").to_owned()).await
    }
}
"#
        .replace("m20261122_132657_add_users", id)
        .replace("\"users\"", &format!("{table:?}")),
    );
}
