//! Apply N generated one-table migrations to a fresh database, side by side in one
//! run, on SQLite, PostgreSQL and MySQL/MariaDB:
//!
//! - **floor**: the database's own command-line client (`sqlite3`, `psql`, `mariadb` or
//!   `mysql`) running a generated script of exactly the statements sea-orm-migration
//!   sends (its tracking table's DDL, then per migration the DDL and the tracking
//!   `INSERT`, inside `BEGIN`/`COMMIT` on PostgreSQL), one client process timed from
//!   start to exit. Its start-up and connection are timed on their own (the client
//!   running `SELECT 1`) and subtracted before the ratios are taken;
//! - sea-orm-migration's `Migrator::up`, on a connection opened as sea-orm opens one by
//!   default (`Database::connect`: a pool that pings a connection when it is taken);
//! - cargo-migrate's `upgrade head`, on its own connection (`Db::connect`).
//!
//! Both connections are opened before the clock starts; the order of the three rotates
//! from round to round. A client or server that is missing leaves its part out, with a
//! line saying so.
//!
//! Run: `cargo bench --bench apply`. `BENCH_MIGRATIONS` (default 1000), `BENCH_ROUNDS`
//! (default 3), `BENCH_BACKENDS` (default `sqlite,postgres,mysql`) and `BENCH_CONTENDERS`
//! (default `floor,sea-orm,ours`) change what runs; `TEST_POSTGRES_URL` and
//! `TEST_MYSQL_URL` name the servers (each round creates and drops its own database).

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use cargo_migrate::Quiet;
use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DbBackend, DbErr, Schema,
};
use cargo_migrate::sea_orm_migration::{
    MigrationName, MigrationTrait, MigratorTrait, SchemaManager, async_trait, seaql_migrations,
};
use cargo_migrate::{Db, DbOptions};
use cargo_migrate::{DbUrl, Revision, Runtime, WriteOptions};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn count() -> usize {
    env_or("BENCH_MIGRATIONS", "1000").parse().unwrap_or(1000)
}

fn ddl(i: usize) -> String {
    format!("CREATE TABLE t{i:05} (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
}

fn id(i: usize) -> String {
    format!("m20260101_{i:06}_t{i:05}")
}

struct Trivial {
    name: String,
    sql: String,
}

impl MigrationName for Trivial {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Trivial {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&self.sql)
            .await?;
        Ok(())
    }
}

fn generated() -> Vec<Trivial> {
    (0..count())
        .map(|i| Trivial {
            name: id(i),
            sql: ddl(i),
        })
        .collect()
}

struct SeaOrm;

impl MigratorTrait for SeaOrm {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        generated()
            .into_iter()
            .map(|m| Box::new(m) as Box<dyn MigrationTrait>)
            .collect()
    }
}

fn ours() -> Runtime {
    let migrations = generated();
    let ids: Vec<String> = migrations.iter().map(|m| m.name.clone()).collect();
    let revisions = migrations
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let parents: Vec<&str> = if i == 0 {
                vec![]
            } else {
                vec![ids[i - 1].as_str()]
            };
            Revision::new(m, &parents)
        })
        .collect();
    Runtime::new(revisions, "seaql_migrations").expect("graph")
}

/// The statements sea-orm-migration sends for the whole run, as a script.
fn floor_script(backend: DbBackend) -> String {
    let schema = Schema::new(backend);
    let mut install = schema.create_table_from_entity(seaql_migrations::Entity);
    install.if_not_exists();
    let mut sql = format!("{};\n", backend.build(&install));
    if backend == DbBackend::Sqlite {
        sql.push_str("PRAGMA foreign_keys = ON;\n"); // as sqlx opens SQLite
    }
    let applied_at = 1_767_225_600; // the same statement every time, as far as cost goes
    for i in 0..count() {
        let (begin, commit, returning) = match backend {
            DbBackend::Postgres => ("BEGIN;\n", "COMMIT;\n", " RETURNING \"version\""),
            DbBackend::Sqlite => ("", "", " RETURNING \"version\""),
            _ => ("", "", ""),
        };
        let q = |s: &str| match backend {
            DbBackend::MySql => format!("`{s}`"),
            _ => format!("\"{s}\""),
        };
        sql.push_str(&format!(
            "{begin}{};\nINSERT INTO {} ({}, {}) VALUES ('{}', {applied_at}){returning};\n{commit}",
            ddl(i),
            q("seaql_migrations"),
            q("version"),
            q("applied_at"),
            id(i)
        ));
    }
    sql
}

