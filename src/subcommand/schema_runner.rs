//! The schema runner: a small crate under the target directory that links the
//! migration crate and the application's entity crate with the runtime, for
//! `create --autogenerate` and `check --entities` (its verbs are in
//! `app::schema_run`). Like a sea-orm-cli crate's runner (`legacy`), it is its own
//! workspace in the workspace's state directory, shares the target directory and
//! starts from the workspace's `Cargo.lock`, so sea-orm is not built again; its binary
//! is named after the workspace, so projects sharing a target directory never run
//! each other's.

use std::path::PathBuf;

use crate::engine::url::DbUrl;

use super::args::MigrateArgs;
use super::backend::Backend;
use super::build::{Target, build_owned};
use super::compat;
use super::entities::EntityCrate;
use super::error::{Result, ToolError};
use super::legacy::{backends, crate_impl, seed, workspace_profiles, write_if_changed};
use super::runtime_dep;
use super::workspace::{Kind, MigrationCrate, Workspace};

/// A written schema runner.
pub(crate) struct SchemaRunner {
    pub(crate) manifest: PathBuf,
    pub(crate) package: String,
    pub(crate) bin: String,
}

/// Builds the schema runner of `krate` and `entities` (see `schema_runner`) and returns
/// its binary. Its lock file grows by the runner's packages, as a sea-orm-cli crate's
/// runner's does.
pub(crate) fn build(
    args: &MigrateArgs,
    ws: &Workspace,
    krate: &MigrationCrate,
    entities: &EntityCrate,
    url: Option<&DbUrl>,
) -> Result<PathBuf> {
    if krate.kind == Kind::Legacy {
        compat::check_sea_orm_migration(ws, krate)?;
    }
    let runner = prepare(ws, krate, entities, url.map(Backend::of))?;
    let mut cargo_args = args.cargo.clone();
    cargo_args.offline |= cargo_args.frozen;
    cargo_args.locked = false;
    cargo_args.frozen = false;
    let target = Target {
        manifest: &runner.manifest,
        package: &runner.package,
        bin: &runner.bin,
    };
    let (path, _) = build_owned(args, ws, &krate.name, &target, &cargo_args, false)?;
    Ok(path)
}

/// Writes (or refreshes) the schema runner of `krate` and `entities`, built for the
/// backends the crate enables plus `url_backend`.
pub(crate) fn prepare(
    ws: &Workspace,
    krate: &MigrationCrate,
    entities: &EntityCrate,
    url_backend: Option<Backend>,
) -> Result<SchemaRunner> {
    if krate.lib.is_none() {
        return Err(ToolError::usage(format!(
            "the migration crate `{}` has no library target: autogenerate links its migrations \
             as a library (src/lib.rs)",
            krate.name
        )));
    }
    let dir = ws.state_dir().join("schema").join(&krate.name);
    std::fs::create_dir_all(dir.join("src")).map_err(ToolError::io("create", &dir))?;
    let mut features: Vec<&str> = backends(&krate.sea_orm_features, url_backend)
        .iter()
        .map(|b| b.feature())
        .collect();
    if features.is_empty() {
        features.extend(url_backend.map(|b| b.feature()));
    }
    let runtime = runtime_dep::spec(
        std::env::var_os("CARGO_MIGRATE_RUNTIME_PATH")
            .map(PathBuf::from)
            .as_deref(),
        &features,
    );
    let dependency = |package: &str, dir: &std::path::Path| {
        let mut t = toml_edit::InlineTable::new();
        t.insert("package", package.into());
        t.insert("path", dir.display().to_string().into());
        t
    };
    let user = dependency(&krate.name, &krate.dir);
    let entity = dependency(&entities.package, &entities.manifest_dir);
    let bin = format!(
        "{}-cargo-migrate-schema-{}",
        krate.name,
        super::fresh::workspace_id(&ws.root)
    );
    let manifest = format!(
        "# Written by cargo-migrate: compares the migrations of `{name}` with the entities of `{entity_name}`.\n\
         [package]\nname = \"cargo-migrate-schema\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [[bin]]\nname = \"{bin}\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nuser_migration = {user}\nuser_entity = {entity}\ncargo-migrate = {runtime}\n\n[workspace]\n{profiles}",
        name = krate.name,
        entity_name = entities.package,
        profiles = workspace_profiles(ws),
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&dir.join("src").join("main.rs"), &main_rs(krate, entities))?;
    seed(&ws.root.join("Cargo.lock"), &dir)?;
    Ok(SchemaRunner {
        manifest: dir.join("Cargo.toml"),
        package: "cargo-migrate-schema".to_string(),
        bin,
    })
}

/// The runner's `main.rs`: the crate's migrations and every entity of `entities`.
fn main_rs(krate: &MigrationCrate, entities: &EntityCrate) -> String {
    let (prelude, migrations) = match krate.kind {
        Kind::Runtime => (String::new(), "user_migration::Migrator"),
        Kind::Legacy => {
            let src = krate
                .lib
                .as_ref()
                .and_then(|(_, lib)| lib.parent())
                .map(|d| d.display().to_string());
            (format!("{}\n", crate_impl(src.as_deref())), "Crate")
        }
    };
    let list: String = entities
        .modules
        .iter()
        .map(|m| format!("        cargo_migrate::entity::<user_entity::{m}::Entity>(),\n"))
        .collect();
    format!(
        "// Written by cargo-migrate for `create --autogenerate` and `check --entities`.\n\n\
         {prelude}fn main() -> std::process::ExitCode {{\n    \
         cargo_migrate::schema_run::<{migrations}>(vec![\n{list}    ])\n}}\n"
    )
}
