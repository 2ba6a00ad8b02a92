//! The subcommand's latency, side by side in one run, as markdown tables:
//!
//! 1. `create` in a crate of 1,000 migrations: `cargo-migrate migrate create` against
//!    `sea-orm-cli migrate generate` and `alembic revision -m`, each on 1,000 existing
//!    revisions, put back to exactly 1,000 after every run (outside the clock).
//! 2. A no-op `current` on a built crate: `cargo-migrate migrate current` (a freshness
//!    record, no cargo call), `cargo migrate current` (the same behind cargo's own front
//!    end) and the example crate's binary run directly; against `sea-orm-cli migrate
//!    status` (which runs `cargo run`) and that crate's binary run directly.
//!
//! Run: `cargo bench --bench subcommand` (`BENCH_RUNS`, default 20; `BENCH_MIGRATIONS`,
//! default 1000). `sea-orm-cli` and `alembic` are taken from PATH; a missing one is
//! left out with a line saying how to install it. Migration crates build into
//! `target/bench` (the first run compiles sea-orm there, twice: minutes).
//!
//! Every command runs once untimed, then `BENCH_RUNS` times, interleaved with the
//! others (the order rotates each round); the tables give the median and the range.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const OURS: &str = env!("CARGO_BIN_EXE_cargo-migrate");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MESSAGE: &str = "add users table";
/// The migrations of the sea-orm-cli crate `status` runs on: as many as the example.
const STATUS_MIGRATIONS: usize = 6;

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    let runs = env_usize("BENCH_RUNS", 20).max(1);
    let count = env_usize("BENCH_MIGRATIONS", 1000);
    let peers = Peers::find();
    println!(
        "Measured {} on {} cores; median and range of {runs} runs each.\n",
        today(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
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

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
// Timing

/// A command to time, and what to put back after each run.
struct Case {
    label: String,
    command: Box<dyn Fn() -> Command>,
    restore: Option<Restore>,
}

impl Case {
    fn new(label: impl Into<String>, command: impl Fn() -> Command + 'static) -> Case {
        Case {
            label: label.into(),
            command: Box::new(command),
            restore: None,
        }
    }

    fn restoring(mut self, restore: Restore) -> Case {
        self.restore = Some(restore);
        self
    }

    /// One run: milliseconds, and whether cargo compiled anything (its stderr says so).
    fn run(&self) -> Res<(f64, bool)> {
        let mut cmd = (self.command)();
        cmd.stdin(Stdio::null());
        let start = Instant::now();
        let out = cmd.output();
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        if let Some(restore) = &self.restore {
            restore.apply()?;
        }
        let out = out.map_err(|e| format!("cannot run `{}`: {e}", self.label))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "`{}` failed ({}): {}",
                self.label,
                out.status,
                stderr.trim()
            ));
        }
        Ok((elapsed, stderr.contains("Compiling")))
    }
}

/// The timed runs of one case.
#[derive(Default)]
struct Timings {
    ms: Vec<f64>,
    /// Runs in which cargo compiled something (not a no-op).
    compiled: usize,
}

impl Timings {
    fn median(&self) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    fn range(&self) -> String {
        let min = self.ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.ms.iter().copied().fold(0.0, f64::max);
        format!("{} – {}", ms(min), ms(max))
    }
}

/// Times every case: one untimed run each, then `runs` rounds in a rotating order. A
/// case that fails is dropped from later rounds and reported as the error.
fn measure(cases: &[Case], runs: usize) -> Vec<Res<Timings>> {
    let mut results: Vec<Res<Timings>> = cases
        .iter()
        .map(|case| case.run().map(|_| Timings::default()))
        .collect();
    for round in 0..runs {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let Ok(timings) = &mut results[i] else {
                continue;
            };
            match cases[i].run() {
                Ok((elapsed, compiled)) => {
                    timings.ms.push(elapsed);
                    timings.compiled += usize::from(compiled);
                }
                Err(e) => results[i] = Err(e),
            }
        }
    }
    results
}

/// A row of a table: what it measures, and whether later rows are compared with it.
struct Row {
    label: String,
    case: Case,
    baseline: bool,
}

