//! Paths as cargo reads them: its home directory, and a path given on its command line.

use std::path::{Path, PathBuf};

/// cargo's home directory: `$CARGO_HOME`, else `~/.cargo`.
pub(crate) fn home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".cargo")))
}

/// A path as cargo takes it on its command line or from its environment: relative to
/// the working directory (as it is, if there is none).
pub(crate) fn from_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}
