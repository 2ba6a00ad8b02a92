//! The subcommand's one error type, mapped to the exit codes of the README in one place.

use std::path::{Path, PathBuf};

use crate::error::exit;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Bad input: arguments, configuration, a manifest or a template.
    #[error("{0}")]
    Usage(String),
    /// Something outside the input failed (a file could not be written, cargo is missing).
    #[error("{0}")]
    Failure(String),
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The migration crate did not compile; cargo has shown why.
    #[error("the migration crate `{0}` failed to build (cargo's errors are above)")]
    Build(String),
    /// The runtime's own error, for the checks the subcommand makes with its code.
    #[error(transparent)]
    Runtime(#[from] crate::error::Error),
}

impl ToolError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ToolError::Usage(_) => exit::USAGE,
            ToolError::Failure(_) | ToolError::Io { .. } => exit::FAILURE,
            ToolError::Build(_) => exit::BUILD_FAILED,
            ToolError::Runtime(e) => e.exit_code(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        ToolError::Usage(message.into())
    }

    pub(crate) fn io(
        action: &'static str,
        path: &Path,
    ) -> impl FnOnce(std::io::Error) -> ToolError {
        let path = path.to_path_buf();
        move |source| ToolError::Io {
            action,
            path,
            source,
        }
    }
}

pub type Result<T, E = ToolError> = std::result::Result<T, E>;
