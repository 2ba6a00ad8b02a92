//! The migration crate's revisions read from its source, so `create` and `merge` need
//! no build and no database. The modules are the migration files in `src/` when
//! `lib.rs` says `cargo_migrate::discover!()`; otherwise `lib.rs` lists them, in
//! `cargo_migrate::migrator!`, in `mod` lines and `cargo_migrate::register!`, or, in a
//! sea-orm-cli crate, in `mod` lines and the `vec![...]` of `migrations()`. Each module
//! file declares its parents in `pub const REVISES`.

use std::path::{Path, PathBuf};

use crate::model::graph::{Graph, Node};

use super::error::{Result, ToolError};
use super::index::Index;
use super::module::ModuleFacts;
use crate::model::lexer::{self, Kind, Token};

/// How `lib.rs` registers its migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `discover!()`: every migration file in `src/` is a module; nothing lists them.
    Discover,
    /// `migrator! { ... }`; the byte range of the braces' contents.
    Migrator { body: (usize, usize) },
    /// `mod` lines and `register! { ... }`.
    Register {
        /// End of the last `mod <name>;` line, if any.
        last_mod: Option<usize>,
        /// The byte range of the brackets' contents.
        body: (usize, usize),
    },
    /// sea-orm-cli's: `mod` lines and `vec![...]` in `fn migrations()`.
    Legacy {
        /// End of the last `mod <name>;` line, if any.
        last_mod: Option<usize>,
        /// The byte range of the `vec![...]` brackets' contents.
        vec: (usize, usize),
    },
}

#[derive(Debug, Clone)]
pub(crate) struct SourceRevision {
    pub(crate) module: String,
    pub(crate) id: String,
    /// `None`: a legacy migration, which revises the one registered before it.
    pub(crate) parents: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) lib: PathBuf,
    pub(crate) text: String,
    pub(crate) layout: Layout,
    pub(crate) revisions: Vec<SourceRevision>,
}

impl Source {
    /// The crate's source, the module files that did not change since the last run
    /// answered by an index kept in `state_dir` (`super::index`).
    pub(crate) fn read_indexed(lib: &Path, state_dir: Option<&Path>) -> Result<Source> {
        let text = std::fs::read_to_string(lib).map_err(ToolError::io("read", lib))?;
        let (layout, modules) = parse_lib(&text).map_err(|why| {
            ToolError::usage(format!(
                "cannot find the migrations in {}: {why}",
                lib.display()
            ))
        })?;
        let dir = lib.parent().unwrap_or(Path::new("."));
        let modules = match layout {
            Layout::Discover => discovered(dir)?,
            _ => modules.into_iter().map(|m| (m, None)).collect(),
        };
        let mut index = Index::open(state_dir, dir);
        let mut revisions = Vec::with_capacity(modules.len());
        for (module, entry) in modules {
            let (path, facts) = read_module(&mut index, dir, &module, entry).ok_or_else(|| {
                ToolError::usage(format!(
                    "{} registers `{module}`, but neither {module}.rs nor {module}/mod.rs exists beside it",
                    lib.display()
                ))
            })?;
            let facts = facts.map_err(ToolError::io("read", &path))?;
            let parents = match (&layout, facts.revises) {
                (Layout::Legacy { .. }, _) => None,
                (_, Some(parents)) => Some(parents),
                (_, None) => {
                    return Err(ToolError::usage(format!(
                        "{} declares no `pub const REVISES: &[&str] = &[...]`; every migration of a \
                         cargo-migrate crate names the revisions it applies on top of",
                        path.display()
                    )));
                }
            };
            revisions.push(SourceRevision {
                id: facts.name.unwrap_or_else(|| module.clone()),
                module,
                parents,
            });
        }
        index.save();
        Ok(Source {
            lib: lib.to_path_buf(),
            text,
            layout,
            revisions,
        })
    }

    pub(crate) fn is_legacy(&self) -> bool {
        matches!(self.layout, Layout::Legacy { .. })
    }

