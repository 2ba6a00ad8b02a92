//! What the benches that run real commands share (`subcommand`, `edit_loop`): timing
//! commands interleaved with their median and range, markdown tables, file helpers, and
//! the writer of a migration crate in sea-orm-cli's layout.
//!
//! Included with `#[path = "common/mod.rs"] mod common;`; each bench uses a part of it.
#![allow(dead_code)]

pub mod databases;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The benchmarked `cargo-migrate` binary.
pub const OURS: &str = env!("CARGO_BIN_EXE_cargo-migrate");
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub type Res<T> = Result<T, String>;

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------
// Timing

/// Figures read after a step: `(name, value)`.
type ProbeFn = dyn Fn() -> Res<Vec<(String, f64)>>;

enum Action {
    Run(Box<dyn Fn() -> Command>),
    Do(Box<dyn Fn() -> Res<()>>),
    /// Reads figures of the run (not clocked), recorded under their names.
    Probe(Box<ProbeFn>),
}

struct Step {
    timed: bool,
    action: Action,
}

/// What one timed run does: steps in order (commands, or actions in Rust), the clocked
/// ones timed each on its own, then what puts things back, outside the clock.
pub struct Case {
    pub label: String,
    steps: Vec<Step>,
    after: Vec<Box<dyn Fn() -> Res<()>>>,
    compiles: bool,
    redo_on: Vec<String>,
}

/// One run of a case: the clocked steps' milliseconds, their stderr, the probes' figures.
pub struct Outcome {
    pub laps: Vec<f64>,
    pub stderr: String,
    pub probes: Vec<(String, f64)>,
}

impl Case {
    /// A case of one command.
    pub fn new(label: impl Into<String>, command: impl Fn() -> Command + 'static) -> Case {
        Case::empty(label).then(command)
    }

    /// A case with no step yet.
    pub fn empty(label: impl Into<String>) -> Case {
        Case {
            label: label.into(),
            steps: Vec::new(),
            after: Vec::new(),
            compiles: false,
            redo_on: Vec::new(),
        }
    }

    /// A clocked command; a failure (non-zero exit) fails the run.
    pub fn then(mut self, command: impl Fn() -> Command + 'static) -> Case {
        self.steps.push(Step {
            timed: true,
            action: Action::Run(Box::new(command)),
        });
        self
    }

    /// A clocked action in Rust (writing a file as a tool would).
    pub fn then_do(mut self, f: impl Fn() -> Res<()> + 'static) -> Case {
        self.steps.push(Step {
            timed: true,
            action: Action::Do(Box::new(f)),
        });
        self
    }

    /// A command run at this point of every run, outside the clock.
    pub fn untimed(mut self, command: impl Fn() -> Command + 'static) -> Case {
        self.steps.push(Step {
            timed: false,
            action: Action::Run(Box::new(command)),
        });
        self
    }

    /// An action run at this point of every run, outside the clock.
    pub fn untimed_do(mut self, f: impl Fn() -> Res<()> + 'static) -> Case {
        self.steps.push(Step {
            timed: false,
            action: Action::Do(Box::new(f)),
        });
        self
    }

    /// Figures read at this point of every run, outside the clock (see
    /// [`Timings::probes`]).
    pub fn probe(mut self, f: impl Fn() -> Res<Vec<(String, f64)>> + 'static) -> Case {
        self.steps.push(Step {
            timed: false,
            action: Action::Probe(Box::new(f)),
        });
        self
    }

    /// What puts things back after every run (failed ones too), outside the clock, in
    /// the order given.
    pub fn after(mut self, f: impl Fn() -> Res<()> + 'static) -> Case {
        self.after.push(Box::new(f));
        self
    }

    pub fn restoring(self, restore: Restore) -> Case {
        self.after(move || restore.apply())
    }

    /// Cargo compiles in every run by design: no note about it under the table.
    pub fn compiling(mut self) -> Case {
        self.compiles = true;
        self
    }

    /// A run whose stderr contains `text` measured something else (say, a dependency
    /// rebuilt because its sources changed meanwhile): it is run again.
    pub fn redo_on(mut self, text: impl Into<String>) -> Case {
        self.redo_on.push(text.into());
        self
    }

    /// One run.
    pub fn run(&self) -> Res<Outcome> {
        let mut outcome = Outcome {
            laps: Vec::new(),
            stderr: String::new(),
            probes: Vec::new(),
        };
        let result = self.run_steps(&mut outcome);
        let mut restored = Ok(());
        for f in &self.after {
            if let Err(e) = f()
                && restored.is_ok()
            {
                restored = Err(e);
            }
        }
        result.and(restored).map(|()| outcome)
    }

