//! The app: the migration binary's command line on top of the engine. Its arguments,
//! one context resolved from them once, the verbs' handlers, confirmation, progress, and
//! rendering for people (`--format human`) and for programs (`--format json`).

pub mod args;
pub mod command;
pub mod confirm;
pub mod context;
pub mod json;
pub mod progress;
pub mod render;
pub mod run;
pub mod schema_run;
pub mod verbs;
