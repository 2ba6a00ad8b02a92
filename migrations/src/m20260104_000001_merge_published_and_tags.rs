//! Merge the two branches: nothing to run, it joins the history.

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of.
pub const REVISES: &[&str] = &["m20260103_000001_add_post_published", "m20260103_000002_create_tag"];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260104_000001_merge_published_and_tags"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let _ = manager;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let _ = manager;
        Ok(())
    }
}
