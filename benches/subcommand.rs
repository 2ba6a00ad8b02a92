//! The subcommand's latency, side by side in one run, as markdown tables:
//!
//! 1. `create` in a crate of 1,000 migrations: `cargo-migrate migrate create` against
//!    `sea-orm-cli migrate generate` and `alembic revision -m`, each on 1,000 existing
//!    revisions, put back to exactly 1,000 after every run (outside the clock).
//! 2. A no-op `current` on a built crate: `cargo-migrate migrate current` (a freshness
//!    record, no cargo call), `cargo migrate current` (the same behind cargo's own front
//!    end) and the example crate's binary run directly; against `sea-orm-cli migrate
//!    status` (which runs `cargo run`) and that crate's binary run directly.
//! 3. The example crate's binary, no-op `current` on PostgreSQL at `TEST_POSTGRES_URL`
//!    (default `postgres://postgres@127.0.0.1:5432/test`) with TLS and with
//!    `sslmode=disable`; a server that is not there is left out with a line saying so.
//!
//! Run: `cargo bench --bench subcommand` (`BENCH_RUNS`, default 20; `BENCH_MIGRATIONS`,
//! default 1000). `sea-orm-cli` and `alembic` are taken from PATH; a missing one is
//! left out with a line saying how to install it. Migration crates build into
//! `target/bench` (the first run compiles sea-orm there, twice: minutes).
//!
//! Every command runs once untimed, then `BENCH_RUNS` times, interleaved with the
//! others (the order rotates each round); the tables give the median and the range.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use common::{
    Case, Env, OURS, REPO, Res, Restore, Row, VERSION, cargo, cores, env_usize, id, quietly, read,
    sea_orm_crate, setup, table, today, with_ours_on_path, write,
};

const MESSAGE: &str = "add users table";
/// The migrations of the sea-orm-cli crate `status` runs on: as many as the example.
const STATUS_MIGRATIONS: usize = 6;

fn main() -> ExitCode {
    let runs = env_usize("BENCH_RUNS", 20).max(1);
    let count = env_usize("BENCH_MIGRATIONS", 1000);
    let peers = Peers::find();
    println!(
        "Measured {} on {} cores; median and range of {runs} runs each.\n",
        today(),
        cores()
    );
    let result = tempfile::tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))
        .and_then(|tmp| {
            create_bench(tmp.path(), count, runs, &peers)?;
            current_bench(tmp.path(), runs, &peers)
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------
// The other tools

/// A peer tool found on PATH, and its version line.
struct Tool {
    path: PathBuf,
    version: String,
}

struct Peers {
    sea_orm_cli: Option<Tool>,
    alembic: Option<Tool>,
}

impl Peers {
    fn find() -> Peers {
        Peers {
            sea_orm_cli: Tool::find(
                "sea-orm-cli",
                "cargo install sea-orm-cli --version 2.0.4 --no-default-features \
                 --features cli,codegen,runtime-tokio-rustls",
            ),
            alembic: Tool::find("alembic", "pip install alembic"),
        }
    }
}

impl Tool {
    fn find(name: &str, install: &str) -> Option<Tool> {
        let found = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        });
        let Some(path) = found else {
            println!(
                "`{name}` is not on PATH, so its rows are left out; install it with `{install}`.\n"
            );
            return None;
        };
        let version = Command::new(&path)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
            .unwrap_or_else(|| name.to_string());
        Some(Tool { path, version })
    }
}

// ---------------------------------------------------------------------------------
// 1. `create` in a crate of N migrations

fn create_bench(tmp: &Path, count: usize, runs: usize, peers: &Peers) -> Res<()> {
    let ours = ours_workspace(&tmp.join("ours"), count)?;
    // `create` keeps what each file declares in an index, but never for a file changed
    // in the last 3 s (its time stamps could still hide an edit). A team's migrations are
    // older than that; the ones just written here are not, and the whole bench takes about
    // as long, so without this wait every run would read all of them.
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let metadata = {
        let ours = ours.clone();
        Case::new("cargo metadata --no-deps", move || {
            let mut cmd = cargo();
            cmd.args(["metadata", "--format-version", "1", "--no-deps"])
                .current_dir(&ours);
            cmd
        })
    };
    let mut rows = vec![
        Row::new(
            format!("cargo-migrate {VERSION}: `cargo-migrate migrate create \"{MESSAGE}\"`"),
            ours_create(&ours, false)?,
        )
        .baseline(),
        Row::new(
            "`cargo metadata --no-deps` alone (what `create` adds when a manifest changed since its last call)",
            metadata,
        ),
        Row::new(
            format!(
                "`cargo migrate create \"{MESSAGE}\"`: the same behind rustup's `cargo` proxy and cargo's front end"
            ),
            ours_create(&ours, true)?,
        ),
    ];
    if let Some(cli) = &peers.sea_orm_cli {
        match sea_orm_create(cli, &tmp.join("sea-orm"), count) {
            Ok(case) => rows.push(Row::new(
                format!(
                    "{}: `sea-orm-cli migrate generate add_users_table`",
                    cli.version
                ),
                case,
            )),
            Err(e) => println!("sea-orm-cli left out: {e}\n"),
        }
    }
    if let Some(alembic) = &peers.alembic {
        match alembic_create(alembic, &tmp.join("alembic"), count) {
            Ok(case) => rows.push(Row::new(
                format!("{}: `alembic revision -m \"{MESSAGE}\"`", alembic.version),
                case,
            )),
            Err(e) => println!("alembic left out: {e}\n"),
        }
    }
    println!("`create` with {count} existing migrations (target: under 50 ms):\n");
    table(rows, runs, "vs cargo-migrate");
    Ok(())
}

