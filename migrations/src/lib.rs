//! The example migration crate: a small blog schema. `create_post` is a branch point
//! (`add_post_published` and `create_tag` both revise it) and
//! `merge_published_and_tags` joins the two branches again. Every
//! `src/m<YYYYMMDD>_<HHMMSS>_<name>.rs` is a migration, found by build.rs.

cargo_migrate::discover!();
