//! The model: what migrations are and how they relate, with no database, no command line
//! and no terminal (Alembic's `script/`). The revision graph, revision specs and how they
//! resolve, plans, checksums, the small Rust lexer the checksums and the subcommand use,
//! and the definitions a migration crate is made of (`Revision`, `Migrations`, `Legacy`,
//! SQL files, the registration macros). Its only I/O is a debug build reading a
//! migration's own SQL files.

pub mod checksum;
pub mod codegen;
pub mod ddl;
pub mod graph;
pub mod lexer;
pub mod messages;
pub mod plan;
pub mod revision;
pub mod schema;
pub mod schema_diff;
pub mod server;
pub mod spec;
pub mod sql;
#[cfg(test)]
pub(crate) mod testing;
