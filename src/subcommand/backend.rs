//! The database backends a migration crate is built for: named on the command line
//! (`init --database`), read from a database URL or from the features a crate enables
//! on sea-orm, and turned into cargo-migrate's feature names.

use sea_orm_migration::sea_orm::DbBackend;

use crate::engine::url::{DbUrl, feature_name};

/// A database backend, as `--database` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    /// The backend a database URL names.
    pub(crate) fn of(url: &DbUrl) -> Backend {
        match url.backend() {
            DbBackend::Postgres => Backend::Postgres,
            DbBackend::MySql => Backend::Mysql,
            _ => Backend::Sqlite,
        }
    }

    /// The backends a sea-orm or sea-orm-migration feature enables.
    pub(crate) fn of_sea_orm_feature(feature: &str) -> &'static [Backend] {
        match feature {
            "sqlx-postgres" => &[Backend::Postgres],
            "sqlx-mysql" => &[Backend::Mysql],
            "sqlx-sqlite" => &[Backend::Sqlite],
            "sqlx-all" => &[Backend::Postgres, Backend::Mysql, Backend::Sqlite],
            _ => &[],
        }
    }

    /// cargo-migrate's feature for this backend.
    pub(crate) fn feature(self) -> &'static str {
        feature_name(self.db_backend())
    }

    /// sea-orm's name for this backend.
    fn db_backend(self) -> DbBackend {
        match self {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
            Backend::Mysql => DbBackend::MySql,
        }
    }
}
