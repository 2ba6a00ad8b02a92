//! The application's SeaORM entities, for `create --autogenerate`: the workspace member
//! that defines them and the module path of each, read from its source (no build).
//!
//! Which crate: the `entities` key (`entities = "entity"`, or `"app::entities"` to look
//! only under that module), else the one member that is a library depending on sea-orm
//! (never the migration crate, never the runtime) and defines entities.
//!
//! Which modules: the module tree is walked from the library's root file as rustc
//! resolves it (`mod x;` → `x.rs` or `x/mod.rs` beside a crate root or `mod.rs`, under
//! `foo/` for `foo.rs`; `#[path = "..."]`; inline `mod x { ... }`), skipping modules
//! that only exist in tests (`#[cfg(test)]`). A module defines an entity when, at its
//! top level (comments and strings aside: the lexer reads it), an item derives
//! `DeriveEntityModel` (or `DeriveEntity`, sea-orm-cli's expanded format) or carries
//! SeaORM 2.0's `#[sea_orm::model]` / `#[sea_orm::compact_model]`. The prelude and the
//! active enums define none, so they are not listed. Every module on the way to an
//! entity must be `pub`: another crate names it `<lib>::<path>::Entity`.
//!
//! Not seen: entities whose module a macro declares, an entity defined in the crate root
//! itself (each entity needs a module of its own), modules reached only through a
//! `pub use` of a private module, and a `mod x;` whose file is missing (the crate does
//! not build then, or a `cfg` leaves the module out).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use cargo_metadata::Package;
use toml_edit::DocumentMut;

use crate::model::lexer::{self, Kind, Token};

use super::config::Config;
use super::error::{Result, ToolError};
use super::workspace::{RUNTIME, Workspace, depends_on, is_migration_crate};

/// sea-orm's package name, as a dependency.
const SEA_ORM: &str = "sea-orm";

/// Where the key goes, in messages.
const TABLE: &str = "[workspace.metadata.migrate]";

/// The application's SeaORM entities: the crate that holds them and the module path of
/// each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityCrate {
    /// The package name (`entity`).
    pub(crate) package: String,
    /// The library's crate name as Rust code names it (`entity`; dashes become
    /// underscores), from the library target's name.
    pub(crate) lib_name: String,
    pub(crate) manifest_dir: PathBuf,
    /// Each entity's module path from the crate root, sorted (`post`,
    /// `entities::post`): `<lib_name>::<path>::Entity` names its Entity.
    pub(crate) modules: Vec<String>,
}

/// The application's entities: the crate the `entities` key names, else the one
/// workspace member that defines SeaORM entities.
pub(crate) fn find(ws: &Workspace, config: &Config) -> Result<EntityCrate> {
    let members: Vec<Member> = ws.members().into_iter().map(member).collect();
    choose(&members, config)
}

/// The package of the one workspace member that defines entities, for `init` to write
/// into the `entities` key; `None` when there are none or several, or a member's source
/// cannot be read.
pub(crate) fn sole_package(ws: &Workspace) -> Option<String> {
    let members: Vec<Member> = ws.members().into_iter().map(member).collect();
    match with_entities(&members).ok()?.as_slice() {
        [(one, _)] => Some(one.package.clone()),
        _ => None,
    }
}

/// One workspace member, as detection sees it.
#[derive(Debug, Clone)]
struct Member {
    package: String,
    manifest_dir: PathBuf,
    /// The library target's crate name and root file.
    lib: Option<(String, PathBuf)>,
    /// Whether it may hold the entities without being named: a library that depends on
    /// sea-orm and is neither the migration crate nor the runtime.
    candidate: bool,
}

fn member(p: &Package) -> Member {
    let manifest: PathBuf = p.manifest_path.clone().into();
    let lib = super::workspace::lib_target(p)
        .map(|t| (t.name.replace('-', "_"), t.src_path.clone().into()));
    Member {
        package: p.name.to_string(),
        manifest_dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
        candidate: lib.is_some()
            && depends_on(p, SEA_ORM)
            && !is_migration_crate(p)
            && p.name.as_str() != RUNTIME,
        lib,
    }
}

