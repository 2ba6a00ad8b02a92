//! SQL files beside a migration module (what the `sql` template writes): compiled into
//! release builds, so the standalone binary needs no files, and read from disk by debug
//! builds, so editing `up.sql` and running `cargo migrate redo` rebuilds nothing (the file
//! is not among the build's inputs). Either way the migration's checksum covers the
//! files' text, so an applied migration whose SQL was edited shows up in `check`.
//!
//! ```ignore
//! const UP: SqlFile = sql_file!("m20261122_101500_add_posts/up.sql");
//! const DOWN: SqlFile = sql_file!("m20261122_101500_add_posts/down.sql");
//!
//! impl Migration {
//!     /// Part of the migration's checksum.
//!     pub const SQL_FILES: &'static [SqlFile] = &[UP, DOWN];
//! }
//! // and in `up`: `UP.run(manager).await`
//! ```
//!
//! `register!` reads `Migration::SQL_FILES`; a module that declares none has none (the
//! inherent constant wins over [`NoSqlFiles`]'s, which every type has).

use std::borrow::Cow;

use sea_orm_migration::SchemaManager;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};

/// One SQL file of a migration.
#[derive(Debug, Clone, Copy)]
pub struct SqlFile {
    /// As written in `sql_file!`: relative to the migration module's directory.
    path: &'static str,
    /// Where a debug build reads it.
    disk: &'static str,
    /// The text compiled in (release builds).
    compiled: Option<&'static str>,
}

impl SqlFile {
    #[doc(hidden)]
    pub const fn new(
        path: &'static str,
        disk: &'static str,
        compiled: Option<&'static str>,
    ) -> Self {
        SqlFile {
            path,
            disk,
            compiled,
        }
    }

    /// The path as written in `sql_file!`, relative to the module's directory.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The file's text: compiled in, or read from disk by a debug build.
    pub fn text(&self) -> Result<Cow<'static, str>, DbErr> {
        match self.compiled {
            Some(text) => Ok(Cow::Borrowed(text)),
            None => std::fs::read_to_string(self.disk)
                .map(Cow::Owned)
                .map_err(|e| {
                    DbErr::Custom(format!(
                        "cannot read {}: {e} (a debug build reads its SQL files from the \
                         source tree; build with `--release` for a binary that carries them)",
                        self.disk
                    ))
                }),
        }
    }

    /// Runs the file's statements in one call; a file of nothing but comments and
    /// blank lines does nothing.
    pub async fn run(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let sql = self.text()?;
        if has_statements(&sql) {
            note_unprepared(&sql);
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// Where the statements a connection sends are written down while they are recorded (a
/// dry run): `None` while not recording.
pub type Sink = std::sync::Arc<std::sync::Mutex<Option<Vec<String>>>>;

tokio::task_local! {
    /// The sink of the step running in this task: SQL files are sent as they are, past
    /// the statement hook the connection records the others with.
    static RECORDING: Sink;
}

/// Writes down `sql`, about to be sent unprepared (which the connection's statement
/// hook does not see), if this task is recording.
pub fn note_unprepared(sql: &str) {
    let _ = RECORDING.try_with(|sink| {
        if let Ok(mut sink) = sink.lock()
            && let Some(lines) = sink.as_mut()
        {
            lines.push(sql.trim().trim_end_matches(';').trim_end().to_string());
        }
    });
}

/// Runs `fut` with the SQL files it runs written down in `sink`.
pub async fn recording<F: std::future::Future>(sink: Sink, fut: F) -> F::Output {
    RECORDING.scope(sink, fut).await
}

/// Whether a script holds anything but `--` comments and blank lines.
pub fn has_statements(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .any(|line| !line.is_empty() && !line.starts_with("--"))
}

/// The SQL files of a migration that declares none: `register!` brings this into scope,
/// so `Migration::SQL_FILES` is the module's own constant where it declares one, and
/// this empty list otherwise (a constant, so no code per migration is compiled).
#[doc(hidden)]
pub trait NoSqlFiles {
    const SQL_FILES: &'static [SqlFile] = &[];
}

impl<T> NoSqlFiles for T {}

/// A [`SqlFile`] at `path`, relative to the migration module's directory (the crate's
/// `src/`): compiled in when `debug_assertions` are off (release builds), read from
/// `<crate>/src/<path>` at run time otherwise.
#[macro_export]
macro_rules! sql_file {
    ($path:literal) => {{
        #[cfg(debug_assertions)]
        const COMPILED: ::core::option::Option<&str> = ::core::option::Option::None;
        #[cfg(not(debug_assertions))]
        const COMPILED: ::core::option::Option<&str> =
            ::core::option::Option::Some(include_str!($path));
        $crate::__private::SqlFile::new(
            $path,
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/", $path),
            COMPILED,
        )
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    struct WithSql;
    impl WithSql {
        const SQL_FILES: &'static [SqlFile] = &[SqlFile::new("a/up.sql", "/nowhere", Some("x"))];
    }

    #[test]
    fn a_migration_has_the_sql_files_it_declares_and_others_none() {
        use NoSqlFiles as _;
        const FOUND: [&[SqlFile]; 2] = [Plain::SQL_FILES, WithSql::SQL_FILES];
        assert!(FOUND[0].is_empty());
        assert_eq!(FOUND[1].len(), 1);
        assert_eq!(FOUND[1][0].path(), "a/up.sql");
    }

    #[test]
    fn a_missing_file_of_a_debug_build_is_one_clear_error() {
        let f = SqlFile::new("m1/up.sql", "/nonexistent/src/m1/up.sql", None);
        let e = f.text().unwrap_err().to_string();
        assert!(e.contains("/nonexistent/src/m1/up.sql"), "{e}");
        assert!(e.contains("--release"), "{e}");
        assert!(!has_statements("-- only a comment\n\n  -- another\n"));
        assert!(has_statements("-- c\nSELECT 1;"));
    }
}
