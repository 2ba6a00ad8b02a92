//! `init`: a migration crate in the workspace. Everything is rendered and checked
//! before anything is written; the workspace's `Cargo.toml` is edited with a
//! format-preserving TOML editor (comments and layout survive) and turned into a
//! workspace if it was a single package; `.env` is written only if there is none.

use std::path::{Component, Path, PathBuf};

use serde_json::json;
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::args::InitArgs;
use super::backend::Backend;
use super::create::{self, create_new, replace};
use super::error::{Result, ToolError};
use super::naming;
use super::runtime_dep;
use super::source::{DEFAULT_TABLE, tracking_table as tracking_table_of};
use super::templates::{self, Context, render_one};
use super::workspace::{RUNTIME, Workspace, depends_on, is_migration_crate};

/// The example table of the first migration `init` writes (`create post table`); in
/// another migration set, prefixed with the set's name, so that the two sets' first
/// migrations can both run on one database.
const EXAMPLE: &str = "post";

pub(crate) struct Initialized {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) backends: Vec<Backend>,
    pub(crate) first: String,
    /// The tracking table its `discover!` names.
    pub(crate) table: String,
    /// The migration crates the workspace had already: this is another set.
    pub(crate) others: Vec<String>,
    /// `sets` in the configuration after `init`, if it wrote it.
    pub(crate) sets: Option<Vec<String>>,
    pub(crate) env_written: bool,
    /// Files `init` created that must not be committed, added to `.gitignore`.
    pub(crate) ignored: Vec<String>,
    /// This machine's runtime source and the configuration that points cargo at it.
    pub(crate) local_runtime: Option<(PathBuf, runtime_dep::Patched)>,
}

/// Checks where and under which name the crate goes, renders every file, then writes
/// the crate, the workspace manifest, `.env`, the local runtime patch and `.gitignore`.
pub(crate) fn init(ws: &Workspace, args: &InitArgs, url: Option<&str>) -> Result<Initialized> {
    let others = existing_sets(ws, args)?;
    let (dir, member) = crate_dir(ws, args, !others.is_empty())?;
    check_free(&dir)?;
    let name = crate_name(ws, args, &dir)?;
    let table = tracking_table(ws, args, &name, &others)?;
    let backends = choose_backends(ws, &args.database, url);

    // Render everything first.
    let (first, mut files) = render_crate(ws, &dir, &name, &backends, &table, !others.is_empty())?;
    if ws.config.table.as_ref().is_some_and(|t| *t != table) {
        // The workspace's `table` would be expected of this crate too: its own wins.
        for (path, text) in &mut files {
            if path.ends_with("Cargo.toml") {
                text.push_str(&format!(
                    "\n# The tracking table this crate records in (`discover!` in src/lib.rs).\n\
                     [package.metadata.migrate]\ntable = \"{table}\"\n"
                ));
            }
        }
    }
    let manifest = edited_manifest(ws, &member, &name, &backends)?;
    let (manifest, sets) = match with_sets(ws, manifest.as_deref(), &others, &name)? {
        Some((text, sets)) => (Some(text), Some(sets)),
        None => (manifest, None),
    };

    // Then write: the crate, the workspace manifest, `.env`.
    write_crate(ws, &dir, &files, manifest.as_deref())?;
    let env_written = write_env(ws, url, backends[0]);
    let local_runtime = patch_local_runtime(ws, args)?;
    let ignored = ignore(&ws.root, &uncommitted(ws, env_written, backends[0]))?;
    Ok(Initialized {
        name,
        dir,
        backends,
        first,
        table,
        others: others.into_iter().map(|(name, _)| name).collect(),
        sets,
        env_written,
        ignored,
        local_runtime,
    })
}

