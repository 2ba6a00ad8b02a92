//! SeaORM entities of the example blog schema: the schema that the example migration
//! crate (`migrations/`) builds, described as entities. `cargo migrate create
//! --autogenerate` diffs these against the migrations' schema; on this crate the diff
//! is empty.

pub mod author;
pub mod post;
pub mod post_tag;
pub mod prelude;
pub mod tag;
