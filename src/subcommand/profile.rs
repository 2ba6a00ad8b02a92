//! The dev-profile overrides `init` writes into the workspace's root manifest: the crates
//! a database connection spends its CPU in, built with optimisation in debug builds too.
//! Unoptimised, PostgreSQL's SCRAM-SHA-256 authentication (its default) costs every
//! migration command about 85 ms of CPU, under 20 ms with these; a TLS handshake 4 ms. A
//! named `[profile.dev.package]` override applies to that package wherever the workspace
//! uses it (the application's own build too): one artifact, never a second build.
//!
//! Only absent keys are added, comments and layout are kept, and nothing is added where
//! the user already chose how dependencies are optimised (`opt-level` in `[profile.dev]`
//! or in `[profile.dev.package."*"]`). Every package named is in the migration crate's
//! dependency graph for the backends given: cargo warns on every build about a name
//! that matches nothing.

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use super::backend::Backend;

/// TLS, which every backend can negotiate (the runtime uses sqlx's rustls with ring):
/// the handshake's key exchange and signatures run in ring (C and Rust). rustls itself
/// is left out: its share of a handshake is small and it costs minutes to optimise.
const TLS: &[(&str, i64)] = &[("ring", 3), ("rustls-webpki", 3), ("untrusted", 3)];

/// SCRAM-SHA-256: its 4,096 HMAC rounds run in these crates and in generic code that
/// `sqlx-postgres` instantiates. `opt-level = 1` there measured faster than 3 (it then
/// shares the optimised generic code of the crates above) and compiles in a fraction of
/// the time.
const SCRAM: &[(&str, i64)] = &[
    ("sha2", 3),
    ("hmac", 3),
    ("digest", 3),
    ("block-buffer", 3),
    ("crypto-common", 3),
    ("hybrid-array", 3),
    ("sqlx-postgres", 1),
];

/// Above a `[profile.dev.package]` table that `init` creates (or makes visible).
const COMMENT: &str = "\n# Optimise the crates a database connection spends its CPU in (TLS, SCRAM authentication)\n# in debug builds too: unoptimised, they add tens of milliseconds to every migration\n# command. Written by `cargo migrate init`.\n";

/// The packages to optimise for a migration crate with these backends, and their
/// `opt-level`.
pub(crate) fn packages(backends: &[Backend]) -> Vec<(&'static str, i64)> {
    let mut names = TLS.to_vec();
    if backends.contains(&Backend::Postgres) {
        names.extend(SCRAM);
    }
    names
}

/// `text` with the overrides for `backends` that are absent added, or `None` when there
/// is nothing to add (or `text` is not TOML: `init` has already refused that).
pub(crate) fn with_overrides(text: &str, backends: &[Backend]) -> Option<String> {
    let mut doc: DocumentMut = text.parse().ok()?;
    add_overrides(&mut doc, &packages(backends)).then(|| doc.to_string())
}

/// Adds each `(package, opt-level)` under `[profile.dev.package]` where that package has
/// no `opt-level`; whether anything was added.
pub(crate) fn add_overrides(doc: &mut DocumentMut, levels: &[(&str, i64)]) -> bool {
    let dev = doc.get("profile").and_then(|p| p.get("dev"));
    let chosen = dev.is_some_and(|d| {
        d.get("opt-level").is_some()
            || d.get("package")
                .and_then(|p| p.get("*"))
                .is_some_and(|all| all.get("opt-level").is_some())
    });
    if chosen {
        return false;
    }
    let Some(package) = table_at(doc.as_table_mut(), &["profile", "dev", "package"]) else {
        return false;
    };
    let was_hidden = package.get_values().is_empty();
    let mut added = false;
    for &(name, level) in levels {
        match package.get_mut(name) {
            None => {
                let mut entry = InlineTable::new();
                entry.insert("opt-level", Value::from(level));
                package.insert(name, Item::Value(Value::InlineTable(entry)));
                added = true;
            }
            Some(Item::Value(Value::InlineTable(table))) => {
                if !table.contains_key("opt-level") {
                    table.insert("opt-level", Value::from(level));
                    table.fmt();
                    added = true;
                }
            }
            Some(item) => {
                if let Some(table) = item.as_table_mut()
                    && !table.contains_key("opt-level")
                {
                    table.insert("opt-level", toml_edit::value(level));
                    added = true;
                }
            }
        }
    }
    if added && was_hidden {
        package.set_implicit(false);
        package.decor_mut().set_prefix(COMMENT);
    }
    added
}

