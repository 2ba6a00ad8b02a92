//! The workspace (`cargo metadata --no-deps`) and its migration crate: `-p` first, then
//! the configured `package`, then the member that marks itself with
//! `[package.metadata.migrate]`, then the one member that depends on the runtime or on
//! sea-orm-migration.

use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, Package, TargetKind};

use super::args::CargoArgs;
use super::config::Config;
use super::error::{Result, ToolError};
use super::fresh;
use super::{cargo, paths};

/// The runtime's package name, as a dependency.
pub(crate) const RUNTIME: &str = "cargo-migrate";
/// sea-orm-migration, the dependency of a crate laid out by sea-orm-cli.
pub(crate) const SEA_ORM_MIGRATION: &str = "sea-orm-migration";

pub(crate) struct Workspace {
    pub(crate) meta: Metadata,
    pub(crate) root: PathBuf,
    pub(crate) root_manifest: PathBuf,
    pub(crate) target_dir: PathBuf,
    /// `[workspace.metadata.migrate]`, or the root package's table in a one-package
    /// project.
    pub(crate) config: Config,
}

/// How the crate's binary runs our verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// It depends on the runtime: its own binary is the runner.
    Runtime,
    /// A sea-orm-cli crate: its binary is sea-orm-migration's CLI, so a runner crate
    /// links its `Migrator` with the runtime.
    Legacy,
}

#[derive(Debug, Clone)]
pub(crate) struct MigrationCrate {
    pub(crate) name: String,
    pub(crate) manifest: PathBuf,
    pub(crate) dir: PathBuf,
    /// The library target's crate name and root file.
    pub(crate) lib: Option<(String, PathBuf)>,
    /// The binary target (`Kind::Runtime`).
    pub(crate) bin: Option<String>,
    pub(crate) kind: Kind,
    /// Features the crate enables on sea-orm-migration (a legacy crate's backends).
    pub(crate) sea_orm_features: Vec<String>,
    /// The build script's source, if the crate has one.
    pub(crate) build_script: Option<PathBuf>,
    /// Where the subcommand keeps what it writes for this workspace
    /// (`fresh::state_dir`).
    pub(crate) state_dir: PathBuf,
    /// Chosen at the prompt among several: a run without a terminal would not get it.
    pub(crate) picked: bool,
}

impl Workspace {
    /// Runs `cargo metadata --no-deps` for the manifest here or at `--manifest-path`.
    pub(crate) fn load(args: &CargoArgs) -> Result<Workspace> {
        let meta = match fresh::lookup_metadata(args) {
            Some(meta) => meta,
            None => {
                let mut cmd = MetadataCommand::new();
                cmd.cargo_path(cargo::program()).no_deps();
                if let Some(path) = &args.manifest_path {
                    cmd.manifest_path(path);
                }
                cmd.other_options(cargo::resolution_flags(args));
                let meta = cmd.exec().map_err(metadata_error)?;
                let target_dir: PathBuf = meta.target_directory.clone().into();
                fresh::store_metadata(args, &target_dir, &meta);
                meta
            }
        };
        let root: PathBuf = meta.workspace_root.clone().into();
        let root_manifest = root.join("Cargo.toml");
        let target_dir = match &args.target_dir {
            Some(dir) => paths::from_cwd(dir),
            None => meta.target_directory.clone().into(),
        };
        let mut config = Config::from_metadata(
            &meta.workspace_metadata,
            &root,
            "workspace.metadata.migrate",
        )?;
        if let Some(root_pkg) = meta.root_package() {
            config = config.merged(Config::from_metadata(
                &root_pkg.metadata,
                &root,
                "package.metadata.migrate",
            )?);
        }
        Ok(Workspace {
            meta,
            root,
            root_manifest,
            target_dir,
            config,
        })
    }

    /// Where the subcommand keeps what it writes for this workspace.
    pub(crate) fn state_dir(&self) -> PathBuf {
        fresh::state_dir(&self.target_dir, &self.root)
    }

