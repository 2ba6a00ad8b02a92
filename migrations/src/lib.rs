//! The example migration crate: a small blog schema. `create_post` is a branch point
//! (`add_post_published` and `create_tag` both revise it) and
//! `merge_published_and_tags` joins the two branches again.

cargo_migrate::migrator! {
    m20260101_000001_create_author,
    m20260102_000001_create_post,
    m20260103_000001_add_post_published,
    m20260103_000002_create_tag,
    m20260104_000001_merge_published_and_tags,
    m20260105_000001_index_post_title,
}
