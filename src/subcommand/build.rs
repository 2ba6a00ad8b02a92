//! `cargo migrate build`: the migration crate's binary (a sea-orm-cli crate's runner),
//! copied to a stable path. It holds every database verb and its migrations, so it runs
//! where there is no cargo and no source: a container, an init job.

use std::path::{Path, PathBuf};

use super::args::{BuildArgs, MigrateArgs};
use super::error::{Result, ToolError};
use super::forward;
use super::workspace::Workspace;
use super::{dburl, relative};
use crate::app::render::Output;

/// Builds the binary and copies it to `--out` or `default_out`; prints where.
pub fn build(args: &MigrateArgs, build: &BuildArgs, out: Output) -> Result<()> {
    let ws = Workspace::load(&args.cargo)?;
    let (krate, config) = ws.migration_crate(args.cargo.package.as_deref())?;
    // A runner is built for the crate's own backends and, if there is one, the URL's.
    let url = dburl::resolve(
        args.global.database_url.as_deref(),
        &ws.root,
        config.database_url.as_deref(),
    )?
    .map(|r| r.url);
    let binary = forward::build_binary(args, &ws, &krate, url.as_ref(), build.release)?;
    let to = match &build.out {
        Some(path) => std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.clone()),
        None => default_out(&ws.target_dir, build.release, &krate.name),
    };
    copy(&binary.path, &to)?;
    if out.json() {
        out.object(&serde_json::json!({"event": "built", "package": krate.name, "path": to}));
    } else {
        out.status("Built", format!("`{}` at {}", krate.name, relative(&to)));
        out.data(relative(&to));
    }
    Ok(())
}

/// `<target-dir>/<profile>/cargo-migrate/<crate>` (`.exe` on Windows).
pub fn default_out(target_dir: &Path, release: bool, name: &str) -> PathBuf {
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
