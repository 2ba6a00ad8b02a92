//! The runtime's verbs against real databases: SQLite always, PostgreSQL and
//! MySQL/MariaDB when `TEST_POSTGRES_URL` / `TEST_MYSQL_URL` are set (required in CI).

#[path = "support/runtime_db.rs"]
mod runtime_db;
mod support;

use cargo_migrate::Quiet;
use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, DbErr};
use cargo_migrate::sea_orm_migration::{
    MigrationName, MigrationTrait, MigratorTrait, SchemaManager, async_trait,
};
use cargo_migrate::{Db, DbOptions};
use cargo_migrate::{DbUrl, Error, Revision, Runtime, WriteOptions};
use runtime_db::{applied, connect, downgrade, ids, opts, stamp, tables, upgrade};
use support::Backend;

/// A migration made of SQL statements.
#[derive(Clone)]
struct Sql {
    id: &'static str,
    up: Vec<&'static str>,
    down: Vec<&'static str>,
    transaction: Option<bool>,
}

impl MigrationName for Sql {
    fn name(&self) -> &str {
        self.id
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Sql {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in &self.up {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in &self.down {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        self.transaction
    }
}

/// A migration that creates table `t_<name>`.
fn creates(id: &'static str, table: &'static str) -> Sql {
    let up: &'static str =
        Box::leak(format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY)").into_boxed_str());
    let down: &'static str = Box::leak(format!("DROP TABLE {table}").into_boxed_str());
    Sql {
        id,
        up: vec![up],
        down: vec![down],
        transaction: None,
    }
}

/// The diamond used throughout: a -> b -> c, a -> d, (c, d) -> m, m -> e.
fn diamond() -> Vec<(Sql, &'static [&'static str])> {
    vec![
        (creates("m20260101_000000_a", "t_a"), &[]),
        (
            creates("m20260102_000000_b", "t_b"),
            &["m20260101_000000_a"],
        ),
        (
            creates("m20260103_000000_c", "t_c"),
            &["m20260102_000000_b"],
        ),
        (
            creates("m20260103_000001_d", "t_d"),
            &["m20260101_000000_a"],
        ),
        (
            creates("m20260104_000000_m", "t_m"),
            &["m20260103_000000_c", "m20260103_000001_d"],
        ),
        (
            creates("m20260105_000000_e", "t_e"),
            &["m20260104_000000_m"],
        ),
    ]
}

fn runtime(migrations: Vec<(Sql, &'static [&'static str])>) -> Runtime {
    let revisions = migrations
        .into_iter()
        .map(|(m, parents)| Revision::new(m, parents))
        .collect();
    Runtime::new(revisions, "seaql_migrations").expect("valid graph")
}

on_every_backend!(upgrade_head_applies_every_revision_parents_first, |tdb| {
    let rt = runtime(diamond());
    let db = connect(&tdb).await;
    let steps = upgrade(&rt, &db, "head").await.unwrap();
    assert_eq!(
        ids(&steps),
        [
            "m20260101_000000_a",
            "m20260102_000000_b",
            "m20260103_000000_c",
            "m20260103_000001_d",
            "m20260104_000000_m",
            "m20260105_000000_e"
        ]
    );
    assert!(
        steps
            .iter()
            .all(|s| s.transactional == (tdb.backend != Backend::MySql))
    );
    assert_eq!(
        tables(&db).await,
        ["t_a", "t_b", "t_c", "t_d", "t_e", "t_m"]
    );
    let state = rt.state(&db).await.unwrap();
    assert_eq!(state.applied_count(), 6);
    assert_eq!(
        cargo_migrate::__private::ids(rt.graph(), &state.current),
        ["m20260105_000000_e"]
    );
    let meta = &state.recorded.meta["m20260101_000000_a"];
    assert!(meta.execution_ms.is_some() && meta.applied_by.is_some());
    // Nothing left to do: a second run is a no-op.
    assert!(upgrade(&rt, &db, "head").await.unwrap().is_empty());
});

on_every_backend!(upgrade_to_a_middle_revision_then_head, |tdb| {
    let rt = runtime(diamond());
    let db = connect(&tdb).await;
    let steps = upgrade(&rt, &db, "20260103_000000").await.unwrap();
    assert_eq!(
        ids(&steps),
        [
            "m20260101_000000_a",
            "m20260102_000000_b",
            "m20260103_000000_c"
        ]
    );
    assert_eq!(tables(&db).await, ["t_a", "t_b", "t_c"]);
    let steps = upgrade(&rt, &db, "+1").await.unwrap();
    assert_eq!(ids(&steps), ["m20260103_000001_d"]);
    let steps = upgrade(&rt, &db, "head").await.unwrap();
    assert_eq!(ids(&steps), ["m20260104_000000_m", "m20260105_000000_e"]);
});

on_every_backend!(downgrade_across_the_merge, |tdb| {
    let rt = runtime(diamond());
    let db = connect(&tdb).await;
    upgrade(&rt, &db, "head").await.unwrap();
    // back to b: e, the merge, and c (b's descendants) go; d, on the other branch, stays
    let steps = downgrade(&rt, &db, "m20260102_000000_b").await.unwrap();
    assert_eq!(
        ids(&steps),
        [
            "m20260105_000000_e",
            "m20260104_000000_m",
            "m20260103_000000_c"
        ]
    );
    assert_eq!(tables(&db).await, ["t_a", "t_b", "t_d"]);
    let state = rt.state(&db).await.unwrap();
    assert_eq!(
        cargo_migrate::__private::ids(rt.graph(), &state.current),
        ["m20260102_000000_b", "m20260103_000001_d"]
    );
    // two current revisions: -1 is ambiguous and names them
    let err = downgrade(&rt, &db, "-1").await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains("m20260102_000000_b, m20260103_000001_d"),
        "{err}"
    );
    let steps = downgrade(&rt, &db, "base").await.unwrap();
    assert_eq!(
        ids(&steps),
        [
            "m20260103_000001_d",
            "m20260102_000000_b",
            "m20260101_000000_a"
        ]
    );
    assert!(tables(&db).await.is_empty());
    assert!(applied(&rt, &db).await.is_empty());
});