/// The crate among `members`: the key's, else the one candidate with entities.
fn choose(members: &[Member], config: &Config) -> Result<EntityCrate> {
    if let Some(spec) = &config.entities {
        return named(members, spec);
    }
    let mut found = with_entities(members)?;
    match found.len() {
        1 => {
            let (m, entities) = found.remove(0);
            entity_crate(m, entities)
        }
        0 => Err(ToolError::usage(format!(
            "`--autogenerate` compares the migrations with the application's SeaORM entities, \
             and no workspace member defines any (a library that depends on sea-orm, with \
             `#[derive(DeriveEntityModel)]` or `#[sea_orm::model]` in a module); name the crate \
             that holds them with `entities = \"<package>\"` in `{TABLE}`"
        ))),
        _ => Err(ToolError::usage(format!(
            "several workspace members define SeaORM entities ({}); name the one `--autogenerate` \
             compares with `entities = \"<name>\"` in `{TABLE}`",
            listed(found.iter().map(|(m, _)| m.package.as_str()))
        ))),
    }
}

/// The candidates that define entities, with their entities, in member order.
fn with_entities(members: &[Member]) -> Result<Vec<(&Member, Vec<Entity>)>> {
    let mut found = Vec::new();
    for m in members.iter().filter(|m| m.candidate) {
        let Some((_, root)) = &m.lib else { continue };
        let entities = scan(root)?;
        if !entities.is_empty() {
            found.push((m, entities));
        }
    }
    Ok(found)
}

/// The crate `entities = "<spec>"` names: `<package>` or `<package>::<module path>`.
fn named(members: &[Member], spec: &str) -> Result<EntityCrate> {
    let key = format!("`entities = \"{spec}\"` in `{TABLE}`");
    let (name, prefix) = parse_spec(spec).ok_or_else(|| {
        ToolError::usage(format!(
            "{key}: expected a package name, optionally followed by a module path \
             (`entity`, `app::entities`)"
        ))
    })?;
    let Some(m) = members
        .iter()
        .find(|m| m.package == name || m.lib.as_ref().is_some_and(|(lib, _)| *lib == name))
    else {
        let with = with_entities(members).unwrap_or_default();
        let hint = if with.is_empty() {
            "no member defines SeaORM entities that cargo migrate can see".to_string()
        } else {
            format!(
                "members with SeaORM entities: {}",
                listed(with.iter().map(|(m, _)| m.package.as_str()))
            )
        };
        return Err(ToolError::usage(format!(
            "{key} names `{name}`, which is not a member of this workspace ({hint})"
        )));
    };
    let Some((_, root)) = &m.lib else {
        return Err(ToolError::usage(format!(
            "{key} names `{name}`, which has no library target: the migration crate must be able \
             to use its entities"
        )));
    };
    let entities: Vec<Entity> = scan(root)?
        .into_iter()
        .filter(|e| {
            prefix.is_empty() || e.path == prefix || e.path.starts_with(&format!("{prefix}::"))
        })
        .collect();
    if entities.is_empty() {
        let under = if prefix.is_empty() {
            String::new()
        } else {
            format!(" under the module `{prefix}`")
        };
        return Err(ToolError::usage(format!(
            "{key}: `{}` defines no SeaORM entities{under} (a module with `#[derive(DeriveEntityModel)]` \
             or `#[sea_orm::model]`, reached through `pub mod` lines from {})",
            m.package,
            root.display()
        )));
    }
    entity_crate(m, entities)
}

/// `entity` → (`entity`, ``); `app::entities::v2` → (`app`, `entities::v2`).
fn parse_spec(spec: &str) -> Option<(&str, String)> {
    let mut parts = spec.trim().split("::").map(str::trim);
    let name = parts.next()?;
    let package_like = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !package_like {
        return None;
    }
    let path: Vec<&str> = parts.collect();
    if !path.iter().all(|p| is_ident(p)) {
        return None;
    }
    Some((name, path.join("::")))
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The crate, once no entity is behind a private module.
fn entity_crate(m: &Member, entities: Vec<Entity>) -> Result<EntityCrate> {
    if let Some(e) = entities.iter().find(|e| e.hidden.is_some()) {
        let (module, file) = e.hidden.as_ref().expect("found with one");
        let last = module.rsplit("::").next().unwrap_or(module);
        return Err(ToolError::usage(format!(
            "the entity `{}::{}` of `{}` cannot be used from the migration crate: its module \
             `{module}` is not public ({} declares it); make it `pub mod {last}`",
            m.lib
                .as_ref()
                .map_or(m.package.as_str(), |(lib, _)| lib.as_str()),
            e.path,
            m.package,
            file.display()
        )));
    }
    let mut modules: Vec<String> = entities.into_iter().map(|e| e.path).collect();
    modules.sort();
    modules.dedup();
    Ok(EntityCrate {
        package: m.package.clone(),
        lib_name: m
            .lib
            .as_ref()
            .map_or_else(|| m.package.replace('-', "_"), |(lib, _)| lib.clone()),
        manifest_dir: m.manifest_dir.clone(),
        modules,
    })
}

fn listed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A module that defines an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    /// Its path from the crate root (`entities::post`).
    path: String,
    /// The first module on the way (itself included) that is not `pub`, by its path,
    /// and the file that declares it.
    hidden: Option<(String, PathBuf)>,
}

