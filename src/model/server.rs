//! Which database server a connection reaches, told from the version string it reports,
//! and what the migration lock and a step's transaction can rely on there.
//!
//! Three wire protocols hide seven servers: PostgreSQL's carries PostgreSQL, CockroachDB
//! and YugabyteDB (YSQL); MySQL's carries MySQL, MariaDB and TiDB; SQLite is SQLite. The
//! lock the migration runner may take and whether a failed step rolls back whole depend
//! on which one it is, so [`Server::detect`] reads the string the server reports
//! (`SELECT version()`, `SELECT VERSION()`, `sqlite_version()`) and the capability
//! methods answer from what each server's documentation and issue tracker say:
//!
//! - CockroachDB's session advisory lock functions are missing or no-op stubs that
//!   return without locking (cockroach#13546, cockroach PR #13429); its
//!   transaction-level ones are new (cockroach PR #168353, 2026) and version-gated.
//! - YugabyteDB's advisory locks error ("not yet implemented"), are silenced into no-ops
//!   (`yb_silence_advisory_locks_not_supported_error`), or work behind a preview flag
//!   (`ysql_yb_enable_advisory_locks`): the version string cannot tell which.
//! - TiDB's `GET_LOCK` is real and cluster-wide from v6.1 (pingcap/tidb PR #33947); its
//!   wait is clamped to 1..3600 s. Before v6.1 it was a no-op that returned 1
//!   (`tidb_enable_noop_functions`, pingcap/tidb#10929).
//!
//! A lock function that answers "granted" is never taken at its word on a server where
//! it may be a stub: such a lock is [`Trust::Untrusted`], and the default strategy there
//! is [`LockStrategy::Table`]. Pure: no I/O; `engine::server` runs the queries.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::schema::Dialect;

/// A dotted version number as a server reports it: up to four numbers (`15.19`,
/// `23.2.4`, `2.20.1.0`); a suffix after them (`-log`, `beta1`, `-b0`) is not kept.
/// Missing numbers count as zero when compared, so `15.0` equals `15.0.0`.
#[derive(Debug, Clone, Copy)]
pub struct Version {
    nums: [u32; 4],
    len: u8,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            nums: [major, minor, patch, 0],
            len: 3,
        }
    }

    /// The dotted number `text` starts with (`"8.4.0-log"` → `8.4.0`); `None` when it
    /// does not start with a digit or a number does not fit in 32 bits.
    pub fn parse(text: &str) -> Option<Version> {
        let mut nums = [0u32; 4];
        let mut len = 0u8;
        let mut rest = text.as_bytes();
        while (len as usize) < nums.len() {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                break;
            }
            let n = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
            nums[len as usize] = n;
            len += 1;
            rest = &rest[digits..];
            match rest {
                [b'.', next, ..] if next.is_ascii_digit() => rest = &rest[1..],
                _ => break,
            }
        }
        (len > 0).then_some(Version { nums, len })
    }

    /// The first number.
    pub fn major(&self) -> u32 {
        self.nums[0]
    }

    /// The second number (0 if absent).
    pub fn minor(&self) -> u32 {
        self.nums[1]
    }

    /// The third number (0 if absent).
    pub fn patch(&self) -> u32 {
        self.nums[2]
    }

    /// At least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.nums[0], self.nums[1]) >= (major, minor)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.nums == other.nums
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> std::cmp::Ordering {
        self.nums.cmp(&other.nums)
    }
}

impl fmt::Display for Version {
    /// The numbers as the server wrote them (`2.20.1.0`, `15.19`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.nums[..self.len as usize].iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// The database server behind a connection. A version is `None` when the server's
/// string did not carry one this module could read; an unknown string on a protocol
/// is that protocol's own server ([`Server::Postgres`], [`Server::MySql`],
/// [`Server::Sqlite`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL itself, or a server that reports itself as PostgreSQL (Aurora, Neon,
    /// Supabase, AlloyDB; PgBouncer passes `version()` through).
    Postgres {
        /// `15.19` from "PostgreSQL 15.19 (Debian …) on x86_64…".
        version: Option<Version>,
    },
    /// CockroachDB ("CockroachDB CCL v23.2.4 (x86_64-pc-linux-gnu, built …)").
    Cockroach {
        /// `23.2.4`.
        version: Option<Version>,
    },
    /// YugabyteDB's YSQL ("PostgreSQL 11.2-YB-2.20.1.0-b0 on x86_64-pc-linux-gnu, …").
    Yugabyte {
        /// YugabyteDB's own release: `2.20.1.0`.
        version: Option<Version>,
        /// The PostgreSQL it is built on: `11.2`.
        postgres: Option<Version>,
    },
    /// MySQL, or a server that reports itself as MySQL (Percona, Aurora MySQL).
    MySql {
        /// `8.0.36` from "8.0.36" or "8.4.0-log".
        version: Option<Version>,
    },
    /// MariaDB ("10.11.19-MariaDB-0+deb12u1").
    MariaDb {
        /// `10.11.19`.
        version: Option<Version>,
    },
    /// TiDB ("8.0.11-TiDB-v8.1.0").
    TiDb {
        /// TiDB's own release: `8.1.0`.
        version: Option<Version>,
        /// The MySQL version it reports for compatibility: `8.0.11`.
        mysql: Option<Version>,
    },
    /// SQLite ("3.45.1").
    Sqlite {
        /// `3.45.1`.
        version: Option<Version>,
    },
}