/// Above the migration crate's own entry.
const LINE_TABLES: &str = "# The migration crate with line tables only (panics and backtraces keep their lines):\n# adding a migration then recompiles about a third faster. Written by `cargo migrate init`.\n";

/// `text` with `[profile.dev.package.<krate>] debug = "line-tables-only"` added, or
/// `None` when the user already chose (`debug` in `[profile.dev]` or for that package)
/// or `text` is not TOML. Adding a migration recompiles the whole crate, and most of its
/// code generation is debug information: at 500 migrations this took the rebuild from
/// 7.6 to 5.4 s (README, "The developer loop").
pub(crate) fn with_line_tables(text: &str, krate: &str) -> Option<String> {
    let mut doc: DocumentMut = text.parse().ok()?;
    let dev = doc.get("profile").and_then(|p| p.get("dev"));
    let chosen = dev.is_some_and(|d| {
        d.get("debug").is_some()
            || d.get("package")
                .and_then(|p| p.get(krate))
                .is_some_and(|own| own.get("debug").is_some())
    });
    if chosen {
        return None;
    }
    let package = table_at(doc.as_table_mut(), &["profile", "dev", "package"])?;
    match package.get_mut(krate) {
        None => {
            let mut entry = InlineTable::new();
            entry.insert("debug", Value::from("line-tables-only"));
            package.insert(krate, Item::Value(Value::InlineTable(entry)));
            if let Some(mut key) = package.key_mut(krate) {
                key.leaf_decor_mut().set_prefix(format!("\n{LINE_TABLES}"));
            }
            // An inline entry needs the table's header.
            package.set_implicit(false);
        }
        Some(Item::Value(Value::InlineTable(table))) => {
            table.insert("debug", Value::from("line-tables-only"));
            table.fmt();
        }
        Some(item) => {
            item.as_table_mut()?
                .insert("debug", toml_edit::value("line-tables-only"));
        }
    }
    Some(doc.to_string())
}

