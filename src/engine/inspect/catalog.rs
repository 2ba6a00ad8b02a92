//! What the three inspectors share: running a catalog query, and assembling tables
//! from catalog rows.

use std::collections::BTreeMap;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};

use crate::model::schema::{FkAction, ForeignKey, Index, Schema, Table};

/// Runs `sql` with `values` and returns its rows.
pub(super) async fn rows<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<sea_orm_migration::sea_orm::Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let backend = conn.get_database_backend();
    conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
}

/// Tables being assembled from catalog rows, by name.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) tables: BTreeMap<String, Table>,
}

impl Builder {
    pub(super) fn table(&mut self, name: &str) -> &mut Table {
        self.tables.entry(name.to_owned()).or_insert_with(|| Table {
            name: name.to_owned(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
        })
    }

    /// Adds key part `column` to the index `name` of `table` (rows come in key order).
    pub(super) fn index_part(
        &mut self,
        table: &str,
        name: &str,
        column: String,
        new: impl FnOnce() -> Index,
    ) {
        let t = self.table(table);
        match t.indexes.iter_mut().find(|i| i.name == name) {
            Some(index) => index.columns.push(column),
            None => {
                let mut index = new();
                index.columns.push(column);
                t.indexes.push(index);
            }
        }
    }

    /// Adds one key part of a foreign key from a catalog row with the columns `t` (the
    /// table), `name` (the key's name, which tells keys apart), `rt`, `c`, `rc`, and `del`
    /// and `upd` (the actions, read by `action`). Rows come in key order.
    pub(super) fn foreign_key_row(
        &mut self,
        r: &QueryResult,
        action: fn(&str) -> FkAction,
    ) -> Result<(), DbErr> {
        let table: String = r.try_get("", "t")?;
        let name: String = r.try_get("", "name")?;
        let (column, ref_column): (String, String) = (r.try_get("", "c")?, r.try_get("", "rc")?);
        let t = self.table(&table);
        if let Some(fk) = t.foreign_keys.iter_mut().find(|f| f.name == name) {
            fk.columns.push(column);
            fk.ref_columns.push(ref_column);
            return Ok(());
        }
        t.foreign_keys.push(ForeignKey {
            name,
            columns: vec![column],
            ref_table: r.try_get("", "rt")?,
            ref_columns: vec![ref_column],
            on_delete: action(&r.try_get::<String>("", "del")?),
            on_update: action(&r.try_get::<String>("", "upd")?),
        });
        Ok(())
    }

    /// Keeps only the tables listed in `names` (the catalog's list of tables: column rows
    /// of views and the like are dropped here).
    pub(super) fn finish(
        mut self,
        names: &[String],
        enums: BTreeMap<String, Vec<String>>,
    ) -> Schema {
        for name in names {
            self.table(name);
        }
        self.tables.retain(|name, _| names.contains(name));
        Schema {
            tables: self.tables,
            enums,
        }
    }
}

/// A quoted identifier as a catalog prints it (`"order"`) without its quotes.
pub(super) fn unquote(name: &str) -> String {
    let name = name.trim();
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        name[1..name.len() - 1].replace("\"\"", "\"")
    } else if name.len() >= 2 && name.starts_with('`') && name.ends_with('`') {
        name[1..name.len() - 1].replace("``", "`")
    } else {
        name.to_owned()
    }
}
