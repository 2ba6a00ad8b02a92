//! `verify`: does the live database have the schema its applied migrations build? The
//! applied revisions are replayed into a scratch database (`engine::scratch`), both are
//! read with `engine::inspect`, and `model::schema_diff` says what differs: a column
//! someone added by hand, an index dropped, a type changed, a table nobody migrated.
//! The tracking tables are left out; so are extension-owned objects (the inspector's
//! rule) and the tables a caller's include/exclude patterns leave out.

use sea_orm_migration::SchemaManager;
use sea_orm_migration::sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::engine::connect::Db;
use crate::engine::inspect::{dialect, inspect};
use crate::engine::runtime::{Observer, Runtime, State};
use crate::engine::scratch::Scratch;
use crate::engine::url::DbUrl;
use crate::error::{Error, Result};
use crate::model::schema::Schema;
use crate::model::schema_diff::{Change, diff};

/// What `verify` compares.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A database to build the expected schema in, for a user who may not create one.
    pub dev_url: Option<DbUrl>,
    /// Only tables matching one of these patterns (`*` matches any run of characters);
    /// all when empty.
    pub include: Vec<String>,
    /// Never tables matching one of these.
    pub exclude: Vec<String>,
}

/// `verify`'s answer.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// What turns the schema the migrations build into the live one; empty when they
    /// match.
    pub changes: Vec<Change>,
    /// The applied revisions replayed.
    pub replayed: usize,
    /// The tables compared (live side, after filtering).
    pub tables: usize,
}

impl Verification {
    /// The live schema is the migrations' schema.
    pub fn matches(&self) -> bool {
        self.changes.is_empty()
    }
}

impl Runtime {
    /// Compares `db`'s schema with the one its applied revisions build, replayed in a
    /// scratch database that is always removed. Read-only on `db`.
    pub async fn verify(
        &self,
        db: &Db,
        opts: &VerifyOptions,
        observer: &mut dyn Observer,
    ) -> Result<Verification> {
        let state = self.state(db).await?;
        self.replayable(&state)?;
        let revisions: Vec<usize> = self
            .graph()
            .topo_order()
            .iter()
            .copied()
            .filter(|&r| state.applied[r])
            .collect();
        let scratch =
            Scratch::create(db.url(), opts.dev_url.as_ref(), "verify", "`verify`").await?;
        let expected = tokio::select! {
            built = self.build_replayed(&scratch, &revisions) => built,
            _ = tokio::signal::ctrl_c() => Err(Error::Cancelled),
        };
        if let Err(left) = scratch.remove().await {
            observer.warning(&left);
        }
        let mut expected = expected?;
        let mut live = inspect(db.connection(), db.url().creation_schema().as_deref())
            .await
            .map_err(|e| db.error(e))?;
        for schema in [&mut expected, &mut live] {
            self.keep_compared(schema, opts);
        }
        Ok(Verification {
            changes: diff(&expected, &live, dialect(db.backend())),
            replayed: revisions.len(),
            tables: live.tables.len(),
        })
    }

    /// A database whose history cannot be replayed: revisions this crate does not have,
    /// or a step that failed part-way.
    fn replayable(&self, state: &State) -> Result<()> {
        if let Some(row) = state.unknown.first() {
            return Err(Error::Database(format!(
                "the database has revision `{}` applied, which this migration crate does not \
                 have: its schema cannot be rebuilt to compare; run `verify` with the crate \
                 that applied it",
                row.version
            )));
        }
        if let Some(id) = state.half_applied().first() {
            return Err(Error::Database(format!(
                "`{id}` failed part-way on this database, so what it left is unknown; resolve \
                 it first (see `cargo migrate status`)"
            )));
        }
        Ok(())
    }

    /// Runs the `up` of each of `revisions`, in order, on `conn`: no tracking rows, no
    /// transactions (a scratch database has nothing to protect).
    pub(crate) async fn replay_into(
        &self,
        conn: &DatabaseConnection,
        revisions: &[usize],
    ) -> std::result::Result<(), (usize, sea_orm_migration::sea_orm::DbErr)> {
        let manager = SchemaManager::new(conn);
        for &rev in revisions {
            let migration = self.revision(rev).migration.as_ref();
            migration.up(&manager).await.map_err(|e| (rev, e))?;
        }
        Ok(())
    }

    /// Leaves out the tracking tables and what `opts` filters out.
    fn keep_compared(&self, schema: &mut Schema, opts: &VerifyOptions) {
        let tracking = [self.tracking().table(), self.tracking().meta_table()];
        schema.retain_tables(|t| {
            !tracking.contains(&t)
                && (opts.include.is_empty() || opts.include.iter().any(|p| glob(p, t)))
                && !opts.exclude.iter().any(|p| glob(p, t))
        });
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("audit_*", "audit_log"));
        assert!(glob("*_log", "audit_log"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(glob("post", "post"));
        assert!(!glob("post", "post_tag"));
        assert!(!glob("a*b*c", "acb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("*", "anything"));
    }
}
