//! The code `create --autogenerate` writes: the bodies of a migration's `up` and `down`
//! as SeaQuery schema-builder calls, from two [`Schema`]s. Pure: `up` is what
//! [`diff`]`(from, to)` says, `down` what `diff(to, from)` says, each statement a
//! `manager.<op>(<builder>.to_owned()).await?;`, formatted as rustfmt formats it.
//!
//! Types are written with the builder method that renders exactly the database's
//! spelling on that backend (`character varying(255)` is `.string_len(255)` on
//! PostgreSQL, `tinyint(1)` is `.boolean()` on MySQL), anything else verbatim with
//! `.custom(..)`. What sea-query has no builder for (changing a primary key, dropping a
//! default on PostgreSQL, a unique constraint on an existing table) is raw SQL through
//! `execute_unprepared`, with a comment saying why. On SQLite, whatever `ALTER TABLE`
//! cannot do is the rebuild SQLite documents (a new table, a copy, a drop, a rename).
//! Changes that can lose data get a `// REVIEW:` comment. The code needs only
//! `use sea_orm_migration::prelude::*;`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::schema::{Column, Dialect, FkAction, ForeignKey, Index, Rename, Schema, Table};
use super::schema_diff::{Change, diff, is_subsequence};

/// The bodies of a generated migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub up: String,
    pub down: String,
}

/// A change the generator cannot express as a migration (named for the error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexpressible {
    pub what: String,
}

impl fmt::Display for Unexpressible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Unexpressible {}

/// `up` turns `from` into `to`: `up = diff(from, to, dialect)`, `down = diff(to, from,
/// dialect)`. Each body is indented for the inside of the `impl`'s `async fn` and ends
/// with `Ok(())`.
///
/// `renames` are the columns the entities say were renamed: each that applies is
/// renamed first in `up` (and back last in `down`), and the rest compares the renamed
/// schema.
pub fn generate(
    from: &Schema,
    to: &Schema,
    dialect: Dialect,
    renames: &[Rename],
) -> Result<Generated, Unexpressible> {
    let (renamed, done) = from.with_renames(renames, to);
    let forth: Vec<Change> = done.iter().map(Change::from).collect();
    let back: Vec<Change> = done
        .iter()
        .rev()
        .map(|r| Change::from(&r.reversed()))
        .collect();
    Ok(Generated {
        up: body(&renamed, to, dialect, false, &forth, &[])?,
        down: body(to, &renamed, dialect, true, &[], &back)?,
    })
}

/// The indentation of a statement in a migration's `up`/`down`.
const INDENT: usize = 8;

fn unexpressible(what: impl Into<String>) -> Unexpressible {
    Unexpressible { what: what.into() }
}

/// One direction's body.
fn body(
    from: &Schema,
    to: &Schema,
    dialect: Dialect,
    down: bool,
    first: &[Change],
    last: &[Change],
) -> Result<String, Unexpressible> {
    let changes = diff(from, to, dialect);
    let g = Gen {
        from,
        to,
        dialect,
        down,
    };
    let rebuilds = match dialect {
        Dialect::Sqlite => g.rebuilds(&changes)?,
        _ => BTreeMap::new(),
    };
    let renames = rename_candidates(&changes);
    let mut out = Out::default();
    for change in first {
        g.change(change, &mut out)?;
    }
    for (i, change) in changes.iter().enumerate() {
        if let Some(rebuild) = change.table().and_then(|t| rebuilds.get(t)) {
            if rebuild.last == i {
                g.rebuild(rebuild, &renames, &mut out)?;
            }
            continue;
        }
        if let Some(review) = review(change) {
            out.comment(&review);
        }
        if let Change::DropColumn { table, column } = change {
            for hint in rename_hints(table, &column.name, &renames) {
                out.comment(&hint);
            }
        }
        g.change(change, &mut out)?;
    }
    for change in last {
        g.change(change, &mut out)?;
    }
    out.lines.push(format!("{}Ok(())", spaces(INDENT)));
    Ok(out.lines.join("\n"))
}

/// The statements and comments of a body, each line indented.
#[derive(Default)]
struct Out {
    lines: Vec<String>,
}

impl Out {
    fn comment(&mut self, text: &str) {
        self.lines.push(format!("{}// {text}", spaces(INDENT)));
    }

    /// `manager.<op>(<builder>.to_owned()).await?;`
    fn manager(&mut self, op: &str, builder: E) {
        self.statement(
            E::chain(E::atom("manager"))
                .m(op, vec![builder.m("to_owned", vec![])])
                .awaited(),
        );
    }

    /// `manager.get_connection().execute_unprepared("<sql>").await?;`
    fn raw(&mut self, sql: &str) {
        self.statement(
            E::chain(E::atom("manager"))
                .m("get_connection", vec![])
                .m("execute_unprepared", vec![E::str(sql)])
                .awaited(),
        );
    }

