//! A database schema as the tool compares it: tables with their columns, primary key,
//! indexes (unique constraints included: an index is known by its columns, whatever its
//! name) and foreign keys, plus PostgreSQL's enum types. `engine::inspect` reads one
//! from a live database; `model::schema_diff` compares two. Both sides of a comparison
//! are always read from the same kind of database by the same code, so a type is the
//! database's own spelling of it (`character varying(255)`, `int(11)`, `varchar`),
//! compared after [`Column::same_type`]'s normalisation.

use std::collections::BTreeMap;

use serde::Serialize;

/// Which database wrote a schema: decides how types compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
    /// SQLite.
    Sqlite,
}

/// Tables and enum types, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Schema {
    /// By name.
    pub tables: BTreeMap<String, Table>,
    /// PostgreSQL enum types: name → labels in their order.
    pub enums: BTreeMap<String, Vec<String>>,
}

/// A table and what belongs to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// In the table's order.
    pub columns: Vec<Column>,
    /// The primary key's columns in key order; empty when there is none.
    pub primary_key: Vec<String>,
    /// Every index but the primary key's, unique constraints included.
    pub indexes: Vec<Index>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// The database's spelling, lower case (`integer`, `character varying(255)`, an enum
    /// type's name on PostgreSQL, `enum('a','b')` on MySQL).
    #[serde(rename = "type")]
    pub ty: String,
    /// `NULL` allowed.
    pub nullable: bool,
    /// The default expression as the database prints it; `None` when there is none
    /// (and for an auto-increment column's sequence default).
    pub default: Option<String>,
    /// `serial`/identity, `AUTO_INCREMENT`, SQLite's `AUTOINCREMENT`.
    pub auto_increment: bool,
}

/// An index, or a unique constraint (which is one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    /// Its name (not compared).
    pub name: String,
    /// Column names, or the expression, per key part, in order.
    pub columns: Vec<String>,
    /// `UNIQUE`.
    pub unique: bool,
    /// Backed by a constraint (PostgreSQL's `UNIQUE` constraint, SQLite's
    /// `sqlite_autoindex_*`): dropped with the constraint, not with `DROP INDEX`.
    pub constraint: bool,
    /// A partial index's predicate.
    pub predicate: Option<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    /// The constraint's name (SQLite has none: empty).
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
    /// The table it references.
    pub ref_table: String,
    /// The columns it references, pairwise with `columns`.
    pub ref_columns: Vec<String>,
    /// `ON DELETE`.
    pub on_delete: FkAction,
    /// `ON UPDATE`.
    pub on_update: FkAction,
}

/// A foreign key's referential action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// `NO ACTION` (the default).
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl FkAction {
    /// The SQL words (`SET NULL`).
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }

    /// Reads the SQL words any database prints (case and spacing free).
    pub fn parse(words: &str) -> Option<FkAction> {
        let w = words.trim().to_ascii_uppercase().replace('_', " ");
        Some(match w.as_str() {
            "NO ACTION" | "" => FkAction::NoAction,
            "RESTRICT" => FkAction::Restrict,
            "CASCADE" => FkAction::Cascade,
            "SET NULL" => FkAction::SetNull,
            "SET DEFAULT" => FkAction::SetDefault,
            _ => return None,
        })
    }
}

/// A column the entities say was renamed (`#[sea_orm(renamed_from = "old")]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    /// The table.
    pub table: String,
    /// The column's old name.
    pub from: String,
    /// Its new name.
    pub to: String,
}

impl Rename {
    /// The same rename, taken back.
    pub fn reversed(&self) -> Rename {
        Rename {
            table: self.table.clone(),
            from: self.to.clone(),
            to: self.from.clone(),
        }
    }
}

