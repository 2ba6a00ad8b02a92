//! Skipping cargo when nothing changed. After a build, the binary to run, the resolved
//! configuration, the size and modification time of every file the build read and the
//! value of every environment variable it read are recorded in the workspace's own
//! directory under the target directory (`state_dir`). What the build read comes from
//! rustc's dep-info of each unit of a local package (its sources and its `# env-dep:`
//! lines: `env!`, `option_env!`), the build scripts' `rerun-if-changed` and
//! `rerun-if-env-changed`, every manifest, `Cargo.lock`, cargo's configuration files and
//! the files that choose the toolchain. The next verb finds that record from the working
//! directory alone, and when every file and variable is as recorded it runs the binary
//! without `cargo metadata` or `cargo build`. Any doubt means a normal build.
//!
//! All of it is read while cargo still holds the build directory's lock, and the binary
//! recorded is a hard link kept in the workspace's own directory: in a target directory
//! shared by workspaces, cargo's copy at `target/<profile>/<name>` is shared by every
//! binary of that name, and even its units are shared by workspaces of the same layout.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::text::fnv1a;

use super::args::CargoArgs;
use super::config::Config;
use super::paths::from_cwd;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `(path, (modified ns since the epoch, length))`; `None`: the file must not exist.
type FileFingerprint = (PathBuf, Option<(u128, u64)>);

/// A value recorded with the files and environment it was derived from.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stamped<T> {
    key: String,
    /// The manifests cargo may start from to reach this workspace (root and members).
    entries: Vec<PathBuf>,
    files: Vec<FileFingerprint>,
    /// `(variable, value)` the build read; `None`: it must be unset.
    env: Vec<(String, Option<String>)>,
    value: T,
}

/// What a build left: the binary to run and the configuration it runs with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) root: PathBuf,
    /// The migration crate's name (the binary's `argv[0]`).
    pub(crate) name: String,
    pub(crate) binary: PathBuf,
    pub(crate) config: Config,
    /// A sea-orm-cli crate's runner is built for the crate's backends and the database
    /// URL's: the backends it was built for (`None` for a crate's own binary).
    pub(crate) runner_backends: Option<Vec<String>>,
    /// The runner uses other versions than the workspace's `Cargo.lock` (which
    /// `--locked` refuses).
    pub(crate) lock_moved: bool,
}

impl Record {
    /// Whether the binary can connect to a database of `backend` (a feature name; `None`:
    /// the verb connects to none).
    pub(crate) fn serves(&self, backend: Option<&str>) -> bool {
        match (&self.runner_backends, backend) {
            (Some(built), Some(wanted)) => built.iter().any(|b| b == wanted),
            _ => true,
        }
    }
}

/// Where the subcommand keeps what it writes for the workspace at `root` under
/// `target_dir`: records, the module index, a sea-orm-cli crate's runner. Keyed by
/// the workspace, so projects sharing a target directory (`CARGO_TARGET_DIR`,
/// `build.target-dir`) never read each other's.
pub(crate) fn state_dir(target_dir: &Path, root: &Path) -> PathBuf {
    target_dir.join("cargo-migrate").join(workspace_id(root))
}

/// A short name for the workspace at `root`: a hash of its canonical path.
pub(crate) fn workspace_id(root: &Path) -> String {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    format!("{:016x}", fnv1a(root.as_os_str().as_encoded_bytes()))
}

/// The record of the last build for this invocation, if every file and variable it
/// lists is unchanged.
pub(crate) fn lookup(args: &CargoArgs) -> Option<Record> {
    find(args, "fresh")
}

/// `cargo metadata --no-deps` as it answered last time, if no manifest (nor cargo
/// configuration) changed since.
pub(crate) fn lookup_metadata(args: &CargoArgs) -> Option<cargo_metadata::Metadata> {
    find(args, "workspace")
}

