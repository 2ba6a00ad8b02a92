//! The layers of `src/` (see the crate docs in `src/lib.rs` and ARCHITECTURE.md): a
//! module imports only from its own layer or the ones below it, and no two modules import
//! each other, directly or around a cycle. Read from the source text, so a new `use`
//! that breaks the shape fails here, not in a reviewer's head.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom-up. A module's layer is that of its first path segment.
const LAYERS: &[&str] = &[
    "text",
    "model",
    "error",
    "engine",
    "embed",
    "app",
    "subcommand",
];

fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS
        .iter()
        .position(|l| *l == top)
        .unwrap_or(LAYERS.len())
}

/// `src/engine/url.rs` → `engine::url`; `src/app/mod.rs` → `app`; `src/lib.rs` → ``.
fn module_of(path: &Path, src: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod" && p != "lib" && p != "main")
        .collect();
    parts.join("::")
}

/// The source without `#[cfg(test)]` modules (tests may reach anywhere) and comments.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(") && trimmed.contains("test") {
            let mut depth = 0i32;
            let mut opened = false;
            for next in lines.by_ref() {
                depth += next.matches('{').count() as i32 - next.matches('}').count() as i32;
                opened |= next.contains('{');
                if opened && depth <= 0 || !opened && next.trim_end().ends_with(';') {
                    break;
                }
            }
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The modules `module` refers to: `crate::a::b::Item` → the longest known module
/// prefix (`a::b`); `super::x`, `super::{x, y}` within a folder likewise; and in a
/// folder's `mod.rs`, its children by their bare names (`forward::run`).
fn references(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let parent = module.rsplit_once("::").map(|(p, _)| p).unwrap_or("");
    let mut resolve = |base: &str, path: &str| {
        let mut segments: Vec<&str> = base.split("::").filter(|s| !s.is_empty()).collect();
        segments.extend(path.split("::").filter(|s| !s.is_empty()));
        let target = (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|m| known.contains(m))
            .unwrap_or_default(); // the crate root
        if target != module {
            found.insert(target);
        }
    };
    let path_chars = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].ends_with('$') || code[..at].ends_with(|c: char| path_chars(c)) {
                continue; // `$crate::` in a macro (the user's crate), or `x::super::`
            }
            let rest = &code[at + prefix.len()..];
            let path: String = rest.chars().take_while(|&c| path_chars(c)).collect();
            match rest[path.len()..].strip_prefix('{') {
                Some(group) => {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    for item in group.split(',') {
                        let item: String =
                            item.trim().chars().take_while(|&c| path_chars(c)).collect();
                        resolve(base, &format!("{path}{item}"));
                    }
                }
                None => resolve(base, &path),
            }
        }
    }
    // A folder module names its children without a prefix.
    for child in known.iter().filter_map(|k| {
        k.strip_prefix(module)
            .and_then(|rest| rest.strip_prefix("::"))
            .filter(|rest| !module.is_empty() && !rest.contains("::"))
    }) {
        let bare = format!("{child}::");
        let named = code.match_indices(&bare).any(|(at, _)| {
            !code[..at].ends_with(|c: char| path_chars(c))
                && !code[..at].trim_end().ends_with("mod")
        });
        if named {
            resolve(module, child);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let known: BTreeSet<String> = files.iter().map(|f| module_of(f, &src)).collect();
    files
        .iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|f| {
            let module = module_of(f, &src);
            let code = production_code(&std::fs::read_to_string(f).unwrap());
            let refs = references(&module, &code, &known);
            (module, refs)
        })
        .collect()
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (module, refs) in graph() {
        if module.is_empty() {
            continue; // the crate root re-exports from every layer
        }
        for target in refs {
            if layer(&target) > layer(&module) {
                let shown = if target.is_empty() {
                    "the crate root"
                } else {
                    &target
                };
                upward.push(format!("{module} -> {shown}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that go up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_import_cycle_anywhere_in_src() {
    let graph = graph();
    // Tarjan would name every cycle; one is enough to fail, and a depth-first search
    // that reports the path it found is easier to read.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if next.is_empty() {
                continue;
            }
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

/// The checker itself: a reference resolves to the module that defines it.
#[test]
fn references_resolve_to_the_longest_known_module() {
    let known: BTreeSet<String> = ["engine", "engine::url", "subcommand", "subcommand::cargo"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let refs = references(
        "subcommand::forward",
        "use crate::engine::url::DbUrl; use super::cargo::home; $crate::x::y; crate::Error",
        &known,
    );
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    assert_eq!(refs, ["", "engine::url", "subcommand::cargo"]);
    let refs = references("subcommand::forward", "use super::{cargo, engine};", &known);
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["subcommand", "subcommand::cargo"]
    );
    let refs = references("subcommand", "mod cargo;\nfn f() { cargo::home() }", &known);
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["subcommand::cargo"]);
    assert!(layer("app::verbs") > layer("engine::url"));
    assert!(layer("text") < layer("model::graph"));
}
