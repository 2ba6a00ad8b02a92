//! Opening a connection: retries while the server comes up, SQLite file rules, and
//! driver errors rewritten into messages that name the database (never its password).

use std::time::{Duration, Instant};

use sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::engine::url::DbUrl;
use crate::error::{Error, Result};

/// How a verb wants its connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct DbOptions {
    /// A writing verb: a missing SQLite file is created if the URL allows it
    /// (`mode=rwc`); a read-only verb never creates it.
    pub write: bool,
    /// Keep retrying an unreachable database this long (`--wait`).
    pub wait: Option<Duration>,
    /// How long a SQLite writer waits for another (`--lock-timeout`); unbounded if `None`.
    pub lock_timeout: Option<Duration>,
}

/// An open database with the URL it came from (for the lock's own connection and for
/// scrubbing messages).
pub struct Db {
    conn: DatabaseConnection,
    url: DbUrl,
    /// A read-only verb on a SQLite file that does not exist yet and that a writing verb
    /// would create (`mode=rwc`): an empty in-memory database stands in, so nothing is
    /// created.
    absent: bool,
    /// How it was opened, for messages.
    opts: DbOptions,
    /// The statements sent, while a dry run records them (see [`Db::record`]).
    recorded: Recording,
    /// The application's own connection ([`Db::from_connection`]): never closed here,
    /// and the lock's session is opened with its pool's options.
    borrowed: bool,
}

/// Where a connection's statements go while they are recorded.
type Recording = crate::model::sql::Sink;

