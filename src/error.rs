//! The runtime's one error type, and the one place errors become exit codes.

use crate::model::graph::GraphError;
use crate::model::plan::PlanError;
use crate::model::spec::SpecError;

/// Exit codes of the runtime and the subcommand (README, "Exit codes").
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A migration or database error.
    pub const FAILURE: u8 = 1;
    /// A usage error or bad input: unknown revision, malformed URL, refused plan.
    pub const USAGE: u8 = 2;
    /// `check`: migrations are pending.
    pub const PENDING: u8 = 3;
    /// `check`: several heads, or the database holds revisions the code does not know.
    pub const DRIFT: u8 = 4;
    /// The migration crate failed to build (the subcommand).
    pub const BUILD_FAILED: u8 = 101;
}

/// Everything the runtime's verbs can fail with; [`Error::exit_code`] maps each to an
/// exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The migration crate's revisions do not form a valid graph.
    #[error("the migration crate's revisions are inconsistent: {0}")]
    Graph(#[from] GraphError),
    /// A revision spec that does not parse or does not resolve.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A plan that cannot be made as asked.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Bad input or a request that cannot be carried out as asked.
    #[error("{0}")]
    Usage(String),
    /// No database URL anywhere, or one that cannot be used.
    #[error("{0}")]
    Config(String),
    /// Talking to the database failed (the message is already free of secrets).
    #[error("{0}")]
    Database(String),
    /// The user answered no to a confirmation: nothing was changed.
    #[error("cancelled: nothing was changed")]
    Cancelled,
    /// cargo-migrate's own code panicked: a bug.
    #[error(
        "cargo-migrate panicked at {location}: {message}; this is a bug in cargo-migrate \
         (RUST_BACKTRACE=1 prints the backtrace)"
    )]
    Panic {
        /// `file:line:column` of the panic.
        location: String,
        /// The panic's message.
        message: String,
    },
    /// A broken invariant of cargo-migrate's own code: a bug.
    #[error("internal error: {0}; this is a bug in cargo-migrate")]
    Internal(String),
    /// A migration's own code (or its DDL) failed.
    #[error("{direction} of `{id}` failed: {message}")]
    Migration {
        /// The migration's revision id.
        id: String,
        /// `upgrade` or `downgrade`.
        direction: &'static str,
        /// The database's message (free of secrets) and what it left behind.
        message: String,
    },
}

impl Error {
    /// The process exit code for this error ([`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Graph(_)
            | Error::Spec(_)
            | Error::Plan(_)
            | Error::Usage(_)
            | Error::Config(_) => exit::USAGE,
            Error::Database(_)
            | Error::Migration { .. }
            | Error::Panic { .. }
            | Error::Internal(_)
            | Error::Cancelled => exit::FAILURE,
        }
    }

    /// A [`Error::Usage`] with `message`.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }
}

/// A result whose error is the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