    pub(crate) fn members(&self) -> Vec<&Package> {
        self.meta.workspace_packages()
    }

    /// The migration crate, and the configuration with its own table merged in: the one
    /// `-p` or the configuration names, else the one member marked or able to be it.
    /// Several, with nothing to choose between them, is `Ambiguous`: the caller asks,
    /// or says so (`several_crates`).
    pub(crate) fn migration_crate(&self, package: Option<&str>) -> Result<Discovered> {
        let chosen = match package.or(self.config.package.as_deref()) {
            Some(name) => {
                let from = if package.is_some() {
                    "`-p`"
                } else {
                    "`package` in `[workspace.metadata.migrate]`"
                };
                self.member(name, from)?
            }
            None => match self.candidates().as_slice() {
                [one] => *one,
                [] => return Err(no_migration_crate()),
                several => {
                    let names = several.iter().map(|p| p.name.to_string()).collect();
                    return Ok(Discovered::Ambiguous(names));
                }
            },
        };
        Ok(Discovered::Crate(Box::new(self.load_crate(chosen)?)))
    }

    /// The member `name`, picked by the user among the names `Ambiguous` listed.
    pub(crate) fn picked_crate(&self, name: &str) -> Result<(MigrationCrate, Config)> {
        let (mut krate, config) = self.load_crate(self.member(name, "`-p`")?)?;
        krate.picked = true;
        Ok((krate, config))
    }

    /// The member `name`, which `from` names.
    fn member(&self, name: &str, from: &str) -> Result<&Package> {
        let members = self.members();
        let found = members.iter().copied().find(|p| p.name.as_str() == name);
        found.ok_or_else(|| {
            let names: Vec<String> = members.iter().map(|p| format!("`{}`", p.name)).collect();
            ToolError::usage(format!(
                "{from} names `{name}`, which is not a member of this workspace (members: {})",
                names.join(", ")
            ))
        })
    }

    /// The migration sets `--all` runs, in order, each with its configuration: those
    /// `sets` in `[workspace.metadata.migrate]` lists, else the one migration crate. Several
    /// crates and no `sets` is an error: the order matters when one set's tables refer to
    /// another's, and only the user knows it.
    pub(crate) fn migration_sets(&self) -> Result<Vec<(MigrationCrate, Config)>> {
        let Some(names) = &self.config.sets else {
            return match self.candidates().as_slice() {
                [] => Err(no_migration_crate()),
                [one] => Ok(vec![self.load_crate(one)?]),
                several => {
                    let names: Vec<String> = several
                        .iter()
                        .map(|p| format!("{:?}", p.name.as_str()))
                        .collect();
                    Err(ToolError::usage(format!(
                        "`--all`: this workspace has several migration crates and no declared order; \
                         add `sets = [{}]` to `[workspace.metadata.migrate]`, in the order their \
                         migrations must run (a set whose tables refer to another's comes after it)",
                        names.join(", ")
                    )))
                }
            };
        };
        names
            .iter()
            .map(|name| {
                self.load_crate(self.member(name, "`sets` in `[workspace.metadata.migrate]`")?)
            })
            .collect()
    }

    /// The migration crates that depend on the runtime but `sets` leaves out (none when
    /// there is no `sets`): `--all` does not run them.
    pub(crate) fn left_out_of_sets(&self) -> Vec<String> {
        let Some(sets) = &self.config.sets else {
            return Vec::new();
        };
        self.members()
            .into_iter()
            .filter(|p| is_migration_crate(p) && depends_on(p, RUNTIME))
            .filter(|p| !sets.iter().any(|s| s == p.name.as_str()))
            .map(|p| p.name.to_string())
            .collect()
    }