    /// Migration files beside `lib.rs` that `lib.rs` does not list (none when the
    /// crate discovers its modules).
    pub(crate) fn unregistered(&self) -> Vec<PathBuf> {
        if self.layout == Layout::Discover {
            return Vec::new();
        }
        let dir = self.lib.parent().unwrap_or(Path::new("."));
        let listed = self.revisions.iter().map(|r| r.module.as_str());
        crate::engine::files::unregistered_files(&dir.to_string_lossy(), listed)
            .into_iter()
            .map(|f| dir.join(f))
            .collect()
    }

    /// The revision graph, checked as the runtime checks it.
    pub(crate) fn graph(&self) -> Result<Graph> {
        let nodes = self.revisions.iter().map(|r| match &r.parents {
            Some(p) => Node::new(
                r.id.clone(),
                &p.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            None => Node::legacy(r.id.clone()),
        });
        Graph::build(nodes).map_err(|e| {
            ToolError::usage(format!(
                "the migration crate's revisions are inconsistent: {e}"
            ))
        })
    }
}

/// The migration modules in `dir`, in name (creation) order, as the build script that
/// `init` writes finds them, with their directory entries.
fn discovered(dir: &Path) -> Result<Vec<(String, Option<std::fs::DirEntry>)>> {
    let entries = std::fs::read_dir(dir).map_err(ToolError::io("list", dir))?;
    let mut modules: Vec<(String, Option<std::fs::DirEntry>)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let mut stem = entry.file_name().into_string().ok()?;
            stem.truncate(stem.strip_suffix(".rs")?.len());
            crate::model::revision::is_migration_module(&stem).then_some((stem, Some(entry)))
        })
        .collect();
    modules.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(modules)
}

/// The module's file and what it declares: `<module>.rs`, else `<module>/mod.rs`.
/// `entry`: the directory's entry of `<module>.rs`, when listing it found the module.
fn read_module(
    index: &mut Index,
    dir: &Path,
    module: &str,
    entry: Option<std::fs::DirEntry>,
) -> Option<(PathBuf, std::io::Result<ModuleFacts>)> {
    let flat = format!("{module}.rs");
    let path = dir.join(&flat);
    // Looked up in the listed directory rather than by path: cheaper.
    let listed = entry.and_then(|e| e.metadata().ok());
    match index.facts(&path, &flat, listed.as_ref()) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let nested = format!("{module}/mod.rs");
            let path = dir.join(&nested);
            match index.facts(&path, &nested, None) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                read => Some((path, read)),
            }
        }
        read => Some((path, read)),
    }
}

/// Finds the registration and the modules, in registration order.
pub(crate) fn parse_lib(text: &str) -> std::result::Result<(Layout, Vec<String>), String> {
    let t = lexer::tokens(text);
    let macro_call = |name: &str| {
        (0..t.len()).find(|&k| t[k].is_ident(name) && t.get(k + 1).is_some_and(|x| x.is_punct('!')))
    };
    if macro_call("discover").is_some() {
        return Ok((Layout::Discover, Vec::new()));
    }
    let list = macro_call("migrator")
        .map(|k| (k, "migrator"))
        .or_else(|| macro_call("register").map(|k| (k, "register")));
    match list {
        Some((k, name)) => parse_macro_list(text, &t, k, name),
        None => parse_migrations_vec(&t),
    }
}

/// sea-orm-migration's tracking table, which every macro of ours defaults to.
pub(crate) const DEFAULT_TABLE: &str = "seaql_migrations";

/// The tracking table `lib.rs` (`text`) declares: `table = "..."` in `discover!`,
/// `migrator!` or `register!`, else the default; a sea-orm-cli crate's is the default
/// unless it overrides `migration_table_name`. `None` when the source does not say
/// plainly (a constant, an overridden method): only the built binary knows.
pub(crate) fn tracking_table(text: &str) -> Option<String> {
    let t = lexer::tokens(text);
    let call = ["discover", "migrator", "register"]
        .into_iter()
        .find_map(|name| {
            (0..t.len())
                .find(|&k| t[k].is_ident(name) && t.get(k + 1).is_some_and(|x| x.is_punct('!')))
        });
    let Some(k) = call else {
        let overridden = t
            .windows(2)
            .any(|w| w[0].is_ident("fn") && w[1].is_ident("migration_table_name"));
        return (!overridden).then(|| DEFAULT_TABLE.to_string());
    };
    // `name ! (` then, optionally, `table = "..."`.
    let inner = t.get(k + 3..).unwrap_or_default();
    match inner {
        [first, ..] if !first.is_ident("table") => Some(DEFAULT_TABLE.to_string()),
        [_, eq, value, end, ..]
            if eq.is_punct('=')
                && (end.is_punct(';') || end.is_punct(',') || end.is_punct(')')) =>
        {
            match &value.kind {
                Kind::Str(table) => Some(table.clone()),
                _ => None,
            }
        }
        [] => Some(DEFAULT_TABLE.to_string()),
        _ => None,
    }
}

