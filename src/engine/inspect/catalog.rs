//! What the three inspectors share: running a catalog query, and assembling tables
//! from catalog rows.

use std::collections::BTreeMap;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};

use crate::model::schema::{ForeignKey, Index, Schema, Table};

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

    /// Adds the pair `column → ref_column` to the foreign key `key` of `table` (rows come
    /// in key order); `same` tells whether an existing key is the one meant.
    pub(super) fn foreign_key_part(
        &mut self,
        table: &str,
        same: impl Fn(&ForeignKey) -> bool,
        column: String,
        ref_column: String,
        new: impl FnOnce() -> ForeignKey,
    ) {
        let t = self.table(table);
        match t.foreign_keys.iter_mut().find(|f| same(f)) {
            Some(fk) => {
                fk.columns.push(column);
                fk.ref_columns.push(ref_column);
            }
            None => {
                let mut fk = new();
                fk.columns.push(column);
                fk.ref_columns.push(ref_column);
                t.foreign_keys.push(fk);
            }
        }
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