impl Schema {
    /// `self` with each of `renames` that applies to it done (its table has the old name
    /// and not the new one, and `target` has the new one), and those renames. Keys,
    /// indexes and foreign keys follow their columns.
    pub fn with_renames(&self, renames: &[Rename], target: &Schema) -> (Schema, Vec<Rename>) {
        let mut schema = self.clone();
        let mut done = Vec::new();
        for r in renames {
            let applies = schema
                .tables
                .get(&r.table)
                .is_some_and(|t| t.column(&r.from).is_some() && t.column(&r.to).is_none())
                && target
                    .tables
                    .get(&r.table)
                    .is_some_and(|t| t.column(&r.to).is_some() && t.column(&r.from).is_none());
            if applies {
                schema.rename_column(r);
                done.push(r.clone());
            }
        }
        (schema, done)
    }

    fn rename_column(&mut self, r: &Rename) {
        let rename = |c: &mut String| {
            if *c == r.from {
                c.clone_from(&r.to);
            }
        };
        for table in self.tables.values_mut() {
            if table.name == r.table {
                for c in &mut table.columns {
                    rename(&mut c.name);
                }
                table.primary_key.iter_mut().for_each(rename);
                for i in &mut table.indexes {
                    i.columns.iter_mut().for_each(rename);
                }
                for f in &mut table.foreign_keys {
                    f.columns.iter_mut().for_each(rename);
                }
            }
            for f in &mut table.foreign_keys {
                if f.ref_table == r.table {
                    f.ref_columns.iter_mut().for_each(rename);
                }
            }
        }
    }

    /// Keeps only the tables `keep` accepts (and every enum).
    pub fn retain_tables(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.tables.retain(|name, _| keep(name));
    }
}

impl Table {
    /// The column `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index over exactly `columns` with this uniqueness and predicate, whatever its
    /// name.
    pub fn index_like(&self, other: &Index) -> Option<&Index> {
        self.indexes.iter().find(|i| i.same_as(other))
    }

    /// The foreign key with the same columns, target and actions, whatever its name.
    pub fn foreign_key_like(&self, other: &ForeignKey) -> Option<&ForeignKey> {
        self.foreign_keys.iter().find(|f| f.same_as(other))
    }
}

impl Column {
    /// Whether the two types are the same once each dialect's spelling noise is gone:
    /// SQLite's integer affinity (`int`, `integer`, `bigint` are one type there) and its
    /// ignored lengths, MySQL's integer display widths (`int(11)`; `tinyint(1)` is a
    /// boolean and stays), PostgreSQL's spellings are canonical already.
    pub fn same_type(&self, other: &Column, dialect: Dialect) -> bool {
        normal_type(&self.ty, dialect) == normal_type(&other.ty, dialect)
    }

    /// Same type, nullability, default and auto-increment.
    pub fn same_as(&self, other: &Column, dialect: Dialect) -> bool {
        self.same_type(other, dialect)
            && self.nullable == other.nullable
            && self.default == other.default
            && self.auto_increment == other.auto_increment
    }
}

impl Index {
    /// Same columns, uniqueness and predicate (names do not count).
    pub fn same_as(&self, other: &Index) -> bool {
        self.columns == other.columns
            && self.unique == other.unique
            && self.predicate == other.predicate
    }
}

impl ForeignKey {
    /// Same columns, target and actions (names do not count).
    pub fn same_as(&self, other: &ForeignKey) -> bool {
        self.columns == other.columns
            && self.ref_table == other.ref_table
            && self.ref_columns == other.ref_columns
            && self.on_delete == other.on_delete
            && self.on_update == other.on_update
    }
}

