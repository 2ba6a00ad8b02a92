//! The dependency on the runtime that `init` and the runner crate write.
//!
//! A committed manifest must resolve on every machine, so `init` writes a version
//! requirement ([`committed`]). When this binary was built from a source tree that
//! still exists (or `--runtime-path`/`CARGO_MIGRATE_RUNTIME_PATH` names one), that
//! tree is what the crate must build against here: [`local_patch`] puts a
//! `[patch.crates-io]` entry into a cargo configuration that belongs to this machine
//! only (the workspace's `.cargo/config.toml`, kept out of git through the clone's own
//! `info/exclude`; cargo's home configuration if the workspace's file is committed).
//! The runner crate of an adopted sea-orm-cli crate lives under the target directory,
//! which is never committed, so it keeps a plain path ([`spec`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use super::error::{Result, ToolError};

/// Where this binary was built from.
const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");

/// The runtime's package name.
const PACKAGE: &str = "cargo-migrate";

/// `{ path = "...", default-features = false, features = [...] }` or the same with
/// `version`: for manifests that are never committed.
pub(crate) fn spec(path: Option<&Path>, features: &[&str]) -> InlineTable {
    match path.map(Path::to_path_buf).or_else(local_source) {
        Some(path) => with_features(
            [("path", Value::from(path.display().to_string()))],
            features,
        ),
        None => committed(features),
    }
}

/// `{ version = "<major.minor>", default-features = false, features = [...] }`: what a
/// committed manifest says, on any machine.
pub(crate) fn committed(features: &[&str]) -> InlineTable {
    let version = env!("CARGO_PKG_VERSION");
    let major_minor: Vec<&str> = version.split('.').take(2).collect();
    with_features([("version", Value::from(major_minor.join(".")))], features)
}

fn with_features<const N: usize>(keys: [(&str, Value); N], features: &[&str]) -> InlineTable {
    let mut table = InlineTable::new();
    for (key, value) in keys {
        table.insert(key, value);
    }
    table.insert("default-features", Value::from(false));
    let mut list = Array::new();
    for f in features {
        list.push(*f);
    }
    table.insert("features", Value::Array(list));
    table
}

/// The runtime source this machine builds against instead of the published crate:
/// the given path, else the tree this binary came from (unless a registry download).
pub(crate) fn local_override(path: Option<&Path>) -> Option<PathBuf> {
    path.map(Path::to_path_buf).or_else(local_source)
}

/// The source tree this binary came from, unless it is a registry download.
fn local_source() -> Option<PathBuf> {
    let dir = PathBuf::from(BUILT_FROM);
    let from_registry = dir.components().any(|c| c.as_os_str() == "registry");
    (!from_registry && dir.join("Cargo.toml").is_file() && dir.join("src").join("lib.rs").is_file())
        .then_some(dir)
}

/// Where [`local_patch`] wrote the override.
pub(crate) struct Patched {
    /// The configuration file.
    pub(crate) config: PathBuf,
    /// It is the workspace's own file, kept out of git by the clone's `info/exclude`
    /// (false: cargo's home configuration, or a workspace outside git).
    pub(crate) excluded: bool,
}

/// Makes cargo in the workspace at `root` build `cargo-migrate` from `source`, in a
/// configuration file no commit carries. An entry already there is replaced;
/// everything else in the file is kept as written.
pub(crate) fn local_patch(root: &Path, source: &Path) -> Result<Patched> {
    let cargo_dir = root.join(".cargo");
    // cargo reads `.cargo/config` (no extension) before `.cargo/config.toml`.
    let legacy = cargo_dir.join("config");
    let in_workspace = if legacy.is_file() {
        legacy
    } else {
        cargo_dir.join("config.toml")
    };
    let git = Git::of(root);
    let config = match &git {
        Some(git) if git.tracks(&in_workspace) => super::paths::home()
            .ok_or_else(|| {
                ToolError::Failure("cannot find cargo's home directory: set CARGO_HOME".into())
            })?
            .join("config.toml"),
        _ => in_workspace,
    };
    let text = match std::fs::read_to_string(&config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ToolError::io("read", &config)(e)),
    };
    let updated = with_patch(&text, source).map_err(|why| {
        ToolError::usage(format!(
            "cannot add cargo-migrate's local source to {}: {why}",
            config.display()
        ))
    })?;
    if let Some(dir) = config.parent() {
        std::fs::create_dir_all(dir).map_err(ToolError::io("create", dir))?;
    }
    std::fs::write(&config, updated).map_err(ToolError::io("write", &config))?;
    let excluded = match &git {
        Some(git) if config.starts_with(root) => git.exclude(&config)?,
        _ => false,
    };
    Ok(Patched { config, excluded })
}

