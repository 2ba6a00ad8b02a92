//! SQLite: `sqlite_master` and the `pragma_*` table-valued functions.

use std::collections::BTreeMap;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};

use super::catalog::{Builder, rows};
use crate::model::schema::{Column, FkAction, Index, Schema};

const TABLES: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";

pub(super) async fn inspect<C: ConnectionTrait>(conn: &C) -> Result<Schema, DbErr> {
    let mut b = Builder::default();
    let tables = tables(conn).await?;
    let names: Vec<String> = tables.keys().cloned().collect();
    columns(conn, &tables, &mut b).await?;
    indexes(conn, &mut b).await?;
    foreign_keys(conn, &mut b).await?;
    Ok(b.finish(&names, BTreeMap::new()))
}

/// Table name → its `CREATE TABLE` text.
async fn tables<C: ConnectionTrait>(conn: &C) -> Result<BTreeMap<String, String>, DbErr> {
    let sql = format!("SELECT m.name AS t, m.sql AS s FROM sqlite_master m WHERE {TABLES}");
    let mut tables = BTreeMap::new();
    for r in rows(conn, &sql, vec![]).await? {
        let sql: Option<String> = r.try_get("", "s")?;
        tables.insert(r.try_get("", "t")?, sql.unwrap_or_default());
    }
    Ok(tables)
}

async fn columns<C: ConnectionTrait>(
    conn: &C,
    tables: &BTreeMap<String, String>,
    b: &mut Builder,
) -> Result<(), DbErr> {
    let sql = format!(
        "SELECT m.name AS t, p.name AS c, p.type AS ty, p.\"notnull\" AS nn, \
         p.dflt_value AS d, p.pk AS pk FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE {TABLES} ORDER BY m.name, p.cid"
    );
    let mut keys: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for r in rows(conn, &sql, vec![]).await? {
        let table: String = r.try_get("", "t")?;
        let name: String = r.try_get("", "c")?;
        let pk: i64 = r.try_get("", "pk")?;
        if pk > 0 {
            keys.entry(table.clone())
                .or_default()
                .push((pk, name.clone()));
        }
        let column = Column {
            name,
            ty: r.try_get::<String>("", "ty")?.to_ascii_lowercase(),
            nullable: r.try_get::<i64>("", "nn")? == 0,
            default: r.try_get("", "d")?,
            auto_increment: false,
        };
        b.table(&table).columns.push(column);
    }
    for (table, mut key) in keys {
        key.sort();
        let t = b.table(&table);
        t.primary_key = key.into_iter().map(|(_, c)| c).collect();
        // Only `INTEGER PRIMARY KEY AUTOINCREMENT` never reuses a key.
        let autoincrement = tables
            .get(&table)
            .is_some_and(|sql| sql.to_ascii_uppercase().contains("AUTOINCREMENT"));
        if autoincrement && t.primary_key.len() == 1 {
            let pk = t.primary_key[0].clone();
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == pk) {
                c.auto_increment = true;
            }
        }
    }
    Ok(())
}

async fn indexes<C: ConnectionTrait>(conn: &C, b: &mut Builder) -> Result<(), DbErr> {
    let sql = format!(
        "SELECT m.name AS t, il.name AS i, il.\"unique\" AS u, il.origin AS o, \
         ii.name AS c, x.sql AS s \
         FROM sqlite_master m JOIN pragma_index_list(m.name) il \
         JOIN pragma_index_info(il.name) ii \
         LEFT JOIN sqlite_master x ON x.type = 'index' AND x.name = il.name \
         WHERE {TABLES} AND il.origin <> 'pk' ORDER BY m.name, il.name, ii.seqno"
    );
    for r in rows(conn, &sql, vec![]).await? {
        let table: String = r.try_get("", "t")?;
        let name: String = r.try_get("", "i")?;
        let column = r
            .try_get::<Option<String>>("", "c")?
            .unwrap_or_else(|| "(expression)".to_owned());
        let unique = r.try_get::<i64>("", "u")? != 0;
        let constraint = r.try_get::<String>("", "o")? == "u";
        let sql: Option<String> = r.try_get("", "s")?;
        b.index_part(&table, &name.clone(), column, || Index {
            name,
            columns: Vec::new(),
            unique,
            constraint,
            predicate: sql.as_deref().and_then(predicate),
        });
    }
    Ok(())
}

/// A partial index's `WHERE` clause, from its `CREATE INDEX` text.
fn predicate(create: &str) -> Option<String> {
    let upper = create.to_ascii_uppercase();
    let at = upper.rfind(" WHERE ")?;
    Some(create[at + 7..].trim().to_owned())
}

async fn foreign_keys<C: ConnectionTrait>(conn: &C, b: &mut Builder) -> Result<(), DbErr> {
    // SQLite's keys have no names: the pragma's id tells them apart while reading. `to`
    // is NULL when the key names only the referenced table (its primary key).
    let sql = format!(
        "SELECT m.name AS t, '#' || f.id AS name, f.\"table\" AS rt, f.\"from\" AS c, \
         COALESCE(f.\"to\", '') AS rc, f.on_update AS upd, f.on_delete AS del \
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
         WHERE {TABLES} ORDER BY m.name, f.id, f.seq"
    );
    for r in rows(conn, &sql, vec![]).await? {
        b.foreign_key_row(&r, |words| {
            FkAction::parse(words).unwrap_or(FkAction::NoAction)
        })?;
    }
    for table in b.tables.values_mut() {
        for fk in &mut table.foreign_keys {
            fk.name.clear();
        }
    }
    Ok(())
}