/// How far a lock function can be relied on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// It excludes other holders, as documented.
    Real,
    /// It may answer "granted" without locking anything (a stub or a silenced error),
    /// so its answer proves nothing unless a second session is seen to be refused.
    Untrusted,
    /// The server has no such lock; asking for it fails.
    Unsupported,
}

impl Trust {
    /// Only [`Trust::Real`].
    pub fn is_real(self) -> bool {
        self == Trust::Real
    }
}

/// What happens to DDL inside a migration step's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ddl {
    /// DDL joins the transaction: a failed step rolls back whole, tracking row
    /// included (PostgreSQL, SQLite).
    Transactional,
    /// Schema changes run in the transaction but are not atomic with each other or with
    /// its other statements; one schema change per transaction is the documented rule
    /// (CockroachDB). From v25.1 `autocommit_before_ddl` is on by default, and a schema
    /// change first commits the open transaction, as on MySQL.
    OnePerTransaction,
    /// DDL commits on its own, whatever the transaction: MySQL, MariaDB and TiDB also
    /// commit what the transaction did before it; YugabyteDB runs each DDL statement as
    /// a transaction of its own beside it (unless its transactional-DDL flag is on).
    AutoCommit,
}

impl Ddl {
    /// True only for [`Ddl::Transactional`]: a failed step leaves nothing behind.
    pub fn is_atomic(self) -> bool {
        self == Ddl::Transactional
    }
}

/// How a run keeps other runs out while it migrates (`--lock-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockStrategy {
    /// A lock held by a session of its own for the whole run, released when that session
    /// ends: PostgreSQL `pg_advisory_lock`, MySQL/MariaDB/TiDB `GET_LOCK`, SQLite an
    /// exclusive lock on a file beside the database. Dies with the process; breaks
    /// behind a pooler in transaction mode.
    Session,
    /// A lock that lives as long as one open transaction (`pg_advisory_xact_lock`),
    /// released at its commit, its rollback or when the connection closes. Works behind
    /// a transaction-mode pooler; PostgreSQL only (CockroachDB's is new and unverified).
    Transaction,
    /// A row in a lock table: inserted to take the lock, deleted to release it, with an
    /// owner and an expiry renewed while the run lasts. Plain SQL, so it works on every
    /// server and behind any pooler; a run that dies leaves it until it expires.
    Table,
}

impl LockStrategy {
    /// Every strategy, in the order the flag lists them.
    pub const ALL: [LockStrategy; 3] = [
        LockStrategy::Session,
        LockStrategy::Transaction,
        LockStrategy::Table,
    ];

    /// As the flag spells it: `session`, `transaction`, `table`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockStrategy::Session => "session",
            LockStrategy::Transaction => "transaction",
            LockStrategy::Table => "table",
        }
    }
}