/// Records `cargo metadata`'s answer for `lookup_metadata`. A glob in
/// `workspace.members` is watched through the directory it lists.
pub(crate) fn store_metadata(args: &CargoArgs, target_dir: &Path, meta: &cargo_metadata::Metadata) {
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
        let s = fingerprint(&p);
        (p, s)
    });
    let record = Stamped {
        key: key(args, &root.join("Cargo.toml")),
        entries,
        files: files.collect(),
        env: Vec::new(),
        value: meta,
    };
    save(&state_dir(target_dir, &root), "workspace", &record);
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
        let path = state_dir(&target_dir(args, root), root).join(file_name(kind, &key));
        let Some(record) = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stamped<T>>(&bytes).ok())
        else {
            continue;
        };
        let fresh = record.key == key
            && record.entries.contains(&start)
            && record.files.iter().all(|(p, s)| fingerprint(p) == *s)
            && record.env.iter().all(|(k, v)| env_value(k) == *v);
        return fresh.then_some(record.value);
    }
    None
}

fn env_value(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Writes `record` to `dir` atomically (a temporary file renamed over it); a failure
/// only means the next verb builds.
fn save<T: Serialize>(dir: &Path, kind: &str, record: &Stamped<T>) {
    let name = file_name(kind, &record.key);
    if let Ok(json) = serde_json::to_vec(record)
        && std::fs::create_dir_all(dir).is_ok()
    {
        let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(name));
        }
    }
}

/// What a build read and left, gathered from cargo's messages while cargo still holds
/// the build directory's lock: in a target directory shared by workspaces of the same
/// layout, units of the same name (`deps/<name>-<hash>`) and cargo's copies
/// (`target/<profile>/<name>`) are shared too, and the next build of another workspace
/// replaces them.
#[derive(Debug, Default)]
pub(crate) struct Built {
    /// This build's binary, kept where no other build writes (`None`: it could not be
    /// kept, nothing is recorded).
    pub(crate) binary: Option<PathBuf>,
    /// The sources and variables the local units read.
    read: Read,
    /// The `OUT_DIR` of each local build script run: the sources it generates.
    out_dirs: Vec<PathBuf>,
    /// Dep-info files already read.
    seen: BTreeSet<PathBuf>,
    /// `(package id, dep-info)` of the units of packages inside the workspace (see
    /// `Owners`).
    inside: Vec<(String, PathBuf)>,
    /// What some local unit read is unknown.
    incomplete: bool,
    /// Where rustc ran for the built workspace's members (its root): the base of the
    /// relative paths in their dep-info.
    cwd: PathBuf,
}

impl Built {
    /// A build of the workspace rooted at `cwd`.
    pub(crate) fn new(cwd: &Path) -> Built {
        Built {
            cwd: cwd.to_path_buf(),
            ..Built::default()
        }
    }

    /// Adds what the units of `files` (the files cargo reported for an artifact of the
    /// local package `package` at `root`) read, from rustc's dep-info.
    pub(crate) fn add_artifact<'a>(
        &mut self,
        package: &str,
        root: &Path,
        files: impl IntoIterator<Item = &'a Path>,
    ) {
        for file in files {
            let Some(dep_info) = dep_info_of(file) else {
                self.incomplete = true;
                continue;
            };
            if !self.seen.insert(dep_info.clone()) {
                continue;
            }
            if root.starts_with(&self.cwd) {
                self.inside.push((package.to_string(), dep_info.clone()));
            }
            match DepInfo::read(&dep_info) {
                Some(info) => {
                    let cwd = &self.cwd;
                    self.read
                        .sources
                        .extend(info.sources.iter().map(|s| cwd.join(s)));
                    self.read.env.extend(info.env);
                }
                None => self.incomplete = true,
            }
        }
    }

    /// Adds what a local build script run (of the package at `root`, with `out_dir`)
    /// declared it reads. One that declares no `rerun-if-changed` is rerun whenever
    /// anything in its package changes: what it read is unknown.
    pub(crate) fn add_build_script(&mut self, root: Option<&Path>, out_dir: &Path) {
        let output = out_dir
            .parent()
            .and_then(|d| std::fs::read_to_string(d.join("output")).ok());
        let (Some(root), Some(output)) = (root, output) else {
            self.incomplete = true;
            return;
        };
        let (paths, env) = script_reads(&output);
        self.incomplete |= paths.is_empty();
        self.read.sources.extend(paths.iter().map(|p| root.join(p)));
        self.read.env.extend(env);
        self.out_dirs.push(out_dir.to_path_buf());
    }

    /// Keeps the binary cargo put at `exe` at `keep`, where no other build writes: a
    /// hard link (the unit's file, which a later build replaces rather than rewrites),
    /// else a copy. Returns where the binary to run is.
    pub(crate) fn keep_binary(&mut self, exe: &Path, keep: &Path) -> PathBuf {
        self.binary = keep_at(exe, keep);
        self.binary.clone().unwrap_or_else(|| exe.to_path_buf())
    }
}

