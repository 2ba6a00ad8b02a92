//! The migration crate's files on disk, as a running binary sees them: the one place
//! the runtime reads its crate's source directory (the model reads nothing but a
//! migration's own SQL files, in a debug build).

use crate::model::revision::is_migration_module;

/// The migration files in `dir` (`<module>.rs`) that are not among `registered`
/// modules, sorted. A directory that cannot be read (a binary run away from its
/// sources) has none.
pub fn unregistered_files<'a>(
    dir: &str,
    registered: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let known: std::collections::HashSet<&str> = registered.into_iter().collect();
    let mut files: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| {
            name.strip_suffix(".rs")
                .is_some_and(|stem| is_migration_module(stem) && !known.contains(stem))
        })
        .collect();
    files.sort();
    files
}