    /// The members that can be the migration crate: the declared `sets`, else those
    /// marked with `[package.metadata.migrate]`, else all of them.
    fn candidates(&self) -> Vec<&Package> {
        let members = self.members();
        if let Some(sets) = &self.config.sets {
            return sets
                .iter()
                .filter_map(|s| members.iter().copied().find(|p| p.name.as_str() == s))
                .collect();
        }
        let marked: Vec<&Package> = members
            .iter()
            .copied()
            .filter(|p| p.metadata.get("migrate").is_some() && is_migration_crate(p))
            .collect();
        if !marked.is_empty() {
            return marked;
        }
        members
            .into_iter()
            .filter(|p| is_migration_crate(p))
            .collect()
    }

    /// `chosen` as the migration crate, with its own configuration table merged in.
    fn load_crate(&self, chosen: &Package) -> Result<(MigrationCrate, Config)> {
        let mut krate = describe(chosen)?;
        krate.state_dir = self.state_dir();
        let own = Config::from_metadata(&chosen.metadata, &krate.dir, "package.metadata.migrate")?;
        let is_root = self.meta.root_package().is_some_and(|r| r.id == chosen.id);
        if own.sets.is_some() && !is_root {
            return Err(ToolError::usage(format!(
                "`sets` in `[package.metadata.migrate]` of `{}` belongs in the workspace's \
                 `[workspace.metadata.migrate]`: it orders every migration crate",
                chosen.name
            )));
        }
        Ok((krate, self.config.clone().merged(own)))
    }
}

/// What workspace discovery found.
pub(crate) enum Discovered {
    /// The migration crate, and the configuration with its own table merged in.
    Crate(Box<(MigrationCrate, Config)>),
    /// Several members can be the migration crate and nothing names one: their names.
    Ambiguous(Vec<String>),
}

/// The error when several members can be the migration crate and no one can be asked.
pub(crate) fn several_crates(names: &[String]) -> ToolError {
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    ToolError::usage(format!(
        "this workspace has several migration crates ({}); pick one with `-p <name>` \
         or `package = \"<name>\"` in `[workspace.metadata.migrate]`, or run a database verb \
         on each with `--all`",
        list.join(", ")
    ))
}

fn no_migration_crate() -> ToolError {
    ToolError::usage(
        "this workspace has no migration crate (a member that depends on cargo-migrate \
         or sea-orm-migration); create one with `cargo migrate init`",
    )
}

pub(crate) fn depends_on(p: &Package, name: &str) -> bool {
    p.dependencies
        .iter()
        .any(|d| d.name == name && d.kind == DependencyKind::Normal)
}

/// A member that can be the migration crate: one that depends on the runtime and has
/// a binary, or a sea-orm-cli crate (sea-orm-migration and a library with `Migrator`).
pub(crate) fn is_migration_crate(p: &Package) -> bool {
    let has = |kind: TargetKind| p.targets.iter().any(|t| t.kind.contains(&kind));
    p.name.as_str() != RUNTIME
        && ((depends_on(p, RUNTIME) && has(TargetKind::Bin))
            || (depends_on(p, SEA_ORM_MIGRATION)
                && (has(TargetKind::Lib) || has(TargetKind::RLib))))
}

/// `p` as a migration crate: its kind, targets and sea-orm features.
fn describe(p: &Package) -> Result<MigrationCrate> {
    let manifest: PathBuf = p.manifest_path.clone().into();
    let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    let kind = if depends_on(p, RUNTIME) {
        Kind::Runtime
    } else if depends_on(p, SEA_ORM_MIGRATION) {
        Kind::Legacy
    } else {
        return Err(ToolError::usage(format!(
            "`{}` does not depend on cargo-migrate or sea-orm-migration, so it is not a migration crate",
            p.name
        )));
    };
    let lib = lib_target(p).map(|t| (t.name.replace('-', "_"), t.src_path.clone().into()));
    let bin = binary(p)?;
    if kind == Kind::Runtime && bin.is_none() {
        return Err(ToolError::usage(format!(
            "the migration crate `{}` has no binary; add `src/main.rs` with \
             `fn main() -> std::process::ExitCode {{ cargo_migrate::run::<{}::Migrator>() }}`",
            p.name,
            lib.as_ref().map_or("migration", |(n, _)| n.as_str())
        )));
    }
    let sea_orm_features = p
        .dependencies
        .iter()
        .filter(|d| d.name == SEA_ORM_MIGRATION || d.name == "sea-orm")
        .flat_map(|d| d.features.iter().cloned())
        .collect();
    Ok(MigrationCrate {
        name: p.name.to_string(),
        manifest,
        dir,
        lib,
        bin,
        kind,
        sea_orm_features,
        build_script: p
            .targets
            .iter()
            .find(|t| t.kind.contains(&TargetKind::CustomBuild))
            .map(|t| t.src_path.clone().into()),
        state_dir: PathBuf::new(),
        picked: false,
    })
}

