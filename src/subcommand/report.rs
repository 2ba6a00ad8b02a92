//! What the commands that write files say they did: `init`, `create`, `merge`,
//! `templates` and `build`, as status lines for people or one JSON object a command.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::app::render::Output;

use super::create::Written;
use super::error::Result;
use super::init::Initialized;
use super::templates::{self, Origin};

/// What a command that writes files did (`--format json`; README, "Machine output").
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event<'a> {
    /// `init`.
    Initialized {
        package: &'a str,
        path: &'a Path,
        backends: Vec<&'a str>,
        first: &'a str,
        /// The tracking table the crate records in.
        table: &'a str,
        /// `sets` as `init` wrote it (another migration set), else absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        sets: Option<&'a [String]>,
        env_written: bool,
        gitignored: &'a [String],
        local_runtime: Option<LocalRuntime<'a>>,
    },
    /// `create` and `merge`.
    Created {
        id: &'a str,
        revises: &'a [String],
        path: &'a Path,
        files: &'a [PathBuf],
    },
    /// `create --autogenerate` with nothing to write.
    NoChanges { head: Option<&'a str> },
    /// `build`.
    Built { package: &'a str, path: &'a Path },
}

/// Where `init` pointed cargo at this machine's cargo-migrate.
#[derive(Serialize)]
struct LocalRuntime<'a> {
    source: &'a Path,
    config: &'a Path,
    excluded_from_git: bool,
}

/// `templates --format json`.
#[derive(Serialize)]
struct TemplatesJson<'a> {
    templates: Vec<TemplateJson<'a>>,
}

/// One template: its name, `built-in` or the directory it came from, its files.
#[derive(Serialize)]
struct TemplateJson<'a> {
    name: &'a str,
    origin: &'a Path,
    files: Vec<&'a String>,
    description: String,
}

/// `init`: the crate, its first migration, and what else was written or patched.
pub(crate) fn initialized(out: Output, root: &Path, done: &Initialized) {
    let rel = relative(&done.dir);
    let backends: Vec<&str> = done.backends.iter().map(|b| b.feature()).collect();
    if out.json() {
        out.object(Event::Initialized {
            package: &done.name,
            path: &done.dir,
            backends,
            first: &done.first,
            table: &done.table,
            sets: done.sets.as_deref(),
            env_written: done.env_written,
            gitignored: &done.ignored,
            local_runtime: done
                .local_runtime
                .as_ref()
                .map(|(source, patched)| LocalRuntime {
                    source,
                    config: &patched.config,
                    excluded_from_git: patched.excluded,
                }),
        });
        return;
    }
    out.status(
        "Created",
        format!(
            "migration crate `{}` at {rel} ({})",
            done.name,
            backends.join(", ")
        ),
    );
    out.status("Created", format!("first migration {}", done.first));
    out.status(
        "Tracking",
        format!("its migrations in table `{}`", done.table),
    );
    match &done.sets {
        Some(sets) => out.status(
            "Ordered",
            format!(
                "sets = [{}] in {}: the order `cargo migrate --all` runs them in",
                sets.iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                relative(&root.join("Cargo.toml")),
            ),
        ),
        None if !done.others.is_empty() => out.note(format!(
            "`cargo migrate --all` needs the order of the migration crates: add `sets = [...]` \
             with {} and `{}` to `[workspace.metadata.migrate]`",
            done.others
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", "),
            done.name
        )),
        None => {}
    }
    if done.env_written {
        out.status(
            "Wrote",
            format!("DATABASE_URL to {}", relative(&root.join(".env"))),
        );
    }
    if !done.ignored.is_empty() {
        out.status(
            "Ignored",
            format!("{} in .gitignore", done.ignored.join(" ")),
        );
    }
    if let Some((source, patched)) = &done.local_runtime {
        let kept = if patched.excluded {
            ", kept out of git"
        } else {
            ""
        };
        out.status(
            "Patched",
            format!(
                "cargo-migrate to this machine's source at {} in {} (this machine \
                 only{kept}; the committed manifest asks for the published version)",
                source.display(),
                relative(&patched.config)
            ),
        );
    }
    out.data(rel);
    if done.others.is_empty() {
        out.note("next: edit the first migration, then `cargo migrate upgrade head`");
    } else {
        out.note(format!(
            "next: edit the first migration, then `cargo migrate -p {} upgrade head` \
             (or every set: `cargo migrate --all upgrade head`)",
            done.name
        ));
    }
}