impl fmt::Display for LockStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lock strategy that is none of `session`, `transaction`, `table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLockStrategyError {
    given: String,
}

impl fmt::Display for ParseLockStrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown lock strategy `{}`: expected `session`, `transaction` or `table`",
            crate::text::one_line(&self.given)
        )
    }
}

impl std::error::Error for ParseLockStrategyError {}

impl FromStr for LockStrategy {
    type Err = ParseLockStrategyError;

    /// `session`, `transaction` or `table`, in any case, surrounding spaces ignored.
    fn from_str(s: &str) -> Result<LockStrategy, ParseLockStrategyError> {
        let word = s.trim();
        LockStrategy::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| ParseLockStrategyError {
                given: s.to_string(),
            })
    }
}

/// The longest `GET_LOCK` wait TiDB allows: it clamps a timeout to 1..3600 s and turns
/// `-1` into 3600 (docs.pingcap.com/tidb/stable/locking-functions).
const TIDB_MAX_LOCK_WAIT: Duration = Duration::from_secs(3600);

impl Server {
    /// The server behind a `family` connection that reported `version`: PostgreSQL's
    /// `SELECT version()` (or its `server_version`), MySQL's `SELECT VERSION()`, SQLite's
    /// `sqlite_version()`. A string this function does not recognise gives the family's
    /// own server, with its version if one can be read; it never fails.
    pub fn detect(family: Dialect, version: &str) -> Server {
        let text = version.trim();
        match family {
            Dialect::Postgres => {
                if let Some(rest) = after(text, "cockroachdb") {
                    Server::Cockroach {
                        version: cockroach_version(rest),
                    }
                } else if let Some(yb) = after(text, "-yb-") {
                    Server::Yugabyte {
                        version: Version::parse(yb),
                        postgres: postgres_version(text),
                    }
                } else {
                    Server::Postgres {
                        version: postgres_version(text),
                    }
                }
            }
            Dialect::MySql => {
                if let Some(rest) = after(text, "-tidb-") {
                    Server::TiDb {
                        version: Version::parse(rest.strip_prefix(['v', 'V']).unwrap_or(rest)),
                        mysql: Version::parse(text),
                    }
                } else if after(text, "mariadb").is_some() {
                    // Before 11.0, MariaDB's handshake (not VERSION()) reads
                    // "5.5.5-10.5.8-MariaDB…" for old clients' sake.
                    let own = text.strip_prefix("5.5.5-").unwrap_or(text);
                    Server::MariaDb {
                        version: Version::parse(own),
                    }
                } else {
                    Server::MySql {
                        version: Version::parse(text),
                    }
                }
            }
            Dialect::Sqlite => Server::Sqlite {
                version: Version::parse(text),
            },
        }
    }

    /// Refined by MySQL's `@@version_comment`, for a server whose `VERSION()` was
    /// configured not to say what it is (TiDB's `server-version` setting): a comment
    /// naming TiDB or MariaDB makes a [`Server::MySql`] that server. Other servers are
    /// returned unchanged.
    pub fn with_comment(self, comment: &str) -> Server {
        match self {
            Server::MySql { version } if after(comment, "tidb").is_some() => Server::TiDb {
                version: None,
                mysql: version,
            },
            Server::MySql { version } if after(comment, "mariadb").is_some() => {
                Server::MariaDb { version }
            }
            other => other,
        }
    }

    /// Refined by TiDB's `tidb_version()` ("Release Version: v7.5.1\nEdition: …"),
    /// which names TiDB's release when `VERSION()` does not. Other servers are returned
    /// unchanged.
    pub fn with_tidb_version(self, tidb_version: &str) -> Server {
        match self {
            Server::TiDb { version, mysql } => {
                let release = after(tidb_version, "release version:")
                    .map(|r| r.trim_start())
                    .and_then(|r| Version::parse(r.strip_prefix(['v', 'V']).unwrap_or(r)));
                Server::TiDb {
                    version: release.or(version),
                    mysql,
                }
            }
            other => other,
        }
    }

    /// The product's name: `PostgreSQL`, `CockroachDB`, `YugabyteDB`, `MySQL`,
    /// `MariaDB`, `TiDB`, `SQLite`.
    pub fn name(&self) -> &'static str {
        match self {
            Server::Postgres { .. } => "PostgreSQL",
            Server::Cockroach { .. } => "CockroachDB",
            Server::Yugabyte { .. } => "YugabyteDB",
            Server::MySql { .. } => "MySQL",
            Server::MariaDb { .. } => "MariaDB",
            Server::TiDb { .. } => "TiDB",
            Server::Sqlite { .. } => "SQLite",
        }
    }

    /// The product's own version (YugabyteDB's and TiDB's release, not the PostgreSQL
    /// or MySQL version they report for compatibility).
    pub fn version(&self) -> Option<Version> {
        match *self {
            Server::Postgres { version }
            | Server::Cockroach { version }
            | Server::Yugabyte { version, .. }
            | Server::MySql { version }
            | Server::MariaDb { version }
            | Server::TiDb { version, .. }
            | Server::Sqlite { version } => version,
        }
    }

    /// The wire protocol (and SQL dialect) it speaks.
    pub fn family(&self) -> Dialect {
        match self {
            Server::Postgres { .. } | Server::Cockroach { .. } | Server::Yugabyte { .. } => {
                Dialect::Postgres
            }
            Server::MySql { .. } | Server::MariaDb { .. } | Server::TiDb { .. } => Dialect::MySql,
            Server::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    /// Whether the lock [`LockStrategy::Session`] takes here excludes other runs:
    /// `pg_advisory_lock`, `GET_LOCK`, or on SQLite the lock file.
    ///
    /// - PostgreSQL, MySQL, MariaDB, SQLite: real. (`GET_LOCK` is per server: on a
    ///   multi-primary MySQL Group Replication or Galera cluster two nodes grant the
    ///   same name; use [`LockStrategy::Table`] there.)
    /// - TiDB: real and cluster-wide from v6.1; before v6.1 a no-op that returns 1, and
    ///   a TiDB whose release is unknown is not trusted.
    /// - CockroachDB, YugabyteDB: untrusted (missing, stubs or silenced no-ops).
    pub fn session_advisory_lock(&self) -> Trust {
        match self {
            Server::Postgres { .. }
            | Server::MySql { .. }
            | Server::MariaDb { .. }
            | Server::Sqlite { .. } => Trust::Real,
            Server::TiDb { version, .. } => match version {
                Some(v) if v.at_least(6, 1) => Trust::Real,
                _ => Trust::Untrusted,
            },
            Server::Cockroach { .. } | Server::Yugabyte { .. } => Trust::Untrusted,
        }
    }

    /// Whether a transaction-scoped advisory lock (`pg_advisory_xact_lock`, what
    /// [`LockStrategy::Transaction`] takes) excludes other runs.
    ///
    /// - PostgreSQL: real.
    /// - CockroachDB: untrusted. The functions are new (cockroach PR #168353, on the
    ///   v26.3 release branch per cockroach#173479), gated on the cluster version, and
    ///   keyed per database unlike PostgreSQL's; older releases define some advisory
    ///   functions as no-op stubs (cockroach docs PR #18154).
    /// - YugabyteDB: untrusted (see [`Server::session_advisory_lock`]).
    /// - MySQL, MariaDB, TiDB, SQLite: unsupported; they have no transaction-scoped
    ///   named lock.
    pub fn transaction_advisory_lock(&self) -> Trust {
        match self {
            Server::Postgres { .. } => Trust::Real,
            Server::Cockroach { .. } | Server::Yugabyte { .. } => Trust::Untrusted,
            Server::MySql { .. }
            | Server::MariaDb { .. }
            | Server::TiDb { .. }
            | Server::Sqlite { .. } => Trust::Unsupported,
        }
    }

    /// What DDL does inside a step's transaction (see [`Ddl`]). YugabyteDB counts as
    /// [`Ddl::AutoCommit`] whatever its release: its transactional DDL is behind the
    /// `ysql_yb_ddl_transaction_block_enabled` flag, which the version string does not
    /// show, and assuming a rollback that does not happen is the dangerous mistake.
    pub fn transactional_ddl(&self) -> Ddl {
        match self {
            Server::Postgres { .. } | Server::Sqlite { .. } => Ddl::Transactional,
            Server::Cockroach { .. } => Ddl::OnePerTransaction,
            Server::Yugabyte { .. }
            | Server::MySql { .. }
            | Server::MariaDb { .. }
            | Server::TiDb { .. } => Ddl::AutoCommit,
        }
    }

    /// How far `strategy`'s lock can be relied on here. [`LockStrategy::Table`] is plain
    /// SQL and real everywhere (within its expiry).
    pub fn lock(&self, strategy: LockStrategy) -> Trust {
        match strategy {
            LockStrategy::Session => self.session_advisory_lock(),
            LockStrategy::Transaction => self.transaction_advisory_lock(),
            LockStrategy::Table => Trust::Real,
        }
    }

    /// The strategy to use when none is given: [`LockStrategy::Session`] where its lock
    /// is real (PostgreSQL, MySQL, MariaDB, SQLite's lock file, TiDB from v6.1, whose
    /// `GET_LOCK` is cluster-wide), otherwise [`LockStrategy::Table`] (CockroachDB,
    /// YugabyteDB, older TiDB). Behind a transaction-mode pooler, which no version
    /// string shows, the session lock is not safe: the caller must ask for another.
    pub fn default_lock_strategy(&self) -> LockStrategy {
        if self.session_advisory_lock().is_real() {
            LockStrategy::Session
        } else {
            LockStrategy::Table
        }
    }

    /// The longest a single lock wait may last, where the server caps it: TiDB clamps
    /// `GET_LOCK`'s timeout to 3600 s, so a longer wait has to ask again.
    pub fn lock_wait_limit(&self) -> Option<Duration> {
        match self {
            Server::TiDb { .. } => Some(TIDB_MAX_LOCK_WAIT),
            _ => None,
        }
    }

    /// Why `strategy` is not to be relied on here, or what limits it, in one sentence
    /// for a message; `None` when there is nothing to say.
    pub fn lock_caveat(&self, strategy: LockStrategy) -> Option<&'static str> {
        use LockStrategy::{Session, Table, Transaction};
        Some(match (self, strategy) {
            (_, Table) => return None,
            (Server::Cockroach { .. }, Session) => {
                "CockroachDB's session advisory lock functions are missing or no-op stubs \
                 that report success without locking (cockroach#13546)"
            }
            (Server::Cockroach { .. }, Transaction) => {
                "CockroachDB's transaction advisory locks are new (v26.3), gated on the \
                 cluster version and keyed per database; older releases may stub them"
            }
            (Server::Yugabyte { .. }, _) => {
                "YugabyteDB's advisory locks fail, are silenced into no-ops, or work only \
                 behind a preview flag (yugabyte-db#3642)"
            }
            (Server::TiDb { .. }, Session) if !self.session_advisory_lock().is_real() => {
                "TiDB before v6.1 answers GET_LOCK with 1 without locking \
                 (tidb_enable_noop_functions)"
            }
            (Server::TiDb { .. }, Session) => {
                "TiDB caps a GET_LOCK wait at 3600 s and does not detect deadlocks between \
                 user locks"
            }
            (Server::MySql { .. } | Server::MariaDb { .. }, Session) => {
                "GET_LOCK is local to one server: on a multi-primary cluster (Group \
                 Replication, Galera) each node grants it"
            }
            (Server::Postgres { .. }, Session) => {
                "a session advisory lock leaks behind a pooler in transaction mode \
                 (PgBouncer): use the transaction or table strategy there"
            }
            (Server::Postgres { .. }, Transaction) => return None,
            (
                Server::MySql { .. }
                | Server::MariaDb { .. }
                | Server::TiDb { .. }
                | Server::Sqlite { .. },
                Transaction,
            ) => "no transaction-scoped named lock on this server",
            (Server::Sqlite { .. }, Session) => return None,
        })
    }
}

impl fmt::Display for Server {
    /// The name and version: `PostgreSQL 15.19`, `YugabyteDB 2.20.1.0 (PostgreSQL
    /// 11.2)`, `TiDB 8.1.0 (MySQL 8.0.11)`; the bare name when the version is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if let Some(v) = self.version() {
            write!(f, " {v}")?;
        }
        match self {
            Server::Yugabyte {
                postgres: Some(pg), ..
            } => write!(f, " (PostgreSQL {pg})"),
            Server::TiDb {
                mysql: Some(my), ..
            } => write!(f, " (MySQL {my})"),
            _ => Ok(()),
        }
    }
}