    fn statement(&mut self, e: E) {
        let code = e.render(INDENT, INDENT, 1);
        self.lines.push(format!("{}{code};", spaces(INDENT)));
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

// Rust expressions, and how rustfmt lays them out.

/// rustfmt's defaults: `max_width`, and `chain_width`/`fn_call_width`/`array_width`
/// (60% of it).
const MAX_WIDTH: usize = 100;
const SMALL_WIDTH: usize = 60;
/// rustfmt's `short_array_element_width_threshold`: arrays of items no wider than this
/// fill their lines.
const SHORT_ITEM: usize = 10;

/// An expression of the generated code.
#[derive(Debug, Clone)]
enum E {
    /// Written as is: `manager`, `"post"`, `ForeignKeyAction::Cascade`.
    Atom(String),
    /// `path(args)`.
    Call(String, Vec<E>),
    /// `[items]`.
    Array(Vec<E>),
    /// `root.link.link`.
    Chain(Box<E>, Vec<Link>),
}

/// `.name(args)`, `.await`; `?` after it when `question`.
#[derive(Debug, Clone)]
struct Link {
    name: String,
    args: Option<Vec<E>>,
    question: bool,
}

impl E {
    fn atom(s: impl Into<String>) -> E {
        E::Atom(s.into())
    }

    /// A string literal.
    fn str(s: &str) -> E {
        E::Atom(format!("{s:?}"))
    }

    fn call(path: &str, args: Vec<E>) -> E {
        E::Call(path.to_owned(), args)
    }

    fn chain(root: E) -> E {
        E::Chain(Box::new(root), Vec::new())
    }

    /// `self.name(args)`.
    fn m(self, name: &str, args: Vec<E>) -> E {
        self.link(Link {
            name: name.to_owned(),
            args: Some(args),
            question: false,
        })
    }

    /// `self.await?`.
    fn awaited(self) -> E {
        self.link(Link {
            name: "await".to_owned(),
            args: None,
            question: true,
        })
    }

    fn link(self, link: Link) -> E {
        match self {
            E::Chain(root, mut links) => {
                links.push(link);
                E::Chain(root, links)
            }
            other => E::Chain(Box::new(other), vec![link]),
        }
    }

    /// On one line.
    fn flat(&self) -> String {
        match self {
            E::Atom(s) => s.clone(),
            E::Call(path, args) => format!("{path}({})", flat_list(args)),
            E::Array(items) => format!("[{}]", flat_list(items)),
            E::Chain(root, links) => {
                let mut s = root.flat();
                for link in links {
                    s.push_str(&link.flat());
                }
                s
            }
        }
    }

    /// Laid out as rustfmt does, starting at column `at` of a line whose block indent is
    /// `indent`, with `tail` more characters after it on its last line.
    fn render(&self, indent: usize, at: usize, tail: usize) -> String {
        let flat = self.flat();
        let fits = |limit: usize| flat.len() <= limit && at + flat.len() + tail <= MAX_WIDTH;
        match self {
            E::Atom(s) => s.clone(),
            E::Call(path, args) => {
                format!("{path}{}", render_args(args, indent, at + path.len(), tail))
            }
            E::Array(items) => {
                if fits(SMALL_WIDTH) {
                    return flat;
                }
                render_array(items, indent)
            }
            E::Chain(root, links) => {
                if fits(SMALL_WIDTH) {
                    return flat;
                }
                if let Some(overflowed) = overflow_last(root, links, indent, at, tail) {
                    return overflowed;
                }
                let mut s = root.render(indent, at, 0);
                let inner = indent + 4;
                for (i, link) in links.iter().enumerate() {
                    let tail = if i + 1 == links.len() { tail } else { 0 };
                    s.push('\n');
                    s.push_str(&spaces(inner));
                    s.push_str(&link.render(inner, inner, tail));
                }
                s
            }
        }
    }

    /// Whether rustfmt lets it overflow as a call's only argument (`f(g(` … `))`).
    fn overflows(&self) -> bool {
        matches!(self, E::Call(..) | E::Array(..))
    }
}

impl Link {
    fn flat(&self) -> String {
        let args = match &self.args {
            Some(args) => format!("({})", flat_list(args)),
            None => String::new(),
        };
        let question = if self.question { "?" } else { "" };
        format!(".{}{args}{question}", self.name)
    }

    /// Starting at column `at` of a line whose block indent is `indent`.
    fn render(&self, indent: usize, at: usize, tail: usize) -> String {
        let question = if self.question { "?" } else { "" };
        let head = format!(".{}", self.name);
        let args = match &self.args {
            Some(args) => render_args(args, indent, at + head.len(), tail + question.len()),
            None => String::new(),
        };
        format!("{head}{args}{question}")
    }
}

/// rustfmt keeps a chain on one line but for its last link's arguments when all the
/// rest fits in `chain_width` and overflowing the last link takes no more lines than
/// putting it on a line of its own (or five lines or more).
fn overflow_last(
    root: &E,
    links: &[Link],
    indent: usize,
    at: usize,
    tail: usize,
) -> Option<String> {
    let (last, rest) = links.split_last()?;
    let mut prefix = root.flat();
    for link in rest {
        prefix.push_str(&link.flat());
    }
    let width = MAX_WIDTH.checked_sub(at)?.min(SMALL_WIDTH);
    let budget = width.checked_sub(prefix.len()).filter(|b| *b > 0)?;
    let overflowed = last.render(indent, at + prefix.len(), tail);
    let first = overflowed.lines().next().unwrap_or("");
    let lines = overflowed.lines().count();
    if first.len() > budget || lines < 2 {
        return None;
    }
    let alone = last.render(indent + 4, indent + 4, tail);
    if lines >= 5 || alone.lines().count() >= lines {
        Some(format!("{prefix}{overflowed}"))
    } else {
        None
    }
}

fn flat_list(items: &[E]) -> String {
    items.iter().map(E::flat).collect::<Vec<_>>().join(", ")
}

/// `(args)` after a callee ending at column `at`.
fn render_args(args: &[E], indent: usize, at: usize, tail: usize) -> String {
    let flat = flat_list(args);
    let one_line = !flat.contains('\n')
        && flat.len() <= SMALL_WIDTH
        && at + flat.len() + 2 + tail <= MAX_WIDTH;
    if args.is_empty() || one_line {
        return format!("({flat})");
    }
    if let [only] = args {
        // rustfmt: a lone argument stays on the line whenever it fits there.
        let alone = only.render(indent, at + 1, tail + 1);
        if !alone.contains('\n') && at + 1 + alone.len() + 1 + tail <= MAX_WIDTH {
            return format!("({alone})");
        }
    }
    // A lone chain overflows when it is itself one line but for its last link.
    if let [E::Chain(root, links)] = args
        && let Some(rw) = overflow_last(root, links, indent, at + 1, tail + 1)
    {
        return format!("({rw})");
    }
    if let [only] = args
        && only.overflows()
    {
        return format!("({})", only.render(indent, at + 1, tail + 1));
    }
    let inner = indent + 4;
    let mut s = String::from("(\n");
    for arg in args {
        s.push_str(&spaces(inner));
        s.push_str(&arg.render(inner, inner, 1));
        s.push_str(",\n");
    }
    s.push_str(&spaces(indent));
    s.push(')');
    s
}

/// `[` items `]` over several lines: one item a line, or as many short ones as fit.
fn render_array(items: &[E], indent: usize) -> String {
    let inner = indent + 4;
    let flats: Vec<String> = items.iter().map(E::flat).collect();
    let mut s = String::from("[\n");
    if flats.iter().all(|f| f.len() <= SHORT_ITEM) {
        let mut line = String::new();
        for f in &flats {
            let piece = format!("{f},");
            if !line.is_empty() && inner + line.len() + 1 + piece.len() > MAX_WIDTH {
                s.push_str(&format!("{}{line}\n", spaces(inner)));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&piece);
        }
        s.push_str(&format!("{}{line}\n", spaces(inner)));
    } else {
        for item in items {
            let code = item.render(inner, inner, 1);
            s.push_str(&format!("{}{code},\n", spaces(inner)));
        }
    }
    s.push_str(&spaces(indent));
    s.push(']');
    s
}

// Types.

/// The `ColumnDef` method that renders `ty` (the database's spelling) exactly as the
/// database spells it back, as it follows `ColumnDef::new(..)`: `integer()`,
/// `string_len(255)`, `custom("<ty>")` for anything without an exact builder. `None`
/// for SQLite's typeless column. `enums` are PostgreSQL's enum types (their columns'
/// type is the type's name).
fn type_method(ty: &str, dialect: Dialect, enums: &BTreeSet<&str>) -> Option<String> {
    let ty = ty.trim();
    if ty.is_empty() {
        return None;
    }
    let exact = match dialect {
        Dialect::Postgres if enums.contains(ty) => None,
        Dialect::Postgres => postgres_type(ty),
        Dialect::MySql => mysql_type(ty),
        Dialect::Sqlite => sqlite_type(ty),
    };
    Some(exact.unwrap_or_else(|| format!("custom({ty:?})")))
}

/// `name(args)` split: `("numeric", ["10", "2"])`; `None` unless the arguments (if any)
/// close the spelling.
fn split_type(ty: &str) -> Option<(&str, Vec<u32>)> {
    let Some(open) = ty.find('(') else {
        return Some((ty, Vec::new()));
    };
    let inside = ty[open + 1..].strip_suffix(')')?;
    let args = inside
        .split(',')
        .map(|a| a.trim().parse().ok())
        .collect::<Option<Vec<u32>>>()?;
    Some((ty[..open].trim_end(), args))
}

/// PostgreSQL's `format_type` spellings, each read back from what sea-query renders.
fn postgres_type(ty: &str) -> Option<String> {
    let (base, args) = split_type(ty)?;
    let method = match (base, args.as_slice()) {
        ("smallint", []) => "small_integer()".to_owned(),
        ("integer", []) => "integer()".to_owned(),
        ("bigint", []) => "big_integer()".to_owned(),
        ("real", []) => "float()".to_owned(),
        ("double precision", []) => "double()".to_owned(),
        ("numeric", []) => "decimal()".to_owned(),
        ("numeric", [p, s]) => format!("decimal_len({p}, {s})"),
        ("character varying", []) => "string()".to_owned(),
        ("character varying", [n]) => format!("string_len({n})"),
        ("character", [n]) => format!("char_len({n})"),
        ("text", []) => "text()".to_owned(),
        ("boolean", []) => "boolean()".to_owned(),
        ("timestamp without time zone", []) => "timestamp()".to_owned(),
        ("timestamp with time zone", []) => "timestamp_with_time_zone()".to_owned(),
        ("time without time zone", []) => "time()".to_owned(),
        ("date", []) => "date()".to_owned(),
        ("bytea", []) => "blob()".to_owned(),
        ("json", []) => "json()".to_owned(),
        ("jsonb", []) => "json_binary()".to_owned(),
        ("uuid", []) => "uuid()".to_owned(),
        ("money", []) => "money()".to_owned(),
        ("inet", []) => "inet()".to_owned(),
        ("cidr", []) => "cidr()".to_owned(),
        ("macaddr", []) => "mac_address()".to_owned(),
        ("bit", [n]) => format!("bit(Some({n}))"),
        ("bit varying", [n]) => format!("varbit({n})"),
        _ => return None,
    };
    Some(method)
}

/// MySQL/MariaDB `COLUMN_TYPE`s: integer display widths are noise (MariaDB prints
/// `int(11)` for `int`), but `tinyint(1)` is what `bool` becomes.
fn mysql_type(ty: &str) -> Option<String> {
    let (ty, unsigned) = match ty.strip_suffix(" unsigned") {
        Some(t) => (t, true),
        None => (ty, false),
    };
    let (base, args) = split_type(ty)?;
    let method = match (base, args.as_slice(), unsigned) {
        ("tinyint", [1], false) => "boolean()".to_owned(),
        ("tinyint", [] | [_], false) => "tiny_integer()".to_owned(),
        ("tinyint", [] | [_], true) => "tiny_unsigned()".to_owned(),
        ("smallint", [] | [_], false) => "small_integer()".to_owned(),
        ("smallint", [] | [_], true) => "small_unsigned()".to_owned(),
        ("int", [] | [_], false) => "integer()".to_owned(),
        ("int", [] | [_], true) => "unsigned()".to_owned(),
        ("bigint", [] | [_], false) => "big_integer()".to_owned(),
        ("bigint", [] | [_], true) => "big_unsigned()".to_owned(),
        (_, _, true) => return None,
        ("varchar", [n], _) => format!("string_len({n})"),
        ("char", [n], _) => format!("char_len({n})"),
        ("text", [], _) => "text()".to_owned(),
        ("float", [], _) => "float()".to_owned(),
        ("double", [], _) => "double()".to_owned(),
        ("decimal", [p, s], _) => format!("decimal_len({p}, {s})"),
        ("datetime", [], _) => "date_time()".to_owned(),
        ("timestamp", [], _) => "timestamp()".to_owned(),
        ("time", [], _) => "time()".to_owned(),
        ("date", [], _) => "date()".to_owned(),
        ("year", [], _) => "year()".to_owned(),
        ("json", [], _) => "json()".to_owned(),
        ("blob", [], _) => "blob()".to_owned(),
        ("binary", [n], _) => format!("binary_len({n})"),
        ("varbinary", [n], _) => format!("var_binary({n})"),
        ("bit", [n], _) => format!("bit(Some({n}))"),
        _ => return None,
    };
    Some(method)
}

/// SQLite keeps the declared type verbatim: only the exact spellings sea-query writes.
fn sqlite_type(ty: &str) -> Option<String> {
    let method = match ty {
        "integer" => "integer()",
        "text" => "text()",
        "varchar" => "string()",
        "char" => "char()",
        "boolean" => "boolean()",
        "float" => "float()",
        "double" => "double()",
        "blob" => "blob()",
        "real_decimal" => "decimal()",
        "real_money" => "money()",
        "datetime_text" => "date_time()",
        "timestamp_text" => "timestamp()",
        "timestamp_with_timezone_text" => "timestamp_with_time_zone()",
        "time_text" => "time()",
        "date_text" => "date()",
        "json_text" => "json()",
        "jsonb_text" => "json_binary()",
        "uuid_text" => "uuid()",
        _ => {
            let (base, args) = split_type(ty)?;
            // `real(10, 2)`: sea-query writes the space; without it, it is verbatim.
            let spaced = !ty.contains(',') || ty.contains(", ");
            return match (base, args.as_slice()) {
                ("varchar", [n]) => Some(format!("string_len({n})")),
                ("char", [n]) => Some(format!("char_len({n})")),
                ("blob", [n]) => Some(format!("binary_len({n})")),
                ("varbinary_blob", [n]) => Some(format!("var_binary({n})")),
                ("real", [p, s]) if spaced => Some(format!("decimal_len({p}, {s})")),
                ("real_money", [p, s]) if spaced => Some(format!("money_len({p}, {s})")),
                _ => None,
            };
        }
    };
    Some(method.to_owned())
}

/// The argument of `.default(..)` that writes `default` back as the database read it.
/// PostgreSQL reads any expression back normalised and SQLite keeps a parenthesised
/// default's text without the parentheses, so `Expr::cust` (which sea-query wraps in
/// parentheses) is exact there. On MySQL a parenthesised default is an expression
/// default (8.0.13+) or an error (5.7): literals and `CURRENT_TIMESTAMP` go verbatim,
/// unparenthesised, and MySQL 8's unquoted text default of a string or date column is
/// quoted back.
fn default_expr(column: &Column, default: &str, dialect: Dialect) -> E {
    if dialect != Dialect::MySql {
        return E::call("Expr::cust", vec![E::str(default)]);
    }
    let lower = default.to_ascii_lowercase();
    let current = [
        "current_timestamp",
        "now(",
        "localtime",
        "current_date",
        "current_time",
    ]
    .iter()
    .any(|k| lower.starts_with(k));
    let literal = default.starts_with('\'')
        || default.starts_with("b'")
        || default.starts_with("x'")
        || default.parse::<f64>().is_ok();
    if current || literal {
        return E::call("Expr::custom_keyword", vec![E::str(default)]);
    }
    if default.contains('(') {
        return E::call("Expr::cust", vec![E::str(default)]);
    }
    let base = column.ty.split(['(', ' ']).next().unwrap_or("");
    let textual = [
        "char",
        "varchar",
        "enum",
        "set",
        "date",
        "datetime",
        "timestamp",
        "time",
        "year",
        "binary",
        "varbinary",
    ]
    .contains(&base);
    if textual {
        E::str(default)
    } else {
        E::call("Expr::custom_keyword", vec![E::str(default)])
    }
}

// Identifiers in raw SQL.

fn quote(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

fn quote_list(names: &[String], dialect: Dialect) -> String {
    let quoted: Vec<String> = names.iter().map(|n| quote(n, dialect)).collect();
    quoted.join(", ")
}

// Comments.

/// What a destructive change can lose, for its `// REVIEW:` line.
fn review(change: &Change) -> Option<String> {
    if !change.destructive() {
        return match change {
            Change::AddColumn { table, column }
                if !column.nullable && column.default.is_none() && !column.auto_increment =>
            {
                Some(format!(
                    "REVIEW: {table}.{} is NOT NULL without a default: adding it fails if {table} has rows",
                    column.name
                ))
            }
            _ => None,
        };
    }
    let text = match change {
        Change::DropTable { table } => format!("drops table {} and its data", table.name),
        Change::DropColumn { table, column } => {
            format!("drops column {table}.{} and its data", column.name)
        }
        Change::DropEnum { name, .. } => format!("drops enum type {name}"),
        Change::ChangeEnum { name, .. } => format!("changes the labels of enum type {name}"),
        Change::SetPrimaryKey { table, from, to } => format!(
            "changes the primary key of {table} from ({}) to ({}): fails if rows share a key",
            from.join(", "),
            to.join(", ")
        ),
        Change::AlterColumn { table, from, to } => {
            let mut what = Vec::new();
            if !from.ty.trim().eq_ignore_ascii_case(to.ty.trim()) {
                what.push(format!(
                    "changes the type of {table}.{} from {} to {}: values that do not convert fail or change",
                    to.name, from.ty, to.ty
                ));
            }
            if from.nullable && !to.nullable {
                what.push(format!(
                    "makes {table}.{} NOT NULL: fails if it holds NULLs",
                    to.name
                ));
            }
            what.join("; ")
        }
        other => other.describe(),
    };
    Some(format!("REVIEW: {text}"))
}

/// Per table, the columns a diff drops and those it adds: a rename looks like both.
type Renames = BTreeMap<String, (Vec<String>, Vec<String>)>;

fn rename_candidates(changes: &[Change]) -> Renames {
    let mut by_table: Renames = BTreeMap::new();
    for change in changes {
        match change {
            Change::DropColumn { table, column } => {
                by_table
                    .entry(table.clone())
                    .or_default()
                    .0
                    .push(column.name.clone());
            }
            Change::AddColumn { table, column } => {
                by_table
                    .entry(table.clone())
                    .or_default()
                    .1
                    .push(column.name.clone());
            }
            _ => {}
        }
    }
    by_table.retain(|_, (dropped, added)| !dropped.is_empty() && !added.is_empty());
    by_table
}

/// The loud comments for a dropped column its table also gains columns beside.
fn rename_hints(table: &str, dropped: &str, renames: &Renames) -> Vec<String> {
    let Some((_, added)) = renames.get(table) else {
        return Vec::new();
    };
    added
        .iter()
        .map(|new| {
            format!(
                "REVIEW: if {table}.{dropped} was renamed to {table}.{new}, replace this drop and \
                 add with a rename: manager.alter_table(Table::alter().table({table:?})\
                 .rename_column({dropped:?}, {new:?}).to_owned()).await?;"
            )
        })
        .collect()
}

// The statements.

struct Gen<'a> {
    from: &'a Schema,
    to: &'a Schema,
    dialect: Dialect,
    /// Writing a `down`: what PostgreSQL cannot take back (an enum's new labels) is
    /// left, with a comment.
    down: bool,
}

/// One SQLite table rebuilt: where in the change list, and why.
struct Rebuild<'a> {
    table: String,
    /// The index of the table's last change: the rebuild goes there.
    last: usize,
    changes: Vec<&'a Change>,
    reasons: Vec<String>,
}

impl<'a> Gen<'a> {
    fn enums(&self) -> BTreeSet<&str> {
        self.from
            .enums
            .keys()
            .chain(self.to.enums.keys())
            .map(String::as_str)
            .collect()
    }

