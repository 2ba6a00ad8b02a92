//! A test database seen through its own command-line client: run a SQL script with it
//! (`psql`, `mysql`, `sqlite3`, stopping at the first error), dump its schema in a form
//! two databases built the same way share (`pg_dump`, `mysqldump`, `sqlite3 .schema`),
//! and list its recorded revisions. Host, port, user, password and database all come
//! from the [`TestDb`]'s URL.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::{Backend, TestDb};

/// The programs this module runs for `backend`.
fn programs(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Postgres => &["psql", "pg_dump"],
        Backend::MySql => &["mysql", "mysqldump"],
        Backend::Sqlite => &["sqlite3"],
    }
}

/// Whether `db`'s client and dump tool are installed. Outside CI a missing one skips
/// the test with a line on stderr (the answer is `false`); under `CI=true` it fails it.
pub fn clients(db: &TestDb) -> bool {
    let missing: Vec<&str> = programs(db.backend)
        .iter()
        .copied()
        .filter(|p| Command::new(p).arg("--version").output().is_err())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{missing:?} not installed in CI: the --sql tests need them"
    );
    crate::support::skipped(&format!(
        "{:?} script test: {missing:?} not installed",
        db.backend
    ));
    false
}

/// The parts of a server URL a client's command line takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<String>,
    pub database: String,
}

/// `scheme://[user[:password]@]host[:port]/database[?query]`.
pub fn parse_server_url(url: &str) -> Target {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, hostport) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    let (user, password) = match credentials {
        Some(c) => match c.split_once(':') {
            Some((u, p)) => (Some(decode(u)), Some(decode(p))),
            None => (Some(decode(c)), None),
        },
        None => (None, None),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
            (h.to_string(), Some(p.to_string()))
        }
        _ => (hostport.to_string(), None),
    };
    Target {
        user,
        password,
        host: if host.is_empty() {
            "localhost".into()
        } else {
            host
        },
        port,
        database: decode(database),
    }
}

/// Percent-decoding, for a user, password or database name in a URL.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The file of a `sqlite://PATH[?query]` URL.
pub fn sqlite_path(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split_once('?').map_or(rest, |(p, _)| p).to_string()
}

/// `program` with the connection options of `db`'s URL, the database last when
/// `with_database`.
fn client(db: &TestDb, program: &str) -> Command {
    let mut cmd = Command::new(program);
    match db.backend {
        Backend::Sqlite => {}
        Backend::Postgres => {
            let t = parse_server_url(&db.url);
            cmd.args(["-h", &t.host]);
            if let Some(port) = &t.port {
                cmd.args(["-p", port]);
            }
            if let Some(user) = &t.user {
                cmd.args(["-U", user]);
            }
            if let Some(password) = &t.password {
                cmd.env("PGPASSWORD", password);
            }
            cmd.arg("-w"); // never prompt for a password
        }
        Backend::MySql => {
            let t = parse_server_url(&db.url);
            // a host name of `localhost` means the socket to the client: force TCP
            cmd.arg(format!("--host={}", t.host)).arg("--protocol=TCP");
            if let Some(port) = &t.port {
                cmd.arg(format!("--port={port}"));
            }
            if let Some(user) = &t.user {
                cmd.arg(format!("--user={user}"));
            }
            if let Some(password) = &t.password {
                cmd.env("MYSQL_PWD", password);
            }
        }
    }
    cmd
}

/// The database name (server) or file (SQLite) the clients take last.
fn database_arg(db: &TestDb) -> String {
    match db.backend {
        Backend::Sqlite => sqlite_path(&db.url),
        _ => parse_server_url(&db.url).database,
    }
}

fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let output = child.wait_with_output().expect("wait for the client");
    let _ = writer.join();
    output
}

/// The command line that runs a script on `db` with its own client, stopping at the
/// first error; the script goes on stdin.
pub fn script_runner(db: &TestDb) -> Command {
    match db.backend {
        Backend::Postgres => {
            let mut cmd = client(db, "psql");
            cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-q", "-d", &database_arg(db)]);
            cmd
        }
        Backend::MySql => {
            let mut cmd = client(db, "mysql");
            cmd.arg(database_arg(db));
            cmd
        }
        Backend::Sqlite => {
            let mut cmd = client(db, "sqlite3");
            cmd.args(["-bail", &database_arg(db)]);
            cmd
        }
    }
}

/// Runs `script` on `db` with its own client; the client's output, whatever its status.
pub fn try_run_script(db: &TestDb, script: &str) -> Output {
    run_with_stdin(script_runner(db), script)
}

/// Runs `script` on `db` with its own client, which must succeed without an error.
pub fn run_script(db: &TestDb, script: &str) {
    let o = try_run_script(db, script);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && !err.to_lowercase().contains("error"),
        "the {:?} client failed on the script ({:?})\nstderr:\n{err}\nstdout:\n{}\nscript:\n{script}",
        db.backend,
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
    );
}

