//! Which database a forwarded verb talks to: `--database-url`, then `DATABASE_URL` in
//! the environment, then `DATABASE_URL` in the workspace root's `.env`, then
//! `database-url` in the configuration; and in which PostgreSQL schema, in the same
//! order (`--database-schema`, `DATABASE_SCHEMA`, `.env`, `schema`). A relative SQLite
//! path is relative to the workspace root whichever of them names it, so every
//! directory of the workspace means the same file; the `.env` and configured URLs are
//! the project's own database, whose SQLite file a writing verb may create. The URL
//! reaches the migration binary in its environment, never its arguments.

use std::path::Path;

use crate::engine::resolve::{self, Places, UrlSource};
use crate::engine::url::DbUrl;

use super::error::{Result, ToolError};

#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) url: DbUrl,
    // Only the tests ask which source won; `resolve` decides with it.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub(crate) source: UrlSource,
}

/// The URL, validated; `None` when none is set anywhere.
pub(crate) fn resolve(
    given: Option<&str>,
    root: &Path,
    configured: Option<&str>,
) -> Result<Option<Resolved>> {
    let dotenv = root.join(".env");
    let found = resolve::url(given, workspace(root, &dotenv), configured)?;
    Ok(found.map(|(url, source)| Resolved { url, source }))
}

/// The schema: `given` (`--database-schema`, or `DATABASE_SCHEMA`), else the root
/// `.env`'s `DATABASE_SCHEMA`, else the configured one.
pub(crate) fn resolve_schema(
    given: Option<&str>,
    root: &Path,
    configured: Option<&str>,
) -> Result<Option<String>> {
    let dotenv = root.join(".env");
    Ok(resolve::schema(
        given,
        workspace(root, &dotenv),
        configured,
    )?)
}

/// The workspace's places: its root's `.env`, and SQLite paths relative to the root.
fn workspace<'a>(root: &'a Path, dotenv: &'a Path) -> Places<'a> {
    Places {
        dotenv: Some(dotenv),
        anchor: Some(root),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
            (
                format!("sqlite://{root}/flag.db").as_str(),
                UrlSource::Given
            )
        );
        let r = resolve(None, dir.path(), Some("sqlite://cfg.db"))
            .unwrap()
            .unwrap();
        assert_eq!(r.source, UrlSource::DotEnv);
        assert_eq!(r.url.expose(), format!("sqlite://{root}/env.db?mode=rwc"));
        std::fs::remove_file(dir.path().join(".env")).unwrap();
        let r = resolve(None, dir.path(), Some("sqlite://cfg.db?mode=ro"))
            .unwrap()
            .unwrap();
        assert_eq!(r.source, UrlSource::Config);
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
