//! Bad input and a hostile world, through the example crate's migration binary: a
//! database that starts late (`--wait`), unknown and ambiguous revisions, malformed and
//! unsupported URLs, a refused password, a missing database, an unreachable server,
//! revisions the code does not know, and passwords that must never be printed. Every
//! error is one line with the README's exit code, and a refused command changes nothing.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::fs::File;
use std::io::{Read, Seek};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use support::late_server::{LateServer, free_port};
use support::run::{self, Ran, Run};
use support::{Backend, SECRET, SECRET_DECODED, SECRET_ENCODED, TestDb, Via};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");

const ALL: [&str; 6] = [
    "m20260101_000001_create_author",
    "m20260102_000001_create_post",
    "m20260103_000001_add_post_published",
    "m20260103_000002_create_tag",
    "m20260104_000001_merge_published_and_tags",
    "m20260105_000001_index_post_title",
];
const HEAD: &str = "m20260105_000001_index_post_title";
const GHOST: &str = "m20991231_000000_ghost";

// ---------------------------------------------------------------------------------------
// Running the binary

/// The binary with `args`, no colours, and no DATABASE_URL from the test's own
/// environment; `on` passes the URL with `--database-url`.
fn bin(args: &[&str]) -> Run {
    run::migrations(BIN, args)
}

/// Asserts the whole output is one `error: ` line on stderr containing `needle`.
fn assert_one_line_error(o: &Ran, needle: &str) -> String {
    let what = &o.what;
    let err = o.stderr();
    assert!(
        err.starts_with("error: ") && err.ends_with('\n') && err.lines().count() == 1,
        "`{what}`: not a one-line error:\n{err}"
    );
    assert!(err.contains(needle), "`{what}`: no `{needle}` in:\n{err}");
    let out = o.stdout();
    if what.contains("--format json") {
        // With JSON, the error is also the one object on stdout, with the exit code.
        let v: serde_json::Value = serde_json::from_str(out.trim_end())
            .unwrap_or_else(|e| panic!("`{what}`: not one JSON object ({e}):\n{out}"));
        assert_eq!(out.lines().count(), 1, "`{what}`:\n{out}");
        assert_eq!(v["event"], "error", "`{what}`: {v}");
        assert_eq!(
            v["exit_code"].as_i64(),
            o.code().map(i64::from),
            "`{what}`: {v}"
        );
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains(needle)),
            "`{what}`: {v}"
        );
    } else {
        assert_eq!(out, "", "`{what}`: an error prints no data");
    }
    err
}

/// Runs `args` on `url`, asserts the exit code and a one-line error containing `needle`.
fn expect_error(url: &str, args: &[&str], code: i32, needle: &str) -> String {
    assert_one_line_error(&bin(args).on(url).status(code), needle)
}

/// A child whose output goes to files (no reader threads, so many can run at once).
struct Running {
    what: String,
    child: Child,
    out: File,
    err: File,
    started: Instant,
}

fn spawn(run: Run) -> Running {
    let what = run.what().to_string();
    let mut cmd = run.into_command();
    let out = tempfile::tempfile().expect("temp file");
    let err = tempfile::tempfile().expect("temp file");
    let child = cmd
        .stdout(Stdio::from(out.try_clone().expect("clone")))
        .stderr(Stdio::from(err.try_clone().expect("clone")))
        .spawn()
        .expect("start the migration binary");
    Running {
        what,
        child,
        out,
        err,
        started: Instant::now(),
    }
}

impl Running {
    /// Waits at most `limit` from the start (then kills it and fails the test); returns
    /// the output and how long it ran.
    fn finish(mut self, limit: Duration) -> (Ran, Duration) {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status;
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("`{}` still running after {limit:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = self.started.elapsed();
        let read = |mut f: File| {
            let mut buf = Vec::new();
            f.rewind().expect("rewind");
            f.read_to_end(&mut buf).expect("read output");
            buf
        };
        let output = Output {
            status,
            stdout: read(self.out),
            stderr: read(self.err),
        };
        (Ran::new(self.what, output), took)
    }
}

// ---------------------------------------------------------------------------------------
// URLs and the database's contents

/// The parts of `scheme://userinfo@host:port/rest`.
fn split_url(url: &str) -> (&str, Option<&str>, &str, &str) {
    let scheme_end = url.find("://").map(|i| i + 3).expect("a URL with `://`");
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    (
        &url[..scheme_end],
        userinfo,
        hostport,
        &rest[authority_end..],
    )
}

/// `url` with the password `password` (its user kept, `postgres`/`root` if none).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, userinfo, hostport, rest) = split_url(url);
    let user = match userinfo {
        Some(u) => u.split(':').next().unwrap_or_default().to_string(),
        None if scheme.starts_with("mysql") => "root".to_string(),
        None => "postgres".to_string(),
    };
    format!("{scheme}{user}:{password}@{hostport}{rest}")
}