/// Runs one query with the client; its rows, one per line, tab-separated.
pub fn query(db: &TestDb, sql: &str) -> String {
    let mut cmd = match db.backend {
        Backend::Postgres => {
            let mut cmd = client(db, "psql");
            cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-q", "-A", "-t", "-F", "\t"]);
            cmd.args(["-d", &database_arg(db), "-c", sql]);
            cmd
        }
        Backend::MySql => {
            let mut cmd = client(db, "mysql");
            cmd.args(["-N", "-B", &database_arg(db), "-e", sql]);
            cmd
        }
        Backend::Sqlite => {
            let mut cmd = client(db, "sqlite3");
            cmd.args(["-bail", "-separator", "\t", &database_arg(db), sql]);
            cmd
        }
    };
    let o = cmd.output().expect("run the client");
    assert!(
        o.status.success(),
        "{sql} on {:?} failed: {}",
        db.backend,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The revisions `seaql_migrations` records, in order.
pub fn versions(db: &TestDb) -> Vec<String> {
    query(db, "SELECT version FROM seaql_migrations ORDER BY version")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `by_script` and `by_run` have the same schema and the same recorded revisions,
/// `want` (the schema not empty: a dump that failed to see anything proves nothing).
pub fn assert_same_database(by_script: &TestDb, by_run: &TestDb, want: &[&str]) {
    let (s, r) = (schema(by_script), schema(by_run));
    assert!(
        r.contains("seaql_migrations"),
        "the dump of the database the run built has no tracking table:\n{r}"
    );
    assert_eq!(
        s, r,
        "{:?}: the schema the script built (left) differs from the one the run built (right)",
        by_script.backend
    );
    assert_eq!(versions(by_script), want, "recorded by the script");
    assert_eq!(versions(by_run), want, "recorded by the run");
}

/// The database's schema as its own dump tool writes it, without what differs between
/// two databases of the same schema (comments, the dump's settings, counters).
pub fn schema(db: &TestDb) -> String {
    let mut cmd = match db.backend {
        Backend::Postgres => {
            let mut cmd = client(db, "pg_dump");
            cmd.args(["--schema-only", "--no-owner", "--no-privileges"]);
            cmd.arg(database_arg(db));
            cmd
        }
        Backend::MySql => {
            let mut cmd = client(db, "mysqldump");
            cmd.args(["--no-data", "--skip-comments", "--skip-dump-date"]);
            cmd.arg(database_arg(db));
            cmd
        }
        Backend::Sqlite => {
            let mut cmd = client(db, "sqlite3");
            cmd.args([&database_arg(db), ".schema"]);
            cmd
        }
    };
    let o = cmd.output().expect("run the dump tool");
    assert!(
        o.status.success(),
        "the {:?} schema dump failed: {}",
        db.backend,
        String::from_utf8_lossy(&o.stderr)
    );
    normalise(db.backend, &String::from_utf8_lossy(&o.stdout))
}

/// A dump without its comments, settings and counters, blank lines squeezed.
pub fn normalise(backend: Backend, dump: &str) -> String {
    let mut out = Vec::new();
    for line in dump.lines() {
        let t = line.trim_end();
        let skip = match backend {
            Backend::Postgres => {
                t.starts_with("--")
                    || t.starts_with("\\restrict")
                    || t.starts_with("\\unrestrict")
                    || t.starts_with("SET ")
                    || t.starts_with("SELECT pg_catalog.set_config")
            }
            Backend::MySql => t.starts_with("--"),
            Backend::Sqlite => false,
        };
        if skip || (t.is_empty() && out.last().is_none_or(|l: &String| l.is_empty())) {
            continue;
        }
        let t = if backend == Backend::MySql {
            strip_auto_increment(t)
        } else {
            t.to_string()
        };
        out.push(t);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// `AUTO_INCREMENT=n ` (a table option, the next id) removed: it counts rows ever
/// inserted, not the schema.
fn strip_auto_increment(line: &str) -> String {
    let Some(at) = line.find(" AUTO_INCREMENT=") else {
        return line.to_string();
    };
    let rest = &line[at + " AUTO_INCREMENT=".len()..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    format!("{}{}", &line[..at], &rest[digits..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_give_the_clients_their_options() {
        let t = parse_server_url("postgres://postgres@127.0.0.1:5432/cm_1?sslmode=disable");
        assert_eq!(t.user.as_deref(), Some("postgres"));
        assert_eq!(t.password, None);
        assert_eq!(
            (t.host.as_str(), t.port.as_deref()),
            ("127.0.0.1", Some("5432"))
        );
        assert_eq!(t.database, "cm_1");
        let t = parse_server_url("mysql://root:p%40ss@db:3306/x");
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.host, "db");
        assert_eq!(
            sqlite_path("sqlite:///tmp/a/test.db?mode=rwc"),
            "/tmp/a/test.db"
        );
    }

    #[test]
    fn counters_are_not_schema() {
        assert_eq!(
            strip_auto_increment(") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4;"),
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
        );
    }
}
