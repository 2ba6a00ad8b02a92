//! The example crate's migration binary as a container image runs it (`deploy/`): a copy
//! of the binary alone in an empty directory, no environment but `DATABASE_URL`, run as
//! `upgrade head --wait 60s` against a database server that starts after it. It needs no
//! sources, no cargo, no `.env` and no `PATH`, and it writes nothing beside itself.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::Backend;
use support::late_server::{LateServer, free_port};
use support::run::Ran;

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

/// The image's default command (`CMD` in `deploy/Dockerfile`).
const CMD: [&str; 4] = ["upgrade", "head", "--wait", "60s"];

/// How long after the binary starts the database server comes up.
const LATE: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// The image

/// An empty directory holding only a copy of the migration binary.
struct Image {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Image {
    fn new() -> Image {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("migrations");
        // `fs::copy` keeps the permission bits, so the copy is executable.
        std::fs::copy(BIN, &bin).expect("copy the migration binary");
        Image { dir, bin }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The binary with `args`, as the image's entrypoint runs it: in its own directory,
    /// with `DATABASE_URL` and nothing else in its environment, nothing on stdin.
    fn command(&self, url: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env("DATABASE_URL", url)
            .current_dir(self.dir())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts the binary with `args`.
    fn start(&self, url: &str, args: &[&str]) -> Started {
        let child = self
            .command(url, args)
            .spawn()
            .expect("start the copied migration binary");
        Started {
            what: what(args),
            child,
            since: Instant::now(),
        }
    }

    /// Runs the binary with `args` to its end.
    fn run(&self, url: &str, args: &[&str]) -> Ran {
        let output = self
            .command(url, args)
            .output()
            .expect("run the copied migration binary");
        Ran::new(what(args), output)
    }

    /// The names in the image's directory, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir())
            .expect("read the image's directory")
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

/// How failures name a run of the copied binary.
fn what(args: &[&str]) -> String {
    format!("migrations {} (copied, DATABASE_URL only)", args.join(" "))
}

/// A run of the binary that is under way.
struct Started {
    what: String,
    child: Child,
    since: Instant,
}

impl Started {
    fn running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("look at the migration binary")
            .is_none()
    }

    /// Its output once it ends (`--wait 60s` bounds how long that takes), and how long it
    /// ran.
    fn finish(self) -> (Ran, Duration) {
        let output = self
            .child
            .wait_with_output()
            .expect("wait for the migration binary");
        (Ran::new(self.what, output), self.since.elapsed())
    }
}

/// `upgrade` applied every migration, each on its own line, and said where it ended.
fn applied_everything(mut o: Ran) -> Ran {
    o = o.exited(0);
    for id in ALL {
        o = o.stderr_has(&format!("Applied {id} ("));
    }
    o.stderr_has(&format!("the database is at {HEAD}"))
}

// ---------------------------------------------------------------------------------------
// A database server that starts late

/// `url` with its host and port replaced by `127.0.0.1:port` (user, password, database
/// and query kept), and the host and port it named (the scheme's default port if none).
fn rehost(url: &str, port: u16) -> (String, String, u16) {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((user, hostport)) => (format!("{user}@"), hostport),
        None => (String::new(), authority),
    };
    let default_port = if scheme.starts_with("mysql") || scheme.starts_with("mariadb") {
        3306
    } else {
        5432
    };
    let (host, server_port) = match hostport.rsplit_once(':') {
        Some((host, p)) if p.parse::<u16>().is_ok() => (host, p.parse().unwrap_or(default_port)),
        _ => (hostport, default_port),
    };
    (
        format!("{scheme}://{user}127.0.0.1:{port}{tail}"),
        host.trim_matches(['[', ']']).to_string(),
        server_port,
    )
}

/// `url` pointed at `127.0.0.1:port`, and the address of the server it names.
fn through_port(url: &str, port: u16) -> (String, SocketAddr) {
    let (rehosted, host, server_port) = rehost(url, port);
    let server = (host.as_str(), server_port)
        .to_socket_addrs()
        .expect("resolve the database server")
        .next()
        .expect("an address for the database server");
    (rehosted, server)
}

#[test]
fn rehost_keeps_the_user_the_database_and_the_query() {
    assert_eq!(
        rehost(
            "postgres://app:pw@db.internal:6432/app?sslmode=disable",
            40001
        ),
        (
            "postgres://app:pw@127.0.0.1:40001/app?sslmode=disable".to_string(),
            "db.internal".to_string(),
            6432
        )
    );
    assert_eq!(
        rehost("mysql://root@127.0.0.1/test", 40002),
        (
            "mysql://root@127.0.0.1:40002/test".to_string(),
            "127.0.0.1".to_string(),
            3306
        )
    );
    assert_eq!(
        rehost("postgres://[::1]:5433?dbname=x", 40003),
        (
            "postgres://127.0.0.1:40003?dbname=x".to_string(),
            "::1".to_string(),
            5433
        )
    );
}

// ---------------------------------------------------------------------------------------
// The image's command, then `current`

// On a server: the binary starts first, the server LATE after it; the binary waits for
// it, applies everything and exits 0; `current`, run the same way, shows the head.
// SQLite has no server: the database file is created beside the binary (`mode=rwc`).
on_every_backend!(the_image_upgrades_a_database_that_starts_after_it, |tdb| {
    let image = Image::new();
    if tdb.backend == Backend::Sqlite {
        let url = format!("sqlite://{}/app.db?mode=rwc", image.dir().display());
        let (o, _) = image.start(&url, &CMD).finish();
        applied_everything(o);
        image
            .run(&url, &["current"])
            .exited(0)
            .stdout_is(&format!("{HEAD} (head)\n"));
        // The database, its lock file and the binary; nothing else.
        for name in image.files() {
            assert!(
                name == "migrations" || name.starts_with("app.db"),
                "{name} written beside the binary: {:?}",
                image.files()
            );
        }
        return;
    }

    let port = free_port();
    let (url, server) = through_port(&tdb.url, port);
    let mut run = image.start(&url, &CMD);
    std::thread::sleep(LATE);
    assert!(
        run.running(),
        "`{}` ended before the server started",
        run.what
    );
    let forwarder = LateServer::start(port, server, Duration::ZERO);
    let (o, took) = run.finish();
    applied_everything(o);
    assert!(took >= LATE, "done in {took:?}, before the server started");
    assert!(
        forwarder.connections() > 0,
        "nothing came through the forwarder"
    );
    image
        .run(&url, &["current"])
        .exited(0)
        .stdout_is(&format!("{HEAD} (head)\n"));
    drop(forwarder);
    assert_eq!(image.files(), ["migrations"], "written beside the binary");
});
