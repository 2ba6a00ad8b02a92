//! Confirmation of destructive verbs. `downgrade` and `stamp` always confirm, and so
//! does `redo` against a database that is not on this machine (on a local one it is
//! the edit-run loop). On a terminal the verb shows its plan and asks; anywhere else
//! it needs `--yes`, and refuses before it connects.

use std::io::IsTerminal;

use crate::app::args::{GlobalArgs, Verb};
use crate::app::render::Format;
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

/// Decides, before connecting, whether `verb` may run, must ask, or is refused.
pub fn policy(verb: &Verb, global: &GlobalArgs, url: &DbUrl) -> Result<Policy> {
    let destructive = match verb {
        Verb::Downgrade { .. } | Verb::Stamp { .. } => true,
        Verb::Redo { .. } => !url.is_local(),
        _ => false,
    };
    if !destructive || global.yes {
        return Ok(Policy::Go);
    }
    let why = if global.format != Format::Human {
        Some("with `--format json`")
    } else if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        Some("without a terminal to ask on")
    } else if in_ci() {
        Some("in CI")
    } else if !cfg!(feature = "prompt") {
        Some("in a binary built without cargo-migrate's `prompt` feature")
    } else {
        None
    };
    match why {
        None => Ok(Policy::Ask),
        Some(why) => Err(Error::usage(format!(
            "`{}` changes what {url} records, and asks first; {why}, confirm with `--yes`",
            verb.name()
        ))),
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
