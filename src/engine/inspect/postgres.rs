//! PostgreSQL: `pg_catalog`, one query per kind of object, for one schema.

use std::collections::BTreeMap;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};

use super::catalog::{Builder, rows, unquote};
use crate::model::schema::{Column, FkAction, Index, Schema};

/// Objects an extension owns are the extension's, not the migrations'.
const NOT_EXTENSION: &str = "NOT EXISTS (SELECT 1 FROM pg_depend d \
     WHERE d.objid = c.oid AND d.deptype = 'e')";

pub(super) async fn inspect<C: ConnectionTrait>(
    conn: &C,
    schema: Option<&str>,
) -> Result<Schema, DbErr> {
    let schema = match schema {
        Some(s) => s.to_owned(),
        None => current_schema(conn).await?,
    };
    let mut b = Builder::default();
    let names = tables(conn, &schema).await?;
    columns(conn, &schema, &mut b).await?;
    indexes(conn, &schema, &mut b).await?;
    foreign_keys(conn, &schema, &mut b).await?;
    let enums = enums(conn, &schema).await?;
    Ok(b.finish(&names, enums))
}

async fn current_schema<C: ConnectionTrait>(conn: &C) -> Result<String, DbErr> {
    let found = rows(conn, "SELECT current_schema() AS s", vec![]).await?;
    found
        .first()
        .map(|r| r.try_get::<Option<String>>("", "s"))
        .transpose()?
        .flatten()
        .ok_or_else(|| DbErr::Custom("no current schema: the search path is empty".into()))
}

async fn tables<C: ConnectionTrait>(conn: &C, schema: &str) -> Result<Vec<String>, DbErr> {
    let sql = format!(
        "SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND {NOT_EXTENSION} ORDER BY 1"
    );
    rows(conn, &sql, vec![schema.into()])
        .await?
        .iter()
        .map(|r| r.try_get("", "t"))
        .collect()
}

async fn columns<C: ConnectionTrait>(conn: &C, schema: &str, b: &mut Builder) -> Result<(), DbErr> {
    let sql = "SELECT c.relname AS t, a.attname AS c, format_type(a.atttypid, a.atttypmod) AS ty, \
         a.attnotnull AS nn, pg_get_expr(ad.adbin, ad.adrelid) AS d, a.attidentity::text AS ident \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
         AND NOT a.attisdropped ORDER BY c.relname, a.attnum";
    for r in rows(conn, sql, vec![schema.into()]).await? {
        let table: String = r.try_get("", "t")?;
        let default: Option<String> = r.try_get("", "d")?;
        let identity: Option<String> = r.try_get("", "ident")?;
        let sequence = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        let column = Column {
            name: r.try_get("", "c")?,
            ty: r.try_get::<String>("", "ty")?.to_ascii_lowercase(),
            nullable: !r.try_get::<bool>("", "nn")?,
            default: if sequence { None } else { default },
            auto_increment: sequence || identity.is_some_and(|i| !i.is_empty()),
        };
        b.table(&table).columns.push(column);
    }
    Ok(())
}

async fn indexes<C: ConnectionTrait>(conn: &C, schema: &str, b: &mut Builder) -> Result<(), DbErr> {
    let sql = "SELECT t.relname AS t, i.relname AS i, ix.indisunique AS u, ix.indisprimary AS p, \
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid \
                 AND k.conrelid = ix.indrelid AND k.contype IN ('u', 'p', 'x')) AS k, \
         pg_get_expr(ix.indpred, ix.indrelid) AS pred, \
         pg_get_indexdef(ix.indexrelid, part.n, true) AS col \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         CROSS JOIN LATERAL generate_series(1, ix.indnkeyatts) AS part(n) \
         WHERE ns.nspname = $1 AND t.relkind IN ('r', 'p') \
         ORDER BY t.relname, i.relname, part.n";
    for r in rows(conn, sql, vec![schema.into()]).await? {
        let table: String = r.try_get("", "t")?;
        let column = unquote(&r.try_get::<String>("", "col")?);
        if r.try_get::<bool>("", "p")? {
            b.table(&table).primary_key.push(column);
            continue;
        }
        let name: String = r.try_get("", "i")?;
        let (unique, constraint): (bool, bool) = (r.try_get("", "u")?, r.try_get("", "k")?);
        let predicate: Option<String> = r.try_get("", "pred")?;
        b.index_part(&table, &name.clone(), column, || Index {
            name,
            columns: Vec::new(),
            unique,
            constraint,
            predicate,
        });
    }
    Ok(())
}

async fn foreign_keys<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    b: &mut Builder,
) -> Result<(), DbErr> {
    let sql = "SELECT con.conname AS name, t.relname AS t, r.relname AS rt, \
         con.confdeltype::text AS del, con.confupdtype::text AS upd, \
         a.attname AS c, ra.attname AS rc \
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace JOIN pg_class r ON r.oid = con.confrelid \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(c, rc, o) \
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.c \
         JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.rc \
         WHERE con.contype = 'f' AND ns.nspname = $1 \
         ORDER BY t.relname, con.conname, k.o";
    for r in rows(conn, sql, vec![schema.into()]).await? {
        b.foreign_key_row(&r, action)?;
    }
    Ok(())
}

/// `pg_constraint`'s one-letter action codes.
fn action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

async fn enums<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
) -> Result<BTreeMap<String, Vec<String>>, DbErr> {
    let sql = format!(
        "SELECT c.typname AS name, e.enumlabel AS label FROM pg_type c \
         JOIN pg_enum e ON e.enumtypid = c.oid JOIN pg_namespace n ON n.oid = c.typnamespace \
         WHERE n.nspname = $1 AND {NOT_EXTENSION} ORDER BY c.typname, e.enumsortorder"
    );
    let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(conn, &sql, vec![schema.into()]).await? {
        let name: String = r.try_get("", "name")?;
        enums.entry(name).or_default().push(r.try_get("", "label")?);
    }
    Ok(enums)
}
