//! Building the migration crate's binary (a sea-orm-cli crate's runner), for a
//! forwarded verb and for `cargo migrate build`, which copies it to a stable path. It
//! holds every database verb and its migrations, so it runs where there is no cargo and
//! no source: a container, an init job.

use std::path::{Path, PathBuf};

use crate::app::render::Output;
use crate::engine::url::DbUrl;

use super::args::{BuildArgs, CargoArgs, MigrateArgs};
use super::backend::Backend;
use super::error::{Result, ToolError};
use super::fresh::{self, Built};
use super::workspace::{Kind, MigrationCrate, Workspace};
use super::{cargo, compat, dburl, legacy, paths, report};

/// Builds the binary and copies it to `--out` or `default_out`; prints where.
pub(crate) fn build(args: &MigrateArgs, build: &BuildArgs, out: Output) -> Result<()> {
    let ws = Workspace::load(&args.cargo)?;
    let (krate, config) = super::pick::migration_crate(&ws, &args.cargo)?;
    // A runner is built for the crate's own backends and, if there is one, the URL's.
    let url = dburl::resolve(
        args.global.database_url.as_deref(),
        &ws.root,
        config.database_url.as_deref(),
    )?
    .map(|r| r.url);
    let binary = build_binary(args, &ws, &krate, url.as_ref(), build.release)?;
    let to = match &build.out {
        Some(path) => paths::from_cwd(path),
        None => default_out(&ws.target_dir, build.release, &krate.name),
    };
    copy(&binary.path, &to)?;
    report::built(out, &krate.name, &to);
    Ok(())
}

/// A built migration binary.
pub(crate) struct Binary {
    /// The file to run: kept in the workspace's own directory (see `fresh`), or
    /// cargo's copy if it could not be.
    pub(crate) path: PathBuf,
    pub(crate) built: Built,
    /// A sea-orm-cli crate's runner.
    pub(crate) runner: Option<legacy::Runner>,
    /// The runner uses other versions than the workspace's `Cargo.lock`.
    pub(crate) lock_moved: bool,
}

/// Builds the migration crate's binary (a sea-orm-cli crate's runner, built for the
/// URL's backend besides its own), in the release profile if `release`.
pub(crate) fn build_binary(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    url: Option<&DbUrl>,
    release: bool,
) -> Result<Binary> {
    let mut cargo_args = args.cargo.clone();
    let runner = match krate.kind {
        Kind::Runtime => None,
        Kind::Legacy => Some(prepare_runner(args, ws, krate, url, &mut cargo_args)?),
    };
    let (manifest, package, bin) = match &runner {
        Some(r) => (r.manifest.clone(), r.package.clone(), r.bin.clone()),
        None => (
            ws.root_manifest.clone(),
            krate.name.clone(),
            krate.bin.clone().unwrap_or_else(|| krate.name.clone()),
        ),
    };
    let target = Target {
        manifest: &manifest,
        package: &package,
        bin: &bin,
    };
    let (path, built) = build_owned(args, ws, &krate.name, &target, &cargo_args, release)?;
    let lock_moved = runner
        .as_ref()
        .is_some_and(|r| lock_moved(args, ws, krate, r));
    Ok(Binary {
        path,
        built,
        runner,
        lock_moved,
    })
}

/// A binary target of a package of the workspace at `manifest`.
pub(crate) struct Target<'a> {
    pub(crate) manifest: &'a Path,
    pub(crate) package: &'a str,
    pub(crate) bin: &'a str,
}

