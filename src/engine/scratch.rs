//! Scratch databases: somewhere to replay migrations and read the schema they build,
//! never the database a verb was pointed at. SQLite: in memory. PostgreSQL and
//! MySQL/MariaDB: a new database on the same server, named so it cannot collide
//! (`<db>_<purpose>_<pid>_<nanos>`), always dropped, on failure and on Ctrl-C too. A
//! user who may not create databases names one with `--dev-url`: on PostgreSQL the
//! scratch is then a new schema inside it, dropped afterwards; a MySQL/MariaDB dev
//! database must be empty, and its tables are dropped afterwards.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::engine::connect::{Db, DbOptions};
use crate::engine::tracking::quote;
use crate::engine::url::{DbUrl, backend_name};
use crate::error::{Error, Result};

/// An open scratch database; [`Scratch::remove`] takes it away again.
pub struct Scratch {
    db: Db,
    /// How to remove it, from a connection that is not the scratch's own.
    cleanup: Cleanup,
    /// The server connection that created it (PostgreSQL and MySQL without a dev URL).
    admin: Option<Db>,
}

enum Cleanup {
    /// In memory: gone with its connection.
    Nothing,
    /// `DROP DATABASE` from the admin connection.
    Database { name: String },
    /// `DROP SCHEMA ... CASCADE` in the dev database.
    Schema { name: String },
    /// Every table of the dev database.
    Tables,
}

impl Scratch {
    /// A scratch database of `beside`'s backend: on its server, or in `dev` when given.
    /// `schema` is the PostgreSQL schema migrations expect (created in a new database).
    pub async fn create(
        beside: &DbUrl,
        dev: Option<&DbUrl>,
        purpose: &str,
        what: &str,
    ) -> Result<Scratch> {
        if let Some(dev) = dev
            && dev.backend() != beside.backend()
        {
            return Err(Error::Config(format!(
                "--dev-url `{dev}` is a {} database, and the database is {}: they must be \
                 the same kind",
                backend_name(dev.backend()),
                backend_name(beside.backend())
            )));
        }
        let write = DbOptions {
            write: true,
            ..Default::default()
        };
        match (beside.backend(), dev) {
            (DbBackend::Sqlite, _) => {
                let url = DbUrl::parse("sqlite::memory:")?;
                Ok(Scratch {
                    db: Db::connect(&url, write).await?,
                    cleanup: Cleanup::Nothing,
                    admin: None,
                })
            }
            (DbBackend::Postgres, Some(dev)) => {
                let name = unique_name(Some("cargo_migrate"), purpose);
                let db = Db::connect(&dev.clone().with_schema(None)?, write).await?;
                exec(&db, &format!("CREATE SCHEMA \"{name}\"")).await?;
                db.close().await;
                let url = dev.clone().with_schema(Some(name.clone()))?;
                let db = Db::connect(&url, write).await?;
                Ok(Scratch {
                    db,
                    cleanup: Cleanup::Schema { name },
                    admin: None,
                })
            }
            (DbBackend::MySql, Some(dev)) => {
                let db = Db::connect(dev, write).await?;
                let tables = crate::engine::inspect::inspect(db.connection(), None)
                    .await
                    .map_err(|e| db.error(e))?;
                if !tables.tables.is_empty() {
                    return Err(Error::Config(format!(
                        "--dev-url `{dev}` must name an empty database: it has {} table(s) \
                         (`{}`…), and {what} drops every table it leaves there",
                        tables.tables.len(),
                        tables
                            .tables
                            .keys()
                            .next()
                            .map(String::as_str)
                            .unwrap_or_default()
                    )));
                }
                Ok(Scratch {
                    db,
                    cleanup: Cleanup::Tables,
                    admin: None,
                })
            }
            _ => Self::on_server(beside, purpose, what, write).await,
        }
    }