/// `migrator! { ... }` or `register! { ... }` (`name`) at token `k`: an optional
/// `table = "...";`, then the modules separated by commas.
fn parse_macro_list(
    text: &str,
    t: &[Token],
    k: usize,
    name: &str,
) -> std::result::Result<(Layout, Vec<String>), String> {
    let open = k + 2;
    if !t
        .get(open)
        .is_some_and(|x| matches!(x.kind, Kind::Punct('{' | '(' | '[')))
    {
        return Err(format!("`{name}!` is not followed by a bracket"));
    }
    let close = lexer::matching(t, open).ok_or(format!("`{name}! {{` is never closed"))?;
    let inner = &t[open + 1..close];
    // An optional `table = "...";` first.
    let skip = if inner.first().is_some_and(|x| x.is_ident("table")) {
        inner
            .iter()
            .position(|x| x.is_punct(';'))
            .map_or(inner.len(), |p| p + 1)
    } else {
        0
    };
    let mut modules = Vec::new();
    for tok in &inner[skip..] {
        match &tok.kind {
            Kind::Ident(name) => modules.push(name.clone()),
            Kind::Punct(',') => {}
            _ => {
                return Err(format!(
                    "unexpected `{}` in `{name}!`",
                    &text[tok.start..tok.end]
                ));
            }
        }
    }
    let body = (t[open].end, t[close].start);
    let layout = if name == "migrator" {
        Layout::Migrator { body }
    } else {
        Layout::Register {
            last_mod: mod_lines(t).last().map(|&(_, end)| end),
            body,
        }
    };
    Ok((layout, modules))
}

/// sea-orm-cli's layout: the `<module>::Migration` entries of the `vec![...]` in
/// `fn migrations()`.
fn parse_migrations_vec(t: &[Token]) -> std::result::Result<(Layout, Vec<String>), String> {
    let f = (0..t.len())
        .find(|&k| t[k].is_ident("fn") && t.get(k + 1).is_some_and(|x| x.is_ident("migrations")))
        .ok_or(
            "none of `cargo_migrate::discover!()`, `cargo_migrate::migrator! { ... }` and `fn migrations()` is there",
        )?;
    let v = (f..t.len())
        .find(|&k| {
            t[k].is_ident("vec")
                && t.get(k + 1).is_some_and(|x| x.is_punct('!'))
                && t.get(k + 2).is_some_and(|x| x.is_punct('['))
        })
        .ok_or("`fn migrations()` has no `vec![...]` to add to")?;
    let open = v + 2;
    let close = lexer::matching(t, open).ok_or("`vec![` is never closed")?;
    let mut modules = Vec::new();
    for k in open + 1..close {
        // `<module>::Migration`
        if t[k].is_ident("Migration")
            && k >= 3
            && t[k - 1].is_punct(':')
            && t[k - 2].is_punct(':')
            && let Some(m) = t[k - 3].ident()
        {
            modules.push(m.to_string());
        }
    }
    let last_mod = mod_lines(t).last().map(|&(_, end)| end);
    Ok((
        Layout::Legacy {
            last_mod,
            vec: (t[open].end, t[close].start),
        },
        modules,
    ))
}

