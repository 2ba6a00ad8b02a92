//! The SQLite migration lock: an exclusive lock on the file `<database>-migrate-lock`
//! beside the database, which the operating system releases when the process dies.
//! SQLite's own write lock cannot serve: it ends with each step's commit, and a step
//! that opts out of transactions (`VACUUM`, `PRAGMA foreign_keys`) must run without
//! one. Held across commits (`locking_mode = EXCLUSIVE`) it would also shut out every
//! reader, and in WAL mode wait for every other open connection.

use std::fs::{File, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often a run waiting for the lock tries again.
const POLL: Duration = Duration::from_millis(50);

/// The path of the file whose lock is the migration lock of the SQLite database `db`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-migrate-lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock of `db`'s lock file, waiting at most `timeout`, and writes
/// who holds it into the file for whoever waits next.
pub async fn lock_file(
    db: &Path,
    timeout: Option<Duration>,
    waiting: &mut (dyn FnMut() + Send),
) -> Result<File> {
    let path = lock_path(db);
    let cannot = |e: std::io::Error| {
        Error::Database(format!(
            "cannot open the migration lock file {}: {e}",
            path.display()
        ))
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot)?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut waited = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::Database(format!(
                "gave up after {}s waiting for the migration lock of {} ({}), held by {}; \
                 wait for it to finish, or raise --lock-timeout",
                timeout.unwrap_or_default().as_secs_f64(),
                db.display(),
                path.display(),
                file_holder(&mut file)
            )));
        }
        if !waited {
            waited = true;
            waiting();
        }
        tokio::time::sleep(POLL).await;
    }
    // Best effort: the lock holds whether or not its holder is written down.
    let _ = file
        .set_len(0)
        .and_then(|()| write!(file, "process {} (cargo-migrate)", std::process::id()));
    Ok(file)
}

/// Who holds a lock file, as its holder wrote it.
fn file_holder(file: &mut File) -> String {
    let mut holder = String::new();
    let _ = file.read_to_string(&mut holder);
    match holder.trim() {
        "" => "another cargo-migrate process".to_string(),
        holder => holder.to_string(),
    }
}