/// The workspace's migration crates and the tracking table each declares (`None`: its
/// source does not say plainly), when the command asks for another one by naming it
/// (`--name`). Without a name, `init` in a workspace that has one is a mistake (run
/// twice, or meant for the crate it has), not a second set.
fn existing_sets(ws: &Workspace, args: &InitArgs) -> Result<Vec<(String, Option<String>)>> {
    let existing: Vec<_> = ws
        .members()
        .into_iter()
        .filter(|p| is_migration_crate(p))
        .collect();
    let Some(first) = existing.first() else {
        return Ok(Vec::new());
    };
    if args.name.is_none() {
        let adopted = if depends_on(first, RUNTIME) {
            ""
        } else {
            " (sea-orm-cli's layout, which cargo migrate runs as it is: no `init` needed; \
             see `cargo migrate status`)"
        };
        return Err(ToolError::usage(format!(
            "this workspace already has a migration crate, `{}`{adopted}; add migrations to it \
             with `cargo migrate create \"...\"`, or add another migration set (a crate with its \
             own tracking table) with `cargo migrate init --name <name>`",
            first.name
        )));
    }
    Ok(existing
        .into_iter()
        .map(|p| {
            let lib = super::workspace::lib_target(p)
                .and_then(|t| std::fs::read_to_string(&t.src_path).ok());
            let own = p
                .metadata
                .get("migrate")
                .and_then(|m| m.get("table"))
                .and_then(|t| t.as_str())
                .map(str::to_string);
            let table = own.or_else(|| lib.as_deref().and_then(tracking_table_of));
            (p.name.to_string(), table)
        })
        .collect())
}

/// The new crate's tracking table: `--table`; else, for the first migration crate,
/// `table` in the configuration or sea-orm-migration's `seaql_migrations`; else
/// `seaql_migrations_<name>`. It is written into the crate's code, never derived again:
/// adding a crate later must not change this one's table, or its history would read as
/// empty. No other migration crate of the workspace may record in it.
fn tracking_table(
    ws: &Workspace,
    args: &InitArgs,
    name: &str,
    others: &[(String, Option<String>)],
) -> Result<String> {
    let table = match (&args.table, others.is_empty()) {
        (Some(t), _) => t.clone(),
        (None, true) => ws
            .config
            .table
            .clone()
            .unwrap_or_else(|| DEFAULT_TABLE.to_string()),
        (None, false) => format!("{DEFAULT_TABLE}_{}", name.replace('-', "_")),
    };
    let valid = table
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || table.len() > MAX_TABLE {
        return Err(ToolError::usage(format!(
            "`{table}` cannot be the tracking table: a name of letters, digits and `_` of at most \
             {MAX_TABLE} characters (its side table `{table}_meta` must fit the databases' limit of \
             63); pass `--table <name>`"
        )));
    }
    if let Some((other, _)) = others.iter().find(|(_, t)| t.as_deref() == Some(&table)) {
        return Err(ToolError::usage(format!(
            "the migration crate `{other}` records in `{table}` already; two migration sets on \
             one database need two tracking tables: pass `--table <name>`"
        )));
    }
    Ok(table)
}

/// A migration set's name in the names of what it creates: the crate's, without a
/// trailing `_migration(s)` (`billing_migration` → `billing`).
fn set_prefix(name: &str) -> String {
    let name = name.replace('-', "_");
    ["_migrations", "_migration"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix).filter(|rest| !rest.is_empty()))
        .unwrap_or(&name)
        .to_string()
}

/// The longest tracking table: `<table>_meta` within PostgreSQL's 63 characters.
const MAX_TABLE: usize = 58;

/// The workspace manifest (`manifest`, else the file as it is) with `name` added to
/// `sets` after the migration crates `others`, and the new `sets`: when `sets` exists,
/// or when there was one crate (its order before a new set is the one that works: the
/// new set's tables may refer to the old one's). Several crates and no `sets`: the user
/// knows their order, not `init`; `None`.
fn with_sets(
    ws: &Workspace,
    manifest: Option<&str>,
    others: &[(String, Option<String>)],
    name: &str,
) -> Result<Option<(String, Vec<String>)>> {
    let mut sets = match (&ws.config.sets, others) {
        (Some(sets), _) => sets.clone(),
        (None, [(one, _)]) => vec![one.clone()],
        (None, _) => return Ok(None),
    };
    sets.push(name.to_string());
    let text = match manifest {
        Some(text) => text.to_string(),
        None => std::fs::read_to_string(&ws.root_manifest)
            .map_err(ToolError::io("read", &ws.root_manifest))?,
    };
    Ok(set_sets(&text, &sets).map(|text| (text, sets)))
}