/// `url` naming the database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, userinfo, hostport, rest) = split_url(url);
    let query = rest.find('?').map_or("", |i| &rest[i..]);
    let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    format!("{scheme}{userinfo}{hostport}/{name}{query}")
}

/// `url` pointed at `127.0.0.1:port`, and the address of the server it named.
fn via_port(url: &str, port: u16, default_port: u16) -> (String, SocketAddr) {
    let (scheme, userinfo, hostport, rest) = split_url(url);
    let (host, server_port) = match hostport.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse().unwrap_or(default_port)),
        _ => (hostport, default_port),
    };
    let server = (host.trim_matches(['[', ']']), server_port)
        .to_socket_addrs()
        .expect("resolve the database server")
        .next()
        .expect("an address for the database server");
    let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    (format!("{scheme}{userinfo}127.0.0.1:{port}{rest}"), server)
}

fn sql_backend(backend: Backend) -> DbBackend {
    match backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
        Backend::MySql => DbBackend::MySql,
    }
}

async fn connect(tdb: &TestDb) -> DatabaseConnection {
    Database::connect(&tdb.url)
        .await
        .expect("connect to the test database")
}

/// One column of strings.
async fn strings(conn: &DatabaseConnection, backend: Backend, sql: &str) -> Vec<String> {
    let rows = conn
        .query_all_raw(Statement::from_string(sql_backend(backend), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut v: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name").expect("a string column"))
        .collect();
    v.sort();
    v
}

/// What a refused command must leave alone: the tables and the tracking rows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Contents {
    tables: Vec<String>,
    versions: Vec<String>,
}

/// The database's contents; `None` for a SQLite file that does not exist.
async fn contents(tdb: &TestDb) -> Option<Contents> {
    if tdb.backend == Backend::Sqlite {
        let url = tdb.url.strip_prefix("sqlite://").expect("a sqlite:// URL");
        let file = url.split('?').next().unwrap_or(url);
        if !std::path::Path::new(file).exists() {
            return None;
        }
    }
    let conn = connect(tdb).await;
    let tables_sql = match tdb.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = 'public'"
        }
        Backend::MySql => {
            "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables \
             WHERE table_schema = DATABASE()"
        }
    };
    let tables = strings(&conn, tdb.backend, tables_sql).await;
    let versions = if tables.iter().any(|t| t == "seaql_migrations") {
        strings(
            &conn,
            tdb.backend,
            "SELECT version AS name FROM seaql_migrations",
        )
        .await
    } else {
        Vec::new()
    };
    let _ = conn.close().await;
    Some(Contents { tables, versions })
}

