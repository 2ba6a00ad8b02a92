//! The checksum of a migration's source, recorded when it is applied, so `check` and
//! `status` can tell when an applied migration was edited afterwards. It is taken over
//! the source's tokens, so what `cargo fmt` and comments change does not count:
//! whitespace and comments are not tokens, a trailing comma before a closing bracket
//! is dropped, and `use` declarations (which rustfmt reorders) are left out. The SQL
//! files a migration runs (the `sql` template's) are covered byte for byte (line endings
//! aside).

use crate::model::lexer::{self, Kind};
use crate::text::Fnv1a;

/// `v1:` and 16 hex digits.
#[cfg(test)]
pub fn of_source(source: &str) -> String {
    of_migration(source, &[])
}

/// The checksum of a module's source and of the SQL files it runs, as `(path, text)`;
/// with no files it is [`of_source`]'s, so checksums recorded before SQL files were
/// covered still match.
pub fn of_migration(source: &str, files: &[(&str, &str)]) -> String {
    let tokens = lexer::tokens(source);
    let mut hash = Fnv1a::default();
    let mut feed = |bytes: &[u8]| hash.write(bytes);
    let mut k = 0;
    while k < tokens.len() {
        let t = &tokens[k];
        // `use ...;` at any depth: rustfmt sorts them.
        if t.is_ident("use") {
            while k < tokens.len() && !tokens[k].is_punct(';') {
                k += 1;
            }
            k += 1;
            continue;
        }
        let trailing_comma = t.is_punct(',')
            && tokens
                .get(k + 1)
                .is_some_and(|n| matches!(n.kind, Kind::Punct(')' | ']' | '}')));
        if !trailing_comma {
            feed(&source.as_bytes()[t.start..t.end]);
            feed(b" ");
        }
        k += 1;
    }
    for (path, text) in files {
        feed(b"\0file ");
        feed(path.as_bytes());
        feed(b"\0");
        feed(text.replace("\r\n", "\n").as_bytes());
    }
    format!("v1:{:016x}", hash.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATION: &str = r#"//! add users
use cargo_migrate::prelude::*;
use std::fmt;

pub const REVISES: &[&str] = &["m1"];

impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(Table::create().table("users").col(pk_auto("id")).to_owned()).await
    }
}
"#;

    #[test]
    fn formatting_and_comments_are_not_changes() {
        let formatted = r#"use std::fmt;
use cargo_migrate::prelude::*;

/// The parents.
pub const REVISES: &[&str] = &[
    "m1",
];

impl MigrationTrait for Migration {
    // reviewed
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_auto("id"))
                    .to_owned(),
            )
            .await
    }
}
"#;
        assert_eq!(of_source(MIGRATION), of_source(formatted));
    }

    #[test]
    fn a_changed_statement_is_a_change() {
        for edit in [
            MIGRATION.replace("\"users\"", "\"people\""),
            MIGRATION.replace("pk_auto(\"id\")", "pk_auto(\"id\")).col(string(\"name\")"),
            MIGRATION.replace("&[\"m1\"]", "&[\"m0\"]"),
        ] {
            assert_ne!(of_source(MIGRATION), of_source(&edit), "{edit}");
        }
        assert!(of_source(MIGRATION).starts_with("v1:"));
    }

    #[test]
    fn sql_files_are_covered_and_line_endings_are_not_changes() {
        let up = [("m2/up.sql", "CREATE TABLE a (id INT);\n")];
        let with = of_migration(MIGRATION, &up);
        assert_ne!(with, of_source(MIGRATION));
        assert_eq!(
            with,
            of_migration(MIGRATION, &[("m2/up.sql", "CREATE TABLE a (id INT);\r\n")])
        );
        assert_ne!(
            with,
            of_migration(MIGRATION, &[("m2/up.sql", "CREATE TABLE b (id INT);\n")])
        );
        assert_eq!(of_migration(MIGRATION, &[]), of_source(MIGRATION));
    }
}