impl Row {
    fn new(label: impl Into<String>, case: Case) -> Row {
        Row {
            label: label.into(),
            case,
            baseline: false,
        }
    }

    fn baseline(mut self) -> Row {
        self.baseline = true;
        self
    }
}

/// Measures the rows and prints them as a markdown table; `ratio` heads the column
/// comparing each row with the last baseline row above it.
fn table(rows: Vec<Row>, runs: usize, ratio: &str) {
    let (meta, cases): (Vec<(String, bool)>, Vec<Case>) = rows
        .into_iter()
        .map(|r| ((r.label, r.baseline), r.case))
        .unzip();
    let results = measure(&cases, runs);
    println!("| command | median | range | {ratio} |");
    println!("|---|---|---|---|");
    let mut base = None;
    for ((label, baseline), result) in meta.iter().zip(&results) {
        if *baseline {
            base = result.as_ref().map(Timings::median).ok();
        }
        match result {
            Ok(t) => {
                let vs = base.map_or(String::new(), |b| format!("{:.2}×", t.median() / b));
                println!("| {label} | {} | {} | {vs} |", ms(t.median()), t.range());
            }
            Err(e) => println!("| {label} | failed: {} | | |", e.replace('\n', " ")),
        }
    }
    for ((label, _), result) in meta.iter().zip(&results) {
        if let Ok(t) = result
            && t.compiled > 0
        {
            println!(
                "\nnote: cargo compiled in {} of the runs of {label} (sources changed during the run)",
                t.compiled
            );
        }
    }
    println!();
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// Puts a directory back as it was: removes the files that appeared in it and writes
/// the saved files' contents back.
struct Restore {
    dir: PathBuf,
    before: BTreeSet<OsString>,
    saved: Vec<(PathBuf, Vec<u8>)>,
}

impl Restore {
    fn snapshot(dir: &Path, keep: &[PathBuf]) -> Res<Restore> {
        let saved = keep
            .iter()
            .map(|p| Ok((p.clone(), read(p)?)))
            .collect::<Res<_>>()?;
        Ok(Restore {
            dir: dir.to_path_buf(),
            before: files_in(dir)?,
            saved,
        })
    }

    fn apply(&self) -> Res<()> {
        for name in files_in(&self.dir)?.difference(&self.before) {
            let path = self.dir.join(name);
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
        for (path, bytes) in &self.saved {
            write(path, bytes)?;
        }
        Ok(())
    }
}

/// The names of the regular files in `dir` (not directories: `__pycache__` stays).
fn files_in(dir: &Path) -> Res<BTreeSet<OsString>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .collect())
}

// ---------------------------------------------------------------------------------
// Files

fn read(path: &Path) -> Res<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, contents: impl AsRef<[u8]>) -> Res<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a file only when its contents differ, so cargo sees an unchanged crate as
/// fresh from one bench run to the next.
fn write_if_changed(path: &Path, contents: &str) -> Res<()> {
    match std::fs::read(path) {
        Ok(old) if old == contents.as_bytes() => Ok(()),
        _ => write(path, contents),
    }
}

/// Runs a set-up command to completion; its stderr is shown (cargo's progress).
fn setup(mut cmd: Command, what: &str) -> Res<()> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("cannot {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cannot {what}: it exited with {status}"))
    }
}

/// The migration ids: one a second from 2025-01-01 00:00:00, as sea-orm-cli names them.
fn id(i: usize) -> String {
    format!(
        "m20250101_{:02}{:02}{:02}_create_table_{i:04}",
        i / 3600,
        i / 60 % 60,
        i % 60
    )
}

/// The program cargo subcommands call back: `$CARGO`, else `cargo`.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

// ---------------------------------------------------------------------------------
// 1. `create` in a crate of N migrations

