//! `create` and `merge`: render a template into new files beside the crate's other
//! migrations (and, in a crate that lists its modules, register the module in
//! `lib.rs`), from the source alone. Nothing is overwritten, and a failure part-way
//! removes what was written.

use std::path::{Path, PathBuf};

use crate::model::graph::{Graph, ids};
use crate::model::messages;
use crate::model::spec::Resolver;

use super::args::{CreateArgs, MergeArgs};
use super::config::{Config, TimeZone};
use super::error::{Result, ToolError};
use super::module::parse_module;
use super::naming;
use super::register::register;
use super::source::{Layout, Source};
use super::templates::{self, Context, Template};
use super::workspace::MigrationCrate;

/// What a command needs to write revisions into a crate.
pub(crate) struct Target<'a> {
    pub(crate) krate: &'a MigrationCrate,
    pub(crate) config: &'a Config,
    pub(crate) source: Source,
}

impl<'a> Target<'a> {
    pub(crate) fn open(krate: &'a MigrationCrate, config: &'a Config) -> Result<Target<'a>> {
        let (_, lib) = krate.lib.as_ref().ok_or_else(|| {
            ToolError::usage(format!(
                "the migration crate `{}` has no library target (src/lib.rs) listing its migrations",
                krate.name
            ))
        })?;
        let source = Source::read_indexed(lib, Some(&krate.state_dir))?;
        if source.layout == Layout::Discover && krate.build_script.is_none() {
            return Err(ToolError::usage(format!(
                "{} uses `cargo_migrate::discover!()`, but the crate `{}` has no build.rs to find \
                 its migrations; add the one `cargo migrate init` writes (see the README, \"A migration crate\")",
                lib.display(),
                krate.name
            )));
        }
        Ok(Target {
            krate,
            config,
            source,
        })
    }

    /// The directory whose templates override the built-ins: configured, else
    /// `<crate>/templates`.
    pub(crate) fn template_dir(&self) -> PathBuf {
        template_dir(self.krate, self.config)
    }
}

pub(crate) fn template_dir(krate: &MigrationCrate, config: &Config) -> PathBuf {
    config
        .templates
        .clone()
        .unwrap_or_else(|| krate.dir.join("templates"))
}

/// A revision that was written.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Written {
    pub(crate) id: String,
    pub(crate) revises: Vec<String>,
    pub(crate) path: PathBuf,
    pub(crate) files: Vec<PathBuf>,
}

