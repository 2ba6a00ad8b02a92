//! cargo-migrate: Alembic's migration workflow for SeaORM, native to cargo.
//!
//! This library is the **runtime** a migration crate links: the revision graph, revision
//! specs, planning, the tracking table, the lock, transactions, and the verbs
//! `upgrade downgrade redo stamp rehash history heads current status check show branches`.
//! A migration crate's `main.rs` is one line:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     cargo_migrate::run::<migrations::Migrator>()
//! }
//! ```
//!
//! and its `lib.rs` is `cargo_migrate::discover!();`: the crate's `build.rs` finds the
//! migration files (see [`discover!`], [`register!`] and [`migrator!`]). The `cargo migrate`
//! subcommand (feature `cli`) builds that binary and forwards its verbs to it. An
//! application that migrates itself at start calls [`upgrade`] on its own connection
//! (the same lock, transactions and refusals as the binary; one query when already at
//! head), answers readiness probes with [`status`] / [`health`], and with the feature
//! `axum` mounts the admin endpoints of [`http`]. [`Runtime`] with an [`Observer`] gives
//! every verb; [`Runtime::script`] writes a plan's SQL script without a database, and
//! [`Runtime::dry_run`] runs the plan and takes it back.
//!
//! # Layers
//!
//! The code reads bottom-up; a module imports only from its own layer or the ones below
//! it, and no layer has an import cycle (`tests/architecture.rs` checks both):
//!
//! 1. `text`: one-line messages and timestamps, for every layer.
//! 2. `model`: the revision graph, specs, plans, checksums, the lexer, and the
//!    definitions a migration crate is made of. No database, no command line.
//! 3. `error`: [`Error`] and the exit codes ([`exit`]).
//! 4. `engine`: URLs, connections, the tracking tables, the lock, one step, and the
//!    [`Runtime`] that runs a verb under the lock. No command line, no printing.
//! 5. `embed`: migrating from inside an application: [`upgrade`], [`status`],
//!    [`health`] and the axum handlers ([`http`], feature `axum`).
//! 6. `app`: the migration binary: arguments, the context resolved from them once, the
//!    verbs' handlers, confirmation, progress and rendering ([`run`]).
//! 7. `subcommand` (feature `cli`): `cargo migrate`, which finds the migration crate,
//!    scaffolds migrations, builds the binary and forwards the verb to it.
//!
//! `ARCHITECTURE.md` follows a verb from `cargo migrate upgrade head` to the database.

#![warn(missing_docs)]

mod app;
mod embed;
mod engine;
mod error;
mod model;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod subcommand;
mod text;

pub use app::run::run;
pub use app::schema_run::schema_run;
#[cfg(feature = "axum")]
pub use embed::http;
pub use embed::start::{Report, Upgrade, health, status, upgrade};
pub use engine::autogen::{EntityDiff, RevisionCheck, SchemaOptions};
pub use engine::connect::{Db, DbOptions};
pub use engine::dry_run::{DryGoal, DryRun, DryRunOptions, Method};
pub use engine::entities::{EntityDef, entity};
pub use engine::runtime::{Change, Observer, Quiet, Runtime, StampOutcome, State, WriteOptions};
pub use engine::script::{Action, Goal, Script, ScriptStep, Start};
pub use engine::status::{
    AppliedRecord, FailureInfo, Health, RevisionInfo, RevisionState, Status, Verdict,
};
pub use engine::step::{Direction, DryStep, StepOutcome};
pub use engine::tracking::{AppliedRow, Failure, MetaRow, Recorded};
pub use engine::url::DbUrl;
pub use engine::verify::{Verification, VerifyOptions};
pub use error::{Error, Result, exit};
pub use model::graph::{Graph, GraphError};
pub use model::revision::{Legacy, Migrations, Revision};
pub use model::schema::{Column, Dialect, FkAction, ForeignKey, Index, Schema, Table};
pub use model::schema_diff::Change as SchemaChange;
pub use model::server::LockStrategy;
pub use model::spec::{AsSpec, RangeSpec, Resolver, Spec, SpecError};

/// Re-exported so migration crates and [`migrator!`] need no direct dependency.
pub use sea_orm_migration;

/// What a migration file needs: sea-orm-migration's prelude and schema helpers.
pub mod prelude {
    pub use sea_orm_migration::prelude::*;
    pub use sea_orm_migration::schema::*;

    pub use crate::model::sql::SqlFile;
    pub use crate::sql_file;
}

/// Not API: what the macros expand to, and the internals this crate's own tests and
/// benchmarks exercise. Anything here may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::engine::lock::Lock;
    pub use crate::engine::lock_table::{TableLock, TableLockOptions};
    pub use crate::model::graph::ids;
    pub use crate::model::revision::{Parts, is_migration_module};
    pub use crate::model::sql::{NoSqlFiles, SqlFile};
    pub use crate::model::{graph, lexer, spec};
    pub use crate::text::timestamp;
    pub use crate::{engine::server::detect as detect_server, model::server};
}
