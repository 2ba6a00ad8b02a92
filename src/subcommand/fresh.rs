//! Skipping cargo when nothing changed. After a build, the binary's path, the resolved
//! configuration and the size and modification time of every file the build read
//! (cargo's dep-info for the binary, every manifest, `Cargo.lock`, cargo's config
//! files) are recorded under the target directory. The next verb finds that record
//! from the working directory alone, and when every file is as recorded it runs the
//! binary without `cargo metadata` or `cargo build`. Any doubt means a normal build.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::args::CargoArgs;
use super::config::Config;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A value recorded with the files it was derived from.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stamped<T> {
    key: String,
    /// The manifests cargo may start from to reach this workspace (root and members).
    entries: Vec<PathBuf>,
    /// `(path, modified ns since the epoch, length)`; `None`: the file must not exist.
    files: Vec<(PathBuf, Option<(u128, u64)>)>,
    value: T,
}

/// What a build left: the binary to run and the configuration it runs with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub root: PathBuf,
    pub binary: PathBuf,
    pub config: Config,
    /// A sea-orm-cli crate's runner is built for the database URL's backend: the
    /// backend it was built for (`None` for a crate's own binary).
    pub runner_backend: Option<String>,
}

/// The record of the last build for this invocation, if every file it lists is
/// unchanged.
pub fn lookup(args: &CargoArgs) -> Option<Record> {
    find(args, "fresh")
}

/// `cargo metadata --no-deps` as it answered last time, if no manifest (nor cargo
/// configuration) changed since.
pub fn lookup_metadata(args: &CargoArgs) -> Option<cargo_metadata::Metadata> {
    find(args, "workspace")
}

/// Records `cargo metadata`'s answer for `lookup_metadata`. A glob in
/// `workspace.members` is watched through the directory it lists.
pub fn store_metadata(args: &CargoArgs, target_dir: &Path, meta: &cargo_metadata::Metadata) {
    let root: PathBuf = meta.workspace_root.clone().into();
    let entries: Vec<PathBuf> = meta
        .workspace_packages()
        .iter()
        .map(|p| p.manifest_path.clone().into())
        .chain(std::iter::once(root.join("Cargo.toml")))
        .collect();
    let mut paths = entries.clone();
    paths.extend(member_glob_dirs(&root));
    paths.extend(cargo_config_files(&root));
    let files = paths.into_iter().map(|p| {
        let s = stamp(&p);
        (p, s)
    });
    save(
        args,
        target_dir,
        &root,
        "workspace",
        entries,
        files.collect(),
        meta,
    );
}

/// The record of kind `kind` for this invocation. The workspace root is one of the
/// directories above the starting manifest that hold a `Cargo.toml`; its record must
/// list the starting manifest as a way in.
fn find<T: serde::de::DeserializeOwned>(args: &CargoArgs, kind: &str) -> Option<T> {
    let start = start_manifest(args)?;
    let roots = start
        .parent()?
        .ancestors()
        .map(|d| d.join("Cargo.toml"))
        .filter(|m| m.is_file());
    for root_manifest in roots {
        let root = root_manifest.parent()?;
        let key = key(args, &root_manifest);
        let path = target_dir(args, root)
            .join("cargo-migrate")
            .join(file_name(kind, &key));
        let Some(record) = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stamped<T>>(&bytes).ok())
        else {
            continue;
        };
        let fresh = record.key == key
            && record.entries.contains(&start)
            && record.files.iter().all(|(p, s)| stamp(p) == *s);
        return fresh.then_some(record.value);
    }
    None
}

fn save<T: Serialize>(
    args: &CargoArgs,
    target_dir: &Path,
    root: &Path,
    kind: &str,
    entries: Vec<PathBuf>,
    files: Vec<(PathBuf, Option<(u128, u64)>)>,
    value: T,
) {
    let key = key(args, &root.join("Cargo.toml"));
    let name = file_name(kind, &key);
    let record = Stamped {
        key,
        entries,
        files,
        value,
    };
    let dir = target_dir.join("cargo-migrate");
    if let Ok(json) = serde_json::to_vec(&record)
        && std::fs::create_dir_all(&dir).is_ok()
    {
        let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(name));
        }
    }
}