    fn old_table(&self, name: &str) -> Result<&'a Table, Unexpressible> {
        self.from
            .tables
            .get(name)
            .ok_or_else(|| unexpressible(format!("table `{name}` is not in the schema")))
    }

    fn new_table(&self, name: &str) -> Result<&'a Table, Unexpressible> {
        self.to
            .tables
            .get(name)
            .ok_or_else(|| unexpressible(format!("table `{name}` is not in the schema")))
    }

    fn change(&self, change: &Change, out: &mut Out) -> Result<(), Unexpressible> {
        let d = self.dialect;
        match change {
            Change::CreateEnum { name, values } => {
                let values = if values.is_empty() {
                    E::atom("[] as [&str; 0]")
                } else {
                    E::Array(values.iter().map(|v| E::str(v)).collect())
                };
                let create = E::chain(E::call(
                    "sea_query::extension::postgres::Type::create",
                    vec![],
                ))
                .m("as_enum", vec![E::str(name)])
                .m("values", vec![values]);
                out.manager("create_type", create);
            }
            Change::AddEnumValues { name, values } => {
                let labels = self.to.enums.get(name).cloned().unwrap_or_default();
                for value in values {
                    let mut alter = E::chain(E::call(
                        "sea_query::extension::postgres::Type::alter",
                        vec![],
                    ))
                    .m("name", vec![E::str(name)])
                    .m("add_value", vec![E::str(value)]);
                    if let Some(at) = labels.iter().position(|l| l == value) {
                        let appended = labels[at + 1..].iter().all(|l| values.contains(l));
                        if !appended {
                            alter = match at.checked_sub(1) {
                                Some(prev) => alter.m("after", vec![E::str(&labels[prev])]),
                                None => alter.m("before", vec![E::str(&labels[1])]),
                            };
                        }
                    }
                    out.manager("alter_type", alter);
                }
            }
            Change::ChangeEnum { name, from, to } if self.down && is_subsequence(to, from) => {
                let gone: Vec<String> = from
                    .iter()
                    .filter(|l| !to.contains(l))
                    .map(|l| format!("'{l}'"))
                    .collect();
                out.comment(&format!(
                    "PostgreSQL cannot remove enum labels: {} stay in type {name} (harmless \
                     unless a row uses them; recreate the type by hand if they must go)",
                    gone.join(", ")
                ));
            }
            Change::ChangeEnum { name, .. } => {
                return Err(unexpressible(format!(
                    "removing or reordering labels of enum `{name}`"
                )));
            }
            Change::DropEnum { name, .. } => {
                let drop = E::chain(E::call(
                    "sea_query::extension::postgres::Type::drop",
                    vec![],
                ))
                .m("name", vec![E::str(name)]);
                out.manager("drop_type", drop);
            }
            Change::CreateTable { table } => self.create_table(table, &table.name, out)?,
            Change::DropTable { table } => {
                let drop =
                    E::chain(E::call("Table::drop", vec![])).m("table", vec![E::str(&table.name)]);
                out.manager("drop_table", drop);
            }
            Change::AddColumn { table, column } => {
                let def = self.column_def(table, column, false)?;
                out.manager("alter_table", alter(table).m("add_column", vec![def]));
            }
            Change::DropColumn { table, column } => {
                out.manager(
                    "alter_table",
                    alter(table).m("drop_column", vec![E::str(&column.name)]),
                );
            }
            Change::AlterColumn { table, from, to } => self.alter_column(table, from, to, out)?,
            Change::SetPrimaryKey { table, from, to } => {
                out.comment("sea-query has no builder that changes a primary key: raw SQL");
                let t = quote(table, d);
                let mut parts = Vec::new();
                if !from.is_empty() {
                    parts.push(match d {
                        Dialect::MySql => "DROP PRIMARY KEY".to_owned(),
                        _ => {
                            out.comment(&format!(
                                "REVIEW: assumes PostgreSQL's default name for {table}'s primary key constraint"
                            ));
                            format!("DROP CONSTRAINT {}", quote(&pkey_name(table), d))
                        }
                    });
                }
                if !to.is_empty() {
                    parts.push(format!("ADD PRIMARY KEY ({})", quote_list(to, d)));
                }
                out.raw(&format!("ALTER TABLE {t} {}", parts.join(", ")));
            }
            Change::RenameColumn { table, from, to } => {
                out.manager(
                    "alter_table",
                    alter(table).m("rename_column", vec![E::str(from), E::str(to)]),
                );
            }
            Change::AddIndex { table, index } => {
                // A unique index, whatever the other schema had (a UNIQUE constraint is
                // one): the diff compares indexes by their columns.
                let t = self.new_table(table)?;
                self.create_index(t, index, &t.name, out)?;
            }
            Change::DropIndex { table, index } => {
                // In a `down`, the index is the one `up` created: an index, whatever the
                // other schema had (a UNIQUE constraint is one).
                if index.constraint && !self.down && d == Dialect::Postgres {
                    out.manager(
                        "alter_table",
                        alter(table).m("drop_constraint", vec![E::str(&index.name)]),
                    );
                } else {
                    let drop = E::chain(E::call("Index::drop", vec![]))
                        .m("name", vec![E::str(&index.name)])
                        .m("table", vec![E::str(table)]);
                    out.manager("drop_index", drop);
                }
            }
            Change::AddForeignKey { table, foreign_key } => {
                out.manager("create_foreign_key", self.foreign_key(table, foreign_key));
            }
            Change::DropForeignKey { table, foreign_key } => {
                let drop = E::chain(E::call("ForeignKey::drop", vec![]))
                    .m("name", vec![E::str(&foreign_key.name)])
                    .m("table", vec![E::str(table)]);
                out.manager("drop_foreign_key", drop);
                if d == Dialect::MySql && self.implied_index(table, foreign_key)? {
                    out.comment(&format!(
                        "MySQL made an index of its own for {}: it outlives the foreign key",
                        foreign_key.name
                    ));
                    let drop = E::chain(E::call("Index::drop", vec![]))
                        .m("name", vec![E::str(&foreign_key.name)])
                        .m("table", vec![E::str(table)]);
                    out.manager("drop_index", drop);
                }
            }
        }
        Ok(())
    }

    /// Whether MySQL gave the foreign key an index of its own (named after it, hidden
    /// from the schema): when no index or primary key of the table starts with its
    /// columns.
    fn implied_index(&self, table: &str, fk: &ForeignKey) -> Result<bool, Unexpressible> {
        let t = self.old_table(table)?;
        let starts = |cols: &[String]| cols.starts_with(&fk.columns);
        Ok(!starts(&t.primary_key) && !t.indexes.iter().any(|i| starts(&i.columns)))
    }

    /// `Table::create()` for `table` (named `name`), then its indexes.
    fn create_table(&self, table: &Table, name: &str, out: &mut Out) -> Result<(), Unexpressible> {
        let mut create = E::chain(E::call("Table::create", vec![])).m("table", vec![E::str(name)]);
        for column in &table.columns {
            let inline_pk = table.primary_key.len() == 1 && table.primary_key[0] == column.name;
            create = create.m(
                "col",
                vec![self.column_def(&table.name, column, inline_pk)?],
            );
        }
        if table.primary_key.len() > 1 {
            let mut pk = E::chain(E::call("Index::create", vec![]));
            for c in &table.primary_key {
                pk = pk.m("col", vec![E::str(c)]);
            }
            create = create.m("primary_key", vec![pk]);
        } else if table.primary_key.len() == 1 && table.column(&table.primary_key[0]).is_none() {
            return Err(unexpressible(format!(
                "the primary key of `{}` is not one of its columns",
                table.name
            )));
        }
        for index in table.indexes.iter().filter(|i| self.inline(i)) {
            self.index_columns(table, index)?;
            let mut unique = E::chain(E::call("Index::create", vec![]));
            if !index.name.starts_with("sqlite_autoindex_") {
                unique = unique.m("name", vec![E::str(&index.name)]);
            }
            unique = unique.m("unique", vec![]);
            for c in &index.columns {
                unique = unique.m("col", vec![E::str(c)]);
            }
            create = create.m("index", vec![unique]);
        }
        for fk in &table.foreign_keys {
            create = create.m("foreign_key", vec![self.foreign_key(name, fk)]);
        }
        out.manager("create_table", create);
        for index in table.indexes.iter().filter(|i| !self.inline(i)) {
            self.create_index(table, index, name, out)?;
        }
        Ok(())
    }

    /// A unique constraint goes inside `CREATE TABLE` (PostgreSQL, SQLite).
    fn inline(&self, index: &Index) -> bool {
        index.constraint
            && index.unique
            && index.predicate.is_none()
            && self.dialect != Dialect::MySql
    }

    /// `ColumnDef::new(..)` with its type, nullability, default, auto-increment, and
    /// `.primary_key()` when `primary_key`.
    fn column_def(
        &self,
        table: &str,
        column: &Column,
        primary_key: bool,
    ) -> Result<E, Unexpressible> {
        let mut def = E::chain(E::call("ColumnDef::new", vec![E::str(&column.name)]));
        let ty = type_method(&column.ty, self.dialect, &self.enums());
        if column.auto_increment && self.dialect == Dialect::Postgres {
            let integer = ["small_integer()", "integer()", "big_integer()"];
            if !ty.as_deref().is_some_and(|t| integer.contains(&t)) {
                return Err(unexpressible(format!(
                    "auto-increment column `{table}.{}` of type `{}` (sea-query makes identity columns of integers only)",
                    column.name, column.ty
                )));
            }
        }
        if let Some(ty) = ty {
            def = def.link(method_link(&ty));
        }
        def = def.m(if column.nullable { "null" } else { "not_null" }, vec![]);
        if let Some(default) = &column.default {
            def = def.m("default", vec![default_expr(column, default, self.dialect)]);
        }
        if column.auto_increment {
            def = def.m("auto_increment", vec![]);
        }
        if primary_key {
            def = def.m("primary_key", vec![]);
        }
        Ok(def)
    }

    /// `Index::create()`'s column calls; an expression part has no builder.
    fn index_columns(&self, table: &Table, index: &Index) -> Result<Vec<E>, Unexpressible> {
        index
            .columns
            .iter()
            .map(|part| {
                if table.column(part).is_some() {
                    return Ok(E::str(part));
                }
                // MySQL's prefix index part: `title(10)`.
                if self.dialect == Dialect::MySql
                    && let Some((col, len)) = part.strip_suffix(')').and_then(|p| p.split_once('('))
                    && table.column(col).is_some()
                    && let Ok(len) = len.parse::<u32>()
                {
                    return Ok(E::atom(format!("({col:?}, {len})")));
                }
                Err(unexpressible(format!(
                    "index `{}` on `{}` over the expression `{part}`",
                    index.name, table.name
                )))
            })
            .collect()
    }

    /// `create_index` for `index` of `table`, on the table named `name`.
    fn create_index(
        &self,
        table: &Table,
        index: &Index,
        name: &str,
        out: &mut Out,
    ) -> Result<(), Unexpressible> {
        let columns = match self.index_columns(table, index) {
            Ok(columns) => columns,
            // PostgreSQL prints each part's expression: it goes back as written.
            Err(_) if self.dialect == Dialect::Postgres => {
                out.comment("an index over expressions: sea-query's builder takes columns only");
                let unique = if index.unique { "UNIQUE " } else { "" };
                let parts: Vec<String> = index
                    .columns
                    .iter()
                    .map(|p| match table.column(p) {
                        Some(_) => quote(p, self.dialect),
                        None => p.clone(),
                    })
                    .collect();
                let mut sql = format!(
                    "CREATE {unique}INDEX {} ON {} ({})",
                    quote(&index.name, self.dialect),
                    quote(name, self.dialect),
                    parts.join(", ")
                );
                if let Some(predicate) = &index.predicate {
                    sql.push_str(&format!(" WHERE {predicate}"));
                }
                out.raw(&sql);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // SQLite names the index of a UNIQUE constraint itself, and no other may take
        // such a name: a unique index does the same job.
        let index_name = if index.name.starts_with("sqlite_autoindex_") {
            format!("{}_{}_key", table.name, index.columns.join("_"))
        } else {
            index.name.clone()
        };
        let mut create = E::chain(E::call("Index::create", vec![]))
            .m("name", vec![E::str(&index_name)])
            .m("table", vec![E::str(name)]);
        for c in columns {
            create = create.m("col", vec![c]);
        }
        if index.unique {
            create = create.m("unique", vec![]);
        }
        if let Some(predicate) = &index.predicate {
            create = create.m(
                "and_where",
                vec![E::call("Expr::cust", vec![E::str(predicate)])],
            );
        }
        out.manager("create_index", create);
        Ok(())
    }

    /// `ForeignKey::create()` from `table`; a nameless key (SQLite's) has no
    /// `.name(..)`.
    fn foreign_key(&self, table: &str, fk: &ForeignKey) -> E {
        let mut create = E::chain(E::call("ForeignKey::create", vec![]));
        if !fk.name.is_empty() {
            create = create.m("name", vec![E::str(&fk.name)]);
        }
        let cols = |names: &[String]| match names {
            [one] => E::str(one),
            _ => E::atom(format!(
                "({})",
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        if (1..=3).contains(&fk.columns.len()) && fk.columns.len() == fk.ref_columns.len() {
            create = create
                .m("from", vec![E::str(table), cols(&fk.columns)])
                .m("to", vec![E::str(&fk.ref_table), cols(&fk.ref_columns)]);
        } else {
            create = create.m("from_tbl", vec![E::str(table)]);
            for c in &fk.columns {
                create = create.m("from_col", vec![E::str(c)]);
            }
            create = create.m("to_tbl", vec![E::str(&fk.ref_table)]);
            for c in &fk.ref_columns {
                create = create.m("to_col", vec![E::str(c)]);
            }
        }
        for (method, action) in [("on_delete", fk.on_delete), ("on_update", fk.on_update)] {
            if action != FkAction::NoAction {
                create = create.m(method, vec![E::atom(action_path(action))]);
            }
        }
        create
    }

    /// PostgreSQL: `modify_column` sets a type, nullability and a default, and can
    /// neither drop a default nor touch an identity: those are raw SQL. MySQL:
    /// `MODIFY COLUMN` restates the whole column.
    fn alter_column(
        &self,
        table: &str,
        from: &Column,
        to: &Column,
        out: &mut Out,
    ) -> Result<(), Unexpressible> {
        let d = self.dialect;
        if d == Dialect::MySql {
            let def = self.column_def(table, to, false)?;
            out.manager("alter_table", alter(table).m("modify_column", vec![def]));
            return Ok(());
        }
        let prefix = format!(
            "ALTER TABLE {} ALTER COLUMN {}",
            quote(table, d),
            quote(&to.name, d)
        );
        let mut dropped_default = false;
        if from.auto_increment && !to.auto_increment {
            out.comment(
                "sea-query's modify_column cannot drop an identity or a serial's default: raw SQL",
            );
            out.raw(&format!("{prefix} DROP IDENTITY IF EXISTS"));
            out.raw(&format!("{prefix} DROP DEFAULT"));
            dropped_default = true;
        }
        if from.default.is_some() && to.default.is_none() && !dropped_default {
            out.comment("sea-query's modify_column cannot drop a default: raw SQL");
            out.raw(&format!("{prefix} DROP DEFAULT"));
        }
        let retype = !from.ty.trim().eq_ignore_ascii_case(to.ty.trim());
        let renull = from.nullable != to.nullable;
        let redefault = to.default.is_some() && to.default != from.default;
        if retype || renull || redefault {
            let mut def = E::chain(E::call("ColumnDef::new", vec![E::str(&to.name)]));
            if retype && let Some(ty) = type_method(&to.ty, d, &self.enums()) {
                def = def.link(method_link(&ty));
            }
            if renull {
                def = def.m(if to.nullable { "null" } else { "not_null" }, vec![]);
            }
            if redefault && let Some(default) = &to.default {
                def = def.m("default", vec![default_expr(to, default, d)]);
            }
            out.manager("alter_table", alter(table).m("modify_column", vec![def]));
        }
        if !from.auto_increment && to.auto_increment {
            out.comment("sea-query's modify_column cannot add an identity: raw SQL");
            out.comment(&format!(
                "REVIEW: the identity starts at 1: restart it past {table}.{}'s existing values",
                to.name
            ));
            out.raw(&format!("{prefix} ADD GENERATED BY DEFAULT AS IDENTITY"));
        }
        Ok(())
    }

    // SQLite's rebuilds.

    /// The tables SQLite must rebuild, by name: those with a change its `ALTER TABLE`
    /// cannot make. Refuses a rebuild whose `DROP TABLE` would fire other tables'
    /// `ON DELETE` actions.
    fn rebuilds(
        &self,
        changes: &'a [Change],
    ) -> Result<BTreeMap<String, Rebuild<'a>>, Unexpressible> {
        let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for change in changes {
            if let Some(reason) = self.needs_rebuild(change)? {
                let table = change.table().unwrap_or_default().to_owned();
                reasons.entry(table).or_default().push(reason);
            }
        }
        let mut rebuilds = BTreeMap::new();
        for (table, reasons) in reasons {
            self.check_rebuild(&table)?;
            let mine: Vec<(usize, &Change)> = changes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.table() == Some(table.as_str()))
                .collect();
            let last = mine.last().map_or(0, |(i, _)| *i);
            rebuilds.insert(
                table.clone(),
                Rebuild {
                    table,
                    last,
                    changes: mine.into_iter().map(|(_, c)| c).collect(),
                    reasons,
                },
            );
        }
        Ok(rebuilds)
    }

    /// Why SQLite's `ALTER TABLE` cannot make `change` in place; `None` when it can.
    fn needs_rebuild(&self, change: &Change) -> Result<Option<String>, Unexpressible> {
        let reason = match change {
            Change::AlterColumn { to, .. } => Some(format!("change column {}", to.name)),
            Change::SetPrimaryKey { .. } => Some("change the primary key".to_owned()),
            Change::AddForeignKey { .. } => Some("add a foreign key".to_owned()),
            Change::DropForeignKey { .. } => Some("drop a foreign key".to_owned()),
            Change::DropIndex { index, .. } if index.constraint => Some(format!(
                "drop the UNIQUE constraint on ({})",
                index.columns.join(", ")
            )),
            Change::AddColumn { table, column } => {
                let t = self.new_table(table)?;
                let why = if t.primary_key.contains(&column.name) {
                    Some("add a primary key column")
                } else if column.auto_increment {
                    Some("add an auto-increment column")
                } else if !column.nullable && column.default.is_none() {
                    Some("add a NOT NULL column without a default")
                } else if column.default.as_deref().is_some_and(|d| !constant(d)) {
                    Some("add a column whose default is not a constant")
                } else {
                    None
                };
                why.map(|w| format!("{w} ({})", column.name))
            }
            Change::DropColumn { table, column } => {
                let f = self.old_table(table)?;
                let t = self.new_table(table)?;
                let name = &column.name;
                let keyed = f.primary_key.contains(name)
                    || f.foreign_keys.iter().any(|k| k.columns.contains(name))
                    || f.indexes
                        .iter()
                        .any(|i| i.constraint && i.columns.contains(name))
                    || t.indexes.iter().any(|i| {
                        i.predicate
                            .as_deref()
                            .is_some_and(|p| p.contains(name.as_str()))
                    });
                keyed.then(|| format!("drop a column a key or index uses ({name})"))
            }
            _ => None,
        };
        Ok(reason)
    }

    /// Refuses rebuilding `table` when dropping the old one would fire `ON DELETE`
    /// actions on the rows of the tables that reference it (or on the new table's own
    /// rows, whose self-reference names the old table until the rename).
    fn check_rebuild(&self, table: &str) -> Result<(), Unexpressible> {
        let acting = |fk: &ForeignKey| fk.ref_table == table && fk.on_delete != FkAction::NoAction;
        let mut referencing: Vec<String> = self
            .from
            .tables
            .values()
            .filter(|t| t.name != table)
            .flat_map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| acting(fk))
                    .map(|fk| format!("{} (ON DELETE {})", t.name, fk.on_delete.sql()))
            })
            .collect();
        let new = self.new_table(table)?;
        referencing.extend(
            new.foreign_keys
                .iter()
                .filter(|fk| acting(fk))
                .map(|fk| format!("{table} itself (ON DELETE {})", fk.on_delete.sql())),
        );
        if referencing.is_empty() {
            return Ok(());
        }
        Err(unexpressible(format!(
            "rebuilding SQLite table `{table}`: dropping the old table would fire the ON DELETE \
             actions of the tables that reference it: {}",
            referencing.join(", ")
        )))
    }

    /// The rebuild SQLite documents: the new table under a free name, the shared
    /// columns copied, the old table dropped, the new one renamed, its indexes made.
    fn rebuild(
        &self,
        rebuild: &Rebuild,
        renames: &Renames,
        out: &mut Out,
    ) -> Result<(), Unexpressible> {
        let table = rebuild.table.as_str();
        let old = self.old_table(table)?;
        let new = self.new_table(table)?;
        for change in &rebuild.changes {
            if let Some(review) = review(change) {
                out.comment(&review);
            }
            if let Change::DropColumn { column, .. } = change {
                for hint in rename_hints(table, &column.name, renames) {
                    out.comment(&hint);
                }
            }
        }
        let mut temp = format!("{table}_new");
        while self.from.tables.contains_key(&temp) || self.to.tables.contains_key(&temp) {
            temp.push('_');
        }
        out.comment(&format!(
            "SQLite's ALTER TABLE cannot {}: rebuild {table} \
             (https://www.sqlite.org/lang_altertable.html#otheralter)",
            rebuild.reasons.join(", ")
        ));
        self.create_table_only(new, &temp, out)?;
        let shared: Vec<&str> = new
            .columns
            .iter()
            .filter(|c| old.column(&c.name).is_some())
            .map(|c| c.name.as_str())
            .collect();
        if !shared.is_empty() {
            let names = || E::Array(shared.iter().map(|c| E::str(c)).collect());
            let select = E::chain(E::call("Query::select", vec![]))
                .m("columns", vec![names()])
                .m("from", vec![E::str(table)])
                .m("to_owned", vec![]);
            let insert = E::chain(E::call("Query::insert", vec![]))
                .m("into_table", vec![E::str(&temp)])
                .m("columns", vec![names()])
                .m("select_from", vec![select])
                .m("expect", vec![E::str("as many columns as values")]);
            out.manager("execute", insert);
        }
        out.manager(
            "drop_table",
            E::chain(E::call("Table::drop", vec![])).m("table", vec![E::str(table)]),
        );
        out.manager(
            "rename_table",
            E::chain(E::call("Table::rename", vec![]))
                .m("table", vec![E::str(&temp), E::str(table)]),
        );
        for index in new.indexes.iter().filter(|i| !self.inline(i)) {
            self.create_index(new, index, table, out)?;
        }
        Ok(())
    }

    /// `create_table` alone (the rebuild makes the indexes after the rename).
    fn create_table_only(
        &self,
        table: &Table,
        name: &str,
        out: &mut Out,
    ) -> Result<(), Unexpressible> {
        let mut bare = table.clone();
        bare.indexes.retain(|i| self.inline(i));
        for index in &bare.indexes {
            self.index_columns(table, index)?;
        }
        for index in table.indexes.iter().filter(|i| !self.inline(i)) {
            self.index_columns(table, index)?;
        }
        self.create_table(&bare, name, out)
    }
}

