//! The app-start API on an application's own connection, in process: a plain
//! sea-orm-cli `Migrator` (`Legacy`) as well as a graph, the lock it takes only when
//! there is something to do, and the application's pool left open.

#[path = "support/runtime_db.rs"]
mod runtime_db;
mod support;

use std::time::{Duration, Instant};

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database, DbErr};
use cargo_migrate::sea_orm_migration::{
    MigrationName, MigrationTrait, MigratorTrait, SchemaManager, async_trait,
};
use cargo_migrate::{Legacy, Upgrade, Verdict};

/// A migration of a sea-orm-cli crate: creates `t_<name>`.
struct Create(&'static str, &'static str);

impl MigrationName for Create {
    fn name(&self) -> &str {
        self.0
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Create {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!("CREATE TABLE t_{} (id INTEGER PRIMARY KEY)", self.1);
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!("DROP TABLE t_{}", self.1);
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }
}

/// A sea-orm-cli crate's `Migrator`, used as it is.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Create("m20260101_000001_users", "users")),
            Box::new(Create("m20260102_000001_posts", "posts")),
        ]
    }
}

/// The same crate a release later: one migration more.
struct Later;

impl MigratorTrait for Later {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = Migrator::migrations();
        all.push(Box::new(Create("m20260103_000001_tags", "tags")));
        all
    }
}

on_every_backend!(
    a_sea_orm_cli_migrator_upgrades_at_start_and_then_reads_once,
    |db| {
        let app = Database::connect(&db.url).await.expect("the app's pool");
        let first = cargo_migrate::upgrade::<Legacy<Migrator>>(&app)
            .await
            .expect("upgrade");
        assert!(!first.up_to_date);
        let ran: Vec<&str> = first.applied.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["m20260101_000001_users", "m20260102_000001_posts"]);
        assert_eq!(first.current, ["m20260102_000001_posts"]);

        let again = cargo_migrate::upgrade::<Legacy<Migrator>>(&app)
            .await
            .expect("upgrade at head");
        assert!(again.up_to_date && again.applied.is_empty());

        let health = cargo_migrate::health::<Legacy<Later>>(&app)
            .await
            .expect("health");
        assert_eq!(health.verdict, Verdict::Pending);
        assert_eq!(health.http_status(), 503);
        assert_eq!(health.pending, ["m20260103_000001_tags"]);

        // The application's pool is still open and usable.
        app.execute_unprepared("SELECT 1")
            .await
            .expect("the pool was left open");
    }
);

on_every_backend!(
    at_head_the_call_takes_no_lock_and_with_work_it_waits_for_it,
    |db| {
        let app = Database::connect(&db.url).await.expect("the app's pool");
        cargo_migrate::upgrade::<Legacy<Migrator>>(&app)
            .await
            .expect("upgrade");
        // Another run holds the migration lock (a deploy job, say).
        let other = runtime_db::connect(&db).await;
        let held = cargo_migrate::__private::Lock::acquire(
            &other,
            "seaql_migrations",
            None,
            None,
            &mut || {},
        )
        .await
        .expect("the other run's lock");

        let t = Instant::now();
        let report = Upgrade::new::<Legacy<Migrator>>(&app)
            .lock_timeout(Duration::from_secs(5))
            .run()
            .await
            .expect("at head, no wait");
        assert!(report.up_to_date);
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "it waited for the lock"
        );

        let err = Upgrade::new::<Legacy<Later>>(&app)
            .lock_timeout(Duration::from_millis(1500))
            .run()
            .await
            .expect_err("a pending migration waits for the lock, then gives up");
        assert!(err.to_string().contains("migration lock"), "{err}");
        held.release().await;

        let report = cargo_migrate::upgrade::<Legacy<Later>>(&app)
            .await
            .expect("the lock is free again");
        let ran: Vec<&str> = report.applied.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["m20260103_000001_tags"]);
    }
);

on_every_backend!(the_app_can_take_the_table_lock_on_its_own_pool, |db| {
    let app = Database::connect(&db.url).await.expect("the app's pool");
    let report = Upgrade::new::<Legacy<Migrator>>(&app)
        .lock_strategy(cargo_migrate::LockStrategy::Table)
        .run()
        .await
        .expect("upgrade under the table lock");
    assert_eq!(report.applied.len(), 2);
    // The lock row is gone and the application's pool is still open.
    let left = app
        .query_all_raw(
            cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
                app.get_database_backend(),
                "SELECT name FROM seaql_migrations_lock",
            ),
        )
        .await
        .expect("the lock table exists");
    assert!(left.is_empty(), "the lock row outlived the run");
});
