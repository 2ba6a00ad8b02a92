//! Scaffold templates: minijinja with strict undefined variables. A template is a
//! folder: `migration.rs.j2` becomes `src/<id>.rs` (where the crate's build script finds
//! it), every other `<file>.j2` becomes `src/<id>/<file>`. The built-ins in `templates/`
//! are embedded; a folder of the same name in the user's template directory replaces a
//! built-in whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::error::{Result, ToolError};

/// The module file of a template.
pub const MODULE: &str = "migration.rs.j2";

const BUILT_IN: &[(&str, &str, &str)] = &[
    (
        "default",
        MODULE,
        include_str!("../../templates/default/migration.rs.j2"),
    ),
    (
        "autogenerate",
        MODULE,
        include_str!("../../templates/autogenerate/migration.rs.j2"),
    ),
    (
        "empty",
        MODULE,
        include_str!("../../templates/empty/migration.rs.j2"),
    ),
    (
        "sql",
        MODULE,
        include_str!("../../templates/sql/migration.rs.j2"),
    ),
    (
        "sql",
        "up.sql.j2",
        include_str!("../../templates/sql/up.sql.j2"),
    ),
    (
        "sql",
        "down.sql.j2",
        include_str!("../../templates/sql/down.sql.j2"),
    ),
];

/// The migration crate's `build.rs`, written as it is (not a template): it finds the
/// migration modules when the crate is built. A crate whose build script is exactly this
/// (as tokens) compiles nothing that its `src/` directory does not show, which is what
/// lets `cargo migrate` skip cargo when nothing there changed.
pub const BUILD_SCRIPT: &str = include_str!("../../templates/init/build.rs");

const INIT: &[(&str, &str)] = &[
    (
        "Cargo.toml.j2",
        include_str!("../../templates/init/Cargo.toml.j2"),
    ),
    ("lib.rs.j2", include_str!("../../templates/init/lib.rs.j2")),
    (
        "main.rs.j2",
        include_str!("../../templates/init/main.rs.j2"),
    ),
    (
        "README.md.j2",
        include_str!("../../templates/init/README.md.j2"),
    ),
];

/// What a migration template is rendered with (README, "Templates").
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    /// The revision id, which is also the module name.
    pub id: String,
    /// The message, on one line.
    pub message: String,
    pub slug: String,
    /// The revisions it revises.
    pub revises: Vec<String>,
    /// `revises` as a Rust expression: `&["a", "b"]`.
    pub revises_rust: String,
    /// When it was created, `YYYY-MM-DD HH:MM:SS` and the zone.
    pub created: String,
    /// A table name for examples: the slug.
    pub table: String,
    /// A sea-orm-cli crate: no `REVISES` (its order is `migrations()`'s).
    pub legacy: bool,
    /// What to `use`: the runtime's prelude, or sea-orm-migration's in a legacy crate.
    pub prelude: String,
    /// The migration crate's name.
    pub crate_name: String,
    /// `create --autogenerate`: the body of `up` and of `down` (indented, ending in
    /// `Ok(())`), and each change in words; empty otherwise.
    pub up: String,
    pub down: String,
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    User(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub origin: Origin,
    /// `(file name, source)`, the module file first.
    pub(crate) files: Vec<(String, String)>,
}