on_every_backend!(downgrade_minus_one_and_redo, |tdb| {
    let rt = runtime(diamond());
    let db = connect(&tdb).await;
    upgrade(&rt, &db, "head").await.unwrap();
    let steps = downgrade(&rt, &db, "-1").await.unwrap();
    assert_eq!(ids(&steps), ["m20260105_000000_e"]);
    let steps = rt.redo(&db, &opts(), &mut Quiet).await.unwrap();
    assert_eq!(ids(&steps), ["m20260104_000000_m", "m20260104_000000_m"]);
    assert_eq!(steps[0].direction, cargo_migrate::Direction::Down);
    assert_eq!(steps[1].direction, cargo_migrate::Direction::Up);
    assert_eq!(applied(&rt, &db).await.len(), 5);
});

on_every_backend!(stamp_then_upgrade_runs_only_the_rest, |tdb| {
    let rt = runtime(diamond());
    let db = connect(&tdb).await;
    let outcome = stamp(&rt, &db, "m20260104_000000_m", false).await.unwrap();
    assert_eq!(outcome.added.len(), 5);
    assert!(tables(&db).await.is_empty(), "stamp runs no migration code");
    let steps = upgrade(&rt, &db, "head").await.unwrap();
    assert_eq!(ids(&steps), ["m20260105_000000_e"]);
    assert_eq!(tables(&db).await, ["t_e"]);
    // stamp to an earlier revision removes rows, runs nothing
    let outcome = stamp(&rt, &db, "m20260101_000000_a", false).await.unwrap();
    assert_eq!(outcome.removed.len(), 5);
    assert_eq!(applied(&rt, &db).await, ["m20260101_000000_a"]);
    assert_eq!(tables(&db).await, ["t_e"]);
    stamp(&rt, &db, "base", false).await.unwrap();
    assert!(applied(&rt, &db).await.is_empty());
});

