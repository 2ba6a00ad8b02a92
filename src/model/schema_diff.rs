//! What changed between two schemas: the engine under `verify` (the migrations' schema
//! against the live database), `check --entities` and `create --autogenerate` (the
//! migrations' schema against the entities'). Pure: two [`Schema`]s in, a list of
//! [`Change`]s out, in an order that can be applied (enums before the tables that use
//! them, a table before the tables that reference it, foreign keys dropped before what
//! they reference).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::schema::{Column, Dialect, FkAction, ForeignKey, Index, Rename, Schema, Table};

/// One difference, said as what turns `from` into `to`. Each variant is named for what
/// it does and its fields for what they hold: `table` a table's name (or the whole
/// table, created or dropped), `from`/`to` the two sides of a change.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    CreateEnum {
        name: String,
        values: Vec<String>,
    },
    /// Labels `to` has and `from` lacks (PostgreSQL can add labels, not remove them).
    AddEnumValues {
        name: String,
        values: Vec<String>,
    },
    /// Labels `from` has and `to` lacks, or a reordering: no `ALTER TYPE` does it.
    #[allow(clippy::enum_variant_names)] // the enum type changes, not the `Change`
    ChangeEnum {
        name: String,
        from: Vec<String>,
        to: Vec<String>,
    },
    DropEnum {
        name: String,
        values: Vec<String>,
    },
    CreateTable {
        table: Table,
    },
    DropTable {
        table: Table,
    },
    /// Never found by [`diff`]: the entities say so (`renamed_from`).
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    AddColumn {
        table: String,
        column: Column,
    },
    DropColumn {
        table: String,
        column: Column,
    },
    AlterColumn {
        table: String,
        from: Column,
        to: Column,
    },
    SetPrimaryKey {
        table: String,
        from: Vec<String>,
        to: Vec<String>,
    },
    AddIndex {
        table: String,
        index: Index,
    },
    DropIndex {
        table: String,
        index: Index,
    },
    AddForeignKey {
        table: String,
        foreign_key: ForeignKey,
    },
    DropForeignKey {
        table: String,
        foreign_key: ForeignKey,
    },
}

/// The changes that turn `from` into `to`, in an order that applies one after the other:
///
/// 1. `CreateEnum`, `AddEnumValues`;
/// 2. `DropForeignKey`;
/// 3. `DropIndex`;
/// 4. `CreateTable`, each after the tables it references (a cycle of new tables is
///    broken by leaving a foreign key out of its `CreateTable` and adding it in 7);
/// 5. `AddColumn`, `AlterColumn`, `SetPrimaryKey`, table by table;
/// 6. `AddIndex`;
/// 7. `AddForeignKey`;
/// 8. `DropColumn`;
/// 9. `DropTable`, each before the tables it references (a cycle's foreign key is
///    dropped in 2 and left out of its `DropTable`);
/// 10. `DropEnum`, `ChangeEnum`.
///
/// Within a group: by table name, then by the object's name. Column order, index and
/// foreign key names never count; types compare as `dialect` spells them.
pub fn diff(from: &Schema, to: &Schema, dialect: Dialect) -> Vec<Change> {
    let (enums_early, enums_late) = enum_changes(from, to);
    let (created, deferred_adds) = creation_order(only_in(to, from));
    let (dropped, deferred_drops) = drop_order(only_in(from, to));
    let kept: Vec<TableChanges> = from
        .tables
        .iter()
        .filter_map(|(name, old)| Some((name, old, to.tables.get(name)?)))
        .map(|(name, old, new)| TableChanges::new(name, old, new, dialect))
        .collect();

    let mut drop_fks = deferred_drops;
    let mut drop_indexes = Vec::new();
    let mut columns = Vec::new();
    let mut add_indexes = Vec::new();
    let mut add_fks = deferred_adds;
    let mut drop_columns = Vec::new();
    for t in kept {
        drop_fks.extend(t.drop_fks);
        drop_indexes.extend(t.drop_indexes);
        columns.extend(t.columns);
        add_indexes.extend(t.add_indexes);
        add_fks.extend(t.add_fks);
        drop_columns.extend(t.drop_columns);
    }
    for group in [
        &mut drop_fks,
        &mut drop_indexes,
        &mut add_indexes,
        &mut add_fks,
    ] {
        sort_by_object(group);
    }

    let created = created
        .into_iter()
        .map(|table| Change::CreateTable { table });
    let dropped = dropped.into_iter().map(|table| Change::DropTable { table });
    let mut changes = enums_early;
    changes.extend(drop_fks);
    changes.extend(drop_indexes);
    changes.extend(created);
    changes.extend(columns);
    changes.extend(add_indexes);
    changes.extend(add_fks);
    changes.extend(drop_columns);
    changes.extend(dropped);
    changes.extend(enums_late);
    changes
}

/// The changes to one table both schemas have, by group.
struct TableChanges {
    drop_fks: Vec<Change>,
    drop_indexes: Vec<Change>,
    /// `AddColumn`s, then `AlterColumn`s, then `SetPrimaryKey`.
    columns: Vec<Change>,
    add_indexes: Vec<Change>,
    add_fks: Vec<Change>,
    drop_columns: Vec<Change>,
}