/// Who built each unit of a package inside a workspace last. cargo names such units by
/// their path relative to the workspace root, so workspaces of the same layout sharing
/// a target directory build the very same files, and cargo, which compares times, can
/// take one workspace's build as fresh for the other's sources. Builds through
/// cargo-migrate hold this lock (cargo serialises them anyway) from the build to the
/// record of who made it, and a unit another workspace built last is built again.
pub(crate) struct Owners {
    _lock: std::fs::File,
    dir: PathBuf,
    id: String,
}

impl Owners {
    /// Waits for the lock of the owners of `target_dir`'s units, for the workspace at
    /// `root`; `None` if it cannot be had (nothing is checked then).
    pub(crate) fn lock(target_dir: &Path, root: &Path) -> Option<Owners> {
        let dir = target_dir.join("cargo-migrate").join("owners");
        std::fs::create_dir_all(&dir).ok()?;
        let lock = std::fs::File::create(dir.join(".lock")).ok()?;
        if lock.try_lock().is_err() {
            // as cargo says it
            eprintln!(
                "{:>12} waiting for file lock on the build records of cargo-migrate",
                console::style("Blocking").cyan().bold()
            );
            lock.lock().ok()?;
        }
        Some(Owners {
            _lock: lock,
            dir,
            id: workspace_id(root),
        })
    }

    /// The packages of `built` whose units another workspace built last.
    pub(crate) fn foreign(&self, built: &Built) -> Vec<String> {
        let mut packages: Vec<String> = built
            .inside
            .iter()
            .filter(|(_, dep_info)| {
                std::fs::read_to_string(self.marker(dep_info)).is_ok_and(|id| id != self.id)
            })
            .map(|(package, _)| package.clone())
            .collect();
        packages.sort();
        packages.dedup();
        packages
    }

    /// Records this workspace as the last builder of the units of `built`.
    pub(crate) fn claim(&self, built: &Built) {
        for (_, dep_info) in &built.inside {
            let _ = std::fs::write(self.marker(dep_info), &self.id);
        }
    }

    fn marker(&self, dep_info: &Path) -> PathBuf {
        self.dir
            .join(dep_info.file_name().unwrap_or(dep_info.as_os_str()))
    }
}

/// Links (else copies) `exe` to `keep` through a temporary name, so `keep` is always a
/// whole binary.
fn keep_at(exe: &Path, keep: &Path) -> Option<PathBuf> {
    std::fs::create_dir_all(keep.parent()?).ok()?;
    let tmp = keep.with_file_name(format!(
        ".{}.{}.tmp",
        keep.file_name()?.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::fs::hard_link(exe, &tmp)
        .or_else(|_| std::fs::copy(exe, &tmp).map(drop))
        .ok()?;
    match std::fs::rename(&tmp, keep) {
        Ok(()) => Some(keep.to_path_buf()),
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
            None
        }
    }
}

/// A finished build, as `store` records it.
pub(crate) struct Build<'a> {
    pub(crate) target_dir: &'a Path,
    pub(crate) root: &'a Path,
    pub(crate) name: &'a str,
    pub(crate) built: &'a Built,
    pub(crate) config: &'a Config,
    /// The manifests cargo may start from for this workspace (root and members).
    pub(crate) entries: Vec<PathBuf>,
    /// Other manifests and lock files the build read (a runner crate's).
    pub(crate) manifests: Vec<PathBuf>,
    /// When the build started: a file changed since may not be in the binary, so
    /// nothing is recorded.
    pub(crate) started: SystemTime,
    /// See `Record::runner_backends`.
    pub(crate) runner_backends: Option<Vec<String>>,
    /// See `Record::lock_moved`.
    pub(crate) lock_moved: bool,
    /// The runner's directory: sources cargo-migrate generates, from inputs the record
    /// covers (the crate's manifest, the key, the backend).
    pub(crate) generated: Option<&'a Path>,
    /// The migration crate's build script, if it has one.
    pub(crate) build_script: Option<&'a Path>,
}