on_every_backend!(
    a_failing_migration_names_itself_and_keeps_earlier_steps,
    |tdb| {
        let mut migrations = diamond();
        migrations.truncate(2);
        migrations.push((
            Sql {
                id: "m20260103_000000_broken",
                up: vec![
                    "CREATE TABLE t_half (id INTEGER PRIMARY KEY)",
                    "INSERT INTO no_such_table VALUES (1)",
                ],
                down: vec![],
                transaction: None,
            },
            &["m20260102_000000_b"],
        ));
        let rt = runtime(migrations);
        let db = connect(&tdb).await;
        let err = upgrade(&rt, &db, "head").await.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let message = err.to_string();
        assert!(
            message.starts_with("upgrade of `m20260103_000000_broken` failed: "),
            "{message}"
        );
        assert!(message.contains("no_such_table"), "{message}");
        assert_eq!(
            applied(&rt, &db).await,
            ["m20260101_000000_a", "m20260102_000000_b"]
        );
        let state = rt.state(&db).await.unwrap();
        let failure = state.recorded.meta["m20260103_000000_broken"]
            .failure
            .clone()
            .expect("failure recorded");
        assert_eq!(failure.direction, "up");
        assert!(failure.error.contains("no_such_table"));
        if tdb.backend == Backend::MySql {
            // DDL committed: the half-applied table is there, and the next run refuses
            assert_eq!(tables(&db).await, ["t_a", "t_b", "t_half"]);
            assert!(!failure.transactional);
            let err = upgrade(&rt, &db, "head").await.unwrap_err();
            assert!(err.to_string().contains("failed part-way"), "{err}");
            // resolved by recording the truth
            stamp(&rt, &db, "m20260102_000000_b", false).await.unwrap();
            assert!(rt.state(&db).await.unwrap().half_applied().is_empty());
        } else {
            // rolled back: nothing of the failed step remains, and a re-run is allowed
            assert_eq!(tables(&db).await, ["t_a", "t_b"]);
            assert!(failure.transactional);
            let err = upgrade(&rt, &db, "head").await.unwrap_err();
            assert!(err.to_string().contains("no_such_table"), "{err}");
        }
    }
);

on_every_backend!(
    a_migration_that_opts_out_of_the_transaction_runs_outside_one,
    |tdb| {
        let migrations = vec![(
            Sql {
                id: "m20260101_000000_no_tx",
                up: vec![
                    "CREATE TABLE t_kept (id INTEGER PRIMARY KEY)",
                    "INSERT INTO no_such_table VALUES (1)",
                ],
                down: vec![],
                transaction: Some(false),
            },
            &[] as &[&str],
        )];
        let rt = runtime(migrations);
        let db = connect(&tdb).await;
        upgrade(&rt, &db, "head").await.unwrap_err();
        // outside a transaction the first statement stays, even on PostgreSQL and SQLite
        assert_eq!(tables(&db).await, ["t_kept"]);
        let state = rt.state(&db).await.unwrap();
        assert_eq!(state.half_applied(), ["m20260101_000000_no_tx"]);
    }
);

on_every_backend!(multiple_heads_refuse_head_and_accept_heads, |tdb| {
    let mut migrations = diamond();
    migrations.truncate(4); // a, b, c, d: heads c and d
    let rt = runtime(migrations);
    let db = connect(&tdb).await;
    let err = upgrade(&rt, &db, "head").await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let message = err.to_string();
    assert!(
        message.contains("m20260103_000000_c") && message.contains("m20260103_000001_d"),
        "{message}"
    );
    assert!(message.contains("merge"), "{message}");
    assert!(
        applied(&rt, &db).await.is_empty(),
        "a refused upgrade changes nothing"
    );
    let steps = upgrade(&rt, &db, "heads").await.unwrap();
    assert_eq!(steps.len(), 4);
});

on_every_backend!(read_only_verbs_create_nothing, |tdb| {
    let rt = runtime(diamond());
    let url = DbUrl::parse(&tdb.url).unwrap();
    let db = Db::connect(&url, DbOptions::default()).await.unwrap();
    let state = rt.state(&db).await.unwrap();
    assert_eq!(state.applied_count(), 0);
    db.close().await;
    if tdb.backend == Backend::Sqlite {
        let file = url.sqlite_file().unwrap();
        assert!(
            !file.exists(),
            "reading a missing SQLite file must not create it"
        );
    } else {
        let db = connect(&tdb).await;
        let count = db
            .connection()
            .query_all_raw(cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
                db.backend(),
                match tdb.backend {
                    Backend::Postgres => "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
                    _ => "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
                },
            ))
            .await
            .unwrap()
            .len();
        assert_eq!(count, 0, "no table may be created by a read");
    }
});

