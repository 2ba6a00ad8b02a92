//! Confirmation of destructive verbs. `downgrade` and `stamp` always confirm, and so
//! does `redo` against a database that is not on this machine (on a local one it is
//! the edit-run loop). On a terminal the verb shows its plan and asks; anywhere else
//! it needs `--yes`, and refuses before it connects.

use std::io::IsTerminal;

use crate::engine::runtime::Change;
use crate::engine::url::DbUrl;
use crate::error::{Error, Result};

/// What to do before a verb changes the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Not destructive, or confirmed with `--yes`.
    Go,
    /// Show the plan and ask on the terminal.
    Ask,
}

/// Decides, before connecting, whether the destructive `verb` may ask on a terminal or
/// is refused because nobody can answer (`json`: the output is for a program).
pub fn policy(verb: &str, url: &DbUrl, json: bool) -> Result<Policy> {
    let why = if json {
        Some("with `--format json`")
    } else {
        cannot_ask()
    };
    match why {
        None => Ok(Policy::Ask),
        Some(why) => Err(Error::usage(format!(
            "`{verb}` changes what {url} records, and asks first; {why}, confirm with `--yes`"
        ))),
    }
}

/// Why nobody can be asked a question here, if so: no terminal on both stdin and
/// stderr, CI, or a binary built without the `prompt` feature. The one answer for
/// every prompt of the binary and the subcommand.
pub fn cannot_ask() -> Option<&'static str> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        Some("without a terminal to ask on")
    } else if in_ci() {
        Some("in CI")
    } else if !cfg!(feature = "prompt") {
        Some("in a binary built without cargo-migrate's `prompt` feature")
    } else {
        None
    }
}

/// `CI` is set to something other than `false` or `0`: nobody is there to answer.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Prints the plan on stderr and asks whether to go ahead (default: no). `again`: the
/// plan changed since the last answer (another process changed the database while this
/// one waited for the lock).
pub fn ask(url: &DbUrl, changes: &[Change], again: bool) -> Result<bool> {
    let mut text = if again {
        format!(
            "{url} changed while this run waited for the migration lock; this will now change it:\n"
        )
    } else {
        format!("This will change {url}:\n")
    };
    for change in changes {
        let (what, id) = match change {
            Change::Apply(id) => ("apply", id),
            Change::Revert(id) => ("revert", id),
            Change::Stamp(id) => ("record", id),
            Change::Unstamp(id) => ("forget", id),
            Change::Purge(id) => ("purge", id),
        };
        text.push_str(&format!("  {:>8}  {id}\n", console::style(what).bold()));
    }
    eprint!("{text}");
    prompt("Go ahead?")
}

#[cfg(feature = "prompt")]
fn prompt(question: &str) -> Result<bool> {
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .wait_for_newline(true)
        .interact_opt();
    // Ctrl-C, Esc and a closed terminal are a no.
    Ok(matches!(answer, Ok(Some(true))))
}

#[cfg(not(feature = "prompt"))]
fn prompt(_question: &str) -> Result<bool> {
    Ok(false)
}