/// `Table::alter().table("<table>")`.
fn alter(table: &str) -> E {
    E::chain(E::call("Table::alter", vec![])).m("table", vec![E::str(table)])
}

/// `"string_len(255)"` as a link of a chain.
fn method_link(method: &str) -> Link {
    let (name, args) = method.split_once('(').unwrap_or((method, ")"));
    let args = args.strip_suffix(')').unwrap_or(args);
    Link {
        name: name.to_owned(),
        args: Some(if args.is_empty() {
            Vec::new()
        } else {
            vec![E::atom(args)]
        }),
        question: false,
    }
}

fn action_path(action: FkAction) -> &'static str {
    match action {
        FkAction::NoAction => "ForeignKeyAction::NoAction",
        FkAction::Restrict => "ForeignKeyAction::Restrict",
        FkAction::Cascade => "ForeignKeyAction::Cascade",
        FkAction::SetNull => "ForeignKeyAction::SetNull",
        FkAction::SetDefault => "ForeignKeyAction::SetDefault",
    }
}

/// PostgreSQL's name for a table's primary key constraint: `<table>_pkey`, the table's
/// part cut to fit 63 bytes.
fn pkey_name(table: &str) -> String {
    let mut base = table.to_owned();
    while base.len() + "_pkey".len() > 63 {
        base.pop();
    }
    format!("{base}_pkey")
}