/// Records a build for `lookup`.
pub(crate) fn store(args: &CargoArgs, build: Build) {
    let Some(binary) = &build.built.binary else {
        return;
    };
    let Some(read) = recordable(&build) else {
        return;
    };
    let root = build.root;
    let mut paths: Vec<PathBuf> = vec![binary.clone(), root.join("Cargo.lock")];
    for source in &read.sources {
        if let Some(manifest) = source
            .ancestors()
            .skip(1)
            .map(|d| d.join("Cargo.toml"))
            .find(|m| m.is_file())
        {
            paths.push(manifest);
        }
    }
    paths.extend(read.sources);
    paths.extend(build.manifests);
    paths.extend(build.entries.iter().cloned());
    paths.extend(cargo_config_files(root));
    paths.extend(toolchain_files(root));
    // cargo itself writes the binary, the lock file and what build scripts generate
    // during the build
    let cargos_own = |path: &Path| {
        path == binary
            || path.starts_with(build.target_dir)
            || path.file_name().is_some_and(|f| f == "Cargo.lock")
    };
    let Some(files) = fingerprints(paths, cargos_own, build.started) else {
        return;
    };
    let record = Stamped {
        key: key(args, &root.join("Cargo.toml")),
        entries: build.entries,
        files,
        env: read
            .env
            .into_iter()
            .map(|k| {
                let v = env_value(&k);
                (k, v)
            })
            .collect(),
        value: Record {
            root: root.to_path_buf(),
            name: build.name.to_string(),
            binary: binary.clone(),
            config: build.config.clone(),
            runner_backends: build.runner_backends,
            lock_moved: build.lock_moved,
        },
    };
    save(&state_dir(build.target_dir, root), "fresh", &record);
}

/// What the build read, if a record can vouch for it: every unit's dep-info was found,
/// the crate's build script is `init`'s (which lists the migration files; cargo lists
/// their directory, whose fingerprint changes when a file is added or removed), every source
/// exists, and the sources under the target directory are generated by the runner or
/// by a build script that declares what it reads. What a build script generates is
/// left out: its inputs are watched.
fn recordable(build: &Build) -> Option<Read> {
    let built = build.built;
    if built.incomplete || build.build_script.is_some_and(|b| !is_discovery_script(b)) {
        return None;
    }
    let generated = |s: &Path| {
        build.generated.is_some_and(|g| s.starts_with(g))
            || built.out_dirs.iter().any(|out| s.starts_with(out))
    };
    let doubtful = |s: &PathBuf| !s.exists() || (s.starts_with(build.target_dir) && !generated(s));
    if built.read.sources.is_empty() || built.read.sources.iter().any(doubtful) {
        return None;
    }
    // Workspaces of the same layout share a build script's directory (see `Owners`).
    let by_script = |s: &&PathBuf| built.out_dirs.iter().any(|out| s.starts_with(out));
    let mut sources: Vec<PathBuf> = built
        .read
        .sources
        .iter()
        .filter(|s| !by_script(s))
        .cloned()
        .collect();
    sources.sort();
    sources.dedup();
    Some(Read {
        sources,
        env: built.read.env.clone(),
    })
}

