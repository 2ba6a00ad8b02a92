//! PostgreSQL schemas (`-s/--database-schema`, `DATABASE_SCHEMA`, `schema` in the
//! configuration): the tracking tables, the lock and the migrations all live in the
//! schema, interchangeably with sea-orm-migration's own `-s`, which sets every
//! connection's search path to it.

#[path = "support/project.rs"]
mod project;
mod support;

use std::time::Duration;

use cargo_migrate::__private::Lock;
use cargo_migrate::Quiet;
use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement,
};
use cargo_migrate::sea_orm_migration::{
    MigrationName, MigrationTrait, MigratorTrait, SchemaManager, async_trait,
};
use cargo_migrate::{Db, DbOptions};
use cargo_migrate::{DbUrl, Legacy, Runtime, WriteOptions, exit};
use project::Project;
use support::{Backend, TestDb};

/// A migration of one SQL statement each way.
struct Step {
    id: &'static str,
    up: &'static str,
    down: &'static str,
}

impl MigrationName for Step {
    fn name(&self) -> &str {
        self.id
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Step {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await?;
        Ok(())
    }
}

/// A table and its seed row: applied twice, the seed would be there twice.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Step {
                id: "m20260101_000000_items",
                up: "CREATE TABLE items (id INTEGER)",
                down: "DROP TABLE items",
            }),
            Box::new(Step {
                id: "m20260102_000000_seed",
                up: "INSERT INTO items (id) VALUES (1)",
                down: "DELETE FROM items",
            }),
        ]
    }
}

/// The runtime an adopted sea-orm-cli crate runs: `Migrator`'s list as a chain.
fn runtime() -> Runtime {
    Runtime::of::<Legacy<Migrator>>().expect("valid graph")
}

/// A scratch PostgreSQL database with the schemas `app` and `other` (`None`: skipped).
async fn database() -> Option<(TestDb, DatabaseConnection)> {
    let tdb = TestDb::new(Backend::Postgres).await?;
    let admin = Database::connect(&tdb.url).await.expect("connect");
    admin
        .execute_unprepared("CREATE SCHEMA app; CREATE SCHEMA other")
        .await
        .expect("create schemas");
    Some((tdb, admin))
}

async fn connect(tdb: &TestDb, schema: &str, write: bool) -> Result<Db, cargo_migrate::Error> {
    let url = DbUrl::parse(&tdb.url)?.with_schema(Some(schema.to_string()))?;
    let opts = DbOptions {
        write,
        ..Default::default()
    };
    Db::connect(&url, opts).await
}

/// sea-orm-migration's CLI run with `-s <schema>`: its connection, as `run_cli` makes it.
async fn sea_orm_cli_connection(tdb: &TestDb, schema: &str) -> DatabaseConnection {
    let mut opts = ConnectOptions::new(&tdb.url);
    opts.set_schema_search_path(schema);
    Database::connect(opts).await.expect("connect")
}

async fn tables(admin: &DatabaseConnection, schema: &str) -> Vec<String> {
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT table_name::text AS t FROM information_schema.tables \
                 WHERE table_schema = '{schema}' ORDER BY 1"
            ),
        ))
        .await
        .expect("list tables");
    rows.iter()
        .map(|r| r.try_get::<String>("", "t").expect("name"))
        .collect()
}

async fn seed_rows(admin: &DatabaseConnection, schema: &str) -> i64 {
    let row = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT count(*) AS n FROM {schema}.items"),
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get("", "n").expect("count")
}

#[tokio::test]
async fn sea_orm_migration_and_the_runtime_share_a_schema_both_ways() {
    let Some((tdb, admin)) = database().await else {
        return;
    };
    let rt = runtime();

    // sea-orm-migration applies to `app`: the runtime reads it there, applies nothing.
    let seaorm = sea_orm_cli_connection(&tdb, "app").await;
    Migrator::up(&seaorm, None).await.expect("Migrator::up");
    let db = connect(&tdb, "app", false).await.expect("connect");
    let state = rt.state(&db).await.expect("state");
    assert_eq!(state.applied_count(), 2);
    db.close().await;
    let db = connect(&tdb, "app", true).await.expect("connect");
    let steps = rt
        .upgrade(&db, "head", &WriteOptions::default(), &mut Quiet)
        .await
        .expect("upgrade");
    assert!(steps.is_empty(), "{steps:?}");
    db.close().await;
    assert_eq!(seed_rows(&admin, "app").await, 1, "the seed ran once");

    // The runtime applies to `other`: sea-orm-migration finds it all applied there.
    let db = connect(&tdb, "other", true).await.expect("connect");
    let steps = rt
        .upgrade(&db, "head", &WriteOptions::default(), &mut Quiet)
        .await
        .expect("upgrade");
    assert_eq!(steps.len(), 2);
    db.close().await;
    let seaorm = sea_orm_cli_connection(&tdb, "other").await;
    assert!(
        Migrator::get_pending_migrations(&seaorm)
            .await
            .expect("pending")
            .is_empty()
    );
    assert_eq!(
        tables(&admin, "other").await,
        ["items", "seaql_migrations", "seaql_migrations_meta"]
    );
    assert_eq!(tables(&admin, "public").await, Vec::<String>::new());
}

