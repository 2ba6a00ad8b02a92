//! Zero-edit adoption of a sea-orm-cli migration crate: its binary is
//! sea-orm-migration's CLI, so a small runner crate under the target directory links
//! its `Migrator` with the runtime (`cargo_migrate::Legacy`, a chain in `migrations()`
//! order). The runner is its own workspace in the workspace's directory under the
//! target directory (`fresh::state_dir`), and its binary is named after the workspace
//! too, so projects sharing a target directory never run each other's runner. It shares
//! the target directory and starts from the workspace's `Cargo.lock`, so sea-orm is not
//! built twice and keeps the versions the workspace resolved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::backend::Backend;
use super::error::{Result, ToolError};
use super::runtime_dep;
use super::workspace::{MigrationCrate, Workspace};

pub(crate) struct Runner {
    /// The runner's directory: everything in it is generated.
    pub(crate) dir: PathBuf,
    pub(crate) manifest: PathBuf,
    pub(crate) lock: PathBuf,
    pub(crate) package: String,
    pub(crate) bin: String,
    /// The backends it is built for.
    pub(crate) backends: Vec<Backend>,
}

impl Runner {
    /// The runner's files a build reads besides its sources.
    pub(crate) fn files(&self) -> [PathBuf; 2] {
        [self.manifest.clone(), self.lock.clone()]
    }
}

/// Writes (or refreshes) the runner of `krate`; `url_backend` is the backend of the
/// database URL, enabled besides those the crate enables on sea-orm-migration.
pub(crate) fn prepare(
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
    let dir = ws.state_dir().join("runner").join(&krate.name);
    std::fs::create_dir_all(dir.join("src")).map_err(ToolError::io("create", &dir))?;
    let backends = backends(&krate.sea_orm_features, url_backend);
    let mut features: Vec<&str> = backends.iter().map(|b| b.feature()).collect();
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
    // cargo copies a binary to `target/<profile>/<bin>`, whoever builds it.
    let bin = format!(
        "{}-cargo-migrate-{}",
        krate.name,
        super::fresh::workspace_id(&ws.root)
    );
    let manifest = format!(
        "# Written by cargo-migrate: runs the sea-orm-cli crate `{name}` with cargo-migrate's verbs.\n\
         [package]\nname = \"cargo-migrate-runner\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [[bin]]\nname = \"{bin}\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nuser_migration = {user}\ncargo-migrate = {runtime}\n\n[workspace]\n{profiles}",
        name = krate.name,
        profiles = workspace_profiles(ws),
    );
    // The crate's migrations, told where their files are so a file that `lib.rs` does
    // not list (one side of a merge conflict kept) is named.
    let src = krate
        .lib
        .as_ref()
        .and_then(|(_, lib)| lib.parent())
        .map(|d| d.display().to_string());
    let main = format!(
        "{}\nfn main() -> std::process::ExitCode {{\n    cargo_migrate::run::<Crate>()\n}}\n",
        crate_impl(src.as_deref())
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&dir.join("src").join("main.rs"), &main)?;
    seed(&ws.root.join("Cargo.lock"), &dir)?;
    Ok(Runner {
        manifest: dir.join("Cargo.toml"),
        lock: dir.join("Cargo.lock"),
        dir,
        package: "cargo-migrate-runner".to_string(),
        bin,
        backends,
    })
}

/// A `Crate` implementing `cargo_migrate::Migrations` for the sea-orm-cli crate linked
/// as `user_migration`: a chain in `migrations()` order, told where its files are
/// (`src`) so a file that `lib.rs` does not list (one side of a merge conflict kept) is
/// named.
pub(crate) fn crate_impl(src: Option<&str>) -> String {
    format!(
        "type Listed = cargo_migrate::Legacy<user_migration::Migrator>;\n\n\
         struct Crate;\n\n\
         impl cargo_migrate::Migrations for Crate {{\n    \
         fn revisions() -> Vec<cargo_migrate::Revision> {{\n        <Listed as cargo_migrate::Migrations>::revisions()\n    }}\n\n    \
         fn table_name() -> String {{\n        <Listed as cargo_migrate::Migrations>::table_name()\n    }}\n\n    \
         fn source_dir() -> Option<&'static str> {{\n        {src:?}\n    }}\n}}\n"
    )
}

/// The workspace's `[profile]` tables, for a runner's manifest: built with the same
/// settings, the runner reuses what the workspace built (`[profile.dev.package."*"]`
/// alone changes every dependency's build).
pub(crate) fn workspace_profiles(ws: &Workspace) -> String {
    let Ok(text) = std::fs::read_to_string(&ws.root_manifest) else {
        return String::new();
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return String::new();
    };
    let Some(profile) = doc.get("profile").and_then(|p| p.as_table()) else {
        return String::new();
    };
    let mut only = toml_edit::DocumentMut::new();
    only.insert("profile", toml_edit::Item::Table(profile.clone()));
    format!("\n{only}")
}

