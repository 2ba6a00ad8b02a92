//! `--all`: a database verb on every migration set of the workspace, in the order `sets`
//! declares (`downgrade` backwards, so a set whose tables refer to another's is reverted
//! first). Each set keeps its own tracking table, written into its code by `init`, so two
//! sets on one database never read each other's revisions.
//!
//! Every set is built first: a set that does not compile stops the run before anything
//! changed. Then each runs under a header line on stderr, its binary spawned (not put in
//! place of this process) with stderr passed through, and stdout too; with `--format
//! json` each object gets a `set` key naming its crate, and a last `sets` object sums up.
//! A writing verb stops at the first set that fails and names those it did not run; a
//! reading verb runs them all and exits with the worst code (`worst`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use console::style;
use serde::Serialize;
use serde_json::Value;

use crate::app::args::Verb;
use crate::app::render::Output;
use crate::error::exit;

use super::args::MigrateArgs;
use super::config::Config;
use super::dburl;
use super::error::{Result, ToolError};
use super::forward::{self, Prepared};
use super::source::tracking_table;
use super::workspace::{MigrationCrate, Workspace};

/// One migration set: its crate and the tracking table it records in, when known.
struct Set {
    name: String,
    table: Option<String>,
}

/// What became of a set.
enum Outcome {
    /// Its binary ran and exited with this code.
    Exited(u8),
    /// It could not be built or run: the error, already reported.
    Failed(u8),
    /// The run stopped before it.
    NotRun,
}

impl Outcome {
    fn code(&self) -> Option<u8> {
        match self {
            Outcome::Exited(c) | Outcome::Failed(c) => Some(*c),
            Outcome::NotRun => None,
        }
    }
}

/// Runs `verb` on every migration set; the exit code is the failing set's (a writing
/// verb) or the worst (a reading verb).
pub(crate) fn run(args: &MigrateArgs, verb: &Verb) -> Result<ExitCode> {
    check_verb(verb)?;
    let out = Output {
        format: args.global.format,
        quiet: args.global.quiet,
    };
    let ws = Workspace::load(&args.cargo)?;
    let mut sets = ws.migration_sets()?;
    for name in ws.left_out_of_sets() {
        out.warn(format!(
            "`{name}` is a migration crate that `sets` in [workspace.metadata.migrate] does not \
             list: `--all` leaves it out"
        ));
    }
    check_tables(args, &ws, &sets)?;
    if matches!(verb, Verb::Downgrade { .. }) {
        sets.reverse();
    }
    let sets: Vec<Set> = sets
        .iter()
        .map(|(krate, config)| Set {
            name: krate.name.clone(),
            table: table_of(krate, config),
        })
        .collect();
    let writes = writes(verb);
    let interrupted = on_interrupt();

    // Build every set before running any.
    let mut ready: Vec<Result<Prepared>> = Vec::with_capacity(sets.len());
    for set in &sets {
        let mut one = args.clone();
        one.cargo.package = Some(set.name.clone());
        one.cargo.all = false;
        ready.push(forward::prepare(&one, verb));
    }
    let mut outcomes: Vec<Outcome> = sets.iter().map(|_| Outcome::NotRun).collect();
    if writes && ready.iter().any(Result::is_err) {
        for ((set, prepared), outcome) in sets.iter().zip(&ready).zip(&mut outcomes) {
            if let Err(e) = prepared {
                report_error(out, set, e);
                *outcome = Outcome::Failed(e.exit_code());
            }
        }
        return Ok(finish(out, verb, &sets, &outcomes, Stop::BeforeAny));
    }

    for (k, (set, prepared)) in sets.iter().zip(ready).enumerate() {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        header(out, set);
        outcomes[k] = match prepared {
            Ok(p) => match spawn(&p, out, &set.name) {
                Ok(code) => Outcome::Exited(code),
                Err(e) => {
                    report_error(out, set, &e);
                    Outcome::Failed(e.exit_code())
                }
            },
            Err(e) => {
                report_error(out, set, &e);
                Outcome::Failed(e.exit_code())
            }
        };
        if writes && outcomes[k].code() != Some(exit::OK) {
            break;
        }
    }
    let stop = if interrupted.load(Ordering::SeqCst) {
        Stop::Interrupted
    } else if writes {
        Stop::AtFailure
    } else {
        Stop::Never
    };
    Ok(finish(out, verb, &sets, &outcomes, stop))
}

/// Where a failure stops the run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A set could not be built for a writing verb: none ran.
    BeforeAny,
    /// A writing verb: at the set that failed.
    AtFailure,
    /// A reading verb: every set runs.
    Never,
    /// Ctrl-C: no set after the one it reached.
    Interrupted,
}