/// A type as compared: see [`Column::same_type`].
pub fn normal_type(ty: &str, dialect: Dialect) -> String {
    let ty = ty.trim().to_ascii_lowercase();
    match dialect {
        Dialect::Postgres => ty,
        Dialect::Sqlite => {
            let base = ty.split('(').next().unwrap_or("").trim();
            if base.contains("int") {
                "integer".to_owned()
            } else if ["char", "clob", "text"].iter().any(|t| base.contains(t)) {
                // SQLite ignores the length of a text type.
                base.to_owned()
            } else {
                ty
            }
        }
        Dialect::MySql => {
            let (base, rest) = match ty.find('(') {
                Some(i) => (&ty[..i], &ty[i..]),
                None => (ty.as_str(), ""),
            };
            let width_only = rest
                .find(')')
                .is_some_and(|end| rest[1..end].chars().all(|c| c.is_ascii_digit()));
            let integer = [
                "tinyint",
                "smallint",
                "mediumint",
                "int",
                "integer",
                "bigint",
            ]
            .contains(&base);
            if integer && width_only && !(base == "tinyint" && rest.starts_with("(1)")) {
                let after = rest.find(')').map_or("", |end| &rest[end + 1..]);
                format!("{base}{after}")
            } else {
                ty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_integer_affinity_and_text_lengths_compare_equal() {
        let n = |t| normal_type(t, Dialect::Sqlite);
        assert_eq!(n("INTEGER"), n("bigint"));
        assert_eq!(n("int"), n("integer"));
        assert_eq!(n("varchar(255)"), n("varchar"));
        assert_ne!(n("varchar"), n("text"));
        assert_ne!(n("real"), n("integer"));
        assert_ne!(n("boolean"), n("date"));
    }

    #[test]
    fn mysql_display_widths_do_not_count_but_tinyint_1_is_a_boolean() {
        let n = |t| normal_type(t, Dialect::MySql);
        assert_eq!(n("int(11)"), n("int"));
        assert_eq!(n("bigint(20) unsigned"), n("bigint unsigned"));
        assert_ne!(n("tinyint(1)"), n("tinyint(4)"));
        assert_ne!(n("varchar(255)"), n("varchar(100)"));
        assert_ne!(n("decimal(10,2)"), n("decimal(12,2)"));
    }

    #[test]
    fn a_rename_applies_only_where_the_old_name_is_and_the_new_one_is_wanted() {
        let col = |name: &str| Column {
            name: name.into(),
            ty: "integer".into(),
            nullable: false,
            default: None,
            auto_increment: false,
        };
        let table = |name: &str, columns: &[&str], fks: Vec<ForeignKey>| Table {
            name: name.into(),
            columns: columns.iter().map(|c| col(c)).collect(),
            primary_key: vec![columns[0].into()],
            indexes: vec![Index {
                name: "i".into(),
                columns: vec![columns[0].into()],
                unique: true,
                constraint: false,
                predicate: None,
            }],
            foreign_keys: fks,
        };
        let fk = ForeignKey {
            name: "fk".into(),
            columns: vec!["author_code".into()],
            ref_table: "author".into(),
            ref_columns: vec!["code".into()],
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
        };
        let schema = |code: &str| {
            let mut s = Schema::default();
            s.tables
                .insert("author".into(), table("author", &[code], vec![]));
            s.tables.insert(
                "post".into(),
                table("post", &["id", "author_code"], vec![fk.clone()]),
            );
            s
        };
        let (from, to) = (schema("code"), schema("handle"));
        let rename = Rename {
            table: "author".into(),
            from: "code".into(),
            to: "handle".into(),
        };
        let (renamed, done) = from.with_renames(std::slice::from_ref(&rename), &to);
        assert_eq!(done, vec![rename.clone()]);
        let author = &renamed.tables["author"];
        assert_eq!(author.columns[0].name, "handle");
        assert_eq!(author.primary_key, ["handle"]);
        assert_eq!(author.indexes[0].columns, ["handle"]);
        assert_eq!(
            renamed.tables["post"].foreign_keys[0].ref_columns,
            ["handle"]
        );
        // Done already, or not wanted: nothing.
        assert!(
            to.with_renames(std::slice::from_ref(&rename), &to)
                .1
                .is_empty()
        );
        assert!(from.with_renames(&[rename], &from).1.is_empty());
    }

    #[test]
    fn actions_read_every_spelling() {
        assert_eq!(FkAction::parse("set null"), Some(FkAction::SetNull));
        assert_eq!(FkAction::parse("SET_DEFAULT"), Some(FkAction::SetDefault));
        assert_eq!(FkAction::parse("NO ACTION"), Some(FkAction::NoAction));
        assert_eq!(FkAction::parse("whatever"), None);
    }
}
