//! Output streams that go away: a verb that writes to the database finishes whatever
//! happens to whoever reads its output (`upgrade head --format json | head -1`).

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");

fn migration_binary(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("DATABASE_URL")
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1")
        .args(["--database-url", url])
        .args(args);
    cmd
}

#[test]
fn an_upgrade_whose_reader_went_away_still_reaches_head() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    for format in ["json", "human"] {
        let mut child = migration_binary(&url, &["--format", format, "upgrade", "head"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader closes its end before the binary writes a line, as `head` does
        // after its first.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        let check = migration_binary(&url, &["check"]).output().unwrap();
        assert_eq!(
            check.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let down = migration_binary(&url, &["downgrade", "base", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(down.success());
    }
}