/// The entity modules of the crate whose root file is `root`, sorted by path; with
/// those behind a private module (see `Entity::hidden`).
fn scan(root: &Path) -> Result<Vec<Entity>> {
    let mut walk = Walk::default();
    walk.file(root, true, &[], None)?;
    walk.found.sort_by(|a, b| a.path.cmp(&b.path));
    walk.found.dedup_by(|a, b| a.path == b.path);
    Ok(walk.found)
}

/// The module paths of the entities of the crate whose root file is `root`, sorted; an
/// error if one is behind a private module.
#[cfg(test)]
fn modules(root: &Path) -> Result<Vec<String>> {
    let m = Member {
        package: "test".into(),
        manifest_dir: PathBuf::new(),
        lib: Some(("test".into(), root.to_path_buf())),
        candidate: true,
    };
    Ok(entity_crate(&m, scan(root)?)?.modules)
}

#[derive(Default)]
struct Walk {
    found: Vec<Entity>,
    /// Files read, so that `#[path]` cannot send the walk round in a circle.
    seen: HashSet<PathBuf>,
}

/// Where a module's items are, and where its child modules' files are.
struct Scope<'a> {
    /// The module's path from the crate root.
    path: &'a [String],
    /// The file its text is in.
    file: &'a Path,
    /// Where `mod x;` looks for `x.rs` and `x/mod.rs`.
    children: PathBuf,
    /// What `#[path = "..."]` on a child is relative to.
    path_base: PathBuf,
    /// The first module on the way that is not `pub`, and the file declaring it.
    hidden: Option<(String, PathBuf)>,
}

impl Walk {
    /// The module in `file`; `mod_rs`: a crate root, a `mod.rs` or a `#[path]` file,
    /// whose children are beside it (another file's are in the directory named after
    /// it). A missing file is skipped.
    fn file(
        &mut self,
        file: &Path,
        mod_rs: bool,
        path: &[String],
        hidden: Option<(String, PathBuf)>,
    ) -> Result<()> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ToolError::io("read", file)(e)),
        };
        let key = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        if !self.seen.insert(key) {
            return Ok(());
        }
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let children = if mod_rs {
            dir.clone()
        } else {
            let stem = file.file_stem().unwrap_or_default();
            dir.join(stem)
        };
        let t = lexer::tokens(&text);
        let scope = Scope {
            path,
            file,
            children,
            path_base: dir,
            hidden,
        };
        self.items(&t, 0, t.len(), &scope)
    }

    /// The items of tokens `from..to`, a module's top level.
    fn items(&mut self, t: &[Token], from: usize, to: usize, scope: &Scope) -> Result<()> {
        let mut k = from;
        // Inner attributes: `#![cfg(test)]` leaves the whole module out.
        while k + 2 < to && t[k].is_punct('#') && t[k + 1].is_punct('!') && t[k + 2].is_punct('[') {
            let Some(close) = lexer::matching(t, k + 2).filter(|&c| c < to) else {
                return Ok(());
            };
            if test_only(&t[k + 3..close]) {
                return Ok(());
            }
            k = close + 1;
        }
        let mut attrs: Vec<&[Token]> = Vec::new();
        let mut entity = false;
        while k < to {
            if t[k].is_punct('#') && t.get(k + 1).is_some_and(|x| x.is_punct('[')) {
                let Some(close) = lexer::matching(t, k + 1).filter(|&c| c < to) else {
                    break;
                };
                attrs.push(&t[k + 2..close]);
                k = close + 1;
                continue;
            }
            // An item starts at `k`, after its attributes.
            let item_attrs = std::mem::take(&mut attrs);
            let skipped = item_attrs.iter().any(|a| test_only(a));
            let (public, at) = visibility(t, k, to);
            if let Some((name, body)) = module_decl(t, at, to) {
                let end = match body {
                    Some(open) => lexer::matching(t, open).filter(|&c| c < to).unwrap_or(to),
                    None => at + 2,
                };
                if !skipped {
                    self.module(t, scope, name, public, &item_attrs, body.map(|o| (o, end)))?;
                }
                k = end + 1;
                continue;
            }
            if !skipped && item_attrs.iter().any(|a| marks_entity(a)) {
                entity = true;
            }
            // Past this token; a bracketed group (a body, a macro's input) at once.
            k = if matches!(t[k].kind, Kind::Punct('{' | '(' | '[')) {
                lexer::matching(t, k).map_or(to, |c| c + 1)
            } else {
                k + 1
            };
        }
        if entity && !scope.path.is_empty() {
            self.found.push(Entity {
                path: scope.path.join("::"),
                hidden: scope.hidden.clone(),
            });
        }
        Ok(())
    }

    /// The module `name` declared in `scope`: in a file (`mod name;`), or inline, its
    /// items between the braces `inline`.
    fn module(
        &mut self,
        t: &[Token],
        scope: &Scope,
        name: &str,
        public: bool,
        attrs: &[&[Token]],
        inline: Option<(usize, usize)>,
    ) -> Result<()> {
        let mut path = scope.path.to_vec();
        path.push(name.to_string());
        let hidden = scope
            .hidden
            .clone()
            .or_else(|| (!public).then(|| (path.join("::"), scope.file.to_path_buf())));
        let explicit = attrs.iter().find_map(|a| path_attr(a));
        match inline {
            Some((open, close)) => {
                let children = match &explicit {
                    Some(p) => scope.path_base.join(p),
                    None => scope.children.join(name),
                };
                let inner = Scope {
                    path: &path,
                    file: scope.file,
                    path_base: children.clone(),
                    children,
                    hidden,
                };
                self.items(t, open + 1, close, &inner)
            }
            None => match explicit {
                Some(p) => self.file(&scope.path_base.join(p), true, &path, hidden),
                None => {
                    let flat = scope.children.join(format!("{name}.rs"));
                    if flat.is_file() {
                        self.file(&flat, false, &path, hidden)
                    } else {
                        let nested = scope.children.join(name).join("mod.rs");
                        self.file(&nested, true, &path, hidden)
                    }
                }
            },
        }
    }
}