impl Db {
    /// Opens `url`: waits for an unreachable server up to `opts.wait`, and for a read-only
    /// verb stands an empty in-memory database in for a SQLite file that does not exist.
    pub async fn connect(url: &DbUrl, opts: DbOptions) -> Result<Db> {
        let mut target = url.raw.clone();
        let mut absent = false;
        if let Some(file) = url.sqlite_file()
            && !file.exists()
        {
            if !url.creates_missing_file() {
                return Err(missing_sqlite_file(url, &file, opts.write));
            }
            if !opts.write {
                absent = true;
                target = "sqlite::memory:".to_string();
            }
        }
        let deadline = opts.wait.map(|w| Instant::now() + w);
        let waited = match opts.wait {
            Some(w) => format!(" (retried for {}s)", w.as_secs_f64()),
            None => String::new(),
        };
        if let Some((host, port)) = url.tcp_address() {
            reach_server(url, &host, port, opts, deadline, &waited).await?;
        }
        let conn = loop {
            match Database::connect(connect_options(
                &target,
                url.search_path_sql(),
                opts.lock_timeout,
            ))
            .await
            {
                Ok(conn) => break conn,
                Err(err) => {
                    let retry = deadline.is_some_and(|d| Instant::now() < d) && retryable(&err);
                    if !retry {
                        return Err(Error::Database(format!(
                            "cannot connect to {url}{waited}: {}",
                            locked(url.scrub(&describe(&err)), url.backend(), opts)
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        let db = Db::wrap(conn, url.clone(), absent, opts, false);
        if let Err(e) = db.check_schema().await {
            db.close().await;
            return Err(e);
        }
        Ok(db)
    }

    /// The application's own connection, for a run inside the application: its pool
    /// runs the steps, and nothing else is opened but the lock's session (with the
    /// pool's own options). Closing the returned `Db` leaves the pool open.
    pub async fn from_connection(conn: &DatabaseConnection) -> Result<Db> {
        let url = crate::engine::borrowed::describe(conn).await?;
        let opts = DbOptions {
            write: true,
            ..DbOptions::default()
        };
        Ok(Db::wrap(conn.clone(), url, false, opts, true))
    }

    /// A `Db` around an open connection, recording its statements on demand.
    fn wrap(
        mut conn: DatabaseConnection,
        url: DbUrl,
        absent: bool,
        opts: DbOptions,
        borrowed: bool,
    ) -> Db {
        let recorded = Recording::default();
        let sink = recorded.clone();
        conn.set_metric_callback(move |info| {
            if let Ok(mut sink) = sink.lock()
                && let Some(lines) = sink.as_mut()
            {
                lines.push(info.statement.to_string());
            }
        });
        Db {
            conn,
            url,
            absent,
            opts,
            recorded,
            borrowed,
        }
    }

    /// A connection of its own for the migration lock, to the same database as this one
    /// (PostgreSQL and MySQL; SQLite for the `table` strategy).
    pub(crate) async fn session(&self) -> std::result::Result<DatabaseConnection, DbErr> {
        if self.borrowed {
            return crate::engine::borrowed::session(&self.conn).await;
        }
        Database::connect(connect_options(self.url.expose(), None, None)).await
    }

    /// A connection of its own to the database `name` on the same server (MySQL/MariaDB),
    /// as this one's user.
    pub(crate) async fn other_database(&self, name: &str) -> Result<Db> {
        let url = self.url.with_database(name);
        let opts = DbOptions {
            write: true,
            ..DbOptions::default()
        };
        if !self.borrowed {
            return Db::connect(&url, opts).await;
        }
        let conn = crate::engine::borrowed::to_database(&self.conn, name)
            .await
            .map_err(|e| self.error(e))?;
        Ok(Db::wrap(conn, url, false, opts, false))
    }

    /// True for the application's own connection ([`Db::from_connection`]).
    pub fn is_borrowed(&self) -> bool {
        self.borrowed
    }

    /// The schema everything is created in exists (and this user may use it): a
    /// schema PostgreSQL cannot use drops out of the search path, and its tables would
    /// be looked for, or created, elsewhere.
    async fn check_schema(&self) -> Result<()> {
        let Some(wanted) = self.url.creation_schema() else {
            return Ok(());
        };
        let row = self
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_schema() AS s",
            ))
            .await
            .map_err(|e| self.error(e))?;
        let current: Option<String> = row
            .map(|r| r.try_get::<Option<String>>("", "s"))
            .transpose()
            .map_err(|e| self.error(e))?
            .flatten();
        if current.as_deref() == Some(wanted.as_str()) {
            return Ok(());
        }
        Err(Error::Config(format!(
            "schema `{wanted}` does not exist in {} (or this user may not use it); create it \
             (`CREATE SCHEMA \"{wanted}\"`), or correct `--database-schema`/DATABASE_SCHEMA",
            self.url.masked()
        )))
    }

    /// The open connection the verbs and steps run on.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Which database this is (SQLite, PostgreSQL or MySQL/MariaDB).
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// The URL this database was opened from.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// True when a read-only verb found no SQLite file and nothing was opened.
    pub fn is_absent(&self) -> bool {
        self.absent
    }

    /// A database error, as a message free of secrets.
    pub fn error(&self, err: DbErr) -> Error {
        Error::Database(self.message(&err))
    }

    /// The text of a database error, free of secrets (see `locked`).
    pub fn message(&self, err: &DbErr) -> String {
        locked(self.url.scrub(&describe(err)), self.backend(), self.opts)
    }

    /// Opens a transaction, `BEGIN IMMEDIATE` on SQLite so that it holds the write lock
    /// from its start (a step's, or a verb's tracking changes).
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction> {
        self.conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(|e| self.error(e))
    }

    /// Starts (`true`) or stops recording the statements sent (values inlined), for a
    /// dry run; stopping drops what was recorded.
    pub(crate) fn record(&self, on: bool) {
        if let Ok(mut r) = self.recorded.lock() {
            *r = on.then(Vec::new);
        }
    }

    /// Where the statements are recorded (SQL files write theirs there too).
    pub(crate) fn sink(&self) -> Recording {
        self.recorded.clone()
    }

    /// The statements sent since the last call, while recording.
    pub(crate) fn recorded(&self) -> Vec<String> {
        self.recorded
            .lock()
            .ok()
            .and_then(|mut r| r.as_mut().map(std::mem::take))
            .unwrap_or_default()
    }

    /// Closes the connection (not the application's own); a failure to close is ignored.
    pub async fn close(self) {
        if self.borrowed {
            return;
        }
        let _ = self.conn.close().await;
    }
}

/// Waits until the server at `host:port` answers, or `deadline` passes. A server that is
/// not listening is told at once (the driver would retry for seconds and then only say
/// that its pool timed out). `waited` is `url`'s retry note for messages.
async fn reach_server(
    url: &DbUrl,
    host: &str,
    port: u16,
    opts: DbOptions,
    deadline: Option<Instant>,
    waited: &str,
) -> Result<()> {
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(5), reach(host, port)).await;
        let failure = match attempt {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(failure)) => failure,
            Err(_) => Unreachable::Server("no answer within 5 s".to_string()),
        };
        if deadline.is_some_and(|d| Instant::now() < d) {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let message = match failure {
            // A name that does not resolve is a typo far more often than a server
            // that has not started: waiting would not help.
            Unreachable::Name(reason) => format!(
                "cannot connect to {url}{waited}: the host name `{host}` does not resolve \
                 ({reason}); check the host in the URL"
            ),
            Unreachable::Server(reason) if opts.wait.is_none() => format!(
                "cannot connect to {url}: {reason}; is the server running? `--wait 60s` \
                 waits for it to start"
            ),
            Unreachable::Server(reason) => {
                format!("cannot connect to {url}{waited}: {reason}")
            }
        };
        return Err(Error::Database(message));
    }
}

/// The error for a SQLite URL whose file does not exist and may not be created: a
/// typo'd path must not read as an empty database, nor become a new one.
fn missing_sqlite_file(url: &DbUrl, file: &std::path::Path, write: bool) -> Error {
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let create = format!("sqlite://{}?mode=rwc", path.display());
    Error::Config(if write {
        format!(
            "no SQLite database at {} (from `{url}`); check the path, or to create it there \
             add `mode=rwc` to the URL: `{create}`",
            path.display()
        )
    } else {
        format!(
            "no SQLite database at {} (from `{url}`); check the path (`upgrade` creates it when \
             the URL says so: `{create}`)",
            path.display()
        )
    })
}

/// `text` with, after SQLite's "database is locked" (its busy timeout, `--lock-timeout`,
/// ran out), whom to wait for: cargo-migrate runs wait for each other at the migration
/// lock, so a writing verb waited for another program, and a reading verb for any
/// writer.
fn locked(text: String, backend: DbBackend, opts: DbOptions) -> String {
    if backend != DbBackend::Sqlite || !text.contains("database is locked") {
        return text;
    }
    let longer = match opts.lock_timeout {
        Some(t) => format!(
            ", or wait longer than {}s with --lock-timeout",
            t.as_secs_f64()
        ),
        None => String::new(),
    };
    if opts.write {
        format!(
            "{text}: another program is writing to the database (not a cargo-migrate run, \
             which would hold the migration lock); wait for it to finish{longer}"
        )
    } else {
        format!(
            "{text}: another process is writing to the database; try again when it is done{longer}"
        )
    }
}

/// Options of every connection to `url`; `search_path` is [`DbUrl::search_path_sql`].
pub(crate) fn connect_options(
    url: &str,
    search_path: Option<String>,
    lock_timeout: Option<Duration>,
) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_string());
    // One connection, the same session for the whole run: a run's session state (the
    // lock's session above all) must not be closed by the pool for idleness or age
    // (sqlx's defaults: 10 and 30 minutes), and is not pinged each time a statement takes
    // it (sqlx still pings it once each time it is given back).
    opts.max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        // sqlx retries a refused connection until this deadline; `--wait` extends it.
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    #[cfg(feature = "sqlite")]
    {
        let busy = lock_timeout.unwrap_or(Duration::from_secs(24 * 3600));
        opts.map_sqlx_sqlite_opts(move |o| o.busy_timeout(busy));
    }
    #[cfg(not(feature = "sqlite"))]
    let _ = lock_timeout;
    // The search path is set here rather than with sea-orm's `set_schema_search_path`:
    // sqlx keeps one `after_connect`, and this one would replace sea-orm's.
    #[cfg(feature = "postgres")]
    opts.map_sqlx_postgres_pool_opts(move |pool| {
        let search_path = search_path.clone();
        pool.after_connect(move |conn, _| {
            let search_path = search_path.clone();
            Box::pin(async move {
                use sea_orm_migration::sea_orm::sqlx::{AssertSqlSafe, Executor};
                // A killed migration's statement must not run on for hours, holding its
                // locks, after its client is gone (PostgreSQL 14+; older servers say no,
                // which is fine).
                let _ =
                    Executor::execute(&mut *conn, "SET client_connection_check_interval = 1000")
                        .await;
                if let Some(sql) = search_path {
                    Executor::execute(&mut *conn, AssertSqlSafe(sql)).await?;
                }
                Ok(())
            })
        })
    });
    #[cfg(not(feature = "postgres"))]
    let _ = search_path;
    opts
}

/// Why a server's address could not be reached.
enum Unreachable {
    /// Its host name does not resolve.
    Name(String),
    /// Nothing answered there (refused, reset, unreachable network).
    Server(String),
}

/// Resolves `host` and opens (then drops) a TCP connection to it.
async fn reach(host: &str, port: u16) -> std::result::Result<(), Unreachable> {
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Unreachable::Name(e.to_string()))?
        .collect();
    if addresses.is_empty() {
        return Err(Unreachable::Name("no address".to_string()));
    }
    tokio::net::TcpStream::connect(&addresses[..])
        .await
        .map(drop)
        .map_err(|e| Unreachable::Server(e.to_string()))
}

