//! How a migration crate tells the runtime about its revisions.
//!
//! Each migration file declares the revision(s) it revises in a constant beside the
//! migration, visible in review like Alembic's `down_revision`:
//!
//! ```ignore
//! /// The revisions this one applies on top of (`&[]` for the first one; two or more
//! /// for a merge).
//! pub const REVISES: &[&str] = &["m20261120_090000_create_users"];
//!
//! pub struct Migration;
//! impl MigrationName for Migration {
//!     fn name(&self) -> &str { "m20261122_101500_add_posts" }
//! }
//! ```
//!
//! and the crate's `lib.rs` registers the modules with [`migrator!`](crate::migrator),
//! which declares them and implements both sea-orm-migration's `MigratorTrait` (so
//! `Migrator::up` and sea-orm-cli keep working) and [`Migrations`] (the graph the
//! runtime uses). A legacy sea-orm-cli crate, whose migrations declare nothing, is
//! read through [`Legacy`] as a chain in `migrations()` order.

use std::marker::PhantomData;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

use crate::graph::Node;

/// One registered migration with what it revises.
pub struct Revision {
    pub(crate) migration: Box<dyn MigrationTrait>,
    /// `None`: a legacy migration, which revises the one registered before it.
    pub(crate) parents: Option<Vec<String>>,
    /// Path of the source file relative to the crate root, when known.
    pub(crate) path: Option<&'static str>,
    /// The module's source (compiled in by `migrator!`), when known.
    pub(crate) source: Option<&'static str>,
    /// Its checksum, computed when first asked for: verbs that never compare
    /// checksums (`history`, `heads`, ...) do not lex every migration at start-up.
    pub(crate) checksum: std::sync::OnceLock<Option<String>>,
}

impl Revision {
    /// A migration that revises `parents` (`&[]` for a base revision).
    pub fn new(migration: impl MigrationTrait + 'static, parents: &[&str]) -> Self {
        Revision {
            migration: Box::new(migration),
            parents: Some(parents.iter().map(|p| p.to_string()).collect()),
            path: None,
            source: None,
            checksum: std::sync::OnceLock::new(),
        }
    }

    /// A migration that declares no parents: it revises the previously registered one.
    pub fn legacy(migration: Box<dyn MigrationTrait>) -> Self {
        Revision {
            migration,
            parents: None,
            path: None,
            source: None,
            checksum: std::sync::OnceLock::new(),
        }
    }

    pub fn with_path(mut self, path: &'static str) -> Self {
        self.path = Some(path);
        self
    }

    /// The module's source, checksummed so an edit after it was applied shows up.
    pub fn with_source(mut self, source: &'static str) -> Self {
        self.source = Some(source);
        self
    }

    pub fn checksum(&self) -> Option<&str> {
        self.checksum
            .get_or_init(|| self.source.map(crate::checksum::of_source))
            .as_deref()
    }

    pub fn id(&self) -> &str {
        self.migration.name()
    }

    pub(crate) fn node(&self) -> Node {
        Node {
            id: self.id().to_string(),
            parents: self.parents.clone(),
        }
    }
}

/// The migrations of a crate, as a revision graph. Implemented by
/// [`migrator!`](crate::migrator); [`Legacy`] adapts a plain `MigratorTrait`.
pub trait Migrations {
    fn revisions() -> Vec<Revision>;

    /// The tracking table, sea-orm-migration's by default.
    fn table_name() -> String {
        "seaql_migrations".to_string()
    }
}

/// A sea-orm-cli migration crate used as it is: its `migrations()` are a chain.
pub struct Legacy<M>(PhantomData<M>);

impl<M: MigratorTrait> Migrations for Legacy<M> {
    fn revisions() -> Vec<Revision> {
        M::migrations().into_iter().map(Revision::legacy).collect()
    }

    fn table_name() -> String {
        M::migration_table_name().to_string()
    }
}

/// Declares the migration modules of a crate, in the order they were created, and the
/// `Migrator` that lists them:
///
/// ```ignore
/// cargo_migrate::migrator! {
///     m20261120_090000_create_users,
///     m20261122_101500_add_posts,
/// }
/// ```
///
/// Each module is a file `src/<module>.rs` beside `lib.rs`, and must define
/// `pub struct Migration` (implementing `MigrationTrait`) and `pub const REVISES:
/// &[&str]`. Its source is compiled in for its checksum. An optional first line
/// `table = "name";` sets the tracking table (default `seaql_migrations`).
#[macro_export]
macro_rules! migrator {
    (table = $table:literal; $($module:ident),+ $(,)?) => {
        $crate::migrator!(@impl $table; $($module),+);
    };
    ($($module:ident),+ $(,)?) => {
        $crate::migrator!(@impl "seaql_migrations"; $($module),+);
    };
    (@impl $table:literal; $($module:ident),+) => {
        $(mod $module;)+

        /// The migrations of this crate, for sea-orm-migration and for cargo-migrate.
        pub struct Migrator;

        impl $crate::sea_orm_migration::MigratorTrait for Migrator {
            fn migrations() -> ::std::vec::Vec<::std::boxed::Box<dyn $crate::sea_orm_migration::MigrationTrait>> {
                ::std::vec![$(::std::boxed::Box::new($module::Migration)),+]
            }

            fn migration_table_name() -> $crate::sea_orm_migration::sea_orm::DynIden {
                $crate::sea_orm_migration::sea_query::IntoIden::into_iden($table)
            }
        }

        impl $crate::Migrations for Migrator {
            fn revisions() -> ::std::vec::Vec<$crate::Revision> {
                ::std::vec![$(
                    $crate::Revision::new($module::Migration, $module::REVISES)
                        .with_path(concat!("src/", stringify!($module), ".rs"))
                        .with_source(include_str!(concat!(stringify!($module), ".rs")))
                ),+]
            }

            fn table_name() -> ::std::string::String {
                ::std::string::String::from($table)
            }
        }
    };
}
