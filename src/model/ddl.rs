//! The schema a SQL script builds, as far as its DDL says: which tables exist, with which
//! columns and indexes. An offline script (`--sql`) answers a migration's
//! `manager.has_table`/`has_column`/`has_index` from it, so a conditional migration
//! writes the script it would run. It reads the DDL sea-query writes for every backend
//! and the usual hand-written forms (`CREATE TABLE`, `ALTER TABLE ... ADD/DROP/RENAME`,
//! MySQL's `CHANGE` and `RENAME TABLE`, `CREATE/DROP INDEX`); any other statement changes
//! nothing here.

use std::collections::BTreeMap;

/// How a database compares names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// PostgreSQL: a quoted name as written, an unquoted one folded to lower case.
    Folded,
    /// SQLite and MySQL/MariaDB: table, column and index names compare without case.
    Insensitive,
}

/// Tables, their columns and their indexes.
#[derive(Debug, Clone)]
pub struct Shape {
    names: Names,
    tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, Default)]
struct Table {
    columns: Vec<String>,
    indexes: Vec<String>,
}

impl Shape {
    /// An empty schema.
    pub fn new(names: Names) -> Shape {
        Shape {
            names,
            tables: BTreeMap::new(),
        }
    }

    /// Whether `table` exists (a name as a probe gives it: exact).
    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(&self.key(table))
    }

    /// Whether `table` has `column`.
    pub fn has_column(&self, table: &str, column: &str) -> bool {
        let c = self.key(column);
        self.table(table).is_some_and(|t| t.columns.contains(&c))
    }

    /// Whether `table` has the index `index`.
    pub fn has_index(&self, table: &str, index: &str) -> bool {
        let i = self.key(index);
        self.table(table).is_some_and(|t| t.indexes.contains(&i))
    }

    /// Records `column` of `table` (a schema read from a database).
    pub fn add_column(&mut self, table: &str, column: &str) {
        let (t, c) = (self.key(table), self.key(column));
        push_new(&mut self.tables.entry(t).or_default().columns, c);
    }

    /// Records the index `index` of `table` (a schema read from a database).
    pub fn add_index(&mut self, table: &str, index: &str) {
        let (t, i) = (self.key(table), self.key(index));
        push_new(&mut self.tables.entry(t).or_default().indexes, i);
    }

    /// Records what the statements of `sql` do to the schema.
    pub fn apply(&mut self, sql: &str) {
        for statement in statements(sql) {
            self.apply_one(&statement);
        }
    }

    /// The key of a name given as a value (a probe's): exact, or in lower case where
    /// case does not matter.
    fn key(&self, name: &str) -> String {
        match self.names {
            Names::Folded => name.to_string(),
            Names::Insensitive => name.to_lowercase(),
        }
    }

    /// The key of a name as written in SQL.
    fn ident(&self, token: &Tok) -> Option<String> {
        match (token, self.names) {
            (Tok::Quoted(s), Names::Folded) => Some(s.clone()),
            (Tok::Word(s) | Tok::Quoted(s), _) => Some(s.to_lowercase()),
            _ => None,
        }
    }

    fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(&self.key(name))
    }

    fn apply_one(&mut self, toks: &[Tok]) {
        let mut p = Parser { toks, at: 0 };
        if p.word("CREATE") {
            p.word("OR");
            p.word("REPLACE");
            p.any(&["TEMP", "TEMPORARY", "UNLOGGED"]);
            if p.word("TABLE") {
                self.create_table(&mut p);
            } else {
                p.word("UNIQUE");
                if p.word("INDEX") {
                    self.create_index(&mut p);
                }
            }
        } else if p.word("DROP") {
            if p.word("TABLE") {
                p.if_exists();
                while let Some(name) = self.name(&mut p) {
                    self.tables.remove(&name);
                    if !p.punct(',') {
                        break;
                    }
                }
            } else if p.word("INDEX") {
                p.word("CONCURRENTLY");
                p.if_exists();
                if let Some(index) = self.name(&mut p) {
                    let on = if p.word("ON") {
                        self.name(&mut p)
                    } else {
                        None
                    };
                    self.drop_index(on.as_deref(), &index);
                }
            }
        } else if p.word("ALTER") {
            if p.word("TABLE") {
                self.alter_table(&mut p);
            } else if p.word("INDEX") {
                p.if_exists();
                if let Some(old) = self.name(&mut p)
                    && p.word("RENAME")
                    && p.word("TO")
                    && let Some(new) = self.name(&mut p)
                {
                    self.rename_index(None, &old, new);
                }
            }
        } else if p.word("RENAME") && p.word("TABLE") {
            // MySQL: RENAME TABLE a TO b, c TO d
            while let Some(old) = self.name(&mut p) {
                if !p.word("TO") {
                    break;
                }
                if let Some(new) = self.name(&mut p) {
                    self.rename_table(&old, new);
                }
                if !p.punct(',') {
                    break;
                }
            }
        }
    }

    /// A possibly qualified name (`schema.table`): its last part.
    fn name(&self, p: &mut Parser) -> Option<String> {
        let mut name = self.ident(p.peek()?)?;
        p.at += 1;
        while p.punct('.') {
            name = self.ident(p.peek()?)?;
            p.at += 1;
        }
        Some(name)
    }

    fn create_table(&mut self, p: &mut Parser) {
        p.if_not_exists();
        let Some(name) = self.name(p) else { return };
        let mut table = Table::default();
        if p.punct('(') {
            for item in p.items() {
                self.table_item(&mut table, item);
            }
        }
        self.tables.insert(name, table);
    }

    /// One item of `CREATE TABLE (...)`: a column, or a constraint or index (MySQL's
    /// inline `KEY name (...)`).
    fn table_item(&self, table: &mut Table, item: &[Tok]) {
        let mut p = Parser { toks: item, at: 0 };
        if let Some(index) = self.constraint_index(&mut p) {
            if let Some(index) = index {
                push_new(&mut table.indexes, index);
            }
        } else if let Some(column) = p.peek().and_then(|t| self.ident(t)) {
            push_new(&mut table.columns, column);
        }
    }

    /// At a constraint or index definition: `Some` (with the index it names, if any);
    /// at a column: `None`.
    fn constraint_index(&self, p: &mut Parser) -> Option<Option<String>> {
        let named = if p.word("CONSTRAINT") {
            self.name(p)
        } else {
            None
        };
        let at = p.at;
        if p.any(&["KEY", "INDEX", "FULLTEXT", "SPATIAL"]) {
            p.any(&["KEY", "INDEX"]);
            if named.is_none() && !index_follows(p) {
                // a column named `key` (or `index`): `key varchar(64) ...`
                p.at = at;
                return None;
            }
            return Some(self.index_name(p).or(named));
        }
        if p.word("UNIQUE") {
            p.any(&["KEY", "INDEX"]);
            return Some(self.index_name(p).or(named));
        }
        if p.any(&["PRIMARY", "FOREIGN", "CHECK", "EXCLUDE"]) || named.is_some() {
            return Some(named);
        }
        None
    }

    /// An index's own name, where one is written before its column list.
    fn index_name(&self, p: &mut Parser) -> Option<String> {
        match p.peek() {
            Some(Tok::Punct('(')) | None => None,
            Some(_) => self.name(p),
        }
    }

    fn create_index(&mut self, p: &mut Parser) {
        p.word("CONCURRENTLY");
        p.if_not_exists();
        if p.word("ON") {
            return; // PostgreSQL names it itself
        }
        let Some(index) = self.name(p) else { return };
        if !p.word("ON") {
            return;
        }
        p.word("ONLY");
        if let Some(table) = self.name(p) {
            push_new(&mut self.tables.entry(table).or_default().indexes, index);
        }
    }

    fn drop_index(&mut self, on: Option<&str>, index: &str) {
        for (name, table) in &mut self.tables {
            if on.is_none_or(|t| t == name) {
                table.indexes.retain(|i| i != index);
            }
        }
    }

    fn rename_index(&mut self, on: Option<&str>, old: &str, new: String) {
        for (name, table) in &mut self.tables {
            if on.is_none_or(|t| t == name)
                && let Some(i) = table.indexes.iter_mut().find(|i| *i == old)
            {
                *i = new.clone();
            }
        }
    }

    fn rename_table(&mut self, old: &str, new: String) {
        if let Some(table) = self.tables.remove(old) {
            self.tables.insert(new, table);
        }
    }

    fn alter_table(&mut self, p: &mut Parser) {
        p.if_exists();
        p.word("ONLY");
        let Some(mut name) = self.name(p) else { return };
        let actions: Vec<Vec<Tok>> = p.rest_items().into_iter().map(<[Tok]>::to_vec).collect();
        for action in actions {
            let mut a = Parser {
                toks: &action,
                at: 0,
            };
            if let Some(renamed) = self.alter_action(&name, &mut a) {
                name = renamed;
            }
        }
    }

    /// One action of `ALTER TABLE`; returns the table's new name if it renames it.
    fn alter_action(&mut self, name: &str, a: &mut Parser) -> Option<String> {
        if a.word("ADD") {
            if let Some(index) = self.constraint_index(a) {
                if let Some(index) = index {
                    self.add_index(name, &index);
                }
            } else {
                a.word("COLUMN");
                a.if_not_exists();
                let column = self.name(a)?;
                push_new(
                    &mut self.tables.entry(name.to_string()).or_default().columns,
                    column,
                );
            }
        } else if a.word("DROP") {
            if a.any(&["INDEX", "KEY", "CONSTRAINT"]) {
                a.if_exists();
                let index = self.name(a)?;
                self.drop_index(Some(name), &index);
            } else if !a.any(&["PRIMARY", "FOREIGN", "CHECK", "DEFAULT"]) {
                a.word("COLUMN");
                a.if_exists();
                let column = self.name(a)?;
                if let Some(t) = self.tables.get_mut(name) {
                    t.columns.retain(|c| *c != column);
                }
            }
        } else if a.word("RENAME") {
            if a.any(&["TO", "AS"]) {
                let new = self.name(a)?;
                self.rename_table(name, new.clone());
                return Some(new);
            }
            if a.any(&["INDEX", "KEY"]) {
                let old = self.name(a)?;
                a.word("TO");
                let new = self.name(a)?;
                self.rename_index(Some(name), &old, new);
            } else {
                a.word("COLUMN");
                let old = self.name(a)?;
                a.word("TO");
                let new = self.name(a)?;
                self.rename_column(name, &old, new);
            }
        } else if a.word("CHANGE") {
            // MySQL: CHANGE [COLUMN] old new <definition>
            a.word("COLUMN");
            let old = self.name(a)?;
            let new = self.name(a)?;
            self.rename_column(name, &old, new);
        }
        None
    }

    fn rename_column(&mut self, table: &str, old: &str, new: String) {
        if let Some(t) = self.tables.get_mut(table)
            && let Some(c) = t.columns.iter_mut().find(|c| *c == old)
        {
            *c = new;
        }
    }
}

