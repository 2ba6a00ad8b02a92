//! `cargo migrate upgrade --sql` on a crate sea-orm-cli wrote, adopted with no edits:
//! migrations that ask the schema (`has_column`, `has_table`, `has_index`) before they
//! act are answered offline from the DDL the script has written so far, so the script
//! does what running them does, and the database's own client runs it to the same
//! schema on every backend. A migration that reads rows has no script: it is named.

#[path = "support/project.rs"]
mod project;
mod support;

#[path = "support/dump.rs"]
mod dump;

use project::Project;
use support::TestDb;

const CREATE_TABLE: &str = "m20220101_000001_create_table";
const ADD_USERS: &str = "m20261122_132657_add_users";
const ADD_SLUG: &str = "m20261123_000001_add_post_slug";
const INDEX_SLUG: &str = "m20261123_000002_index_post_slug";
const SEED: &str = "m20261123_000003_count_posts";

/// The sea-orm-cli crate's `lib.rs` listing `ids` in order.
fn lib_rs(ids: &[&str]) -> String {
    let mods: String = ids.iter().map(|id| format!("mod {id};\n")).collect();
    let boxes: String = ids
        .iter()
        .map(|id| format!("            Box::new({id}::Migration),\n"))
        .collect();
    format!(
        "pub use sea_orm_migration::prelude::*;\n\n{mods}\npub struct Migrator;\n\n\
         #[async_trait::async_trait]\nimpl MigratorTrait for Migrator {{\n    \
         fn migrations() -> Vec<Box<dyn MigrationTrait>> {{\n        vec![\n{boxes}        ]\n    }}\n}}\n"
    )
}

/// Adds `post.slug` unless it is there.
const ADD_SLUG_RS: &str = r#"use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("post", "slug").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("post")
                        .add_column(string_null("slug"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("post", "slug").await? {
            manager
                .alter_table(Table::alter().table("post").drop_column("slug").to_owned())
                .await?;
        }
        Ok(())
    }
}
"#;

/// Adds `post.slug` again only if it is missing (it is not: a wrong offline answer
/// would write a second ALTER), and indexes it once `users` exists and the index does
/// not.
const INDEX_SLUG_RS: &str = r#"use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("post", "slug").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("post")
                        .add_column(string_null("slug"))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_table("users").await? {
            manager
                .create_table(Table::create().table("users").col(pk_auto("id")).to_owned())
                .await?;
        }
        if manager.has_table("users").await? && !manager.has_index("post", "idx_post_slug").await? {
            manager
                .create_index(
                    Index::create()
                        .name("idx_post_slug")
                        .table("post")
                        .col("slug")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_index("post", "idx_post_slug").await? {
            manager
                .drop_index(Index::drop().name("idx_post_slug").table("post").to_owned())
                .await?;
        }
        Ok(())
    }
}
"#;

