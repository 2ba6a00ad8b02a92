//! One run of a binary, written as a specification, as in just's `tests/test.rs`:
//! `p.run(&["upgrade", "head"]).on(url).status(0).stderr_has("Applied")`. A check that
//! fails shows the command, its exit code and both streams.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::Via;

/// A command about to run: its program, environment and directory are set; the URL and
/// the arguments go on when it runs.
pub struct Run {
    cmd: Command,
    what: String,
    args: Vec<String>,
    url: Option<String>,
    via: Via,
}

impl Run {
    /// `cmd` (its leading arguments and environment already set) with `args`, named
    /// `name args…` in failures; `on` passes the URL as `via` says.
    pub fn new(name: &str, cmd: Command, args: &[&str], via: Via) -> Run {
        Run {
            cmd,
            what: format!("{name} {}", args.join(" ")),
            args: args.iter().map(|a| a.to_string()).collect(),
            url: None,
            via,
        }
    }

    /// The database URL.
    pub fn on(mut self, url: &str) -> Run {
        self.url = Some(url.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Run {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Run {
        self.cmd.env_remove(key);
        self
    }

    /// The working directory.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Run {
        self.cmd.current_dir(dir);
        self
    }

    /// What failures call it (by default, the program and the arguments).
    pub fn named(mut self, what: impl Into<String>) -> Run {
        self.what = what.into();
        self
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    /// How `on` passes the URL.
    pub fn via(mut self, via: Via) -> Run {
        self.via = via;
        self
    }

    /// The command as it will run, to start it some other way.
    pub fn into_command(mut self) -> Command {
        match (&self.url, self.via) {
            (Some(url), Via::Flag) => {
                self.cmd.args(["--database-url", url]);
            }
            (Some(url), Via::Env) => {
                self.cmd.env("DATABASE_URL", url);
            }
            (None, _) => {}
        }
        self.cmd.args(&self.args);
        self.cmd
    }

    /// Runs it, whatever its exit code.
    pub fn output(self) -> Ran {
        let what = self.what.clone();
        let output = self.into_command().output().expect("run the binary");
        Ran::new(what, output)
    }

    /// Runs it and checks its exit code.
    pub fn status(self, code: i32) -> Ran {
        self.output().exited(code)
    }
}

/// The example crate's migration binary `bin` (`CARGO_BIN_EXE_migrations`) with `args`,
/// run in the crate that builds it, with no DATABASE_URL from the test's environment and
/// no colours, nothing on stdin; `on` passes the URL with `--database-url`, before the arguments.
pub fn migrations(bin: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(bin);
    cmd.env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    Run::new("migrations", cmd, args, Via::Flag)
}

/// A finished run: more checks chain on it, and it gives its streams for the rest.
pub struct Ran {
    pub what: String,
    pub output: Output,
}

impl Ran {
    /// The output of the command `what`.
    pub fn new(what: impl Into<String>, output: Output) -> Ran {
        Ran {
            what: what.into(),
            output,
        }
    }

    /// Checks the exit code.
    pub fn exited(self, code: i32) -> Ran {
        if self.code() != Some(code) {
            self.fail(&format!("exited {:?}, not {code}", self.code()));
        }
        self
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// stderr, without cargo's lines about waiting for another test's build.
    pub fn stderr(&self) -> String {
        let text = String::from_utf8_lossy(&self.output.stderr).into_owned();
        let waiting = |l: &str| l.trim_start().starts_with("Blocking waiting for file lock");
        if !text.lines().any(waiting) {
            return text;
        }
        text.lines()
            .filter(|l| !waiting(l))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The command, its exit code and both streams, for a failure message.
    pub fn context(&self) -> String {
        format!(
            "`{}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }

    fn fail(&self, why: &str) -> ! {
        panic!("{why}\n{}", self.context())
    }

    fn check(self, ok: bool, why: impl FnOnce() -> String) -> Ran {
        if !ok {
            self.fail(&why());
        }
        self
    }

    pub fn stdout_is(self, want: &str) -> Ran {
        assert_eq!(self.stdout(), want, "stdout\n{}", self.context());
        self
    }

    pub fn stderr_is(self, want: &str) -> Ran {
        assert_eq!(self.stderr(), want, "stderr\n{}", self.context());
        self
    }

    pub fn stdout_has(self, needle: &str) -> Ran {
        let ok = self.stdout().contains(needle);
        self.check(ok, || format!("stdout lacks {needle:?}"))
    }

    pub fn stdout_lacks(self, needle: &str) -> Ran {
        let ok = !self.stdout().contains(needle);
        self.check(ok, || format!("stdout has {needle:?}"))
    }

    pub fn stdout_starts_with(self, prefix: &str) -> Ran {
        let ok = self.stdout().starts_with(prefix);
        self.check(ok, || format!("stdout does not start with {prefix:?}"))
    }

    pub fn stderr_has(self, needle: &str) -> Ran {
        let ok = self.stderr().contains(needle);
        self.check(ok, || format!("stderr lacks {needle:?}"))
    }

    pub fn stderr_lacks(self, needle: &str) -> Ran {
        let ok = !self.stderr().contains(needle);
        self.check(ok, || format!("stderr has {needle:?}"))
    }

    /// stderr is one line.
    pub fn one_line(self) -> Ran {
        let lines = self.stderr().trim_end().lines().count();
        self.check(lines == 1, || format!("one line expected, not {lines}"))
    }

    /// stdout as one JSON value.
    pub fn json(&self) -> serde_json::Value {
        let out = self.stdout();
        serde_json::from_str(out.trim())
            .unwrap_or_else(|e| self.fail(&format!("stdout is not one JSON value: {e}")))
    }

    /// stdout as JSON lines, each a value.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| self.fail(&format!("not a JSON line ({e}): {l}")))
            })
            .collect()
    }
}
