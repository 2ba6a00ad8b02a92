//! Zero-edit adoption of a sea-orm-cli migration crate: its binary is
//! sea-orm-migration's CLI, so a small runner crate under the target directory links
//! its `Migrator` with the runtime (`cargo_migrate::Legacy`, a chain in `migrations()`
//! order). The runner is its own workspace, shares the target directory and starts
//! from the user's `Cargo.lock`, so sea-orm is not built twice.

use std::path::{Path, PathBuf};

use super::args::Backend;
use super::error::{Result, ToolError};
use super::runtime_dep;
use super::workspace::{MigrationCrate, Workspace};

pub struct Runner {
    pub manifest: PathBuf,
    pub package: String,
    pub bin: String,
}

/// Writes (or refreshes) the runner of `krate`; `url_backend` is the backend of the
/// database URL, enabled besides those the crate enables on sea-orm-migration.
pub fn prepare(
    ws: &Workspace,
    krate: &MigrationCrate,
    url_backend: Option<Backend>,
) -> Result<Runner> {
    krate.lib.as_ref().ok_or_else(|| {
        ToolError::usage(format!(
            "the sea-orm-migration crate `{}` has no library target with its `Migrator`",
            krate.name
        ))
    })?;
    let dir = ws
        .target_dir
        .join("cargo-migrate")
        .join("runner")
        .join(&krate.name);
    std::fs::create_dir_all(dir.join("src")).map_err(ToolError::io("create", &dir))?;
    let mut features: Vec<&str> = backends(&krate.sea_orm_features, url_backend)
        .into_iter()
        .map(Backend::feature)
        .collect();
    features.push("prompt");
    let runtime = runtime_dep::spec(
        std::env::var_os("CARGO_MIGRATE_RUNTIME_PATH")
            .map(PathBuf::from)
            .as_deref(),
        &features,
    );
    let mut user = toml_edit::InlineTable::new();
    user.insert("package", krate.name.as_str().into());
    user.insert("path", krate.dir.display().to_string().into());
    let bin = format!("{}-cargo-migrate", krate.name);
    let manifest = format!(
        "# Written by cargo-migrate: runs the sea-orm-cli crate `{name}` with cargo-migrate's verbs.\n\
         [package]\nname = \"cargo-migrate-runner\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [[bin]]\nname = \"{bin}\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nuser_migration = {user}\ncargo-migrate = {runtime}\n\n[workspace]\n",
        name = krate.name,
    );
    // The crate's migrations, told where their files are so a file that `lib.rs` does
    // not list (one side of a merge conflict kept) is named.
    let src = krate
        .lib
        .as_ref()
        .and_then(|(_, lib)| lib.parent())
        .map(|d| d.display().to_string());
    let main = format!(
        "type Listed = cargo_migrate::Legacy<user_migration::Migrator>;\n\n\
         struct Crate;\n\n\
         impl cargo_migrate::Migrations for Crate {{\n    \
         fn revisions() -> Vec<cargo_migrate::Revision> {{\n        <Listed as cargo_migrate::Migrations>::revisions()\n    }}\n\n    \
         fn table_name() -> String {{\n        <Listed as cargo_migrate::Migrations>::table_name()\n    }}\n\n    \
         fn source_dir() -> Option<&'static str> {{\n        {src:?}\n    }}\n}}\n\n\
         fn main() -> std::process::ExitCode {{\n    cargo_migrate::run::<Crate>()\n}}\n"
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&dir.join("src").join("main.rs"), &main)?;
    let lock = ws.root.join("Cargo.lock");
    let runner_lock = dir.join("Cargo.lock");
    // Start from the user's versions, again whenever they change (`cargo update`).
    let newer = |a: &Path, b: &Path| {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        modified(a) > modified(b)
    };
    if lock.is_file() && (!runner_lock.exists() || newer(&lock, &runner_lock)) {
        std::fs::copy(&lock, &runner_lock).map_err(ToolError::io("copy", &lock))?;
    }
    Ok(Runner {
        manifest: dir.join("Cargo.toml"),
        package: "cargo-migrate-runner".to_string(),
        bin,
    })
}

/// The runtime's backends for a crate's sea-orm features, plus the URL's.
fn backends(features: &[String], url_backend: Option<Backend>) -> Vec<Backend> {
    let mut out: Vec<Backend> = features
        .iter()
        .flat_map(|f| Backend::of_sea_orm_feature(f).iter().copied())
        .collect();
    out.extend(url_backend);
    out.sort();
    out.dedup();
    out
}

/// Writes only when the text differs, so an unchanged runner stays fresh for cargo.
fn write_if_changed(path: &Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(ToolError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_come_from_sea_orm_features_and_the_url() {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            backends(
                &f(&["runtime-tokio-rustls", "sqlx-postgres"]),
                Some(Backend::Sqlite)
            ),
            vec![Backend::Sqlite, Backend::Postgres]
        );
        assert_eq!(backends(&f(&["sqlx-all"]), None).len(), 3);
        assert!(backends(&f(&[]), None).is_empty());
    }
}
