//! Races between runs, and failures at the edges of a step (issue 9, items 8–10 and
//! 12). Each race is forced, not hoped for: a migration waits at a [`Gate`] until the
//! other run reaches the migration lock (and opens the gate from there), or a
//! confirmation lets another run change the database before the answer.

#[path = "support/runtime_db.rs"]
mod runtime_db;
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cargo_migrate::sea_orm_migration::sea_orm::{
    ConnectionTrait, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use cargo_migrate::sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager, async_trait};
use cargo_migrate::{Change, Observer, Quiet};
use cargo_migrate::{Db, DbOptions};
use cargo_migrate::{DbUrl, Error, Revision, Runtime, State, WriteOptions};
use runtime_db::{applied, connect, connect_with, ids, opts, tables, upgrade};
use support::{Backend, TestDb};

// ---------------------------------------------------------------------------------------
// Migrations, gates and observers

/// A point a migration waits at until the test opens it. Without the behaviour under
/// test nobody opens it: the migration goes on after [`GATE_WAIT`], and the test fails
/// on what the runs did.
#[derive(Default)]
struct Gate {
    reached: AtomicUsize,
    open: AtomicBool,
}

const GATE_WAIT: Duration = Duration::from_secs(5);

impl Gate {
    async fn pass(&self) {
        self.reached.fetch_add(1, SeqCst);
        let deadline = Instant::now() + GATE_WAIT;
        while !self.open.load(SeqCst) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Returns once a migration waits at the gate.
    async fn reached(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.reached.load(SeqCst) == 0 {
            assert!(Instant::now() < deadline, "no migration reached the gate");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn open(&self) {
        self.open.store(true, SeqCst);
    }
}

/// A migration that creates table `table` (and drops it), then runs `then` and waits
/// at `gate`. `runs` counts its `up`s.
struct Step {
    id: &'static str,
    table: &'static str,
    transaction: Option<bool>,
    then: Vec<String>,
    gate: Option<Arc<Gate>>,
    runs: Arc<AtomicUsize>,
}

fn step(id: &'static str, table: &'static str) -> Step {
    Step {
        id,
        table,
        transaction: None,
        then: Vec::new(),
        gate: None,
        runs: Arc::default(),
    }
}

impl MigrationName for Step {
    fn name(&self) -> &str {
        self.id
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Step {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.runs.fetch_add(1, SeqCst);
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE TABLE {} (id INTEGER PRIMARY KEY)",
            self.table
        ))
        .await?;
        for sql in &self.then {
            db.execute_unprepared(sql).await?;
        }
        if let Some(gate) = &self.gate {
            gate.pass().await;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!("DROP TABLE {}", self.table);
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        self.transaction
    }
}

const A: &str = "m20260101_000000_a";
const B: &str = "m20260102_000000_b";
const C: &str = "m20260103_000000_c";
const D: &str = "m20260104_000000_d";

/// The steps as a chain, each revising the one before.
fn chain(steps: Vec<Step>) -> Runtime {
    let mut parent: Option<&'static str> = None;
    let revisions = steps
        .into_iter()
        .map(|s| {
            let parents: Vec<&str> = parent.into_iter().collect();
            parent = Some(s.id);
            Revision::new(s, &parents)
        })
        .collect();
    Runtime::new(revisions, "seaql_migrations").expect("valid graph")
}

/// a → b → c → d, `last` in place of d.
fn abc_then(last: Step) -> Runtime {
    chain(vec![step(A, "t_a"), step(B, "t_b"), step(C, "t_c"), last])
}

fn abcd() -> Runtime {
    abc_then(step(D, "t_d"))
}

/// a, b and c applied, and d to come, which holds at the gate until it opens: the gate,
/// the runtime and two connections.
async fn at_c_with_d_held(tdb: &TestDb) -> (Arc<Gate>, Runtime, Db, Db) {
    let gate = Arc::new(Gate::default());
    let rt = abc_then(Step {
        gate: Some(gate.clone()),
        ..step(D, "t_d")
    });
    let (db1, db2) = (connect(tdb).await, connect(tdb).await);
    upgrade(&rt, &db1, C).await.unwrap();
    (gate, rt, db1, db2)
}

/// Opens `gate` when the run it observes waits for the migration lock.
struct OpensWhenWaiting {
    gate: Arc<Gate>,
    waited: bool,
}

impl OpensWhenWaiting {
    fn new(gate: &Arc<Gate>) -> Self {
        OpensWhenWaiting {
            gate: gate.clone(),
            waited: false,
        }
    }
}

impl Observer for OpensWhenWaiting {
    fn waiting_for_lock(&mut self) {
        self.waited = true;
        self.gate.open();
    }
}

/// Answers every confirmation with `answer`, keeping the questions; runs `meanwhile`
/// (once) before the first answer, as a user slow to answer would let happen; opens
/// `gate` if it waits for the lock.
struct Answers {
    answer: bool,
    asked: Vec<(Vec<Change>, bool)>,
    meanwhile: Option<Box<dyn FnOnce() + Send>>,
    gate: Option<Arc<Gate>>,
}

impl Answers {
    fn new(answer: bool) -> Self {
        Answers {
            answer,
            asked: Vec::new(),
            meanwhile: None,
            gate: None,
        }
    }
}

impl Observer for Answers {
    fn waiting_for_lock(&mut self) {
        if let Some(gate) = &self.gate {
            gate.open();
        }
    }

    fn asks(&self) -> bool {
        true
    }

    fn confirm(&mut self, changes: &[Change], again: bool) -> Result<bool, Error> {
        self.asked.push((changes.to_vec(), again));
        if let Some(meanwhile) = self.meanwhile.take() {
            meanwhile();
        }
        Ok(self.answer)
    }
}

// ---------------------------------------------------------------------------------------
// The database, as the test sees it

async fn state(rt: &Runtime, db: &Db) -> State {
    rt.state(db).await.expect("state")
}

/// Runs `upgrade <target>` of [`abcd`] as another process would: on its own thread,
/// runtime and connection, giving up on the lock after 2 s. Returns how many steps it
/// ran.
fn upgrade_elsewhere(url: &str, target: &str) -> Result<usize, String> {
    let (url, target) = (url.to_string(), target.to_string());
    std::thread::spawn(move || {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        tokio.block_on(async {
            let write = DbOptions {
                write: true,
                ..Default::default()
            };
            let db = connect_with(&url, write).await;
            let opts = WriteOptions {
                lock_timeout: Some(Duration::from_secs(2)),
                ..Default::default()
            };
            let ran = abcd()
                .upgrade(&db, &target, &opts, &mut Quiet)
                .await
                .map(|steps| steps.len())
                .map_err(|e| e.to_string());
            db.close().await;
            ran
        })
    })
    .join()
    .expect("the other run")
}

/// The text of `err`, which must be the failure of migration `id`.
fn migration_error(err: Error, id: &str) -> String {
    assert!(
        matches!(&err, Error::Migration { id: failed, .. } if failed == id),
        "expected a failure of `{id}`, got: {err:?}"
    );
    err.to_string()
}

// ---------------------------------------------------------------------------------------
// 1. Two runs at once (item 8)

on_every_backend!(
    a_step_outside_a_transaction_runs_once_while_another_run_waits_for_the_lock,
    |tdb| {
        let gate = Arc::new(Gate::default());
        let runs = Arc::new(AtomicUsize::new(0));
        // like a VACUUM or a PRAGMA, which cannot run in a transaction
        let rt = chain(vec![
            step(A, "t_a"),
            Step {
                transaction: Some(false),
                gate: Some(gate.clone()),
                runs: runs.clone(),
                ..step(B, "t_b")
            },
        ]);
        let (db1, db2) = (connect(&tdb).await, connect(&tdb).await);
        let (o, mut quiet, mut observer) = (opts(), Quiet, OpensWhenWaiting::new(&gate));
        let first = rt.upgrade(&db1, "head", &o, &mut quiet);
        let second = async {
            gate.reached().await;
            rt.upgrade(&db2, "head", &o, &mut observer).await
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!(ids(&first.expect("the first run")), [A, B]);
        assert!(second.expect("the second run").is_empty());
        assert!(observer.waited, "the second run did not wait for the lock");
        assert_eq!(runs.load(SeqCst), 1, "the step ran twice");
        let state = state(&rt, &db2).await;
        assert_eq!(state.applied_count(), 2);
        assert!(
            state.recorded.meta.values().all(|m| m.failure.is_none()),
            "{:?}",
            state.recorded.meta
        );
    }
);

on_every_backend!(
    stamp_waits_for_a_running_upgrade_then_records_exactly_its_target,
    |tdb| {
        let (gate, rt, db1, db2) = at_c_with_d_held(&tdb).await;
        let (o, mut quiet, mut observer) = (opts(), Quiet, OpensWhenWaiting::new(&gate));
        let upgrade = rt.upgrade(&db1, "head", &o, &mut quiet);
        let target = [C.to_string()];
        let stamp = async {
            gate.reached().await;
            rt.stamp(&db2, &target, false, &o, &mut observer).await
        };
        let (upgrade, stamp) = tokio::join!(upgrade, stamp);
        assert_eq!(ids(&upgrade.expect("upgrade")), [D]);
        assert!(observer.waited, "stamp did not wait for the lock");
        // it saw d, which the upgrade applied while it waited, and took it back
        let stamp = stamp.expect("stamp");
        assert_eq!(stamp.removed, [D]);
        assert_eq!(stamp.current, [C]);
        assert_eq!(applied(&rt, &db2).await, [A, B, C]);
    }
);

on_every_backend!(
    downgrade_waits_for_a_running_upgrade_then_reverts_what_it_applied,
    |tdb| {
        let (gate, rt, db1, db2) = at_c_with_d_held(&tdb).await;
        let (o, mut quiet, mut observer) = (opts(), Quiet, OpensWhenWaiting::new(&gate));
        let upgrade = rt.upgrade(&db1, "head", &o, &mut quiet);
        let downgrade = async {
            gate.reached().await;
            rt.downgrade(&db2, "-1", &o, &mut observer).await
        };
        let (upgrade, downgrade) = tokio::join!(upgrade, downgrade);
        assert_eq!(ids(&upgrade.expect("upgrade")), [D]);
        assert!(observer.waited, "downgrade did not wait for the lock");
        // -1 from d, which the upgrade applied while it waited; never c under d
        assert_eq!(ids(&downgrade.expect("downgrade -1")), [D]);
        assert_eq!(applied(&rt, &db2).await, [A, B, C]);
    }
);

on_every_backend!(
    downgrade_plans_again_under_the_lock_and_asks_again_when_the_plan_changed,
    |tdb| {
        let rt = abcd();
        let db = connect(&tdb).await;
        upgrade(&rt, &db, C).await.unwrap();
        // While the user reads the plan (revert c), another run applies d: c's child.
        let other = Arc::new(Mutex::new(None));
        let mut answers = Answers::new(true);
        answers.meanwhile = Some(Box::new({
            let (url, other) = (tdb.url.clone(), other.clone());
            move || *other.lock().unwrap() = Some(upgrade_elsewhere(&url, "head"))
        }));
        let steps = rt
            .downgrade(&db, "-1", &opts(), &mut answers)
            .await
            .expect("downgrade -1");
        // the prompt held no lock, so the other run went ahead...
        assert_eq!(*other.lock().unwrap(), Some(Ok(1)));
        // ...and the downgrade planned again under the lock: d, not its parent c
        assert_eq!(
            answers.asked,
            [
                (vec![Change::Revert(C.to_string())], false),
                (vec![Change::Revert(D.to_string())], true),
            ]
        );
        assert_eq!(ids(&steps), [D]);
        assert_eq!(applied(&rt, &db).await, [A, B, C]);
        assert_eq!(tables(&db).await, ["t_a", "t_b", "t_c"]);
    }
);

on_every_backend!(
    a_run_under_way_is_waited_for_then_asked_about_not_refused,
    |tdb| {
        let gate = Arc::new(Gate::default());
        let rt = chain(vec![
            step(A, "t_a"),
            Step {
                transaction: Some(false),
                gate: Some(gate.clone()),
                ..step(B, "t_b")
            },
        ]);
        let (db1, db2) = (connect(&tdb).await, connect(&tdb).await);
        let (o, mut quiet) = (opts(), Quiet);
        let mut answers = Answers::new(true);
        answers.gate = Some(gate.clone());
        let upgrade = rt.upgrade(&db1, "head", &o, &mut quiet);
        let downgrade = async {
            gate.reached().await;
            // before the lock, b's in-progress mark reads as half-applied: no refusal
            // yet, the lock tells
            assert_eq!(state(&rt, &db2).await.half_applied(), [B]);
            rt.downgrade(&db2, "-1", &o, &mut answers).await
        };
        let (upgrade, downgrade) = tokio::join!(upgrade, downgrade);
        assert_eq!(ids(&upgrade.expect("upgrade")), [A, B]);
        assert_eq!(ids(&downgrade.expect("downgrade -1")), [B]);
        assert_eq!(
            answers.asked,
            [(vec![Change::Revert(B.to_string())], false)]
        );
        assert_eq!(applied(&rt, &db2).await, [A]);
    }
);

on_every_backend!(
    a_plan_is_confirmed_before_anything_is_created_and_once_if_it_stays_the_same,
    |tdb| {
        let rt = abcd();
        let db = connect(&tdb).await;
        let mut no = Answers::new(false);
        let err = rt.upgrade(&db, "head", &opts(), &mut no).await.unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err}");
        assert_eq!(no.asked.len(), 1);
        // asked before the lock: not even the tracking table was created
        let tracking = match tdb.backend {
            Backend::Postgres => {
                "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema()"
            }
            Backend::MySql => {
                "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
            Backend::Sqlite => "SELECT name AS t FROM sqlite_master",
        };
        let rows = db
            .connection()
            .query_all_raw(
                cargo_migrate::sea_orm_migration::sea_orm::Statement::from_string(
                    db.backend(),
                    tracking,
                ),
            )
            .await
            .unwrap();
        assert!(rows.is_empty(), "{} tables", rows.len());

        let mut yes = Answers::new(true);
        let steps = rt.upgrade(&db, "head", &opts(), &mut yes).await.unwrap();
        assert_eq!(steps.len(), 4);
        let plan: Vec<Change> = [A, B, C, D]
            .iter()
            .map(|id| Change::Apply(id.to_string()))
            .collect();
        assert_eq!(yes.asked, [(plan, false)]);
    }
);

// ---------------------------------------------------------------------------------------
// 2. What a failed step leaves behind (items 9, 10 and 12)

on_every_backend!(
    a_failed_step_in_a_transaction_is_half_applied_on_mysql_and_rolled_back_elsewhere,
    |tdb| {
        let rt = chain(vec![Step {
            transaction: Some(true),
            then: vec!["INSERT INTO no_such_table VALUES (1)".to_string()],
            ..step(A, "t_kept")
        }]);
        let db = connect(&tdb).await;
        let err = upgrade(&rt, &db, "head").await.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let message = migration_error(err, A);
        assert!(message.contains("no_such_table"), "{message}");
        let state = state(&rt, &db).await;
        let failure = state.recorded.meta[A].failure.clone().expect("recorded");
        if tdb.backend == Backend::MySql {
            // MySQL committed the CREATE TABLE: the transaction did not undo it
            assert_eq!(tables(&db).await, ["t_kept"]);
            assert!(!failure.transactional);
            assert_eq!(state.half_applied(), [A]);
            assert!(
                message.contains("even in a transaction")
                    && message.contains("part of it may have been applied")
                    && !message.contains("rolled back"),
                "{message}"
            );
            let err = upgrade(&rt, &db, "head").await.unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains("failed part-way"), "{err}");
        } else {
            assert!(tables(&db).await.is_empty());
            assert!(failure.transactional);
            assert!(state.half_applied().is_empty());
            assert!(message.contains("rolled back"), "{message}");
        }
    }
);

on_every_backend!(
    a_step_that_can_leave_part_of_itself_behind_is_marked_while_it_runs,
    |tdb| {
        let gate = Arc::new(Gate::default());
        let rt = chain(vec![Step {
            transaction: Some(true),
            gate: Some(gate.clone()),
            ..step(A, "t_a")
        }]);
        let (db1, db2) = (connect(&tdb).await, connect(&tdb).await);
        let (o, mut quiet) = (opts(), Quiet);
        let upgrade = rt.upgrade(&db1, "head", &o, &mut quiet);
        let meanwhile = async {
            gate.reached().await;
            let seen = state(&rt, &db2).await;
            gate.open();
            seen
        };
        let (upgrade, seen) = tokio::join!(upgrade, meanwhile);
        upgrade.expect("upgrade");
        let mark = seen.recorded.meta.get(A).and_then(|m| m.failure.clone());
        if tdb.backend == Backend::MySql {
            // killed now, the next run would refuse rather than run it blind
            let mark = mark.expect("marked in progress");
            assert!(mark.error.starts_with("interrupted"), "{mark:?}");
            assert_eq!(seen.half_applied(), [A]);
        } else {
            assert_eq!(mark, None);
        }
        let done = state(&rt, &db1).await;
        assert!(done.half_applied().is_empty() && done.recorded.meta[A].failure.is_none());
    }
);

/// A migration adds a deferred foreign key that its own rows violate: the database says
/// so only at COMMIT.
async fn violated_at_commit(tdb: TestDb) {
    let rt = chain(vec![
        step(A, "t_a"),
        Step {
            then: vec![
                "CREATE TABLE t_child (id INTEGER PRIMARY KEY, parent INTEGER \
                 REFERENCES t_b (id) DEFERRABLE INITIALLY DEFERRED)"
                    .to_string(),
                "INSERT INTO t_child (id, parent) VALUES (1, 42)".to_string(),
            ],
            ..step(B, "t_b")
        },
    ]);
    let db = connect(&tdb).await;
    let err = upgrade(&rt, &db, "head").await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let message = migration_error(err, B);
    assert!(
        message.to_lowercase().contains("foreign key") && message.contains("rolled back"),
        "{message}"
    );
    assert_eq!(applied(&rt, &db).await, [A]);
    assert_eq!(tables(&db).await, ["t_a"]);
    // recorded, so `status` shows it (rolled back)
    let state = state(&rt, &db).await;
    let failure = state.recorded.meta[B].failure.clone().expect("recorded");
    assert!(
        failure.transactional && failure.direction == "up",
        "{failure:?}"
    );
    assert!(
        failure.error.to_lowercase().contains("foreign key"),
        "{failure:?}"
    );
    assert!(state.half_applied().is_empty());
}

on_backends!(
    a_failure_at_commit_names_the_migration_and_is_recorded [sqlite: Sqlite, postgres: Postgres],
    |db| {
        violated_at_commit(db).await;
    }
);

on_every_backend!(
    a_version_recorded_meanwhile_fails_the_step_that_records_it,
    |tdb| {
        // as a sea-orm-migration run (which takes no lock) would, at the same time
        let rt = chain(vec![Step {
            then: vec![format!(
                "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{A}', 0)"
            )],
            ..step(A, "t_a")
        }]);
        let db = connect(&tdb).await;
        let err = upgrade(&rt, &db, "head").await.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let message = migration_error(err, A);
        let duplicate = ["duplicate", "unique"]
            .iter()
            .any(|w| message.to_lowercase().contains(w));
        assert!(duplicate, "{message}");
        let state = state(&rt, &db).await;
        let failure = state.recorded.meta[A].failure.clone().expect("recorded");
        if tdb.backend == Backend::MySql {
            assert!(!failure.transactional);
            assert_eq!(state.half_applied(), [A]);
        } else {
            assert!(failure.transactional, "{failure:?}");
            assert!(state.recorded.applied.is_empty());
        }
    }
);

on_every_backend!(
    a_step_outside_a_transaction_is_recorded_whole_or_not_at_all,
    |tdb| {
        // the step's side-table row is refused after its main row was written
        let refuse = match tdb.backend {
            Backend::Sqlite => vec![
                "CREATE TRIGGER refuse_meta BEFORE INSERT ON seaql_migrations_meta \
                 WHEN NEW.execution_ms IS NOT NULL BEGIN SELECT RAISE(ABORT, 'meta refused'); END"
                    .to_string(),
            ],
            Backend::Postgres => vec![
                "CREATE FUNCTION refuse_meta() RETURNS trigger AS $$ BEGIN \
                 IF NEW.execution_ms IS NOT NULL THEN RAISE EXCEPTION 'meta refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
                    .to_string(),
                "CREATE TRIGGER refuse_meta BEFORE INSERT ON seaql_migrations_meta \
                 FOR EACH ROW EXECUTE FUNCTION refuse_meta()"
                    .to_string(),
            ],
            Backend::MySql => vec![
                "CREATE TRIGGER refuse_meta BEFORE INSERT ON seaql_migrations_meta \
                 FOR EACH ROW BEGIN IF NEW.execution_ms IS NOT NULL THEN \
                 SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'meta refused'; END IF; END"
                    .to_string(),
            ],
        };
        let rt = chain(vec![Step {
            transaction: Some(false),
            then: refuse,
            ..step(A, "t_a")
        }]);
        let db = connect(&tdb).await;
        let err = upgrade(&rt, &db, "head").await.unwrap_err();
        let message = migration_error(err, A);
        assert!(message.contains("meta refused"), "{message}");
        // not applied with a failure beside it: the main row went with the side row
        let state = state(&rt, &db).await;
        assert!(
            state.recorded.applied.is_empty(),
            "{:?}",
            state.recorded.applied
        );
        assert_eq!(state.half_applied(), [A]);
        let failure = state.recorded.meta[A].failure.clone().expect("recorded");
        assert!(failure.error.contains("meta refused"), "{failure:?}");
    }
);

// ---------------------------------------------------------------------------------------
// 3. SQLite locked by another program (item 12)

#[tokio::test]
async fn sqlite_locked_by_another_program_says_who_to_wait_for() {
    let tdb = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let rt = abcd();
    let holder = connect(&tdb).await;
    let briefly = Some(Duration::from_millis(200));
    let reading = DbOptions {
        lock_timeout: briefly,
        ..Default::default()
    };
    let writing = DbOptions {
        write: true,
        ..reading
    };
    let (reader, writer) = (
        connect_with(&tdb.url, reading).await,
        connect_with(&tdb.url, writing).await,
    );
    let txn = holder
        .connection()
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Exclusive),
            ..Default::default()
        })
        .await
        .unwrap();
    let for_a_reader = |err: &str| {
        assert!(
            err.contains("database is locked: another process is writing to the database")
                && err.contains("--lock-timeout")
                && !err.contains("migration lock"),
            "{err}"
        );
    };
    // a reading verb, connected or connecting
    for_a_reader(&rt.state(&reader).await.unwrap_err().to_string());
    let err = Db::connect(&DbUrl::parse(&tdb.url).unwrap(), reading)
        .await
        .err()
        .expect("connecting to a locked database");
    for_a_reader(&err.to_string());
    // a writing verb: cargo-migrate runs would be waiting for each other at the lock
    let err = upgrade(&rt, &writer, "head").await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let err = err.to_string();
    assert!(
        err.contains("database is locked: another program is writing to the database")
            && err.contains("not a cargo-migrate run")
            && err.contains("--lock-timeout"),
        "{err}"
    );
    txn.rollback().await.unwrap();
}
