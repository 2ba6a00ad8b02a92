//! Which sea-orm-migration an adopted crate is built on, found before anything is
//! built: the runner links the crate's `Migrator` with cargo-migrate's runtime, which
//! implements sea-orm-migration 2's traits, so a crate on 1.x would fail deep inside a
//! generated file after a long build. It is named in one line instead.

use cargo_metadata::semver::{Version, VersionReq};

use super::error::{Result, ToolError};
use super::report::relative;
use super::workspace::{MigrationCrate, SEA_ORM_MIGRATION, Workspace};

/// The major version of sea-orm-migration the runtime implements.
pub(crate) const SUPPORTED_MAJOR: u64 = 2;

/// Refuses an adopted crate whose sea-orm-migration is not the supported major
/// version: the version in the workspace's `Cargo.lock` when it has one, else the
/// requirement in the crate's manifest when no supported version can match it.
pub(crate) fn check_sea_orm_migration(ws: &Workspace, krate: &MigrationCrate) -> Result<()> {
    let lock = std::fs::read_to_string(ws.root.join("Cargo.lock")).ok();
    let locked = lock
        .as_deref()
        .and_then(|text| locked_version(text, &krate.name));
    let found = match locked {
        Some(version) if version.major == SUPPORTED_MAJOR => return Ok(()),
        Some(version) => format!("sea-orm-migration {version} (in Cargo.lock)"),
        None => {
            let req = ws
                .members()
                .into_iter()
                .find(|p| p.name.as_str() == krate.name)
                .and_then(|p| {
                    p.dependencies
                        .iter()
                        .find(|d| d.name == SEA_ORM_MIGRATION)
                        .map(|d| d.req.clone())
                });
            match req {
                Some(req) if !admits_supported(&req) => {
                    format!("sea-orm-migration `{req}` (in its Cargo.toml)")
                }
                _ => return Ok(()),
            }
        }
    };
    Err(ToolError::usage(format!(
        "`{name}` is built on {found}, and cargo migrate runs crates on sea-orm-migration \
         {SUPPORTED_MAJOR}.x; move it to {SUPPORTED_MAJOR}.x (`sea-orm-migration = \"{SUPPORTED_MAJOR}\"` \
         in {manifest}, see sea-orm's upgrade notes), or keep running it with `cargo run -p {name}`",
        name = krate.name,
        manifest = relative(&krate.manifest),
    )))
}

/// Whether some supported version satisfies the requirement.
fn admits_supported(req: &VersionReq) -> bool {
    [(0, 0), (0, 4), (0, 99), (1, 0), (5, 0), (99, 0)]
        .into_iter()
        .any(|(minor, patch)| req.matches(&Version::new(SUPPORTED_MAJOR, minor, patch)))
}

/// The sea-orm-migration version `package` resolves to in a `Cargo.lock`: the one its
/// entry names (`"sea-orm-migration 1.1.0"` when several are locked), else the only one.
fn locked_version(lock: &str, package: &str) -> Option<Version> {
    let doc: toml_edit::DocumentMut = lock.parse().ok()?;
    let packages = doc.get("package")?.as_array_of_tables()?;
    let versions: Vec<Version> = packages
        .iter()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(SEA_ORM_MIGRATION))
        .filter_map(|p| p.get("version")?.as_str()?.parse().ok())
        .collect();
    let named = packages
        .iter()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(package))
        .flat_map(|p| {
            p.get("dependencies")
                .and_then(|d| d.as_array())
                .into_iter()
                .flat_map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)))
                .collect::<Vec<_>>()
        })
        .find_map(|dep| {
            let mut words = dep.split(' ');
            (words.next() == Some(SEA_ORM_MIGRATION)).then(|| words.next().map(str::to_string))
        })?;
    match named {
        Some(version) => version.parse().ok(),
        None if versions.len() == 1 => versions.into_iter().next(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "migration"
version = "0.1.0"
dependencies = [
 "async-std",
 "sea-orm-migration",
]

[[package]]
name = "sea-orm-migration"
version = "1.1.14"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn the_locked_version_of_the_crate_is_found() {
        assert_eq!(
            locked_version(LOCK, "migration"),
            Some(Version::new(1, 1, 14))
        );
        assert_eq!(locked_version(LOCK, "other"), None);
        let two = LOCK.replace(
            "\"sea-orm-migration\",\n]",
            "\"sea-orm-migration 2.0.4\",\n]\n\n[[package]]\nname = \"sea-orm-migration\"\nversion = \"2.0.4\"",
        );
        assert_eq!(
            locked_version(&two, "migration"),
            Some(Version::new(2, 0, 4))
        );
        assert_eq!(locked_version("not toml [", "migration"), None);
    }

    #[test]
    fn requirements_that_admit_no_supported_version_are_found() {
        for (req, ok) in [
            ("1.1.0", false),
            ("^1", false),
            ("~0.12", false),
            ("2", true),
            ("2.0.0-rc.5", true),
            ("^2.0.4", true),
            (">=1", true),
            ("*", true),
        ] {
            assert_eq!(admits_supported(&req.parse().unwrap()), ok, "{req}");
        }
    }
}