/// The fingerprint of each of `paths`; `None` when one of them (but what cargo writes itself)
/// changed after `started`: it may not be in the binary.
fn fingerprints(
    mut paths: Vec<PathBuf>,
    cargos_own: impl Fn(&Path) -> bool,
    started: SystemTime,
) -> Option<Vec<FileFingerprint>> {
    paths.sort();
    paths.dedup();
    let started = started
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    paths
        .into_iter()
        .map(|path| {
            let s = fingerprint(&path);
            let edited = s.is_some_and(|(mtime, _)| mtime >= started);
            (cargos_own(&path) || !edited).then_some((path, s))
        })
        .collect()
}

/// What a build read, from its units' dep-info and its build scripts' output.
#[derive(Debug, Default, PartialEq, Eq)]
struct Read {
    sources: Vec<PathBuf>,
    env: BTreeSet<String>,
}

/// A build script's `rerun-if-changed` paths and `rerun-if-env-changed` variables,
/// from the `output` cargo keeps of its run.
fn script_reads(output: &str) -> (Vec<PathBuf>, Vec<String>) {
    let mut paths = Vec::new();
    let mut env = Vec::new();
    for line in output.lines() {
        let Some(directive) = line
            .strip_prefix("cargo::")
            .or_else(|| line.strip_prefix("cargo:"))
        else {
            continue;
        };
        if let Some(path) = directive.strip_prefix("rerun-if-changed=") {
            paths.push(PathBuf::from(path));
        } else if let Some(var) = directive.strip_prefix("rerun-if-env-changed=") {
            env.push(var.to_string());
        }
    }
    (paths, env)
}

/// rustc's dep-info of one unit (`deps/<crate>-<hash>.d`): the files it read, relative
/// to where rustc ran or absolute, and the environment variables it read.
#[derive(Debug, Default, PartialEq, Eq)]
struct DepInfo {
    sources: Vec<PathBuf>,
    env: Vec<String>,
}

impl DepInfo {
    fn read(path: &Path) -> Option<DepInfo> {
        DepInfo::parse(&std::fs::read_to_string(path).ok()?)
    }

    fn parse(text: &str) -> Option<DepInfo> {
        let (_, deps) = split_target(text.lines().next()?)?;
        let env = text
            .lines()
            .filter_map(|l| l.strip_prefix("# env-dep:"))
            .map(|dep| {
                dep.split_once('=')
                    .map_or(dep, |(name, _)| name)
                    .to_string()
            })
            .collect();
        Some(DepInfo {
            sources: split_paths(deps),
            env,
        })
    }
}

/// rustc's dep-info of the unit `file` (a file cargo reported for a local package)
/// belongs to: the unit's own file under `deps/` (`<crate>-<hash>`, with `lib` and an
/// extension for a library), or the one `file` is a hard link of (cargo's copy of a
/// binary at `target/<profile>/<name>`, of a build script at
/// `build/<unit>/build-script-build`).
fn dep_info_of(file: &Path) -> Option<PathBuf> {
    let dir = file.parent()?;
    let name = file.file_name()?.to_str()?;
    if let Some(dep_info) = hashed_dep_info(dir, name) {
        return Some(dep_info);
    }
    let prefix = format!("{}-", name.split('.').next()?.replace('-', "_"));
    let want = Identity::of(&std::fs::metadata(file).ok()?);
    [dir.join("deps"), dir.to_path_buf()]
        .iter()
        .filter_map(|dir| Some((dir, std::fs::read_dir(dir).ok()?)))
        .flat_map(|(dir, entries)| entries.flatten().map(move |e| (dir, e)))
        .find_map(|(dir, entry)| {
            let candidate = entry.file_name();
            let candidate = candidate.to_str()?;
            (candidate.starts_with(&prefix)
                && !candidate.ends_with(".d")
                && entry.metadata().is_ok_and(|m| Identity::of(&m) == want))
            .then(|| hashed_dep_info(dir, candidate))
            .flatten()
        })
}

