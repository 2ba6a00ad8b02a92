//! A temporary cargo workspace driven through the real `cargo-migrate` binary, for
//! end-to-end tests. Every workspace builds into one shared target directory
//! (`target/e2e`) from this repository's `Cargo.lock`, so sea-orm compiles once.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Via;
use crate::support::run::{Ran, Run};

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The shared target directory of every end-to-end workspace.
pub fn target_dir() -> PathBuf {
    Path::new(REPO).join("target").join("e2e")
}

/// A temporary workspace: one application package, and whatever the test adds. Its
/// migration crate has a name of its own: binaries in the shared target directory are
/// named after their crate, and tests run in parallel.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub name: String,
}

static PROJECTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("cm-e2e-")
            .tempdir()
            .expect("temp dir");
        let n = PROJECTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = Project {
            dir,
            name: format!("migration_{n}"),
        };
        p.write("Cargo.toml", "[package]\nname = \"app\" # the application\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n");
        p.write("src/main.rs", "fn main() {}\n");
        std::fs::copy(
            Path::new(REPO).join("Cargo.lock"),
            p.path().join("Cargo.lock"),
        )
        .expect("copy Cargo.lock");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env(
                "CARGO_TARGET_DIR",
                Path::new(REPO).join("target").join("e2e"),
            )
            .env("CARGO_MIGRATE_RUNTIME_PATH", REPO)
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .env_remove("DATABASE_SCHEMA")
            .env_remove("CARGO_TERM_COLOR");
        cmd
    }

    /// `cargo-migrate migrate <args>`, to run; `on` passes the URL as DATABASE_URL.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::new("cargo migrate", self.command(&[]), args, Via::Env)
    }

    pub fn files(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path().join(rel))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// The id of the migration `init` wrote.
    pub fn first_migration(&self) -> String {
        self.files("migration/src")
            .into_iter()
            .find(|f| f.starts_with('m') && f.ends_with(".rs"))
            .expect("init writes a first migration")
            .trim_end_matches(".rs")
            .to_string()
    }

    /// `init` with every backend, so all tests share one build of sea-orm.
    pub fn init(&self) {
        self.run(&[
            "init",
            "--name",
            &self.name,
            "--database",
            "sqlite,postgres,mysql",
        ])
        .status(0);
    }

    /// A migration crate exactly as `sea-orm-cli migrate init` and `migrate generate`
    /// write it (sea-orm-cli 2.0.4; the example's `todo!()`s edited out, as a user must),
    /// in `migration/`; its package has the project's own name, its library is
    /// `migration`.
    pub fn sea_orm_cli_crate(&self) {
        self.sea_orm_cli_crate_as(&self.name, "m20261122_132657_add_users", "users");
    }

    /// The same crate with the package name `package`, its second migration `id`
    /// creating table `table`.
    pub fn sea_orm_cli_crate_as(&self, package: &str, id: &str, table: &str) {
        self.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"migration\"]\nresolver = \"3\"\n",
        );
        self.write(
        "migration/Cargo.toml",
        &r#"[package]
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
"#
        .replace("name         = \"migration\"", &format!("name         = {package:?}")),
    );
        self.write(
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
        self.write(
        "migration/src/main.rs",
        "use sea_orm_migration::prelude::*;\n\n#[tokio::main]\nasync fn main() {\n    cli::run_cli(migration::Migrator).await;\n}\n",
    );
        self.write(
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
        self.write(
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

    /// Runs the sea-orm-cli crate's own binary (sea-orm-migration's CLI) with `args`
    /// on `url`.
    pub fn sea_orm_cli(&self, url: &str, args: &[&str]) -> Ran {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["run", "-q", "-p", &self.name, "--"])
            .current_dir(self.path())
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("DATABASE_SCHEMA");
        Run::new("cargo run -p <migration crate> --", cmd, args, Via::Env)
            .on(url)
            .output()
    }

    /// The ids `create` printed (its stdout is the new files' paths).
    pub fn create(&self, args: &[&str]) -> String {
        let mut all = vec!["create"];
        all.extend(args);
        let out = self.run(&all).status(0).stdout();
        let path = PathBuf::from(out.lines().next().unwrap_or_default());
        path.file_stem().unwrap().to_string_lossy().into_owned()
    }
}

/// `git <args>` in `dir` (as a test user, on branch `main`), which must succeed; its
/// stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    cmd.args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .current_dir(dir);
    Run::new("git", cmd, args, Via::Env).status(0).stdout()
}
