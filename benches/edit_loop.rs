//! The developer loop on a migration crate of 100 and 500 migrations, side by side in one
//! run with the same crate in sea-orm-cli's layout, as markdown tables:
//!
//! 1. Add one migration and apply it: `cargo-migrate migrate create "add users table"`
//!    then `cargo-migrate migrate upgrade head`; against the file and the `lib.rs` edit
//!    `sea-orm-cli migrate generate` makes (written by the bench, in its shape) then
//!    `cargo run -p migration -- up`. After every run, outside the clock, each tool
//!    reverts the database with its own downgrade, the file and `lib.rs` are put back,
//!    and the crate is built again at N migrations.
//! 2. Edit the newest migration (rename a column) and redo it: `cargo-migrate migrate redo
//!    --yes`; against `cargo run -p migration -- down` then `cargo run -p migration -- up`
//!    (sea-orm-migration's CLI has no redo).
//! 3. A no-op `current`: `cargo-migrate migrate current`; against `cargo run -p migration
//!    -- status`.
//! 4. Where the seconds of (1) go, for both crates: after adding the file (untimed),
//!    `cargo build --lib -p <crate>` (build script rerun + rustc on the library), then
//!    `cargo build -p <crate>` (the binary: its rustc + link), then the binary's `upgrade
//!    head` (`up`) alone; with the rustc figures of `cargo build --timings`.
//!
//! Run: `cargo bench --bench edit_loop`. `BENCH_SIZES` (default `100,500`), `BENCH_RUNS`
//! (default 5), `BENCH_STEPS` (default `add,edit,current,split`), `TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`: a fresh database per tool and
//! size, dropped at the end; with no server there, SQLite files), `BENCH_OURS_PROFILE`
//! (TOML appended to our crate's workspace manifest, e.g.
//! `[profile.dev.package.migrations_500]` keys, to try compile settings).
//!
//! Our crate is made by `cargo-migrate migrate init migrations --name migrations_<N>`
//! (with a runtime path dependency on this checkout), then holds N migrations in the
//! default template's shape (each revising the previous one); theirs, `migration/`, is as
//! `sea-orm-cli migrate init` writes it, with the same N bodies. Both build into one target
//! directory, `target/bench-edit`, where sea-orm compiles once (per feature set), so the
//! crates have names of their own per size (`migration_<N>` for sea-orm-cli's `migration`):
//! a binary there is named after its crate. The crates stay in `target/bench-edit-crates`
//! between runs, so only the first run compiles everything (minutes). Both start from this
//! repository's `Cargo.lock`. Every case runs once untimed, then `BENCH_RUNS` times,
//! interleaved with the other tool's (the order rotates each round); the tables give the
//! median and the range.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};
use common::{
    Case, Env, OURS, REPO, Res, Restore, Timings, VERSION, cores, env_usize, files_in, measure,
    median, one_line, quietly, range, read, read_string, sea_orm_crate, sea_orm_lib, secs, setup,
    today, write, write_if_changed,
};

const MESSAGE: &str = "add users table";
/// Our migration crate's directory, as `init` names it.
const OURS_DIR: &str = "migrations";
/// The sea-orm-cli crate's, as its `init` names it.
const THEIRS_DIR: &str = "migration";
/// A module as the default template writes it: `m<8 digits>_<6 digits>_<name>`.
const NEW_THEIRS: &str = "add_users_table";