/// The table at `path`, created (without a header of its own) where absent; `None` if
/// something on the way is not a standard table (an inline table, a value).
fn table_at<'a>(mut table: &'a mut Table, path: &[&str]) -> Option<&'a mut Table> {
    for key in path {
        table = table
            .entry(key)
            .or_insert_with(|| {
                let mut fresh = Table::new();
                fresh.set_implicit(true);
                Item::Table(fresh)
            })
            .as_table_mut()?;
    }
    Some(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMENT_TEXT: &str = "
# Optimise the crates a database connection spends its CPU in (TLS, SCRAM authentication)
# in debug builds too: unoptimised, they add tens of milliseconds to every migration
# command. Written by `cargo migrate init`.
";

    #[test]
    fn a_manifest_without_profiles_gets_one_commented_table_after_the_rest() {
        let text = r#"[package]
name = "app" # the application

[dependencies]
serde = "1"

[workspace]
members = ["migration"]
"#;
        let out = with_overrides(text, &[Backend::Postgres]).unwrap();
        assert_eq!(
            out,
            format!(
                r#"{text}{COMMENT_TEXT}[profile.dev.package]
ring = {{ opt-level = 3 }}
rustls-webpki = {{ opt-level = 3 }}
untrusted = {{ opt-level = 3 }}
sha2 = {{ opt-level = 3 }}
hmac = {{ opt-level = 3 }}
digest = {{ opt-level = 3 }}
block-buffer = {{ opt-level = 3 }}
crypto-common = {{ opt-level = 3 }}
hybrid-array = {{ opt-level = 3 }}
sqlx-postgres = {{ opt-level = 1 }}
"#
            )
        );
        assert_eq!(
            with_overrides(&out, &[Backend::Postgres]),
            None,
            "a second run adds nothing"
        );
        let sqlite = with_overrides(text, &[Backend::Sqlite, Backend::Mysql]).unwrap();
        assert!(
            sqlite.ends_with("[profile.dev.package]\nring = { opt-level = 3 }\nrustls-webpki = { opt-level = 3 }\nuntrusted = { opt-level = 3 }\n"),
            "no SCRAM crates without PostgreSQL (cargo warns about names that match nothing):\n{sqlite}"
        );
    }

    #[test]
    fn existing_profiles_and_the_users_values_are_kept() {
        let text = r#"[workspace]
members = ["app"]

[profile.dev.package."*"]
debug = false # faster links

[profile.dev.package.ring]
opt-level = 1

[profile.dev.package.rustls-webpki]
debug = true

[profile.dev.package]
untrusted = {debug=true}

[profile.release]
lto = true
"#;
        assert_eq!(
            with_overrides(text, &[Backend::Sqlite]).unwrap(),
            r#"[workspace]
members = ["app"]

[profile.dev.package."*"]
debug = false # faster links

[profile.dev.package.ring]
opt-level = 1

[profile.dev.package.rustls-webpki]
debug = true
opt-level = 3

[profile.dev.package]
untrusted = { debug = true, opt-level = 3 }

[profile.release]
lto = true
"#
        );
    }

    #[test]
    fn a_package_table_implied_by_another_gets_its_header_and_comment() {
        let text = "[workspace]\nmembers = [\"app\"]\n\n[profile.dev.package.\"*\"]\ndebug = false\n\n[profile.release]\nlto = true\n";
        assert_eq!(
            with_overrides(text, &[Backend::Mysql]).unwrap(),
            format!(
                r#"[workspace]
members = ["app"]
{COMMENT_TEXT}[profile.dev.package]
ring = {{ opt-level = 3 }}
rustls-webpki = {{ opt-level = 3 }}
untrusted = {{ opt-level = 3 }}

[profile.dev.package."*"]
debug = false

[profile.release]
lto = true
"#
            )
        );
    }

    #[test]
    fn this_repositorys_own_manifest_has_them() {
        let text = include_str!("../../Cargo.toml");
        let all = [Backend::Sqlite, Backend::Postgres, Backend::Mysql];
        assert_eq!(with_overrides(text, &all), None);
    }

    #[test]
    fn an_opt_level_for_every_dependency_is_the_users_choice() {
        for text in [
            "[profile.dev]\nopt-level = 1\n",
            "[profile.dev.package.\"*\"]\nopt-level = 2\n",
            "profile = 3\n",
            "[profile\n",
        ] {
            assert_eq!(with_overrides(text, &[Backend::Postgres]), None, "{text}");
        }
    }

    #[test]
    fn the_migration_crate_gets_line_tables_unless_debug_info_was_chosen() {
        let text = "[package]\nname = \"app\"\n";
        let out = with_overrides(text, &[Backend::Sqlite]).unwrap();
        let out = with_line_tables(&out, "migration").unwrap();
        assert!(
            out.ends_with(&format!(
                "untrusted = {{ opt-level = 3 }}\n\n{LINE_TABLES}migration = {{ debug = \"line-tables-only\" }}\n"
            )),
            "{out}"
        );
        let parsed: DocumentMut = out.parse().unwrap();
        assert_eq!(
            parsed["profile"]["dev"]["package"]["migration"]["debug"].as_str(),
            Some("line-tables-only")
        );
        // Alone, in a manifest with no profile yet.
        let alone = with_line_tables(text, "migration").unwrap();
        let parsed: DocumentMut = alone.parse().unwrap();
        assert_eq!(
            parsed["profile"]["dev"]["package"]["migration"]["debug"].as_str(),
            Some("line-tables-only"),
            "{alone}"
        );
        for chosen in [
            "[profile.dev]\ndebug = 0\n",
            "[profile.dev.package.migration]\ndebug = true\n",
        ] {
            assert_eq!(with_line_tables(chosen, "migration"), None, "{chosen}");
        }
        let tuned = "[profile.dev.package.migration]\nopt-level = 1\n";
        let out = with_line_tables(tuned, "migration").unwrap();
        assert_eq!(
            out,
            "[profile.dev.package.migration]\nopt-level = 1\ndebug = \"line-tables-only\"\n"
        );
    }
}
