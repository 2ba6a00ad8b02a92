//! Which database a forwarded verb talks to: `--database-url`, then `DATABASE_URL` in
//! the environment, then `DATABASE_URL` in the workspace root's `.env`, then
//! `database-url` in the configuration; and in which PostgreSQL schema, in the same
//! order (`--database-schema`, `DATABASE_SCHEMA`, `.env`, `schema`). A relative SQLite
//! path is relative to the workspace root whichever of them names it, so every
//! directory of the workspace means the same file; the `.env` and configured URLs are
//! the project's own database, whose SQLite file a writing verb may create. The URL
//! reaches the migration binary in its environment, never its arguments.

use std::path::Path;

use crate::engine::url::DbUrl;

use super::error::{Result, ToolError};

/// Where the URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Given,
    DotEnv,
    Config,
}

#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) url: DbUrl,
    // Only the tests ask which source won; `resolve` decides with it.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub(crate) source: Source,
}

/// The URL, validated; `None` when none is set anywhere.
pub(crate) fn resolve(
    given: Option<&str>,
    root: &Path,
    configured: Option<&str>,
) -> Result<Option<Resolved>> {
    let (raw, source) = if let Some(url) = given.filter(|u| !u.trim().is_empty()) {
        (url.to_string(), Source::Given)
    } else if let Some(url) = dotenv(root, "DATABASE_URL")? {
        (url, Source::DotEnv)
    } else if let Some(url) = configured {
        (url.to_string(), Source::Config)
    } else {
        return Ok(None);
    };
    let url = DbUrl::parse(&anchor_sqlite(&raw, root))?;
    let url = match source {
        Source::Given => url,
        Source::DotEnv | Source::Config => url.as_project_default(),
    };
    Ok(Some(Resolved { url, source }))
}

/// The schema: `given` (`--database-schema`, or `DATABASE_SCHEMA`), else the root
/// `.env`'s `DATABASE_SCHEMA`, else the configured one. Empty where it is set means
/// none, as far as it is set.
pub(crate) fn resolve_schema(
    given: Option<&str>,
    root: &Path,
    configured: Option<&str>,
) -> Result<Option<String>> {
    let schema = match given {
        Some(schema) => Some(schema.to_string()),
        None => dotenv(root, "DATABASE_SCHEMA")?.or_else(|| configured.map(str::to_string)),
    };
    Ok(schema.filter(|s| !s.is_empty()))
}

/// The message when a verb needs a database and none is set.
pub(crate) fn missing(root: &Path) -> ToolError {
    ToolError::usage(format!(
        "no database URL: pass `--database-url <URL>`, set `DATABASE_URL`, put `DATABASE_URL=<URL>` in {}, \
         or set `database-url` in `[workspace.metadata.migrate]` \
         (e.g. `sqlite://app.db`, `postgres://user@localhost/app`, `mysql://user@localhost/app`)",
        root.join(".env").display()
    ))
}

/// The value of `key` in the root's `.env`, if the file exists and sets it.
fn dotenv(root: &Path, key: &str) -> Result<Option<String>> {
    crate::engine::url::dotenv_file_value(&root.join(".env"), key)
        .map_err(|e| ToolError::usage(e.to_string()))
}

/// `sqlite://app.db` → `sqlite:///<root>/app.db`; absolute paths and in-memory
/// databases are left alone.
pub(crate) fn anchor_sqlite(url: &str, root: &Path) -> String {
    let Some((path, query)) = crate::engine::url::split_sqlite(url) else {
        return url.to_string();
    };
    if path.is_empty()
        || path.starts_with('/')
        || path.starts_with(":memory:")
        || Path::new(path).is_absolute()
    {
        return url.to_string();
    }
    let anchored = root.join(path.strip_prefix("./").unwrap_or(path));
    match query {
        Some(q) => format!("sqlite://{}?{q}", anchored.display()),
        None => format!("sqlite://{}", anchored.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_are_anchored_at_the_root() {
        let root = Path::new("/ws");
        assert_eq!(
            anchor_sqlite("sqlite://demo.db", root),
            "sqlite:///ws/demo.db"
        );
        assert_eq!(
            anchor_sqlite("sqlite:./d/x.db?mode=rwc", root),
            "sqlite:///ws/d/x.db?mode=rwc"
        );
        assert_eq!(anchor_sqlite("sqlite:///abs.db", root), "sqlite:///abs.db");
        assert_eq!(anchor_sqlite("sqlite::memory:", root), "sqlite::memory:");
        assert_eq!(anchor_sqlite("postgres://h/db", root), "postgres://h/db");
    }

    #[test]
    fn the_flag_beats_dotenv_which_beats_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "OTHER=1\nDATABASE_URL=sqlite://env.db\n",
        )
        .unwrap();
        let r = resolve(
            Some("sqlite://flag.db"),
            dir.path(),
            Some("sqlite://cfg.db"),
        )
        .unwrap()
        .unwrap();
        // Every source is relative to the root; only the project's own defaults
        // (`.env`, configuration) may create a missing file.
        let root = dir.path().display();
        assert_eq!(
            (r.url.expose(), r.source),
            (format!("sqlite://{root}/flag.db").as_str(), Source::Given)
        );
        let r = resolve(None, dir.path(), Some("sqlite://cfg.db"))
            .unwrap()
            .unwrap();
        assert_eq!(r.source, Source::DotEnv);
        assert_eq!(r.url.expose(), format!("sqlite://{root}/env.db?mode=rwc"));
        std::fs::remove_file(dir.path().join(".env")).unwrap();
        let r = resolve(None, dir.path(), Some("sqlite://cfg.db?mode=ro"))
            .unwrap()
            .unwrap();
        assert_eq!(r.source, Source::Config);
        assert_eq!(r.url.expose(), format!("sqlite://{root}/cfg.db?mode=ro"));
        assert!(resolve(None, dir.path(), None).unwrap().is_none());
    }

    #[test]
    fn the_schema_comes_from_the_flag_then_dotenv_then_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let schema = |given, configured| {
            resolve_schema(given, dir.path(), configured)
                .unwrap()
                .unwrap_or_default()
        };
        assert_eq!(schema(None, Some("cfg")), "cfg");
        std::fs::write(dir.path().join(".env"), "DATABASE_SCHEMA=env\n").unwrap();
        assert_eq!(schema(None, Some("cfg")), "env");
        assert_eq!(schema(Some("flag"), Some("cfg")), "flag");
        // An empty flag means no schema, whatever else says one.
        assert_eq!(schema(Some(""), Some("cfg")), "");
    }

    #[test]
    fn a_broken_dotenv_line_does_not_show_its_password() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "DATABASE_URL='postgres://u:hunter2@h/db\n",
        )
        .unwrap();
        let e = resolve(None, dir.path(), None).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