impl TableChanges {
    fn new(name: &str, from: &Table, to: &Table, dialect: Dialect) -> TableChanges {
        let table = || name.to_owned();
        let (gone_indexes, new_indexes) = unmatched(&from.indexes, &to.indexes, Index::same_as);
        let (gone_fks, new_fks) =
            unmatched(&from.foreign_keys, &to.foreign_keys, ForeignKey::same_as);

        let mut columns: Vec<Change> = sorted_columns(to)
            .filter(|c| from.column(&c.name).is_none())
            .map(|c| Change::AddColumn {
                table: table(),
                column: c.clone(),
            })
            .collect();
        columns.extend(sorted_columns(from).filter_map(|old| {
            let new = to.column(&old.name)?;
            (!old.same_as(new, dialect)).then(|| Change::AlterColumn {
                table: table(),
                from: old.clone(),
                to: new.clone(),
            })
        }));
        if from.primary_key != to.primary_key {
            columns.push(Change::SetPrimaryKey {
                table: table(),
                from: from.primary_key.clone(),
                to: to.primary_key.clone(),
            });
        }

        TableChanges {
            drop_fks: gone_fks
                .into_iter()
                .map(|f| Change::DropForeignKey {
                    table: table(),
                    foreign_key: f.clone(),
                })
                .collect(),
            drop_indexes: gone_indexes
                .into_iter()
                .map(|i| Change::DropIndex {
                    table: table(),
                    index: i.clone(),
                })
                .collect(),
            columns,
            add_indexes: new_indexes
                .into_iter()
                .map(|i| Change::AddIndex {
                    table: table(),
                    index: i.clone(),
                })
                .collect(),
            add_fks: new_fks
                .into_iter()
                .map(|f| Change::AddForeignKey {
                    table: table(),
                    foreign_key: f.clone(),
                })
                .collect(),
            drop_columns: sorted_columns(from)
                .filter(|c| to.column(&c.name).is_none())
                .map(|c| Change::DropColumn {
                    table: table(),
                    column: c.clone(),
                })
                .collect(),
        }
    }
}

/// A table's columns by name.
fn sorted_columns(table: &Table) -> impl Iterator<Item = &Column> {
    let mut columns: Vec<&Column> = table.columns.iter().collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    columns.into_iter()
}

/// The items of `from` no item of `to` is the same as, and those of `to` no item of
/// `from` is: each item matches at most one (two equal indexes against one is a drop).
fn unmatched<'a, T>(
    from: &'a [T],
    to: &'a [T],
    same: impl Fn(&T, &T) -> bool,
) -> (Vec<&'a T>, Vec<&'a T>) {
    let mut used = vec![false; to.len()];
    let mut gone = Vec::new();
    for old in from {
        let found = (0..to.len()).find(|&i| !used[i] && same(old, &to[i]));
        match found {
            Some(i) => used[i] = true,
            None => gone.push(old),
        }
    }
    let new = to
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(t, _)| t)
        .collect();
    (gone, new)
}

/// Sorts one group's changes by table, then by the object's name (then its columns,
/// for SQLite's nameless foreign keys).
fn sort_by_object(changes: &mut [Change]) {
    changes.sort_by(|a, b| a.object_key().cmp(&b.object_key()));
}

/// The tables of `a` that `b` lacks, by name.
fn only_in<'a>(a: &'a Schema, b: &Schema) -> BTreeMap<&'a str, &'a Table> {
    a.tables
        .iter()
        .filter(|(name, _)| !b.tables.contains_key(*name))
        .map(|(name, table)| (name.as_str(), table))
        .collect()
}

/// Enum changes: those that go first (`CreateEnum`, `AddEnumValues`) and those that go
/// last (`DropEnum`, `ChangeEnum`), each by name.
fn enum_changes(from: &Schema, to: &Schema) -> (Vec<Change>, Vec<Change>) {
    let mut early = Vec::new();
    let mut late = Vec::new();
    for (name, labels) in &to.enums {
        let name = name.clone();
        match from.enums.get(&name) {
            None => early.push(Change::CreateEnum {
                name,
                values: labels.clone(),
            }),
            Some(old) if old == labels => {}
            Some(old) if is_subsequence(old, labels) => {
                let values = labels
                    .iter()
                    .filter(|l| !old.contains(l))
                    .cloned()
                    .collect();
                early.push(Change::AddEnumValues { name, values });
            }
            Some(old) => late.push(Change::ChangeEnum {
                name,
                from: old.clone(),
                to: labels.clone(),
            }),
        }
    }
    for (name, labels) in &from.enums {
        if !to.enums.contains_key(name) {
            late.push(Change::DropEnum {
                name: name.clone(),
                values: labels.clone(),
            });
        }
    }
    late.sort_by(|a, b| a.object_key().cmp(&b.object_key()));
    (early, late)
}

/// Whether every item of `short` is in `long`, in the same relative order.
pub fn is_subsequence(short: &[String], long: &[String]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|s| rest.any(|l| l == s))
}

/// `tables` in an order that can create them: each after the tables (of these) it
/// references, ties by name. When none can go next (a cycle), the first by name of the
/// tables on a cycle loses its foreign keys to the tables not created yet: they come
/// back as `AddForeignKey`s, returned second.
fn creation_order(tables: BTreeMap<&str, &Table>) -> (Vec<Table>, Vec<Change>) {
    let mut remaining: BTreeMap<&str, Table> = tables
        .into_iter()
        .map(|(name, t)| (name, t.clone()))
        .collect();
    let mut order = Vec::new();
    let mut deferred = Vec::new();
    loop {
        let ready = remaining
            .iter()
            .find(|(name, t)| references(name, t, &remaining).is_empty())
            .map(|(name, _)| *name);
        let next = match ready {
            Some(name) => name,
            None => match break_cycle(&mut remaining, &mut deferred) {
                Some(name) => name,
                None => break,
            },
        };
        if let Some(table) = remaining.remove(next) {
            order.push(table);
        }
    }
    (order, deferred)
}

/// Takes the foreign keys to other tables of `remaining` out of the first table by name
/// that is on a cycle (into `deferred`), and returns that table's name; `None` when
/// `remaining` is empty.
fn break_cycle<'a>(
    remaining: &mut BTreeMap<&'a str, Table>,
    deferred: &mut Vec<Change>,
) -> Option<&'a str> {
    let name = remaining
        .keys()
        .copied()
        .find(|name| on_cycle(name, remaining))
        .or_else(|| remaining.keys().copied().next())?;
    let others: BTreeSet<&str> = remaining.keys().copied().filter(|n| *n != name).collect();
    let table = remaining.get_mut(name)?;
    let (cut, kept) = std::mem::take(&mut table.foreign_keys)
        .into_iter()
        .partition(|fk| others.contains(fk.ref_table.as_str()));
    table.foreign_keys = kept;
    deferred.extend(cut.into_iter().map(|foreign_key| Change::AddForeignKey {
        table: name.to_owned(),
        foreign_key,
    }));
    Some(name)
}

