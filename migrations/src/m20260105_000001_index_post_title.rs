//! Index `post.title` for lookups by title.

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of.
pub const REVISES: &[&str] = &["m20260104_000001_merge_published_and_tags"];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260105_000001_index_post_title"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_post_title")
                    .table("post")
                    .col("title")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_post_title").table("post").to_owned())
            .await
    }
}