on_every_backend!(
    unknown_applied_revisions_are_reported_and_block_upgrades,
    |tdb| {
        let rt = runtime(diamond());
        let db = connect(&tdb).await;
        upgrade(&rt, &db, "m20260101_000000_a").await.unwrap();
        db.connection()
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000000_ghost', 0)",
        )
        .await
        .unwrap();
        let state = rt.state(&db).await.unwrap();
        assert_eq!(state.unknown.len(), 1);
        assert_eq!(state.unknown[0].version, "m20991231_000000_ghost");
        let err = upgrade(&rt, &db, "head").await.unwrap_err();
        assert!(err.to_string().contains("m20991231_000000_ghost"), "{err}");
        let carry_on = WriteOptions {
            allow_unknown: true,
            ..Default::default()
        };
        assert_eq!(
            rt.upgrade(&db, "head", &carry_on, &mut Quiet)
                .await
                .unwrap()
                .len(),
            5
        );
        let err = stamp(&rt, &db, "head", false).await.unwrap_err();
        assert!(err.to_string().contains("--purge"), "{err}");
        let outcome = stamp(&rt, &db, "head", true).await.unwrap();
        assert_eq!(outcome.purged, ["m20991231_000000_ghost"]);
        assert!(rt.state(&db).await.unwrap().unknown.is_empty());
    }
);

/// sea-orm-migration's own `MigratorTrait` over the same migrations, as a legacy chain.
struct SeaOrmMigrator;

impl MigratorTrait for SeaOrmMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(creates("m20260101_000000_a", "t_a")),
            Box::new(creates("m20260102_000000_b", "t_b")),
            Box::new(creates("m20260103_000000_c", "t_c")),
        ]
    }
}

fn legacy_runtime() -> Runtime {
    Runtime::of::<cargo_migrate::Legacy<SeaOrmMigrator>>().unwrap()
}

on_every_backend!(
    a_database_migrated_by_sea_orm_migration_is_adopted_without_stamp,
    |tdb| {
        let db = connect(&tdb).await;
        SeaOrmMigrator::up(db.connection(), Some(2)).await.unwrap();
        let rt = legacy_runtime();
        let state = rt.state(&db).await.unwrap();
        assert_eq!(
            cargo_migrate::__private::ids(rt.graph(), &state.current),
            ["m20260102_000000_b"]
        );
        let steps = upgrade(&rt, &db, "head").await.unwrap();
        assert_eq!(ids(&steps), ["m20260103_000000_c"]);
    }
);

on_every_backend!(
    sea_orm_migration_sees_nothing_pending_after_our_upgrade,
    |tdb| {
        let db = connect(&tdb).await;
        let rt = legacy_runtime();
        upgrade(&rt, &db, "head").await.unwrap();
        let pending = SeaOrmMigrator::get_pending_migrations(db.connection())
            .await
            .unwrap();
        assert!(pending.is_empty());
        let applied = SeaOrmMigrator::get_applied_migrations(db.connection())
            .await
            .unwrap();
        assert_eq!(applied.len(), 3);
        // and sea-orm-migration can still roll back what we applied
        SeaOrmMigrator::down(db.connection(), Some(1))
            .await
            .unwrap();
        assert_eq!(rt.state(&db).await.unwrap().applied_count(), 2);
    }
);