    fn run_steps(&self, outcome: &mut Outcome) -> Res<()> {
        for step in &self.steps {
            let start = Instant::now();
            match &step.action {
                Action::Run(command) => {
                    let mut cmd = command();
                    cmd.stdin(Stdio::null());
                    let out = cmd.output();
                    let elapsed = start.elapsed().as_secs_f64() * 1e3;
                    let out = out.map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    outcome.stderr.push_str(&stderr);
                    if !out.status.success() {
                        return Err(format!(
                            "`{}` failed ({}): {}",
                            describe(&cmd),
                            out.status,
                            stderr.trim()
                        ));
                    }
                    if step.timed {
                        outcome.laps.push(elapsed);
                    }
                }
                Action::Do(f) => {
                    f()?;
                    if step.timed {
                        outcome.laps.push(start.elapsed().as_secs_f64() * 1e3);
                    }
                }
                Action::Probe(f) => outcome.probes.extend(f()?),
            }
        }
        Ok(())
    }
}

/// A command as a shell would show it (program and arguments).
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The timed runs of one case.
#[derive(Default)]
pub struct Timings {
    /// Each run's total of its clocked steps.
    pub ms: Vec<f64>,
    /// Each run's clocked steps, one by one.
    pub laps: Vec<Vec<f64>>,
    /// The probes' figures, by name in the order first seen.
    pub probes: Vec<(String, Vec<f64>)>,
    /// Runs in which cargo compiled something.
    pub compiled: usize,
    /// Runs measured again (see [`Case::redo_on`]).
    pub redone: usize,
}

impl Timings {
    pub fn median(&self) -> f64 {
        median(&self.ms)
    }

    pub fn range(&self) -> String {
        range(&self.ms)
    }

    /// The milliseconds of clocked step `i` in every run.
    pub fn lap(&self, i: usize) -> Vec<f64> {
        self.laps.iter().filter_map(|l| l.get(i).copied()).collect()
    }

    /// The figures of probe `name` in every run.
    pub fn probe(&self, name: &str) -> Vec<f64> {
        self.probes
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(Vec::new, |(_, v)| v.clone())
    }

    fn record(&mut self, outcome: Outcome) {
        self.ms.push(outcome.laps.iter().sum());
        self.laps.push(outcome.laps);
        self.compiled += usize::from(outcome.stderr.contains("Compiling"));
        for (name, value) in outcome.probes {
            match self.probes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, values)) => values.push(value),
                None => self.probes.push((name, vec![value])),
            }
        }
    }
}

/// The median (the upper one of an even count); NaN for none.
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `min – max`.
pub fn range(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    format!("{} – {}", ms(min), ms(max))
}

/// Times every case: one untimed run each, then `runs` rounds in a rotating order. A
/// case that fails is dropped from later rounds and reported as the error. A run
/// matching one of its case's [`Case::redo_on`] texts is repeated (up to three times).
pub fn measure(cases: &[Case], runs: usize) -> Vec<Res<Timings>> {
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
            let case = &cases[i];
            let mut outcome = case.run();
            for _ in 0..3 {
                match &outcome {
                    Ok(o) if case.redo_on.iter().any(|t| o.stderr.contains(t.as_str())) => {
                        timings.redone += 1;
                        outcome = case.run();
                    }
                    _ => break,
                }
            }
            match outcome {
                Ok(o) => timings.record(o),
                Err(e) => results[i] = Err(e),
            }
        }
    }
    results
}

/// A row of a table: what it measures, and whether later rows are compared with it.
pub struct Row {
    label: String,
    case: Case,
    baseline: bool,
}

impl Row {
    pub fn new(label: impl Into<String>, case: Case) -> Row {
        Row {
            label: label.into(),
            case,
            baseline: false,
        }
    }

    pub fn baseline(mut self) -> Row {
        self.baseline = true;
        self
    }
}

/// Measures the rows and prints them as a markdown table; `ratio` heads the column
/// comparing each row with the last baseline row above it.
pub fn table(rows: Vec<Row>, runs: usize, ratio: &str) {
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
            Err(e) => println!("| {label} | failed: {} | | |", one_line(e)),
        }
    }
    for (((label, _), result), case) in meta.iter().zip(&results).zip(&cases) {
        if let Ok(t) = result
            && t.compiled > 0
            && !case.compiles
        {
            println!(
                "\nnote: cargo compiled in {} of the runs of {label} (sources changed during the run)",
                t.compiled
            );
        }
    }
    println!();
}

pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// Seconds, for figures of a second or more.
pub fn secs(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1e3)
    } else {
        ms(v)
    }
}

/// Puts a directory back as it was: removes the files that appeared in it and writes
/// the saved files' contents back.
pub struct Restore {
    dir: PathBuf,
    before: BTreeSet<OsString>,
    saved: Vec<(PathBuf, Vec<u8>)>,
}

