//! The example crate's migration binary, end to end: the real binary, real databases.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::Command;

use support::run::{self, Run};
use support::{Backend, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_migrations");

/// The binary with `args`, no DATABASE_URL from the environment, no colours.
fn bin(args: &[&str]) -> Run {
    run::migrations(BIN, args)
}

#[test]
fn history_shows_the_branch_and_the_merge_newest_first() {
    let o = bin(&["history"]).status(0);
    insta::assert_snapshot!(o.stdout());
}

#[test]
fn history_verbose_heads_branches_and_show() {
    insta::assert_snapshot!(
        "history_verbose",
        bin(&["history", "-v"]).status(0).stdout()
    );
    insta::assert_snapshot!("heads", bin(&["heads"]).status(0).stdout());
    insta::assert_snapshot!("branches", bin(&["branches"]).status(0).stdout());
    insta::assert_snapshot!("show_merge", bin(&["show", "20260104"]).status(0).stdout());
    insta::assert_snapshot!(
        "history_range",
        bin(&["history", "-r", "m20260102_000001_create_post:head-1"])
            .status(0)
            .stdout()
    );
}

#[test]
fn json_output_of_offline_verbs() {
    let v = bin(&["heads", "--format", "json"]).status(0).json();
    assert_eq!(v["heads"][0]["id"], "m20260105_000001_index_post_title");
    assert_eq!(
        v["heads"][0]["parents"][0],
        "m20260104_000001_merge_published_and_tags"
    );
    let v = bin(&["history", "--format", "json"]).status(0).json();
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
        bin(&["show", spec]).status(2).stderr_has(needle).one_line();
    }
}

#[test]
fn a_missing_database_url_says_how_to_set_it() {
    bin(&["current"])
        .status(2)
        .stderr_has("--database-url")
        .stderr_has("DATABASE_URL");
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
    let bad_scheme = bin(&["current"])
        .on("oracle://app:hunter2@db/x")
        .status(2)
        .stderr_has("unsupported database URL scheme");
    let unreachable = bin(&["upgrade", "head"])
        .on("postgres://app:hunter2@127.0.0.1:1/nothing")
        .status(1)
        .stderr_has("cannot connect to postgres://app:***@127.0.0.1:1/nothing");
    for o in [bad_scheme, unreachable] {
        o.stdout_lacks("hunter2").stderr_lacks("hunter2");
    }
}

// The whole story, step by step, on each backend.
on_every_backend!(the_whole_story_through_the_binary, |tdb| {
    let url = tdb.url.as_str();
    story::nothing_is_applied_yet(url);
    story::upgrade_to_a_middle_revision_by_a_prefix(url);
    story::upgrade_the_rest_then_the_state_everywhere(url);
    story::destructive_verbs_need_yes_without_a_terminal(url);
    story::downgrade_across_the_merge_to_the_branch_point(url);
    story::stamp_then_downgrade_runs_the_real_down(url);
    story::downgrade_to_base(url);
    if tdb.backend == Backend::Sqlite {
        // a spec error changes nothing and exits 2
        bin(&["upgrade", "m1999"]).on(url).status(2);
    }
});

/// The steps of `the_whole_story_through_the_binary`, in order.
mod story {
    use super::bin;

    const HEAD: &str = "m20260105_000001_index_post_title";

    /// Nothing applied yet; reading creates nothing.
    pub fn nothing_is_applied_yet(url: &str) {
        bin(&["check"])
            .on(url)
            .status(3)
            .stdout_starts_with("6 pending migrations");
    }

    /// To a middle revision, by prefix without the leading m.
    pub fn upgrade_to_a_middle_revision_by_a_prefix(url: &str) {
        bin(&["upgrade", "20260102"])
            .on(url)
            .status(0)
            .stderr_has("Applied m20260101_000001_create_author (")
            .stderr_has("Applied m20260102_000001_create_post (");
        bin(&["current"])
            .on(url)
            .status(0)
            .stdout_is("m20260102_000001_create_post\n");
    }

    /// The rest, then the state everywhere.
    pub fn upgrade_the_rest_then_the_state_everywhere(url: &str) {
        bin(&["upgrade", "head"]).on(url).status(0);
        bin(&["check"])
            .on(url)
            .status(0)
            .stdout_is("up to date at m20260105_000001_index_post_title\n");
        bin(&["status"])
            .on(url)
            .status(0)
            .stdout_has("6 applied, 0 pending");
        bin(&["history", "-i"])
            .on(url)
            .status(0)
            .stdout_has("-> m20260105_000001_index_post_title (head) (current), index post title");
    }

