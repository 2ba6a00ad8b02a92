//! The dependency on the runtime that `init` and the runner crate write. It must
//! resolve on the user's machine: a path to the runtime's source when one is given
//! (`--runtime-path`, `CARGO_MIGRATE_RUNTIME_PATH`) or when this binary was built from
//! a source tree that still exists; otherwise the published crate of this version.

use std::path::{Path, PathBuf};

use toml_edit::{Array, InlineTable, Value};

/// Where this binary was built from.
const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");

/// `{ path = "...", default-features = false, features = [...] }` or the same with
/// `version`.
pub fn spec(path: Option<&Path>, features: &[&str]) -> InlineTable {
    let mut table = InlineTable::new();
    match path.map(Path::to_path_buf).or_else(local_source) {
        Some(path) => {
            table.insert("path", Value::from(path.display().to_string()));
        }
        None => {
            let version = env!("CARGO_PKG_VERSION");
            let major_minor: Vec<&str> = version.split('.').take(2).collect();
            table.insert("version", Value::from(major_minor.join(".")));
        }
    }
    table.insert("default-features", Value::from(false));
    let mut list = Array::new();
    for f in features {
        list.push(*f);
    }
    table.insert("features", Value::Array(list));
    table
}

/// The source tree this binary came from, unless it is a registry download.
fn local_source() -> Option<PathBuf> {
    let dir = PathBuf::from(BUILT_FROM);
    let from_registry = dir.components().any(|c| c.as_os_str() == "registry");
    (!from_registry && dir.join("Cargo.toml").is_file() && dir.join("src").join("lib.rs").is_file())
        .then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_is_written_as_a_path_dependency() {
        let spec = spec(Some(Path::new("/opt/cargo migrate")), &["sqlite", "prompt"]).to_string();
        assert_eq!(
            spec,
            r#"{ path = "/opt/cargo migrate", default-features = false, features = ["sqlite", "prompt"] }"#
        );
    }
}