/// Reads a row: no script can say what it does.
const SEED_RS: &str = r#"use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let row = db
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT COUNT(*) AS n FROM post",
            ))
            .await?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        if n == 0 {
            db.execute_unprepared("INSERT INTO post (title, text) VALUES ('hello', 'first')")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
"#;

/// A sea-orm-cli crate with the conditional migrations after its own two.
fn conditional_project() -> Project {
    let p = Project::new();
    p.sea_orm_cli_crate();
    p.write(&format!("migration/src/{ADD_SLUG}.rs"), ADD_SLUG_RS);
    p.write(&format!("migration/src/{INDEX_SLUG}.rs"), INDEX_SLUG_RS);
    p.write(
        "migration/src/lib.rs",
        &lib_rs(&[CREATE_TABLE, ADD_USERS, ADD_SLUG, INDEX_SLUG]),
    );
    p
}

on_every_backend!(probes_are_answered_from_the_script_so_far, |db| {
    if !dump::clients(&db) {
        return;
    }
    let p = conditional_project();
    let o = p.run(&["upgrade", "--sql"]).on(&db.url).status(0);
    let text = o.stdout();
    let alters = text.matches("ADD COLUMN").count();
    assert_eq!(alters, 1, "the ALTER once\n{}", o.context());
    assert_eq!(
        text.matches("CREATE TABLE \"users\"").count()
            + text.matches("CREATE TABLE `users`").count(),
        1,
        "`users` created once\n{text}"
    );
    assert_eq!(text.matches("idx_post_slug").count(), 1, "{text}");
    for id in [CREATE_TABLE, ADD_USERS, ADD_SLUG, INDEX_SLUG] {
        assert!(
            text.contains(&format!("\n-- upgrade {id}\n")),
            "{id}\n{text}"
        );
    }
    dump::run_script(&db, &text);

    let run = TestDb::new(db.backend).await.expect("the same server");
    p.run(&["upgrade", "head"]).on(&run.url).status(0);
    dump::assert_same_database(&db, &run, &[CREATE_TABLE, ADD_USERS, ADD_SLUG, INDEX_SLUG]);
    p.run(&["current"])
        .on(&db.url)
        .status(0)
        .stdout_starts_with(INDEX_SLUG);
    p.run(&["check"]).on(&db.url).status(0);
});

#[test]
fn a_migration_that_reads_data_has_no_script() {
    let p = Project::new();
    p.sea_orm_cli_crate();
    p.write(&format!("migration/src/{SEED}.rs"), SEED_RS);
    p.write(
        "migration/src/lib.rs",
        &lib_rs(&[CREATE_TABLE, ADD_USERS, SEED]),
    );
    // built first, so that stderr holds only the error
    p.run(&["heads"]).status(0);
    for backend in ["sqlite", "postgres", "mysql"] {
        p.run(&["upgrade", "--sql", "--backend", backend])
            .status(1)
            .one_line()
            .stdout_is("")
            .stderr_has(SEED)
            .stderr_has("reads data")
            .stderr_has("SELECT COUNT(*) AS n FROM post");
    }
    // the script up to the migration before it is still there to have
    let text = p
        .run(&["upgrade", "--sql", ADD_USERS, "--backend", "sqlite"])
        .status(0)
        .stdout();
    assert!(
        text.contains(&format!("-- upgrade {ADD_USERS}\n")),
        "{text}"
    );
    assert!(!text.contains(SEED), "{text}");
}

on_every_backend!(sql_file_migrations_run_from_the_script, |db| {
    if !dump::clients(&db) {
        return;
    }
    let p = Project::new();
    p.init();
    let first = p.first_migration();
    let id = p.create(&["-t", "sql", "seed the tags"]);
    p.write(
        &format!("migration/src/{id}/up.sql"),
        "-- two statements, each with its `;`\n\
         CREATE TABLE seeded (id integer PRIMARY KEY, name varchar(20) NOT NULL);\n\
         INSERT INTO seeded (id, name) VALUES (1, 'a;b'); -- a `;` in a string\n",
    );
    p.write(
        &format!("migration/src/{id}/down.sql"),
        "DROP TABLE seeded;\n",
    );
    let text = p.run(&["upgrade", "--sql"]).on(&db.url).status(0).stdout();
    dump::run_script(&db, &text);
    let run = TestDb::new(db.backend).await.expect("the same server");
    p.run(&["upgrade", "head"]).on(&run.url).status(0);
    dump::assert_same_database(&db, &run, &[&first, &id]);
    assert_eq!(dump::query(&db, "SELECT name FROM seeded").trim(), "a;b");

    let down = p
        .run(&["downgrade", "--sql", "head:base"])
        .on(&db.url)
        .status(0)
        .stdout();
    dump::run_script(&db, &down);
    p.run(&["downgrade", "base", "--yes"])
        .on(&run.url)
        .status(0);
    dump::assert_same_database(&db, &run, &[]);
});

on_every_backend!(
    a_script_from_the_database_sees_a_column_added_by_hand,
    |db| {
        if !dump::clients(&db) {
            return;
        }
        let p = conditional_project();
        let run = TestDb::new(db.backend).await.expect("the same server");
        for d in [&db, &run] {
            p.run(&["upgrade", ADD_USERS]).on(&d.url).status(0);
            dump::run_script(d, "ALTER TABLE post ADD COLUMN slug varchar(255) NULL;\n");
        }
        // offline, the schema at ADD_USERS has no `slug`: the script adds it
        let offline = p
            .run(&["upgrade", "--sql", &format!("{ADD_USERS}:head")])
            .on(&db.url)
            .status(0)
            .stdout();
        assert_eq!(offline.matches("ADD COLUMN").count(), 1, "{offline}");
        // from the database, it is there already: no ALTER, as a real run would not
        let text = p
            .run(&["upgrade", "--sql", "--from-db"])
            .on(&db.url)
            .status(0)
            .stdout();
        assert!(!text.contains("ADD COLUMN"), "{text}");
        assert_eq!(text.matches("idx_post_slug").count(), 1, "{text}");
        dump::run_script(&db, &text);
        p.run(&["upgrade", "head"]).on(&run.url).status(0);
        dump::assert_same_database(&db, &run, &[CREATE_TABLE, ADD_USERS, ADD_SLUG, INDEX_SLUG]);
    }
);

/// A table whose columns are written by hand, one named `key` (a keyword, but not a
/// reserved word on PostgreSQL or SQLite), and a migration that adds it only if it is
/// missing.
fn key_column_project() -> Project {
    let p = Project::new();
    p.sea_orm_cli_crate();
    p.write(
        &format!("migration/src/{KV}.rs"),
        r#"use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE TABLE settings (key varchar(64) PRIMARY KEY, value text)")
            .await?;
        if !manager.has_column("settings", "key").await? {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE settings ADD COLUMN key varchar(64)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE settings")
            .await?;
        Ok(())
    }
}
"#,
    );
    p.write(
        "migration/src/lib.rs",
        &lib_rs(&[CREATE_TABLE, ADD_USERS, KV]),
    );
    p
}

