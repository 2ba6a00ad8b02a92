//! The schema runner's process: a binary `cargo migrate` builds from the migration
//! crate and the application's entity crate (it writes its `main.rs`), for
//! `create --autogenerate` and `check --entities`. Its verbs:
//!
//! - `diff`: the entities against the migrations' schema at the head, with the code of
//!   a migration that makes the difference (JSON, read by `cargo migrate create`);
//! - `check`: the same as a verdict, exit 0 or 4 (`check --entities`);
//! - `check-revision ID`: a written revision replayed (JSON, read by `create`).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::args::GlobalArgs;
use crate::app::context::Context;
use crate::app::json::{AutogenJson, ChangeJson, EntityCheckJson, RevisionCheckJson};
use crate::app::progress::Progress;
use crate::app::run::execute;
use crate::engine::autogen::{EntityDiff, SchemaOptions};
use crate::engine::entities::EntityDef;
use crate::engine::runtime::Runtime;
use crate::engine::url::DbUrl;
use crate::error::{Error, exit};
use crate::model::codegen;
use crate::model::revision::Migrations;
use crate::model::schema_diff::Change;

#[derive(Debug, Parser)]
#[command(about = "Compare this crate's migrations with the application's SeaORM entities")]
struct SchemaCli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    schema: SchemaArgs,
    #[command(subcommand)]
    verb: SchemaVerb,
}

/// Where the schemas are built.
#[derive(Debug, Clone, Default, Args)]
pub struct SchemaArgs {
    /// An empty database to build the schemas in [default: a scratch database on the
    /// database's server, dropped after; SQLite: in memory]
    #[arg(
        long,
        value_name = "URL",
        env = "DEV_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub dev_url: Option<String>,
    /// Compare with this revision's schema [default: the single head]
    #[arg(long, value_name = "REV", global = true)]
    pub head: Option<String>,
}

#[derive(Debug, Subcommand)]
enum SchemaVerb {
    /// The difference and the migration code that makes it (JSON)
    Diff,
    /// Exit 0 if the entities match the migrations' schema, 4 with the differences
    Check,
    /// Replay a written revision: its up must build the entities' schema, its down its
    /// parents' (JSON)
    CheckRevision { id: String },
}

/// The entry point of the schema runner `cargo migrate` generates:
/// `cargo_migrate::schema_run::<migration::Migrator>(vec![cargo_migrate::entity::<entity::post::Entity>(), ...])`.
pub fn schema_run<M: Migrations>(entities: Vec<EntityDef>) -> ExitCode {
    let cli = SchemaCli::parse();
    execute(&cli.global, Runtime::of::<M>, async |rt, ctx| {
        let url = ctx.url()?;
        let opts = SchemaOptions {
            dev_url: cli
                .schema
                .dev_url
                .as_deref()
                .map(DbUrl::parse)
                .transpose()
                .map_err(|e| Error::Config(format!("--dev-url: {e}")))?,
            head: cli.schema.head.clone(),
        };
        let mut progress = Progress {
            out: ctx.out,
            ask: None,
            verbose: ctx.verbose,
        };
        match &cli.verb {
            SchemaVerb::Diff => {
                let found = rt
                    .entity_diff(&url, &entities, &opts, &mut progress)
                    .await?;
                ctx.out.object(autogen_json(&found));
                Ok(exit::OK)
            }
            SchemaVerb::Check => {
                let found = rt
                    .entity_diff(&url, &entities, &opts, &mut progress)
                    .await?;
                Ok(check(ctx, &found))
            }
            SchemaVerb::CheckRevision { id } => {
                let checked = rt
                    .check_revision(&url, &entities, id, &opts, &mut progress)
                    .await?;
                let code = if checked.passed() {
                    exit::OK
                } else {
                    exit::DRIFT
                };
                ctx.out.object(RevisionCheckJson {
                    revision: &checked.revision,
                    passed: checked.passed(),
                    after_up: described(&checked.after_up),
                    after_down: described(&checked.after_down),
                });
                Ok(code)
            }
        }
    })
}

fn autogen_json(found: &EntityDiff) -> AutogenJson<'_> {
    let code = codegen::generate(
        &found.current,
        &found.desired,
        found.dialect,
        &found.renames,
    );
    let (up, down, unexpressible) = match code {
        Ok(g) if !found.up.is_empty() => (Some(g.up), Some(g.down), None),
        Ok(_) => (None, None, None),
        Err(e) => (None, None, Some(e.what)),
    };
    AutogenJson {
        head: found.head.as_deref(),
        dialect: found.dialect,
        changes: described(&found.up),
        up,
        down,
        unexpressible,
    }
}

/// `check --entities`: the verdict on stdout, exit 0 or 4.
fn check(ctx: &Context, found: &EntityDiff) -> u8 {
    let code = if found.up.is_empty() {
        exit::OK
    } else {
        exit::DRIFT
    };
    let at = found
        .head
        .as_deref()
        .map_or("no migrations".to_owned(), |h| format!("`{h}`"));
    if ctx.out.json() {
        ctx.out.object(EntityCheckJson {
            status: if code == exit::OK { "match" } else { "changes" },
            exit_code: code,
            head: found.head.as_deref(),
            changes: described(&found.up),
        });
    } else if code == exit::OK {
        ctx.out.data(format!(
            "the entities match the schema the migrations build at {at}"
        ));
    } else {
        ctx.out.data(format!(
            "the entities have {} change{} that no migration makes (the migrations' schema at {at} \
             → the entities'):",
            found.up.len(),
            if found.up.len() == 1 { "" } else { "s" }
        ));
        for change in &found.up {
            ctx.out.data(format!("  {}", change.describe()));
        }
        ctx.out
            .note("write them with `cargo migrate create --autogenerate \"<message>\"`");
    }
    code
}

fn described(changes: &[Change]) -> Vec<ChangeJson<'_>> {
    changes
        .iter()
        .map(|change| ChangeJson {
            change,
            description: change.describe(),
            destructive: change.destructive(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        SchemaCli::command().debug_assert();
    }

    #[test]
    fn the_dev_url_never_comes_from_the_command_line_of_cargo_migrate() {
        let cli = SchemaCli::try_parse_from(["x", "check-revision", "m1", "--head", "m0"]).unwrap();
        assert!(matches!(cli.verb, SchemaVerb::CheckRevision { ref id } if id == "m1"));
        assert_eq!(cli.schema.head.as_deref(), Some("m0"));
    }
}