/// What follows the first occurrence of `needle` (lowercase ASCII) in `haystack`,
/// compared case-insensitively.
fn after<'a>(haystack: &'a str, needle: &str) -> Option<&'a str> {
    // ASCII lowercasing keeps every byte where it was, so the offset holds in `haystack`.
    let at = haystack.to_ascii_lowercase().find(needle)?;
    haystack.get(at + needle.len()..)
}

/// PostgreSQL's version: after "PostgreSQL " in `version()`, or the whole string when
/// it is a bare `server_version` ("15.19", "15.12-YB-2.25.2.0-b0").
fn postgres_version(text: &str) -> Option<Version> {
    match after(text, "postgresql ") {
        Some(rest) => Version::parse(rest.trim_start()),
        None => Version::parse(text),
    }
}

/// CockroachDB's release: the first `v` followed by a digit after "CockroachDB"
/// ("CockroachDB CCL v23.2.4 (…)", "CockroachDB OSS v19.2.0").
fn cockroach_version(rest: &str) -> Option<Version> {
    let bytes = rest.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| matches!(bytes[i], b'v' | b'V') && bytes[i + 1].is_ascii_digit())
        .and_then(|i| Version::parse(&rest[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Option<Version> {
        Some(Version::parse(text).expect(text))
    }

    fn pg(s: &str) -> Server {
        Server::detect(Dialect::Postgres, s)
    }

    fn my(s: &str) -> Server {
        Server::detect(Dialect::MySql, s)
    }

    // -- Captured version strings. Each names where it was seen.

    #[test]
    fn postgres() {
        // The capture (issue 13 item 6).
        let s = "PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu, compiled by \
                 gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit";
        assert_eq!(
            pg(s),
            Server::Postgres {
                version: v("15.19")
            }
        );
        // This project's own server (DESIGN.md §8), `SELECT version()` on 2026-12-07.
        let s = "PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by \
                 gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit";
        let server = pg(s);
        assert_eq!(
            server,
            Server::Postgres {
                version: v("15.20")
            }
        );
        assert_eq!(server.to_string(), "PostgreSQL 15.20");
        assert_eq!(
            server.version().map(|v| (v.major(), v.minor())),
            Some((15, 20))
        );
        // Shapes from PostgreSQL's own numbering: a pre-release and a 9.x release.
        assert_eq!(
            pg("PostgreSQL 17beta1 on x86_64-pc-linux-gnu, compiled by gcc"),
            Server::Postgres { version: v("17") }
        );
        assert_eq!(
            pg("PostgreSQL 9.6.24 on x86_64-pc-linux-gnu"),
            Server::Postgres {
                version: v("9.6.24")
            }
        );
        // A bare `server_version`.
        assert_eq!(pg("16.4"), Server::Postgres { version: v("16.4") });
    }

    #[test]
    fn cockroach() {
        // The capture.
        let s =
            "CockroachDB CCL v23.2.4 (x86_64-pc-linux-gnu, built 2024/04/04 17:07:29, go1.21.5)";
        assert_eq!(
            pg(s),
            Server::Cockroach {
                version: v("23.2.4")
            }
        );
        assert_eq!(pg(s).to_string(), "CockroachDB 23.2.4");
        // `cockroach sql -e "SELECT version();"` output quoted in a public tutorial
        // (a "mini-baas" project's CockroachDB CLI notes).
        let s = "CockroachDB CCL v24.3.5 (x86_64-pc-linux-gnu, built 2025/02/03 17:28:15, ...)";
        assert_eq!(
            pg(s),
            Server::Cockroach {
                version: v("24.3.5")
            }
        );
        // The `cockroach sql` banner's server version (Docker's CockroachDB guide).
        let s = "CockroachDB CCL v20.1.15 (x86_64-unknown-linux-gnu, built 2021/04/26 16:11:58, go1.13.9)";
        assert_eq!(
            pg(s),
            Server::Cockroach {
                version: v("20.1.15")
            }
        );
        // CockroachDB's own comment on `SELECT version()` (pkg/sql/explain_bundle.go):
        // "-- Version: CockroachDB CCL v20.1.0 ...".
        assert_eq!(
            pg("CockroachDB CCL v20.1.0 ..."),
            Server::Cockroach {
                version: v("20.1.0")
            }
        );
        // The Apache-licensed build says OSS; a pre-release carries a suffix.
        assert_eq!(
            pg("CockroachDB OSS v19.2.0 (x86_64-unknown-linux-gnu, built 2019/11/04)"),
            Server::Cockroach {
                version: v("19.2.0")
            }
        );
        assert_eq!(
            pg("CockroachDB CCL v24.1.0-beta.2 (aarch64-unknown-linux-gnu, built …)"),
            Server::Cockroach {
                version: v("24.1.0")
            }
        );
    }

    #[test]
    fn yugabyte() {
        // The capture.
        let s = "PostgreSQL 11.2-YB-2.20.1.0-b0 on x86_64-pc-linux-gnu, compiled by clang \
                 version 16.0.6, 64-bit";
        let server = pg(s);
        assert_eq!(
            server,
            Server::Yugabyte {
                version: v("2.20.1.0"),
                postgres: v("11.2"),
            }
        );
        assert_eq!(server.to_string(), "YugabyteDB 2.20.1.0 (PostgreSQL 11.2)");
        // `select version();` in ysqlsh, quoted in a published YugabyteDB benchmark post.
        let s = "PostgreSQL 11.2-YB-2.6.1.0-b0 on x86_64-pc-linux-gnu, compiled by gcc \
                 (Homebrew gcc 5.5.0_4) 5.5.0, 64-bit";
        assert_eq!(
            pg(s),
            Server::Yugabyte {
                version: v("2.6.1.0"),
                postgres: v("11.2"),
            }
        );
        // A Go project's detection test fixture.
        let s =
            "PostgreSQL 11.2-YB-2.25.1.0-b0 on x86_64-pc-linux-gnu, compiled by clang, YugabyteDB";
        assert_eq!(pg(s).version(), v("2.25.1.0"));
        // The PostgreSQL 15 based releases and the year-numbered stable series.
        let s = "PostgreSQL 15.2-YB-2026.1.0.0-b0";
        assert_eq!(
            pg(s),
            Server::Yugabyte {
                version: v("2026.1.0.0"),
                postgres: v("15.2"),
            }
        );
        // psql's banner shows `server_version`: "server 15.12-YB-2.25.2.0-b0".
        assert_eq!(
            pg("15.12-YB-2.25.2.0-b0"),
            Server::Yugabyte {
                version: v("2.25.2.0"),
                postgres: v("15.12"),
            }
        );
    }

    #[test]
    fn mysql() {
        // The captures.
        assert_eq!(
            my("8.0.36"),
            Server::MySql {
                version: v("8.0.36")
            }
        );
        assert_eq!(
            my("8.4.0-log"),
            Server::MySql {
                version: v("8.4.0")
            }
        );
        // dbcli/mycli's version-parsing test table: Ubuntu's build, Percona, an old
        // Windows build.
        assert_eq!(
            my("5.7.32-0ubuntu0.18.04.1"),
            Server::MySql {
                version: v("5.7.32")
            }
        );
        assert_eq!(
            my("5.7.32-35"),
            Server::MySql {
                version: v("5.7.32")
            }
        );
        assert_eq!(
            my("5.0.16-pro-nt-log"),
            Server::MySql {
                version: v("5.0.16")
            }
        );
        assert_eq!(my("8.0.36").to_string(), "MySQL 8.0.36");
    }

    #[test]
    fn mariadb() {
        // The captures; the first is also this project's own server.
        let server = my("10.11.19-MariaDB-0+deb12u1");
        assert_eq!(
            server,
            Server::MariaDb {
                version: v("10.11.19")
            }
        );
        assert_eq!(server.to_string(), "MariaDB 10.11.19");
        assert_eq!(
            my("11.4.2-MariaDB-ubu2404"),
            Server::MariaDb {
                version: v("11.4.2")
            }
        );
        // dbcli/mycli's table: the official image, and the handshake's "5.5.5-" form.
        assert_eq!(
            my("10.5.8-MariaDB-1:10.5.8+maria~focal"),
            Server::MariaDb {
                version: v("10.5.8")
            }
        );
        assert_eq!(
            my("5.5.5-10.5.8-MariaDB-1:10.5.8+maria~focal"),
            Server::MariaDb {
                version: v("10.5.8")
            }
        );
        assert_eq!(
            my("10.11.6-MariaDB"),
            Server::MariaDb {
                version: v("10.11.6")
            }
        );
    }

    #[test]
    fn tidb() {
        // The capture (also a Temporal TiDB sample's mock).
        let server = my("8.0.11-TiDB-v8.1.0");
        assert_eq!(
            server,
            Server::TiDb {
                version: v("8.1.0"),
                mysql: v("8.0.11"),
            }
        );
        assert_eq!(server.to_string(), "TiDB 8.1.0 (MySQL 8.0.11)");
        // PingCAP's docs, `SELECT VERSION();` (functions-and-operators/information-functions).
        assert_eq!(my("8.0.11-TiDB-v7.5.1").version(), v("7.5.1"));
        // dbcli/mycli's table: a 6.1 that reported MySQL 5.7, and a development build.
        assert_eq!(
            my("5.7.25-TiDB-v6.1.0"),
            Server::TiDb {
                version: v("6.1.0"),
                mysql: v("5.7.25"),
            }
        );
        assert_eq!(
            my("8.0.11-TiDB-v7.2.0-alpha-69-g96e9e68daa").version(),
            v("7.2.0")
        );
        // TiDB Cloud Serverless, and a nightly, as public project notes quote them.
        assert_eq!(my("8.0.11-TiDB-v8.5.3-serverless").version(), v("8.5.3"));
        assert_eq!(
            my("8.0.11-TiDB-v9.0.0-beta.2.pre-1895-g5c9198e948").version(),
            v("9.0.0")
        );
    }

    #[test]
    fn tidb_behind_a_configured_version() {
        // TiDB's `server-version` setting changes what VERSION() says; the comment
        // still names it (the mysql client's banner: version, then version_comment).
        let comment = "TiDB Server (Apache License 2.0) Community Edition, MySQL 8.0 compatible";
        let server = my("8.0.36").with_comment(comment);
        assert_eq!(
            server,
            Server::TiDb {
                version: None,
                mysql: v("8.0.36"),
            }
        );
        assert_eq!(server.session_advisory_lock(), Trust::Untrusted);
        // PingCAP's docs, `SELECT TIDB_VERSION()\G`.
        let tidb_version = "Release Version: v7.5.1\nEdition: Community\nGit Commit Hash: \
                            7d16cc79e81bbf573124df3fd9351c26963f3e70\nGit Branch: \
                            heads/refs/tags/v7.5.1\nUTC Build Time: 2024-02-27 14:28:32\n\
                            GoVersion: go1.21.6\nStore: tikv";
        let server = server.with_tidb_version(tidb_version);
        assert_eq!(server.version(), v("7.5.1"));
        assert_eq!(server.session_advisory_lock(), Trust::Real);
        // Comments of the others change nothing.
        assert_eq!(
            my("8.0.36").with_comment("MySQL Community Server - GPL"),
            my("8.0.36")
        );
        assert_eq!(
            my("10.11.19-MariaDB").with_comment("Debian 12"),
            my("10.11.19-MariaDB")
        );
        assert_eq!(
            my("10.6.0").with_comment("mariadb.org binary distribution"),
            Server::MariaDb {
                version: v("10.6.0")
            }
        );
        assert_eq!(
            pg("PostgreSQL 16.1").with_tidb_version(tidb_version),
            pg("PostgreSQL 16.1")
        );
    }

    #[test]
    fn sqlite() {
        // The capture.
        let server = Server::detect(Dialect::Sqlite, "3.45.1");
        assert_eq!(
            server,
            Server::Sqlite {
                version: v("3.45.1")
            }
        );
        assert_eq!(server.to_string(), "SQLite 3.45.1");
    }

    #[test]
    fn unknown_strings_fall_back_to_the_family() {
        for s in [
            "",
            "   ",
            "garbage",
            "Cloud Spanner PostgreSQL interface",
            "PostgreSQL",
        ] {
            assert_eq!(pg(s), Server::Postgres { version: None }, "{s:?}");
        }
        assert_eq!(my(""), Server::MySql { version: None });
        assert_eq!(my("Vitess"), Server::MySql { version: None });
        assert_eq!(
            Server::detect(Dialect::Sqlite, "?"),
            Server::Sqlite { version: None }
        );
        // Recognised, but without a readable version.
        assert_eq!(pg("CockroachDB"), Server::Cockroach { version: None });
        assert_eq!(
            pg("PostgreSQL x-YB-"),
            Server::Yugabyte {
                version: None,
                postgres: None,
            }
        );
        assert_eq!(
            my("x-TiDB-"),
            Server::TiDb {
                version: None,
                mysql: None,
            }
        );
        assert_eq!(pg("").to_string(), "PostgreSQL");
        // Case does not matter; surrounding space is ignored.
        assert_eq!(
            pg("  cockroachdb ccl V23.1.0  "),
            Server::Cockroach {
                version: v("23.1.0")
            }
        );
        // Numbers too long for 32 bits, and text that is not ASCII.
        assert_eq!(
            pg("PostgreSQL 99999999999.1"),
            Server::Postgres { version: None }
        );
        assert_eq!(
            my("8.0.11-TiDB-vé"),
            Server::TiDb {
                version: None,
                mysql: v("8.0.11")
            }
        );
        assert_eq!(pg("ÄÖÜ -YB- é").family(), Dialect::Postgres);
    }

    #[test]
    fn versions() {
        assert_eq!(Version::parse("8.4.0-log"), Some(Version::new(8, 4, 0)));
        assert_eq!(Version::parse("15.0"), Some(Version::new(15, 0, 0)));
        assert_eq!(
            Version::parse("15.0").map(|v| v.to_string()),
            Some("15.0".into())
        );
        assert_eq!(
            v("2.20.1.0").map(|v| v.to_string()),
            Some("2.20.1.0".into())
        );
        // Four numbers at most; a trailing dot is not a number.
        assert_eq!(
            v("1.2.3.4.5").map(|v| v.to_string()),
            Some("1.2.3.4".into())
        );
        assert_eq!(v("3.").map(|v| v.to_string()), Some("3".into()));
        assert!(v("2.20.1.3") > v("2.20.1.0"));
        assert!(v("10.11.19") > v("10.5.8"));
        assert!(Version::new(6, 1, 0).at_least(6, 1));
        assert!(!Version::new(6, 0, 9).at_least(6, 1));
        assert_eq!(Version::parse("v1"), None);
        assert_eq!(Version::parse(""), None);
    }

    // -- Capabilities

    #[test]
    fn capabilities() {
        use LockStrategy::{Session, Table, Transaction};
        use Trust::{Real, Unsupported, Untrusted};
        let postgres = pg("PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu");
        let cockroach = pg("CockroachDB CCL v23.2.4 (x86_64-pc-linux-gnu, built 2024/04/04)");
        let cockroach_26 = pg("CockroachDB CCL v26.3.0 (x86_64-pc-linux-gnu, built 2026/08/01)");
        let yugabyte = pg("PostgreSQL 11.2-YB-2.20.1.0-b0 on x86_64-pc-linux-gnu");
        let mysql = my("8.4.0-log");
        let mariadb = my("10.11.19-MariaDB-0+deb12u1");
        let tidb = my("8.0.11-TiDB-v8.1.0");
        let old_tidb = my("5.7.25-TiDB-v5.4.0");
        let sqlite = Server::detect(Dialect::Sqlite, "3.45.1");

        // server, session lock, transaction lock, DDL, default strategy
        let table = [
            (postgres, Real, Real, Ddl::Transactional, Session),
            (
                cockroach,
                Untrusted,
                Untrusted,
                Ddl::OnePerTransaction,
                Table,
            ),
            (
                cockroach_26,
                Untrusted,
                Untrusted,
                Ddl::OnePerTransaction,
                Table,
            ),
            (yugabyte, Untrusted, Untrusted, Ddl::AutoCommit, Table),
            (mysql, Real, Unsupported, Ddl::AutoCommit, Session),
            (mariadb, Real, Unsupported, Ddl::AutoCommit, Session),
            (tidb, Real, Unsupported, Ddl::AutoCommit, Session),
            (old_tidb, Untrusted, Unsupported, Ddl::AutoCommit, Table),
            (sqlite, Real, Unsupported, Ddl::Transactional, Session),
        ];
        for (server, session, transaction, ddl, default) in table {
            assert_eq!(server.session_advisory_lock(), session, "{server}");
            assert_eq!(server.transaction_advisory_lock(), transaction, "{server}");
            assert_eq!(server.transactional_ddl(), ddl, "{server}");
            assert_eq!(server.default_lock_strategy(), default, "{server}");
            assert_eq!(server.lock(Session), session, "{server}");
            assert_eq!(server.lock(Transaction), transaction, "{server}");
            assert_eq!(server.lock(Table), Real, "{server}");
            assert_eq!(server.lock_caveat(Table), None, "{server}");
            // The default is always a strategy whose lock is real.
            assert!(server.lock(default).is_real(), "{server}");
            // Every lock that is not real says why.
            for strategy in LockStrategy::ALL {
                if !server.lock(strategy).is_real() {
                    assert!(
                        server.lock_caveat(strategy).is_some(),
                        "{server} {strategy}"
                    );
                }
            }
        }
        assert!(Ddl::Transactional.is_atomic());
        assert!(!Ddl::OnePerTransaction.is_atomic());
        assert_eq!(tidb.lock_wait_limit(), Some(Duration::from_secs(3600)));
        assert_eq!(old_tidb.lock_wait_limit(), Some(Duration::from_secs(3600)));
        assert_eq!(mariadb.lock_wait_limit(), None);
        assert_eq!(postgres.lock_caveat(Transaction), None);
        assert_eq!(sqlite.lock_caveat(Session), None);
        assert!(
            postgres
                .lock_caveat(Session)
                .is_some_and(|c| c.contains("pooler"))
        );
        // TiDB's GET_LOCK became real in v6.1.
        assert_eq!(my("5.7.25-TiDB-v6.0.0").session_advisory_lock(), Untrusted);
        assert_eq!(my("5.7.25-TiDB-v6.1.0").session_advisory_lock(), Real);
        // A TiDB whose release is unknown is not trusted.
        assert_eq!(my("x-TiDB-").session_advisory_lock(), Untrusted);
    }

    #[test]
    fn family_and_name() {
        let all = [
            (pg("PostgreSQL 16.1"), "PostgreSQL", Dialect::Postgres),
            (
                pg("CockroachDB CCL v23.2.4"),
                "CockroachDB",
                Dialect::Postgres,
            ),
            (
                pg("PostgreSQL 11.2-YB-2.20.1.0-b0"),
                "YugabyteDB",
                Dialect::Postgres,
            ),
            (my("8.0.36"), "MySQL", Dialect::MySql),
            (my("11.4.2-MariaDB"), "MariaDB", Dialect::MySql),
            (my("8.0.11-TiDB-v8.1.0"), "TiDB", Dialect::MySql),
            (
                Server::detect(Dialect::Sqlite, "3.45.1"),
                "SQLite",
                Dialect::Sqlite,
            ),
        ];
        for (server, name, family) in all {
            assert_eq!(server.name(), name);
            assert_eq!(server.family(), family);
        }
    }

    // -- LockStrategy

    #[test]
    fn lock_strategy_parses_and_prints() {
        for strategy in LockStrategy::ALL {
            assert_eq!(strategy.to_string().parse::<LockStrategy>(), Ok(strategy));
        }
        assert_eq!(" Table ".parse::<LockStrategy>(), Ok(LockStrategy::Table));
        assert_eq!("SESSION".parse::<LockStrategy>(), Ok(LockStrategy::Session));
        let err = "advisory".parse::<LockStrategy>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown lock strategy `advisory`: expected `session`, `transaction` or `table`"
        );
        let err = "".parse::<LockStrategy>().unwrap_err();
        assert!(err.to_string().starts_with("unknown lock strategy ``"));
        // One line, whatever was typed.
        let err = "a\nb".parse::<LockStrategy>().unwrap_err();
        assert!(!err.to_string().contains('\n'));
    }

    proptest::proptest! {
        #[test]
        fn detect_never_panics(s in "\\PC{0,40}", tail in "[-.0-9a-zA-Z ]{0,20}") {
            for family in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
                for text in [s.clone(), format!("{s}-YB-{tail}"), format!("{s}-TiDB-{tail}"),
                             format!("CockroachDB {tail}{s}"), format!("5.5.5-{tail}MariaDB")] {
                    let server = Server::detect(family, &text)
                        .with_comment(&s)
                        .with_tidb_version(&text);
                    let _ = server.to_string();
                    proptest::prop_assert_eq!(server.family(), family);
                    proptest::prop_assert!(server.lock(server.default_lock_strategy()).is_real());
                }
            }
        }
    }
}
