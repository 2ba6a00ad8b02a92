//! The entities against the migrations: what `create --autogenerate` writes and
//! `check --entities` reports. Both sides are built in one scratch database of the
//! target backend, in turn: the entities' schema (`engine::entities`), then the
//! migrations' up to the head (replayed), each read back by `engine::inspect`. The
//! database a verb was pointed at is only the server the scratch database is created
//! on; nothing in it is read or written.
//!
//! A written revision is checked the same way before it is kept
//! ([`Runtime::check_revision`]): from its parents' schema, its `up` must give the
//! entities' schema exactly, and its `down` its parents' schema again.

use serde::Serialize;

use crate::engine::entities::{self, EntityDef};
use crate::engine::inspect::{dialect, inspect};
use crate::engine::runtime::{Observer, Runtime};
use crate::engine::scratch::Scratch;
use crate::engine::url::DbUrl;
use crate::error::{Error, Result};
use crate::model::graph::ids;
use crate::model::messages;
use crate::model::schema::{Dialect, Rename, Schema};
use crate::model::schema_diff::{Change, diff, is_subsequence};
use sea_orm_migration::SchemaManager;

/// Where the schemas are built, and from which head.
#[derive(Debug, Clone, Default)]
pub struct SchemaOptions {
    /// An empty database to build in, for a user who may not create one.
    pub dev_url: Option<DbUrl>,
    /// The revision whose schema the entities are compared with (default: the single
    /// head).
    pub head: Option<String>,
}

/// The entities against the migrations' schema at a head.
#[derive(Debug, Clone, Serialize)]
pub struct EntityDiff {
    /// The revision compared with (`None`: a crate with no revisions yet).
    pub head: Option<String>,
    /// How the backend's types compare.
    pub dialect: Dialect,
    /// The migrations' schema at `head`.
    pub current: Schema,
    /// The entities' schema.
    pub desired: Schema,
    /// Columns the entities say were renamed, that the head has under their old name.
    pub renames: Vec<Rename>,
    /// What turns `current` into `desired` (the renames first).
    pub up: Vec<Change>,
    /// What turns `desired` back into `current`.
    pub down: Vec<Change>,
}

/// What a written revision leaves undone, when it is checked by replay.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionCheck {
    /// The revision replayed.
    pub revision: String,
    /// What still differs from the entities after its `up`.
    pub after_up: Vec<Change>,
    /// What still differs from its parents' schema after its `down`.
    pub after_down: Vec<Change>,
}

impl RevisionCheck {
    /// It does exactly what the entities ask, and its down takes it back.
    pub fn passed(&self) -> bool {
        self.after_up.is_empty() && self.after_down.is_empty()
    }
}

impl Runtime {
    /// Compares `entities` with the schema the migrations build up to the head, on a
    /// scratch database beside `url` (or in `opts.dev_url`).
    pub async fn entity_diff(
        &self,
        url: &DbUrl,
        entities: &[EntityDef],
        opts: &SchemaOptions,
        observer: &mut dyn Observer,
    ) -> Result<EntityDiff> {
        let head = self.schema_head(opts.head.as_deref())?;
        let revisions = match head {
            Some(h) => self.up_to(&[h], None),
            None => Vec::new(),
        };
        let built = self
            .with_scratch(url, opts, observer, async |scratch: &mut Scratch| {
                let desired = build_entities(scratch, entities).await?;
                scratch.reset().await?;
                let current = self.build_replayed(scratch, &revisions).await?;
                Ok((current, desired))
            })
            .await?;
        let (current, desired) = built;
        let dialect = dialect(url.backend());
        let (renamed, renames) =
            current.with_renames(&entities::renames(entities, url.backend()), &desired);
        let mut up: Vec<Change> = renames.iter().map(Change::from).collect();
        up.extend(diff(&renamed, &desired, dialect));
        let mut down = diff(&desired, &renamed, dialect);
        down.extend(renames.iter().rev().map(|r| Change::from(&r.reversed())));
        Ok(EntityDiff {
            head: head.map(|h| self.graph().id(h).to_owned()),
            dialect,
            renames,
            up,
            down,
            current,
            desired,
        })
    }