/// Top-level `mod <name>;` declarations (not those inside `mod tests { ... }`): the
/// name's token index and the end of the `;`.
fn mod_lines(t: &[Token]) -> Vec<(usize, usize)> {
    let mut depth = 0i32;
    let mut found = Vec::new();
    for k in 0..t.len() {
        match t[k].kind {
            Kind::Punct('{') => depth += 1,
            Kind::Punct('}') => depth -= 1,
            _ if depth == 0
                && t[k].is_ident("mod")
                && t.get(k + 1).is_some_and(|x| x.ident().is_some())
                && t.get(k + 2).is_some_and(|x| x.is_punct(';')) =>
            {
                found.push((k + 1, t[k + 2].end));
            }
            _ => {}
        }
    }
    found
}

/// The names of the top-level `mod <name>;` declarations of a `lib.rs`.
pub(crate) fn mod_names(text: &str) -> Vec<String> {
    let t = lexer::tokens(text);
    mod_lines(&t)
        .into_iter()
        .filter_map(|(k, _)| t[k].ident().map(str::to_string))
        .collect()
}

/// Where a first `mod` line goes: after the inner attributes (`#![...]`) at the top,
/// at the start of the first item's line (so `//!` docs stay first).
pub(crate) fn first_item_start(text: &str) -> usize {
    let t = lexer::tokens(text);
    let mut k = 0;
    while t.get(k).is_some_and(|x| x.is_punct('#')) && t.get(k + 1).is_some_and(|x| x.is_punct('!'))
    {
        match t.get(k + 2).and_then(|_| lexer::matching(&t, k + 2)) {
            Some(close) => k = close + 1,
            None => break,
        }
    }
    match t.get(k) {
        Some(tok) => text[..tok.start].rfind('\n').map_or(0, |i| i + 1),
        None => text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracking_table_is_read_from_each_layout() {
        let read = |text: &str| tracking_table(text);
        let default = Some(DEFAULT_TABLE.to_string());
        assert_eq!(read("//! doc\ncargo_migrate::discover!();\n"), default);
        assert_eq!(
            read("cargo_migrate::discover!(table = \"seaql_migrations_billing\");"),
            Some("seaql_migrations_billing".into())
        );
        assert_eq!(
            read("cargo_migrate::migrator! {\n    table = \"v\";\n    m1_a,\n}\n"),
            Some("v".into())
        );
        assert_eq!(
            read("mod m1_a;\ncargo_migrate::register! { m1_a }\n"),
            default
        );
        assert_eq!(
            read("cargo_migrate::register! { table = TABLE; m1_a }"),
            None
        );
        let legacy = "pub struct Migrator;\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> { vec![] }\n}\n";
        assert_eq!(read(legacy), default);
        let renamed = legacy.replace(
            "vec![] }",
            "vec![] }\n    fn migration_table_name() -> DynIden { \"v\".into_iden() }",
        );
        assert_eq!(read(&renamed), None);
    }

    #[test]
    fn the_migrator_macro_lists_the_modules() {
        let lib = "//! doc\ncargo_migrate::migrator! {\n    table = \"v\";\n    m1_a, // first\n    /* gone: m0 */ m2_b,\n}\n";
        let (layout, modules) = parse_lib(lib).unwrap();
        assert_eq!(modules, vec!["m1_a", "m2_b"]);
        let Layout::Migrator { body } = layout else {
            panic!()
        };
        assert!(lib[body.0..body.1].contains("m2_b,"));
    }

    #[test]
    fn a_sea_orm_cli_lib_lists_its_vec_in_order() {
        let lib = r#"pub use sea_orm_migration::prelude::*;

mod m20220101_000001_create_table;
mod m20220102_000001_seed;

pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20220102_000001_seed::Migration), Box::new(m20220101_000001_create_table::Migration)]
    }
}
"#;
        let (layout, modules) = parse_lib(lib).unwrap();
        assert_eq!(
            modules,
            vec!["m20220102_000001_seed", "m20220101_000001_create_table"]
        );
        let Layout::Legacy {
            last_mod: Some(end),
            ..
        } = layout
        else {
            panic!()
        };
        assert!(lib[..end].ends_with("mod m20220102_000001_seed;"));
    }

    #[test]
    fn a_lib_without_registration_says_so() {
        assert!(
            parse_lib("pub fn f() {}")
                .unwrap_err()
                .contains("migrator!")
        );
    }
}