    /// Destructive verbs need `--yes` without a terminal, and change nothing without it.
    pub fn destructive_verbs_need_yes_without_a_terminal(url: &str) {
        for verb in [
            &["downgrade", "-1"][..],
            &["stamp", "base"],
            &["downgrade", "base", "--format", "json"],
        ] {
            bin(verb)
                .on(url)
                .status(2)
                .stderr_has("confirm with `--yes`")
                .one_line();
        }
        bin(&["current"]).on(url).status(0).stdout_starts_with(HEAD);
    }

    /// Back across the merge to the branch point: both branches go.
    pub fn downgrade_across_the_merge_to_the_branch_point(url: &str) {
        let mut o = bin(&["downgrade", "--yes", "m20260102_000001_create_post"])
            .on(url)
            .status(0);
        for id in [
            HEAD,
            "m20260104_000001_merge_published_and_tags",
            "m20260103_000002_create_tag",
            "m20260103_000001_add_post_published",
        ] {
            o = o.stderr_has(&format!("Reverted {id} ("));
        }
        bin(&["current"])
            .on(url)
            .status(0)
            .stdout_is("m20260102_000001_create_post\n");
    }

    /// Stamp the head without running anything, then `downgrade -1` runs the real down.
    pub fn stamp_then_downgrade_runs_the_real_down(url: &str) {
        bin(&["stamp", "-y", "head"]).on(url).status(0);
        bin(&["check"])
            .on(url)
            .status(0)
            .stdout_is("up to date at m20260105_000001_index_post_title\n");
        bin(&["stamp", "-y", "m20260102_000001_create_post"])
            .on(url)
            .status(0);
        bin(&["upgrade", "heads"]).on(url).status(0);
        let lines = bin(&["downgrade", "-1", "--format", "json", "--yes"])
            .on(url)
            .status(0)
            .json_lines();
        assert_eq!(lines[0]["event"], "step");
        assert_eq!(lines[0]["revision"], HEAD);
        assert_eq!(lines[0]["direction"], "down");
        assert_eq!(lines.last().unwrap()["event"], "done");
        // redo is the local edit-run loop: no confirmation on this machine's databases
        bin(&["redo"]).on(url).status(0);

        let v = bin(&["status", "--format", "json"])
            .on(url)
            .status(0)
            .json();
        assert_eq!(v["pending"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["applied"], 5);
    }

    pub fn downgrade_to_base(url: &str) {
        bin(&["downgrade", "base", "--yes"]).on(url).status(0);
        bin(&["current"])
            .on(url)
            .status(0)
            .stdout_is("")
            .stderr_has("the database is at base");
    }
}

/// On a real terminal `downgrade` shows its plan and asks: `n` changes nothing (exit 1,
/// "cancelled"), `y` goes ahead. The terminal is a pseudo-terminal from util-linux
/// `script`, else tmux.
#[test]
fn downgrade_asks_on_a_terminal_and_does_what_the_answer_says() {
    let Some(on_terminal) = terminal::available() else {
        return;
    };
    let db = terminal::AtTheHead::new();
    let (code, shown) = on_terminal(&db.downgrade, "n");
    if terminal::cannot_ask(&shown) {
        return;
    }
    db.answering_n_changes_nothing(code, &shown);
    let (code, shown) = on_terminal(&db.downgrade, "y");
    db.answering_y_reverts_the_head(code, &shown);
}

/// A command on a pseudo-terminal: start it, type the answer once it asks, read what
/// the terminal showed.
mod terminal {
    use std::io::{Read, Write};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use super::support::{self, stderr, stdout};
    use super::{BIN, bin};

    const HEAD: &str = "m20260105_000001_index_post_title";
    const BELOW: &str = "m20260104_000001_merge_published_and_tags";
    const LIMIT: Duration = Duration::from_secs(60);

    /// Runs a shell command on a terminal, types a key and Enter once it asks, and
    /// returns the exit code and everything the terminal showed.
    pub type OnTerminal = fn(&str, &str) -> (Option<i32>, String);

    fn in_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    /// `script`, else tmux; with neither the test is skipped, which CI does not allow.
    pub fn available() -> Option<OnTerminal> {
        if on_path("script") {
            Some(with_script)
        } else if on_path("tmux") {
            Some(with_tmux)
        } else {
            assert!(
                !in_ci(),
                "CI needs util-linux `script` or tmux for the terminal test"
            );
            support::skipped("terminal prompt test: neither `script` nor `tmux` is installed");
            None
        }
    }