/// `text` (the workspace manifest) with `sets = [...]` in the table that holds it (the
/// root package's `[package.metadata.migrate]` or `[workspace.metadata.migrate]`), else
/// in a `[workspace.metadata.migrate]` created for it; `None` if it cannot be edited.
pub(crate) fn set_sets(text: &str, sets: &[String]) -> Option<String> {
    let mut doc: DocumentMut = text.parse().ok()?;
    let mut array = Array::new();
    for s in sets {
        array.push(s.as_str());
    }
    let in_package = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("migrate"))
        .is_some_and(|m| m.get("sets").is_some());
    let at = if in_package { "package" } else { "workspace" };
    let top = doc.get_mut(at)?.as_table_mut()?;
    let (migrate, created) = super::config::migrate_table_mut(top)?;
    let comment = "# The migration crates, in the order `cargo migrate --all` runs them (`downgrade`\n\
                   # backwards): a set whose tables refer to another's comes after it.\n";
    match migrate.get_mut("sets").and_then(Item::as_array_mut) {
        Some(existing) => {
            // Keep its layout: only the new name is added.
            if let Some(new) = sets.last() {
                existing.push(new.as_str());
            }
        }
        None => {
            migrate.insert("sets", toml_edit::value(array));
            if created {
                migrate.decor_mut().set_prefix(format!("\n{comment}"));
            } else if let Some(mut key) = migrate.key_mut("sets") {
                key.leaf_decor_mut().set_prefix(comment);
            }
        }
    }
    Some(doc.to_string())
}

/// The crate's directory (`<path>`, else `migration` at the workspace root) and its
/// path as a workspace member; inside the workspace, and not its root.
fn crate_dir(ws: &Workspace, args: &InitArgs, another: bool) -> Result<(PathBuf, String)> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::Failure(format!("no working directory: {e}")))?;
    let dir = match (&args.path, &args.name) {
        (Some(p), _) => normalize(&cwd.join(p)),
        (None, Some(name)) if another => ws.root.join(name),
        (None, _) => ws.root.join("migration"),
    };
    let rel = dir.strip_prefix(&ws.root).map_err(|_| {
        ToolError::usage(format!(
            "{} is outside the workspace at {}; create the migration crate inside it",
            dir.display(),
            ws.root.display()
        ))
    })?;
    let member = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if member.is_empty() {
        return Err(ToolError::usage(
            "the migration crate needs a directory of its own, not the workspace root",
        ));
    }
    Ok((dir, member))
}

/// Nothing is at `dir`.
fn check_free(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Err(ToolError::usage(format!(
            "{} already exists; nothing was written (pass another path: `cargo migrate init <dir>`)",
            dir.display()
        )));
    }
    Ok(())
}

/// `--name`, else the directory's name: a valid crate name no member has.
fn crate_name(ws: &Workspace, args: &InitArgs, dir: &Path) -> Result<String> {
    let name = match &args.name {
        Some(n) => n.clone(),
        None => dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "migration".into()),
    };
    if !valid_package_name(&name) {
        return Err(ToolError::usage(format!(
            "`{name}` is not a valid crate name (letters, digits, `-` and `_`, starting with a letter); pass `--name`"
        )));
    }
    if ws.members().iter().any(|p| p.name.as_str() == name) {
        return Err(ToolError::usage(format!(
            "the workspace already has a package `{name}`; pass another `--name`"
        )));
    }
    Ok(name)
}

/// The first migration's id, and every file of the crate with its text: the init
/// templates, the build script, the first migration.
fn render_crate(
    ws: &Workspace,
    dir: &Path,
    name: &str,
    backends: &[Backend],
    table: &str,
    another: bool,
) -> Result<(String, Vec<(PathBuf, String)>)> {
    let mut features: Vec<&str> = backends.iter().map(|b| b.feature()).collect();
    features.push("prompt");
    let lib_name = name.replace('-', "_");
    let example = if another {
        format!("{}_{EXAMPLE}", set_prefix(name))
    } else {
        EXAMPLE.to_string()
    };
    let message = format!("create {example} table");
    let id = naming::new_id(&message, ws.config.timezone(), [])?;
    let first_ctx = Context {
        table: example,
        ..create::context(&id, &message, &[], ws.config.timezone(), false, name)
    };
    let first = templates::find("default", None)?.render(&first_ctx)?;
    let ctx = json!({
        "crate_name": name,
        "lib_name": lib_name,
        "runtime_dep": runtime_dep::committed(&features).to_string(),
        "first": id,
        // sea-orm-migration's own table is what a bare `discover!()` means.
        "table": (table != DEFAULT_TABLE).then_some(table),
    });
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (file, source) in templates::init_files() {
        let text = render_one(&format!("built-in init template {file}"), source, &ctx)?;
        let path = match file {
            "Cargo.toml" | "README.md" => dir.join(file),
            other => dir.join("src").join(other),
        };
        files.push((path, text));
    }
    files.push((dir.join("build.rs"), templates::BUILD_SCRIPT.to_string()));
    for (file, text) in first {
        files.push((dir.join("src").join(file), text));
    }
    Ok((id, files))
}

