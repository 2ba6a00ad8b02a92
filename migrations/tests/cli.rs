//! The example crate's migration binary, end to end: the real binary, real databases.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};

use support::{Backend, stderr, stdout};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");

/// Runs the binary with `args`, no DATABASE_URL from the environment, no colours.
fn run(url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(url) = url {
        cmd.args(["--database-url", url]);
    }
    cmd.args(args).output().expect("run the migration binary")
}

/// Runs and asserts the exit code, showing both streams when it differs.
fn expect(url: Option<&str>, args: &[&str], code: i32) -> Output {
    let o = run(url, args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "`{}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

#[test]
fn history_shows_the_branch_and_the_merge_newest_first() {
    let o = expect(None, &["history"], 0);
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn history_verbose_heads_branches_and_show() {
    insta::assert_snapshot!(
        "history_verbose",
        stdout(&expect(None, &["history", "-v"], 0))
    );
    insta::assert_snapshot!("heads", stdout(&expect(None, &["heads"], 0)));
    insta::assert_snapshot!("branches", stdout(&expect(None, &["branches"], 0)));
    insta::assert_snapshot!(
        "show_merge",
        stdout(&expect(None, &["show", "20260104"], 0))
    );
    insta::assert_snapshot!(
        "history_range",
        stdout(&expect(
            None,
            &["history", "-r", "m20260102_000001_create_post:head-1"],
            0
        ))
    );
}

#[test]
fn json_output_of_offline_verbs() {
    let o = expect(None, &["heads", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(v["heads"][0]["id"], "m20260105_000001_index_post_title");
    assert_eq!(
        v["heads"][0]["parents"][0],
        "m20260104_000001_merge_published_and_tags"
    );
    let o = expect(None, &["history", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(v["revisions"].as_array().map(Vec::len), Some(6));
}

#[test]
fn bad_specs_are_one_line_usage_errors() {
    for (spec, needle) in [
        ("nope_nope", "no revision matches `nope_nope`"),
        ("m2026", "m2026"),
        ("m20", "at least 4 characters"),
        ("head+1", "head"),
    ] {
        let o = expect(None, &["show", spec], 2);
        let err = stderr(&o);
        assert!(err.contains(needle), "`show {spec}`: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn a_missing_database_url_says_how_to_set_it() {
    let o = expect(None, &["current"], 2);
    let err = stderr(&o);
    assert!(
        err.contains("--database-url") && err.contains("DATABASE_URL"),
        "{err}"
    );
}

#[test]
fn a_malformed_env_file_is_named_not_taken_for_a_missing_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "A=1\nB C='hunter2\nDATABASE_URL=sqlite://x.db\n",
    )
    .unwrap();
    let o = Command::new(BIN)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .arg("current")
        .output()
        .expect("run the migration binary");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let want = format!(
        "error: cannot read {}: a line does not parse",
        dir.path().join(".env").display()
    );
    assert!(err.starts_with(&want), "{err}");
    assert!(
        !err.contains("hunter2") && !err.contains("no database URL"),
        "{err}"
    );
    assert!(!dir.path().join("x.db").exists());
}

#[test]
fn malformed_and_unreachable_urls_never_show_the_password() {
    let bad_scheme = expect(Some("oracle://app:hunter2@db/x"), &["current"], 2);
    assert!(
        stderr(&bad_scheme).contains("unsupported database URL scheme"),
        "{}",
        stderr(&bad_scheme)
    );
    let unreachable = expect(
        Some("postgres://app:hunter2@127.0.0.1:1/nothing"),
        &["upgrade", "head"],
        1,
    );
    let err = stderr(&unreachable);
    assert!(
        err.contains("cannot connect to postgres://app:***@127.0.0.1:1/nothing"),
        "{err}"
    );
    for o in [&bad_scheme, &unreachable] {
        assert!(!stdout(o).contains("hunter2") && !stderr(o).contains("hunter2"));
    }
}

on_every_backend!(the_whole_story_through_the_binary, |tdb| {
    let url = Some(tdb.url.as_str());
    // nothing applied yet; reading creates nothing
    let o = expect(url, &["check"], 3);
    assert!(
        stdout(&o).starts_with("6 pending migrations"),
        "{}",
        stdout(&o)
    );

    // to a middle revision, by prefix without the leading m
    let o = expect(url, &["upgrade", "20260102"], 0);
    let err = stderr(&o);
    assert!(
        err.contains("Applied m20260101_000001_create_author ("),
        "{err}"
    );
    assert!(
        err.contains("Applied m20260102_000001_create_post ("),
        "{err}"
    );
    let o = expect(url, &["current"], 0);
    assert_eq!(stdout(&o), "m20260102_000001_create_post\n");

    // the rest, then the state everywhere
    expect(url, &["upgrade", "head"], 0);
    assert_eq!(
        stdout(&expect(url, &["check"], 0)),
        "up to date at m20260105_000001_index_post_title\n"
    );
    let o = expect(url, &["status"], 0);
    assert!(
        stdout(&o).contains("6 applied, 0 pending"),
        "{}",
        stdout(&o)
    );
    let o = expect(url, &["history", "-i"], 0);
    assert!(
        stdout(&o)
            .contains("-> m20260105_000001_index_post_title (head) (current), index post title"),
        "{}",
        stdout(&o)
    );

    // destructive verbs need `--yes` without a terminal, and change nothing without it
    for verb in [
        &["downgrade", "-1"][..],
        &["stamp", "base"],
        &["downgrade", "base", "--format", "json"],
    ] {
        let o = expect(url, verb, 2);
        assert!(
            stderr(&o).contains("confirm with `--yes`"),
            "{}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
    }
    assert!(stdout(&expect(url, &["current"], 0)).starts_with("m20260105_000001_index_post_title"));

    // back across the merge to the branch point: both branches go
    let o = expect(
        url,
        &["downgrade", "--yes", "m20260102_000001_create_post"],
        0,
    );
    let err = stderr(&o);
    for id in [
        "m20260105_000001_index_post_title",
        "m20260104_000001_merge_published_and_tags",
        "m20260103_000002_create_tag",
        "m20260103_000001_add_post_published",
    ] {
        assert!(err.contains(&format!("Reverted {id} (")), "{err}");
    }
    assert_eq!(
        stdout(&expect(url, &["current"], 0)),
        "m20260102_000001_create_post\n"
    );

    // stamp the head without running anything, then downgrade -1 runs the real down
    expect(url, &["stamp", "-y", "head"], 0);
    assert_eq!(
        stdout(&expect(url, &["check"], 0)),
        "up to date at m20260105_000001_index_post_title\n"
    );
    expect(url, &["stamp", "-y", "m20260102_000001_create_post"], 0);
    expect(url, &["upgrade", "heads"], 0);
    let o = expect(url, &["downgrade", "-1", "--format", "json", "--yes"], 0);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(lines[0]["event"], "step");
    assert_eq!(lines[0]["revision"], "m20260105_000001_index_post_title");
    assert_eq!(lines[0]["direction"], "down");
    assert_eq!(lines.last().unwrap()["event"], "done");
    // redo is the local edit-run loop: no confirmation on this machine's databases
    expect(url, &["redo"], 0);

    let o = expect(url, &["status", "--format", "json"], 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["pending"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["applied"], 5);

    expect(url, &["downgrade", "base", "--yes"], 0);
    let o = expect(url, &["current"], 0);
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("the database is at base"),
        "{}",
        stderr(&o)
    );
    if tdb.backend == Backend::Sqlite {
        // a spec error changes nothing and exits 2
        expect(url, &["upgrade", "m1999"], 2);
    }
});

/// On a real terminal `downgrade` shows its plan and asks: `n` changes nothing (exit 1,
/// "cancelled"), `y` goes ahead. The terminal is a pseudo-terminal from util-linux
/// `script`, else tmux.
#[test]
fn downgrade_asks_on_a_terminal_and_does_what_the_answer_says() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    const HEAD: &str = "m20260105_000001_index_post_title";
    const BELOW: &str = "m20260104_000001_merge_published_and_tags";
    const LIMIT: Duration = Duration::from_secs(60);

    fn on_path(tool: &str) -> bool {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    }
    /// One POSIX shell word.
    fn quote(s: &str) -> String {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
    /// Polls `done` every 50 ms until it holds or `LIMIT` passes.
    fn wait_until(mut done: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < LIMIT {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        done()
    }
    /// What the child sees: no CI (it refuses to ask there), no colours, a known terminal.
    fn child_env(cmd: &mut Command) -> &mut Command {
        cmd.env_remove("CI")
            .env_remove("DATABASE_URL")
            .env_remove("TMUX")
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
    }

    /// Runs `command` on a pseudo-terminal with `script`, types `key` and Enter once it
    /// asks, and returns the exit code and everything the terminal showed.
    fn with_script(command: &str, key: &str) -> (Option<i32>, String) {
        let mut child = child_env(Command::new("script").args(["-qec", command, "/dev/null"]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start script");
        let shown = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let shown = Arc::clone(&shown);
            let mut out = child.stdout.take().expect("script's stdout");
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    shown.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        let text = |shown: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&shown.lock().unwrap()).into_owned()
        };
        let mut stdin = child.stdin.take().expect("script's stdin");
        let asked = wait_until(|| {
            text(&shown).contains("Go ahead?") || matches!(child.try_wait(), Ok(Some(_)))
        });
        if !asked {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no question within {LIMIT:?}:\n{}", text(&shown));
        }
        // The key, then Enter (a raw terminal reads Enter as \r).
        let _ = stdin.write_all(format!("{key}\r").as_bytes());
        let _ = stdin.flush();
        let mut status = None;
        if !wait_until(|| {
            status = child.try_wait().ok().flatten();
            status.is_some()
        }) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running {LIMIT:?} after the answer:\n{}",
                text(&shown)
            );
        }
        drop(stdin);
        let _ = reader.join();
        (status.and_then(|s| s.code()), text(&shown))
    }

    /// The same in a detached tmux session on a server of its own.
    fn with_tmux(command: &str, key: &str) -> (Option<i32>, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        // A server of its own, whose socket goes with the directory.
        let socket = dir.path().join("tmux.sock");
        let status_file = dir.path().join("status");
        let tmux = |args: &[&str]| {
            child_env(&mut Command::new("tmux"))
                .arg("-S")
                .arg(&socket)
                .args(["-f", "/dev/null"])
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("run tmux")
        };
        // The pane stays open after the command so its screen can be read.
        let script = format!(
            "{command}; echo $? > {}; sleep 600",
            quote(&status_file.display().to_string())
        );
        let o = tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "200",
            "-y",
            "50",
            &script,
        ]);
        assert!(o.status.success(), "tmux: {}", stderr(&o));
        let screen = || stdout(&tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"]));
        let finished = || std::fs::read_to_string(&status_file).is_ok_and(|s| s.ends_with('\n'));
        let asked = wait_until(|| screen().contains("Go ahead?") || finished());
        if asked && !finished() {
            tmux(&["send-keys", "-t", "t", key, "Enter"]);
        }
        let done = asked && wait_until(finished);
        let shown = screen();
        tmux(&["kill-server"]);
        assert!(done, "no answer within {LIMIT:?}:\n{shown}");
        let code = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        (code, shown)
    }

    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let run_on_terminal: fn(&str, &str) -> (Option<i32>, String) = if on_path("script") {
        with_script
    } else if on_path("tmux") {
        with_tmux
    } else {
        assert!(
            !in_ci,
            "CI needs util-linux `script` or tmux for the terminal test"
        );
        support::skipped("terminal prompt test: neither `script` nor `tmux` is installed");
        return;
    };

    let dir = tempfile::tempdir().expect("temp dir");
    // A space in the path: the command line goes through a shell.
    let db_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("prompt test.db").display()
    );
    let url = Some(db_url.as_str());
    expect(url, &["upgrade", "head"], 0);
    let downgrade = format!(
        "{} --database-url {} downgrade -1",
        quote(BIN),
        quote(&db_url)
    );

    // The ids `current` prints, one a line (the head is marked `(head)`).
    let current = || -> Vec<String> {
        stdout(&expect(url, &["current"], 0))
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    };

    let (code, shown) = run_on_terminal(&downgrade, "n");
    if shown.contains("without cargo-migrate's `prompt` feature") {
        // `cargo test -p migrations` builds the runtime with this crate's features only.
        assert!(!in_ci, "the migration binary cannot ask:\n{shown}");
        support::skipped(
            "terminal prompt test: the migration binary was built without the `prompt` feature",
        );
        return;
    }
    assert_eq!(code, Some(1), "`n` cancels:\n{shown}");
    assert!(shown.contains("revert") && shown.contains(HEAD), "{shown}");
    assert!(shown.contains("cancelled"), "{shown}");
    assert_eq!(current(), [HEAD], "`n` changed nothing");

    let (code, shown) = run_on_terminal(&downgrade, "y");
    assert_eq!(code, Some(0), "`y` goes ahead:\n{shown}");
    assert!(shown.contains(&format!("Reverted {HEAD} (")), "{shown}");
    assert_eq!(current(), [BELOW], "`y` reverted the head");
}

#[test]
fn status_shows_the_execution_time_upgrade_printed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let o = expect(Some(&url), &["upgrade", "head"], 0);
    let printed: Vec<(String, String)> = stderr(&o)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Applied "))
        .filter_map(|l| {
            let (id, took) = l.split_once(" (")?;
            Some((id.to_string(), took.trim_end_matches(')').to_string()))
        })
        .collect();
    assert_eq!(printed.len(), 6, "{}", stderr(&o));
    let status = stdout(&expect(Some(&url), &["status"], 0));
    for (id, took) in &printed {
        assert!(took.ends_with(" ms") && took != "0 ms", "{id}: {took}");
        let line = status.lines().find(|l| l.contains(id.as_str())).unwrap();
        assert!(line.ends_with(&format!("  {took}")), "{line} vs {took}");
    }
}