fn main() -> ExitCode {
    let runs = env_usize("BENCH_RUNS", 5).max(1);
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "100,500".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let steps = std::env::var("BENCH_STEPS").unwrap_or_else(|_| "add,edit,current,split".into());
    let steps: Vec<&str> = steps.split(',').map(str::trim).collect();
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))
        .and_then(|rt| {
            let db = Db::pick(rt);
            println!(
                "Measured {} on {} cores, {}; median and range of {runs} runs each, interleaved.\n",
                today(),
                cores(),
                db.name()
            );
            if let Ok(profile) = std::env::var("BENCH_OURS_PROFILE") {
                println!("Our crate's workspace manifest adds:\n\n```toml\n{profile}\n```\n");
            }
            sizes
                .iter()
                .try_for_each(|&n| size_bench(n, runs, &steps, &db))
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
// The database

/// PostgreSQL at `TEST_POSTGRES_URL` (an admin URL), else SQLite files.
struct Db {
    rt: tokio::runtime::Runtime,
    admin: Option<String>,
    tmp: tempfile::TempDir,
}

impl Db {
    fn pick(rt: tokio::runtime::Runtime) -> Db {
        let url = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let reachable = rt.block_on(async {
            match Database::connect(&url).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        });
        let admin = match reachable {
            Ok(()) => Some(url),
            Err(e) => {
                println!(
                    "PostgreSQL (TEST_POSTGRES_URL) is not reachable, so it is left out and \
                     SQLite is used instead: {}\n",
                    one_line(&e)
                );
                None
            }
        };
        let tmp = tempfile::tempdir().expect("a temporary directory");
        Db { rt, admin, tmp }
    }

    fn name(&self) -> &'static str {
        if self.admin.is_some() {
            "PostgreSQL on loopback"
        } else {
            "SQLite"
        }
    }

    /// The backend feature names: cargo-migrate's `init --database`, sea-orm-migration's.
    fn backend(&self) -> (&'static str, &'static str) {
        if self.admin.is_some() {
            ("postgres", "sqlx-postgres")
        } else {
            ("sqlite", "sqlx-sqlite")
        }
    }

    /// A new, empty database named after `tag`.
    fn fresh(&self, tag: &str) -> Res<FreshDb<'_>> {
        let name = format!("bench_edit_{}_{tag}", std::process::id());
        let Some(admin) = &self.admin else {
            let path = self.tmp.path().join(format!("{name}.db"));
            return Ok(FreshDb {
                db: self,
                url: format!("sqlite://{}?mode=rwc", path.display()),
                name: None,
            });
        };
        self.execute(&format!("CREATE DATABASE {name}"))?;
        let (base, _) = admin.rsplit_once('/').ok_or("no database in the URL")?;
        Ok(FreshDb {
            db: self,
            url: format!("{base}/{name}"),
            name: Some(name),
        })
    }

    fn execute(&self, sql: &str) -> Res<()> {
        let admin = self.admin.as_deref().ok_or("no server")?;
        self.rt.block_on(async {
            let conn = Database::connect(admin)
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            let done = conn.execute_unprepared(sql).await.map(|_| ());
            let _ = conn.close().await;
            done.map_err(|e| format!("`{sql}` failed: {e}"))
        })
    }
}

/// A database that is dropped when this is.
struct FreshDb<'a> {
    db: &'a Db,
    url: String,
    name: Option<String>,
}

impl Drop for FreshDb<'_> {
    fn drop(&mut self) {
        if let Some(name) = &self.name
            && let Err(e) = self
                .db
                .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        {
            eprintln!("warning: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------
// The machine's load

/// CPU time the machine spent outside this process and its children, over a table.
struct Load {
    start: Instant,
    busy: u64,
    ours: u64,
}

impl Load {
    fn start() -> Load {
        Load {
            start: Instant::now(),
            busy: machine_busy_ticks().unwrap_or(0),
            ours: own_ticks().unwrap_or(0),
        }
    }

    /// `other processes used 35% of the 2 cores (load average 3.1)`.
    fn note(&self) -> String {
        let wall = self.start.elapsed().as_secs_f64() * 100.0; // clock ticks (USER_HZ = 100)
        let (Some(busy), Some(ours)) = (machine_busy_ticks(), own_ticks()) else {
            return "the machine's load is unknown (no /proc)".into();
        };
        let other = busy.saturating_sub(self.busy) as f64 - ours.saturating_sub(self.ours) as f64;
        let share = 100.0 * other.max(0.0) / (wall * cores() as f64);
        let avg = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "?".into());
        format!(
            "while these ran, other processes kept {share:.0}% of the {} cores busy (load \
             average at the end: {avg})",
            cores()
        )
    }
}

/// Busy clock ticks of all cores since boot (`/proc/stat`, all but idle and iowait).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is counted in user)
    let total: u64 = fields.iter().take(8).sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// Clock ticks used by this process and the children it waited for.
fn own_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse().ok())
        .collect();
    (fields.len() == 4).then(|| fields.iter().sum())
}