/// The other tables of `among` that `table` (named `name`) references.
fn references<'a>(name: &str, table: &'a Table, among: &BTreeMap<&str, Table>) -> Vec<&'a str> {
    table
        .foreign_keys
        .iter()
        .map(|fk| fk.ref_table.as_str())
        .filter(|r| *r != name && among.contains_key(r))
        .collect()
}

/// Whether following references among `tables` from `name` leads back to it.
fn on_cycle(name: &str, tables: &BTreeMap<&str, Table>) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![name];
    while let Some(at) = stack.pop() {
        let Some(table) = tables.get(at) else {
            continue;
        };
        for next in references(at, table, tables) {
            if next == name {
                return true;
            }
            if seen.insert(next) {
                stack.push(next);
            }
        }
    }
    false
}

/// `tables` in an order that can drop them: each before the tables (of these) it
/// references, ties by name. A cycle is broken as [`creation_order`] breaks it (so
/// `diff(b, a)` mirrors `diff(a, b)`): the foreign keys it leaves out come back as
/// `DropForeignKey`s, returned second.
fn drop_order(tables: BTreeMap<&str, &Table>) -> (Vec<Table>, Vec<Change>) {
    let (acyclic, deferred) = creation_order(tables);
    let deferred = deferred
        .into_iter()
        .map(|change| match change {
            Change::AddForeignKey { table, foreign_key } => {
                Change::DropForeignKey { table, foreign_key }
            }
            other => other,
        })
        .collect();
    let mut remaining: BTreeMap<String, Table> =
        acyclic.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut order = Vec::new();
    while let Some(next) = next_to_drop(&remaining) {
        if let Some(table) = remaining.remove(&next) {
            order.push(table);
        }
    }
    (order, deferred)
}

/// The first table by name of `remaining` no other one references (the first one at
/// all if each is referenced, which an acyclic set never is).
fn next_to_drop(remaining: &BTreeMap<String, Table>) -> Option<String> {
    let referenced = |name: &str| {
        remaining
            .values()
            .any(|t| t.name != name && t.foreign_keys.iter().any(|fk| fk.ref_table == name))
    };
    remaining
        .keys()
        .find(|name| !referenced(name))
        .or_else(|| remaining.keys().next())
        .cloned()
}

impl From<&Rename> for Change {
    fn from(r: &Rename) -> Change {
        Change::RenameColumn {
            table: r.table.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
        }
    }
}

impl Change {
    /// One line for a person: `+` adds, `-` removes, `~` changes
    /// (`~ column post.title: varchar(100) NOT NULL → varchar(255) NULL`).
    pub fn describe(&self) -> String {
        match self {
            Change::CreateEnum { name, values } => format!("+ enum {name} ({})", labels(values)),
            Change::AddEnumValues { name, values } => {
                format!("+ enum values {name}: {}", labels(values))
            }
            Change::ChangeEnum { name, from, to } => {
                format!("~ enum {name}: ({}) → ({})", labels(from), labels(to))
            }
            Change::DropEnum { name, values } => format!("- enum {name} ({})", labels(values)),
            Change::CreateTable { table } => {
                let n = table.columns.len();
                let s = if n == 1 { "" } else { "s" };
                format!("+ table {} ({n} column{s})", table.name)
            }
            Change::DropTable { table } => format!("- table {}", table.name),
            Change::RenameColumn { table, from, to } => {
                format!("~ column {table}.{from} renamed to {to}")
            }
            Change::AddColumn { table, column } => {
                format!("+ column {table}.{} {}", column.name, column_spec(column))
            }
            Change::DropColumn { table, column } => {
                format!("- column {table}.{} {}", column.name, column_spec(column))
            }
            Change::AlterColumn { table, from, to } => {
                let (old, new) = column_change(from, to);
                format!("~ column {table}.{}: {old} → {new}", to.name)
            }
            Change::SetPrimaryKey { table, from, to } => {
                format!("~ primary key of {table}: {} → {}", key(from), key(to))
            }
            Change::AddIndex { table, index } => format!("+ {}", index_spec(table, index)),
            Change::DropIndex { table, index } => format!("- {}", index_spec(table, index)),
            Change::AddForeignKey { table, foreign_key } => {
                format!("+ {}", foreign_key_spec(table, foreign_key))
            }
            Change::DropForeignKey { table, foreign_key } => {
                format!("- {}", foreign_key_spec(table, foreign_key))
            }
        }
    }

    /// Whether applying it can lose data or fail on existing rows: dropping a table, a
    /// column or an enum, changing an enum's labels or a primary key, changing a
    /// column's type or making a nullable column `NOT NULL`.
    pub fn destructive(&self) -> bool {
        match self {
            Change::DropTable { .. }
            | Change::DropColumn { .. }
            | Change::DropEnum { .. }
            | Change::ChangeEnum { .. }
            | Change::SetPrimaryKey { .. } => true,
            Change::AlterColumn { from, to, .. } => {
                !same_spelling(&from.ty, &to.ty) || (from.nullable && !to.nullable)
            }
            Change::CreateEnum { .. }
            | Change::AddEnumValues { .. }
            | Change::CreateTable { .. }
            | Change::RenameColumn { .. }
            | Change::AddColumn { .. }
            | Change::AddIndex { .. }
            | Change::DropIndex { .. }
            | Change::AddForeignKey { .. }
            | Change::DropForeignKey { .. } => false,
        }
    }

