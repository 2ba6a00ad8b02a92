//! Add `post.published` (one side of a branch).

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of.
pub const REVISES: &[&str] = &["m20260102_000001_create_post"];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260103_000001_add_post_published"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("post")
                    .add_column(boolean("published").default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("post")
                    .drop_column("published")
                    .to_owned(),
            )
            .await
    }
}