// ---------------------------------------------------------------------------------
// The crates

/// The shared target directory of both crates.
fn bench_target() -> PathBuf {
    Path::new(REPO).join("target").join("bench-edit")
}

/// The crates' names: one per size, since the binaries of one target directory are named
/// after their crates (`target/bench-edit/debug/<crate>`), and cargo leaves an existing one
/// in place when it finds a crate fresh.
fn ours_crate(n: usize) -> String {
    format!("migrations_{n}")
}

fn theirs_crate(n: usize) -> String {
    format!("migration_{n}")
}

/// Where the crates are kept between runs (so an unchanged crate stays built).
fn crates_dir() -> PathBuf {
    Path::new(REPO).join("target").join("bench-edit-crates")
}

/// Migration `i`: its message, and its table (the slug, as the default template names it).
fn message(i: usize) -> String {
    format!("create table {i:04}")
}

fn table_of(i: usize) -> String {
    format!("create_table_{i:04}")
}

/// A migration as cargo-migrate's default template renders it.
fn ours_module(id: &str, message: &str, table: &str, revises: Option<&str>) -> String {
    let (revises_doc, revises_rust) = match revises {
        Some(p) => (p.to_string(), format!("&[{p:?}]")),
        None => ("(base)".to_string(), "&[]".to_string()),
    };
    format!(
        r#"//! {message}
//!
//! Revision: {id}
//! Revises: {revises_doc}
//! Created: 2025-01-01 00:00:00 UTC

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of (two or more for a merge).
pub const REVISES: &[&str] = {revises_rust};

/// The example's table.
const TABLE: &str = "{table}";

pub struct Migration;

impl MigrationName for Migration {{
    fn name(&self) -> &str {{
        "{id}"
    }}
}}

{body}"#,
        body = migration_impl()
    )
}

/// A migration as sea-orm-cli's `generate` writes it (its `DeriveMigrationName`), with the
/// default template's body.
fn theirs_module(table: &str) -> String {
    format!(
        r#"use sea_orm_migration::{{prelude::*, schema::*}};

/// The example's table.
const TABLE: &str = "{table}";

#[derive(DeriveMigrationName)]
pub struct Migration;

{body}"#,
        body = migration_impl()
    )
}

/// `up` and `down`, as the default template writes them.
fn migration_impl() -> &'static str {
    r#"#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // An example: replace it with what this migration changes.
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(pk_auto("id"))
                    .col(string("name"))
                    .col(timestamp_with_time_zone("created_at").default(Expr::current_timestamp()))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::drop().table(TABLE).to_owned();
        manager.drop_table(table).await
    }
}
"#
}

