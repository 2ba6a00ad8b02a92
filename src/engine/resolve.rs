//! Which database: the one rule both halves follow. The URL is the one given (the flag,
//! or `DATABASE_URL` in the environment), else `DATABASE_URL` in the `.env` file that
//! counts, else the configured one; the PostgreSQL schema likewise. A URL from `.env` or
//! the configuration is the project's own database, whose SQLite file a writing verb
//! may create. The halves differ only in the places: `cargo migrate` reads the
//! workspace root's `.env` and anchors relative SQLite paths there; the migration binary
//! run on its own reads the nearest `.env` from its working directory, relative to which
//! paths are taken.

use std::path::{Path, PathBuf};

use crate::engine::url::{DbUrl, split_sqlite};
use crate::error::{Error, Result};

/// Where the URL was found, for messages.
pub const URL_HELP: &str = "no database URL: pass `--database-url <URL>`, set `DATABASE_URL`, \
     or put `DATABASE_URL=<URL>` in a `.env` file \
     (e.g. `sqlite://app.db`, `postgres://user@localhost/app`, `mysql://user@localhost/app`)";

/// Where a URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSource {
    /// `--database-url` or `DATABASE_URL` in the environment.
    Given,
    /// `DATABASE_URL` in the `.env` file.
    DotEnv,
    /// The configuration (`database-url` in `[workspace.metadata.migrate]`).
    Config,
}

/// The places a lookup reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Places<'a> {
    /// The `.env` file that counts (none: no file).
    pub dotenv: Option<&'a Path>,
    /// The directory a relative SQLite path is relative to (none: the working directory).
    pub anchor: Option<&'a Path>,
}

/// The database URL, validated, and where it came from; `None` when none is set anywhere.
pub fn url(
    given: Option<&str>,
    places: Places<'_>,
    configured: Option<&str>,
) -> Result<Option<(DbUrl, UrlSource)>> {
    let (raw, source) = if let Some(url) = given.filter(|u| !u.trim().is_empty()) {
        (url.to_string(), UrlSource::Given)
    } else if let Some(url) = dotenv(places, "DATABASE_URL")? {
        (url, UrlSource::DotEnv)
    } else if let Some(url) = configured {
        (url.to_string(), UrlSource::Config)
    } else {
        return Ok(None);
    };
    let raw = match places.anchor {
        Some(root) => anchor_sqlite(&raw, root),
        None => raw,
    };
    let url = DbUrl::parse(&raw)?;
    let url = match source {
        UrlSource::Given => url,
        UrlSource::DotEnv | UrlSource::Config => url.as_project_default(),
    };
    Ok(Some((url, source)))
}

/// The URL as the migration binary finds it on its own, or the error saying where to
/// put one.
pub fn required_url(given: Option<&str>, places: Places<'_>) -> Result<DbUrl> {
    url(given, places, None)?
        .map(|(url, _)| url)
        .ok_or_else(|| Error::Config(URL_HELP.to_string()))
}

/// The PostgreSQL schema: `given` (`--database-schema`, or `DATABASE_SCHEMA`), else the
/// `.env`'s `DATABASE_SCHEMA`, else the configured one, as sea-orm-migration's CLI reads
/// it. Empty where it is set means none: the server's own search path.
pub fn schema(
    given: Option<&str>,
    places: Places<'_>,
    configured: Option<&str>,
) -> Result<Option<String>> {
    let schema = match given {
        Some(schema) => Some(schema.to_string()),
        None => dotenv(places, "DATABASE_SCHEMA")?.or_else(|| configured.map(str::to_string)),
    };
    Ok(schema.filter(|s| !s.is_empty()))
}

/// The `.env` file in `dir` or the nearest parent that has one.
pub fn nearest_dotenv(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(".env"))
        .find(|p| p.is_file())
}

fn dotenv(places: Places<'_>, name: &str) -> Result<Option<String>> {
    match places.dotenv {
        Some(path) => dotenv_file_value(path, name),
        None => Ok(None),
    }
}

/// The value the `.env` file `path` gives `name` (none if there is no such file); a
/// line that does not parse before it is an error, not a missing value. The one reader
/// of `.env` files, for the binary and the subcommand.
pub fn dotenv_file_value(path: &Path, name: &str) -> Result<Option<String>> {
    let cannot = |why: String| Error::Config(format!("cannot read {}: {why}", path.display()));
    let items = match dotenvy::from_path_iter(path) {
        Ok(items) => items,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e.to_string())),
    };
    for item in items {
        match item {
            Ok((key, value)) if key == name => return Ok(Some(value)),
            Ok(_) => {}
            // dotenvy quotes the offending line, which may hold a password.
            Err(dotenvy::Error::LineParse(_, index)) => {
                return Err(cannot(format!("a line does not parse (at byte {index})")));
            }
            Err(e) => return Err(cannot(e.to_string())),
        }
    }
    Ok(None)
}

/// `sqlite://app.db` → `sqlite:///<root>/app.db`; absolute paths and in-memory
/// databases are left alone.
pub fn anchor_sqlite(url: &str, root: &Path) -> String {
    let Some((path, query)) = split_sqlite(url) else {
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
    fn a_malformed_env_file_is_an_error_that_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "A=1\nDATABASE_URL=postgres://u:Pw1@h/db\n").unwrap();
        assert_eq!(
            dotenv_file_value(&path, "DATABASE_URL").unwrap().as_deref(),
            Some("postgres://u:Pw1@h/db")
        );
        std::fs::write(&path, "A=1\nB C='Pw1\nDATABASE_URL=sqlite://x.db\n").unwrap();
        let err = dotenv_file_value(&path, "DATABASE_URL").unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::USAGE);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot read {}: a line does not parse",
                path.display()
            )),
            "{text}"
        );
        assert!(!text.contains("Pw1"), "{text}");
        std::fs::write(&path, "A=1\n").unwrap();
        assert_eq!(dotenv_file_value(&path, "DATABASE_URL").unwrap(), None);
    }

    /// Both halves follow one rule; only the places differ. The binary on its own reads
    /// the nearest `.env` up from where it runs and keeps relative paths as they are.
    #[test]
    fn the_nearest_dotenv_counts_and_only_an_anchor_moves_a_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(dir.path().join(".env"), "DATABASE_URL=sqlite://app.db\n").unwrap();
        let dotenv = nearest_dotenv(&inner).unwrap();
        assert_eq!(dotenv, dir.path().join(".env"));
        let alone = Places {
            dotenv: Some(&dotenv),
            anchor: None,
        };
        let (url, source) = url(None, alone, None).unwrap().unwrap();
        assert_eq!(source, UrlSource::DotEnv);
        assert_eq!(url.expose(), "sqlite://app.db?mode=rwc");
        let anchored = Places {
            anchor: Some(dir.path()),
            ..alone
        };
        let (url, _) = super::url(None, anchored, None).unwrap().unwrap();
        assert_eq!(
            url.expose(),
            format!("sqlite://{}/app.db?mode=rwc", dir.path().display())
        );
        let given = required_url(Some("sqlite://given.db"), alone).unwrap();
        assert_eq!(given.expose(), "sqlite://given.db");
        let none = Places::default();
        assert!(
            required_url(None, none)
                .unwrap_err()
                .to_string()
                .contains("no database URL")
        );
    }
}