/// The workspace manifest with `member` added, the dev profile's overrides and, when one
/// member defines SeaORM entities, `entities = "<it>"` in `[workspace.metadata.migrate]`;
/// `None` when it needs no edit.
fn edited_manifest(
    ws: &Workspace,
    member: &str,
    name: &str,
    backends: &[Backend],
) -> Result<Option<String>> {
    let manifest_text = std::fs::read_to_string(&ws.root_manifest)
        .map_err(ToolError::io("read", &ws.root_manifest))?;
    let manifest = add_member(&manifest_text, member).map_err(|why| {
        ToolError::usage(format!(
            "cannot add `{member}` to {}: {why}",
            ws.root_manifest.display()
        ))
    })?;
    let manifest =
        super::profile::with_overrides(manifest.as_deref().unwrap_or(&manifest_text), backends)
            .or(manifest);
    let manifest =
        super::profile::with_line_tables(manifest.as_deref().unwrap_or(&manifest_text), name)
            .or(manifest);
    // The one crate of entities, for `create --autogenerate`; none or several: no key.
    let sole = match ws.config.entities {
        None => super::entities::sole_package(ws),
        Some(_) => None,
    };
    let manifest = match sole {
        Some(package) => super::entities::with_entities_key(
            manifest.as_deref().unwrap_or(&manifest_text),
            &package,
        )
        .or(manifest),
        None => manifest,
    };
    Ok(manifest)
}

