//! The subcommand's command line. cargo runs `cargo-migrate migrate <args>`; the
//! database verbs are the runtime's own (`crate::app::args::Verb`), so their flags and help
//! are identical to the migration binary's.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::args::{GlobalArgs, Verb};

use super::backend::Backend;

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = STYLES)]
pub(crate) enum CargoCli {
    Migrate(MigrateArgs),
}

#[derive(Debug, Clone, Args)]
#[command(
    version,
    about = "Alembic's migration workflow for SeaORM: revision graph, locks, one transaction per migration",
    after_help = "Database verbs build the migration crate (only when something changed) and run its binary \
                  with the same arguments; in production run that binary directly (`cargo migrate build` \
                  puts it at a stable path): `./migration upgrade head`.\n\
                  Revisions: `head`, `heads`, `base`, `current`, an id or a unique prefix of at least 4 \
                  characters, `+N`/`-N`, `<rev>+N`, `<rev>-N`, `head-N`.\n\
                  Exit codes: 0 ok, 1 migration or database error, 2 usage error or bad input, \
                  3 (`check`) pending migrations, 4 (`check`) several heads or unknown revisions, \
                  101 the migration crate failed to build.",
    subcommand_required = true,
    arg_required_else_help = true,
    mut_arg("database_url", |a| a.help(
        "Database URL [default: $DATABASE_URL, then DATABASE_URL in the workspace's .env, \
         then `database-url` in [workspace.metadata.migrate]]"
    )),
    mut_arg("database_schema", |a| a.help(
        "PostgreSQL schema to migrate, as sea-orm-migration's `-s` [default: \
         $DATABASE_SCHEMA, then DATABASE_SCHEMA in the workspace's .env, then `schema` in \
         [workspace.metadata.migrate]]"
    ))
)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(flatten)]
    pub(crate) cargo: CargoArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags that choose the workspace and the migration crate, and are passed to cargo.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cargo options")]
pub(crate) struct CargoArgs {
    /// Path to Cargo.toml (default: the one here or above)
    #[arg(long, value_name = "PATH", global = true)]
    pub(crate) manifest_path: Option<PathBuf>,
    /// The migration crate (default: configured, else the one workspace member that
    /// depends on cargo-migrate or sea-orm-migration)
    #[arg(short, long, value_name = "SPEC", global = true)]
    pub(crate) package: Option<String>,
    /// Run a database verb on every migration crate, in the order `sets` in
    /// [workspace.metadata.migrate] declares (`downgrade`: backwards)
    #[arg(long, global = true, conflicts_with = "package")]
    pub(crate) all: bool,
    /// Directory for build artifacts (default: the workspace's)
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) target_dir: Option<PathBuf>,
    /// Assert that Cargo.lock will remain unchanged
    #[arg(long, global = true)]
    pub(crate) locked: bool,
    /// Run without accessing the network
    #[arg(
        long,
        global = true,
        env = "CARGO_NET_OFFLINE",
        hide_env_values = true,
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub(crate) offline: bool,
    /// Equivalent to specifying both --locked and --offline
    #[arg(long, global = true)]
    pub(crate) frozen: bool,
}

impl CargoArgs {
    /// `--locked` or `--frozen`: the workspace's resolved versions must not change.
    pub(crate) fn keeps_lock(&self) -> bool {
        self.locked || self.frozen
    }
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Command {
    /// Add a migration crate to this workspace
    Init(InitArgs),
    /// Write a new migration from a template (no build, no database)
    #[command(visible_alias = "revision")]
    Create(CreateArgs),
    /// Write a revision that joins several heads into one
    Merge(MergeArgs),
    /// List the templates `create` can use, or copy the built-ins out to edit them
    Templates(TemplatesArgs),
    /// Build the standalone migration binary for production (no cargo or sources needed)
    Build(BuildArgs),
    #[command(flatten)]
    Db(Verb),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct InitArgs {
    /// Where to create the crate (default: `migration` at the workspace root; for a
    /// second migration crate, its `--name`)
    pub(crate) path: Option<PathBuf>,
    /// The crate's name (default: the directory's name)
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Backends to enable (default: those the workspace's sea-orm uses, else the
    /// database URL's, else sqlite)
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1..)]
    pub(crate) database: Vec<Backend>,
    /// Use the cargo-migrate runtime at this path instead of the published crate
    #[arg(long, value_name = "DIR", env = "CARGO_MIGRATE_RUNTIME_PATH")]
    pub(crate) runtime_path: Option<PathBuf>,
    /// The tracking table its binary records in [default: `table` in the configuration,
    /// else seaql_migrations; beside another migration crate, seaql_migrations_<name>]
    #[arg(long, value_name = "NAME")]
    pub(crate) table: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CreateArgs {
    /// What the migration does, in words; it names the file
    #[arg(value_name = "MESSAGE")]
    pub(crate) message: String,
    /// The template to write it from (see `cargo migrate templates`) [default: default;
    /// autogenerate with --autogenerate]
    #[arg(short, long)]
    pub(crate) template: Option<String>,
    /// Branch from this revision instead of the single head
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub(crate) head: Option<String>,
    /// Write the body from the difference between the application's SeaORM entities and
    /// the migrations' schema, checked by replay before it is written
    #[arg(long)]
    pub(crate) autogenerate: bool,
    /// With --autogenerate: an empty database to build the schemas in [default: a
    /// scratch database on the database's server, dropped after; SQLite: in memory]
    #[arg(
        long,
        value_name = "URL",
        env = "DEV_DATABASE_URL",
        hide_env_values = true,
        requires = "autogenerate"
    )]
    pub(crate) dev_url: Option<String>,
}

