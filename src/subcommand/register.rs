//! Adding a new module to `lib.rs`, as text spliced at token positions so the user's
//! formatting and comments stay as they were; the result is parsed again and must list
//! exactly the old modules plus the new one.

use super::source::{Layout, Source, first_item_start, mod_names, parse_lib};
use crate::model::lexer;

/// `lib.rs` with `module` registered last (a crate that discovers its modules lists
/// nothing, so its `lib.rs` stays as it is).
pub(crate) fn register(source: &Source, module: &str) -> Result<String, String> {
    let text = &source.text;
    let new = match &source.layout {
        Layout::Discover => return Ok(text.clone()),
        Layout::Migrator { body } => append_item(text, *body, module, "    "),
        Layout::Register { last_mod, body } => with_mod_line(text, *last_mod, *body, module, |t| {
            append_item(t, *body, module, "    ")
        }),
        Layout::Legacy { last_mod, vec } => with_mod_line(text, *last_mod, *vec, module, |t| {
            add_to_vec(t, *vec, module)
        }),
    };
    if let Layout::Legacy { .. } | Layout::Register { .. } = source.layout {
        let mut expected = mod_names(text);
        expected.push(module.to_string());
        let after = mod_names(&new);
        if after != expected {
            return Err(format!(
                "adding `mod {module};` would not leave the `mod` lines as expected (got {})",
                after.join(", ")
            ));
        }
    }
    let (_, before) = parse_lib(text)?;
    let (_, after) = parse_lib(&new)?;
    let mut expected = before;
    expected.push(module.to_string());
    if after != expected {
        return Err(format!(
            "adding `{module}` would not leave the list as expected (got {})",
            after.join(", ")
        ));
    }
    Ok(new)
}

/// `mod <module>;` after the last `mod` line (or before the first item), and `add` to
/// the list whose contents are `list`: both edits on the original text, the later one
/// first, so the earlier one's offsets still hold.
fn with_mod_line(
    text: &str,
    last_mod: Option<usize>,
    list: (usize, usize),
    module: &str,
    add: impl Fn(&str) -> String,
) -> String {
    let add_mod = |text: &str| match last_mod {
        Some(end) => format!("{}\nmod {module};{}", &text[..end], &text[end..]),
        None => {
            let at = first_item_start(text);
            format!("{}mod {module};\n\n{}", &text[..at], &text[at..])
        }
    };
    if last_mod.is_some_and(|end| end >= list.1) {
        add(&add_mod(text))
    } else {
        add_mod(&add(text))
    }
}

/// `Box::new(<module>::Migration)` appended to the `vec![...]` whose contents are `vec`.
fn add_to_vec(text: &str, vec: (usize, usize), module: &str) -> String {
    let entry = format!("Box::new({module}::Migration)");
    let indent = line_indent(text, vec.0) + "    ";
    if text[vec.0..vec.1].contains('\n') || text[vec.0..vec.1].trim().is_empty() {
        return append_item(text, vec, &entry, &indent);
    }
    // `vec![a, b]` on one line: one entry per line from now on.
    let items: Vec<&str> = split_top_level(&text[vec.0..vec.1]);
    let closing = line_indent(text, vec.0);
    let mut body = String::from("\n");
    for item in items.iter().copied().chain(std::iter::once(entry.as_str())) {
        body.push_str(&format!("{indent}{item},\n"));
    }
    body.push_str(&closing);
    format!("{}{body}{}", &text[..vec.0], &text[vec.1..])
}

/// Appends `item,` on its own line at the end of a comma-separated list whose
/// contents are `range`.
fn append_item(text: &str, (start, end): (usize, usize), item: &str, indent: &str) -> String {
    let inner = &text[start..end];
    let tokens = lexer::tokens(inner);
    match tokens.last() {
        None => {
            let closing = line_indent(text, start);
            format!(
                "{}\n{indent}{item},\n{closing}{}",
                &text[..start],
                &text[end..]
            )
        }
        Some(last) => {
            let last_end = start + last.end;
            // Keep a trailing `// comment` with the item it follows.
            let line_end = text[last_end..end].find('\n').map_or(end, |i| last_end + i);
            let at = if text[last_end..line_end].trim_start().starts_with("//") {
                line_end
            } else {
                last_end
            };
            let comma = if last.is_punct(',') || last.is_punct(';') {
                ""
            } else {
                ","
            };
            format!(
                "{}{comma}{}\n{indent}{item},{}",
                &text[..last_end],
                &text[last_end..at],
                &text[at..]
            )
        }
    }
}