/// Whether SQLite takes `default` as a constant (`ADD COLUMN` takes no other): a
/// string, a number, a blob, `NULL`, `TRUE`/`FALSE`.
fn constant(default: &str) -> bool {
    let d = default.trim();
    let lower = d.to_ascii_lowercase();
    let unsigned = d.trim_start_matches(['-', '+']);
    (d.starts_with('\'') && d.ends_with('\'') && d.len() >= 2)
        || ((lower.starts_with("x'")) && d.ends_with('\''))
        || ["null", "true", "false"].contains(&lower.as_str())
        || (!unsigned.is_empty()
            && unsigned.parse::<f64>().is_ok()
            && !unsigned.contains(char::is_alphabetic))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Builders. A column is `"name type"`, `"name type null"` for a nullable one, with
    // ` default <text>` at the end for a default.

    fn column(spec: &str) -> Column {
        let (spec, default) = match spec.split_once(" default ") {
            Some((s, d)) => (s, Some(d.to_owned())),
            None => (spec, None),
        };
        let (name, ty) = spec.split_once(' ').unwrap();
        let (ty, nullable) = match ty.strip_suffix(" null") {
            Some(ty) => (ty, true),
            None => (ty, false),
        };
        Column {
            name: name.to_owned(),
            ty: ty.to_owned(),
            nullable,
            default,
            auto_increment: false,
        }
    }

    fn serial(name: &str, ty: &str) -> Column {
        Column {
            auto_increment: true,
            ..column(&format!("{name} {ty}"))
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn table(name: &str, columns: Vec<Column>, pk: &[&str]) -> Table {
        Table {
            name: name.to_owned(),
            columns,
            primary_key: strings(pk),
            indexes: vec![],
            foreign_keys: vec![],
        }
    }

    fn index(name: &str, columns: &[&str], unique: bool, constraint: bool) -> Index {
        Index {
            name: name.to_owned(),
            columns: strings(columns),
            unique,
            constraint,
            predicate: None,
        }
    }

    fn fk(name: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
        ForeignKey {
            name: name.to_owned(),
            columns: strings(columns),
            ref_table: ref_table.to_owned(),
            ref_columns: strings(ref_columns),
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
            enums: BTreeMap::new(),
        }
    }

    /// The body lines without their 8-space indent.
    fn lines(body: &str) -> String {
        body.lines()
            .map(|l| l.strip_prefix("        ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn up(from: &Schema, to: &Schema, dialect: Dialect) -> String {
        lines(&generate(from, to, dialect, &[]).unwrap().up)
    }

    fn down(from: &Schema, to: &Schema, dialect: Dialect) -> String {
        lines(&generate(from, to, dialect, &[]).unwrap().down)
    }

    fn author(ty_id: &str, ty_name: &str) -> Table {
        table(
            "author",
            vec![serial("id", ty_id), column(&format!("name {ty_name}"))],
            &["id"],
        )
    }

    /// A blog: `author`, and `post` referencing it, with an enum on PostgreSQL.
    fn blog(d: Dialect) -> Schema {
        let (int, name, title, status) = match d {
            Dialect::Postgres => (
                "integer",
                "character varying(255)",
                "character varying(100)",
                "status",
            ),
            Dialect::MySql => (
                "int(11)",
                "varchar(255)",
                "varchar(100)",
                "enum('draft','published')",
            ),
            Dialect::Sqlite => ("integer", "varchar(255)", "varchar(100)", "varchar"),
        };
        let mut post = table(
            "post",
            vec![
                serial("id", int),
                column(&format!("author_id {int}")),
                column(&format!("title {title}")),
                column("body text"),
                column(&format!("status {status}")),
            ],
            &["id"],
        );
        post.foreign_keys
            .push(fk("fk_post_author", &["author_id"], "author", &["id"]));
        post.indexes
            .push(index("idx_post_author", &["author_id"], false, false));
        let mut s = schema(vec![author(int, name), post]);
        if d == Dialect::Postgres {
            s.enums
                .insert("status".into(), strings(&["draft", "published"]));
        }
        s
    }

    /// Changes to `post`: `title` widened and nullable, `body` dropped, `subtitle`
    /// added, a unique index on `title`.
    fn edited(d: Dialect) -> Schema {
        let mut s = blog(d);
        let title = match d {
            Dialect::Postgres => "character varying(200)",
            Dialect::MySql | Dialect::Sqlite => "varchar(200)",
        };
        let post = s.tables.get_mut("post").unwrap();
        post.columns.retain(|c| c.name != "body");
        post.columns[2] = column(&format!("title {title} null"));
        post.columns.push(column("subtitle text null"));
        post.indexes
            .push(index("idx_post_title", &["title"], true, false));
        s
    }

    /// Pairs of schemas each dialect's generated code is checked with.
    fn scenarios() -> Vec<(&'static str, Dialect, Schema, Schema)> {
        let mut out = Vec::new();
        for (tag, d) in [
            ("pg", Dialect::Postgres),
            ("my", Dialect::MySql),
            ("lite", Dialect::Sqlite),
        ] {
            let name =
                |s: &str| -> &'static str { Box::leak(format!("{tag}_{s}").into_boxed_str()) };
            out.push((name("create"), d, Schema::default(), blog(d)));
            out.push((name("edit"), d, blog(d), edited(d)));
            // A nullable column added on its own: SQLite's ALTER TABLE does it.
            let mut added = blog(d);
            let post = added.tables.get_mut("post").unwrap();
            post.columns.push(column("views integer null default 0"));
            out.push((name("add_column"), d, blog(d), added));
            // A composite primary key, a unique constraint and a cascading key.
            let mut tagged = blog(d);
            let int = if d == Dialect::MySql {
                "int(11)"
            } else {
                "integer"
            };
            let mut tag_table = table(
                "post_tag",
                vec![column(&format!("post_id {int}")), column("tag varchar(50)")],
                &["post_id", "tag"],
            );
            if d == Dialect::Postgres {
                tag_table.columns[1].ty = "character varying(50)".into();
            }
            let mut cascade = fk("fk_post_tag_post", &["post_id"], "post", &["id"]);
            cascade.on_delete = FkAction::Cascade;
            tag_table.foreign_keys.push(cascade);
            tagged.tables.insert("post_tag".into(), tag_table);
            let author = tagged.tables.get_mut("author").unwrap();
            let unique_name = match d {
                Dialect::Sqlite => "sqlite_autoindex_author_1",
                _ => "author_name_key",
            };
            author
                .indexes
                .push(index(unique_name, &["name"], true, d != Dialect::MySql));
            out.push((name("tags"), d, blog(d), tagged.clone()));
            // Defaults set and dropped, an auto-increment dropped, a new primary key.
            let mut keyed = blog(d);
            let author = keyed.tables.get_mut("author").unwrap();
            author.columns[0].auto_increment = false;
            author.columns[1].default = Some(match d {
                Dialect::Postgres => "'anonymous'::character varying".into(),
                Dialect::MySql | Dialect::Sqlite => "'anonymous'".into(),
            });
            let post = keyed.tables.get_mut("post").unwrap();
            post.primary_key = strings(&["id", "author_id"]);
            let mut from = blog(d);
            from.tables.get_mut("post").unwrap().columns[3].default = Some("'x'".into());
            if d != Dialect::Sqlite {
                out.push((name("keys"), d, from, keyed));
            }
            // A column whose default is not a constant, and a unique constraint dropped.
            let mut stamped = tagged.clone();
            stamped.tables.get_mut("author").unwrap().indexes.clear();
            let stamp = match d {
                Dialect::Postgres => "created_at timestamp with time zone default now()",
                Dialect::MySql => "created_at timestamp default CURRENT_TIMESTAMP",
                Dialect::Sqlite => {
                    "created_at timestamp_with_timezone_text default CURRENT_TIMESTAMP"
                }
            };
            stamped
                .tables
                .get_mut("post_tag")
                .unwrap()
                .columns
                .push(column(stamp));
            if d != Dialect::Sqlite {
                out.push((name("stamp"), d, tagged, stamped));
            }
        }
        // SQLite: a NO ACTION child (the cascading one is refused, see the tests).
        let mut tagged = blog(Dialect::Sqlite);
        let mut tag_table = table(
            "post_tag",
            vec![column("post_id integer"), column("tag varchar(50)")],
            &["post_id", "tag"],
        );
        tag_table
            .foreign_keys
            .push(fk("", &["post_id"], "author", &["id"]));
        tag_table
            .indexes
            .push(index("sqlite_autoindex_post_tag_1", &["tag"], true, true));
        tagged.tables.insert("post_tag".into(), tag_table);
        let mut stamped = tagged.clone();
        let tags = stamped.tables.get_mut("post_tag").unwrap();
        tags.indexes.clear();
        tags.columns.push(column(
            "created_at timestamp_with_timezone_text default CURRENT_TIMESTAMP",
        ));
        out.push(("lite_stamp", Dialect::Sqlite, tagged, stamped));
        // PostgreSQL: an index over an expression, a partial one, a long default.
        let mut indexed = blog(Dialect::Postgres);
        let author = indexed.tables.get_mut("author").unwrap();
        author.indexes.push(index(
            "author_lower_name",
            &["lower((name)::text)"],
            true,
            false,
        ));
        let mut partial = index("author_named", &["name"], false, false);
        partial.predicate = Some("(name IS NOT NULL)".into());
        author.indexes.push(partial);
        author.columns.push(column(
            "bio text default 'Somebody who writes posts, comments on them and has opinions'::text",
        ));
        out.push((
            "pg_indexes",
            Dialect::Postgres,
            blog(Dialect::Postgres),
            indexed,
        ));
        out
    }

    /// Writes every scenario as a migration module of the scratch crate in
    /// `$CODEGEN_CHECK_DIR` (which compiles them against sea-orm-migration and replays
    /// the SQLite ones): `CODEGEN_CHECK_DIR=/tmp/codegen-check cargo test --lib
    /// model::codegen::tests::write_check_crate -- --ignored`.
    #[test]
    #[ignore]
    fn write_check_crate() {
        let Ok(dir) = std::env::var("CODEGEN_CHECK_DIR") else {
            return;
        };
        let src = std::path::Path::new(&dir).join("src");
        std::fs::create_dir_all(&src).unwrap();
        let mut mods = String::new();
        let mut sqlite = String::new();
        for (name, d, from, to) in scenarios() {
            let Ok(g) = generate(&from, &to, d, &[]) else {
                continue;
            };
            let setup = generate(&Schema::default(), &from, d, &[]).unwrap();
            let module = |up: &str, down: &str, id: &str| {
                format!(
                    "use sea_orm_migration::prelude::*;\n\npub struct Migration;\n\n\
                     impl MigrationName for Migration {{\n    fn name(&self) -> &str {{\n        \
                     \"{id}\"\n    }}\n}}\n\n#[async_trait::async_trait]\n\
                     impl MigrationTrait for Migration {{\n    \
                     async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {{\n{up}\n    }}\n\n    \
                     async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {{\n{down}\n    }}\n}}\n"
                )
            };
            std::fs::write(src.join(format!("{name}.rs")), module(&g.up, &g.down, name)).unwrap();
            std::fs::write(
                src.join(format!("{name}_setup.rs")),
                module(&setup.up, &setup.down, &format!("{name}_setup")),
            )
            .unwrap();
            mods.push_str(&format!("mod {name};\nmod {name}_setup;\n"));
            if d == Dialect::Sqlite {
                sqlite.push_str(&format!(
                    "    replay(\"{name}\", vec![Box::new({name}_setup::Migration), Box::new({name}::Migration)]).await;\n"
                ));
            }
        }
        let main = format!(
            "{mods}\nuse sea_orm_migration::prelude::*;\nuse sea_orm_migration::sea_orm::Database;\n\n\
             #[tokio::main(flavor = \"current_thread\")]\nasync fn main() {{\n{sqlite}}}\n\n\
             async fn replay(name: &str, migrations: Vec<Box<dyn MigrationTrait>>) {{\n    \
             let db = Database::connect(\"sqlite::memory:\").await.unwrap();\n    \
             let manager = SchemaManager::new(&db);\n    \
             for m in &migrations {{\n        m.up(&manager).await.unwrap_or_else(|e| panic!(\"{{name}} up: {{e}}\"));\n    }}\n    \
             migrations[1].down(&manager).await.unwrap_or_else(|e| panic!(\"{{name}} down: {{e}}\"));\n    \
             migrations[1].up(&manager).await.unwrap_or_else(|e| panic!(\"{{name}} up again: {{e}}\"));\n    \
             println!(\"{{name}}: replayed\");\n}}\n"
        );
        std::fs::write(src.join("main.rs"), main).unwrap();
    }
    fn scenario(name: &str) -> (&'static str, Dialect, Schema, Schema) {
        scenarios().into_iter().find(|s| s.0 == name).unwrap()
    }

    /// PostgreSQL: a composite key, a cascading foreign key; a unique constraint on an existing table (as a unique index).
    #[test]
    fn postgres_creates_a_table_with_a_composite_key_and_a_cascading_foreign_key() {
        let (_, d, from, to) = scenario("pg_tags");
        assert_eq!(
            up(&from, &to, d),
            r#"manager
    .create_table(
        Table::create()
            .table("post_tag")
            .col(ColumnDef::new("post_id").integer().not_null())
            .col(ColumnDef::new("tag").string_len(50).not_null())
            .primary_key(Index::create().col("post_id").col("tag"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_post_tag_post")
                    .from("post_tag", "post_id")
                    .to("post", "id")
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
    )
    .await?;
manager
    .create_index(
        Index::create()
            .name("author_name_key")
            .table("author")
            .col("name")
            .unique()
            .to_owned(),
    )
    .await?;
Ok(())"#
        );
    }

    /// Its reverse: the unique index `up` made dropped as an index, the table with a
    /// REVIEW; an existing UNIQUE constraint is dropped as a constraint.
    #[test]
    fn postgres_drops_the_table_and_the_unique_constraint_back() {
        let (_, d, from, to) = scenario("pg_tags");
        assert_eq!(
            down(&from, &to, d),
            r#"manager
    .drop_index(
        Index::drop()
            .name("author_name_key")
            .table("author")
            .to_owned(),
    )
    .await?;
// REVIEW: drops table post_tag and its data
manager
    .drop_table(Table::drop().table("post_tag").to_owned())
    .await?;
Ok(())"#
        );
        let up_drops_it = lines(&body(&to, &from, d, false, &[], &[]).unwrap());
        assert!(
            up_drops_it.contains(".drop_constraint(\"author_name_key\")"),
            "{up_drops_it}"
        );
    }

    /// MySQL: a nullable column with a literal default, written unparenthesised.
    #[test]
    fn mysql_adds_a_column() {
        let (_, d, from, to) = scenario("my_add_column");
        assert_eq!(
            up(&from, &to, d),
            r#"manager
    .alter_table(
        Table::alter()
            .table("post")
            .add_column(
                ColumnDef::new("views")
                    .custom("integer")
                    .null()
                    .default(Expr::custom_keyword("0")),
            )
            .to_owned(),
    )
    .await?;
Ok(())"#
        );
    }

    /// PostgreSQL: a type widened, a column dropped (REVIEW, and the rename hint), a unique index.
    #[test]
    fn postgres_alters_adds_and_drops_columns_and_adds_a_unique_index() {
        let (_, d, from, to) = scenario("pg_edit");
        assert_eq!(
            up(&from, &to, d),
            r#"manager
    .alter_table(
        Table::alter()
            .table("post")
            .add_column(ColumnDef::new("subtitle").text().null())
            .to_owned(),
    )
    .await?;
// REVIEW: changes the type of post.title from character varying(100) to character varying(200): values that do not convert fail or change
manager
    .alter_table(
        Table::alter()
            .table("post")
            .modify_column(ColumnDef::new("title").string_len(200).null())
            .to_owned(),
    )
    .await?;
manager
    .create_index(
        Index::create()
            .name("idx_post_title")
            .table("post")
            .col("title")
            .unique()
            .to_owned(),
    )
    .await?;
// REVIEW: drops column post.body and its data
// REVIEW: if post.body was renamed to post.subtitle, replace this drop and add with a rename: manager.alter_table(Table::alter().table("post").rename_column("body", "subtitle").to_owned()).await?;
manager
    .alter_table(Table::alter().table("post").drop_column("body").to_owned())
    .await?;
Ok(())"#
        );
    }

    /// Its reverse: the index dropped, the NOT NULL column's warning.
    #[test]
    fn postgres_reverse_drops_the_unique_index_first() {
        let (_, d, from, to) = scenario("pg_edit");
        assert_eq!(
            down(&from, &to, d),
            r#"manager
    .drop_index(
        Index::drop()
            .name("idx_post_title")
            .table("post")
            .to_owned(),
    )
    .await?;
// REVIEW: post.body is NOT NULL without a default: adding it fails if post has rows
manager
    .alter_table(
        Table::alter()
            .table("post")
            .add_column(ColumnDef::new("body").text().not_null())
            .to_owned(),
    )
    .await?;
// REVIEW: changes the type of post.title from character varying(200) to character varying(100): values that do not convert fail or change; makes post.title NOT NULL: fails if it holds NULLs
manager
    .alter_table(
        Table::alter()
            .table("post")
            .modify_column(ColumnDef::new("title").string_len(100).not_null())
            .to_owned(),
    )
    .await?;
// REVIEW: drops column post.subtitle and its data
// REVIEW: if post.subtitle was renamed to post.body, replace this drop and add with a rename: manager.alter_table(Table::alter().table("post").rename_column("subtitle", "body").to_owned()).await?;
manager
    .alter_table(
        Table::alter()
            .table("post")
            .drop_column("subtitle")
            .to_owned(),
    )
    .await?;
Ok(())"#
        );
    }

    /// SQLite: a changed column means one rebuild of the table, indexes made after.
    #[test]
    fn sqlite_rebuilds_a_table_whose_column_changes() {
        let (_, d, from, to) = scenario("lite_edit");
        assert_eq!(
            up(&from, &to, d),
            r#"// REVIEW: changes the type of post.title from varchar(100) to varchar(200): values that do not convert fail or change
// REVIEW: drops column post.body and its data
// REVIEW: if post.body was renamed to post.subtitle, replace this drop and add with a rename: manager.alter_table(Table::alter().table("post").rename_column("body", "subtitle").to_owned()).await?;
// SQLite's ALTER TABLE cannot change column title: rebuild post (https://www.sqlite.org/lang_altertable.html#otheralter)
manager
    .create_table(
        Table::create()
            .table("post_new")
            .col(
                ColumnDef::new("id")
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new("author_id").integer().not_null())
            .col(ColumnDef::new("title").string_len(200).null())
            .col(ColumnDef::new("status").string().not_null())
            .col(ColumnDef::new("subtitle").text().null())
            .foreign_key(
                ForeignKey::create()
                    .name("fk_post_author")
                    .from("post_new", "author_id")
                    .to("author", "id"),
            )
            .to_owned(),
    )
    .await?;
manager
    .execute(
        Query::insert()
            .into_table("post_new")
            .columns(["id", "author_id", "title", "status"])
            .select_from(
                Query::select()
                    .columns(["id", "author_id", "title", "status"])
                    .from("post")
                    .to_owned(),
            )
            .expect("as many columns as values")
            .to_owned(),
    )
    .await?;
manager
    .drop_table(Table::drop().table("post").to_owned())
    .await?;
manager
    .rename_table(Table::rename().table("post_new", "post").to_owned())
    .await?;
manager
    .create_index(
        Index::create()
            .name("idx_post_author")
            .table("post")
            .col("author_id")
            .to_owned(),
    )
    .await?;
manager
    .create_index(
        Index::create()
            .name("idx_post_title")
            .table("post")
            .col("title")
            .unique()
            .to_owned(),
    )
    .await?;
Ok(())"#
        );
    }

    #[test]
    fn sqlite_refuses_to_rebuild_a_table_cascading_keys_reference() {
        let (_, d, from, mut to) = scenario("lite_tags");
        let mut from = from;
        // `post_tag` (ON DELETE CASCADE → post) exists on both sides; `post` changes.
        from.tables
            .insert("post_tag".into(), to.tables["post_tag"].clone());
        to.tables.get_mut("post").unwrap().columns[2].ty = "text".into();
        let err = generate(&from, &to, d, &[]).unwrap_err();
        assert_eq!(
            err.what,
            "rebuilding SQLite table `post`: dropping the old table would fire the ON DELETE \
             actions of the tables that reference it: post_tag (ON DELETE CASCADE)"
        );
    }

    #[test]
    fn sqlite_adds_a_nullable_column_in_place() {
        let (_, d, from, to) = scenario("lite_add_column");
        assert_eq!(
            up(&from, &to, d),
            r#"manager
    .alter_table(
        Table::alter()
            .table("post")
            .add_column(
                ColumnDef::new("views")
                    .integer()
                    .null()
                    .default(Expr::cust("0")),
            )
            .to_owned(),
    )
    .await?;
Ok(())"#
        );
    }

    #[test]
    fn postgres_enums_are_created_and_gain_labels_in_place() {
        let d = Dialect::Postgres;
        let mut from = Schema::default();
        from.enums.insert("mood".into(), strings(&["sad", "happy"]));
        let mut to = from.clone();
        to.enums
            .insert("mood".into(), strings(&["sad", "ok", "happy", "ecstatic"]));
        to.enums
            .insert("status".into(), strings(&["draft", "published"]));
        assert_eq!(
            lines(&body(&from, &to, d, false, &[], &[]).unwrap()),
            r#"manager
    .alter_type(
        sea_query::extension::postgres::Type::alter()
            .name("mood")
            .add_value("ok")
            .after("sad")
            .to_owned(),
    )
    .await?;
manager
    .alter_type(
        sea_query::extension::postgres::Type::alter()
            .name("mood")
            .add_value("ecstatic")
            .to_owned(),
    )
    .await?;
manager
    .create_type(
        sea_query::extension::postgres::Type::create()
            .as_enum("status")
            .values(["draft", "published"])
            .to_owned(),
    )
    .await?;
Ok(())"#
        );
        // A down cannot take the labels back: it says so and leaves them.
        let down = generate(&from, &to, d, &[]).unwrap().down;
        assert!(
            down.contains(
                "// PostgreSQL cannot remove enum labels: 'ok', 'ecstatic' stay in type mood"
            ),
            "{down}"
        );
        assert!(!down.contains("alter_type"), "{down}");
        // Entities that drop a label ask for what no ALTER TYPE does.
        assert_eq!(
            lines(
                &body(&to, &from, Dialect::Postgres, false, &[], &[])
                    .unwrap_err()
                    .what
            ),
            "removing or reordering labels of enum `mood`"
        );
    }

    /// A column the entities say was renamed is renamed first in `up` and back last in
    /// `down`, and its other changes compare under the new name; a rename that does not
    /// apply (done already) is left out.
    #[test]
    fn a_declared_rename_is_a_rename_not_a_drop_and_an_add() {
        let d = Dialect::Postgres;
        let from = blog(d);
        let mut to = blog(d);
        let post = to.tables.get_mut("post").unwrap();
        post.columns[2].name = "headline".into();
        post.columns[2].nullable = true;
        let rename = Rename {
            table: "post".into(),
            from: "title".into(),
            to: "headline".into(),
        };
        let g = generate(&from, &to, d, std::slice::from_ref(&rename)).unwrap();
        let up = lines(&g.up);
        assert!(
            up.starts_with("manager\n    .alter_table(\n        Table::alter()\n            .table(\"post\")\n            .rename_column(\"title\", \"headline\")"),
            "{up}"
        );
        assert!(
            up.contains(".modify_column(") || up.contains("DROP NOT NULL"),
            "{up}"
        );
        assert!(!up.contains("drop_column"), "{up}");
        let down = lines(&g.down);
        assert!(
            down.trim_end_matches("Ok(())").trim_end().ends_with(
                ".rename_column(\"headline\", \"title\")\n            .to_owned(),\n    )\n    .await?;"
            ),
            "{down}"
        );
        // Already renamed: nothing to do.
        let g = generate(&to, &to, d, &[rename]).unwrap();
        assert_eq!(g.up, "        Ok(())");
    }

    #[test]
    fn no_change_is_just_ok() {
        let g = generate(
            &blog(Dialect::MySql),
            &blog(Dialect::MySql),
            Dialect::MySql,
            &[],
        )
        .unwrap();
        assert_eq!(g.up, "        Ok(())");
        assert_eq!(g.down, "        Ok(())");
    }

    #[test]
    fn every_scenario_generates_both_ways() {
        for (name, d, from, to) in scenarios() {
            let g = generate(&from, &to, d, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            for body in [g.up, g.down] {
                assert!(body.ends_with("\n        Ok(())"), "{name}");
                assert!(body.lines().all(|l| l.starts_with("        ")), "{name}");
            }
        }
    }

    #[test]
    fn types_map_to_the_builder_that_renders_them() {
        let enums: BTreeSet<&str> = ["status"].into_iter().collect();
        let cases = [
            (Dialect::Postgres, "integer", "integer()"),
            (Dialect::Postgres, "bigint", "big_integer()"),
            (
                Dialect::Postgres,
                "character varying(255)",
                "string_len(255)",
            ),
            (Dialect::Postgres, "character varying", "string()"),
            (Dialect::Postgres, "character(3)", "char_len(3)"),
            (Dialect::Postgres, "numeric(10,2)", "decimal_len(10, 2)"),
            (
                Dialect::Postgres,
                "timestamp with time zone",
                "timestamp_with_time_zone()",
            ),
            (
                Dialect::Postgres,
                "timestamp without time zone",
                "timestamp()",
            ),
            (
                Dialect::Postgres,
                "timestamp(3) without time zone",
                r#"custom("timestamp(3) without time zone")"#,
            ),
            (Dialect::Postgres, "boolean", "boolean()"),
            (Dialect::Postgres, "jsonb", "json_binary()"),
            (Dialect::Postgres, "bytea", "blob()"),
            (Dialect::Postgres, "integer[]", r#"custom("integer[]")"#),
            (Dialect::Postgres, "status", r#"custom("status")"#),
            (Dialect::MySql, "int(11)", "integer()"),
            (Dialect::MySql, "int", "integer()"),
            (Dialect::MySql, "int(10) unsigned", "unsigned()"),
            (Dialect::MySql, "tinyint(1)", "boolean()"),
            (Dialect::MySql, "tinyint(4)", "tiny_integer()"),
            (Dialect::MySql, "bigint(20)", "big_integer()"),
            (Dialect::MySql, "varchar(255)", "string_len(255)"),
            (Dialect::MySql, "decimal(10,2)", "decimal_len(10, 2)"),
            (Dialect::MySql, "datetime", "date_time()"),
            (Dialect::MySql, "timestamp", "timestamp()"),
            (Dialect::MySql, "longtext", r#"custom("longtext")"#),
            (
                Dialect::MySql,
                "enum('a','b')",
                r#"custom("enum('a','b')")"#,
            ),
            (
                Dialect::MySql,
                "int(11) zerofill",
                r#"custom("int(11) zerofill")"#,
            ),
            (Dialect::Sqlite, "integer", "integer()"),
            (Dialect::Sqlite, "bigint", r#"custom("bigint")"#),
            (Dialect::Sqlite, "varchar", "string()"),
            (Dialect::Sqlite, "varchar(255)", "string_len(255)"),
            (Dialect::Sqlite, "text", "text()"),
            (Dialect::Sqlite, "boolean", "boolean()"),
            (
                Dialect::Sqlite,
                "timestamp_with_timezone_text",
                "timestamp_with_time_zone()",
            ),
            (Dialect::Sqlite, "real(10, 2)", "decimal_len(10, 2)"),
            (Dialect::Sqlite, "real(10,2)", r#"custom("real(10,2)")"#),
            (Dialect::Sqlite, "json_text", "json()"),
        ];
        for (d, ty, method) in cases {
            assert_eq!(
                type_method(ty, d, &enums).as_deref(),
                Some(method),
                "{d:?} {ty}"
            );
        }
        assert_eq!(type_method("", Dialect::Sqlite, &enums), None);
    }

    #[test]
    fn mysql_defaults_are_written_back_unparenthesised() {
        let d = |ty: &str, default: &str| {
            default_expr(&column(&format!("c {ty}")), default, Dialect::MySql).flat()
        };
        assert_eq!(
            d("varchar(10)", "'draft'"),
            r#"Expr::custom_keyword("'draft'")"#
        );
        assert_eq!(d("varchar(10)", "draft"), r#""draft""#);
        assert_eq!(d("int(11)", "0"), r#"Expr::custom_keyword("0")"#);
        assert_eq!(
            d("timestamp", "CURRENT_TIMESTAMP"),
            r#"Expr::custom_keyword("CURRENT_TIMESTAMP")"#
        );
        assert_eq!(d("char(36)", "uuid()"), r#"Expr::cust("uuid()")"#);
    }

    #[test]
    fn sqlite_constants_are_what_add_column_takes() {
        for c in ["'x'", "0", "-1.5", "NULL", "true", "X'00'"] {
            assert!(constant(c), "{c}");
        }
        for c in ["CURRENT_TIMESTAMP", "datetime('now')", "(1 + 1)"] {
            assert!(!constant(c), "{c}");
        }
    }
}