impl CreateArgs {
    /// The template asked for, or the one for this kind of revision.
    pub(crate) fn template(&self) -> &str {
        match &self.template {
            Some(t) => t,
            None if self.autogenerate => "autogenerate",
            None => "default",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct MergeArgs {
    /// The revisions to join (default: all heads)
    #[arg(value_name = "REV", allow_negative_numbers = true)]
    pub(crate) revisions: Vec<String>,
    /// What the merge is for
    #[arg(short, long, default_value = "merge heads")]
    pub(crate) message: String,
    /// The template to write it from
    #[arg(short, long, default_value = "empty")]
    pub(crate) template: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct BuildArgs {
    /// Build with the release profile, as production should (a debug build reads `sql`
    /// migrations' files from the sources)
    #[arg(short, long)]
    pub(crate) release: bool,
    /// Where to put the binary [default: <target-dir>/<profile>/cargo-migrate/<crate>]
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TemplatesArgs {
    #[command(subcommand)]
    pub(crate) action: Option<TemplatesAction>,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum TemplatesAction {
    /// List the templates (the default)
    List,
    /// Copy built-in templates to the template directory to edit them there
    Eject {
        /// Which ones (default: all)
        names: Vec<String>,
        /// Where to (default: the configured template directory, else
        /// `<migration crate>/templates`)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// cargo's own help colours.
const STYLES: clap::builder::Styles = {
    use clap::builder::styling::{AnsiColor, Effects};
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .usage(AnsiColor::Green.on_default().effects(Effects::BOLD))
        .literal(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
        .placeholder(AnsiColor::Cyan.on_default())
        .error(AnsiColor::Red.on_default().effects(Effects::BOLD))
        .valid(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
        .invalid(AnsiColor::Yellow.on_default().effects(Effects::BOLD))
};

/// The arguments as clap sees them: `cargo-migrate migrate <args>` from cargo, or
/// `cargo-migrate <args>` run directly.
pub(crate) fn normalize(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if argv.get(1).is_none_or(|a| a != "migrate") {
        argv.insert(1.min(argv.len()), "migrate".into());
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        CargoCli::command().debug_assert();
    }

    #[test]
    fn it_runs_as_cargo_migrate_and_as_cargo_dash_migrate() {
        for argv in [
            vec!["cargo-migrate", "migrate", "heads"],
            vec!["cargo-migrate", "heads"],
        ] {
            let argv = normalize(argv.into_iter().map(Into::into).collect());
            let CargoCli::Migrate(args) = CargoCli::try_parse_from(argv).unwrap();
            assert!(matches!(args.command, Command::Db(Verb::Heads)));
        }
    }

    #[test]
    fn cargo_flags_go_anywhere() {
        let argv = normalize(
            [
                "cargo-migrate",
                "migrate",
                "upgrade",
                "-p",
                "mig",
                "--locked",
                "head",
            ]
            .into_iter()
            .map(Into::into)
            .collect(),
        );
        let CargoCli::Migrate(args) = CargoCli::try_parse_from(argv).unwrap();
        assert_eq!(args.cargo.package.as_deref(), Some("mig"));
        assert!(args.cargo.locked);
    }
}
