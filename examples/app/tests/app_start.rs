//! An application that migrates itself at start (`cargo_migrate::upgrade` on its own
//! connection) and serves the admin endpoints: real processes, real HTTP, each backend.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use cargo_migrate::Migrations;
use serde_json::Value;

const APP: &str = env!("CARGO_BIN_EXE_example-app");
const TOKEN: &str = "t0ken-for-tests";

fn revisions() -> usize {
    migrations::Migrator::revisions().len()
}

/// The app on `url` with `args`, its output piped.
fn app(url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(APP);
    c.args(args)
        .env("DATABASE_URL", url)
        .env("ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

on_every_backend!(
    eight_replicas_starting_at_once_apply_each_migration_once,
    |db| {
        let children: Vec<Child> = (0..8)
            .map(|_| app(&db.url, &[]).spawn().expect("start the app"))
            .collect();
        let mut applied = 0;
        for child in children {
            let out = child.wait_with_output().expect("app output");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "a replica failed to start: {stderr}");
            let report: Value = serde_json::from_slice(&out.stdout).expect("the report is JSON");
            applied += report["applied"].as_array().expect("applied").len();
        }
        assert_eq!(applied, revisions(), "each migration applied exactly once");

        // A restart finds the database at head: one read, no lock, nothing applied.
        let out = app(&db.url, &[]).output().expect("restart");
        assert!(out.status.success());
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(report["up_to_date"], true, "{report}");
        assert_eq!(report["applied"].as_array().map(Vec::len), Some(0));
        assert_eq!(
            report["current"],
            serde_json::json!(["m20260105_000001_index_post_title"])
        );
    }
);

/// A running app serving the admin endpoints; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(url: &str, args: &[&str]) -> Server {
        let mut all = vec!["--serve", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut child = app(url, &all).spawn().expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, addr }
    }

    /// Sends `method path` (with the token unless `token` is `None`) and returns the
    /// status code and the JSON body.
    fn call(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "{method} /admin/migrations{path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response");
        let code = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status");
        let body = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {body}"));
        (code, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

on_every_backend!(admin_endpoints_over_http, |db| {
    let server = Server::start(&db.url, &["--no-migrate"]);
    let all = revisions();

    // No token, a wrong one: refused before anything reads the database.
    for token in [None, Some("wrong")] {
        for (method, path) in [("GET", "/status"), ("GET", "/health"), ("POST", "/upgrade")] {
            let (code, body) = server.call(method, path, token);
            assert_eq!(code, 401, "{method} {path} with {token:?}: {body}");
        }
    }

    let (code, health) = server.call("GET", "/health", Some(TOKEN));
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["verdict"], "pending");
    assert_eq!(health["pending"].as_array().map(Vec::len), Some(all));

    let (code, status) = server.call("GET", "/status", Some(TOKEN));
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["applied"], 0);
    assert_eq!(status["pending"].as_array().map(Vec::len), Some(all));
    let typed: cargo_migrate::Status =
        serde_json::from_value(status.clone()).expect("the status reads back as the type");
    assert_eq!(typed.revisions.len(), all);

    // The dry run runs the plan and leaves nothing behind.
    let (code, dry) = server.call("POST", "/upgrade?dry_run=true", Some(TOKEN));
    assert_eq!(code, 200, "{dry}");
    assert_eq!(dry["steps"].as_array().map(Vec::len), Some(all), "{dry}");
    let (_, after_dry) = server.call("GET", "/health", Some(TOKEN));
    assert_eq!(
        after_dry["verdict"], "pending",
        "a dry run changed the database"
    );

    let (code, report) = server.call("POST", "/upgrade", Some(TOKEN));
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["applied"].as_array().map(Vec::len), Some(all));

    let (code, health) = server.call("GET", "/health", Some(TOKEN));
    assert_eq!(
        (code, &health["verdict"]),
        (200, &Value::from("ok")),
        "{health}"
    );
    let (code, again) = server.call("POST", "/upgrade", Some(TOKEN));
    assert_eq!(
        (code, &again["up_to_date"]),
        (200, &Value::from(true)),
        "{again}"
    );
});

on_every_backend!(
    health_reports_unknown_revisions_and_upgrade_refuses_them,
    |db| {
        let out = app(&db.url, &[]).output().expect("migrate");
        assert!(out.status.success());
        // A newer release's revision, recorded by a deploy this code predates.
        let conn = cargo_migrate::sea_orm_migration::sea_orm::Database::connect(&db.url)
            .await
            .expect("connect");
        use cargo_migrate::sea_orm_migration::sea_orm::ConnectionTrait;
        conn.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000000_from_the_future', 0)",
    )
    .await
    .expect("insert");
        let server = Server::start(&db.url, &["--no-migrate"]);
        let (code, health) = server.call("GET", "/health", Some(TOKEN));
        assert_eq!(code, 503, "{health}");
        assert_eq!(health["verdict"], "unknown_revisions");
        assert_eq!(
            health["unknown"],
            serde_json::json!(["m20991231_000000_from_the_future"])
        );
        let (code, refused) = server.call("POST", "/upgrade", Some(TOKEN));
        assert_eq!(code, 409, "{refused}");
        assert!(
            refused["error"]
                .as_str()
                .is_some_and(|e| e.contains("m20991231_000000_from_the_future")),
            "{refused}"
        );
        // The app itself refuses to start on it, as the binary does.
        let out = app(&db.url, &[]).output().expect("start");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
);