#[test]
fn a_broken_graph_is_a_clear_error() {
    let err = Runtime::new(
        vec![Revision::new(
            creates("m20260101_000000_a", "t_a"),
            &["m20251231_000000_gone"],
        )],
        "seaql_migrations",
    )
    .err()
    .expect("unknown parent");
    assert!(matches!(err, Error::Graph(_)));
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        "the migration crate's revisions are inconsistent: revision `m20260101_000000_a` revises \
         `m20251231_000000_gone`, which is not a registered revision"
    );
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_not_a_server_to_wait_for() {
    let connect = |url: &str| {
        let url = DbUrl::parse(url).unwrap();
        async move {
            match Db::connect(&url, DbOptions::default()).await {
                Ok(_) => panic!("connected to {url}"),
                Err(e) => e.to_string(),
            }
        }
    };
    let typo = connect("postgres://app:secret@no-such-host.invalid:5432/app").await;
    assert!(
        typo.contains("the host name `no-such-host.invalid` does not resolve")
            && typo.contains("check the host")
            && !typo.contains("--wait")
            && !typo.contains("secret"),
        "{typo}"
    );
    let down = connect("postgres://app@127.0.0.1:1/app").await;
    assert!(
        down.contains("is the server running? `--wait 60s` waits for it to start"),
        "{down}"
    );
}

// A tracking table named in another case: on SQLite (whose names ignore case) it is the
// same table, so the history is read from it; on MySQL/MariaDB it is found too, and a
// server that keeps names apart refuses loudly. Never an empty history, which would run
// every migration again on a migrated database.
on_backends!(a_tracking_table_named_in_another_case_is_never_an_empty_history [sqlite: Sqlite, mysql: MySql], |tdb| {
    let db = connect(&tdb).await;
    let lower = runtime(diamond());
    upgrade(&lower, &db, "head").await.unwrap();
    let revisions = diamond()
        .into_iter()
        .map(|(m, parents)| Revision::new(m, parents))
        .collect();
    let upper = Runtime::new(revisions, "SeaQL_Migrations").expect("valid graph");
    match upper.state(&db).await {
        Ok(state) => assert_eq!(state.applied_count(), 6, "the same table, read in full"),
        Err(e) => assert!(
            tdb.backend == Backend::MySql && e.to_string().contains("SeaQL_Migrations"),
            "{e}"
        ),
    }
    let again = upgrade(&upper, &db, "head").await;
    assert!(
        again.as_ref().is_ok_and(Vec::is_empty) || again.is_err(),
        "ran migrations again: {again:?}"
    );
    assert_eq!(
        tables(&db).await,
        ["t_a", "t_b", "t_c", "t_d", "t_e", "t_m"]
    );
});

/// A migration that asks the database before it acts: creates `t_probe` with a column
/// only if the table, then the column, is missing, and an index only if it is missing.
struct Probing;

