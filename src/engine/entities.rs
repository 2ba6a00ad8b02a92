//! The application's SeaORM entities as the schema they ask for: each entity's
//! `CREATE TYPE` (PostgreSQL enums), `CREATE TABLE` and `CREATE INDEX`, as sea-orm's own
//! `Schema` builders write them for a backend, run in a scratch database so they can be
//! read back by the same inspector as the migrations' schema (each database then
//! spells both sides' types its own way, and nothing needs translating).

use sea_orm_migration::sea_orm::sea_query::{
    IndexCreateStatement, TableCreateStatement, extension::postgres::TypeCreateStatement,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr, EntityTrait, Schema};

use crate::engine::connect::Db;
use crate::error::{Error, Result};
use crate::model::schema::Rename;

/// One entity, as a function from a backend's schema builder to its statements.
#[derive(Clone, Copy)]
pub struct EntityDef {
    ddl: fn(&Schema) -> EntityDdl,
}

/// What an entity asks the database for.
pub struct EntityDdl {
    /// Its table's name.
    pub table_name: String,
    pub enums: Vec<TypeCreateStatement>,
    pub table: TableCreateStatement,
    pub indexes: Vec<IndexCreateStatement>,
}

/// The entity `E`, for [`crate::schema_run`]'s list: `cargo_migrate::entity::<post::Entity>()`.
pub fn entity<E: EntityTrait>() -> EntityDef {
    EntityDef {
        ddl: |schema| EntityDdl {
            table_name: E::default().table_name().to_owned(),
            enums: schema.create_enum_from_entity(E::default()),
            table: schema.create_table_from_entity(E::default()),
            indexes: schema.create_index_from_entity(E::default()),
        },
    }
}

impl EntityDef {
    /// The entity's statements for `backend`.
    pub fn ddl(&self, backend: DbBackend) -> EntityDdl {
        (self.ddl)(&Schema::new(backend))
    }
}

/// The columns the entities say were renamed (`#[sea_orm(renamed_from = "old")]`,
/// which sea-orm writes into the column's comment).
pub fn renames(entities: &[EntityDef], backend: DbBackend) -> Vec<Rename> {
    let mut found = Vec::new();
    for ddl in entities.iter().map(|e| e.ddl(backend)) {
        for column in ddl.table.get_columns() {
            let comment = column.get_column_spec().comment.as_deref().unwrap_or("");
            if let Some((_, rest)) = comment.rsplit_once("renamed_from \"")
                && let Some((old, _)) = rest.split_once('"')
            {
                found.push(Rename {
                    table: ddl.table_name.clone(),
                    from: old.to_owned(),
                    to: column.get_column_name(),
                });
            }
        }
    }
    found
}

/// Creates what `entities` ask for in the empty database `db`: the enum types, the
/// tables (a table whose foreign keys name a table not created yet is tried again
/// after the others), then the indexes.
pub async fn create(db: &Db, entities: &[EntityDef]) -> Result<()> {
    let backend = db.backend();
    let conn = db.connection();
    let ddl: Vec<EntityDdl> = entities.iter().map(|e| e.ddl(backend)).collect();
    let mut enums: Vec<String> = ddl
        .iter()
        .flat_map(|d| &d.enums)
        .map(|t| backend.build(t).to_string())
        .collect();
    enums.sort();
    enums.dedup();
    for sql in &enums {
        conn.execute_unprepared(sql)
            .await
            .map_err(|e| entity_error(db, sql, &e))?;
    }
    let mut waiting: Vec<String> = ddl
        .iter()
        .map(|d| backend.build(&d.table).to_string())
        .collect();
    while !waiting.is_empty() {
        let mut failed = Vec::new();
        let mut last = None;
        for sql in waiting.iter() {
            if let Err(e) = conn.execute_unprepared(sql).await {
                last = Some(e);
                failed.push(sql.clone());
            }
        }
        if failed.len() == waiting.len() {
            let e = last.unwrap_or_else(|| DbErr::Custom("no progress".into()));
            return Err(entity_error(db, &failed[0], &e));
        }
        waiting = failed;
    }
    for index in ddl.iter().flat_map(|d| &d.indexes) {
        let sql = backend.build(index).to_string();
        conn.execute_unprepared(&sql)
            .await
            .map_err(|e| entity_error(db, &sql, &e))?;
    }
    Ok(())
}

fn entity_error(db: &Db, sql: &str, e: &DbErr) -> Error {
    Error::Database(format!(
        "the entities' schema cannot be created in a scratch database: `{sql}` fails: {} \
         (tables whose foreign keys form a cycle, or an entity sea-orm cannot write for this \
         database?)",
        db.message(e)
    ))
}