    /// The table it touches; `None` for an enum's changes.
    pub fn table(&self) -> Option<&str> {
        match self {
            Change::CreateEnum { .. }
            | Change::AddEnumValues { .. }
            | Change::ChangeEnum { .. }
            | Change::DropEnum { .. } => None,
            Change::CreateTable { table } | Change::DropTable { table } => Some(&table.name),
            Change::AddColumn { table, .. }
            | Change::RenameColumn { table, .. }
            | Change::DropColumn { table, .. }
            | Change::AlterColumn { table, .. }
            | Change::SetPrimaryKey { table, .. }
            | Change::AddIndex { table, .. }
            | Change::DropIndex { table, .. }
            | Change::AddForeignKey { table, .. }
            | Change::DropForeignKey { table, .. } => Some(table),
        }
    }

    /// What orders a group: the table (empty for an enum), the object's name, its
    /// columns.
    fn object_key(&self) -> (&str, &str, &[String]) {
        let table = self.table().unwrap_or("");
        match self {
            Change::CreateEnum { name, .. }
            | Change::AddEnumValues { name, .. }
            | Change::ChangeEnum { name, .. }
            | Change::DropEnum { name, .. } => (table, name, &[]),
            Change::AddColumn { column, .. } | Change::DropColumn { column, .. } => {
                (table, &column.name, &[])
            }
            Change::AlterColumn { to, .. } => (table, &to.name, &[]),
            Change::RenameColumn { to, .. } => (table, to, &[]),
            Change::AddIndex { index, .. } | Change::DropIndex { index, .. } => {
                (table, &index.name, &index.columns)
            }
            Change::AddForeignKey { foreign_key, .. }
            | Change::DropForeignKey { foreign_key, .. } => {
                (table, &foreign_key.name, &foreign_key.columns)
            }
            Change::CreateTable { .. } | Change::DropTable { .. } => (table, "", &[]),
            Change::SetPrimaryKey { to, .. } => (table, "", to),
        }
    }
}

/// Whether two type spellings are the same but for case and outer spaces.
fn same_spelling(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// `'a', 'b'`.
fn labels(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect();
    quoted.join(", ")
}

/// `(a, b)`, or `(none)` for an empty key.
fn key(columns: &[String]) -> String {
    if columns.is_empty() {
        "(none)".to_owned()
    } else {
        format!("({})", columns.join(", "))
    }
}

/// `varchar(255) NOT NULL DEFAULT 'x' auto-increment`.
fn column_spec(column: &Column) -> String {
    let mut spec = format!("{} {}", column.ty, null_word(column.nullable));
    if let Some(default) = &column.default {
        spec.push_str(&format!(" DEFAULT {default}"));
    }
    if column.auto_increment {
        spec.push_str(" auto-increment");
    }
    spec
}

fn null_word(nullable: bool) -> &'static str {
    if nullable { "NULL" } else { "NOT NULL" }
}

/// The two sides of a column's change, each saying only what changed (all of it when
/// nothing visibly does).
fn column_change(from: &Column, to: &Column) -> (String, String) {
    let mut old = Vec::new();
    let mut new = Vec::new();
    if from.ty != to.ty {
        old.push(from.ty.clone());
        new.push(to.ty.clone());
    }
    if from.nullable != to.nullable {
        old.push(null_word(from.nullable).to_owned());
        new.push(null_word(to.nullable).to_owned());
    }
    if from.default != to.default {
        old.push(default_words(from));
        new.push(default_words(to));
    }
    if from.auto_increment != to.auto_increment {
        old.push(auto_increment_words(from));
        new.push(auto_increment_words(to));
    }
    if old.is_empty() {
        (column_spec(from), column_spec(to))
    } else {
        (old.join(" "), new.join(" "))
    }
}

fn default_words(column: &Column) -> String {
    match &column.default {
        Some(default) => format!("DEFAULT {default}"),
        None => "no default".to_owned(),
    }
}

fn auto_increment_words(column: &Column) -> String {
    let word = if column.auto_increment {
        "auto-increment"
    } else {
        "no auto-increment"
    };
    word.to_owned()
}

/// `unique index post (slug) WHERE deleted_at IS NULL`.
fn index_spec(table: &str, index: &Index) -> String {
    let unique = if index.unique { "unique " } else { "" };
    let mut spec = format!("{unique}index {table} ({})", index.columns.join(", "));
    if let Some(predicate) = &index.predicate {
        spec.push_str(&format!(" WHERE {predicate}"));
    }
    spec
}