/// Builds `target` and keeps its binary in the workspace's own directory. A unit that
/// another workspace of the same layout built last (see `fresh::Owners`) may be taken
/// by cargo as fresh for this one: its package is cleaned and built again.
pub(crate) fn build_owned(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &str,
    target: &Target,
    cargo_args: &CargoArgs,
    release: bool,
) -> Result<(PathBuf, Built)> {
    let how = cargo::Build {
        color: cargo::color(args.global.color),
        quiet: args.global.quiet,
        release,
    };
    let Target {
        manifest,
        package,
        bin,
    } = *target;
    let cargo_build = || cargo::build(manifest, package, bin, &ws.target_dir, cargo_args, how);
    let noise = if args.global.verbose >= 2 {
        cargo::Noise::All
    } else {
        cargo::Noise::WhenCompiling
    };
    let cwd = manifest.parent().unwrap_or(&ws.root);
    let profile = if release { "release" } else { "debug" };
    let keep = ws
        .state_dir()
        .join(profile)
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let owners = fresh::Owners::lock(&ws.target_dir, &ws.root);
    let (mut path, mut built) = cargo::run_build(cargo_build(), krate, bin, noise, cwd, &keep)?;
    if let Some(owners) = &owners {
        let foreign = owners.foreign(&built);
        if !foreign.is_empty() {
            cargo::run_held(
                cargo::clean(manifest, &foreign, &ws.target_dir, cargo_args, how),
                krate,
            )?;
            (path, built) = cargo::run_build(cargo_build(), krate, bin, noise, cwd, &keep)?;
        }
        owners.claim(&built);
    }
    Ok((path, built))
}

/// Writes the runner of a sea-orm-cli crate. Its lock file is its own and grows by the
/// runner's packages, so cargo is not asked to keep it (`--locked`); with `--locked`
/// or `--frozen` the runner is resolved first and must keep the workspace's versions.
fn prepare_runner(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    url: Option<&DbUrl>,
    cargo_args: &mut CargoArgs,
) -> Result<legacy::Runner> {
    compat::check_sea_orm_migration(ws, krate)?;
    let runner = legacy::prepare(ws, krate, url.map(Backend::of))?;
    cargo_args.offline |= cargo_args.frozen;
    cargo_args.locked = false;
    cargo_args.frozen = false;
    if args.cargo.keeps_lock() {
        let color = cargo::color(args.global.color);
        cargo::run_held(
            cargo::fetch(&runner.manifest, cargo_args, color),
            &krate.name,
        )?;
        let moved = legacy::moved(&ws.root.join("Cargo.lock"), &runner.lock);
        if !moved.is_empty() {
            return Err(ToolError::usage(format!(
                "`--locked`: the runner of the sea-orm-cli crate `{}` needs other versions than \
                 the workspace's Cargo.lock ({}); update the workspace (`cargo update -p <name>`) \
                 so that they agree, or drop `--locked`",
                krate.name,
                moved.join(", ")
            )));
        }
    }
    Ok(runner)
}

/// Whether the runner uses other versions than the workspace's lock file (cargo-migrate
/// needs newer ones); says which.
fn lock_moved(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    runner: &legacy::Runner,
) -> bool {
    let moved = legacy::moved(&ws.root.join("Cargo.lock"), &runner.lock);
    if !moved.is_empty() {
        let out = Output {
            format: args.global.format,
            quiet: args.global.quiet,
        };
        out.warn(format!(
            "the runner of the sea-orm-cli crate `{}` uses other versions than the workspace's \
             Cargo.lock ({}), as cargo-migrate needs; `--locked` refuses this",
            krate.name,
            moved.join(", ")
        ));
    }
    !moved.is_empty()
}

/// `<target-dir>/<profile>/cargo-migrate/<crate>` (`.exe` on Windows).
pub(crate) fn default_out(target_dir: &Path, release: bool, name: &str) -> PathBuf {
    let profile = if release { "release" } else { "debug" };
    target_dir
        .join(profile)
        .join("cargo-migrate")
        .join(name)
        .with_extension(std::env::consts::EXE_EXTENSION)
}

/// Copies `from` to `to` through a temporary file beside it, so `to` is never half
/// written, and keeps it executable.
fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(ToolError::io("create", dir))?;
    }
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let tmp = to.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::copy(from, &tmp).map_err(ToolError::io("copy", from))?;
    std::fs::rename(&tmp, to).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ToolError::io("write", to)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_path_is_per_profile_and_crate() {
        let target = Path::new("/ws/target");
        let exe = |p: &str| PathBuf::from(p).with_extension(std::env::consts::EXE_EXTENSION);
        assert_eq!(
            default_out(target, false, "migration"),
            exe("/ws/target/debug/cargo-migrate/migration")
        );
        assert_eq!(
            default_out(target, true, "migration"),
            exe("/ws/target/release/cargo-migrate/migration")
        );
    }
}
