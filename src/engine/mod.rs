//! The engine: the database (Alembic's `runtime/`). Database URLs and where they come
//! from, connections, the migration files beside the crate's sources, the tracking
//! tables, the migration lock, one migration step in its transaction, and
//! [`runtime::Runtime`], which plans a verb from the model under the lock and runs it.
//! No command line and no printing: what a caller sees goes through the
//! [`runtime::Observer`] it passes.

pub mod autogen;
pub mod borrowed;
pub mod connect;
pub mod dry_run;
pub mod entities;
pub mod files;
pub mod inspect;
pub mod lock;
pub mod lock_advisory;
pub mod lock_file;
pub mod lock_table;
pub mod offline;
pub mod resolve;
pub mod runtime;
pub mod scratch;
pub mod script;
pub mod server;
pub mod simple;
pub mod status;
pub mod step;
pub mod tracking;
pub mod url;
pub mod verify;