/// A command-line client for `url`, reading SQL from stdin; `None` if it is not installed.
fn client(url: &str, sqlite_file: Option<&Path>) -> Option<Command> {
    let found = |names: &[&'static str]| {
        names.iter().copied().find(|n| {
            Command::new(n)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    };
    if let Some(file) = sqlite_file {
        let mut cmd = Command::new(found(&["sqlite3"])?);
        cmd.arg("-batch").arg("-bail").arg(file);
        return Some(cmd);
    }
    if url.starts_with("postgres") {
        let mut cmd = Command::new(found(&["psql"])?);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
        return Some(cmd);
    }
    // mysql://user[:password]@host[:port]/database
    let rest = url.split_once("://")?.1;
    let (auth, rest) = rest.rsplit_once('@').unwrap_or(("root", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, database) = rest.split_once('/').unwrap_or((rest, ""));
    let database = database.split('?').next().unwrap_or_default();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    let mut cmd = Command::new(found(&["mariadb", "mysql"])?);
    cmd.args(["--batch", "-h", host, "-P", port, "-u", user, database]);
    if !password.is_empty() {
        cmd.env("MYSQL_PWD", password);
    }
    Some(cmd)
}

/// Runs `cmd` with `input` on stdin; the seconds from spawn to exit.
fn run_client(mut cmd: Command, input: &Path) -> f64 {
    let stdin = std::fs::File::open(input).expect("script");
    let start = Instant::now();
    let out = cmd
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("client");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

/// The file of a `sqlite://<path>?<query>` URL.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    Some(PathBuf::from(
        rest.split_once('?').map_or(rest, |(path, _)| path),
    ))
}

#[derive(Clone, Copy, PartialEq)]
enum Contender {
    Floor,
    SeaOrm,
    Ours,
}

async fn timed(contender: Contender, url: &str, rt: &Runtime, script: &Path) -> f64 {
    match contender {
        Contender::Floor => {
            let file = sqlite_file(url);
            run_client(client(url, file.as_deref()).expect("client"), script)
        }
        Contender::SeaOrm => {
            let mut opts = ConnectOptions::new(url);
            opts.sqlx_logging(false);
            let conn = Database::connect(opts).await.expect("connect");
            let start = Instant::now();
            SeaOrm::up(&conn, None).await.expect("Migrator::up");
            let secs = start.elapsed().as_secs_f64();
            let _ = conn.close().await;
            secs
        }
        Contender::Ours => {
            let db = Db::connect(
                &DbUrl::parse(url).expect("url"),
                DbOptions {
                    write: true,
                    ..Default::default()
                },
            )
            .await
            .expect("connect");
            let start = Instant::now();
            rt.upgrade(&db, "head", &WriteOptions::default(), &mut Quiet)
                .await
                .expect("upgrade");
            let secs = start.elapsed().as_secs_f64();
            db.close().await;
            secs
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn main() {
    let rounds: usize = env_or("BENCH_ROUNDS", "3").parse().unwrap_or(3);
    let wanted_backends = env_or("BENCH_BACKENDS", "sqlite,postgres,mysql");
    let wanted = env_or("BENCH_CONTENDERS", "floor,sea-orm,ours");
    let contenders: Vec<Contender> = [
        ("floor", Contender::Floor),
        ("sea-orm", Contender::SeaOrm),
        ("ours", Contender::Ours),
    ]
    .into_iter()
    .filter(|(name, _)| wanted.split(',').any(|w| w.trim() == *name))
    .map(|(_, c)| c)
    .collect();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = ours();
    let backends = [
        ("SQLite", "sqlite", DbBackend::Sqlite, "sqlite".to_string()),
        (
            "PostgreSQL",
            "postgres",
            DbBackend::Postgres,
            env_or(
                "TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
        ),
        (
            "MariaDB",
            "mysql",
            DbBackend::MySql,
            env_or("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        ),
    ];
    let mut notes = Vec::new();
    let mut rows = Vec::new();
    tokio.block_on(async {
        let mut n = 0;
        for (label, key, backend, admin) in &backends {
            if !wanted_backends.split(',').any(|w| w.trim() == *key) {
                continue;
            }
            let script = dir.path().join(format!("{key}.sql"));
            std::fs::write(&script, floor_script(*backend)).expect("script");
            let probe = dir.path().join("probe.sql");
            std::fs::write(&probe, "SELECT 1;\n").expect("probe");
            let mut times: [Vec<f64>; 3] = Default::default();
            let mut startup = Vec::new();
            let mut active = contenders.clone();
            let sqlite_probe = (*backend == DbBackend::Sqlite).then(|| dir.path().join("probe.db"));
            if active.contains(&Contender::Floor)
                && client(admin, sqlite_probe.as_deref()).is_none()
            {
                notes.push(format!(
                    "{label}: floor left out (no command-line client: {})",
                    match backend {
                        DbBackend::Sqlite => "sqlite3",
                        DbBackend::Postgres => "psql",
                        _ => "mariadb or mysql",
                    }
                ));
                active.retain(|c| *c != Contender::Floor);
            }
            'rounds: for round in 0..rounds {
                for k in 0..active.len() {
                    let contender = active[(round + k) % active.len()];
                    n += 1;
                    let (url, name) =
                        match common::databases::fresh(admin, "bench", n, dir.path()).await {
                            Ok(fresh) => fresh,
                            Err(why) => {
                                notes.push(format!("{label}: left out ({why})"));
                                break 'rounds;
                            }
                        };
                    if contender == Contender::Floor {
                        let file = sqlite_file(&url);
                        let cmd = client(&url, file.as_deref()).expect("client");
                        startup.push(run_client(cmd, &probe));
                    }
                    let secs = timed(contender, &url, &rt, &script).await;
                    times[contender as usize].push(secs);
                    common::databases::drop(admin, name).await;
                }
            }
            let [floor, theirs, mine] = times.map(median);
            if floor.is_none() && theirs.is_none() && mine.is_none() {
                continue;
            }
            let startup = median(startup);
            rows.push((*label, floor, startup, theirs, mine));
        }
    });
    println!(
        "| backend | migrations | floor: client (its start-up) | sea-orm-migration `Migrator::up` | cargo-migrate `upgrade head` | ours / floor | ours / sea-orm-migration | sea-orm-migration / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let secs = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2} s"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".to_string(),
    };
    for (label, floor, startup, theirs, mine) in rows {
        // the floor without its client's start-up and connection
        let net = floor.map(|f| f - startup.unwrap_or(0.0));
        let floor_cell = match (floor, startup) {
            (Some(f), Some(s)) => format!("{f:.2} s ({:.0} ms)", s * 1000.0),
            _ => secs(floor),
        };
        println!(
            "| {label} | {} | {floor_cell} | {} | {} | {} | {} | {} |",
            count(),
            secs(theirs),
            secs(mine),
            ratio(mine, net),
            ratio(mine, theirs),
            ratio(theirs, net),
        );
    }
    for note in notes {
        println!("\n{note}");
    }
}