/// A workspace whose migration crate (cargo-migrate's layout, as `init` and `create`
/// write it) has `count` migrations in one chain; returns the workspace root.
fn ours_workspace(root: &Path, count: usize) -> Res<PathBuf> {
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"migration\"]\nresolver = \"3\"\n",
    )?;
    let krate = root.join("migration");
    write(
        &krate.join("Cargo.toml"),
        "[package]\nname = \"migration\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\nname = \"migration\"\npath = \"src/lib.rs\"\n\n\
         [[bin]]\nname = \"migration\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\n\
         cargo-migrate = { version = \"0.1\", default-features = false, features = [\"sqlite\"] }\n",
    )?;
    let src = krate.join("src");
    write(
        &src.join("main.rs"),
        "fn main() -> std::process::ExitCode {\n    cargo_migrate::run::<migration::Migrator>()\n}\n",
    )?;
    // As `init` lays it out: the build script finds the modules, `create` lists none.
    write(
        &krate.join("build.rs"),
        include_str!("../templates/init/build.rs"),
    )?;
    for i in 0..count {
        let revises = if i == 0 {
            "&[]".to_string()
        } else {
            format!("&[{:?}]", id(i - 1))
        };
        write(&src.join(format!("{}.rs", id(i))), ours_module(i, &revises))?;
    }
    write(
        &src.join("lib.rs"),
        "//! This workspace's database migrations.\n\ncargo_migrate::discover!();\n",
    )?;
    Ok(root.to_path_buf())
}

/// A migration as cargo-migrate's default template writes it.
fn ours_module(i: usize, revises: &str) -> String {
    format!(
        r#"//! create table {i:04}
//!
//! Revision: {id}
//! Created: 2025-01-01 00:00:00 UTC

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of (two or more for a merge).
pub const REVISES: &[&str] = {revises};

pub struct Migration;

impl MigrationName for Migration {{
    fn name(&self) -> &str {{
        "{id}"
    }}
}}

#[async_trait::async_trait]
impl MigrationTrait for Migration {{
{body}}}
"#,
        id = id(i),
        body = up_down(i)
    )
}

/// `up` and `down` of table `i`, the same in both Rust layouts.
fn up_down(i: usize) -> String {
    format!(
        r#"    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        manager
            .create_table(
                Table::create()
                    .table("t{i:04}")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string("name"))
                    .to_owned(),
            )
            .await
    }}

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        manager
            .drop_table(Table::drop().table("t{i:04}").to_owned())
            .await
    }}
"#
    )
}

/// `cargo-migrate migrate create` in the workspace at `root`; `through_cargo`: as
/// `cargo migrate create`, with rustup's `cargo` proxy and cargo's front end first.
fn ours_create(root: &Path, through_cargo: bool) -> Res<Case> {
    let src = root.join("migration").join("src");
    let restore = Restore::snapshot(&src, &[src.join("lib.rs")])?;
    let root = root.to_path_buf();
    let path = with_ours_on_path()?;
    Ok(Case::new("cargo-migrate migrate create", move || {
        let mut cmd = if through_cargo {
            let mut cmd = Command::new("cargo");
            cmd.env("PATH", &path).env_remove("CARGO");
            cmd
        } else {
            Command::new(OURS)
        };
        cmd.args(["migrate", "create", MESSAGE]).current_dir(&root);
        cmd
    })
    .restoring(restore))
}

/// A crate laid out as `sea-orm-cli migrate init` writes it, with `count` migrations
/// as `sea-orm-cli migrate generate` writes them, in `dir`.
fn sea_orm_migrations(dir: &Path, count: usize, backend: &str) -> Res<()> {
    let modules: Vec<(String, String)> = (0..count).map(|i| (id(i), sea_orm_module(i))).collect();
    sea_orm_crate(dir, "migration", backend, true, &modules)
}