async fn execute(tdb: &TestDb, sql: &str) {
    let conn = connect(tdb).await;
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// Defines `name::postgres` and `name::mysql` (the servers; SQLite has none).
macro_rules! on_every_server {
    ($name:ident, |$db:ident| $body:block) => {
        $crate::on_backends!($name [postgres: Postgres, mysql: MySql], |$db| $body);
    };
}

fn default_port(backend: Backend) -> u16 {
    match backend {
        Backend::MySql => 3306,
        _ => 5432,
    }
}

// ---------------------------------------------------------------------------------------
// A database that starts late

// The proxy opens after 6 s: longer than the driver's own 5-second connection attempt,
// so only `--wait` can explain a success.
on_every_server!(wait_connects_to_a_server_that_starts_late, |tdb| {
    const LATE: Duration = Duration::from_secs(6);
    let port = free_port();
    let (url, server) = via_port(&tdb.url, port, default_port(tdb.backend));
    let late = LateServer::start(port, server, LATE);
    let (o, took) = spawn(
        bin(&["--wait", "30s", "upgrade", "head"])
            .named("--wait 30s upgrade head")
            .on(&url),
    )
    .finish(Duration::from_secs(90));
    let mut o = o.exited(0);
    assert!(took >= LATE, "done in {took:?}, before the server started");
    assert!(
        late.connections() > 0,
        "nothing came through the late server"
    );
    for id in ALL {
        o = o.stderr_has(&format!("Applied {id} ("));
    }
    drop(late);
    // Straight to the server: everything is recorded.
    bin(&["current"])
        .on(&tdb.url)
        .status(0)
        .stdout_is(&format!("{HEAD} (head)\n"));
    assert_eq!(
        contents(&tdb).await.map(|c| c.versions),
        Some(ALL.map(String::from).to_vec())
    );
});

/// No server ever comes: `--wait 2s` gives up at its deadline, in one line.
#[test]
fn wait_gives_up_at_its_deadline() {
    let runs: Vec<Running> = ["postgres://postgres", "mysql://root"]
        .iter()
        .map(|base| {
            let url = format!("{base}@127.0.0.1:{}/nothing", free_port());
            spawn(
                bin(&["--wait", "2s", "upgrade", "head"])
                    .named(url.clone())
                    .on(&url),
            )
        })
        .collect();
    for run in runs {
        let what = run.what.clone();
        let (o, took) = run.finish(Duration::from_secs(60));
        let err = assert_one_line_error(&o.exited(1), "cannot connect to");
        assert!(err.contains("2s"), "says how long it waited: {err}");
        assert!(
            took >= Duration::from_secs(2),
            "{what}: gave up after {took:?}"
        );
        assert!(
            took < Duration::from_secs(4),
            "{what}: `--wait 2s` took {took:?}, far past its deadline"
        );
    }
}

/// Without `--wait`, nothing listening is a fast failure that says why.
#[test]
fn an_unreachable_server_fails_fast_and_says_why() {
    let runs: Vec<Running> = [
        "postgres://postgres@127.0.0.1:1/x",
        "mysql://root@127.0.0.1:1/x",
    ]
    .iter()
    .map(|url| spawn(bin(&["current"]).named(*url).on(url)))
    .collect();
    for run in runs {
        let what = run.what.clone();
        let (o, took) = run.finish(Duration::from_secs(60));
        let err = assert_one_line_error(&o.exited(1), &format!("cannot connect to {what}"));
        assert!(
            err.to_ascii_lowercase().contains("refused") && took < Duration::from_secs(3),
            "{what}: took {took:?} to say: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Bad revisions

/// Spec errors that are the same whatever the database holds (it is at
/// m20260102_000001_create_post when they run).
const BAD_SPECS: &[(&[&str], &str)] = &[
    (&["upgrade", "nope_nope"], "no revision matches `nope_nope`"),
    (
        &["upgrade", "m20260103"],
        "`m20260103` matches 2 revisions: m20260103_000001_add_post_published, m20260103_000002_create_tag",
    ),
    (&["upgrade", "20260103"], "matches 2 revisions"),
    (
        &["upgrade", "m20260103", "--format", "json"],
        "matches 2 revisions",
    ),
    (&["upgrade", "m20"], "at least 4 characters"),
    (&["upgrade", "+1x"], "`+1x` is not a revision"),
    (&["upgrade", "head+1"], "goes past the head"),
    (&["upgrade", "-1"], "use `downgrade -1`"),
    (&["downgrade", "--yes", "m20260103"], "matches 2 revisions"),
    (
        &["downgrade", "--yes", "m2099"],
        "no revision matches `m2099`",
    ),
    (&["downgrade", "--yes", "+1"], "use `upgrade +1`"),
    (&["stamp", "--yes", "m20260103"], "matches 2 revisions"),
    (
        &["stamp", "--yes", "nope_nope"],
        "no revision matches `nope_nope`",
    ),
    (&["show", "m20260103"], "matches 2 revisions"),
    (
        &["history", "-i", "-r", "m20260103:"],
        "matches 2 revisions",
    ),
    (&["history", "-r", "head"], "is not a history range"),
];

on_every_backend!(
    bad_revisions_are_one_line_usage_errors_that_change_nothing,
    |tdb| {
        let url = tdb.url.as_str();
        bin(&["upgrade", "m20260102"]).on(url).status(0);
        let before = contents(&tdb).await;
        for (args, needle) in BAD_SPECS {
            expect_error(url, args, 2, needle);
            assert_eq!(
                contents(&tdb).await,
                before,
                "`{}` changed the database",
                args.join(" ")
            );
        }
        bin(&["current"])
            .on(url)
            .status(0)
            .stdout_is("m20260102_000001_create_post\n");
    }
);

// A writing verb given a bad revision must not install the tracking tables (or create
// the SQLite file) before it finds the revision is bad.
on_every_backend!(bad_revisions_on_a_fresh_database_create_nothing, |tdb| {
    let url = tdb.url.as_str();
    let before = contents(&tdb).await;
    for args in [
        &["upgrade", "nope_nope"][..],
        &["upgrade", "m20260103"],
        &["downgrade", "--yes", "m2099"],
        &["stamp", "--yes", "m20260103"],
    ] {
        expect_error(url, args, 2, "revision");
        assert_eq!(
            contents(&tdb).await,
            before,
            "`{}` changed a fresh database",
            args.join(" ")
        );
    }
});

// ---------------------------------------------------------------------------------------
// Bad URLs, refused connections

/// Each bad URL, given to a reading and a writing verb, in a directory of its own: exit
/// 2, one line, and no file appears (not even a SQLite file named after the text).
#[test]
fn malformed_and_unsupported_urls_are_one_line_usage_errors() {
    for (url, needle) in [
        ("postgres//x", "`postgres//x` is not a database URL"),
        ("sqlite:", "`sqlite:` names no file"),
        ("not a url", "`not a url` is not a database URL"),
        (
            "oracle://app:pw@db/x",
            "unsupported database URL scheme `oracle:`",
        ),
        ("postgres://", "names no host"),
        ("mysql:///x", "names no host"),
    ] {
        for args in [
            &["current"][..],
            &["upgrade", "head"],
            &["status", "--format", "json"],
            &["stamp", "--yes", "head"],
        ] {
            let dir = tempfile::tempdir().expect("temp dir");
            for via in [Via::Flag, Via::Env] {
                let o = bin(args)
                    .named(format!("{url:?} via {via:?}: {}", args.join(" ")))
                    .via(via)
                    .on(url)
                    .dir(dir.path())
                    .status(2);
                assert_one_line_error(&o, needle);
            }
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .expect("read the temp dir")
                .collect();
            assert!(left.is_empty(), "{url:?}: {} left {left:?}", args.join(" "));
        }
    }
}

/// URLs with a scheme the binary knows but that no driver can use are bad input (exit
/// 2, README), not a database failure.
#[test]
fn urls_the_driver_cannot_parse_are_usage_errors() {
    let mut wrong = Vec::new();
    for url in [
        "postgres://postgres@127.0.0.1:99999/x",
        "postgres://u:pw@/db",
        "mysql://root@127.0.0.1:port/x",
    ] {
        let o = bin(&["current"]).named(url).on(url).output();
        if o.code() != Some(2) {
            wrong.push(format!("{url}: exit {:?}: {}", o.code(), o.stderr()));
        } else {
            assert_one_line_error(&o, "");
        }
    }
    assert!(wrong.is_empty(), "not exit 2:\n{}", wrong.join("\n"));
}

// PostgreSQL here uses trust authentication, which ignores any password, so a wrong
// password can only be tested on MariaDB (root has an empty password: any other is
// refused).
#[tokio::test]
async fn a_wrong_password_is_refused_in_one_line() {
    let Some(tdb) = TestDb::new(Backend::MySql).await else {
        return;
    };
    let url = with_password(&tdb.url, "wrong");
    for args in [&["current"][..], &["upgrade", "head"]] {
        let err = expect_error(&url, args, 1, "Access denied");
        assert!(
            err.contains("cannot connect to mysql://root:***@"),
            "names the masked URL: {err}"
        );
        assert!(!err.contains(":wrong@"), "{err}");
    }
    assert_eq!(
        contents(&tdb).await,
        Some(Contents {
            tables: Vec::new(),
            versions: Vec::new()
        })
    );
}

on_every_server!(a_missing_database_is_named_and_not_created, |tdb| {
    const MISSING: &str = "does_not_exist_xyz";
    let url = with_database(&tdb.url, MISSING);
    for args in [&["current"][..], &["upgrade", "head"], &["status"]] {
        expect_error(&url, args, 1, MISSING);
    }
    let conn = connect(&tdb).await;
    let sql = match tdb.backend {
        Backend::Postgres => {
            format!("SELECT datname::text AS name FROM pg_database WHERE datname = '{MISSING}'")
        }
        _ => format!(
            "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata \
             WHERE schema_name = '{MISSING}'"
        ),
    };
    assert!(
        strings(&conn, tdb.backend, &sql).await.is_empty(),
        "`upgrade` created the database"
    );
    let _ = conn.close().await;
});

// ---------------------------------------------------------------------------------------
// Revisions the code does not know

on_every_backend!(revisions_the_code_does_not_know, |tdb| {
    let url = tdb.url.as_str();
    bin(&["upgrade", "m20260102"]).on(url).status(0);
    execute(
        &tdb,
        &format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{GHOST}', 0)"),
    )
    .await;
    writing_verbs_refuse_and_name_the_way_out(&tdb).await;
    reading_verbs_name_it_and_check_exits_4(url);
    allow_unknown_carries_on_and_keeps_the_row(&tdb).await;
});

/// Writing verbs refuse, name it and the way out, and change nothing.
async fn writing_verbs_refuse_and_name_the_way_out(tdb: &TestDb) {
    let before = contents(tdb).await;
    for (args, way_out) in [
        (&["upgrade", "head"][..], "--allow-unknown"),
        (&["upgrade", "head", "--format", "json"], "--allow-unknown"),
        (&["downgrade", "-1", "--yes"], "--allow-unknown"),
        (&["redo"], "--allow-unknown"),
        (&["stamp", "--yes", "head"], "--purge"),
    ] {
        let err = expect_error(&tdb.url, args, 2, GHOST);
        assert!(err.contains(way_out), "{err}");
        assert_eq!(
            contents(tdb).await,
            before,
            "`{}` changed the database",
            args.join(" ")
        );
    }
}

/// Reading verbs name it; `check` exits 4.
fn reading_verbs_name_it_and_check_exits_4(url: &str) {
    let o = bin(&["check"]).on(url).status(4);
    assert!(
        format!("{}{}", o.stdout(), o.stderr()).contains(GHOST),
        "{}",
        o.context()
    );
    let v = bin(&["check", "--format", "json"]).on(url).status(4).json();
    assert_eq!(v["unknown"], serde_json::json!([GHOST]), "{v}");
    assert_eq!(v["exit_code"], 4, "{v}");

    bin(&["current"])
        .on(url)
        .status(0)
        .stdout_is(&format!(
            "m20260102_000001_create_post\n{GHOST} (unknown: not in this migration crate)\n"
        ))
        .stderr_has(GHOST);
    let v = bin(&["current", "--format", "json"])
        .on(url)
        .status(0)
        .json();
    assert_eq!(v["unknown"][0]["version"], GHOST, "{v}");
    assert_eq!(
        v["current"],
        serde_json::json!(["m20260102_000001_create_post"])
    );

    let o = bin(&["status"]).on(url).status(0);
    assert!(
        o.stdout()
            .lines()
            .any(|l| l.contains("unknown") && l.contains(GHOST)),
        "{}",
        o.stdout()
    );
    let v = bin(&["status", "--format", "json"])
        .on(url)
        .status(0)
        .json();
    assert_eq!(v["unknown"][0]["version"], GHOST, "{v}");
}

/// `--allow-unknown` carries on, and keeps the row.
async fn allow_unknown_carries_on_and_keeps_the_row(tdb: &TestDb) {
    bin(&["upgrade", "head", "--allow-unknown"])
        .on(&tdb.url)
        .status(0);
    let mut want: Vec<String> = ALL.iter().chain([&GHOST]).map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(contents(tdb).await.map(|c| c.versions), Some(want));
    bin(&["check"]).on(&tdb.url).status(4);
}

// ---------------------------------------------------------------------------------------
// Passwords

fn assert_no_secret(o: &Ran) {
    let what = &o.what;
    for (stream, text) in [("stdout", o.stdout()), ("stderr", o.stderr())] {
        for secret in [SECRET, SECRET_ENCODED, SECRET_DECODED] {
            assert!(
                !text.contains(secret),
                "`{what}` printed the password `{secret}` on {stream}:\n{text}"
            );
        }
    }
}

/// Every verb, and whether it connects to the database.
const VERBS: &[(&[&str], bool)] = &[
    (&["upgrade", "head"], true),
    (&["downgrade", "-1", "--yes"], true),
    (&["redo"], true),
    // Back at the head, so that `stamp` records the truth and the next round's
    // `downgrade -1` has an index to drop.
    (&["upgrade", "head"], true),
    (&["stamp", "head", "--yes"], true),
    (&["history", "-i", "-v"], true),
    (&["heads", "-v"], false),
    (&["current", "-v"], true),
    (&["status"], true),
    (&["check"], true),
    (&["show", "head"], false),
    (&["branches", "-v"], false),
];

const FORMATS: [&[&str]; 2] = [&[], &["--format", "json"]];
const NOISES: [&[&str]; 4] = [&[], &["-q"], &["-v"], &["-vv"]];

/// `args` with `url` given `via`, named with both.
fn with_url(args: &[&str], url: &str, via: Via) -> Run {
    bin(args)
        .named(format!("{} (URL via {via:?})", args.join(" ")))
        .via(via)
        .on(url)
}

/// Every verb with `url` given `via`, in both formats, at each of `noises`: the
/// commands and the exit code each must have (`connected` for verbs that connect, 0 for
/// the others).
fn every_verb(url: &str, via: Via, noises: &[&[&str]], connected: i32) -> Vec<(Run, i32)> {
    let mut runs = Vec::new();
    for format in FORMATS {
        for noise in noises {
            for (verb, connects) in VERBS {
                let args: Vec<&str> = verb.iter().chain(format).chain(*noise).copied().collect();
                let code = if *connects { connected } else { 0 };
                runs.push((with_url(&args, url, via), code));
            }
        }
    }
    runs
}

/// Runs each command in turn, asserting that it shows no password and its exit code.
fn run_in_turn(runs: Vec<(Run, i32)>) {
    for (run, code) in runs {
        let o = run.output();
        assert_no_secret(&o);
        o.exited(code);
    }
}

/// A PostgreSQL with trust authentication takes any password, so every verb really
/// runs with one, successes and failures alike.
#[tokio::test]
async fn no_verb_ever_shows_the_password() {
    let mut dbs = Vec::new();
    for _ in 0..5 {
        match TestDb::new(Backend::Postgres).await {
            Some(db) => dbs.push(db),
            None => return,
        }
    }
    let plain = with_password(&dbs[0].url, SECRET);
    let encoded = with_password(&dbs[0].url, SECRET_ENCODED);
    if !the_server_takes_any_password(&plain) {
        return;
    }
    every_verb_in_rounds_side_by_side(&dbs[1..], &encoded);
    errors_with_the_database_reachable(&[&plain, &encoded]);
    help_shows_that_database_url_is_set_never_its_value(&plain);
}

/// Whether `url`'s server lets its password in (else the test is skipped, outside CI).
fn the_server_takes_any_password(url: &str) -> bool {
    let probe = bin(&["current"]).on(url).output();
    assert_no_secret(&probe);
    if probe.code() == Some(0) {
        return true;
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
        "the PostgreSQL server must use trust authentication: {}",
        probe.stderr()
    );
    support::skipped("password test: PostgreSQL does not use trust authentication");
    false
}

/// Independent rounds on databases of their own (four), side by side (each command waits
/// on the server more than it computes), and one round with the encoded password.
fn every_verb_in_rounds_side_by_side(dbs: &[TestDb], encoded: &str) {
    let secret = |i: usize| with_password(&dbs[i].url, SECRET);
    let rounds: Vec<Vec<(Run, i32)>> = vec![
        every_verb(&secret(0), Via::Flag, &NOISES[..2], 0),
        every_verb(&secret(1), Via::Flag, &NOISES[2..], 0),
        every_verb(&secret(2), Via::Env, &NOISES[..2], 0),
        every_verb(&secret(3), Via::Env, &NOISES[2..], 0),
        [Via::Flag, Via::Env]
            .into_iter()
            .flat_map(|via| every_verb(encoded, via, &NOISES[3..], 0))
            .collect(),
    ];
    std::thread::scope(|s| {
        for round in rounds {
            s.spawn(move || run_in_turn(round));
        }
    });
}

/// Errors with the database reachable.
fn errors_with_the_database_reachable(urls: &[&str]) {
    for url in urls {
        for (args, code) in [
            (&["upgrade", "nope_nope"][..], 2),
            (&["upgrade", "m20260103", "--format", "json"], 2),
            (&["downgrade", "-1"], 2),
            (&["stamp", "base", "-v"], 2),
            (&["upgrade", "-1"], 2),
            (&["show", "current+1"], 2),
            (&["history", "-r", "current:nope_nope", "-vv"], 2),
        ] {
            for via in [Via::Flag, Via::Env] {
                run_in_turn(vec![(with_url(args, url, via), code)]);
            }
        }
    }
}

/// Help shows that DATABASE_URL is set, never its value.
fn help_shows_that_database_url_is_set_never_its_value(url: &str) {
    for args in [&["--help"][..], &["upgrade", "--help"], &["current", "-h"]] {
        let run = bin(args).named(args.join(" ")).via(Via::Env).on(url);
        run_in_turn(vec![(run, 0)]);
    }
}

/// A refused password and an unreachable server: every verb fails (exit 1) without
/// showing it. The unreachable runs go all at once, each waiting on its own.
#[test]
fn refused_and_unreachable_connections_never_show_the_password() {
    for url in [
        format!("mysql://root:{SECRET}@127.0.0.1:3306/test"),
        format!("mysql://root:{SECRET_ENCODED}@127.0.0.1:3306/test"),
    ] {
        // Only when the server is there (else it is one more unreachable URL).
        if TcpStream::connect_timeout(
            &"127.0.0.1:3306".parse().expect("addr"),
            Duration::from_secs(1),
        )
        .is_err()
        {
            support::skipped("refused-password test: no MariaDB on 127.0.0.1:3306");
            break;
        }
        for via in [Via::Flag, Via::Env] {
            run_in_turn(every_verb(&url, via, &NOISES, 1));
        }
    }
    let port = free_port();
    let mut runs = Vec::new();
    for url in [
        format!("mysql://u:{SECRET}@127.0.0.1:{port}/x"),
        format!("postgres://u:{SECRET_ENCODED}@127.0.0.1:{port}/x"),
    ] {
        for via in [Via::Flag, Via::Env] {
            for (run, code) in every_verb(&url, via, &NOISES[3..], 1) {
                runs.push((code, spawn(run)));
            }
        }
    }
    for (code, run) in runs {
        let (o, _) = run.finish(Duration::from_secs(120));
        assert_no_secret(&o);
        o.exited(code);
    }
}

/// URLs that are not quite URLs still hold a password: no message shows it.
#[test]
fn malformed_urls_never_show_the_password() {
    let runs = [
        format!("postgres//u:{SECRET}@127.0.0.1/x"),
        format!("postgres:/u:{SECRET}@127.0.0.1/x"),
        format!("postgres:u:{SECRET}@127.0.0.1/x"),
        format!("oracle://u:{SECRET}@127.0.0.1/x"),
        format!("postgres://u:{SECRET}@/x"),
        format!("postgres://u:{SECRET}@127.0.0.1:99999/x"),
        "postgres://u:Sup3r/S3cretPw@127.0.0.1:1/x".to_string(),
        "postgres://u:Sup3r#S3cretPw@127.0.0.1:1/x".to_string(),
        "postgres://u:Sup3r?S3cretPw@127.0.0.1:1/x".to_string(),
        format!("postgres://u@127.0.0.1:1/x?password={SECRET}"),
        format!("mysql://u@127.0.0.1:1/x?password={SECRET}"),
        format!("mysql:///x?password={SECRET}"),
    ]
    .iter()
    .map(|url| {
        let what = format!("current -vv, URL {}", url.replace(SECRET, "<secret>"));
        spawn(bin(&["current", "-vv"]).named(what).on(url))
    })
    .collect::<Vec<_>>();
    let mut leaks = Vec::new();
    for run in runs {
        let (o, _) = run.finish(Duration::from_secs(60));
        let shown = format!("{}{}", o.stdout(), o.stderr());
        if shown.contains("S3cretPw") {
            leaks.push(format!("{}:\n{shown}", o.what));
        }
    }
    assert!(
        leaks.is_empty(),
        "the password shows:\n{}",
        leaks.join("\n")
    );
}