/// Connection refused or reset: worth retrying while waiting for a server to start.
/// Authentication and "no such database" are final.
fn retryable(err: &DbErr) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    !(text.contains("password")
        || text.contains("authentication")
        || text.contains("access denied")
        || text.contains("does not exist")
        || text.contains("unknown database"))
}

/// A driver error without sea-orm's wrapping noise.
pub fn describe(err: &DbErr) -> String {
    let text = err.to_string();
    let text = text
        .strip_prefix("Connection Error: ")
        .or_else(|| text.strip_prefix("Execution Error: "))
        .or_else(|| text.strip_prefix("Query Error: "))
        .unwrap_or(&text);
    let text = text
        .strip_prefix("error returned from database: ")
        .unwrap_or(text);
    let text = without_server_source_line(text.trim());
    if lost_prepared_statement(text) {
        return format!("{text}{POOLED_STATEMENTS}");
    }
    text.to_string()
}

/// PostgreSQL's answer when a statement sqlx prepared is not where sqlx left it: its
/// named statements clash or are missing, or its unnamed one was replaced between
/// being prepared and being bound (two clients on one server connection).
fn lost_prepared_statement(text: &str) -> bool {
    text.starts_with("prepared statement \"sqlx_s_")
        || text.starts_with("unnamed prepared statement does not exist")
        || (text.starts_with("bind message supplies") && text.contains("prepared statement"))
}