/// `dir/<crate>-<hash>.d` for a unit file named `[lib]<crate>-<hash>[.ext]`.
fn hashed_dep_info(dir: &Path, name: &str) -> Option<PathBuf> {
    let stem = name.split('.').next()?;
    let (krate, hash) = stem.rsplit_once('-')?;
    if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    [Some(krate), krate.strip_prefix("lib")]
        .into_iter()
        .flatten()
        .map(|k| dir.join(format!("{k}-{hash}.d")))
        .find(|d| d.is_file())
}

/// Which file a path names: two hard links of one file have the same identity.
#[derive(Debug, PartialEq, Eq)]
struct Identity(u64, u64, u64, Option<SystemTime>);

impl Identity {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity(meta.dev(), meta.ino(), meta.len(), meta.modified().ok())
    }

    #[cfg(not(unix))]
    fn of(meta: &std::fs::Metadata) -> Identity {
        Identity(0, 0, meta.len(), meta.modified().ok())
    }
}

/// Whether the build script at `path` is the one `init` writes (as tokens: comments and
/// formatting aside).
fn is_discovery_script(path: &Path) -> bool {
    let tokens = |text: &str| -> Vec<String> {
        crate::model::lexer::tokens(text)
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

/// A file's fingerprint: its modification time (ns since the epoch) and length; `None`
/// if it does not exist.
fn fingerprint(path: &Path) -> Option<(u128, u64)> {
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

/// Everything besides the files that decides which binary this invocation builds: the
/// workspace, the crate asked for, the target directory, and cargo's, rustc's and the
/// toolchain's variables (`cargo +nightly` sets `RUSTUP_TOOLCHAIN`).
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
                        | "RUSTUP_TOOLCHAIN"
                        | "RUSTUP_HOME"
                        | "CARGO_MIGRATE_RUNTIME_PATH"
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
    format!("{kind}-{:016x}.json", fnv1a(key.as_bytes()))
}

/// The target directory of the workspace at `root`, as far as it can be known without
/// asking cargo (a cargo configuration file that moves it means no record is found).
fn target_dir(args: &CargoArgs, root: &Path) -> PathBuf {
    if let Some(dir) = &args.target_dir {
        return from_cwd(dir);
    }
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            return from_cwd(Path::new(&dir));
        }
    }
    root.join("target")
}