impl Template {
    /// The first line's `{#- ... -#}` comment, if any.
    pub(crate) fn description(&self) -> String {
        let module = self
            .files
            .iter()
            .find(|(f, _)| f == MODULE)
            .map_or("", |(_, s)| s.as_str());
        module
            .trim_start()
            .strip_prefix("{#")
            .and_then(|rest| rest.split_once("#}"))
            .map(|(c, _)| {
                c.trim_matches(|ch: char| ch == '-' || ch.is_whitespace())
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// The file name this template writes `file` to for `id`, relative to `src/`.
    pub(crate) fn output_name(&self, id: &str, file: &str) -> String {
        match file {
            MODULE => format!("{id}.rs"),
            other => format!("{id}/{}", other.strip_suffix(".j2").unwrap_or(other)),
        }
    }

    /// Renders every file: `(output name relative to src/, text)`.
    pub fn render(&self, ctx: &Context) -> Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(self.files.len());
        for (file, source) in &self.files {
            let shown = match &self.origin {
                Origin::BuiltIn => format!("built-in template {}/{file}", self.name),
                Origin::User(dir) => dir.join(file).display().to_string(),
            };
            out.push((
                self.output_name(&ctx.id, file),
                render_one(&shown, source, ctx)?,
            ));
        }
        Ok(out)
    }
}

/// Renders one template text with `ctx`; errors name the file and the line.
pub fn render_one(shown: &str, source: &str, ctx: &impl Serialize) -> Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    let fail = |e: minijinja::Error| -> ToolError {
        let line = e.line().map(|l| format!(", line {l}")).unwrap_or_default();
        let mut what = e
            .detail()
            .map_or_else(|| e.kind().to_string(), str::to_string);
        if e.kind() == minijinja::ErrorKind::UndefinedError {
            let known = serde_json::to_value(ctx).ok();
            let unknown: Vec<String> = env
                .template_from_str(source)
                .map(|t| t.undeclared_variables(false))
                .unwrap_or_default()
                .into_iter()
                .filter(|v| known.as_ref().is_none_or(|k| k.get(v).is_none()))
                .collect();
            if !unknown.is_empty() {
                let mut unknown = unknown;
                unknown.sort();
                what = format!(
                    "unknown variable `{}`; the variables are {}",
                    unknown.join("`, `"),
                    known
                        .as_ref()
                        .and_then(|k| k.as_object())
                        .map(|o| o
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default()
                );
            }
        }
        ToolError::usage(format!("template {shown}{line}: {what}"))
    };
    let template = env.template_from_str(source).map_err(fail)?;
    template.render(minijinja::value::Serde(ctx)).map_err(fail)
}

/// The init files: `(name without .j2, source)`.
pub fn init_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    INIT.iter()
        .map(|(name, source)| (name.strip_suffix(".j2").unwrap_or(name), *source))
}

/// The built-in templates and those of `user_dir`, which replace built-ins by name.
pub(crate) fn all(user_dir: Option<&Path>) -> Result<Vec<Template>> {
    let mut by_name: BTreeMap<String, Template> = BTreeMap::new();
    for (name, file, source) in BUILT_IN {
        by_name
            .entry(name.to_string())
            .or_insert_with(|| Template {
                name: name.to_string(),
                origin: Origin::BuiltIn,
                files: Vec::new(),
            })
            .files
            .push((file.to_string(), source.to_string()));
    }
    if let Some(dir) = user_dir.filter(|d| d.is_dir()) {
        let entries =
            std::fs::read_dir(dir).map_err(ToolError::io("read the template directory", dir))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                by_name.insert(name.clone(), read_user(&name, &path)?);
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// The template called `name`.
pub fn find(name: &str, user_dir: Option<&Path>) -> Result<Template> {
    let all = all(user_dir)?;
    let names: Vec<String> = all.iter().map(|t| format!("`{}`", t.name)).collect();
    all.into_iter().find(|t| t.name == name).ok_or_else(|| {
        ToolError::usage(format!(
            "no template `{name}`; the templates are {} (see `cargo migrate templates`)",
            names.join(", ")
        ))
    })
}

fn read_user(name: &str, dir: &Path) -> Result<Template> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(ToolError::io("read the template", dir))?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".j2") && entry.path().is_file() {
            let text = std::fs::read_to_string(entry.path())
                .map_err(ToolError::io("read", &entry.path()))?;
            files.push((file, text));
        }
    }
    if !files.iter().any(|(f, _)| f == MODULE) {
        return Err(ToolError::usage(format!(
            "template `{name}` at {} has no {MODULE}, the file that becomes the migration module",
            dir.display()
        )));
    }
    files.sort_by_key(|(f, _)| (f != MODULE, f.clone()));
    Ok(Template {
        name: name.to_string(),
        origin: Origin::User(dir.to_path_buf()),
        files,
    })
}

/// Copies the built-in templates `names` (all if empty) to `dir`, never overwriting;
/// returns `(path, written)` for each file.
pub(crate) fn eject(names: &[String], dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let known: Vec<&str> = BUILT_IN.iter().map(|(n, _, _)| *n).collect();
    for name in names {
        if !known.contains(&name.as_str()) {
            return Err(ToolError::usage(format!(
                "no built-in template `{name}`; the built-ins are `default`, `empty` and `sql`"
            )));
        }
    }
    let mut done = Vec::new();
    for (name, file, source) in BUILT_IN {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).map_err(ToolError::io("create", &folder))?;
        let path = folder.join(file);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(source.as_bytes())
                    .map_err(ToolError::io("write", &path))?;
                done.push((path, true));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => done.push((path, false)),
            Err(e) => return Err(ToolError::io("create", &path)(e)),
        }
    }
    Ok(done)
}