/// Creates `dir` with `files` and replaces the workspace manifest; on a failure
/// removes `dir` again.
fn write_crate(
    ws: &Workspace,
    dir: &Path,
    files: &[(PathBuf, String)],
    manifest: Option<&str>,
) -> Result<()> {
    std::fs::create_dir_all(dir.parent().unwrap_or(&ws.root))
        .map_err(ToolError::io("create", dir))?;
    std::fs::create_dir(dir).map_err(ToolError::io("create", dir))?;
    let written = (|| {
        std::fs::create_dir(dir.join("src")).map_err(ToolError::io("create", &dir.join("src")))?;
        for (path, text) in files {
            create_new(path, text)?;
        }
        if let Some(manifest) = manifest {
            replace(&ws.root_manifest, manifest)?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    written
}

/// Writes `.env` with a default URL for `backend` when no URL is given, configured or
/// in an existing `.env`; whether it did.
fn write_env(ws: &Workspace, url: Option<&str>, backend: Backend) -> bool {
    let env_path = ws.root.join(".env");
    if env_path.exists() || url.is_some() || ws.config.database_url.is_some() {
        return false;
    }
    let default = default_url(backend, &ws.root);
    create_new(
        &env_path,
        &format!("# The database `cargo migrate` works on (written by `cargo migrate init`).\nDATABASE_URL={default}\n"),
    )
    .is_ok()
}

/// Points cargo at this machine's runtime source (`--runtime-path`, or a checkout this
/// binary runs from), if there is one.
fn patch_local_runtime(
    ws: &Workspace,
    args: &InitArgs,
) -> Result<Option<(PathBuf, runtime_dep::Patched)>> {
    let Some(source) = runtime_dep::local_override(args.runtime_path.as_deref()) else {
        return Ok(None);
    };
    let patched = runtime_dep::local_patch(&ws.root, &source).map_err(|e| {
        ToolError::Failure(format!(
            "the migration crate was written, but {e}; add `[patch.crates-io] \
             cargo-migrate = {{ path = \"{}\" }}` to .cargo/config.toml yourself",
            source.display()
        ))
    })?;
    Ok(Some((source, patched)))
}

/// What `init` wrote that must not be committed: `.env`, and the SQLite database it
/// names.
fn uncommitted(ws: &Workspace, env_written: bool, backend: Backend) -> Vec<String> {
    let mut uncommitted = Vec::new();
    if env_written {
        uncommitted.push(".env".to_string());
        if backend == Backend::Sqlite {
            uncommitted.push(sqlite_file_pattern(&default_url(Backend::Sqlite, &ws.root)));
        }
    }
    uncommitted
}

/// `--database`, else the backends the workspace's sea-orm enables, else the URL's,
/// else SQLite.
fn choose_backends(ws: &Workspace, given: &[Backend], url: Option<&str>) -> Vec<Backend> {
    let mut out: Vec<Backend> = given.to_vec();
    if out.is_empty() {
        for p in ws.members() {
            for d in p
                .dependencies
                .iter()
                .filter(|d| d.name == "sea-orm" || d.name == "sea-orm-migration")
            {
                for f in &d.features {
                    out.extend(Backend::of_sea_orm_feature(f));
                }
            }
        }
    }
    if out.is_empty()
        && let Some(url) = url.and_then(|u| crate::engine::url::DbUrl::parse(u).ok())
    {
        out.push(Backend::of(&url));
    }
    if out.is_empty() {
        out.push(Backend::Sqlite);
    }
    out.sort();
    out.dedup();
    out
}

fn default_url(backend: Backend, root: &Path) -> String {
    let name: String = root
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() {
        "app".to_string()
    } else {
        name
    };
    match backend {
        Backend::Sqlite => format!("sqlite://{name}.db"),
        Backend::Postgres => format!("postgres://postgres@localhost:5432/{name}"),
        Backend::Mysql => format!("mysql://root@localhost:3306/{name}"),
    }
}

/// `sqlite://app.db` → `/app.db*` (the database and its `-wal`/`-shm`/`-journal` files,
/// at the workspace root where relative paths resolve).
fn sqlite_file_pattern(url: &str) -> String {
    format!("/{}*", url.trim_start_matches("sqlite://"))
}

/// Adds each of `entries` to the workspace's `.gitignore` (created if missing) unless
/// a line says it already; the entries added.
fn ignore(root: &Path, entries: &[String]) -> Result<Vec<String>> {
    let path = root.join(".gitignore");
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ToolError::io("read", &path)(e)),
    };
    let present = |entry: &str| {
        let bare = entry.trim_start_matches('/');
        text.lines()
            .map(str::trim)
            .any(|l| l == entry || l == bare || l.trim_start_matches('/') == bare)
    };
    let added: Vec<String> = entries.iter().filter(|e| !present(e)).cloned().collect();
    if added.is_empty() {
        return Ok(added);
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# Local database settings and files (cargo migrate init)\n");
    for entry in &added {
        text.push_str(entry);
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(ToolError::io("write", &path))?;
    Ok(added)
}

fn valid_package_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The workspace manifest with `member` in `[workspace] members` (a `[workspace]`
/// table is added to a single-package manifest); `None` if a glob already covers it.
pub(crate) fn add_member(text: &str, member: &str) -> std::result::Result<Option<String>, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().to_string())?;
    let has_workspace = doc.get("workspace").is_some();
    if !has_workspace {
        let mut ws = Table::new();
        ws.set_position(Some(isize::MAX));
        doc.insert("workspace", Item::Table(ws));
    }
    let ws = doc["workspace"]
        .as_table_mut()
        .ok_or("`workspace` is not a table")?;
    if !ws.contains_key("members") {
        let mut members = Array::new();
        members.push(member);
        ws.insert("members", toml_edit::value(members));
        return Ok(Some(doc.to_string()));
    }
    let members = ws["members"]
        .as_array_mut()
        .ok_or("`workspace.members` is not an array")?;
    if members
        .iter()
        .filter_map(Value::as_str)
        .any(|m| glob_matches(m, member))
    {
        return Ok(None);
    }
    let multiline = members.iter().any(|v| {
        v.decor()
            .prefix()
            .and_then(|p| p.as_str())
            .is_some_and(|p| p.contains('\n'))
    });
    if multiline {
        let indent = members
            .iter()
            .last()
            .and_then(|v| v.decor().prefix().and_then(|p| p.as_str()))
            .and_then(|p| p.rsplit('\n').next())
            .unwrap_or("    ")
            .to_string();
        // A comment after the last item belongs to it, not to the new one.
        let trailing = members.trailing().as_str().unwrap_or_default().to_string();
        let kept = if trailing.contains('#') {
            trailing.trim_end()
        } else {
            ""
        };
        let mut value = Value::from(member);
        value.decor_mut().set_prefix(format!("{kept}\n{indent}"));
        members.push_formatted(value);
        members.set_trailing_comma(true);
        members.set_trailing("\n");
    } else {
        members.push(member);
    }
    Ok(Some(doc.to_string()))
}

/// cargo's member globs: `*` within one path segment, `?` one character.
fn glob_matches(pattern: &str, path: &str) -> bool {
    fn seg(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg(&p[1..], s) || (!s.is_empty() && seg(p, &s[1..])),
            (Some(b'?'), Some(_)) => seg(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => seg(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let pattern = pattern.trim_end_matches('/');
    let ps: Vec<&str> = pattern.split('/').collect();
    let ss: Vec<&str> = path.split('/').collect();
    ps.len() == ss.len()
        && ps
            .iter()
            .zip(&ss)
            .all(|(p, s)| seg(p.as_bytes(), s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_added_and_comments_survive() {
        let text = "# my workspace\n[workspace]\nmembers = [\n    \"app\", # the app\n]\nresolver = \"3\"\n";
        let out = add_member(text, "migration").unwrap().unwrap();
        assert_eq!(
            out,
            "# my workspace\n[workspace]\nmembers = [\n    \"app\", # the app\n    \"migration\",\n]\nresolver = \"3\"\n"
        );
        let inline = "[workspace]\nmembers = [\"app\"]\n";
        assert_eq!(
            add_member(inline, "migration").unwrap().unwrap(),
            "[workspace]\nmembers = [\"app\", \"migration\"]\n"
        );
    }

    #[test]
    fn a_single_package_becomes_a_workspace() {
        let text = "[package]\nname = \"app\" # mine\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\n";
        let out = add_member(text, "migration").unwrap().unwrap();
        assert!(out.starts_with(text), "{out}");
        assert!(
            out.ends_with("[workspace]\nmembers = [\"migration\"]\n"),
            "{out}"
        );
        let parsed: DocumentMut = out.parse().unwrap();
        assert_eq!(
            parsed["workspace"]["members"][0].as_str(),
            Some("migration")
        );
    }

    #[test]
    fn a_glob_that_covers_it_needs_no_edit() {
        assert_eq!(
            add_member(
                "[workspace]\nmembers = [\"crates/*\"]\n",
                "crates/migration"
            )
            .unwrap(),
            None
        );
        assert!(glob_matches("m?gration", "migration"));
        assert!(!glob_matches("crates/*", "migration"));
    }

    #[test]
    fn another_set_is_added_to_sets_and_layout_survives() {
        let sets = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let text = "[workspace]\nmembers = [\"migration\"]\n";
        let out = set_sets(text, &sets(&["migration", "billing"])).unwrap();
        assert_eq!(
            out,
            "[workspace]\nmembers = [\"migration\"]\n\n# The migration crates, in the order \
             `cargo migrate --all` runs them (`downgrade`\n# backwards): a set whose tables refer \
             to another's comes after it.\n[workspace.metadata.migrate]\nsets = [\"migration\", \
             \"billing\"]\n"
        );
        let declared = "[workspace]\nmembers = []\n\n[workspace.metadata.migrate]\n\
                        database-url = \"sqlite://a.db\" # mine\nsets = [\"a\", \"b\"] # ordered\n";
        let out = set_sets(declared, &sets(&["a", "b", "c"])).unwrap();
        assert!(
            out.ends_with(
                "database-url = \"sqlite://a.db\" # mine\nsets = [\"a\", \"b\", \"c\"] # ordered\n"
            ),
            "{out}"
        );
        assert_eq!(set_prefix("billing_migration"), "billing");
        assert_eq!(set_prefix("billing-migrations"), "billing");
        assert_eq!(set_prefix("migration"), "migration");
        assert_eq!(set_prefix("audit"), "audit");
    }

    #[test]
    fn a_broken_manifest_is_an_error_not_a_rewrite() {
        assert!(add_member("[workspace\nmembers = [", "m").is_err());
    }
}