/// The paths of a dep-info line, separated by spaces (a space in a path escaped).
fn split_paths(deps: &str) -> Vec<PathBuf> {
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
    let home = super::paths::home();
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

/// The files that choose the toolchain, present or not: rustup's overrides
/// (`rust-toolchain.toml`, `rust-toolchain`) above the workspace and the working
/// directory, its settings (default and per-directory overrides), and the records
/// `rustup update` rewrites.
fn toolchain_files(root: &Path) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut files: Vec<PathBuf> = root
        .ancestors()
        .chain(cwd.ancestors())
        .flat_map(|d| [d.join("rust-toolchain.toml"), d.join("rust-toolchain")])
        .collect();
    let rustup = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")));
    if let Some(rustup) = rustup {
        let hashes = rustup.join("update-hashes");
        if let Ok(entries) = std::fs::read_dir(&hashes) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
        files.push(hashes);
        files.push(rustup.join("settings.toml"));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_lists_every_source_and_the_environment_read() {
        let info = DepInfo::parse(
            "/t/debug/deps/m-0123456789abcdef.d: m/src/main.rs /ws/m/src/lib.rs /ws/my\\ dir/x.rs\n\n\
             /t/debug/deps/m-0123456789abcdef: m/src/main.rs\n\nm/src/main.rs:\n\n\
             # env-dep:CARGO_PKG_NAME=m\n# env-dep:TABLE_PREFIX\n",
        )
        .unwrap();
        assert_eq!(
            info.sources,
            vec![
                PathBuf::from("m/src/main.rs"),
                PathBuf::from("/ws/m/src/lib.rs"),
                PathBuf::from("/ws/my dir/x.rs")
            ]
        );
        assert_eq!(info.env, vec!["CARGO_PKG_NAME", "TABLE_PREFIX"]);
    }

    #[test]
    fn a_binary_is_traced_to_its_units_dep_info() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("deps");
        std::fs::create_dir(&deps).unwrap();
        for (name, text) in [
            ("migration-0123456789abcdef", "ours"),
            ("migration-fedcba9876543210", "theirs"),
        ] {
            std::fs::write(deps.join(name), text).unwrap();
            std::fs::write(deps.join(format!("{name}.d")), "").unwrap();
        }
        let uplifted = dir.path().join("migration");
        std::fs::hard_link(deps.join("migration-0123456789abcdef"), &uplifted).unwrap();
        assert_eq!(
            dep_info_of(&uplifted),
            Some(deps.join("migration-0123456789abcdef.d"))
        );
        // a library's own file names its unit
        std::fs::write(deps.join("libmigration-0123456789abcdef.rlib"), "").unwrap();
        assert_eq!(
            dep_info_of(&deps.join("libmigration-0123456789abcdef.rlib")),
            Some(deps.join("migration-0123456789abcdef.d"))
        );
    }

    #[test]
    fn a_kept_binary_is_not_replaced_by_the_next_build() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("migration");
        std::fs::write(&exe, "ours").unwrap();
        let keep = dir.path().join("state").join("debug").join("migration");
        let mut built = Built::new(dir.path());
        assert_eq!(built.keep_binary(&exe, &keep), keep);
        // cargo replaces its copy (another workspace's build)
        std::fs::remove_file(&exe).unwrap();
        std::fs::write(&exe, "theirs").unwrap();
        assert_eq!(std::fs::read_to_string(&keep).unwrap(), "ours");
    }

    #[test]
    fn a_unit_another_workspace_built_last_is_foreign() {
        let target = tempfile::tempdir().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut built = Built::new(a.path());
        built.inside.push((
            "path+file:///ws/migration#migration@0.1.0".to_string(),
            target
                .path()
                .join("debug/deps/migration-0123456789abcdef.d"),
        ));
        let owners = Owners::lock(target.path(), a.path()).unwrap();
        assert!(owners.foreign(&built).is_empty(), "never built");
        owners.claim(&built);
        assert!(owners.foreign(&built).is_empty(), "built by this workspace");
        drop(owners);
        let theirs = Owners::lock(target.path(), b.path()).unwrap();
        assert_eq!(
            theirs.foreign(&built),
            vec!["path+file:///ws/migration#migration@0.1.0"]
        );
    }

    #[test]
    fn build_scripts_say_what_they_read() {
        let (paths, env) = script_reads(
            "cargo::rerun-if-changed=src\ncargo:rerun-if-env-changed=PREFIX\ncargo::rustc-env=X=1\n",
        );
        assert_eq!(paths, vec![PathBuf::from("src")]);
        assert_eq!(env, vec!["PREFIX"]);
    }

    #[test]
    fn workspaces_sharing_a_target_directory_keep_their_state_apart() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let target = Path::new("/shared/target");
        assert_ne!(state_dir(target, a.path()), state_dir(target, b.path()));
        assert_eq!(state_dir(target, a.path()), state_dir(target, a.path()));
        assert!(state_dir(target, a.path()).starts_with(target.join("cargo-migrate")));
    }

    #[test]
    fn a_record_is_valid_only_while_its_files_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lib.rs");
        std::fs::write(&file, "a").unwrap();
        let files = [
            (file.clone(), fingerprint(&file)),
            (dir.path().join("absent"), None),
        ];
        assert!(files.iter().all(|(p, s)| fingerprint(p) == *s));
        std::fs::write(&file, "ab").unwrap();
        assert!(!files.iter().all(|(p, s)| fingerprint(p) == *s));
        std::fs::write(dir.path().join("absent"), "").unwrap();
        assert!(fingerprint(&dir.path().join("absent")).is_some());
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