/// A finished build, as `store` records it.
pub struct Build<'a> {
    pub target_dir: &'a Path,
    pub root: &'a Path,
    pub binary: &'a Path,
    pub config: &'a Config,
    /// The manifests cargo may start from for this workspace (root and members).
    pub entries: Vec<PathBuf>,
    /// Other manifests the build read (a runner crate's).
    pub manifests: Vec<PathBuf>,
    /// When the build started: a file changed since may not be in the binary, so
    /// nothing is recorded.
    pub started: SystemTime,
    /// See `Record::runner_backend`.
    pub runner_backend: Option<String>,
    /// The migration crate's build script, if it has one.
    pub build_script: Option<&'a Path>,
}

/// Records a build for `lookup`.
pub fn store(args: &CargoArgs, build: Build) {
    let Build {
        target_dir,
        root,
        binary,
        config,
        entries,
        manifests,
        started: built_at,
        runner_backend,
        build_script,
    } = build;
    let mut paths: Vec<PathBuf> = vec![binary.to_path_buf(), root.join("Cargo.lock")];
    let sources = dep_info(binary);
    // No dep-info, or a build script that may generate something from more than the
    // files cargo lists (anything but `init`'s, which lists the migration files; cargo
    // lists their directory, whose stamp changes when a file is added or removed): no
    // record, every verb builds.
    let generated = |s: &&PathBuf| s.starts_with(target_dir);
    let ours = |s: &PathBuf| s.file_name().is_some_and(|f| f == GENERATED);
    if sources.is_empty()
        || build_script.is_some_and(|b| !is_discovery_script(b))
        || sources.iter().filter(generated).any(|s| !ours(s))
    {
        return;
    }
    for source in &sources {
        if let Some(manifest) = source
            .ancestors()
            .skip(1)
            .map(|d| d.join("Cargo.toml"))
            .find(|m| m.is_file())
        {
            paths.push(manifest);
        }
    }
    paths.extend(sources);
    paths.extend(manifests);
    paths.extend(entries.iter().cloned());
    paths.extend(cargo_config_files(root));
    paths.sort();
    paths.dedup();
    let built_ns = built_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let s = stamp(&path);
        // cargo itself writes the binary, the lock file and what the build script
        // generates during the build
        let cargos_own = path == binary
            || path.starts_with(target_dir)
            || path.file_name().is_some_and(|f| f == "Cargo.lock");
        if !cargos_own && s.is_some_and(|(mtime, _)| mtime >= built_ns) {
            return; // edited during the build
        }
        files.push((path, s));
    }
    let record = Record {
        root: root.to_path_buf(),
        binary: binary.to_path_buf(),
        config: config.clone(),
        runner_backend,
    };
    save(args, target_dir, root, "fresh", entries, files, record);
}

/// What the build script `init` writes generates (see `templates/init/build.rs`).
const GENERATED: &str = "cargo_migrate_modules.rs";

/// Whether the build script at `path` is the one `init` writes (as tokens: comments and
/// formatting aside).
fn is_discovery_script(path: &Path) -> bool {
    let tokens = |text: &str| -> Vec<String> {
        crate::lexer::tokens(text)
            .iter()
            .map(|t| text[t.start..t.end].to_string())
            .collect()
    };
    std::fs::read_to_string(path)
        .is_ok_and(|text| tokens(&text) == tokens(super::templates::BUILD_SCRIPT))
}