/// A migration as sea-orm-cli 2.0's `generate` writes it, with the same body as ours.
fn sea_orm_module(i: usize) -> String {
    format!(
        r#"use sea_orm_migration::{{prelude::*, schema::*}};

pub struct Migration;

impl MigrationName for Migration {{
    fn name(&self) -> &str {{
        "{id}"
    }}
}}

#[async_trait::async_trait]
impl MigrationTrait for Migration {{
{body}}}
"#,
        id = id(i),
        body = up_down(i)
    )
}

fn sea_orm_create(cli: &Tool, dir: &Path, count: usize) -> Res<Case> {
    let krate = dir.join("migration");
    sea_orm_migrations(&krate, count, "sqlx-sqlite")?;
    let src = krate.join("src");
    let restore = Restore::snapshot(&src, &[src.join("lib.rs")])?;
    let (cli, dir) = (cli.path.clone(), dir.to_path_buf());
    Ok(Case::new("sea-orm-cli migrate generate", move || {
        let mut cmd = Command::new(&cli);
        cmd.args(["migrate", "-d", "migration", "generate", "add_users_table"])
            .current_dir(&dir);
        cmd
    })
    .restoring(restore))
}

/// An `alembic init` project with `count` revisions chained by `down_revision`.
fn alembic_create(alembic: &Tool, dir: &Path, count: usize) -> Res<Case> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut init = Command::new(&alembic.path);
    init.args(["init", "alembic"]).current_dir(dir);
    setup(init, "run `alembic init`")?;
    let versions = dir.join("alembic").join("versions");
    let mut parent = "None".to_string();
    for i in 0..count {
        let rev = alembic_rev(i);
        write(
            &versions.join(format!("{rev}_create_table_{i:04}.py")),
            alembic_module(i, &rev, &parent),
        )?;
        parent = format!("'{rev}'");
    }
    let restore = Restore::snapshot(&versions, &[])?;
    let (alembic, dir) = (alembic.path.clone(), dir.to_path_buf());
    Ok(Case::new("alembic revision", move || {
        let mut cmd = Command::new(&alembic);
        // Python's bytecode cache on, as on a developer's machine: the untimed first
        // run fills `versions/__pycache__`.
        cmd.args(["revision", "-m", MESSAGE])
            .current_dir(&dir)
            .env_remove("PYTHONDONTWRITEBYTECODE");
        cmd
    })
    .restoring(restore))
}

/// A 12-hex-digit revision id, distinct for every `i` (an odd multiplier is a
/// bijection modulo 2^48).
fn alembic_rev(i: usize) -> String {
    let x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) & 0xffff_ffff_ffff;
    format!("{x:012x}")
}