    /// Whether the binary answered that it cannot ask (then the test is skipped).
    pub fn cannot_ask(shown: &str) -> bool {
        if !shown.contains("without cargo-migrate's `prompt` feature") {
            return false;
        }
        // `cargo test -p migrations` builds the runtime with this crate's features only.
        assert!(!in_ci(), "the migration binary cannot ask:\n{shown}");
        support::skipped(
            "terminal prompt test: the migration binary was built without the `prompt` feature",
        );
        true
    }

    /// A SQLite database at the head, and the `downgrade -1` command line for it.
    pub struct AtTheHead {
        _dir: tempfile::TempDir,
        url: String,
        pub downgrade: String,
    }

    impl AtTheHead {
        pub fn new() -> AtTheHead {
            let dir = tempfile::tempdir().expect("temp dir");
            // A space in the path: the command line goes through a shell.
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("prompt test.db").display()
            );
            bin(&["upgrade", "head"]).on(&url).status(0);
            let downgrade = format!("{} --database-url {} downgrade -1", quote(BIN), quote(&url));
            AtTheHead {
                _dir: dir,
                url,
                downgrade,
            }
        }

        /// The ids `current` prints, one a line (the head is marked `(head)`).
        fn current(&self) -> Vec<String> {
            bin(&["current"])
                .on(&self.url)
                .status(0)
                .stdout()
                .lines()
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .collect()
        }

        pub fn answering_n_changes_nothing(&self, code: Option<i32>, shown: &str) {
            assert_eq!(code, Some(1), "`n` cancels:\n{shown}");
            assert!(shown.contains("revert") && shown.contains(HEAD), "{shown}");
            assert!(shown.contains("cancelled"), "{shown}");
            assert_eq!(self.current(), [HEAD], "`n` changed nothing");
        }

        pub fn answering_y_reverts_the_head(&self, code: Option<i32>, shown: &str) {
            assert_eq!(code, Some(0), "`y` goes ahead:\n{shown}");
            assert!(shown.contains(&format!("Reverted {HEAD} (")), "{shown}");
            assert_eq!(self.current(), [BELOW], "`y` reverted the head");
        }
    }

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

    /// Everything `child` writes on its stdout, gathered by a thread as it comes.
    fn gather(child: &mut Child) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let mut out = child.stdout.take().expect("script's stdout");
        let reader = {
            let shown = Arc::clone(&shown);
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
        (shown, reader)
    }

    /// Stops `child` and fails the test with `why` and the screen.
    fn give_up(child: &mut Child, why: String, shown: String) -> ! {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{why}:\n{shown}");
    }

    /// On a pseudo-terminal of util-linux `script`.
    fn with_script(command: &str, key: &str) -> (Option<i32>, String) {
        let mut child = child_env(Command::new("script").args(["-qec", command, "/dev/null"]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start script");
        let (shown, reader) = gather(&mut child);
        let text = || String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
        let mut stdin = child.stdin.take().expect("script's stdin");
        let asked =
            wait_until(|| text().contains("Go ahead?") || matches!(child.try_wait(), Ok(Some(_))));
        if !asked {
            give_up(&mut child, format!("no question within {LIMIT:?}"), text());
        }
        // The key, then Enter (a raw terminal reads Enter as \r).
        let _ = stdin.write_all(format!("{key}\r").as_bytes());
        let _ = stdin.flush();
        let mut status = None;
        if !wait_until(|| {
            status = child.try_wait().ok().flatten();
            status.is_some()
        }) {
            let why = format!("still running {LIMIT:?} after the answer");
            give_up(&mut child, why, text());
        }
        drop(stdin);
        let _ = reader.join();
        (status.and_then(|s| s.code()), text())
    }

    /// In a detached tmux session on a server of its own.
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
}

#[test]
fn status_shows_the_execution_time_upgrade_printed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let o = bin(&["upgrade", "head"]).on(&url).status(0);
    let printed: Vec<(String, String)> = o
        .stderr()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Applied "))
        .filter_map(|l| {
            let (id, took) = l.split_once(" (")?;
            Some((id.to_string(), took.trim_end_matches(')').to_string()))
        })
        .collect();
    assert_eq!(printed.len(), 6, "{}", o.stderr());
    let status = bin(&["status"]).on(&url).status(0).stdout();
    for (id, took) in &printed {
        assert!(took.ends_with(" ms") && took != "0 ms", "{id}: {took}");
        let line = status.lines().find(|l| l.contains(id.as_str())).unwrap();
        assert!(line.ends_with(&format!("  {took}")), "{line} vs {took}");
    }
}
