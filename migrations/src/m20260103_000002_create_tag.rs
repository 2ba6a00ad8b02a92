//! Create `tag` and the `post_tag` join table (the other side of the branch).

use cargo_migrate::prelude::*;

/// The revisions this migration applies on top of.
pub const REVISES: &[&str] = &["m20260102_000001_create_post"];

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260103_000002_create_tag"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tag")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_uniq("name"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("post_tag")
                    .if_not_exists()
                    .col(integer("post_id"))
                    .col(integer("tag_id"))
                    .primary_key(Index::create().col("post_id").col("tag_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_post_tag_post")
                            .from("post_tag", "post_id")
                            .to("post", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_post_tag_tag")
                            .from("post_tag", "tag_id")
                            .to("tag", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("post_tag").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("tag").to_owned())
            .await
    }
}
