//! Which migration crate a command works on: what workspace discovery finds, or, among
//! several that nothing chooses between, the one the person at the terminal picks. Every
//! command that needs the crate comes here, so only this module asks.

use crate::app::confirm::cannot_ask;

use super::args::CargoArgs;
use super::config::Config;
use super::error::{Result, ToolError};
use super::workspace::{self, Discovered, MigrationCrate, Workspace};

/// The migration crate of `ws` (`workspace::Workspace::migration_crate`); among
/// several that nothing chooses between, the person at the terminal picks one. Every
/// command that needs the crate comes here, so only this layer asks.
pub(crate) fn migration_crate(
    ws: &Workspace,
    cargo: &CargoArgs,
) -> Result<(MigrationCrate, Config)> {
    match ws.migration_crate(cargo.package.as_deref())? {
        Discovered::Crate(found) => Ok(*found),
        Discovered::Ambiguous(names) if cannot_ask().is_none() => {
            ws.picked_crate(&ask_which(&names)?)
        }
        Discovered::Ambiguous(names) => Err(workspace::several_crates(&names)),
    }
}

/// Asks which of `names` is the migration crate.
fn ask_which(names: &[String]) -> Result<String> {
    let choice = dialoguer::Select::new()
        .with_prompt("Which migration crate? (`-p <name>` skips this question)")
        .items(names)
        .default(0)
        .interact_opt()
        .ok()
        .flatten()
        .ok_or_else(|| ToolError::usage("no migration crate chosen"))?;
    Ok(names[choice].clone())
}