/// Waits for, then holds, the lock that serialises `create` and `merge` in one
/// workspace: a file in the workspace's state directory under the target directory,
/// locked until the returned handle is dropped (the process exits, at the latest).
pub(crate) fn lock(krate: &MigrationCrate) -> Result<std::fs::File> {
    let dir = &krate.state_dir;
    std::fs::create_dir_all(dir).map_err(ToolError::io("create", dir))?;
    let path = dir.join("create.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(ToolError::io("open", &path))?;
    file.lock().map_err(ToolError::io("lock", &path))?;
    Ok(file)
}

/// Opens the crate and writes one revision with `write` under the lock (`lock`), so two
/// `create`s at once cannot both revise the same head or both edit lib.rs from the same
/// copy. Also returns the migration files lib.rs does not register.
pub(crate) fn write_locked(
    krate: &MigrationCrate,
    config: &Config,
    write: impl FnOnce(&Target) -> Result<Written>,
) -> Result<(Written, Vec<PathBuf>)> {
    let lock = lock(krate)?;
    let target = Target::open(krate, config)?;
    let written = write(&target)?;
    drop(lock);
    Ok((written, target.source.unregistered()))
}

pub(crate) fn create(target: &Target, args: &CreateArgs) -> Result<Written> {
    let graph = target.source.graph()?;
    let parents = parents(target, &graph, args.head.as_deref())?;
    let template = templates::find(args.template(), Some(&target.template_dir()))?;
    write(target, &graph, &template, &args.message, parents, None)
}

/// What a new revision revises: `head`'s revision, or the single head (none in an
/// empty crate).
pub(crate) fn parents(target: &Target, graph: &Graph, head: Option<&str>) -> Result<Vec<String>> {
    Ok(match head {
        Some(_) if target.source.is_legacy() => {
            return Err(ToolError::usage(
                "`--head` needs a crate whose migrations declare what they revise; a sea-orm-cli \
                 crate is one chain in `migrations()` order, so a new migration always follows the last",
            ));
        }
        Some(spec) => {
            let revs = Resolver::new(graph, None)
                .resolve_str(spec)
                .map_err(|e| ToolError::usage(e.to_string()))?;
            match revs.as_slice() {
                [one] => vec![graph.id(*one).to_string()],
                [] => Vec::new(),
                several => {
                    return Err(ToolError::usage(format!(
                        "`--head {spec}` names {} revisions ({}); name one",
                        several.len(),
                        ids(graph, several).join(", ")
                    )));
                }
            }
        }
        None => {
            let heads = graph.heads();
            if heads.len() > 1 {
                return Err(ToolError::usage(messages::multiple_heads_to_revise(&ids(
                    graph, &heads,
                ))));
            }
            ids(graph, &heads)
        }
    })
}

pub(crate) fn merge(target: &Target, args: &MergeArgs) -> Result<Written> {
    let graph = target.source.graph()?;
    let resolver = Resolver::new(&graph, None);
    let mut revs: Vec<usize> = if args.revisions.is_empty() {
        graph.heads()
    } else {
        let mut v = Vec::new();
        for spec in &args.revisions {
            v.extend(
                resolver
                    .resolve_str(spec)
                    .map_err(|e| ToolError::usage(e.to_string()))?,
            );
        }
        v
    };
    revs.sort_by_key(|&r| graph.rank(r));
    revs.dedup();
    if revs.len() < 2 {
        return Err(ToolError::usage(match revs.as_slice() {
            [one] if args.revisions.is_empty() => format!(
                "nothing to merge: the migration crate has one head ({})",
                graph.id(*one)
            ),
            [] => "nothing to merge: the migration crate has no revisions".to_string(),
            _ => {
                "a merge joins two or more revisions; name them, or none for all heads".to_string()
            }
        }));
    }
    for &r in &revs {
        let ancestors = graph.ancestors(&[r]);
        if let Some(&a) = revs.iter().find(|&&o| o != r && ancestors[o]) {
            return Err(ToolError::usage(format!(
                "`{}` is an ancestor of `{}`, so they are on one branch and cannot be merged",
                graph.id(a),
                graph.id(r)
            )));
        }
    }
    let template = templates::find(&args.template, Some(&target.template_dir()))?;
    write(
        target,
        &graph,
        &template,
        &args.message,
        ids(&graph, &revs),
        None,
    )
}

/// `&["a", "b"]`, or one id a line when `pub const REVISES: &[&str] = ...;` would be
/// longer than rustfmt's 100 columns.
pub fn revises_rust(parents: &[String]) -> String {
    let quoted: Vec<String> = parents.iter().map(|p| format!("{p:?}")).collect();
    let one_line = format!("&[{}]", quoted.join(", "));
    if "pub const REVISES: &[&str] = ;".len() + one_line.len() <= 100 {
        one_line
    } else {
        format!(
            "&[\n{}]",
            quoted
                .iter()
                .map(|q| format!("    {q},\n"))
                .collect::<String>()
        )
    }
}

/// The code of a generated revision (`create --autogenerate`).
pub(crate) struct Generated {
    pub(crate) up: String,
    pub(crate) down: String,
    /// Each change in words.
    pub(crate) changes: Vec<String>,
}

pub(crate) fn write(
    target: &Target,
    graph: &Graph,
    template: &Template,
    message: &str,
    parents: Vec<String>,
    generated: Option<Generated>,
) -> Result<Written> {
    let source = &target.source;
    let existing = (0..graph.len()).map(|r| graph.id(r));
    let id = naming::new_id(message, target.config.timezone(), existing)?;
    let legacy = source.is_legacy();
    let mut ctx = context(
        &id,
        message,
        &parents,
        target.config.timezone(),
        legacy,
        &target.krate.name,
    );
    if let Some(g) = generated {
        (ctx.up, ctx.down, ctx.changes) = (g.up, g.down, g.changes);
    }
    let rendered = template.render(&ctx)?;
    check_module(template, &rendered[0].1, &ctx)?;
    let lib = register(source, &id).map_err(|why| {
        ToolError::usage(format!(
            "cannot register `{id}` in {}: {why}",
            source.lib.display()
        ))
    })?;
    let src = source.lib.parent().unwrap_or(Path::new("."));
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for (name, text) in &rendered {
            let path = src.join(name);
            if let Some(dir) = path.parent().filter(|d| *d != src && !d.exists()) {
                std::fs::create_dir(dir).map_err(ToolError::io("create", dir))?;
                written.push(dir.to_path_buf());
            }
            create_new(&path, text)?;
            written.push(path);
        }
        if source.layout == Layout::Discover {
            return Ok(()); // the build script finds the new file
        }
        // Another `create` (or an editor) may have changed lib.rs since it was read.
        let now =
            std::fs::read_to_string(&source.lib).map_err(ToolError::io("read", &source.lib))?;
        if now != source.text {
            return Err(ToolError::Failure(format!(
                "{} changed while `{id}` was being written; nothing was written, run the command again",
                source.lib.display()
            )));
        }
        replace(&source.lib, &lib)
    })();
    if let Err(e) = result {
        for path in written.iter().rev() {
            let _ = if path.is_dir() {
                std::fs::remove_dir(path)
            } else {
                std::fs::remove_file(path)
            };
        }
        return Err(e);
    }
    let files: Vec<PathBuf> = written.into_iter().filter(|p| p.is_file()).collect();
    Ok(Written {
        id,
        revises: parents,
        path: files[0].clone(),
        files,
    })
}

