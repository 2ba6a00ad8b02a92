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
//! The crate's `lib.rs` says `cargo_migrate::discover!();` and its `build.rs` (written by
//! `cargo migrate init`) finds the modules when the crate is built: every
//! `src/m<YYYYMMDD>_<HHMMSS>_<name>.rs` is one, declared as a plain `mod` item, so adding
//! a migration edits no shared file and recompiles that one module, not all of them.
//! [`register!`](crate::register) implements both sea-orm-migration's `MigratorTrait` (so
//! `Migrator::up` and sea-orm-cli keep working) and [`Migrations`] (the graph the runtime
//! uses) for the modules it is given; a crate that prefers to list its modules itself
//! declares them (`mod m1;`) and lists them in `register! { m1, ... }`, or lets
//! [`migrator!`](crate::migrator) declare them too (each addition then recompiles every
//! module). A legacy sea-orm-cli crate, whose migrations declare nothing, is read
//! through [`Legacy`] as a chain in `migrations()` order.

use std::marker::PhantomData;

use sea_orm_migration::{MigrationTrait, MigratorTrait};

use crate::model::graph::Node;
use crate::model::sql::SqlFile;

/// What `register!` knows of a module besides its migration: `REVISES`, its path
/// relative to the crate, its source and its SQL files.
#[doc(hidden)]
pub type Parts = (
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static [SqlFile],
);

/// One registered migration with what it revises.
pub struct Revision {
    pub(crate) migration: Box<dyn MigrationTrait>,
    /// `None`: a legacy migration, which revises the one registered before it.
    pub(crate) parents: Option<Vec<String>>,
    /// Path of the source file relative to the crate root, when known.
    pub(crate) path: Option<&'static str>,
    /// The module's source (compiled in by `register!`), when known.
    pub(crate) source: Option<&'static str>,
    /// The SQL files it runs (see [`crate::sql`]).
    pub(crate) files: &'static [SqlFile],
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
            files: &[],
            checksum: std::sync::OnceLock::new(),
        }
    }

    /// The revisions `register!` lists: its migrations, each with its row of `parts`.
    #[doc(hidden)]
    pub fn registered(
        migrations: Vec<Box<dyn MigrationTrait>>,
        parts: &'static [Parts],
    ) -> Vec<Revision> {
        debug_assert_eq!(migrations.len(), parts.len());
        migrations
            .into_iter()
            .zip(parts)
            .map(|(migration, &(parents, path, source, files))| Revision {
                migration,
                parents: Some(parents.iter().map(|p| p.to_string()).collect()),
                path: Some(path),
                source: Some(source),
                files,
                checksum: std::sync::OnceLock::new(),
            })
            .collect()
    }

    /// A migration that declares no parents: it revises the previously registered one.
    pub fn legacy(migration: Box<dyn MigrationTrait>) -> Self {
        Revision {
            migration,
            parents: None,
            path: None,
            source: None,
            files: &[],
            checksum: std::sync::OnceLock::new(),
        }
    }

    /// The migration's file, as `src/<module>.rs`.
    pub fn with_path(mut self, path: &'static str) -> Self {
        self.path = Some(path);
        self
    }

    /// The module's source, checksummed so an edit after it was applied shows up.
    pub fn with_source(mut self, source: &'static str) -> Self {
        self.source = Some(source);
        self
    }

    /// The checksum of the module's source and its SQL files; `None` when the source is
    /// not known or a SQL file cannot be read.
    pub fn checksum(&self) -> Option<&str> {
        self.checksum
            .get_or_init(|| {
                let source = self.source?;
                let texts = self
                    .files
                    .iter()
                    .map(|f| f.text().ok().map(|t| (f.path(), t)))
                    .collect::<Option<Vec<_>>>()?;
                let files: Vec<(&str, &str)> = texts.iter().map(|(p, t)| (*p, &**t)).collect();
                Some(crate::model::checksum::of_migration(source, &files))
            })
            .as_deref()
    }

    /// The module's name, from its path (`src/<module>.rs`).
    pub(crate) fn module(&self) -> Option<&str> {
        let file = self.path?.rsplit('/').next()?;
        file.strip_suffix(".rs")
    }

    /// The revision's id: its migration's name.
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
    /// The crate's revisions, in registration order.
    fn revisions() -> Vec<Revision>;

    /// The tracking table, sea-orm-migration's by default.
    fn table_name() -> String {
        "seaql_migrations".to_string()
    }

    /// The directory of the migration files, as it was when the crate was compiled, so
    /// that a file the binary does not contain is named (a module left out of an explicit
    /// list, or one added since this binary was built). `None`: not known.
    fn source_dir() -> Option<&'static str> {
        None
    }

    /// Whether the modules were found at build time (`discover!`) rather than listed.
    fn discovered() -> bool {
        false
    }
}