/// `create` and `merge` (`verb`: `Created`, `Merged`): the revision and its files, then
/// a warning for each migration file the crate's own list leaves out.
pub(crate) fn written(out: Output, w: &Written, verb: &str, unregistered: &[PathBuf]) {
    if out.json() {
        out.object(Event::Created {
            id: &w.id,
            revises: &w.revises,
            path: &w.path,
            files: &w.files,
        });
    } else {
        let revises = if w.revises.is_empty() {
            "the first revision".to_string()
        } else {
            format!("revises {}", w.revises.join(", "))
        };
        out.status(verb, format!("{} ({revises})", w.id));
        for f in &w.files {
            out.data(relative(f));
        }
    }
    // A file the crate's own list leaves out is not compiled: its revision is missing
    // from the graph the new one was placed in.
    for file in unregistered {
        out.warn(format!(
            "{} is a migration file that lib.rs does not register, so it is neither compiled nor run",
            relative(file)
        ));
    }
}

/// `create --autogenerate` when the entities match the migrations: nothing written.
pub(crate) fn no_changes(out: Output, head: Option<&str>) {
    let at = head.map_or("(no migrations yet)".to_owned(), |h| format!("at {h}"));
    if out.json() {
        out.object(Event::NoChanges { head });
    } else {
        out.status(
            "Finished",
            format!("no changes detected: the entities match the migrations' schema {at}; nothing was written"),
        );
    }
}

/// After `create --autogenerate` wrote a revision: how much of it to review.
pub(crate) fn autogenerated(out: Output, changes: usize, review: usize) {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    out.note(format!(
        "{changes} change{} from the entities, checked by replay (up gives the entities' \
         schema, down gives it back){}",
        s(changes),
        if review > 0 {
            format!("; {review} can lose data: review the lines marked REVIEW")
        } else {
            String::new()
        }
    ));
}

/// `templates`: the built-ins and the user's templates in `dir`.
pub(crate) fn templates(out: Output, dir: Option<&Path>) -> Result<()> {
    let all = templates::all(dir)?;
    if out.json() {
        let templates = all
            .iter()
            .map(|t| TemplateJson {
                name: &t.name,
                origin: match &t.origin {
                    Origin::BuiltIn => Path::new("built-in"),
                    Origin::User(p) => p,
                },
                files: t.files.iter().map(|(f, _)| f).collect(),
                description: t.description(),
            })
            .collect();
        out.object(TemplatesJson { templates });
        return Ok(());
    }
    let width = all.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &all {
        let origin = match &t.origin {
            Origin::BuiltIn => "built-in".to_string(),
            Origin::User(p) => relative(p),
        };
        out.data(format!("{:<width$}  {origin}: {}", t.name, t.description()));
    }
    if let Some(dir) = dir.filter(|d| !d.is_dir()) {
        out.note(format!(
            "templates in {} replace the built-ins of the same name (`cargo migrate templates eject` copies them there)",
            relative(dir)
        ));
    }
    Ok(())
}

/// `templates eject`: each file copied to `to` (`true`) or left as it was.
pub(crate) fn ejected(out: Output, files: &[(PathBuf, bool)], to: &Path) {
    for (path, written) in files {
        if *written {
            out.status("Ejected", relative(path));
        } else {
            out.warn(format!("{} exists; left as it is", relative(path)));
        }
    }
    out.data(relative(to));
}

/// `build`: the binary of `krate`, at `to`.
pub(crate) fn built(out: Output, krate: &str, to: &Path) {
    if out.json() {
        out.object(Event::Built {
            package: krate,
            path: to,
        });
    } else {
        out.status("Built", format!("`{krate}` at {}", relative(to)));
        out.data(relative(to));
    }
}

/// A path relative to the working directory when it is below it.
pub(crate) fn relative(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