/// `text` (a cargo configuration) with `[patch.crates-io] cargo-migrate = { path }`.
fn with_patch(text: &str, source: &Path) -> std::result::Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().trim().to_string())?;
    let patch = doc
        .entry("patch")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or("`patch` is not a table")?;
    let registry = patch
        .entry("crates-io")
        .or_insert(Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or("`patch.crates-io` is not a table")?;
    let mut entry = InlineTable::new();
    entry.insert("path", Value::from(source.display().to_string()));
    registry.insert(PACKAGE, Item::Value(Value::InlineTable(entry)));
    Ok(doc.to_string())
}

/// The git work tree a directory is in.
struct Git {
    top: PathBuf,
}

impl Git {
    fn of(dir: &Path) -> Option<Git> {
        let out = git(dir, &["rev-parse", "--show-toplevel"])?;
        Some(Git {
            top: PathBuf::from(out.trim_end_matches(['\n', '\r'])),
        })
    }

    /// `path` is in the index (it would be committed as it changes).
    fn tracks(&self, path: &Path) -> bool {
        let path = path.display().to_string();
        git(&self.top, &["ls-files", "--error-unmatch", "--", &path]).is_some()
    }

    /// Adds `path` to this clone's `info/exclude` unless git ignores it already;
    /// false if it cannot (git answers nothing).
    fn exclude(&self, path: &Path) -> Result<bool> {
        let shown = path.display().to_string();
        if git(&self.top, &["check-ignore", "-q", "--", &shown]).is_some() {
            return Ok(true);
        }
        let Some(exclude) = git(&self.top, &["rev-parse", "--git-path", "info/exclude"]) else {
            return Ok(false);
        };
        let exclude = self.top.join(exclude.trim_end_matches(['\n', '\r']));
        let Ok(rel) = path.strip_prefix(&self.top) else {
            return Ok(false);
        };
        let line = format!("/{}\n", rel.display());
        let mut text = std::fs::read_to_string(&exclude).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# cargo-migrate: this machine's local runtime source\n");
        text.push_str(&line);
        if let Some(dir) = exclude.parent() {
            std::fs::create_dir_all(dir).map_err(ToolError::io("create", dir))?;
        }
        std::fs::write(&exclude, text).map_err(ToolError::io("write", &exclude))?;
        Ok(true)
    }
}

/// `git -C dir args...`'s standard output, if it ran and succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_is_written_as_a_path_dependency() {
        let spec = spec(Some(Path::new("/opt/cargo migrate")), &["sqlite", "prompt"]).to_string();
        assert_eq!(
            spec,
            r#"{ path = "/opt/cargo migrate", default-features = false, features = ["sqlite", "prompt"] }"#
        );
    }

    #[test]
    fn a_committed_manifest_gets_a_version_requirement() {
        let spec = committed(&["postgres", "prompt"]).to_string();
        assert_eq!(
            spec,
            r#"{ version = "0.1", default-features = false, features = ["postgres", "prompt"] }"#
        );
    }

    #[test]
    fn the_patch_joins_an_existing_configuration_and_replaces_an_old_entry() {
        let text = "# mine\n[build]\njobs = 2\n\n[patch.crates-io]\nserde = { path = \"../serde\" }\ncargo-migrate = { path = \"/old\" }\n";
        let out = with_patch(text, Path::new("/new/cargo-migrate")).unwrap();
        assert_eq!(
            out,
            "# mine\n[build]\njobs = 2\n\n[patch.crates-io]\nserde = { path = \"../serde\" }\ncargo-migrate = { path = \"/new/cargo-migrate\" }\n"
        );
        assert_eq!(
            with_patch("", Path::new("/src")).unwrap(),
            "[patch.crates-io]\ncargo-migrate = { path = \"/src\" }\n"
        );
        assert!(with_patch("patch = 1\n", Path::new("/src")).is_err());
        assert!(with_patch("[patch\n", Path::new("/src")).is_err());
    }
}