/// What a template renders a new revision with (`init`'s first one too).
pub(crate) fn context(
    id: &str,
    message: &str,
    parents: &[String],
    tz: TimeZone,
    legacy: bool,
    crate_name: &str,
) -> Context {
    let slug = naming::slug(message).unwrap_or_default();
    Context {
        id: id.to_string(),
        message: naming::one_line(message),
        revises: parents.to_vec(),
        revises_rust: revises_rust(parents),
        created: created(tz),
        table: slug.clone(),
        slug,
        legacy,
        prelude: if legacy {
            "sea_orm_migration::{prelude::*, schema::*}".to_string()
        } else {
            "cargo_migrate::prelude::*".to_string()
        },
        crate_name: crate_name.to_string(),
        up: String::new(),
        down: String::new(),
        changes: Vec::new(),
    }
}

/// The rendered module must be the revision it is meant to be, or the crate would
/// not compile or not know where it goes.
fn check_module(template: &Template, module: &str, ctx: &Context) -> Result<()> {
    let facts = parse_module(module);
    let file = match &template.origin {
        templates::Origin::BuiltIn => format!("built-in template `{}`", template.name),
        templates::Origin::User(dir) => dir.join(templates::MODULE).display().to_string(),
    };
    if let Some(name) = facts.name.as_deref().filter(|n| *n != ctx.id) {
        return Err(ToolError::usage(format!(
            "{file} names the migration `{name}`, not `{{{{ id }}}}` (`{}`)",
            ctx.id
        )));
    }
    if !ctx.legacy && facts.revises.as_ref() != Some(&ctx.revises) {
        return Err(ToolError::usage(format!(
            "{file} must declare `pub const REVISES: &[&str] = {{{{ revises_rust }}}};` (here `{}`)",
            ctx.revises_rust
        )));
    }
    Ok(())
}

fn created(tz: TimeZone) -> String {
    match tz {
        TimeZone::Utc => chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        TimeZone::Local => chrono::Local::now()
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
    }
}

/// Writes a file that must not exist yet.
pub(crate) fn create_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ToolError::usage(format!(
                    "{} already exists; nothing was written",
                    path.display()
                ))
            } else {
                ToolError::io("create", path)(e)
            }
        })?;
    file.write_all(text.as_bytes())
        .map_err(ToolError::io("write", path))
}

/// Replaces a file's contents through a temporary file beside it, so a failure
/// leaves the old contents.
pub(crate) fn replace(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension(format!("cargo-migrate-{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(ToolError::io("write", &tmp))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ToolError::io("replace", path)(e)
    })
}