/// The directories `workspace.members` globs list (`crates/*` → `crates`): a new
/// member there changes the directory, not a manifest.
fn member_glob_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return Vec::new();
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return Vec::new();
    };
    doc.get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.as_str())
                .filter(|m| m.contains(['*', '?', '[']))
                .map(|m| {
                    let fixed: Vec<&str> = m
                        .split('/')
                        .take_while(|seg| !seg.contains(['*', '?', '[']))
                        .collect();
                    root.join(fixed.join("/"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn stamp(path: &Path) -> Option<(u128, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((mtime, meta.len()))
}

/// The manifest cargo would start from: `--manifest-path`, or the nearest `Cargo.toml`
/// here or above.
fn start_manifest(args: &CargoArgs) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    match &args.manifest_path {
        Some(path) => Some(cwd.join(path)),
        None => cwd
            .ancestors()
            .map(|d| d.join("Cargo.toml"))
            .find(|m| m.is_file()),
    }
}

/// Everything besides the files that decides which binary this invocation builds.
fn key(args: &CargoArgs, root_manifest: &Path) -> String {
    let mut key = format!(
        "cargo-migrate {VERSION}\nworkspace {}\npackage {:?}\ntarget-dir {:?}\n",
        root_manifest.display(),
        args.package,
        args.target_dir
    );
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_BUILD_")
                || k.starts_with("CARGO_PROFILE_")
                || k.starts_with("CARGO_TARGET_")
                || matches!(
                    k.as_str(),
                    "RUSTFLAGS"
                        | "CARGO_ENCODED_RUSTFLAGS"
                        | "RUSTC"
                        | "RUSTC_WRAPPER"
                        | "RUSTC_WORKSPACE_WRAPPER"
                )
        })
        .collect();
    vars.sort();
    for (k, v) in vars {
        key.push_str(&format!("env {k}={v}\n"));
    }
    key
}

fn file_name(kind: &str, key: &str) -> String {
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{kind}-{h:016x}.json")
}

/// The target directory of the workspace at `root`, as far as it can be known without
/// asking cargo (a cargo configuration file that moves it means no record is found).
fn target_dir(args: &CargoArgs, root: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if let Some(dir) = &args.target_dir {
        return cwd.join(dir);
    }
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            return cwd.join(dir);
        }
    }
    root.join("target")
}

/// The source files cargo's dep-info lists for `binary` (`<binary>.d`).
fn dep_info(binary: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(binary.with_extension("d")) else {
        return Vec::new();
    };
    let Some(first) = text.lines().next() else {
        return Vec::new();
    };
    let Some((_, deps)) = split_target(first) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    files
}

/// `target: deps` where the target may contain escaped spaces and a drive colon.
fn split_target(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes[i] == b':' && bytes.get(i + 1) == Some(&b' '))
        .map(|i| (&line[..i], &line[i + 2..]))
}

/// cargo's configuration files that apply to `root` (present or not: one appearing
/// later must also force a build).
fn cargo_config_files(root: &Path) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut dirs: Vec<PathBuf> = root
        .ancestors()
        .chain(cwd.ancestors())
        .map(|d| d.join(".cargo"))
        .collect();
    dirs.extend(home);
    dirs.sort();
    dirs.dedup();
    dirs.iter()
        .flat_map(|d| [d.join("config.toml"), d.join("config")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_source_with_escaped_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("migration");
        std::fs::write(
            bin.with_extension("d"),
            "/t/debug/migration: /ws/m/src/main.rs /ws/m/src/lib.rs /ws/my\\ dir/x.rs\n\n/ws/m/src/main.rs:\n",
        )
        .unwrap();
        assert_eq!(
            dep_info(&bin),
            vec![
                PathBuf::from("/ws/m/src/main.rs"),
                PathBuf::from("/ws/m/src/lib.rs"),
                PathBuf::from("/ws/my dir/x.rs")
            ]
        );
    }

    #[test]
    fn a_record_is_valid_only_while_its_files_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lib.rs");
        std::fs::write(&file, "a").unwrap();
        let files = [
            (file.clone(), stamp(&file)),
            (dir.path().join("absent"), None),
        ];
        assert!(files.iter().all(|(p, s)| stamp(p) == *s));
        std::fs::write(&file, "ab").unwrap();
        assert!(!files.iter().all(|(p, s)| stamp(p) == *s));
        std::fs::write(dir.path().join("absent"), "").unwrap();
        assert!(stamp(&dir.path().join("absent")).is_some());
    }

    #[test]
    fn globbed_members_are_watched_through_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\", \"crates/*\", \"x/y?/z\"]\n",
        )
        .unwrap();
        assert_eq!(
            member_glob_dirs(dir.path()),
            vec![dir.path().join("crates"), dir.path().join("x")]
        );
    }
}