impl Restore {
    pub fn snapshot(dir: &Path, keep: &[PathBuf]) -> Res<Restore> {
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

    pub fn apply(&self) -> Res<()> {
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
pub fn files_in(dir: &Path) -> Res<BTreeSet<OsString>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .collect())
}

// ---------------------------------------------------------------------------------
// Files and commands

pub fn read(path: &Path) -> Res<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn read_string(path: &Path) -> Res<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Res<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a file only when its contents differ, so cargo sees an unchanged crate as
/// fresh from one bench run to the next.
pub fn write_if_changed(path: &Path, contents: &str) -> Res<()> {
    match std::fs::read(path) {
        Ok(old) if old == contents.as_bytes() => Ok(()),
        _ => write(path, contents),
    }
}

/// Runs a set-up command to completion; its stderr is shown (cargo's progress).
pub fn setup(mut cmd: Command, what: &str) -> Res<()> {
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

/// Runs a command to completion quietly; its output is shown only if it fails.
pub fn quietly(mut cmd: Command) -> Res<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}{}",
            describe(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The migration ids: one a second from 2025-01-01 00:00:00, as sea-orm-cli names them.
pub fn id(i: usize) -> String {
    format!(
        "m20250101_{:02}{:02}{:02}_create_table_{i:04}",
        i / 3600,
        i / 60 % 60,
        i % 60
    )
}

/// The program cargo subcommands call back: `$CARGO`, else `cargo`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// How to run a command against one database, building into one target directory.
#[derive(Clone)]
pub struct Env {
    pub cwd: PathBuf,
    pub target: PathBuf,
    pub url: String,
}

impl Env {
    pub fn command(&self, program: impl AsRef<OsStr>, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.cwd)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("DATABASE_URL", &self.url);
        cmd
    }

    /// `$CARGO args` with this environment.
    pub fn cargo(&self, args: &[&str]) -> Command {
        self.command(
            std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            args,
        )
    }

    /// A case that runs `program args` with this environment.
    pub fn case(&self, program: impl Into<OsString>, args: &[&str]) -> Case {
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

/// PATH with the directory of the benchmarked `cargo-migrate` first, so `cargo migrate`
/// runs it.
pub fn with_ours_on_path() -> Res<OsString> {
    let dir = Path::new(OURS)
        .parent()
        .ok_or_else(|| format!("{OURS} has no directory"))?;
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .map_err(|e| format!("cannot put {} on PATH: {e}", dir.display()))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    cargo_migrate::__private::timestamp(now_secs())[..10].to_string()
}

/// The number of cores, for the tables' headers.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ---------------------------------------------------------------------------------
// A crate in sea-orm-cli's layout

/// Writes a migration crate laid out as `sea-orm-cli migrate init` writes it (`name`:
/// `migration` there), with the given modules (`(name, source)`, in order) listed in `lib.rs` as `sea-orm-cli migrate
/// generate` lists them. `own_workspace`: the package is a workspace of its own (else a
/// member of the workspace above it). Unchanged files are left alone.
pub fn sea_orm_crate(
    dir: &Path,
    name: &str,
    backend: &str,
    own_workspace: bool,
    modules: &[(String, String)],
) -> Res<()> {
    let workspace = if own_workspace {
        "\n# Not in sea-orm-cli's template: a workspace of its own.\n[workspace]\n"
    } else {
        ""
    };
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nedition = \"2024\"\nname = \"{name}\"\npublish = false\n\
             rust-version = \"1.85.0\"\nversion = \"0.1.0\"\n\n\
             [lib]\nname = \"{name}\"\npath = \"src/lib.rs\"\n\n\
             [dependencies]\n\
             tokio = {{ version = \"1\", features = [\"macros\", \"rt\", \"rt-multi-thread\"] }}\n\n\
             [dependencies.sea-orm-migration]\n\
             features = [\"runtime-tokio-rustls\", \"{backend}\"]\nversion = \"2.0.4\"\n{workspace}"
        ),
    )?;
    let src = dir.join("src");
    write_if_changed(
        &src.join("main.rs"),
        &format!(
            "use sea_orm_migration::prelude::*;\n\n#[tokio::main]\nasync fn main() {{\n    \
             cli::run_cli({name}::Migrator).await;\n}}\n"
        ),
    )?;
    for (name, source) in modules {
        write_if_changed(&src.join(format!("{name}.rs")), source)?;
    }
    let names: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    write_if_changed(&src.join("lib.rs"), &sea_orm_lib(&names))
}

/// A sea-orm-cli crate's `lib.rs` listing `modules`, as `generate` leaves it.
pub fn sea_orm_lib(modules: &[&str]) -> String {
    let mut mods = String::new();
    let mut boxes = String::new();
    for m in modules {
        mods.push_str(&format!("mod {m};\n"));
        boxes.push_str(&format!("            Box::new({m}::Migration),\n"));
    }
    format!(
        "pub use sea_orm_migration::prelude::*;\n\n{mods}\npub struct Migrator;\n\n\
         #[async_trait::async_trait]\nimpl MigratorTrait for Migrator {{\n    \
         fn migrations() -> Vec<Box<dyn MigrationTrait>> {{\n        vec![\n{boxes}        ]\n    }}\n}}\n"
    )
}
