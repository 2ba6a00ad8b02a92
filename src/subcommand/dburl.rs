//! Which database a forwarded verb talks to: `--database-url`, then `DATABASE_URL` in
//! the environment, then `DATABASE_URL` in the workspace root's `.env`, then
//! `database-url` in the configuration. A relative SQLite path from the last two is
//! relative to the workspace root, so every directory of the workspace means the same
//! file. The URL reaches the migration binary in its environment, never its arguments.

use std::path::Path;

use crate::db::DbUrl;

use super::error::{Result, ToolError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Given,
    DotEnv,
    Config,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub url: DbUrl,
    pub source: Source,
}

/// The URL, validated; `None` when none is set anywhere.
pub fn resolve(
    given: Option<&str>,
    root: &Path,
    configured: Option<&str>,
) -> Result<Option<Resolved>> {
    let (raw, source) = if let Some(url) = given.filter(|u| !u.trim().is_empty()) {
        (url.to_string(), Source::Given)
    } else if let Some(url) = dotenv(root)? {
        (url, Source::DotEnv)
    } else if let Some(url) = configured {
        (url.to_string(), Source::Config)
    } else {
        return Ok(None);
    };
    let raw = match source {
        Source::Given => raw,
        Source::DotEnv | Source::Config => anchor_sqlite(&raw, root),
    };
    let url = DbUrl::parse(&raw)?;
    Ok(Some(Resolved { url, source }))
}

/// The message when a verb needs a database and none is set.
pub fn missing(root: &Path) -> ToolError {
    ToolError::usage(format!(
        "no database URL: pass `--database-url <URL>`, set `DATABASE_URL`, put `DATABASE_URL=<URL>` in {}, \
         or set `database-url` in `[workspace.metadata.migrate]` \
         (e.g. `sqlite://app.db`, `postgres://user@localhost/app`, `mysql://user@localhost/app`)",
        root.join(".env").display()
    ))
}

fn dotenv(root: &Path) -> Result<Option<String>> {
    let path = root.join(".env");
    let items = match dotenvy::from_path_iter(&path) {
        Ok(items) => items,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ToolError::usage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    for item in items {
        match item {
            Ok((key, value)) if key == "DATABASE_URL" => return Ok(Some(value)),
            Ok(_) => {}
            Err(e) => {
                return Err(ToolError::usage(format!(
                    "cannot read {}: {}",
                    path.display(),
                    // dotenvy quotes the offending line, which may hold a password.
                    match e {
                        dotenvy::Error::LineParse(_, index) =>
                            format!("a line does not parse (at byte {index})"),
                        other => other.to_string(),
                    }
                )));
            }
        }
    }
    Ok(None)
}

/// `sqlite://app.db` → `sqlite:///<root>/app.db`; absolute paths and in-memory
/// databases are left alone.
pub fn anchor_sqlite(url: &str, root: &Path) -> String {
    let Some((path, query)) = crate::db::split_sqlite(url) else {
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
        assert_eq!(
            (r.url.expose(), r.source),
            ("sqlite://flag.db", Source::Given)
        );
        let r = resolve(None, dir.path(), Some("sqlite://cfg.db"))
            .unwrap()
            .unwrap();
        assert_eq!(r.source, Source::DotEnv);
        assert!(r.url.expose().ends_with("/env.db"), "{}", r.url.expose());
        std::fs::remove_file(dir.path().join(".env")).unwrap();
        let r = resolve(None, dir.path(), Some("sqlite://cfg.db"))
            .unwrap()
            .unwrap();
        assert_eq!(r.source, Source::Config);
        assert!(resolve(None, dir.path(), None).unwrap().is_none());
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