    /// Replays revision `id` on its parents' schema: its `up` must build the
    /// entities' schema, and its `down` the parents' schema again.
    pub async fn check_revision(
        &self,
        url: &DbUrl,
        entities: &[EntityDef],
        id: &str,
        opts: &SchemaOptions,
        observer: &mut dyn Observer,
    ) -> Result<RevisionCheck> {
        let rev = self
            .graph()
            .find(id)
            .ok_or_else(|| Error::usage(format!("no revision `{id}` in this migration crate")))?;
        let parents = self.graph().parents(rev).to_vec();
        let before_it = self.up_to(&parents, None);
        let dialect = dialect(url.backend());
        self.with_scratch(url, opts, observer, async |scratch: &mut Scratch| {
            let desired = build_entities(scratch, entities).await?;
            scratch.reset().await?;
            let before = self.build_replayed(scratch, &before_it).await?;
            let migration = self.revision(rev).migration.as_ref();
            let db = scratch.db();
            let manager = SchemaManager::new(db.connection());
            let failed = |what: &str, e| {
                Error::Database(format!(
                    "`{id}`'s {what} fails when replayed into a scratch database: {}",
                    db.message(&e)
                ))
            };
            migration.up(&manager).await.map_err(|e| failed("up", e))?;
            let after_up = self.read(scratch).await?;
            migration
                .down(&manager)
                .await
                .map_err(|e| failed("down", e))?;
            let after_down = self.read(scratch).await?;
            let mut after_down = diff(&after_down, &before, dialect);
            after_down.retain(|c| !labels_left_behind(c));
            Ok(RevisionCheck {
                revision: id.to_owned(),
                after_up: diff(&after_up, &desired, dialect),
                after_down,
            })
        })
        .await
    }

    /// The head the entities are compared with: `spec`'s revision, or the single head.
    fn schema_head(&self, spec: Option<&str>) -> Result<Option<usize>> {
        if let Some(spec) = spec {
            return self
                .resolver()
                .revision(spec)
                .map(Some)
                .map_err(|e| Error::usage(e.to_string()));
        }
        let heads = self.graph().heads();
        match heads.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(Error::usage(messages::multiple_heads_to_revise(&ids(
                self.graph(),
                &heads,
            )))),
        }
    }

    /// `targets` and their ancestors, in topological order, less `except`.
    fn up_to(&self, targets: &[usize], except: Option<usize>) -> Vec<usize> {
        let wanted = self.graph().ancestors(targets);
        self.graph()
            .topo_order()
            .iter()
            .copied()
            .filter(|&r| wanted[r] && Some(r) != except)
            .collect()
    }

    /// Runs `work` on a scratch database that is removed afterwards, whatever happens
    /// (Ctrl-C included).
    async fn with_scratch<T>(
        &self,
        url: &DbUrl,
        opts: &SchemaOptions,
        observer: &mut dyn Observer,
        work: impl AsyncFnOnce(&mut Scratch) -> Result<T>,
    ) -> Result<T> {
        let mut scratch =
            Scratch::create(url, opts.dev_url.as_ref(), "autogen", "autogenerate").await?;
        let done = tokio::select! {
            done = work(&mut scratch) => done,
            _ = tokio::signal::ctrl_c() => Err(Error::Cancelled),
        };
        if let Err(left) = scratch.remove().await {
            observer.warning(&left);
        }
        done
    }

    /// Replays `revisions` into the (empty) scratch database and reads its schema (the
    /// tracking tables left out).
    pub(crate) async fn build_replayed(
        &self,
        scratch: &Scratch,
        revisions: &[usize],
    ) -> Result<Schema> {
        let db = scratch.db();
        self.replay_into(db.connection(), revisions)
            .await
            .map_err(|(rev, e)| {
                Error::Database(format!(
                    "`{}` fails when replayed into a scratch database: {}",
                    self.graph().id(rev),
                    db.message(&e)
                ))
            })?;
        self.read(scratch).await
    }

    /// The scratch database's schema, less the tracking tables.
    async fn read(&self, scratch: &Scratch) -> Result<Schema> {
        let db = scratch.db();
        let mut schema = inspect(db.connection(), db.url().creation_schema().as_deref())
            .await
            .map_err(|e| db.error(e))?;
        let tracking = [self.tracking().table(), self.tracking().meta_table()];
        schema.retain_tables(|t| !tracking.contains(&t));
        Ok(schema)
    }
}

/// An enum that kept labels its `down` could not remove (PostgreSQL cannot): the
/// generated `down` says so in a comment, and nothing else differs.
fn labels_left_behind(change: &Change) -> bool {
    match change {
        Change::ChangeEnum { from, to, .. } => is_subsequence(to, from),
        _ => false,
    }
}

/// Creates the entities' schema in the (empty) scratch database and reads it.
async fn build_entities(scratch: &Scratch, entities: &[EntityDef]) -> Result<Schema> {
    let db = scratch.db();
    entities::create(db, entities).await?;
    inspect(db.connection(), db.url().creation_schema().as_deref())
        .await
        .map_err(|e| db.error(e))
}