/// Whether `verb` changes what a database records: such a verb stops at the first set
/// that fails.
fn writes(verb: &Verb) -> bool {
    matches!(
        verb,
        Verb::Upgrade { .. }
            | Verb::Downgrade { .. }
            | Verb::Redo { .. }
            | Verb::Stamp { .. }
            | Verb::Rehash { .. }
    )
}

/// Refuses what cannot mean the same in every set: a revision of one set, `show`,
/// `check --entities`.
fn check_verb(verb: &Verb) -> Result<()> {
    let one_set = |what: String| {
        ToolError::usage(format!(
            "`--all` runs `{}` on every migration set, but {what}; pick its set with `-p <name>`",
            verb.name()
        ))
    };
    let specs: Vec<&str> = match verb {
        Verb::Show { .. } => return Err(one_set("`show` names one revision of one set".into())),
        Verb::Check { entities: true } => {
            return Err(one_set(
                "`check --entities` compares the entities with one set's migrations".into(),
            ));
        }
        Verb::Rehash { revisions } => {
            if let Some(id) = revisions.first() {
                return Err(one_set(format!("`{id}` names a revision of one set")));
            }
            Vec::new()
        }
        Verb::Upgrade { revision, .. } | Verb::Downgrade { revision, .. } => {
            vec![revision.as_str()]
        }
        Verb::Stamp { revisions, .. } => revisions.iter().map(String::as_str).collect(),
        Verb::History { range, .. } => range.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    for spec in specs {
        if !spec.split(':').all(symbolic) {
            return Err(one_set(format!(
                "`{spec}` names a revision of one set (every set understands `head`, `heads`, \
                 `base`, `current`, `+N`, `-N` and `head-N`)"
            )));
        }
    }
    Ok(())
}

/// A revision every set understands: empty (an open end of a range), `head`, `heads`,
/// `base` or `current`, each optionally followed by `+N` or `-N`, or `+N`/`-N` alone.
fn symbolic(spec: &str) -> bool {
    let rest = ["heads", "head", "base", "current"]
        .iter()
        .find_map(|w| spec.strip_prefix(w))
        .unwrap_or(spec);
    if rest.is_empty() {
        return true;
    }
    rest.strip_prefix(['+', '-'])
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The set's tracking table: the one its configuration expects, else the one its
/// `lib.rs` declares.
fn table_of(krate: &MigrationCrate, config: &Config) -> Option<String> {
    config.table.clone().or_else(|| {
        let (_, lib) = krate.lib.as_ref()?;
        tracking_table(&std::fs::read_to_string(lib).ok()?)
    })
}

/// Two sets that record in one table of one database read each other's revisions as
/// unknown: refused before anything runs.
fn check_tables(
    args: &MigrateArgs,
    ws: &Workspace,
    sets: &[(MigrationCrate, Config)],
) -> Result<()> {
    let mut seen: Vec<(String, Option<String>, String, &str)> = Vec::new();
    for (krate, config) in sets {
        let Some(table) = table_of(krate, config) else {
            continue;
        };
        let url = dburl::resolve(
            args.global.database_url.as_deref(),
            &ws.root,
            config.database_url.as_deref(),
        )
        .ok()
        .flatten()
        .map(|r| r.url.expose().to_string())
        .unwrap_or_default();
        let schema = dburl::resolve_schema(
            args.global.database_schema.as_deref(),
            &ws.root,
            config.schema.as_deref(),
        )
        .ok()
        .flatten();
        if let Some((_, _, _, other)) = seen
            .iter()
            .find(|(u, s, t, _)| *u == url && *s == schema && *t == table)
        {
            return Err(ToolError::usage(format!(
                "the migration crates `{other}` and `{}` both record in the tracking table \
                 `{table}` of one database, so each would read the other's revisions as unknown; \
                 give one its own with `cargo_migrate::discover!(table = \"...\")` in its lib.rs \
                 (a crate already deployed keeps its table: change the other's)",
                krate.name
            )));
        }
        seen.push((url, schema, table, &krate.name));
    }
    Ok(())
}

/// `==> name (table)` on stderr, before a set's output.
fn header(out: Output, set: &Set) {
    if out.quiet || out.json() {
        return;
    }
    let table = set
        .table
        .as_ref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {}{table}",
        style("==>").cyan().bold(),
        style(&set.name).bold()
    );
}

/// A set that could not be built or run: one line naming it (and, in JSON, an error
/// object with its `set`).
fn report_error(out: Output, set: &Set, e: &ToolError) {
    let (e, code) = (e.to_string(), e.exit_code());
    let message = if e.contains(&format!("`{}`", set.name)) {
        e.clone()
    } else {
        format!("`{}`: {e}", set.name)
    };
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {}",
        style("error:").red().bold(),
        crate::text::one_line(&message)
    );
    if out.json() {
        #[derive(Serialize)]
        struct SetError<'a> {
            event: &'static str,
            error: String,
            exit_code: u8,
            set: &'a str,
        }
        out.object(SetError {
            event: "error",
            error: e,
            exit_code: code,
            set: &set.name,
        });
    }
}