/// The binary target: the only one, else the one named after the package.
fn binary(p: &Package) -> Result<Option<String>> {
    let bins: Vec<&str> = p
        .targets
        .iter()
        .filter(|t| t.kind.contains(&TargetKind::Bin))
        .map(|t| t.name.as_str())
        .collect();
    match bins.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.to_string())),
        several => several
            .iter()
            .find(|b| **b == p.name.as_str())
            .map(|b| Some(b.to_string()))
            .ok_or_else(|| {
                ToolError::usage(format!(
                    "the migration crate `{}` has several binaries ({}) and none is named after it",
                    p.name,
                    several.join(", ")
                ))
            }),
    }
}

/// cargo's error as one line: its message, then each `Caused by:` in order (the last
/// one usually names the file or the reason), joined by `: `. Warnings are left out.
fn cargo_error_line(stderr: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut in_error = false;
    for line in stderr.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(message) = line.strip_prefix("error: ") {
            in_error = true;
            parts.push(message.to_string());
        } else if line.starts_with("warning: ") {
            in_error = false;
        } else if line == "Caused by:" {
            parts.push(String::new());
        } else if in_error || parts.is_empty() {
            in_error = true;
            match parts.last_mut() {
                Some(last) if !last.is_empty() => {
                    last.push(' ');
                    last.push_str(line);
                }
                Some(last) => last.push_str(line),
                None => parts.push(line.to_string()),
            }
        }
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        "cargo metadata failed".to_string()
    } else {
        parts.join(": ")
    }
}

/// `cargo metadata` failed: usually a manifest that does not parse. One line, from
/// cargo's own message and its first cause.
fn metadata_error(e: cargo_metadata::Error) -> ToolError {
    match e {
        cargo_metadata::Error::CargoMetadata { stderr } => ToolError::usage(format!(
            "cannot read the workspace: {}",
            cargo_error_line(&stderr)
        )),
        cargo_metadata::Error::Io(e) => ToolError::Failure(format!(
            "cannot run `{}` to read the workspace: {e}",
            cargo::program().display()
        )),
        other => ToolError::Failure(format!("cannot read the workspace: {other}")),
    }
}

/// A package's library target, if it has one.
pub(crate) fn lib_target(p: &Package) -> Option<&cargo_metadata::Target> {
    p.targets.iter().find(|t| {
        t.kind
            .iter()
            .any(|k| matches!(k, TargetKind::Lib | TargetKind::RLib))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_of_a_cargo_error_is_kept_on_one_line() {
        let stderr = "warning: unused manifest key: foo\nerror: failed to load manifest for workspace member `/w/migration`\nreferenced by workspace at `/w/Cargo.toml`\n\nCaused by:\n  failed to read `/w/migration/Cargo.toml`\n\nCaused by:\n  No such file or directory (os error 2)\n";
        assert_eq!(
            cargo_error_line(stderr),
            "failed to load manifest for workspace member `/w/migration` referenced by workspace \
             at `/w/Cargo.toml`: failed to read `/w/migration/Cargo.toml`: No such file or \
             directory (os error 2)"
        );
        assert_eq!(cargo_error_line(""), "cargo metadata failed");
        assert_eq!(cargo_error_line("error: boom\n"), "boom");
    }
}
