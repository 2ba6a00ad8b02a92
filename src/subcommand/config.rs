//! Configuration from `[workspace.metadata.migrate]` and the migration crate's
//! `[package.metadata.migrate]` (the package's keys win, as cargo suggests for tools).
//! Relative paths are relative to the manifest that declares them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Result, ToolError};

/// Every key the tables may hold (README, "Configuration").
pub(crate) const KEYS: &[&str] = &[
    "package",
    "database-url",
    "schema",
    "templates",
    "table",
    "timezone",
    "entities",
    "sets",
    "lock",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Config {
    /// The migration crate.
    pub(crate) package: Option<String>,
    /// The database URL when no flag, environment variable or `.env` gives one.
    pub(crate) database_url: Option<String>,
    /// The PostgreSQL schema when no flag, environment variable or `.env` gives one.
    pub(crate) schema: Option<String>,
    /// The directory whose templates override the built-in ones.
    pub(crate) templates: Option<PathBuf>,
    /// The tracking table the migration crate must record in.
    pub(crate) table: Option<String>,
    /// The clock of new revision ids (`None`: not set here; UTC).
    pub(crate) timezone: Option<TimeZone>,
    /// The crate of the application's SeaORM entities that `create --autogenerate`
    /// compares with: a package name, optionally followed by `::module::path` to look
    /// only under that module (`subcommand::entities`).
    pub(crate) entities: Option<String>,
    /// The workspace's migration sets, in the order `--all` runs them (`downgrade`
    /// backwards): the migration crates' package names.
    pub(crate) sets: Option<Vec<String>>,
    /// How runs lock each other out (`session`, `transaction`, `table`), when neither
    /// `--lock-strategy` nor `MIGRATE_LOCK_STRATEGY` says.
    pub(crate) lock: Option<crate::model::server::LockStrategy>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeZone {
    #[default]
    Utc,
    Local,
}

impl Config {
    /// The clock of new revision ids.
    pub(crate) fn timezone(&self) -> TimeZone {
        self.timezone.unwrap_or_default()
    }

    /// Reads one `metadata` table (the `migrate` key of it, if any); `base` is the
    /// directory of the manifest it comes from; `what` names the table in messages.
    pub(crate) fn from_metadata(metadata: &Value, base: &Path, what: &str) -> Result<Config> {
        let Some(table) = metadata.get("migrate") else {
            return Ok(Config::default());
        };
        let Some(table) = table.as_object() else {
            return Err(ToolError::usage(format!(
                "`{what}` must be a table, e.g. `[{what}]` with `database-url = \"sqlite://app.db\"`"
            )));
        };
        let mut config = Config::default();
        for (key, value) in table {
            let text = || {
                value.as_str().map(str::to_string).ok_or_else(|| {
                    ToolError::usage(format!("`{key}` in `[{what}]` must be a string"))
                })
            };
            match key.as_str() {
                "package" | "crate" => config.package = Some(text()?),
                "database-url" => config.database_url = Some(text()?),
                "schema" => config.schema = Some(text()?),
                "templates" => config.templates = Some(base.join(text()?)),
                "entities" => {
                    let e = text()?;
                    if e.trim().is_empty() {
                        return Err(ToolError::usage(format!(
                            "`entities` in `[{what}]` must name a package, e.g. `entities = \"entity\"`"
                        )));
                    }
                    config.entities = Some(e);
                }
                "sets" => config.sets = Some(sets(value, what)?),
                "lock" => {
                    config.lock = Some(text()?.parse().map_err(
                        |e: crate::model::server::ParseLockStrategyError| {
                            ToolError::usage(format!("`lock` in `[{what}]`: {e}"))
                        },
                    )?)
                }
                "table" => {
                    let t = text()?;
                    if t.is_empty() || t.len() > 63 {
                        return Err(ToolError::usage(format!(
                            "`table` in `[{what}]` must be a name of 1 to 63 characters"
                        )));
                    }
                    config.table = Some(t);
                }
                "timezone" => {
                    config.timezone = Some(match text()?.to_ascii_lowercase().as_str() {
                        "utc" => TimeZone::Utc,
                        "local" => TimeZone::Local,
                        other => {
                            return Err(ToolError::usage(format!(
                                "`timezone = \"{other}\"` in `[{what}]`: expected \"utc\" or \"local\""
                            )));
                        }
                    })
                }
                other => {
                    return Err(ToolError::usage(format!(
                        "unknown key `{other}` in `[{what}]`; the keys are {}",
                        KEYS.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        Ok(config)
    }

    /// `self` with every key `over` sets replaced.
    pub(crate) fn merged(self, over: Config) -> Config {
        Config {
            package: over.package.or(self.package),
            database_url: over.database_url.or(self.database_url),
            schema: over.schema.or(self.schema),
            templates: over.templates.or(self.templates),
            table: over.table.or(self.table),
            timezone: over.timezone.or(self.timezone),
            entities: over.entities.or(self.entities),
            sets: over.sets.or(self.sets),
            lock: over.lock.or(self.lock),
        }
    }
}

/// The `metadata.migrate` table of a manifest's `[workspace]` or `[package]` table
/// `top`, created (with an implicit `metadata`) if missing; `true` when it was created.
pub(crate) fn migrate_table_mut(
    top: &mut toml_edit::Table,
) -> Option<(&mut toml_edit::Table, bool)> {
    use toml_edit::{Item, Table};
    let metadata = top
        .entry("metadata")
        .or_insert_with(|| {
            let mut fresh = Table::new();
            fresh.set_implicit(true);
            Item::Table(fresh)
        })
        .as_table_mut()?;
    let created = !metadata.contains_key("migrate");
    let migrate = metadata
        .entry("migrate")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()?;
    Some((migrate, created))
}

/// `sets = ["a", "b"]`: package names, each once.
fn sets(value: &Value, what: &str) -> Result<Vec<String>> {
    let wrong = || {
        ToolError::usage(format!(
            "`sets` in `[{what}]` must list the migration crates in the order their migrations \
             run, e.g. `sets = [\"migration\", \"billing_migration\"]`"
        ))
    };
    let names: Vec<String> = value
        .as_array()
        .ok_or_else(wrong)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(wrong))
        .collect::<Result<_>>()?;
    if names.is_empty() {
        return Err(wrong());
    }
    for (k, name) in names.iter().enumerate() {
        if names[..k].contains(name) {
            return Err(ToolError::usage(format!(
                "`sets` in `[{what}]` lists `{name}` twice"
            )));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_read_and_paths_are_relative_to_their_manifest() {
        let c = Config::from_metadata(
            &json!({"migrate": {"package": "db", "database-url": "sqlite://x.db", "schema": "app",
                    "templates": "tpl", "table": "versions", "timezone": "local",
                    "entities": "app::entities", "sets": ["db", "billing"], "lock": "Table"}}),
            Path::new("/ws"),
            "workspace.metadata.migrate",
        )
        .unwrap();
        assert_eq!(c.package.as_deref(), Some("db"));
        assert_eq!(c.templates, Some(PathBuf::from("/ws/tpl")));
        assert_eq!(c.table.as_deref(), Some("versions"));
        assert_eq!(c.schema.as_deref(), Some("app"));
        assert_eq!(c.timezone, Some(TimeZone::Local));
        assert_eq!(c.entities.as_deref(), Some("app::entities"));
        assert_eq!(c.sets, Some(vec!["db".to_string(), "billing".to_string()]));
        assert_eq!(c.lock, Some(crate::model::server::LockStrategy::Table));
    }

    #[test]
    fn an_unknown_lock_strategy_names_the_three() {
        let e = Config::from_metadata(&json!({"migrate": {"lock": "row"}}), Path::new("/"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`lock` in `[t]`"), "{e}");
        assert!(e.contains("`session`, `transaction` or `table`"), "{e}");
    }

    #[test]
    fn the_package_table_wins() {
        let ws = Config {
            package: Some("a".into()),
            database_url: Some("sqlite://a.db".into()),
            ..Config::default()
        };
        let pkg = Config {
            database_url: Some("sqlite://b.db".into()),
            ..Config::default()
        };
        let c = ws.merged(pkg);
        assert_eq!(c.package.as_deref(), Some("a"));
        let local = Config {
            timezone: Some(TimeZone::Local),
            ..Config::default()
        };
        let utc = Config {
            timezone: Some(TimeZone::Utc),
            ..Config::default()
        };
        assert_eq!(local.merged(utc).timezone(), TimeZone::Utc);
        assert_eq!(c.database_url.as_deref(), Some("sqlite://b.db"));
        let ws = Config {
            entities: Some("entity".into()),
            ..Config::default()
        };
        let pkg = Config {
            entities: Some("app::entities".into()),
            ..Config::default()
        };
        assert_eq!(
            ws.clone().merged(Config::default()).entities.as_deref(),
            Some("entity")
        );
        assert_eq!(ws.merged(pkg).entities.as_deref(), Some("app::entities"));
    }

    #[test]
    fn typos_and_wrong_types_are_errors_that_name_the_key() {
        let e = Config::from_metadata(
            &json!({"migrate": {"databse-url": "x"}}),
            Path::new("/"),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`databse-url`") && e.contains("`database-url`"),
            "{e}"
        );
        let e = Config::from_metadata(&json!({"migrate": {"table": 3}}), Path::new("/"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`table`") && e.contains("string"), "{e}");
        let e = Config::from_metadata(
            &json!({"migrate": {"timezone": "mars"}}),
            Path::new("/"),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mars"), "{e}");
        let e = Config::from_metadata(&json!({"migrate": {"entities": ""}}), Path::new("/"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`entities`"), "{e}");
        for bad in [json!("a"), json!([]), json!(["a", 1]), json!(["a", "a"])] {
            let e = Config::from_metadata(&json!({"migrate": {"sets": bad}}), Path::new("/"), "t")
                .unwrap_err()
                .to_string();
            assert!(e.contains("`sets`"), "{e}");
        }
    }
}