/// Starts the runner's lock file from the workspace's, again whenever that one differs
/// from what it was started from (`cargo update`, another branch): cargo then keeps
/// every version it can and adds the runner's own packages.
pub(crate) fn seed(workspace_lock: &Path, dir: &Path) -> Result<()> {
    let Ok(lock) = std::fs::read(workspace_lock) else {
        return Ok(()); // none yet: cargo resolves
    };
    let runner_lock = dir.join("Cargo.lock");
    let seed = dir.join("Cargo.lock.seed");
    if runner_lock.is_file() && std::fs::read(&seed).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    std::fs::write(&runner_lock, &lock).map_err(ToolError::io("write", &runner_lock))?;
    std::fs::write(&seed, &lock).map_err(ToolError::io("write", &seed))
}

/// The packages of the workspace's lock file that the runner uses in other versions, as
/// `name 2.0.2 → 2.0.4` (what the runner alone uses is not compared).
pub(crate) fn moved(workspace_lock: &Path, runner_lock: &Path) -> Vec<String> {
    let (Some(theirs), Some(ours)) = (versions(workspace_lock), versions(runner_lock)) else {
        return Vec::new();
    };
    let list = |v: &BTreeSet<String>| v.iter().cloned().collect::<Vec<_>>().join(", ");
    theirs
        .iter()
        .filter_map(|(package, locked)| {
            let other: BTreeSet<String> = ours.get(package)?.difference(locked).cloned().collect();
            (!other.is_empty())
                .then(|| format!("{} {} → {}", package.0, list(locked), list(&other)))
        })
        .collect()
}

/// Each `(name, source)` of a lock file and its versions.
fn versions(lock: &Path) -> Option<BTreeMap<(String, String), BTreeSet<String>>> {
    let doc: toml_edit::DocumentMut = std::fs::read_to_string(lock).ok()?.parse().ok()?;
    let mut map: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for package in doc.get("package")?.as_array_of_tables()? {
        let field = |k: &str| package.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            continue;
        };
        map.entry((name, field("source").unwrap_or_default()))
            .or_default()
            .insert(version);
    }
    Some(map)
}

/// The runtime's backends for a crate's sea-orm features, plus the URL's.
pub(crate) fn backends(features: &[String], url_backend: Option<Backend>) -> Vec<Backend> {
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
pub(crate) fn write_if_changed(path: &Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(ToolError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(packages: &[(&str, &str)]) -> String {
        let mut text = String::from("version = 4\n");
        for (name, version) in packages {
            text.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            ));
        }
        text
    }

    #[test]
    fn versions_the_runner_moved_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (ws, runner) = (dir.path().join("ws.lock"), dir.path().join("runner.lock"));
        std::fs::write(
            &ws,
            lock(&[
                ("sea-orm", "2.0.2"),
                ("app-only", "1.0.0"),
                ("tokio", "1.47.0"),
            ]),
        )
        .unwrap();
        std::fs::write(
            &runner,
            lock(&[
                ("sea-orm", "2.0.4"),
                ("tokio", "1.47.0"),
                ("runner-only", "1.0.0"),
            ]),
        )
        .unwrap();
        assert_eq!(moved(&ws, &runner), vec!["sea-orm 2.0.2 → 2.0.4"]);
        std::fs::write(&runner, lock(&[("sea-orm", "2.0.2"), ("tokio", "1.47.0")])).unwrap();
        assert!(moved(&ws, &runner).is_empty());
    }

    #[test]
    fn the_runner_starts_again_from_a_changed_workspace_lock() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("Cargo.lock");
        let runner = dir.path().join("runner");
        std::fs::create_dir(&runner).unwrap();
        std::fs::write(&ws, "a").unwrap();
        seed(&ws, &runner).unwrap();
        // cargo adds the runner's packages: kept while the workspace's lock is unchanged
        std::fs::write(runner.join("Cargo.lock"), "a+runner").unwrap();
        seed(&ws, &runner).unwrap();
        assert_eq!(
            std::fs::read_to_string(runner.join("Cargo.lock")).unwrap(),
            "a+runner"
        );
        // another lock, even one older than the runner's (a checkout keeping times)
        std::fs::write(&ws, "b").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&ws)
            .unwrap()
            .set_modified(old)
            .unwrap();
        seed(&ws, &runner).unwrap();
        assert_eq!(
            std::fs::read_to_string(runner.join("Cargo.lock")).unwrap(),
            "b"
        );
    }

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