/// The leading whitespace of the line that holds byte `at`.
fn line_indent(text: &str, at: usize) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Splits `a, f(b, c), d` at its top-level commas, trimmed, empty items dropped.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut from = 0;
    for t in lexer::tokens(list) {
        match t.kind {
            lexer::Kind::Punct('(' | '[' | '{') => depth += 1,
            lexer::Kind::Punct(')' | ']' | '}') => depth -= 1,
            lexer::Kind::Punct(',') if depth == 0 => {
                items.push(list[from..t.start].trim());
                from = t.end;
            }
            _ => {}
        }
    }
    items.push(list[from..].trim());
    items.retain(|i| !i.is_empty());
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn source(text: &str) -> Source {
        let (layout, _) = parse_lib(text).unwrap();
        Source {
            lib: PathBuf::from("lib.rs"),
            text: text.to_string(),
            layout,
            revisions: Vec::new(),
        }
    }

    #[test]
    fn the_migrator_list_grows_by_one_line() {
        let lib = "// keep me\ncargo_migrate::migrator! {\n    m1_a,\n    m2_b, // note\n}\n";
        assert_eq!(
            register(&source(lib), "m3_c").unwrap(),
            "// keep me\ncargo_migrate::migrator! {\n    m1_a,\n    m2_b, // note\n    m3_c,\n}\n"
        );
        let commented = "cargo_migrate::migrator! {\n    m1_a // first\n}\n";
        assert_eq!(
            register(&source(commented), "m2_b").unwrap(),
            "cargo_migrate::migrator! {\n    m1_a, // first\n    m2_b,\n}\n"
        );
        let no_trailing_comma = "cargo_migrate::migrator! {\n    m1_a\n}\n";
        assert_eq!(
            register(&source(no_trailing_comma), "m2_b").unwrap(),
            "cargo_migrate::migrator! {\n    m1_a,\n    m2_b,\n}\n"
        );
        let with_table = "cargo_migrate::migrator! { table = \"v\"; }\n";
        assert_eq!(
            register(&source(with_table), "m1_a").unwrap(),
            "cargo_migrate::migrator! { table = \"v\";\n    m1_a, }\n"
        );
    }

    #[test]
    fn a_register_list_gets_a_mod_line_and_an_entry() {
        let lib = "//! docs\nmod m1_a;\n\ncargo_migrate::register! {\n    m1_a,\n}\n";
        assert_eq!(
            register(&source(lib), "m2_b").unwrap(),
            "//! docs\nmod m1_a;\nmod m2_b;\n\ncargo_migrate::register! {\n    m1_a,\n    m2_b,\n}\n"
        );
        let discover = "cargo_migrate::discover!();\n";
        assert_eq!(register(&source(discover), "m2_b").unwrap(), discover);
    }

    #[test]
    fn a_sea_orm_cli_lib_gets_a_mod_line_and_a_vec_entry() {
        let lib = "pub use sea_orm_migration::prelude::*;\n\nmod m20220101_000001_create_table;\n\npub struct Migrator;\n\n#[async_trait::async_trait]\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> {\n        vec![Box::new(m20220101_000001_create_table::Migration)]\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(vec![1], vec![1]); }\n}\n";
        let out = register(&source(lib), "m20261123_000000_add_users").unwrap();
        assert_eq!(
            out,
            "pub use sea_orm_migration::prelude::*;\n\nmod m20220101_000001_create_table;\nmod m20261123_000000_add_users;\n\npub struct Migrator;\n\n#[async_trait::async_trait]\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> {\n        vec![\n            Box::new(m20220101_000001_create_table::Migration),\n            Box::new(m20261123_000000_add_users::Migration),\n        ]\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(vec![1], vec![1]); }\n}\n"
        );
        // A `mod` after the vec (tests at the bottom) and one inside `mod tests { }`.
        let tail = "pub use sea_orm_migration::prelude::*;\n\nmod m1_a;\n\npub struct Migrator;\n\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> {\n        vec![Box::new(m1_a::Migration)]\n    }\n}\n\n// Tests of the migrations — run with cargo test.\n#[cfg(test)]\nmod tests { mod inner; }\n#[cfg(test)]\nmod more_tests;\n";
        let after_tail = register(&source(tail), "m2_b").unwrap();
        let out_tail = &after_tail;
        assert!(
            out_tail.contains("mod more_tests;\nmod m2_b;"),
            "{out_tail}"
        );
        assert!(
            out_tail.contains("// Tests of the migrations — run with cargo test.\n#[cfg(test)]"),
            "{out_tail}"
        );
        assert!(
            out_tail.contains("Box::new(m1_a::Migration),\n            Box::new(m2_b::Migration),"),
            "{out_tail}"
        );
        // No `mod` line yet: the first one goes after the crate's docs and attributes.
        let bare = "//! docs\n#![allow(dead_code)]\npub use sea_orm_migration::prelude::*;\npub struct Migrator;\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> {\n        vec![]\n    }\n}\n";
        let first = register(&source(bare), "m1_a").unwrap();
        assert!(
            first.starts_with("//! docs\n#![allow(dead_code)]\nmod m1_a;\n\npub use"),
            "{first}"
        );
        // Once multi-line, it stays as the user formats it.
        let again = register(&source(&out), "m20261124_000000_more").unwrap();
        assert!(again.contains("            Box::new(m20261123_000000_add_users::Migration),\n            Box::new(m20261124_000000_more::Migration),\n        ]"), "{again}");
    }
}
