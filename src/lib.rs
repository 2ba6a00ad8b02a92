//! cargo-migrate: Alembic's migration workflow for SeaORM, native to cargo.
//!
//! This library is the **runtime** a migration crate links: the revision graph, revision
//! specs, planning, the tracking table, the lock, transactions, and the verbs
//! `upgrade downgrade redo stamp history heads current status check show branches`.
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
//! subcommand (feature `cli`) builds that binary and forwards its verbs to it.

pub mod checksum;
pub mod cli;
pub mod confirm;
pub mod db;
pub mod error;
pub mod exec;
pub mod graph;
pub mod lexer;
pub mod lock;
pub mod output;
pub mod plan;
pub mod revision;
pub mod runtime;
pub mod spec;
pub mod sql;
#[cfg(feature = "cli")]
pub mod subcommand;
pub mod tracking;
pub mod verbs;

pub use cli::run;
pub use db::{Db, DbUrl};
pub use error::{Error, exit};
pub use revision::{Legacy, Migrations, Revision};
pub use runtime::{Runtime, State, WriteOptions};

/// Re-exported so migration crates and [`migrator!`] need no direct dependency.
pub use sea_orm_migration;

/// What a migration file needs: sea-orm-migration's prelude and schema helpers.
pub mod prelude {
    pub use sea_orm_migration::prelude::*;
    pub use sea_orm_migration::schema::*;

    pub use crate::sql::SqlFile;
    pub use crate::sql_file;
}