/// `foreign key post (author_id) → author (id) ON DELETE CASCADE`.
fn foreign_key_spec(table: &str, fk: &ForeignKey) -> String {
    let mut spec = format!(
        "foreign key {table} ({}) → {} ({})",
        fk.columns.join(", "),
        fk.ref_table,
        fk.ref_columns.join(", ")
    );
    for (words, action) in [("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)] {
        if action != FkAction::NoAction {
            spec.push_str(&format!(" {words} {}", action.sql()));
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    // Builders. A column is `"name type"`, `"name type null"` for a nullable one; a table's
    // primary key is `id` when it has one.

    fn column(spec: &str) -> Column {
        let (name, ty) = spec.split_once(' ').unwrap();
        let (ty, nullable) = match ty.strip_suffix(" null") {
            Some(ty) => (ty, true),
            None => (ty, false),
        };
        Column {
            name: name.to_owned(),
            ty: ty.to_owned(),
            nullable,
            default: None,
            auto_increment: false,
        }
    }

    fn table(name: &str, columns: &[&str]) -> Table {
        let columns: Vec<Column> = columns.iter().map(|c| column(c)).collect();
        let has_id = columns.iter().any(|c| c.name == "id");
        Table {
            name: name.to_owned(),
            columns,
            primary_key: if has_id {
                vec!["id".to_owned()]
            } else {
                vec![]
            },
            indexes: vec![],
            foreign_keys: vec![],
        }
    }

    fn index(name: &str, columns: &[&str], unique: bool) -> Index {
        Index {
            name: name.to_owned(),
            columns: strings(columns),
            unique,
            constraint: false,
            predicate: None,
        }
    }

    /// `column` references `ref_table (id)`, no actions.
    fn fk(column: &str, ref_table: &str) -> ForeignKey {
        ForeignKey {
            name: format!("fk_{column}_{ref_table}"),
            columns: strings(&[column]),
            ref_table: ref_table.to_owned(),
            ref_columns: strings(&["id"]),
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    trait With {
        fn index(self, index: Index) -> Self;
        fn fk(self, fk: ForeignKey) -> Self;
    }

    impl With for Table {
        fn index(mut self, index: Index) -> Table {
            self.indexes.push(index);
            self
        }
        fn fk(mut self, fk: ForeignKey) -> Table {
            self.foreign_keys.push(fk);
            self
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
            enums: BTreeMap::new(),
        }
    }

    fn with_enum(mut schema: Schema, name: &str, labels: &[&str]) -> Schema {
        schema.enums.insert(name.to_owned(), strings(labels));
        schema
    }

    fn pg(from: &Schema, to: &Schema) -> Vec<Change> {
        diff(from, to, Dialect::Postgres)
    }

    fn described(changes: &[Change]) -> Vec<String> {
        changes.iter().map(Change::describe).collect()
    }

    fn author() -> Table {
        table("author", &["id integer", "name text"])
    }

    /// `post` references `author`, with an index over `author_id` and a unique `slug`.
    fn post() -> Table {
        table(
            "post",
            &[
                "id integer",
                "author_id integer",
                "slug varchar(255)",
                "body text",
            ],
        )
        .index(index("post_author_id", &["author_id"], false))
        .index(index("post_slug_key", &["slug"], true))
        .fk(fk("author_id", "author"))
    }

    fn blog() -> Schema {
        with_enum(
            schema(vec![author(), post()]),
            "status",
            &["draft", "published"],
        )
    }

    // What counts as a change.

    #[test]
    fn identical_schemas_give_an_empty_diff() {
        assert_eq!(pg(&blog(), &blog()), vec![]);
        assert_eq!(pg(&Schema::default(), &Schema::default()), vec![]);
    }

    #[test]
    fn column_order_and_index_and_foreign_key_names_do_not_count() {
        let mut shuffled = post();
        shuffled.columns.reverse();
        shuffled.indexes.reverse();
        for i in &mut shuffled.indexes {
            i.name = format!("renamed_{}", i.name);
        }
        shuffled.foreign_keys[0].name = String::new();
        let to = with_enum(
            schema(vec![author(), shuffled]),
            "status",
            &["draft", "published"],
        );
        assert_eq!(pg(&blog(), &to), vec![]);
        assert_eq!(pg(&to, &blog()), vec![]);
    }

    #[test]
    fn a_unique_constraint_and_a_unique_index_over_the_same_columns_are_equal() {
        let mut constraint = index("post_slug_key", &["slug"], true);
        constraint.constraint = true;
        let from = schema(vec![table("post", &["slug text"]).index(constraint)]);
        let to = schema(vec![table("post", &["slug text"]).index(index(
            "ix",
            &["slug"],
            true,
        ))]);
        assert_eq!(pg(&from, &to), vec![]);
    }

    #[test]
    fn a_new_table_is_created_whole_and_a_missing_one_dropped_whole() {
        let from = schema(vec![author(), table("legacy", &["id integer"])]);
        let to = schema(vec![author(), post()]);
        assert_eq!(
            pg(&from, &to),
            vec![
                Change::CreateTable { table: post() },
                Change::DropTable {
                    table: table("legacy", &["id integer"])
                },
            ]
        );
    }

    #[test]
    fn columns_are_added_altered_and_dropped_by_name() {
        let from = schema(vec![table(
            "t",
            &["id integer", "a text", "b text", "c text"],
        )]);
        let to = schema(vec![table(
            "t",
            &["id integer", "a text", "b varchar(9) null", "d text"],
        )]);
        assert_eq!(
            pg(&from, &to),
            vec![
                Change::AddColumn {
                    table: "t".into(),
                    column: column("d text")
                },
                Change::AlterColumn {
                    table: "t".into(),
                    from: column("b text"),
                    to: column("b varchar(9) null"),
                },
                Change::DropColumn {
                    table: "t".into(),
                    column: column("c text")
                },
            ]
        );
    }

    #[test]
    fn a_default_or_auto_increment_changing_alters_the_column() {
        let from = schema(vec![table("t", &["id integer", "n integer"])]);
        let mut to = from.clone();
        let t = to.tables.get_mut("t").unwrap();
        t.columns[0].auto_increment = true;
        t.columns[1].default = Some("0".into());
        let changes = pg(&from, &to);
        assert_eq!(changes.len(), 2);
        assert!(
            changes
                .iter()
                .all(|c| matches!(c, Change::AlterColumn { .. }))
        );
    }

    #[test]
    fn a_different_primary_key_is_set() {
        let from = schema(vec![table("tag", &["id integer", "name text"])]);
        let mut to = from.clone();
        to.tables.get_mut("tag").unwrap().primary_key = strings(&["id", "name"]);
        assert_eq!(
            pg(&from, &to),
            vec![Change::SetPrimaryKey {
                table: "tag".into(),
                from: strings(&["id"]),
                to: strings(&["id", "name"]),
            }]
        );
    }

    #[test]
    fn indexes_are_added_and_dropped_by_columns_uniqueness_and_predicate() {
        let from = schema(vec![
            table("t", &["a text", "b text"])
                .index(index("ia", &["a"], false))
                .index(index("ib", &["b"], false)),
        ]);
        let mut partial = index("ib", &["b"], false);
        partial.predicate = Some("b IS NOT NULL".into());
        let to = schema(vec![
            table("t", &["a text", "b text"])
                .index(index("ia", &["a"], true))
                .index(partial.clone()),
        ]);
        assert_eq!(
            pg(&from, &to),
            vec![
                Change::DropIndex {
                    table: "t".into(),
                    index: index("ia", &["a"], false)
                },
                Change::DropIndex {
                    table: "t".into(),
                    index: index("ib", &["b"], false)
                },
                Change::AddIndex {
                    table: "t".into(),
                    index: index("ia", &["a"], true)
                },
                Change::AddIndex {
                    table: "t".into(),
                    index: partial
                },
            ]
        );
    }

    #[test]
    fn a_duplicate_index_is_dropped() {
        let one = table("t", &["a text"]).index(index("i1", &["a"], false));
        let two = one.clone().index(index("i2", &["a"], false));
        let changes = pg(&schema(vec![two]), &schema(vec![one]));
        assert_eq!(
            changes,
            vec![Change::DropIndex {
                table: "t".into(),
                index: index("i2", &["a"], false)
            }]
        );
    }

    #[test]
    fn a_foreign_key_whose_actions_differ_is_dropped_and_added() {
        let mut cascading = fk("author_id", "author");
        cascading.on_delete = FkAction::Cascade;
        let mut to_post = post();
        to_post.foreign_keys = vec![cascading.clone()];
        let to = with_enum(
            schema(vec![author(), to_post]),
            "status",
            &["draft", "published"],
        );
        assert_eq!(
            pg(&blog(), &to),
            vec![
                Change::DropForeignKey {
                    table: "post".into(),
                    foreign_key: fk("author_id", "author"),
                },
                Change::AddForeignKey {
                    table: "post".into(),
                    foreign_key: cascading
                },
            ]
        );
    }

    #[test]
    fn enums_are_created_dropped_extended_or_changed() {
        let from = [
            ("gone", &["x"][..]),
            ("grow", &["a", "c"]),
            ("shrink", &["a", "b"]),
        ];
        let to = [
            ("grow", &["a", "b", "c", "d"][..]),
            ("new", &["y"]),
            ("shrink", &["a"]),
        ];
        let build = |enums: &[(&str, &[&str])]| {
            enums
                .iter()
                .fold(Schema::default(), |s, (n, l)| with_enum(s, n, l))
        };
        assert_eq!(
            pg(&build(&from), &build(&to)),
            vec![
                Change::AddEnumValues {
                    name: "grow".into(),
                    values: strings(&["b", "d"])
                },
                Change::CreateEnum {
                    name: "new".into(),
                    values: strings(&["y"])
                },
                Change::DropEnum {
                    name: "gone".into(),
                    values: strings(&["x"])
                },
                Change::ChangeEnum {
                    name: "shrink".into(),
                    from: strings(&["a", "b"]),
                    to: strings(&["a"]),
                },
            ]
        );
    }

    #[test]
    fn reordered_enum_labels_change_the_enum() {
        let from = with_enum(Schema::default(), "e", &["a", "b"]);
        let to = with_enum(Schema::default(), "e", &["b", "a", "c"]);
        assert!(matches!(pg(&from, &to)[..], [Change::ChangeEnum { .. }]));
    }

    #[test]
    fn sqlite_integer_and_bigint_are_one_type_but_not_on_postgres() {
        let from = schema(vec![table("t", &["id integer"])]);
        let to = schema(vec![table("t", &["id bigint"])]);
        assert_eq!(diff(&from, &to, Dialect::Sqlite), vec![]);
        assert!(matches!(
            diff(&from, &to, Dialect::Postgres)[..],
            [Change::AlterColumn { .. }]
        ));
    }

    // Order.

    #[test]
    fn a_new_table_comes_after_the_new_tables_it_references() {
        let comment = table(
            "comment",
            &["id integer", "post_id integer", "parent_id integer"],
        )
        .fk(fk("post_id", "post"))
        .fk(fk("parent_id", "comment"));
        let to = schema(vec![author(), post(), comment.clone()]);
        let names: Vec<_> = pg(&Schema::default(), &to)
            .iter()
            .filter_map(|c| c.table().map(str::to_owned))
            .collect();
        assert_eq!(names, ["author", "post", "comment"]);
    }

    #[test]
    fn a_cycle_of_new_tables_is_broken_into_an_add_foreign_key() {
        let a = table("a", &["id integer", "b_id integer"]).fk(fk("b_id", "b"));
        let b = table("b", &["id integer", "a_id integer"]).fk(fk("a_id", "a"));
        let changes = pg(&Schema::default(), &schema(vec![a.clone(), b.clone()]));
        let mut a_alone = a;
        a_alone.foreign_keys.clear();
        assert_eq!(
            changes,
            vec![
                Change::CreateTable { table: a_alone },
                Change::CreateTable { table: b },
                Change::AddForeignKey {
                    table: "a".into(),
                    foreign_key: fk("b_id", "b")
                },
            ]
        );
    }

    #[test]
    fn only_a_table_on_the_cycle_loses_a_foreign_key() {
        // `a` references the cycle b ↔ c but is not on it: it comes once `b` exists.
        let a = table("a", &["id integer", "b_id integer"]).fk(fk("b_id", "b"));
        let b = table("b", &["id integer", "c_id integer"]).fk(fk("c_id", "c"));
        let c = table("c", &["id integer", "b_id integer"]).fk(fk("b_id", "b"));
        let changes = pg(&Schema::default(), &schema(vec![a, b, c]));
        let summary: Vec<_> = changes.iter().map(|c| (c.describe(), c.table())).collect();
        assert_eq!(
            summary,
            [
                ("+ table b (2 columns)".to_owned(), Some("b")),
                ("+ table a (2 columns)".to_owned(), Some("a")),
                ("+ table c (2 columns)".to_owned(), Some("c")),
                ("+ foreign key b (c_id) → c (id)".to_owned(), Some("b")),
            ]
        );
    }

    #[test]
    fn tables_are_dropped_before_the_tables_they_reference() {
        let changes = pg(
            &blog(),
            &with_enum(Schema::default(), "status", &["draft", "published"]),
        );
        assert_eq!(
            changes,
            vec![
                Change::DropTable { table: post() },
                Change::DropTable { table: author() }
            ]
        );
    }

    #[test]
    fn a_cycle_of_dropped_tables_loses_a_foreign_key_first() {
        let a = table("a", &["id integer", "b_id integer"]).fk(fk("b_id", "b"));
        let b = table("b", &["id integer", "a_id integer"]).fk(fk("a_id", "a"));
        let changes = pg(&schema(vec![a, b]), &Schema::default());
        assert_eq!(
            described(&changes),
            ["- foreign key a (b_id) → b (id)", "- table b", "- table a"]
        );
    }

    #[test]
    fn a_foreign_key_is_dropped_before_the_index_column_and_table_it_needs() {
        let bare = table("post", &["id integer", "slug varchar(255)", "body text"]).index(index(
            "post_slug_key",
            &["slug"],
            true,
        ));
        let to = with_enum(schema(vec![bare]), "status", &["draft", "published"]);
        assert_eq!(
            described(&pg(&blog(), &to)),
            [
                "- foreign key post (author_id) → author (id)",
                "- index post (author_id)",
                "- column post.author_id integer NOT NULL",
                "- table author",
            ]
        );
    }

    #[test]
    fn every_group_comes_in_its_place() {
        let mut from = with_enum(with_enum(blog(), "old", &["x"]), "mood", &["sad", "happy"]);
        from.tables
            .insert("legacy".into(), table("legacy", &["id integer"]));
        let mut to_post = table("post", &["id integer", "slug text null", "title text"])
            .index(index("post_title", &["title"], false))
            .fk(fk("id", "author"));
        to_post.primary_key = strings(&["id", "slug"]);
        let to = with_enum(
            with_enum(
                with_enum(
                    schema(vec![author(), to_post, table("tag", &["id integer"])]),
                    "new",
                    &["n"],
                ),
                "status",
                &["draft", "published", "archived"],
            ),
            "mood",
            &["happy", "sad"],
        );
        let changes = pg(&from, &to);
        let groups: Vec<u8> = changes.iter().map(group).collect();
        assert!(groups.is_sorted(), "{:#?}", described(&changes));
        assert_eq!(groups, [1, 1, 2, 3, 3, 4, 5, 5, 5, 6, 7, 8, 8, 9, 10, 10]);
    }

    /// The place of a change in [`diff`]'s order.
    fn group(change: &Change) -> u8 {
        match change {
            Change::CreateEnum { .. } | Change::AddEnumValues { .. } => 1,
            Change::DropForeignKey { .. } => 2,
            Change::DropIndex { .. } => 3,
            Change::CreateTable { .. } => 4,
            Change::RenameColumn { .. }
            | Change::AddColumn { .. }
            | Change::AlterColumn { .. }
            | Change::SetPrimaryKey { .. } => 5,
            Change::AddIndex { .. } => 6,
            Change::AddForeignKey { .. } => 7,
            Change::DropColumn { .. } => 8,
            Change::DropTable { .. } => 9,
            Change::DropEnum { .. } | Change::ChangeEnum { .. } => 10,
        }
    }

    // The reverse direction.

    /// The change that undoes `change`, when it alone says how
    /// (`AddEnumValues` does not: its undoing is a `ChangeEnum`).
    fn mirror(change: &Change) -> Change {
        let c = change.clone();
        match c {
            Change::CreateEnum { name, values } => Change::DropEnum { name, values },
            Change::DropEnum { name, values } => Change::CreateEnum { name, values },
            Change::ChangeEnum { name, from, to } => Change::ChangeEnum {
                name,
                from: to,
                to: from,
            },
            Change::AddEnumValues { .. } => c,
            Change::RenameColumn { table, from, to } => Change::RenameColumn {
                table,
                from: to,
                to: from,
            },
            Change::CreateTable { table } => Change::DropTable { table },
            Change::DropTable { table } => Change::CreateTable { table },
            Change::AddColumn { table, column } => Change::DropColumn { table, column },
            Change::DropColumn { table, column } => Change::AddColumn { table, column },
            Change::AlterColumn { table, from, to } => Change::AlterColumn {
                table,
                from: to,
                to: from,
            },
            Change::SetPrimaryKey { table, from, to } => Change::SetPrimaryKey {
                table,
                from: to,
                to: from,
            },
            Change::AddIndex { table, index } => Change::DropIndex { table, index },
            Change::DropIndex { table, index } => Change::AddIndex { table, index },
            Change::AddForeignKey { table, foreign_key } => {
                Change::DropForeignKey { table, foreign_key }
            }
            Change::DropForeignKey { table, foreign_key } => {
                Change::AddForeignKey { table, foreign_key }
            }
        }
    }

    fn sorted(mut changes: Vec<Change>) -> Vec<Change> {
        changes.sort_by_key(|c| format!("{c:?}"));
        changes
    }

    /// Pairs of schemas covering every kind of change (but `AddEnumValues`).
    fn pairs() -> Vec<(Schema, Schema)> {
        let a = table("a", &["id integer", "b_id integer"]).fk(fk("b_id", "b"));
        let b = table("b", &["id integer", "a_id integer"]).fk(fk("a_id", "a"));
        let mut changed_post = table("post", &["id integer", "slug text null", "title text"])
            .index(index("post_title", &["title"], false))
            .fk(fk("id", "author"));
        changed_post.primary_key = strings(&["id", "slug"]);
        let changed = with_enum(
            with_enum(
                schema(vec![author(), changed_post, a, b]),
                "status",
                &["published", "draft"],
            ),
            "new",
            &["n"],
        );
        vec![
            (blog(), changed),
            (blog(), Schema::default()),
            (blog(), blog()),
        ]
    }

    #[test]
    fn the_reverse_diff_mirrors_the_diff() {
        for (a, b) in pairs() {
            let forward: Vec<Change> = pg(&a, &b).iter().map(mirror).collect();
            assert_eq!(sorted(forward), sorted(pg(&b, &a)));
        }
    }

    #[test]
    fn a_diff_is_empty_exactly_when_the_schemas_are_equal() {
        for (a, b) in pairs() {
            assert_eq!(pg(&a, &b).is_empty(), a == b);
            assert_eq!(pg(&b, &a).is_empty(), a == b);
        }
    }

    #[test]
    fn removing_appended_enum_values_changes_the_enum_back() {
        let short = with_enum(Schema::default(), "e", &["a"]);
        let long = with_enum(Schema::default(), "e", &["a", "b"]);
        assert_eq!(
            pg(&long, &short),
            vec![Change::ChangeEnum {
                name: "e".into(),
                from: strings(&["a", "b"]),
                to: strings(&["a"])
            }]
        );
    }

    // Describing.

    #[test]
    fn each_change_says_itself_in_one_line() {
        let mut title = column("title varchar(255) null");
        let old_title = column("title varchar(100)");
        let mut cascading = fk("author_id", "author");
        cascading.on_delete = FkAction::Cascade;
        let t = || "post".to_owned();
        let cases = [
            (
                Change::CreateTable { table: post() },
                "+ table post (4 columns)",
            ),
            (
                Change::DropTable {
                    table: table("legacy", &["id integer"]),
                },
                "- table legacy",
            ),
            (
                Change::AddColumn {
                    table: t(),
                    column: column("slug varchar(255) null"),
                },
                "+ column post.slug varchar(255) NULL",
            ),
            (
                Change::DropColumn {
                    table: t(),
                    column: column("body text"),
                },
                "- column post.body text NOT NULL",
            ),
            (
                Change::AlterColumn {
                    table: t(),
                    from: old_title.clone(),
                    to: title.clone(),
                },
                "~ column post.title: varchar(100) NOT NULL → varchar(255) NULL",
            ),
            (
                Change::SetPrimaryKey {
                    table: "tag".into(),
                    from: strings(&["id"]),
                    to: strings(&["id", "name"]),
                },
                "~ primary key of tag: (id) → (id, name)",
            ),
            (
                Change::AddIndex {
                    table: t(),
                    index: index("i", &["slug"], true),
                },
                "+ unique index post (slug)",
            ),
            (
                Change::DropIndex {
                    table: t(),
                    index: index("i", &["title"], false),
                },
                "- index post (title)",
            ),
            (
                Change::AddForeignKey {
                    table: t(),
                    foreign_key: cascading,
                },
                "+ foreign key post (author_id) → author (id) ON DELETE CASCADE",
            ),
            (
                Change::CreateEnum {
                    name: "status".into(),
                    values: strings(&["draft", "published"]),
                },
                "+ enum status ('draft', 'published')",
            ),
            (
                Change::AddEnumValues {
                    name: "status".into(),
                    values: strings(&["archived"]),
                },
                "+ enum values status: 'archived'",
            ),
            (
                Change::ChangeEnum {
                    name: "e".into(),
                    from: strings(&["a", "b"]),
                    to: strings(&["it's"]),
                },
                "~ enum e: ('a', 'b') → ('it''s')",
            ),
        ];
        for (change, line) in cases {
            assert_eq!(change.describe(), line);
        }
        title.ty = old_title.ty.clone();
        title.default = Some("'untitled'".into());
        let change = Change::AlterColumn {
            table: t(),
            from: old_title,
            to: title,
        };
        assert_eq!(
            change.describe(),
            "~ column post.title: NOT NULL no default → NULL DEFAULT 'untitled'"
        );
    }

    // Danger.

    #[test]
    fn what_can_lose_data_or_fail_on_existing_rows_is_destructive() {
        let alter = |from: &str, to: &str| Change::AlterColumn {
            table: "t".into(),
            from: column(from),
            to: column(to),
        };
        assert!(alter("a text", "a integer").destructive());
        assert!(alter("a text null", "a text").destructive());
        assert!(!alter("a text", "a text null").destructive());
        let mut defaulted = column("a text");
        defaulted.default = Some("''".into());
        let change = Change::AlterColumn {
            table: "t".into(),
            from: column("a text"),
            to: defaulted,
        };
        assert!(!change.destructive());

        let (from, to) = &pairs()[0];
        let destructive: Vec<String> = pg(from, to)
            .iter()
            .filter(|c| c.destructive())
            .map(Change::describe)
            .collect();
        assert_eq!(
            destructive,
            [
                "~ column post.slug: varchar(255) NOT NULL → text NULL",
                "~ primary key of post: (id) → (id, slug)",
                "- column post.author_id integer NOT NULL",
                "- column post.body text NOT NULL",
                "~ enum status: ('draft', 'published') → ('published', 'draft')",
            ]
        );
    }

    #[test]
    fn a_change_names_its_table_but_an_enum_change_none() {
        let (from, to) = &pairs()[0];
        for change in pg(from, to) {
            let expected = match &change {
                Change::CreateEnum { .. } | Change::ChangeEnum { .. } => None,
                Change::CreateTable { table } => Some(table.name.as_str()),
                // The foreign key that breaks the cycle of new tables a ↔ b.
                Change::AddForeignKey { foreign_key, .. } if foreign_key.ref_table == "b" => {
                    Some("a")
                }
                _ => Some("post"),
            };
            assert_eq!(change.table(), expected, "{}", change.describe());
        }
    }
}