/// Renames the newest migration's column (`name` ↔ `title`): an edit cargo must compile.
fn edit(path: &Path) -> Res<()> {
    let text = read_string(path)?;
    let edited = if text.contains(r#"string("name")"#) {
        text.replace(r#"string("name")"#, r#"string("title")"#)
    } else {
        text.replace(r#"string("title")"#, r#"string("name")"#)
    };
    write(path, edited)
}

/// Removes the migration files of `src` that are not among `keep` (left by an
/// interrupted run).
fn remove_other_migrations(src: &Path, keep: &[String]) -> Res<()> {
    for name in files_in(src)? {
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".rs")
            && cargo_migrate::__private::is_migration_module(stem)
            && !keep.iter().any(|k| k == stem)
        {
            let path = src.join(&*name);
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// This repository's `Cargo.lock` in `root`, if it has none yet.
fn lock_file(root: &Path) -> Res<()> {
    let lock = root.join("Cargo.lock");
    if lock.is_file() {
        return Ok(());
    }
    write(&lock, read(&Path::new(REPO).join("Cargo.lock"))?)
}

/// Our workspace with `n` migrations: the files `cargo-migrate migrate init migrations`
/// writes (run in a scratch workspace, so an unchanged crate stays built between bench
/// runs), its first migration replaced by `n` in the default template's shape.
fn ours_workspace(root: &Path, n: usize, backend: &str) -> Res<Vec<String>> {
    let scratch = tempfile::tempdir().map_err(|e| format!("cannot create a directory: {e}"))?;
    write(
        &scratch.path().join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = []\n",
    )?;
    let mut init = Command::new(OURS);
    let name = ours_crate(n);
    init.args([
        "migrate",
        "init",
        OURS_DIR,
        "--name",
        &name,
        "--database",
        backend,
    ])
    .current_dir(scratch.path())
    .env("CARGO_MIGRATE_RUNTIME_PATH", REPO)
    .env("CARGO_TARGET_DIR", scratch.path().join("target"))
    .env_remove("DATABASE_URL");
    quietly(init)?;
    let mut manifest = read_string(&scratch.path().join("Cargo.toml"))?;
    if let Ok(profile) = std::env::var("BENCH_OURS_PROFILE") {
        manifest.push_str(&format!("\n{profile}\n"));
    }
    write_if_changed(&root.join("Cargo.toml"), &manifest)?;
    let krate = root.join(OURS_DIR);
    for file in [
        "Cargo.toml",
        "README.md",
        "build.rs",
        "src/lib.rs",
        "src/main.rs",
    ] {
        write_if_changed(
            &krate.join(file),
            &read_string(&scratch.path().join(OURS_DIR).join(file))?,
        )?;
    }
    // `init` points cargo at this checkout in the workspace's `.cargo/config.toml` (the
    // manifest asks for the published version).
    let config = Path::new(".cargo").join("config.toml");
    write_if_changed(
        &root.join(&config),
        &read_string(&scratch.path().join(&config))?,
    )?;
    let ids: Vec<String> = (0..n).map(common::id).collect();
    let src = krate.join("src");
    for (i, id) in ids.iter().enumerate() {
        let revises = i.checked_sub(1).map(|p| ids[p].as_str());
        write_if_changed(
            &src.join(format!("{id}.rs")),
            &ours_module(id, &message(i), &table_of(i), revises),
        )?;
    }
    remove_other_migrations(&src, &ids)?;
    lock_file(root)?;
    Ok(ids)
}

/// The sea-orm-cli workspace with the same `n` migrations.
fn theirs_workspace(root: &Path, n: usize, feature: &str) -> Res<Vec<String>> {
    write_if_changed(
        &root.join("Cargo.toml"),
        &format!("[workspace]\nmembers = [\"{THEIRS_DIR}\"]\nresolver = \"3\"\n"),
    )?;
    let modules: Vec<(String, String)> = (0..n)
        .map(|i| (common::id(i), theirs_module(&table_of(i))))
        .collect();
    let krate = root.join(THEIRS_DIR);
    sea_orm_crate(&krate, &theirs_crate(n), feature, false, &modules)?;
    let ids: Vec<String> = modules.into_iter().map(|(id, _)| id).collect();
    remove_other_migrations(&krate.join("src"), &ids)?;
    lock_file(root)?;
    Ok(ids)
}

// ---------------------------------------------------------------------------------
// The cases

/// One tool's crate of N migrations, built and applied to its own database.
struct Side {
    ours: bool,
    krate: String,
    src: PathBuf,
    env: Env,
    ids: Vec<String>,
}

impl Side {
    fn newest(&self) -> PathBuf {
        self.src
            .join(format!("{}.rs", self.ids[self.ids.len() - 1]))
    }

    fn binary(&self) -> PathBuf {
        self.env.target.join("debug").join(&self.krate)
    }

    /// `cargo-migrate migrate <args>` in the workspace.
    fn ours(&self, args: &[&str]) -> impl Fn() -> Command + use<> {
        let env = self.env.clone();
        let args: Vec<String> = ["migrate"]
            .iter()
            .chain(args)
            .map(|s| s.to_string())
            .collect();
        move || {
            let mut cmd = env.command(OURS, &args.iter().map(String::as_str).collect::<Vec<_>>());
            cmd.env("NO_COLOR", "1");
            cmd
        }
    }

    /// `$CARGO <args>` in the workspace.
    fn cargo(&self, args: &[&str]) -> impl Fn() -> Command + use<> {
        let env = self.env.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || env.cargo(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `cargo run -p <crate> -- <args>`.
    fn cargo_run(&self, args: &[&str]) -> impl Fn() -> Command + use<> {
        let mut all = vec!["run", "-p", &self.krate, "--"];
        all.extend(args);
        self.cargo(&all)
    }

    /// The crate's binary with `args`.
    fn run_binary(&self, args: &[&str]) -> impl Fn() -> Command + use<> {
        let (env, binary) = (self.env.clone(), self.binary());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || {
            env.command(
                &binary,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        }
    }

    /// Builds the crate and applies every migration (outside any clock).
    fn prepare(&self) -> Res<()> {
        let what = format!("build `{}`", self.krate);
        setup(self.cargo(&["build", "-p", &self.krate])(), &what)?;
        if self.ours {
            quietly(self.ours(&["upgrade", "head"])())
        } else {
            quietly(self.cargo_run(&["up"])())
        }
    }

    /// Writes the file and the `lib.rs` line `sea-orm-cli migrate generate` writes.
    fn generate(&self) -> impl Fn() -> Res<()> + use<> {
        let (src, ids) = (self.src.clone(), self.ids.clone());
        move || {
            let now = cargo_migrate::__private::timestamp(common::now_secs());
            let id = format!(
                "m{}_{}_{NEW_THEIRS}",
                now[..10].replace('-', ""),
                now[11..19].replace(':', "")
            );
            write(&src.join(format!("{id}.rs")), theirs_module(NEW_THEIRS))?;
            let mut modules: Vec<&str> = ids.iter().map(String::as_str).collect();
            modules.push(&id);
            write(&src.join("lib.rs"), sea_orm_lib(&modules))
        }
    }

    fn restore(&self) -> Res<Restore> {
        Restore::snapshot(&self.src, &[self.src.join("lib.rs")])
    }

    /// Step 1: add one migration and apply it; put back outside the clock.
    fn add(&self) -> Res<Case> {
        let case = if self.ours {
            let downgrade = self.ours(&["downgrade", "-1", "--yes"]);
            Case::empty("add")
                .then(self.ours(&["create", MESSAGE]))
                .then(self.ours(&["upgrade", "head"]))
                .after(move || quietly(downgrade()))
        } else {
            let down = self.cargo_run(&["down"]);
            Case::empty("add")
                .then_do(self.generate())
                .then(self.cargo_run(&["up"]))
                .after(move || quietly(down()))
        };
        let rebuild = self.cargo(&["build", "-p", &self.krate]);
        Ok(case
            .restoring(self.restore()?)
            .after(move || quietly(rebuild()))
            .compiling()
            .redo_on("Compiling cargo-migrate"))
    }

    /// Step 2: edit the newest migration, redo it.
    fn edit(&self) -> Case {
        let newest = self.newest();
        let case = Case::empty("edit").then_do(move || edit(&newest));
        let case = if self.ours {
            case.then(self.ours(&["redo", "--yes"]))
        } else {
            case.then(self.cargo_run(&["down"]))
                .then(self.cargo_run(&["up"]))
        };
        case.compiling().redo_on("Compiling cargo-migrate")
    }

    /// Step 3: a no-op `current`.
    fn current(&self) -> Case {
        if self.ours {
            Case::new("current", self.ours(&["current"]))
        } else {
            Case::new("current", self.cargo_run(&["status"]))
        }
    }

    /// Step 4: step 1 cut in phases, with cargo's `--timings` figures.
    fn split(&self) -> Res<Case> {
        let case = if self.ours {
            Case::empty("split").untimed(self.ours(&["create", MESSAGE]))
        } else {
            Case::empty("split").untimed_do(self.generate())
        };
        let (up, down) = if self.ours {
            (
                self.run_binary(&["upgrade", "head"]),
                self.run_binary(&["downgrade", "-1", "--yes"]),
            )
        } else {
            (self.run_binary(&["up"]), self.run_binary(&["down"]))
        };
        let rebuild = self.cargo(&["build", "-p", &self.krate]);
        Ok(case
            .then(self.cargo(&["build", "--timings", "--lib", "-p", &self.krate]))
            .probe(self.timings("lib"))
            .then(self.cargo(&["build", "--timings", "-p", &self.krate]))
            .probe(self.timings("bin"))
            .then(up)
            .after(move || quietly(down()))
            .restoring(self.restore()?)
            .after(move || quietly(rebuild()))
            .compiling()
            .redo_on("Compiling cargo-migrate"))
    }

    /// The crate's units in the last `cargo build --timings` report, as
    /// `<phase>: <unit>` milliseconds.
    fn timings(&self, phase: &'static str) -> impl Fn() -> Res<Vec<(String, f64)>> + use<> {
        let (dir, krate) = (self.env.target.join("cargo-timings"), self.krate.clone());
        move || {
            let html = read_string(&dir.join("cargo-timing.html"))?;
            // Keep the directory small: every build also leaves a dated copy.
            for name in files_in(&dir)? {
                if name.to_string_lossy().starts_with("cargo-timing-") {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
            let units = unit_data(&html)?;
            let mut figures = Vec::new();
            for unit in units.iter().filter(|u| u["name"] == krate.as_str()) {
                let target = unit["target"].as_str().unwrap_or_default().trim();
                let duration = unit["duration"].as_f64().unwrap_or(0.0) * 1e3;
                let what = match (unit["mode"].as_str(), target) {
                    (Some("run-custom-build"), _) => "build script run",
                    (_, "build-script") => "build script compiled",
                    (_, "") => {
                        for (section, span) in unit["sections"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| Some((s[0].as_str()?, &s[1])))
                        {
                            let d = span["end"].as_f64().unwrap_or(0.0)
                                - span["start"].as_f64().unwrap_or(0.0);
                            figures.push((format!("{phase}: lib {section}"), d * 1e3));
                        }
                        "lib"
                    }
                    (_, t) if t.ends_with("\"bin\"") => "bin",
                    _ => continue,
                };
                figures.push((format!("{phase}: {what}"), duration));
            }
            Ok(figures)
        }
    }
}

/// The `UNIT_DATA` array of a `cargo build --timings` report.
fn unit_data(html: &str) -> Res<Vec<serde_json::Value>> {
    let start = html
        .find("const UNIT_DATA = ")
        .ok_or("no UNIT_DATA in cargo's timings report")?
        + "const UNIT_DATA = ".len();
    let end = start
        + html[start..]
            .find("];")
            .ok_or("UNIT_DATA has no end in cargo's timings report")?
        + 1;
    serde_json::from_str(&html[start..end]).map_err(|e| format!("cargo's timings report: {e}"))
}

// ---------------------------------------------------------------------------------
// The tables

fn size_bench(n: usize, runs: usize, steps: &[&str], db: &Db) -> Res<()> {
    let target = bench_target();
    let (ours_backend, feature) = db.backend();
    // Not inside the target directory: cargo-migrate takes a source there for one a
    // build generated, and would never skip cargo.
    let crates = crates_dir();
    let ours_root = crates.join(format!("ours-{ours_backend}-{n}"));
    let theirs_root = crates.join(format!("sea-orm-{ours_backend}-{n}"));
    let ours_ids = ours_workspace(&ours_root, n, ours_backend)?;
    let theirs_ids = theirs_workspace(&theirs_root, n, feature)?;
    let ours_db = db.fresh(&format!("ours_{n}"))?;
    let theirs_db = db.fresh(&format!("sea_orm_{n}"))?;
    let side = |ours: bool| Side {
        ours,
        krate: if ours { ours_crate(n) } else { theirs_crate(n) },
        src: if ours { &ours_root } else { &theirs_root }
            .join(if ours { OURS_DIR } else { THEIRS_DIR })
            .join("src"),
        env: Env {
            cwd: if ours { &ours_root } else { &theirs_root }.clone(),
            target: target.clone(),
            url: if ours { &ours_db } else { &theirs_db }.url.clone(),
        },
        ids: if ours { &ours_ids } else { &theirs_ids }.clone(),
    };
    let (ours, theirs) = (side(true), side(false));
    eprintln!(
        "{n} migrations: building both crates into {} (the first time compiles sea-orm: minutes) \
         and applying them",
        target.display()
    );
    ours.prepare()?;
    theirs.prepare()?;

    println!("### {n} migrations\n");
    let load = Load::start();
    let mut rows: Vec<(String, Res<Timings>, Res<Timings>)> = Vec::new();
    let mut add = |label: &str, cases: Res<[Case; 2]>| match cases {
        Ok(cases) => {
            let mut results = measure(&cases, runs).into_iter();
            let (o, t) = (results.next(), results.next());
            rows.push((
                label.to_string(),
                o.unwrap_or(Err("".into())),
                t.unwrap_or(Err("".into())),
            ));
        }
        Err(e) => rows.push((label.to_string(), Err(e.clone()), Err(e))),
    };
    if steps.contains(&"add") {
        add(
            "add one migration, apply it",
            ours.add().and_then(|o| Ok([o, theirs.add()?])),
        );
    }
    if steps.contains(&"edit") {
        add(
            "edit the newest one (rename a column), redo it",
            Ok([ours.edit(), theirs.edit()]),
        );
    }
    if steps.contains(&"current") {
        add("a no-op `current`", Ok([ours.current(), theirs.current()]));
    }
    if !rows.is_empty() {
        println!(
            "| {n} migrations | cargo-migrate {VERSION} | sea-orm-cli's layout (sea-orm-migration 2.0.4) | ours / theirs |"
        );
        println!("|---|---|---|---|");
        for (label, o, t) in &rows {
            println!("| {label} | {} | {} | {} |", cell(o), cell(t), ratio(o, t));
        }
        println!(
            "\nOurs: `cargo-migrate migrate create \"{MESSAGE}\"` + `cargo-migrate migrate upgrade \
             head`; `cargo-migrate migrate redo --yes`; `cargo-migrate migrate current`. \
             Theirs: the file and `lib.rs` line `sea-orm-cli migrate generate` writes + `cargo run \
             -p {t} -- up`; `cargo run -p {t} -- down` + `cargo run -p {t} -- up`; `cargo run -p \
             {t} -- status`. Median (range); {}.\n",
            load.note(),
            t = theirs_crate(n)
        );
        notes(&rows);
    }
    if steps.contains(&"split") {
        let load = Load::start();
        let results = measure(&[ours.split()?, theirs.split()?], runs);
        breakdown(n, &results[0], &results[1]);
        println!("{}.\n", capitalized(&load.note()));
    }
    Ok(())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn cell(r: &Res<Timings>) -> String {
    match r {
        Ok(t) => format!("{} ({})", secs(t.median()), range_s(&t.ms)),
        Err(e) => format!("failed: {}", one_line(e)),
    }
}

fn range_s(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    if min >= 1000.0 {
        format!("{:.2} – {:.2} s", min / 1e3, max / 1e3)
    } else {
        range(v)
    }
}

fn ratio(o: &Res<Timings>, t: &Res<Timings>) -> String {
    match (o, t) {
        (Ok(o), Ok(t)) => format!("{:.2}×", o.median() / t.median()),
        _ => String::new(),
    }
}

fn notes(rows: &[(String, Res<Timings>, Res<Timings>)]) {
    for (label, o, t) in rows {
        for (who, r) in [("ours", o), ("theirs", t)] {
            if let Ok(t) = r
                && t.redone > 0
            {
                println!(
                    "note: {label}, {who}: {} runs measured again (cargo-migrate's sources \
                     changed meanwhile and the runtime recompiled)\n",
                    t.redone
                );
            }
        }
    }
}

/// The breakdown table of step 1.
fn breakdown(n: usize, ours: &Res<Timings>, theirs: &Res<Timings>) {
    println!(
        "Where adding one migration at {n} goes: after the file is added (not timed), \
         `cargo build --lib -p <crate>`, then `cargo build -p <crate>`, then the binary's \
         `upgrade head` (theirs: `up`) alone; indented rows are the units of `cargo build \
         --timings` (0.01 s resolution):\n"
    );
    println!(
        "| phase ({n} migrations) | cargo-migrate `{}` | sea-orm-cli's `{}` | ours / theirs |",
        ours_crate(n),
        theirs_crate(n)
    );
    println!("|---|---|---|---|");
    type Pick = fn(&Timings) -> Vec<f64>;
    let rows: [(&str, Pick); 11] = [
        ("`cargo build --lib`", |t| t.lap(0)),
        ("  build script run", |t| t.probe("lib: build script run")),
        (
            "  rustc on the library: front end (parse, expand, type-check, metadata)",
            |t| t.probe("lib: lib frontend"),
        ),
        ("  rustc on the library: codegen", |t| {
            t.probe("lib: lib codegen")
        }),
        ("  cargo itself (fingerprints, scheduling)", |t| {
            let (lap, script, lib) = (
                t.lap(0),
                t.probe("lib: build script run"),
                t.probe("lib: lib"),
            );
            lap.iter()
                .enumerate()
                .map(|(i, l)| l - script.get(i).unwrap_or(&0.0) - lib.get(i).unwrap_or(&0.0))
                .collect()
        }),
        ("`cargo build` (the binary)", |t| t.lap(1)),
        ("  rustc on main.rs + link", |t| t.probe("bin: bin")),
        ("  cargo itself", |t| {
            let (lap, bin) = (t.lap(1), t.probe("bin: bin"));
            lap.iter()
                .enumerate()
                .map(|(i, l)| l - bin.get(i).unwrap_or(&0.0))
                .collect()
        }),
        ("the binary's `upgrade head` / `up`", |t| t.lap(2)),
        ("total", |t| t.ms.clone()),
        ("(build script compiled: should be 0)", |t| {
            t.probe("lib: build script compiled")
        }),
    ];
    for (label, pick) in rows {
        let figures = |r: &Res<Timings>| r.as_ref().ok().map(pick).filter(|v| !v.is_empty());
        let (o, t) = (figures(ours), figures(theirs));
        let any = |v: &Option<Vec<f64>>| v.as_ref().is_some_and(|v| v.iter().any(|x| *x > 0.0));
        if label.starts_with("(build script") && !any(&o) && !any(&t) {
            continue;
        }
        let cell = |v: &Option<Vec<f64>>| {
            v.as_ref().map_or("–".to_string(), |v| {
                format!("{} ({})", secs(median(v)), range_s(v))
            })
        };
        let vs = match (&o, &t) {
            (Some(o), Some(t)) if median(t) > 0.0 => format!("{:.2}×", median(o) / median(t)),
            _ => String::new(),
        };
        let label = match label.strip_prefix("  ") {
            Some(l) => format!("&nbsp;&nbsp;{l}"),
            None => label.to_string(),
        };
        println!("| {label} | {} | {} | {vs} |", cell(&o), cell(&t));
    }
    for (who, r) in [("ours", ours), ("theirs", theirs)] {
        if let Err(e) = r {
            println!("\n{who} failed: {}", one_line(e));
        }
    }
    println!();
}