    /// A new database on `beside`'s server.
    async fn on_server(
        beside: &DbUrl,
        purpose: &str,
        what: &str,
        write: DbOptions,
    ) -> Result<Scratch> {
        let admin_url = beside.clone().with_schema(None)?;
        let admin = Db::connect(&admin_url, DbOptions::default()).await?;
        let name = unique_name(beside.database().as_deref(), purpose);
        let quoted = quote(beside.backend(), &name);
        if let Err(e) = admin
            .connection()
            .execute_unprepared(&format!("CREATE DATABASE {quoted}"))
            .await
        {
            let message = admin.message(&e);
            admin.close().await;
            return Err(Error::Database(format!(
                "{what} replays the migrations into a scratch database, and this user cannot \
                 create one ({message}); grant it the right to create databases, or name an \
                 empty database it may use with `--dev-url`"
            )));
        }
        let cleanup = Cleanup::Database { name: name.clone() };
        let url = beside.with_database(&name);
        let schema = beside.creation_schema();
        let opened = async {
            if let Some(schema) = &schema {
                let plain = Db::connect(&url.clone().with_schema(None)?, write).await?;
                let made = exec(&plain, &format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await;
                plain.close().await;
                made?;
            }
            Db::connect(&url, write).await
        }
        .await;
        match opened {
            Ok(db) => Ok(Scratch {
                db,
                cleanup,
                admin: Some(admin),
            }),
            Err(e) => {
                let _ = drop_database(&admin, &name).await;
                admin.close().await;
                Err(e)
            }
        }
    }

    /// The scratch database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Empties it again, for the next schema to be built in it.
    pub async fn reset(&mut self) -> Result<()> {
        match &self.cleanup {
            Cleanup::Nothing => {
                let fresh = Db::connect(
                    &DbUrl::parse("sqlite::memory:")?,
                    DbOptions {
                        write: true,
                        ..Default::default()
                    },
                )
                .await?;
                std::mem::replace(&mut self.db, fresh).close().await;
                Ok(())
            }
            Cleanup::Tables => drop_tables(&self.db).await.map_err(Error::Database),
            Cleanup::Database { .. } if self.db.backend() == DbBackend::MySql => {
                drop_tables(&self.db).await.map_err(Error::Database)
            }
            Cleanup::Database { .. } | Cleanup::Schema { .. } => {
                let schema = self
                    .db
                    .url()
                    .creation_schema()
                    .unwrap_or_else(|| "public".to_owned());
                exec(
                    &self.db,
                    &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                )
                .await?;
                exec(&self.db, &format!("CREATE SCHEMA \"{schema}\"")).await
            }
        }
    }

    /// Removes the scratch database; an error says what is left behind, for a warning.
    pub async fn remove(self) -> std::result::Result<(), String> {
        let Scratch { db, cleanup, admin } = self;
        let result = match &cleanup {
            Cleanup::Nothing => Ok(()),
            Cleanup::Schema { name } => {
                exec(&db, &format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await
                    .map_err(|e| {
                        format!(
                            "the scratch schema `{name}` was not dropped ({e}); drop it by hand"
                        )
                    })
            }
            Cleanup::Tables => drop_tables(&db).await,
            Cleanup::Database { .. } => Ok(()),
        };
        db.close().await;
        let Some(admin) = admin else {
            return result;
        };
        let dropped = match &cleanup {
            Cleanup::Database { name } => drop_database(&admin, name).await,
            _ => Ok(()),
        };
        admin.close().await;
        result.and(dropped)
    }
}

/// Drops the scratch database `name` from `admin` (PostgreSQL: even if a connection to
/// it lingers).
async fn drop_database(admin: &Db, name: &str) -> std::result::Result<(), String> {
    let quoted = quote(admin.backend(), name);
    let mut r = Err(Error::Cancelled);
    if admin.backend() == DbBackend::Postgres {
        r = exec(
            admin,
            &format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
        )
        .await;
    }
    if r.is_err() {
        r = exec(admin, &format!("DROP DATABASE IF EXISTS {quoted}")).await;
    }
    r.map_err(|e| format!("the scratch database `{name}` was not dropped ({e}); drop it by hand"))
}

/// Drops every table of a MySQL/MariaDB dev database.
async fn drop_tables(db: &Db) -> std::result::Result<(), String> {
    let schema = crate::engine::inspect::inspect(db.connection(), None)
        .await
        .map_err(|e| db.message(&e))?;
    if schema.tables.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = schema.tables.keys().map(|t| format!("`{t}`")).collect();
    exec(db, "SET FOREIGN_KEY_CHECKS = 0")
        .await
        .and(exec(db, &format!("DROP TABLE IF EXISTS {}", names.join(", "))).await)
        .and(exec(db, "SET FOREIGN_KEY_CHECKS = 1").await)
        .map_err(|e| format!("the dev database's tables were not all dropped ({e})"))
}

async fn exec(db: &Db, sql: &str) -> Result<()> {
    db.connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
        .map_err(|e| db.error(e))
}

/// A name no other database has: `base` (cut so the whole fits 63 characters, the
/// shorter of PostgreSQL's and MySQL's limits), the purpose, this process and the time.
pub(crate) fn unique_name(base: Option<&str>, purpose: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or_default();
    let suffix = format!("_{purpose}_{}_{nanos}", std::process::id());
    let base: String = base
        .unwrap_or("db")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(63usize.saturating_sub(suffix.len()))
        .collect();
    format!("{base}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_both_servers_and_never_repeat() {
        let long = "x".repeat(100);
        let a = unique_name(Some(&long), "verify");
        assert!(a.len() <= 63, "{a}");
        assert!(unique_name(Some("app"), "verify").starts_with("app_verify_"));
        assert!(unique_name(Some("we`i\"rd"), "verify").starts_with("weird_verify_"));
        assert_ne!(unique_name(Some("app"), "x"), unique_name(Some("app"), "x"));
    }
}