/// A revision as alembic's `generic` template writes it, creating table `i`.
fn alembic_module(i: usize, rev: &str, parent: &str) -> String {
    format!(
        r#""""create table {i:04}

Revision ID: {rev}
Revises: {revises}
Create Date: 2025-01-01 00:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '{rev}'
down_revision: Union[str, Sequence[str], None] = {parent}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        't{i:04}',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('name', sa.String, nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('t{i:04}')
"#,
        revises = parent.trim_matches('\'')
    )
}

// ---------------------------------------------------------------------------------
// 2. A no-op `current` on a built crate

/// Where the migration crates build (not `target/debug`: its lock is the tests').
fn bench_target() -> PathBuf {
    Path::new(REPO).join("target").join("bench")
}

fn current_bench(tmp: &Path, runs: usize, peers: &Peers) -> Res<()> {
    let target = bench_target();
    let mut rows = ours_current(tmp, &target)?;
    if let Some(cli) = &peers.sea_orm_cli {
        match sea_orm_status(cli, tmp, &target) {
            Ok(more) => rows.extend(more),
            Err(e) => println!("sea-orm-cli left out: {e}\n"),
        }
    }
    println!(
        "A no-op `current` on a built crate, SQLite (target: within 2× of the binary run directly):\n"
    );
    table(rows, runs, "vs its binary directly");
    postgres_tls(&target, runs);
    Ok(())
}

/// The example crate's binary (built above) on PostgreSQL at `TEST_POSTGRES_URL`, with
/// TLS (`sslmode=require`) and without (`sslmode=disable`), side by side: what the
/// handshake adds to a no-op command. A server that is not there is left out with a line
/// saying so.
fn postgres_tls(target: &Path, runs: usize) {
    let url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let binary = target.join("debug").join("migrations");
    let on = |mode: &str| {
        let sep = if url.contains('?') { '&' } else { '?' };
        Env {
            cwd: PathBuf::from(REPO),
            target: target.to_path_buf(),
            url: format!("{url}{sep}sslmode={mode}"),
        }
    };
    let (plain, tls) = (on("disable"), on("require"));
    if let Err(e) = quietly(plain.command(&binary, &["current"])) {
        println!("PostgreSQL left out: the server at TEST_POSTGRES_URL did not answer ({e})\n");
        return;
    }
    let mut rows = vec![
        Row::new(
            "`target/bench/debug/migrations current`, `sslmode=disable`",
            plain.case(&binary, &["current"]),
        )
        .baseline(),
    ];
    match quietly(tls.command(&binary, &["current"])) {
        Ok(()) => rows.push(Row::new(
            "the same with TLS, `sslmode=require` (what the default `prefer` negotiates when the server offers TLS)",
            tls.case(&binary, &["current"]),
        )),
        Err(e) => println!("PostgreSQL with TLS left out: the server refused it ({e})\n"),
    }
    println!(
        "A no-op `current` on PostgreSQL, TLS against `sslmode=disable` (target: within 2×):\n"
    );
    table(rows, runs, "vs sslmode=disable");
}

/// The example crate `migrations/` on SQLite (a new database file in the temporary
/// directory; the repository's `demo.db` is left alone), after one `upgrade head`,
/// which builds the crate and records the build as fresh.
fn ours_current(tmp: &Path, target: &Path) -> Res<Vec<Row>> {
    let env = Env {
        cwd: PathBuf::from(REPO),
        target: target.to_path_buf(),
        url: format!("sqlite://{}?mode=rwc", tmp.join("demo.db").display()),
    };
    eprintln!(
        "building the example crate into {} (the first time compiles sea-orm: minutes)",
        target.display()
    );
    setup(
        env.command(OURS, &["migrate", "upgrade", "head"]),
        "run `cargo-migrate migrate upgrade head` on the example crate",
    )?;
    let binary = target.join("debug").join("migrations");
    if !binary.is_file() {
        return Err(format!("no migration binary at {}", binary.display()));
    }
    let path = with_ours_on_path()?;
    let through = |cargo: std::ffi::OsString| {
        let (env, path) = (env.clone(), path.clone());
        Case::new("cargo migrate current", move || {
            let mut cmd = env.command(&cargo, &["migrate", "current"]);
            cmd.env("PATH", &path).env_remove("CARGO");
            cmd
        })
    };
    let mut rows = vec![
        Row::new(
            "the example crate's binary directly: `target/bench/debug/migrations current`",
            env.case(binary, &["current"]),
        )
        .baseline(),
        Row::new(
            format!(
                "cargo-migrate {VERSION}: `cargo-migrate migrate current` (freshness record, no cargo call)"
            ),
            env.case(OURS, &["migrate", "current"]),
        ),
        Row::new(
            "`cargo migrate current`: the same behind cargo's front end (rustup's `cargo` proxy, then cargo)",
            through("cargo".into()),
        ),
    ];
    if let Some(toolchain) = std::env::var_os("CARGO") {
        rows.push(Row::new(
            "`$CARGO migrate current`: the same with the toolchain's cargo (no rustup proxy)",
            through(toolchain),
        ));
    }
    Ok(rows)
}

/// A small sea-orm-cli crate on SQLite (as many migrations as the example), kept in
/// `target/bench/crates` so it stays built between bench runs, after one `migrate up`.
fn sea_orm_status(cli: &Tool, tmp: &Path, target: &Path) -> Res<Vec<Row>> {
    let krate = target
        .join("crates")
        .join("sea-orm-status")
        .join("migration");
    sea_orm_migrations(&krate, STATUS_MIGRATIONS, "sqlx-sqlite")?;
    let lock = krate.join("Cargo.lock");
    if !lock.is_file() {
        // Start from the repository's lock so sea-orm resolves to the same versions.
        write(&lock, read(&Path::new(REPO).join("Cargo.lock"))?)?;
    }
    let env = Env {
        cwd: tmp.to_path_buf(),
        target: target.to_path_buf(),
        url: format!("sqlite://{}?mode=rwc", tmp.join("sea-orm.db").display()),
    };
    let dir = krate.to_string_lossy().into_owned();
    eprintln!("building the sea-orm-cli crate into {}", target.display());
    setup(
        env.command(&cli.path, &["migrate", "-d", &dir, "up"]),
        "run `sea-orm-cli migrate up`",
    )?;
    Ok(vec![
        Row::new(
            "the sea-orm-cli crate's binary directly: `target/bench/debug/migration status`",
            env.case(target.join("debug").join("migration"), &["status"]),
        )
        .baseline(),
        Row::new(
            format!(
                "{}: `sea-orm-cli migrate status` (runs `cargo run`)",
                cli.version
            ),
            env.case(&cli.path, &["migrate", "-d", &dir, "status"]),
        ),
    ])
}