/// Why sqlx's own prepared statements went missing or clash: a pooler in transaction
/// mode that does not follow them. Each statement sea-orm sends is prepared under a
/// name the client chose, and the next transaction may run on another server
/// connection.
const POOLED_STATEMENTS: &str = " (a connection pooler in transaction mode does not keep \
     this connection's prepared statements: PgBouncer before 1.21, or with \
     `max_prepared_statements = 0`; use PgBouncer 1.21+ with `max_prepared_statements` \
     set, session pooling, or a direct URL for migrations)";

/// sqlx ends PostgreSQL's messages with the line of PostgreSQL's own source that raised
/// them (`... does not exist at line 1392`), which reads like a line of the user's SQL.
fn without_server_source_line(text: &str) -> &str {
    match text.rsplit_once(" at line ") {
        Some((head, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_connection_kept_for_the_whole_run() {
        let opts = connect_options("postgres://u@h/db", None, None);
        assert_eq!(opts.get_max_connections(), Some(1));
        assert_eq!(opts.get_min_connections(), Some(1));
        // never closed under a long migration (the lock's session would go with it)
        assert_eq!(opts.get_idle_timeout(), Some(None));
        assert_eq!(opts.get_max_lifetime(), Some(None));
        assert!(!opts.get_test_before_acquire());
    }

    #[test]
    fn a_pooler_that_loses_prepared_statements_is_named() {
        for text in [
            "prepared statement \"sqlx_s_1\" already exists",
            "prepared statement \"sqlx_s_3\" does not exist",
            "bind message supplies 1 parameters, but prepared statement \"\" requires 0",
            "unnamed prepared statement does not exist",
        ] {
            assert!(lost_prepared_statement(text), "{text}");
        }
        assert!(!lost_prepared_statement("relation \"x\" does not exist"));
    }

    #[test]
    fn postgres_source_lines_are_not_shown() {
        assert_eq!(
            without_server_source_line("relation \"x\" does not exist at line 1392"),
            "relation \"x\" does not exist"
        );
        assert_eq!(
            without_server_source_line("syntax error at line one"),
            "syntax error at line one"
        );
    }
}