/// Whether a file name's stem is a migration module's: `m`, 8 digits, `_`, 6 digits, then
/// nothing or `_` and a name (sea-orm-migration's ids). The build script `cargo migrate
/// init` writes applies the same rule.
pub fn is_migration_module(stem: &str) -> bool {
    let b = stem.as_bytes();
    b.len() >= 16
        && b[0] == b'm'
        && b[1..9].iter().all(u8::is_ascii_digit)
        && b[9] == b'_'
        && b[10..16].iter().all(u8::is_ascii_digit)
        && (b.len() == 16
            || (b[16] == b'_'
                && b[17..]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_')))
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

/// The crate's migrations, found when it is built: every `src/m<YYYYMMDD>_<HHMMSS>_<name>.rs`
/// is a module. Put this in `lib.rs`; the crate's `build.rs` (which `cargo migrate init`
/// writes) lists the files and declares them as plain `mod` items, so adding one
/// recompiles just that module and edits no shared file. An optional
/// `table = "name"` sets the tracking table (default `seaql_migrations`):
///
/// ```ignore
/// cargo_migrate::discover!();
/// ```
#[macro_export]
macro_rules! discover {
    () => {
        $crate::discover!(table = "seaql_migrations");
    };
    (table = $table:literal $(,)?) => {
        use $crate as __cargo_migrate;
        const __CARGO_MIGRATE_TABLE: &str = $table;
        include!(env!(
            "CARGO_MIGRATE_MODULES",
            "`cargo_migrate::discover!()` needs the crate's build.rs that lists its migrations \
             (`cargo migrate init` writes it; see cargo-migrate's README, \"A migration crate\")"
        ));
    };
}

/// Implements the crate's `Migrator` for modules declared elsewhere (`mod m1;` lines
/// in `lib.rs`, or what `discover!` generates), in the order given:
///
/// ```ignore
/// mod m20261120_090000_create_users;
/// mod m20261122_101500_add_posts;
///
/// cargo_migrate::register! {
///     m20261120_090000_create_users,
///     m20261122_101500_add_posts,
/// }
/// ```
///
/// Each module is a file `src/<module>.rs` beside `lib.rs`, and must define
/// `pub struct Migration` (implementing `MigrationTrait`) and `pub const REVISES:
/// &[&str]`. Its source is compiled in for its checksum. An optional first line
/// `table = "name";` sets the tracking table (default `seaql_migrations`). A migration
/// file in `src/` that the list leaves out is named by every verb, and `check` fails.
#[macro_export]
macro_rules! register {
    (@discovered $table:expr; $($module:ident = $path:literal),* $(,)?) => {
        $crate::register!(@impl true, $table; $($module [$path]),*);
    };
    (table = $table:expr; $($module:ident),* $(,)?) => {
        $crate::register!(@impl false, $table; $($module [concat!(stringify!($module), ".rs")]),*);
    };
    ($($module:ident),* $(,)?) => {
        $crate::register!(@impl false, "seaql_migrations"; $($module [concat!(stringify!($module), ".rs")]),*);
    };
    (@impl $discovered:expr, $table:expr; $($module:ident [$path:expr]),*) => {
        /// The migrations of this crate, for sea-orm-migration and for cargo-migrate.
        pub struct Migrator;

        impl $crate::sea_orm_migration::MigratorTrait for Migrator {
            fn migrations() -> ::std::vec::Vec<::std::boxed::Box<dyn $crate::sea_orm_migration::MigrationTrait>> {
                ::std::vec![$(::std::boxed::Box::new($module::Migration)),*]
            }

            fn migration_table_name() -> $crate::sea_orm_migration::sea_orm::DynIden {
                $crate::sea_orm_migration::sea_query::IntoIden::into_iden($table)
            }
        }

        impl $crate::Migrations for Migrator {
            fn revisions() -> ::std::vec::Vec<$crate::Revision> {
                // Data, not code: adding a migration adds a row here, so the crate
                // compiles no more per migration than sea-orm-migration's own list.
                #[allow(unused_imports)]
                use $crate::__private::NoSqlFiles as _;
                const PARTS: &[$crate::__private::Parts] = &[$(
                    (
                        $module::REVISES,
                        concat!("src/", stringify!($module), ".rs"),
                        include_str!($path),
                        $module::Migration::SQL_FILES,
                    )
                ),*];
                $crate::Revision::registered(
                    <Self as $crate::sea_orm_migration::MigratorTrait>::migrations(),
                    PARTS,
                )
            }

            fn table_name() -> ::std::string::String {
                ::std::string::String::from($table)
            }

            fn source_dir() -> ::std::option::Option<&'static str> {
                ::std::option::Option::Some(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
            }

            fn discovered() -> bool {
                $discovered
            }
        }
    };
}

/// Declares the migration modules of a crate, in the order they were created, and
/// implements its `Migrator` as [`register!`](crate::register) does:
///
/// ```ignore
/// cargo_migrate::migrator! {
///     m20261120_090000_create_users,
///     m20261122_101500_add_posts,
/// }
/// ```
///
/// The modules are declared inside the macro, so adding one recompiles every module;
/// prefer [`discover!`](crate::discover) (or `mod` lines and `register!`). An optional
/// first line `table = "name";` sets the tracking table.
#[macro_export]
macro_rules! migrator {
    (table = $table:literal; $($module:ident),+ $(,)?) => {
        $(mod $module;)+
        $crate::register!(table = $table; $($module),+);
    };
    ($($module:ident),+ $(,)?) => {
        $(mod $module;)+
        $crate::register!($($module),+);
    };
}
