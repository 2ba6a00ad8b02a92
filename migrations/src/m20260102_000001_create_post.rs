//! Create the `post` table, each post written by an author.

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of.
pub const REVISES: &[&str] = &["m20260101_000001_create_author"];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260102_000001_create_post"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("post")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(integer("author_id"))
                    .col(string("title"))
                    .col(text("body"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_post_author")
                            .from("post", "author_id")
                            .to("author", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("post").to_owned())
            .await
    }
}