const KV: &str = "m20261123_000004_create_settings";

/// A column named `key` in hand-written DDL is a column to `has_column` offline too
/// (not a MySQL `KEY` index definition): the script adds no second `key` column, and
/// the client runs it as `upgrade head` runs.
#[tokio::test]
async fn a_column_named_key_is_a_column() {
    let p = key_column_project();
    for backend in [support::Backend::Sqlite, support::Backend::Postgres] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        if !dump::clients(&db) {
            continue;
        }
        let text = p.run(&["upgrade", "--sql"]).on(&db.url).status(0).stdout();
        assert!(!text.contains("ADD COLUMN key"), "{text}");
        dump::run_script(&db, &text);
        let run = TestDb::new(db.backend).await.expect("the same server");
        p.run(&["upgrade", "head"]).on(&run.url).status(0);
        dump::assert_same_database(&db, &run, &[CREATE_TABLE, ADD_USERS, KV]);
    }
}

on_every_backend!(
    a_database_sea_orm_migration_migrated_takes_a_script_from_its_state,
    |db| {
        if !dump::clients(&db) {
            return;
        }
        let p = conditional_project();
        // sea-orm-migration's own runner: its table, and no side table of ours
        p.sea_orm_cli(&db.url, &["up", "-n", "1"]).exited(0);
        let range = p
            .run(&["upgrade", "--sql", &format!("{CREATE_TABLE}:head")])
            .on(&db.url)
            .status(0)
            .stdout();
        let text = p
            .run(&["upgrade", "--sql", "--from-db"])
            .on(&db.url)
            .status(0)
            .stdout();
        assert_eq!(text, range, "the database is at {CREATE_TABLE}");
        assert!(
            text.contains("_meta\" (") || text.contains("_meta` ("),
            "{text}"
        );
        dump::run_script(&db, &text);
        let run = TestDb::new(db.backend).await.expect("the same server");
        p.sea_orm_cli(&run.url, &["up", "-n", "1"]).exited(0);
        p.run(&["upgrade", "head"]).on(&run.url).status(0);
        dump::assert_same_database(&db, &run, &[CREATE_TABLE, ADD_USERS, ADD_SLUG, INDEX_SLUG]);
        p.run(&["check"]).on(&db.url).status(0);
    }
);