#[tokio::test]
async fn two_schemas_lock_apart_and_one_schema_locks_together() {
    let Some((tdb, _admin)) = database().await else {
        return;
    };
    let (app, other, app_again) = (
        connect(&tdb, "app", true).await.expect("connect"),
        connect(&tdb, "other", true).await.expect("connect"),
        connect(&tdb, "app", true).await.expect("connect"),
    );
    let short = Some(Duration::from_millis(300));
    let table = "seaql_migrations";
    let held = Lock::acquire(&app, table, None, None, &mut || {})
        .await
        .expect("lock app");
    let beside = Lock::acquire(&other, table, None, short, &mut || {})
        .await
        .expect("another schema is another lock");
    let mut waited = false;
    let blocked = Lock::acquire(&app_again, table, None, short, &mut || waited = true).await;
    let message = blocked.err().expect("the same schema waits").to_string();
    assert!(waited && message.contains(".app`"), "{message}");
    held.release().await;
    beside.release().await;
}

#[tokio::test]
async fn a_schema_that_does_not_exist_is_an_error_and_creates_nothing() {
    let Some((tdb, admin)) = database().await else {
        return;
    };
    for write in [false, true] {
        let e = connect(&tdb, "nope", write).await.err().expect("an error");
        assert_eq!(e.exit_code(), exit::USAGE);
        let message = e.to_string();
        assert!(
            message.contains("schema `nope` does not exist") && message.contains("CREATE SCHEMA"),
            "{message}"
        );
    }
    assert_eq!(tables(&admin, "public").await, Vec::<String>::new());
}

/// An adopted sea-orm-cli crate, through both command lines.
#[tokio::test]
async fn sea_orm_clis_dash_s_and_cargo_migrate_agree() {
    let Some((tdb, admin)) = database().await else {
        return;
    };
    let url = tdb.url.as_str();
    let p = Project::new();
    p.sea_orm_cli_crate();
    sea_orm_cli_migrates_app_and_cargo_migrate_sees_it(&p, url);
    assert_eq!(tables(&admin, "public").await, Vec::<String>::new());
    the_configuration_env_and_flag_choose_the_schema(&p, url);
    cargo_migrate_migrates_other_and_sea_orm_cli_sees_it(&p, url);
    assert_eq!(tables(&admin, "public").await, Vec::<String>::new());

    // A schema that does not exist: a clear error, for reads and writes alike.
    for args in [&["-s", "nope", "current"][..], &["-s", "nope", "upgrade"]] {
        p.run(args)
            .on(url)
            .status(2)
            .one_line()
            .stderr_has("schema `nope` does not exist");
    }
    assert_eq!(tables(&admin, "public").await, Vec::<String>::new());
}

const HEAD: &str = "m20261122_132657_add_users";

/// sea-orm-migration's own CLI migrates `app` ...
fn sea_orm_cli_migrates_app_and_cargo_migrate_sees_it(p: &Project, url: &str) {
    p.sea_orm_cli(url, &["-s", "app", "up"]).exited(0);
    // ... and `cargo migrate -s app` is at head there, with nothing left to apply.
    p.run(&["-s", "app", "current"])
        .on(url)
        .status(0)
        .stdout_is(&format!("{HEAD} (head)\n"));
    p.run(&["-s", "app", "upgrade", "head"])
        .on(url)
        .status(0)
        .stderr_has("nothing to do");
    p.run(&["--database-schema", "app", "status"])
        .on(url)
        .status(0)
        .stdout_has(" (schema app)\n");
    let v = p
        .run(&["-s", "app", "status", "--format", "json"])
        .on(url)
        .status(0)
        .json();
    assert_eq!(v["schema"], "app");
    assert_eq!(v["pending"].as_array().map(Vec::len), Some(0));
}

/// The configuration names the schema; `.env` beats it, the flag beats both.
fn the_configuration_env_and_flag_choose_the_schema(p: &Project, url: &str) {
    let manifest = p.read("Cargo.toml");
    p.write(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.migrate]\nschema = \"app\"\n"),
    );
    p.run(&["current"])
        .on(url)
        .status(0)
        .stdout_is(&format!("{HEAD} (head)\n"));
    p.write(".env", "DATABASE_SCHEMA=other\n");
    p.run(&["current"]).on(url).status(0).stdout_is(""); // `other` is at base
    p.run(&["-s", "app", "current"])
        .on(url)
        .status(0)
        .stdout_is(&format!("{HEAD} (head)\n"));
}

/// cargo migrate migrates `other` (named by `.env`) ...
fn cargo_migrate_migrates_other_and_sea_orm_cli_sees_it(p: &Project, url: &str) {
    p.run(&["upgrade", "head"])
        .on(url)
        .status(0)
        .stderr_has(&format!("Applied {HEAD} ("));
    // ... and sea-orm-migration's `-s other status` sees it all applied.
    let o = p.sea_orm_cli(url, &["-s", "other", "status"]).exited(0);
    let text = format!("{}{}", o.stdout(), o.stderr());
    for id in ["m20220101_000001_create_table", HEAD] {
        assert!(
            text.contains(&format!("Migration '{id}'... Applied")),
            "{text}"
        );
    }
}