impl MigrationName for Probing {
    fn name(&self) -> &str {
        "m20260106_000000_probing"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Probing {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if !manager.has_table("t_probe").await? {
            conn.execute_unprepared("CREATE TABLE t_probe (id INTEGER PRIMARY KEY)")
                .await?;
        }
        if !manager.has_column("t_probe", "note").await? {
            conn.execute_unprepared("ALTER TABLE t_probe ADD COLUMN note VARCHAR(20)")
                .await?;
        }
        if manager.has_column("t_a", "nothing_here").await? {
            conn.execute_unprepared("DROP TABLE t_a").await?;
        }
        if !manager.has_index("t_probe", "i_probe_note").await? {
            conn.execute_unprepared("CREATE INDEX i_probe_note ON t_probe (note)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE t_probe")
            .await
            .map(drop)
    }
}

/// A migration that reads rows (a seed that counts what is there).
struct Reads;

impl MigrationName for Reads {
    fn name(&self) -> &str {
        "m20260107_000000_reads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Reads {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let stmt = cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM t_a",
        );
        // Swallows the error on purpose: the script must still refuse.
        let _ = conn.query_one_raw(stmt).await;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

fn with_probing(reads: bool) -> Runtime {
    let mut revisions: Vec<Revision> = diamond()
        .into_iter()
        .map(|(m, parents)| Revision::new(m, parents))
        .collect();
    revisions.push(Revision::new(Probing, &["m20260105_000000_e"]));
    if reads {
        revisions.push(Revision::new(Reads, &["m20260106_000000_probing"]));
    }
    Runtime::new(revisions, "seaql_migrations").expect("valid graph")
}

mod script {
    use super::*;
    use cargo_migrate::sea_orm_migration::sea_orm::DbBackend;
    use cargo_migrate::{Action, AsSpec, Goal, Spec, Start};

    async fn script(rt: &Runtime, backend: DbBackend, start: Start<'_>, goal: Goal) -> String {
        rt.script(backend, start, &goal, &opts())
            .await
            .expect("script")
            .to_string()
    }

    #[tokio::test]
    async fn a_script_needs_no_database_and_wraps_each_step_where_a_run_would() {
        let rt = with_probing(false);
        let s = rt
            .script(
                DbBackend::Postgres,
                Start::Base,
                &Goal::Upgrade(Spec::Head),
                &opts(),
            )
            .await
            .expect("script");
        let order: Vec<&str> = s.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(order.len(), 7);
        assert_eq!(order[0], "m20260101_000000_a");
        assert_eq!(order[6], "m20260106_000000_probing");
        assert!(
            s.steps
                .iter()
                .all(|s| s.action == Action::Upgrade && s.transactional)
        );
        assert_eq!(s.install.len(), 2);
        assert!(s.from.is_empty());
        assert_eq!(s.to, ["m20260106_000000_probing"]);
        let text = s.to_string();
        assert_eq!(text.matches("\nBEGIN;\n").count(), 7, "{text}");
        assert_eq!(text.matches("\nCOMMIT;\n").count(), 7, "{text}");
        assert!(
            text.contains("CREATE TABLE t_a (id INTEGER PRIMARY KEY);"),
            "{text}"
        );
        // MySQL commits DDL: no transaction anywhere
        let my = script(
            &rt,
            DbBackend::MySql,
            Start::Base,
            Goal::Upgrade(Spec::Head),
        )
        .await;
        assert!(!my.contains("BEGIN;") && !my.contains("COMMIT;"), "{my}");
    }

    #[tokio::test]
    async fn probes_are_answered_from_the_schema_the_script_built() {
        let rt = with_probing(false);
        let text = script(
            &rt,
            DbBackend::Sqlite,
            Start::Base,
            Goal::Upgrade(Spec::Head),
        )
        .await;
        assert_eq!(text.matches("CREATE TABLE t_probe").count(), 1, "{text}");
        assert_eq!(text.matches("ADD COLUMN note").count(), 1, "{text}");
        assert_eq!(
            text.matches("CREATE INDEX i_probe_note").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("DROP TABLE t_a"), "{text}");
        // the probes themselves are not part of the script
        assert!(
            !text.contains("has_table") && !text.contains("has_column"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_range_starts_where_it_says_and_a_downgrade_script_unrecords() {
        let rt = with_probing(false);
        let c = "m20260103_000000_c".as_spec(rt.graph()).expect("spec");
        let text = script(
            &rt,
            DbBackend::Postgres,
            Start::At(&c),
            Goal::Upgrade(Spec::Head),
        )
        .await;
        for done in ["t_a ", "t_b ", "t_c "] {
            assert!(!text.contains(&format!("CREATE TABLE {done}")), "{text}");
        }
        assert!(text.contains("CREATE TABLE t_d "), "{text}");
        // created if missing, whatever the start (`IF NOT EXISTS`)
        assert!(text.contains("the tracking tables"), "{text}");
        let head = Spec::Head;
        let down = script(
            &rt,
            DbBackend::Postgres,
            Start::At(&head),
            Goal::Downgrade(Spec::Base),
        )
        .await;
        assert!(down.contains("DROP TABLE t_probe;"), "{down}");
        assert!(
            down.contains(
                "DELETE FROM \"seaql_migrations\" WHERE \"version\" = 'm20260101_000000_a';"
            ),
            "{down}"
        );
        assert!(down.find("DROP TABLE t_e").unwrap() < down.find("DROP TABLE t_a").unwrap());
    }

    #[tokio::test]
    async fn a_migration_that_reads_data_has_no_script_even_if_it_ignores_the_error() {
        let rt = with_probing(true);
        let err = rt
            .script(
                DbBackend::Sqlite,
                Start::Base,
                &Goal::Upgrade(Spec::Head),
                &opts(),
            )
            .await
            .expect_err("a migration that reads data");
        let text = err.to_string();
        assert!(text.contains("m20260107_000000_reads"), "{text}");
        assert!(text.contains("reads data"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}

mod dry_run {
    use super::*;
    use cargo_migrate::{DryGoal, DryRunOptions, Method, Spec};

    async fn dry(rt: &Runtime, db: &Db, goal: DryGoal) -> Result<cargo_migrate::DryRun, Error> {
        rt.dry_run(db, &goal, &opts(), &DryRunOptions::default(), &mut Quiet)
            .await
    }

    on_every_backend!(a_dry_run_runs_the_plan_and_leaves_nothing, |tdb| {
        let rt = with_probing(false);
        let db = connect(&tdb).await;
        upgrade(&rt, &db, "m20260102_000000_b")
            .await
            .expect("upgrade");
        let (before_tables, before_applied) = (tables(&db).await, applied(&rt, &db).await);
        let run = dry(&rt, &db, DryGoal::Upgrade(Spec::Head))
            .await
            .expect("dry run");
        assert_eq!(run.steps.len(), 5);
        assert!(run.steps.iter().all(|s| s.simulated));
        assert_eq!(run.to, ["m20260106_000000_probing"]);
        assert!(
            run.steps[0]
                .statements
                .iter()
                // its tracking record (the test migrations' own SQL is sent unprepared,
                // which sea-orm shows nobody)
                .any(|s| s.contains("seaql_migrations") && s.contains("m20260103_000000_c")),
            "{:?}",
            run.steps[0].statements
        );
        let expected = if tdb.backend == Backend::MySql {
            Method::ScratchDatabase
        } else {
            Method::Rollback
        };
        assert_eq!(run.method, expected);
        assert_eq!(tables(&db).await, before_tables);
        assert_eq!(applied(&rt, &db).await, before_applied);
        let run = dry(&rt, &db, DryGoal::Downgrade(Spec::Base))
            .await
            .expect("dry run");
        assert_eq!(run.steps.len(), 2);
        assert!(run.to.is_empty());
        assert_eq!(tables(&db).await, before_tables);
        assert_eq!(applied(&rt, &db).await, before_applied);
    });

    on_every_backend!(a_step_that_would_fail_fails_in_the_dry_run, |tdb| {
        let mut migrations = diamond();
        migrations.push((
            creates("m20260106_000000_again", "t_a"),
            &["m20260105_000000_e"],
        ));
        let rt = runtime(migrations);
        let db = connect(&tdb).await;
        upgrade(&rt, &db, "m20260105_000000_e")
            .await
            .expect("upgrade");
        let before = tables(&db).await;
        let err = dry(&rt, &db, DryGoal::Upgrade(Spec::Head))
            .await
            .expect_err("fails");
        let text = err.to_string();
        assert!(text.contains("m20260106_000000_again"), "{text}");
        assert!(text.contains("dry run: nothing was changed"), "{text}");
        assert_eq!(err.exit_code(), cargo_migrate::exit::FAILURE);
        assert_eq!(tables(&db).await, before);
        let real = upgrade(&rt, &db, "head").await.expect_err("fails for real");
        let first = |t: &str| t.split(" (").next().unwrap_or_default().to_string();
        assert_eq!(first(&real.to_string()), first(&text));
    });

    on_backends!(a_step_outside_a_transaction_is_not_simulated [sqlite: Sqlite, postgres: Postgres], |tdb| {
        let mut migrations = diamond();
        let mut outside = creates("m20260106_000000_outside", "t_outside");
        outside.transaction = Some(false);
        migrations.push((outside, &["m20260105_000000_e"]));
        let rt = runtime(migrations);
        let db = connect(&tdb).await;
        upgrade(&rt, &db, "m20260105_000000_e").await.expect("upgrade");
        let run = dry(&rt, &db, DryGoal::Upgrade(Spec::Head)).await.expect("dry run");
        assert_eq!(run.steps.len(), 1);
        assert!(!run.steps[0].simulated);
        assert!(run.steps[0].note.as_deref().unwrap_or_default().contains("not simulated"));
        assert!(!tables(&db).await.contains(&"t_outside".to_string()));
    });
}
