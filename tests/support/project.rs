//! A temporary cargo workspace driven through the real `cargo-migrate` binary, for
//! end-to-end tests. Every workspace builds into one shared target directory
//! (`target/e2e`) from this repository's `Cargo.lock`, so sea-orm compiles once.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-migrate");
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The shared target directory of every end-to-end workspace.
pub fn target_dir() -> PathBuf {
    Path::new(REPO).join("target").join("e2e")
}

/// A temporary workspace: one application package, and whatever the test adds. Its
/// migration crate has a name of its own: binaries in the shared target directory are
/// named after their crate, and tests run in parallel.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub name: String,
}

static PROJECTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("cm-e2e-")
            .tempdir()
            .expect("temp dir");
        let n = PROJECTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = Project {
            dir,
            name: format!("migration_{n}"),
        };
        p.write("Cargo.toml", "[package]\nname = \"app\" # the application\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n");
        p.write("src/main.rs", "fn main() {}\n");
        std::fs::copy(
            Path::new(REPO).join("Cargo.lock"),
            p.path().join("Cargo.lock"),
        )
        .expect("copy Cargo.lock");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env(
                "CARGO_TARGET_DIR",
                Path::new(REPO).join("target").join("e2e"),
            )
            .env("CARGO_MIGRATE_RUNTIME_PATH", REPO)
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .env_remove("CARGO_TERM_COLOR");
        cmd
    }

    /// Runs `cargo-migrate migrate <args>` and checks its exit code.
    pub fn expect(&self, args: &[&str], code: i32) -> Output {
        self.expect_with(self.command(args), args, code)
    }

    pub fn expect_on(&self, url: &str, args: &[&str], code: i32) -> Output {
        let mut cmd = self.command(args);
        cmd.env("DATABASE_URL", url);
        self.expect_with(cmd, args, code)
    }

    pub fn expect_with(&self, mut cmd: Command, args: &[&str], code: i32) -> Output {
        let o = cmd.output().expect("run cargo-migrate");
        assert_eq!(
            o.status.code(),
            Some(code),
            "`cargo migrate {}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            o.status.code(),
            out(&o),
            err(&o)
        );
        o
    }

    pub fn files(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path().join(rel))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// `init` with every backend, so all tests share one build of sea-orm.
    pub fn init(&self) {
        self.expect(
            &[
                "init",
                "--name",
                &self.name,
                "--database",
                "sqlite,postgres,mysql",
            ],
            0,
        );
    }

    /// The ids `create` printed (its stdout is the new files' paths).
    pub fn create(&self, args: &[&str]) -> String {
        let mut all = vec!["create"];
        all.extend(args);
        let o = self.expect(&all, 0);
        let path = PathBuf::from(out(&o).lines().next().unwrap_or_default());
        path.file_stem().unwrap().to_string_lossy().into_owned()
    }
}

pub use crate::support::stdout as out;

/// stderr, without cargo's lines about waiting for another test's build.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.trim_start().starts_with("Blocking waiting for file lock"))
        .map(|l| format!("{l}\n"))
        .collect()
}

pub fn one_line(o: &Output) -> String {
    let e = err(o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line expected:\n{e}");
    e
}