/// After `KEY`/`INDEX`: whether an index definition follows (`(cols)`, `name (cols)`,
/// `name USING ...`) rather than a column's type (`varchar(64)`, `text`).
fn index_follows(p: &Parser) -> bool {
    let name = |t: Option<&Tok>| matches!(t, Some(Tok::Word(_) | Tok::Quoted(_)));
    let (a, b, c) = (p.toks.get(p.at), p.toks.get(p.at + 1), p.toks.get(p.at + 2));
    match (a, b) {
        (Some(Tok::Punct('(')), _) => true,
        (_, Some(Tok::Punct('('))) => name(a) && name(c),
        (_, Some(Tok::Word(w))) => name(a) && w.eq_ignore_ascii_case("USING"),
        _ => false,
    }
}

fn push_new(list: &mut Vec<String>, name: String) {
    if !list.contains(&name) {
        list.push(name);
    }
}

/// A token of SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word: keyword or unquoted name.
    Word(String),
    /// A quoted name (`"x"`, `` `x` ``, `[x]`).
    Quoted(String),
    /// A string literal, a number or anything else that names nothing.
    Other,
    /// One punctuation character.
    Punct(char),
}

/// The statements of `sql`, each as its tokens (comments dropped, split at `;`).
fn statements(sql: &str) -> Vec<Vec<Tok>> {
    let mut out = vec![Vec::new()];
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '-' if sql[i..].starts_with("--") => {
                while chars.next_if(|&(_, c)| c != '\n').is_some() {}
                continue;
            }
            '/' if sql[i..].starts_with("/*") => {
                chars.next();
                let mut last = ' ';
                for (_, c) in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                continue;
            }
            ';' => {
                out.push(Vec::new());
                continue;
            }
            '"' | '`' | '[' | '\'' => {
                let close = if c == '[' { ']' } else { c };
                let mut text = String::new();
                while let Some((_, d)) = chars.next() {
                    if d == close {
                        // a doubled quote is one quote character
                        if chars
                            .next_if(|&(_, e)| e == close && close != ']')
                            .is_some()
                        {
                            text.push(d);
                            continue;
                        }
                        break;
                    }
                    text.push(d);
                }
                if c == '\'' {
                    Tok::Other
                } else {
                    Tok::Quoted(text)
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut word = c.to_string();
                while let Some((_, d)) =
                    chars.next_if(|&(_, d)| d.is_alphanumeric() || d == '_' || d == '$')
                {
                    word.push(d);
                }
                if c.is_ascii_digit() {
                    Tok::Other
                } else {
                    Tok::Word(word)
                }
            }
            c => Tok::Punct(c),
        };
        if let Some(last) = out.last_mut() {
            last.push(tok);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

struct Parser<'a> {
    toks: &'a [Tok],
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.at)
    }

    /// Takes the keyword `kw` if it is next.
    fn word(&mut self, kw: &str) -> bool {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// Takes any one of `kws` if it is next.
    fn any(&mut self, kws: &[&str]) -> bool {
        kws.iter().any(|kw| self.word(kw))
    }

    fn punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn if_exists(&mut self) {
        let at = self.at;
        if !(self.word("IF") && self.word("EXISTS")) {
            self.at = at;
        }
    }

    fn if_not_exists(&mut self) {
        let at = self.at;
        if !(self.word("IF") && self.word("NOT") && self.word("EXISTS")) {
            self.at = at;
        }
    }

    /// After an opening `(`: the comma-separated items up to its `)`.
    fn items(&mut self) -> Vec<&'a [Tok]> {
        let mut items = Vec::new();
        let (mut depth, mut start) = (0usize, self.at);
        while let Some(t) = self.peek() {
            self.at += 1;
            match t {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') if depth == 0 => {
                    items.push(&self.toks[start..self.at - 1]);
                    break;
                }
                Tok::Punct(')') => depth -= 1,
                Tok::Punct(',') if depth == 0 => {
                    items.push(&self.toks[start..self.at - 1]);
                    start = self.at;
                }
                _ => {}
            }
        }
        items
    }

    /// The comma-separated items from here to the end of the statement.
    fn rest_items(&mut self) -> Vec<&'a [Tok]> {
        let mut items = Vec::new();
        let (mut depth, mut start) = (0usize, self.at);
        while let Some(t) = self.peek() {
            self.at += 1;
            match t {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth = depth.saturating_sub(1),
                Tok::Punct(',') if depth == 0 => {
                    items.push(&self.toks[start..self.at - 1]);
                    start = self.at;
                }
                _ => {}
            }
        }
        items.push(&self.toks[start..]);
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> Shape {
        let mut s = Shape::new(Names::Folded);
        s.apply(sql);
        s
    }

    fn my(sql: &str) -> Shape {
        let mut s = Shape::new(Names::Insensitive);
        s.apply(sql);
        s
    }

    #[test]
    fn tables_and_columns_from_sea_query_ddl() {
        let s = pg(
            r#"CREATE TABLE IF NOT EXISTS "post" ( "id" serial NOT NULL PRIMARY KEY, "title" varchar NOT NULL, "author_id" integer, CONSTRAINT "fk_post_author" FOREIGN KEY ("author_id") REFERENCES "author" ("id") ON DELETE CASCADE );
               ALTER TABLE "post" ADD COLUMN "published" bool DEFAULT FALSE"#,
        );
        assert!(s.has_table("post"));
        for c in ["id", "title", "author_id", "published"] {
            assert!(s.has_column("post", c), "{c}");
        }
        assert!(!s.has_column("post", "fk_post_author"));
        assert!(!s.has_column("post", "CONSTRAINT"));
        let s = pg(
            r#"CREATE TABLE "post" ("id" int); ALTER TABLE "post" DROP COLUMN "id", ADD COLUMN "x" int"#,
        );
        assert!(!s.has_column("post", "id") && s.has_column("post", "x"));
    }

    #[test]
    fn postgres_folds_unquoted_names_and_keeps_quoted_ones() {
        let s = pg(r#"CREATE TABLE Users (Id int); CREATE TABLE "Mixed" ("Name" text)"#);
        assert!(s.has_table("users") && !s.has_table("Users"));
        assert!(s.has_column("users", "id"));
        assert!(s.has_table("Mixed") && !s.has_table("mixed"));
        assert!(s.has_column("Mixed", "Name"));
        let s = my("CREATE TABLE `Users` (`Id` int)");
        assert!(s.has_table("users") && s.has_table("USERS") && s.has_column("users", "ID"));
    }

    #[test]
    fn indexes_created_dropped_and_inline() {
        let s = pg(r#"CREATE TABLE "post" ("title" text);
            CREATE UNIQUE INDEX IF NOT EXISTS "idx_title" ON "post" ("title");
            CREATE INDEX CONCURRENTLY "idx_2" ON ONLY public."post" USING btree ("title")"#);
        assert!(s.has_index("post", "idx_title") && s.has_index("post", "idx_2"));
        let s = pg(
            r#"CREATE TABLE "post" ("title" text); CREATE INDEX "i" ON "post" ("title"); DROP INDEX IF EXISTS "i""#,
        );
        assert!(!s.has_index("post", "i"));
        let s = my(
            "CREATE TABLE `t` (`a` int, KEY `k_a` (`a`), UNIQUE KEY `u_a` (`a`), PRIMARY KEY (`a`)); DROP INDEX `k_a` ON `t`",
        );
        assert!(!s.has_index("t", "k_a") && s.has_index("t", "u_a"));
        assert_eq!(s.table("t").map(|t| t.columns.len()), Some(1));
        let s = my(
            "CREATE TABLE `t` (`a` int); ALTER TABLE `t` ADD INDEX `k` (`a`), ADD UNIQUE `u` (`a`)",
        );
        assert!(s.has_index("t", "k") && s.has_index("t", "u"));
        let s = my(
            "CREATE TABLE `t` (`a` int); ALTER TABLE `t` ADD INDEX `k` (`a`); ALTER TABLE `t` DROP INDEX `k`",
        );
        assert!(!s.has_index("t", "k"));
    }

    #[test]
    fn a_column_named_key_is_a_column() {
        for sql in [
            "CREATE TABLE settings (key varchar(64) PRIMARY KEY, value text)",
            "CREATE TABLE settings (key text NOT NULL, index int(11), value text)",
        ] {
            let s = pg(sql);
            assert!(s.has_column("settings", "key"), "{sql}");
            assert!(s.has_column("settings", "value"), "{sql}");
            assert!(!s.has_index("settings", "varchar") && !s.has_index("settings", "text"));
        }
        let s = my("CREATE TABLE t (a int, KEY k USING BTREE (a), INDEX (a), KEY `q` (`a`))");
        assert!(s.has_index("t", "k") && s.has_index("t", "q"));
        assert!(!s.has_column("t", "key") && !s.has_column("t", "index"));
        let s = pg("CREATE TABLE t (a int); ALTER TABLE t ADD key int");
        assert!(s.has_column("t", "key"));
    }

    #[test]
    fn renames_and_drops() {
        let s = pg(
            r#"CREATE TABLE "a" ("x" int); ALTER TABLE "a" RENAME COLUMN "x" TO "y"; ALTER TABLE "a" RENAME TO "b""#,
        );
        assert!(!s.has_table("a") && s.has_table("b") && s.has_column("b", "y"));
        let s = my("CREATE TABLE a (x int); RENAME TABLE a TO b; ALTER TABLE b CHANGE x z int");
        assert!(s.has_table("b") && s.has_column("b", "z") && !s.has_column("b", "x"));
        let s = pg(
            r#"CREATE TABLE "a" ("x" int); CREATE TABLE "b" ("x" int); DROP TABLE IF EXISTS "a", "b" CASCADE"#,
        );
        assert!(!s.has_table("a") && !s.has_table("b"));
    }

    #[test]
    fn comments_strings_and_other_statements_change_nothing() {
        let s = pg(
            "-- CREATE TABLE nope (x int)\n/* DROP TABLE keep */ CREATE TABLE keep (x int DEFAULT 'a;DROP TABLE keep');\nINSERT INTO keep VALUES (1); UPDATE keep SET x = 2;",
        );
        assert!(s.has_table("keep") && !s.has_table("nope"));
        assert!(s.has_column("keep", "x"));
    }
}