fn create_bench(tmp: &Path, count: usize, runs: usize, peers: &Peers) -> Res<()> {
    let ours = ours_workspace(&tmp.join("ours"), count)?;
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
    let mut lib =
        String::from("//! This workspace's database migrations.\n\ncargo_migrate::migrator! {\n");
    for i in 0..count {
        lib.push_str(&format!("    {},\n", id(i)));
        let revises = if i == 0 {
            "&[]".to_string()
        } else {
            format!("&[{:?}]", id(i - 1))
        };
        write(&src.join(format!("{}.rs", id(i))), ours_module(i, &revises))?;
    }
    lib.push_str("}\n");
    write(&src.join("lib.rs"), lib)?;
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
fn sea_orm_crate(dir: &Path, count: usize, backend: &str) -> Res<()> {
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nedition = \"2024\"\nname = \"migration\"\npublish = false\n\
             rust-version = \"1.85.0\"\nversion = \"0.1.0\"\n\n\
             [lib]\nname = \"migration\"\npath = \"src/lib.rs\"\n\n\
             [dependencies]\n\
             tokio = {{ version = \"1\", features = [\"macros\", \"rt\", \"rt-multi-thread\"] }}\n\n\
             [dependencies.sea-orm-migration]\n\
             features = [\"runtime-tokio-rustls\", \"{backend}\"]\nversion = \"2.0.4\"\n\n\
             # Not in sea-orm-cli's template: a workspace of its own.\n[workspace]\n"
        ),
    )?;
    let src = dir.join("src");
    write_if_changed(
        &src.join("main.rs"),
        "use sea_orm_migration::prelude::*;\n\n#[tokio::main]\nasync fn main() {\n    \
         cli::run_cli(migration::Migrator).await;\n}\n",
    )?;
    let mut mods = String::new();
    let mut boxes = String::new();
    for i in 0..count {
        mods.push_str(&format!("mod {};\n", id(i)));
        boxes.push_str(&format!("            Box::new({}::Migration),\n", id(i)));
        write_if_changed(&src.join(format!("{}.rs", id(i))), &sea_orm_module(i))?;
    }
    write_if_changed(
        &src.join("lib.rs"),
        &format!(
            "pub use sea_orm_migration::prelude::*;\n\n{mods}\npub struct Migrator;\n\n\
             #[async_trait::async_trait]\nimpl MigratorTrait for Migrator {{\n    \
             fn migrations() -> Vec<Box<dyn MigrationTrait>> {{\n        vec![\n{boxes}        ]\n    }}\n}}\n"
        ),
    )
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
    sea_orm_crate(&krate, count, "sqlx-sqlite")?;
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
    Ok(())
}

/// How to run a command against one database, building into one target directory.
#[derive(Clone)]
struct Env {
    cwd: PathBuf,
    target: PathBuf,
    url: String,
}

impl Env {
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.cwd)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("DATABASE_URL", &self.url);
        cmd
    }

    /// A case that runs `program args` with this environment.
    fn case(&self, program: impl Into<OsString>, args: &[&str]) -> Case {
        let (env, program) = (self.clone(), program.into());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Case::new(
            format!("{} {}", program.to_string_lossy(), args.join(" ")),
            move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                env.command(&program, &args)
            },
        )
    }
}

/// The example crate `migrations/` on SQLite (a new database file in the temporary
/// directory; the repository's `demo.db` is left alone), after one `upgrade head`,
/// which builds the crate and records the build as fresh.
fn ours_current(tmp: &Path, target: &Path) -> Res<Vec<Row>> {
    let env = Env {
        cwd: PathBuf::from(REPO),
        target: target.to_path_buf(),
        url: format!("sqlite://{}", tmp.join("demo.db").display()),
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
    let through = |cargo: OsString| {
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

/// PATH with the directory of the benchmarked `cargo-migrate` first, so `cargo migrate`
/// runs it.
fn with_ours_on_path() -> Res<OsString> {
    let dir = Path::new(OURS)
        .parent()
        .ok_or_else(|| format!("{OURS} has no directory"))?;
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .map_err(|e| format!("cannot put {} on PATH: {e}", dir.display()))
}

/// A small sea-orm-cli crate on SQLite (as many migrations as the example), kept in
/// `target/bench/crates` so it stays built between bench runs, after one `migrate up`.
fn sea_orm_status(cli: &Tool, tmp: &Path, target: &Path) -> Res<Vec<Row>> {
    let krate = target
        .join("crates")
        .join("sea-orm-status")
        .join("migration");
    sea_orm_crate(&krate, STATUS_MIGRATIONS, "sqlx-sqlite")?;
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

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    cargo_migrate::output::timestamp(secs)[..10].to_string()
}
