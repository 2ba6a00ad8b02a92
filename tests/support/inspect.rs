//! Looking at a test database from outside, for the `--dry-run` tests: full dumps
//! through the backends' own clients (`pg_dump`, `sqlite3 .dump`, `mysqldump`), its
//! tables, the scratch databases a dry run may leave, and the parts of a failure line.
#![allow(dead_code)]

use std::process::Command;

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};

use crate::support::run::Ran;
use crate::support::{Backend, TestDb};

/// The parts of a server URL `scheme://user[:password]@host[:port]/database`.
pub struct Server {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<String>,
    pub database: String,
}

pub fn server(url: &str) -> Server {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (auth, rest) = rest.rsplit_once('@').unwrap_or(("", rest));
    let (user, password) = match auth.split_once(':') {
        Some((u, p)) => (u.to_string(), Some(p.to_string())),
        None => (auth.to_string(), None),
    };
    let (hostport, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), Some(p.to_string())),
        None => (hostport.to_string(), None),
    };
    Server {
        user,
        password,
        host,
        port,
        database: database.to_string(),
    }
}

/// The file of a `sqlite://PATH?…` URL.
pub fn sqlite_path(url: &str) -> String {
    let rest = url.trim_start_matches("sqlite://");
    rest.split_once('?').map_or(rest, |(p, _)| p).to_string()
}

/// A MySQL client program (`mysql`, `mysqldump`) with the URL's credentials.
pub fn mysql_cmd(program: &str, url: &str) -> Command {
    let s = server(url);
    let mut cmd = Command::new(program);
    cmd.arg(format!("--host={}", s.host))
        .arg(format!("--user={}", s.user));
    if let Some(port) = &s.port {
        cmd.arg(format!("--port={port}"));
    }
    if let Some(password) = &s.password {
        cmd.arg(format!("--password={password}"));
    }
    cmd
}

/// Runs a client program, which must succeed; its stdout.
pub fn client(mut cmd: Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// Everything the database holds, schema and data, as text that changes when either does.
pub fn dump(db: &TestDb) -> String {
    match db.backend {
        Backend::Sqlite => {
            let mut cmd = Command::new("sqlite3");
            cmd.arg(sqlite_path(&db.url)).arg(".dump");
            client(cmd)
        }
        Backend::Postgres => {
            let mut cmd = Command::new("pg_dump");
            cmd.args(["--no-owner", "--no-privileges", "--dbname", &db.url]);
            // comments, session settings and the per-dump `\restrict` key vary by run
            client(cmd)
                .lines()
                .filter(|l| {
                    !(l.starts_with("--")
                        || l.starts_with("SET ")
                        || l.starts_with("\\restrict")
                        || l.starts_with("\\unrestrict")
                        || l.starts_with("SELECT pg_catalog.set_config"))
                })
                .map(|l| format!("{l}\n"))
                .collect()
        }
        Backend::MySql => {
            let mut cmd = mysql_cmd("mysqldump", &db.url);
            cmd.args(["--skip-dump-date", "--skip-comments", "--routines"])
                .arg(server(&db.url).database);
            client(cmd)
        }
    }
}

/// The first column of `sql`'s rows, through the backend's own client.
pub fn query(db: &TestDb, sql: &str) -> Vec<String> {
    let out = match db.backend {
        Backend::Sqlite => {
            let mut cmd = Command::new("sqlite3");
            cmd.arg(sqlite_path(&db.url)).arg(sql);
            client(cmd)
        }
        Backend::Postgres => {
            let mut cmd = Command::new("psql");
            cmd.args([
                "-X",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &db.url,
                "-c",
                sql,
            ]);
            client(cmd)
        }
        Backend::MySql => {
            let mut cmd = mysql_cmd("mysql", &db.url);
            cmd.args(["-N", "-B", "-e", sql]);
            client(cmd)
        }
    };
    out.lines().map(str::to_string).collect()
}

/// The tables of the test's database (all of them, the tracking tables included).
pub fn tables(db: &TestDb) -> Vec<String> {
    let sql = match db.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Backend::Postgres => {
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY table_name"
        }
        Backend::MySql => "SHOW TABLES",
    };
    let sql = if db.backend == Backend::MySql {
        format!("USE `{}`; {sql}", server(&db.url).database)
    } else {
        sql.to_string()
    };
    query(db, &sql)
}

/// The databases a dry run on `db` may have left behind.
pub fn scratch_databases(db: &TestDb) -> Vec<String> {
    let prefix = format!("{}_dryrun_", server(&db.url).database);
    query(db, "SHOW DATABASES")
        .into_iter()
        .filter(|d| d.starts_with(&prefix))
        .collect()
}

pub async fn exec(url: &str, sql: &str) {
    let conn = Database::connect(url).await.expect("connect");
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// Checks stderr says each of `ids` was simulated `direction` (`upgrade`/`downgrade`).
pub fn simulated(o: Ran, direction: &str, ids: &[&str]) -> Ran {
    ids.iter().fold(o, |o, id| {
        o.stderr_has(&format!("Simulated {direction} {id} ("))
    })
}

/// What follows `upgrade of `<id>` failed: ` on the error line: the database's message
/// and, in parentheses, what the run left behind.
pub fn failure(o: &Ran, id: &str) -> String {
    let err = o.stderr();
    let marker = format!("upgrade of `{id}` failed: ");
    let at = err
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker:?}\n{}", o.context()));
    err[at + marker.len()..]
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The database's message in a dry run's failure: before its closing note.
pub fn dry_failure_message(o: &Ran, id: &str) -> String {
    let line = failure(o, id);
    line.strip_suffix(" (dry run: nothing was changed)")
        .unwrap_or_else(|| panic!("no dry-run note in {line:?}\n{}", o.context()))
        .to_string()
}
