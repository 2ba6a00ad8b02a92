//! MySQL/MariaDB: `information_schema` for the connection's database. Every text is
//! cast to `CHAR`, as MySQL 8 hands some catalog columns out as binary strings.

use std::collections::BTreeMap;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};

use super::catalog::{Builder, rows};
use crate::model::schema::{Column, FkAction, Index, Schema};

pub(super) async fn inspect<C: ConnectionTrait>(conn: &C) -> Result<Schema, DbErr> {
    let mut b = Builder::default();
    let names = tables(conn).await?;
    columns(conn, &mut b).await?;
    indexes(conn, &mut b).await?;
    foreign_keys(conn, &mut b).await?;
    drop_implied_indexes(&mut b);
    Ok(b.finish(&names, BTreeMap::new()))
}

async fn tables<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    let sql = "SELECT CAST(TABLE_NAME AS CHAR) AS t FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1";
    rows(conn, sql, vec![])
        .await?
        .iter()
        .map(|r| r.try_get("", "t"))
        .collect()
}

async fn columns<C: ConnectionTrait>(conn: &C, b: &mut Builder) -> Result<(), DbErr> {
    let sql = "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS c, \
         CAST(COLUMN_TYPE AS CHAR) AS ty, CAST(IS_NULLABLE AS CHAR) AS n, \
         CAST(COLUMN_DEFAULT AS CHAR) AS d, CAST(EXTRA AS CHAR) AS x \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, ORDINAL_POSITION";
    for r in rows(conn, sql, vec![]).await? {
        let table: String = r.try_get("", "t")?;
        let extra: String = r.try_get::<Option<String>>("", "x")?.unwrap_or_default();
        // MariaDB prints "no default" on a nullable column as the word NULL.
        let default = r
            .try_get::<Option<String>>("", "d")?
            .filter(|d| !d.eq_ignore_ascii_case("null"));
        let column = Column {
            name: r.try_get("", "c")?,
            ty: r.try_get::<String>("", "ty")?.to_ascii_lowercase(),
            nullable: r.try_get::<String>("", "n")? == "YES",
            default,
            auto_increment: extra.to_ascii_lowercase().contains("auto_increment"),
        };
        b.table(&table).columns.push(column);
    }
    Ok(())
}

async fn indexes<C: ConnectionTrait>(conn: &C, b: &mut Builder) -> Result<(), DbErr> {
    let sql = "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(INDEX_NAME AS CHAR) AS i, \
         CAST(NON_UNIQUE AS SIGNED) AS nu, CAST(COLUMN_NAME AS CHAR) AS c, \
         CAST(SUB_PART AS SIGNED) AS sp \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";
    for r in rows(conn, sql, vec![]).await? {
        let table: String = r.try_get("", "t")?;
        let name: String = r.try_get("", "i")?;
        let mut column = r
            .try_get::<Option<String>>("", "c")?
            .unwrap_or_else(|| "(expression)".to_owned());
        if let Some(part) = r.try_get::<Option<i64>>("", "sp")? {
            column = format!("{column}({part})");
        }
        if name == "PRIMARY" {
            b.table(&table).primary_key.push(column);
            continue;
        }
        let unique = r.try_get::<i64>("", "nu")? == 0;
        b.index_part(&table, &name.clone(), column, || Index {
            name,
            columns: Vec::new(),
            unique,
            constraint: false,
            predicate: None,
        });
    }
    Ok(())
}

async fn foreign_keys<C: ConnectionTrait>(conn: &C, b: &mut Builder) -> Result<(), DbErr> {
    let sql = "SELECT CAST(k.TABLE_NAME AS CHAR) AS t, CAST(k.CONSTRAINT_NAME AS CHAR) AS name, \
         CAST(k.COLUMN_NAME AS CHAR) AS c, CAST(k.REFERENCED_TABLE_NAME AS CHAR) AS rt, \
         CAST(k.REFERENCED_COLUMN_NAME AS CHAR) AS rc, CAST(r.UPDATE_RULE AS CHAR) AS upd, \
         CAST(r.DELETE_RULE AS CHAR) AS del \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
           AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";
    for r in rows(conn, sql, vec![]).await? {
        b.foreign_key_row(&r, action)?;
    }
    Ok(())
}

/// A referential action: InnoDB's `RESTRICT` and `NO ACTION` are one and the same (the
/// check is never deferred), and MariaDB prints `RESTRICT` for an action left out.
fn action(words: &str) -> FkAction {
    match FkAction::parse(words) {
        Some(FkAction::Restrict) | None => FkAction::NoAction,
        Some(other) => other,
    }
}

/// MySQL gives a foreign key without an index over its columns one of its own, named
/// after the key; it comes and goes with the key, so it is not a schema object of its
/// own.
fn drop_implied_indexes(b: &mut Builder) {
    for table in b.tables.values_mut() {
        let keys = table.foreign_keys.clone();
        table.indexes.retain(|i| {
            i.unique
                || !keys
                    .iter()
                    .any(|f| f.name == i.name && f.columns == i.columns)
        });
    }
}
