//! The context of one run, resolved once from the global flags: how to print, whether
//! anyone can be asked, how long to wait, and (for a verb that needs it) the database.
//! Handlers read facts from here instead of asking the command line again.

use std::time::Duration;

use crate::app::args::GlobalArgs;
use crate::app::command::{Command, Need};
use crate::app::confirm::{self, Policy};
use crate::app::render::{Format, Output};
use crate::engine::connect::{Db, DbOptions};
use crate::engine::resolve::{self, Places};
use crate::engine::url::DbUrl;
use crate::error::Result;

/// What every handler may need to know about the run.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where output goes and in which format.
    pub out: Output,
    /// `-v`: verbose listings.
    pub verbose: bool,
    /// `--yes`: destructive verbs need not ask.
    pub yes: bool,
    /// `--lock-timeout`.
    pub lock_timeout: Option<Duration>,
    /// `--lock-strategy`.
    pub lock_strategy: Option<crate::model::server::LockStrategy>,
    /// `--wait`.
    pub wait: Option<Duration>,
    database_url: Option<String>,
    database_schema: Option<String>,
}

impl Context {
    /// Resolves the global flags.
    pub fn from_args(global: &GlobalArgs) -> Context {
        Context {
            out: Output {
                format: global.format,
                quiet: global.quiet,
            },
            verbose: global.verbose > 0,
            yes: global.yes,
            lock_timeout: global.lock_timeout,
            lock_strategy: global.lock_strategy,
            wait: global.wait,
            database_url: global.database_url.clone(),
            database_schema: global.database_schema.clone(),
        }
    }

    /// The database `command` runs against, connected as it needs (none if it needs
    /// none), and whether it must ask before changing anything. A destructive verb that
    /// may not run here is refused before it connects, so it creates nothing.
    pub async fn connect(&self, command: &Command) -> Result<(Option<Db>, Policy)> {
        let write = match command.need() {
            Need::Nothing => return Ok((None, Policy::Go)),
            Need::Read => false,
            Need::Write => true,
        };
        let url = self.url()?;
        let policy = if command.destructive(&url) && !self.yes {
            confirm::policy(command.name(), &url, self.out.format != Format::Human)?
        } else {
            Policy::Go
        };
        let db = Db::connect(
            &url,
            DbOptions {
                write,
                wait: self.wait,
                lock_timeout: self.lock_timeout,
            },
        )
        .await?;
        Ok((Some(db), policy))
    }

    /// The PostgreSQL schema of `--database-schema` / `DATABASE_SCHEMA` / `.env`, for a
    /// script written without connecting.
    pub fn schema(&self) -> Result<Option<String>> {
        let dotenv = dotenv();
        let places = Places {
            dotenv: dotenv.as_deref(),
            anchor: None,
        };
        resolve::schema(self.database_schema.as_deref(), places, None)
    }

    /// The kind of database the URL names, if one is set anywhere (nothing connects).
    pub fn url_backend(&self) -> Result<Option<sea_orm_migration::sea_orm::DbBackend>> {
        let dotenv = dotenv();
        let places = Places {
            dotenv: dotenv.as_deref(),
            anchor: None,
        };
        Ok(resolve::url(self.database_url.as_deref(), places, None)?.map(|(u, _)| u.backend()))
    }

    /// `--database-url` / `DATABASE_URL` / `.env`, with the schema of
    /// `--database-schema` / `DATABASE_SCHEMA` / `.env` (the nearest `.env` from the
    /// working directory; relative SQLite paths from the working directory).
    pub(crate) fn url(&self) -> Result<DbUrl> {
        let dotenv = dotenv();
        let places = Places {
            dotenv: dotenv.as_deref(),
            anchor: None,
        };
        resolve::required_url(self.database_url.as_deref(), places)?.with_schema(resolve::schema(
            self.database_schema.as_deref(),
            places,
            None,
        )?)
    }
}

/// The `.env` that counts for the binary: the nearest from the working directory.
fn dotenv() -> Option<std::path::PathBuf> {
    std::env::current_dir()
        .ok()
        .and_then(|dir| resolve::nearest_dotenv(&dir))
}