/// Runs a set's binary and waits for it: stderr passed through, stdout too (in JSON, each
/// object with `set` added). Its exit code; killed by a signal: 1.
fn spawn(p: &Prepared, out: Output, set: &str) -> Result<u8> {
    let mut cmd = Command::new(&p.binary);
    cmd.args(&p.argv);
    for (key, value) in &p.env {
        cmd.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0(&p.name);
    }
    if out.json() {
        cmd.stdout(Stdio::piped());
    }
    let cannot = |e: std::io::Error| {
        ToolError::Failure(format!(
            "cannot run the migration binary {}: {e}",
            p.binary.display()
        ))
    };
    let mut child = cmd.spawn().map_err(cannot)?;
    if let Some(stdout) = child.stdout.take() {
        // Read to the end (a pipe that fills up would stop the binary), or, should
        // reading fail, closed, which the binary survives.
        let mut lines = BufReader::new(stdout);
        let mut line = Vec::new();
        while matches!(lines.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line);
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                with_set(text.trim_end_matches(['\n', '\r']), set)
            );
            line.clear();
        }
    }
    let status = child.wait().map_err(cannot)?;
    Ok(status
        .code()
        .map_or(exit::FAILURE, |c| u8::try_from(c).unwrap_or(exit::FAILURE)))
}

/// A line of JSON output with `"set": <set>` among its keys (kept in alphabetical
/// order); anything but an object is left as it is.
fn with_set(line: &str, set: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => {
            let mut sorted: std::collections::BTreeMap<String, Value> =
                object.into_iter().collect();
            sorted.insert("set".into(), Value::String(set.into()));
            serde_json::to_string(&sorted).unwrap_or_else(|_| line.to_string())
        }
        _ => line.to_string(),
    }
}

/// Sums up: which sets ran and how they exited, the sets not run after a writing verb
/// failed; the exit code (the failing set's, else the worst).
fn finish(out: Output, verb: &Verb, sets: &[Set], outcomes: &[Outcome], stop: Stop) -> ExitCode {
    let mut code = outcomes
        .iter()
        .filter_map(Outcome::code)
        .max_by_key(|c| rank(*c))
        .unwrap_or(exit::OK);
    if stop == Stop::Interrupted && rank(code) < rank(exit::FAILURE) {
        // Not every set ran: not a success, nor an answer.
        code = exit::FAILURE;
    }
    let names = |keep: &dyn Fn(&Outcome) -> bool| -> Vec<String> {
        sets.iter()
            .zip(outcomes)
            .filter(|(_, o)| keep(o))
            .map(|(s, _)| format!("`{}`", s.name))
            .collect()
    };
    if out.json() {
        out.object(Summary {
            event: "sets",
            verb: verb.name(),
            exit_code: code,
            sets: sets
                .iter()
                .zip(outcomes)
                .map(|(s, o)| SetSummary {
                    set: &s.name,
                    table: s.table.as_deref(),
                    exit_code: o.code(),
                })
                .collect(),
        });
    } else {
        let failed = names(&|o| !matches!(o, Outcome::NotRun | Outcome::Exited(0))).join(", ");
        let ran = names(&|o| matches!(o, Outcome::Exited(0))).join(", ");
        let not_run = names(&|o| matches!(o, Outcome::NotRun)).join(", ");
        let verb = verb.name();
        let with = |text: &str, what: &str| {
            if what.is_empty() {
                String::new()
            } else {
                format!("{text}{what}")
            }
        };
        let stopped = match stop {
            _ if code == exit::OK && stop != Stop::Interrupted => None,
            Stop::Never => None,
            Stop::BeforeAny => Some(format!(
                "`{verb}` ran on no set: {failed} failed (exit {code})"
            )),
            Stop::AtFailure => Some(format!(
                "`{verb}` failed in {failed} (exit {code}){}{}",
                with("; done before it: ", &ran),
                with("; not run: ", &not_run)
            )),
            Stop::Interrupted => Some(format!(
                "`{verb}` was interrupted{}{}",
                with(" in ", &failed),
                with("; not run: ", &not_run)
            )),
        };
        match stopped {
            Some(line) => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "{} {line}",
                    style("error:").red().bold()
                );
            }
            None => {
                let each: Vec<String> = sets
                    .iter()
                    .zip(outcomes)
                    .map(|(s, o)| match o.code() {
                        Some(c) => format!("{} {c}", s.name),
                        None => format!("{} not run", s.name),
                    })
                    .collect();
                out.status(
                    "Finished",
                    format!(
                        "`{verb}` on {} set{}, exit codes: {}",
                        sets.len(),
                        if sets.len() == 1 { "" } else { "s" },
                        each.join(", ")
                    ),
                );
            }
        }
    }
    ExitCode::from(code)
}