/// Whether the item at `k` starts with `pub` (not `pub(crate)` and the like, which no
/// other crate sees), and where the rest of it starts.
fn visibility(t: &[Token], k: usize, to: usize) -> (bool, usize) {
    if !t[k].is_ident("pub") {
        return (false, k);
    }
    match t.get(k + 1) {
        Some(x) if k + 1 < to && x.is_punct('(') => {
            let close = lexer::matching(t, k + 1).unwrap_or(to);
            (false, close + 1)
        }
        _ => (true, k + 1),
    }
}

/// `mod <name>;` or `mod <name> {` at `at`: the name, and the index of the `{`.
fn module_decl(t: &[Token], at: usize, to: usize) -> Option<(&str, Option<usize>)> {
    if at + 2 >= to || !t[at].is_ident("mod") {
        return None;
    }
    let name = t.get(at + 1)?.ident()?;
    match t[at + 2].kind {
        Kind::Punct(';') => Some((name, None)),
        Kind::Punct('{') => Some((name, Some(at + 2))),
        _ => None,
    }
}

/// `path = "..."`: the path.
fn path_attr(a: &[Token]) -> Option<String> {
    match a {
        [p, eq, v] if p.is_ident("path") && eq.is_punct('=') => match &v.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the attribute (the tokens between `#[` and `]`) marks an entity:
/// `derive(.., DeriveEntityModel, ..)` (or `DeriveEntity`, also under `cfg_attr`),
/// `sea_orm::model`, `sea_orm::compact_model`.
fn marks_entity(a: &[Token]) -> bool {
    let a = match a {
        [c1, c2, rest @ ..] if c1.is_punct(':') && c2.is_punct(':') => rest,
        _ => a,
    };
    match a {
        [first, ..] if first.is_ident("derive") || first.is_ident("cfg_attr") => a
            .iter()
            .any(|x| x.is_ident("DeriveEntityModel") || x.is_ident("DeriveEntity")),
        [krate, c1, c2, name, rest @ ..] => {
            krate.is_ident("sea_orm")
                && c1.is_punct(':')
                && c2.is_punct(':')
                && (name.is_ident("model") || name.is_ident("compact_model"))
                && rest.first().is_none_or(|x| x.is_punct('('))
        }
        _ => false,
    }
}

/// Whether the attribute is a `cfg` that no build but a test build enables
/// (`cfg(test)`, `cfg(all(test, ..))`, `cfg(doctest)`).
fn test_only(a: &[Token]) -> bool {
    match a {
        [cfg, open, inner @ .., close]
            if cfg.is_ident("cfg") && open.is_punct('(') && close.is_punct(')') =>
        {
            predicate(inner) == Some(false)
        }
        _ => false,
    }
}

/// A `cfg` predicate's value in a build that is not a test build, if that decides it.
fn predicate(p: &[Token]) -> Option<bool> {
    match p {
        [x] if x.is_ident("test") || x.is_ident("doctest") => Some(false),
        [op, open, inner @ .., close] if open.is_punct('(') && close.is_punct(')') => {
            let args = split_commas(inner);
            let values: Vec<Option<bool>> = args.iter().map(|a| predicate(a)).collect();
            match op.ident()? {
                "not" if values.len() == 1 => values[0].map(|v| !v),
                "all" => {
                    if values.contains(&Some(false)) {
                        Some(false)
                    } else if values.iter().all(|v| *v == Some(true)) {
                        Some(true)
                    } else {
                        None
                    }
                }
                "any" => {
                    if values.contains(&Some(true)) {
                        Some(true)
                    } else if values.iter().all(|v| *v == Some(false)) {
                        Some(false)
                    } else {
                        None
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `a, b(c, d), e` → its top-level parts (empty ones left out).
fn split_commas(t: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (k, x) in t.iter().enumerate() {
        match x.kind {
            Kind::Punct('(' | '[' | '{') => depth += 1,
            Kind::Punct(')' | ']' | '}') => depth -= 1,
            Kind::Punct(',') if depth == 0 => {
                parts.push(&t[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&t[start..]);
    parts.retain(|p| !p.is_empty());
    parts
}

/// The workspace manifest `text` with `entities = "<package>"` in
/// `[workspace.metadata.migrate]` (the table created if absent), or `None` when the key
/// is already there, the manifest has no `[workspace]` table or something on the way is
/// not a standard table (or `text` is not TOML: `init` has already refused that).
pub(crate) fn with_entities_key(text: &str, package: &str) -> Option<String> {
    let mut doc: DocumentMut = text.parse().ok()?;
    let workspace = doc.get_mut("workspace")?.as_table_mut()?;
    let (migrate, created) = super::config::migrate_table_mut(workspace)?;
    if migrate.contains_key("entities") {
        return None;
    }
    migrate.insert("entities", toml_edit::value(package));
    let comment = "# The crate of SeaORM entities that `cargo migrate create --autogenerate` compares the\n# migrations with. Written by `cargo migrate init`.\n";
    if created {
        migrate.decor_mut().set_prefix(format!("\n{comment}"));
    } else if let Some(mut key) = migrate.key_mut("entities") {
        key.leaf_decor_mut().set_prefix(comment);
    }
    Some(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (path, text) under a new temporary directory.
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const ENTITY: &str = "use sea_orm::entity::prelude::*;\n\n#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]\n#[sea_orm(table_name = \"x\")]\npub struct Model {\n    #[sea_orm(primary_key)]\n    pub id: i32,\n}\n\n#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]\npub enum Relation {}\n\nimpl ActiveModelBehavior for ActiveModel {}\n";

    const ACTIVE_ENUMS: &str = "use sea_orm::entity::prelude::*;\n#[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]\n#[sea_orm(rs_type = \"String\", db_type = \"Enum\", enum_name = \"status\")]\npub enum Status {\n    #[sea_orm(string_value = \"a\")]\n    A,\n}\n";

    const PRELUDE: &str =
        "pub use super::post::Entity as Post;\npub use super::tag::Entity as Tag;\n";

    fn member(dir: &Path, package: &str, candidate: bool) -> Member {
        Member {
            package: package.into(),
            manifest_dir: dir.to_path_buf(),
            lib: Some((package.replace('-', "_"), dir.join("src/lib.rs"))),
            candidate,
        }
    }

    fn config(entities: Option<&str>) -> Config {
        Config {
            entities: entities.map(str::to_string),
            ..Config::default()
        }
    }

    #[test]
    fn the_example_entity_crate_lists_its_entities_but_not_the_prelude() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("entity/src/lib.rs");
        assert_eq!(
            modules(&root).unwrap(),
            vec!["author", "post", "post_tag", "tag"]
        );
        let shop =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop/entity/src/lib.rs");
        let found = modules(&shop).unwrap();
        assert_eq!(found.len(), 13, "{found:?}");
        assert!(found.contains(&"order".to_string()));
        assert!(
            !found
                .iter()
                .any(|m| m == "prelude" || m == "sea_orm_active_enums")
        );
    }

    #[test]
    fn the_example_layout_in_a_temporary_crate() {
        let dir = tree(&[
            (
                "src/lib.rs",
                "//! mod nothing;\npub mod post;\npub mod prelude;\npub mod sea_orm_active_enums;\npub mod tag;\n",
            ),
            ("src/post.rs", ENTITY),
            ("src/tag.rs", ENTITY),
            ("src/prelude.rs", PRELUDE),
            ("src/sea_orm_active_enums.rs", ACTIVE_ENUMS),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["post", "tag"]
        );
    }

    #[test]
    fn a_sea_orm_cli_layout_under_an_entities_module() {
        let dir = tree(&[
            (
                "src/lib.rs",
                "pub mod entities;\npub mod routes;\n\npub fn app() {}\n",
            ),
            (
                "src/routes.rs",
                "pub fn index() { let _ = \"#[derive(DeriveEntityModel)]\"; }\n",
            ),
            (
                "src/entities/mod.rs",
                "//! `SeaORM` Entity\n\npub mod prelude;\n\npub mod post;\npub mod tag;\n",
            ),
            ("src/entities/post.rs", ENTITY),
            ("src/entities/tag.rs", ENTITY),
            ("src/entities/prelude.rs", PRELUDE),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["entities::post", "entities::tag"]
        );
    }

    #[test]
    fn a_module_file_s_children_are_in_its_directory() {
        // `db.rs` (not `mod.rs`): its `mod entities;` is `db/entities.rs`, whose
        // children are in `db/entities/`.
        let dir = tree(&[
            ("src/lib.rs", "pub mod db;\n"),
            ("src/db.rs", "pub mod entities;\n"),
            ("src/db/entities.rs", "pub mod post;\npub mod tag;\n"),
            ("src/db/entities/post.rs", ENTITY),
            ("src/db/entities/tag/mod.rs", ENTITY),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["db::entities::post", "db::entities::tag"]
        );
    }

    #[test]
    fn a_private_module_on_the_way_is_an_error_that_names_it() {
        let dir = tree(&[
            ("src/lib.rs", "mod entities;\npub use entities::*;\n"),
            ("src/entities/mod.rs", "pub mod post;\n"),
            ("src/entities/post.rs", ENTITY),
        ]);
        let e = modules(&dir.path().join("src/lib.rs"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`entities`") && e.contains("pub mod entities"),
            "{e}"
        );
        assert!(e.contains("lib.rs"), "{e}");
        let dir = tree(&[
            ("src/lib.rs", "pub mod entities;\n"),
            ("src/entities/mod.rs", "pub(crate) mod post;\n"),
            ("src/entities/post.rs", ENTITY),
        ]);
        let e = modules(&dir.path().join("src/lib.rs"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`entities::post`") && e.contains("pub mod post") && e.contains("mod.rs"),
            "{e}"
        );
        // A private module without entities is no error.
        let dir = tree(&[
            ("src/lib.rs", "mod util;\npub mod post;\n"),
            ("src/util.rs", "pub fn f() {}\n"),
            ("src/post.rs", ENTITY),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["post"]
        );
    }

    #[test]
    fn path_attributes_are_followed() {
        let dir = tree(&[
            (
                "src/lib.rs",
                "#[path = \"generated/entities.rs\"]\npub mod entities;\n",
            ),
            // A `#[path]` file's children are beside it.
            (
                "src/generated/entities.rs",
                "pub mod post;\n#[path = \"other/tag_entity.rs\"]\npub mod tag;\n",
            ),
            ("src/generated/post.rs", ENTITY),
            ("src/generated/other/tag_entity.rs", ENTITY),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["entities::post", "entities::tag"]
        );
    }

    #[test]
    fn test_modules_are_ignored() {
        let dir = tree(&[
            (
                "src/lib.rs",
                "pub mod post;\n#[cfg(test)]\nmod tests;\n#[cfg(all(test, feature = \"x\"))]\nmod more_tests {\n    #[derive(DeriveEntityModel)]\n    pub struct Model {}\n}\n#[cfg(not(test))]\npub mod live;\n",
            ),
            (
                "src/post.rs",
                &format!(
                    "{ENTITY}\n#[cfg(test)]\nmod tests {{\n    #[derive(DeriveEntityModel)]\n    pub struct Model {{}}\n}}\n"
                ),
            ),
            ("src/tests.rs", ENTITY),
            ("src/live.rs", ENTITY),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["live", "post"]
        );
        let dir = tree(&[
            ("src/lib.rs", "pub mod fixtures;\n"),
            ("src/fixtures.rs", &format!("#![cfg(test)]\n{ENTITY}")),
        ]);
        assert!(modules(&dir.path().join("src/lib.rs")).unwrap().is_empty());
    }

    #[test]
    fn inline_modules_and_the_sea_orm_2_attribute_macros() {
        let dir = tree(&[
            (
                "src/lib.rs",
                "pub mod schema {\n    pub mod post {\n        use sea_orm::entity::prelude::*;\n        #[sea_orm::model]\n        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]\n        #[sea_orm(table_name = \"post\")]\n        pub struct Model { #[sea_orm(primary_key)] pub id: i32 }\n        impl ActiveModelBehavior for ActiveModel {}\n    }\n    pub mod tag;\n    fn helper() { mod hidden { #[derive(DeriveEntityModel)] struct Model; } }\n}\n/* pub mod commented; */\n",
            ),
            (
                "src/schema/tag.rs",
                "use sea_orm::entity::prelude::*;\n#[sea_orm::compact_model]\n#[sea_orm(table_name = \"tag\")]\npub struct Model { pub id: i32 }\n",
            ),
            ("src/commented.rs", ENTITY),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["schema::post", "schema::tag"]
        );
        // The expanded format: `#[derive(DeriveEntity)] pub struct Entity;`.
        let dir = tree(&[
            ("src/lib.rs", "pub mod cake;\n"),
            (
                "src/cake.rs",
                "use sea_orm::entity::prelude::*;\n#[derive(Copy, Clone, Default, Debug, DeriveEntity)]\npub struct Entity;\n",
            ),
        ]);
        assert_eq!(
            modules(&dir.path().join("src/lib.rs")).unwrap(),
            vec!["cake"]
        );
    }

    #[test]
    fn markers_and_cfg_predicates() {
        let attr = |s: &str| marks_entity(&lexer::tokens(s));
        assert!(attr("derive(Clone, DeriveEntityModel)"));
        assert!(attr("derive(sea_orm::DeriveEntityModel)"));
        assert!(attr("::sea_orm::model"));
        assert!(attr("sea_orm::compact_model"));
        assert!(!attr("derive(DeriveActiveEnum)"));
        assert!(!attr("sea_orm(table_name = \"DeriveEntityModel\")"));
        assert!(!attr("sea_orm::modelx"));
        let cfg = |s: &str| test_only(&lexer::tokens(s));
        assert!(cfg("cfg(test)"));
        assert!(cfg("cfg(all(test, feature = \"x\"))"));
        assert!(cfg("cfg(any(test, doctest))"));
        assert!(!cfg("cfg(not(test))"));
        assert!(!cfg("cfg(any(test, feature = \"x\"))"));
        assert!(!cfg("cfg(feature = \"x\")"));
    }

    #[test]
    fn the_key_names_the_crate_with_or_without_a_module() {
        let entity = tree(&[("src/lib.rs", "pub mod post;\n"), ("src/post.rs", ENTITY)]);
        let app = tree(&[
            ("src/lib.rs", "pub mod entities;\npub mod legacy;\n"),
            ("src/entities/mod.rs", "pub mod post;\npub mod tag;\n"),
            ("src/entities/post.rs", ENTITY),
            ("src/entities/tag.rs", ENTITY),
            ("src/legacy/mod.rs", "pub mod old;\n"),
            ("src/legacy/old.rs", ENTITY),
        ]);
        let members = [
            member(entity.path(), "entity", true),
            member(app.path(), "my-app", true),
        ];
        let found = choose(&members, &config(Some("entity"))).unwrap();
        assert_eq!(
            found,
            EntityCrate {
                package: "entity".into(),
                lib_name: "entity".into(),
                manifest_dir: entity.path().to_path_buf(),
                modules: vec!["post".into()],
            }
        );
        let found = choose(&members, &config(Some("my-app"))).unwrap();
        assert_eq!(found.lib_name, "my_app");
        assert_eq!(
            found.modules,
            vec!["entities::post", "entities::tag", "legacy::old"]
        );
        let found = choose(&members, &config(Some("my-app::entities"))).unwrap();
        assert_eq!(found.modules, vec!["entities::post", "entities::tag"]);
        // The library's name works too; a module prefix is a whole module.
        let found = choose(&members, &config(Some("my_app::entities::tag"))).unwrap();
        assert_eq!(found.modules, vec!["entities::tag"]);
        let e = choose(&members, &config(Some("my-app::entitie")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no SeaORM entities under the module `entitie`"),
            "{e}"
        );
        // A crate named by the key need not depend on sea-orm itself.
        let members = [member(entity.path(), "entity", false)];
        assert_eq!(
            choose(&members, &config(Some("entity"))).unwrap().modules,
            vec!["post"]
        );
        let e = choose(&members, &config(Some("entity::")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a package name"), "{e}");
    }

    #[test]
    fn an_unknown_package_in_the_key_lists_the_members_with_entities() {
        let entity = tree(&[("src/lib.rs", "pub mod post;\n"), ("src/post.rs", ENTITY)]);
        let plain = tree(&[("src/lib.rs", "pub fn f() {}\n")]);
        let members = [
            member(plain.path(), "plain", true),
            member(entity.path(), "entity", true),
        ];
        let e = choose(&members, &config(Some("entites")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`entites`") && e.contains("not a member") && e.contains("`entity`"),
            "{e}"
        );
        assert!(!e.contains("`plain`"), "{e}");
    }

    #[test]
    fn detection_takes_the_one_candidate_and_refuses_several_or_none() {
        let entity = tree(&[("src/lib.rs", "pub mod post;\n"), ("src/post.rs", ENTITY)]);
        let other = tree(&[("src/lib.rs", "pub mod tag;\n"), ("src/tag.rs", ENTITY)]);
        let plain = tree(&[("src/lib.rs", "pub fn f() {}\n")]);
        // The migration crate (or anything not a candidate) is never read.
        let members = [
            member(plain.path(), "plain", true),
            member(entity.path(), "entity", true),
            member(other.path(), "migration", false),
        ];
        let found = choose(&members, &config(None)).unwrap();
        assert_eq!(found.package, "entity");
        assert_eq!(found.modules, vec!["post"]);

        let members = [
            member(entity.path(), "entity", true),
            member(other.path(), "other", true),
        ];
        let e = choose(&members, &config(None)).unwrap_err().to_string();
        assert!(
            e.contains("`entity`, `other`")
                && e.contains("entities = \"<name>\"")
                && e.contains("[workspace.metadata.migrate]"),
            "{e}"
        );

        let members = [member(plain.path(), "plain", true)];
        let e = choose(&members, &config(None)).unwrap_err().to_string();
        assert!(
            e.contains("--autogenerate")
                && e.contains("entities = \"<package>\"")
                && e.contains("[workspace.metadata.migrate]"),
            "{e}"
        );
    }

    #[test]
    fn the_key_is_added_to_the_workspace_table() {
        let text = "[workspace]\nmembers = [\"entity\", \"migration\"]\n";
        let out = with_entities_key(text, "entity").unwrap();
        assert_eq!(
            out,
            "[workspace]\nmembers = [\"entity\", \"migration\"]\n\n# The crate of SeaORM entities that `cargo migrate create --autogenerate` compares the\n# migrations with. Written by `cargo migrate init`.\n[workspace.metadata.migrate]\nentities = \"entity\"\n"
        );
        let parsed: DocumentMut = out.parse().unwrap();
        assert_eq!(
            parsed["workspace"]["metadata"]["migrate"]["entities"].as_str(),
            Some("entity")
        );
        // An existing table keeps its keys and comments.
        let text = "[workspace]\nmembers = [\"entity\"]\n\n[workspace.metadata.migrate]\n# the demo database\ndatabase-url = \"sqlite://demo.db\"\n";
        let out = with_entities_key(text, "entity").unwrap();
        assert!(out.starts_with(text), "{out}");
        assert!(out.ends_with("entities = \"entity\"\n"), "{out}");
        // Set already: nothing to do.
        assert_eq!(with_entities_key(&out, "other"), None);
        assert_eq!(with_entities_key("[package]\nname = \"a\"\n", "a"), None);
    }

    #[test]
    fn find_reads_a_real_workspace() {
        let dir = tree(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"entity\", \"app\", \"migration\"]\nresolver = \"3\"\n",
            ),
            (
                "entity/Cargo.toml",
                "[package]\nname = \"entity\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nsea-orm = \"2.0.4\"\n",
            ),
            ("entity/src/lib.rs", "pub mod post;\npub mod prelude;\n"),
            ("entity/src/post.rs", ENTITY),
            ("entity/src/prelude.rs", PRELUDE),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nsea-orm = \"2.0.4\"\n",
            ),
            ("app/src/main.rs", "pub mod post;\nfn main() {}\n"),
            ("app/src/post.rs", ENTITY),
            (
                "migration/Cargo.toml",
                "[package]\nname = \"migration\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nsea-orm = \"2.0.4\"\nsea-orm-migration = \"2.0.4\"\n",
            ),
            ("migration/src/lib.rs", "pub mod post;\n"),
            ("migration/src/post.rs", ENTITY),
        ]);
        let args = super::super::args::CargoArgs {
            manifest_path: Some(dir.path().join("Cargo.toml")),
            ..Default::default()
        };
        let ws = Workspace::load(&args).unwrap();
        let found = find(&ws, &ws.config).unwrap();
        assert_eq!(found.package, "entity");
        assert_eq!(found.lib_name, "entity");
        assert_eq!(found.modules, vec!["post"]);
        assert_eq!(sole_package(&ws).as_deref(), Some("entity"));
    }
}