/// `--all --format json`'s last object.
#[derive(Serialize)]
struct Summary<'a> {
    event: &'static str,
    verb: &'a str,
    /// The command's exit code.
    exit_code: u8,
    sets: Vec<SetSummary<'a>>,
}

#[derive(Serialize)]
struct SetSummary<'a> {
    set: &'a str,
    table: Option<&'a str>,
    /// `null`: not run.
    exit_code: Option<u8>,
}

/// How bad an exit code is, for the worst of several: a failed build (101) over an error
/// (1, or a code no verb documents) over bad input (2), since each of these answered
/// nothing; then the answers, drift (4) over pending (3) over up to date (0).
fn rank(code: u8) -> u8 {
    match code {
        exit::OK => 0,
        exit::PENDING => 1,
        exit::DRIFT => 2,
        exit::USAGE => 3,
        exit::FAILURE => 4,
        exit::BUILD_FAILED => 6,
        _ => 5,
    }
}

/// Ctrl-C reaches the set's binary (it shares the terminal's process group) and it
/// decides what to do, as cargo lets `cargo run`'s program decide: this process waits for
/// it, then runs no further set. The flag says whether it came.
#[cfg(unix)]
fn on_interrupt() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        return flag;
    };
    let signal = {
        let _in = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    };
    let Ok(mut signal) = signal else {
        return flag;
    };
    let set = flag.clone();
    let _ = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            rt.block_on(async move {
                if signal.recv().await.is_some() {
                    set.store(true, Ordering::SeqCst);
                }
            })
        });
    flag
}

/// Elsewhere Ctrl-C ends this process as it ends the set's.
#[cfg(not(unix))]
fn on_interrupt() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_exit_code_wins() {
        let worst = |codes: &[u8]| codes.iter().copied().max_by_key(|c| rank(*c)).unwrap();
        assert_eq!(worst(&[0, 3]), 3);
        assert_eq!(worst(&[3, 4, 0]), 4);
        assert_eq!(worst(&[4, 2]), 2);
        assert_eq!(worst(&[2, 1, 4]), 1);
        assert_eq!(worst(&[1, 101, 0]), 101);
        assert_eq!(worst(&[0, 0]), 0);
    }

    #[test]
    fn only_revisions_every_set_has_are_allowed() {
        for ok in [
            "head", "heads", "base", "current", "-1", "+2", "head-1", "base+1", "",
        ] {
            assert!(symbolic(ok), "{ok}");
        }
        for bad in ["m2026", "20260102", "ae1", "head-", "-x", "headx"] {
            assert!(!symbolic(bad), "{bad}");
        }
        let downgrade = |revision: &str| Verb::Downgrade {
            revision: revision.into(),
            write: crate::app::args::WriteArgs {
                allow_unknown: false,
                retry_failed: false,
            },
            sql: Default::default(),
            dry: Default::default(),
        };
        assert!(check_verb(&downgrade("base")).is_ok());
        assert!(check_verb(&downgrade("head:base")).is_ok());
        let e = check_verb(&downgrade("m20260101_000000_a")).unwrap_err();
        assert!(e.to_string().contains("`-p <name>`"), "{e}");
        assert!(
            check_verb(&Verb::Show {
                revision: "head".into()
            })
            .is_err()
        );
        assert!(check_verb(&Verb::Check { entities: true }).is_err());
        assert!(check_verb(&Verb::Check { entities: false }).is_ok());
    }

    #[test]
    fn each_json_object_names_its_set() {
        assert_eq!(
            with_set(r#"{"format_version":1,"status":"pending"}"#, "billing"),
            r#"{"format_version":1,"set":"billing","status":"pending"}"#
        );
        assert_eq!(with_set("not json", "billing"), "not json");
    }
}
