//! Fresh databases for the benches that apply migrations (`apply`, `preview`,
//! `app_start`): one per round on the server `admin` names, dropped afterwards, or a
//! SQLite file in a temporary directory.

use std::path::Path;

use cargo_migrate::sea_orm_migration::sea_orm::{ConnectionTrait, Database};

/// A fresh database's URL, and the name to drop (`None` for SQLite): `<label>_<pid>_<n>`
/// on `admin`'s server, or `<dir>/<label><n>.db` when `admin` is a `sqlite` URL or word.
pub async fn fresh(
    admin: &str,
    label: &str,
    n: usize,
    dir: &Path,
) -> Result<(String, Option<String>), String> {
    if admin.starts_with("sqlite") {
        return Ok((
            format!("sqlite://{}/{label}{n}.db?mode=rwc", dir.display()),
            None,
        ));
    }
    let conn = Database::connect(admin)
        .await
        .map_err(|e| format!("no server at {admin}: {e}"))?;
    let name = format!("{label}_{}_{n}", std::process::id());
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    let (base, _) = admin.rsplit_once('/').ok_or("no database in the URL")?;
    Ok((format!("{base}/{name}"), Some(name)))
}

/// Drops the database `fresh` made (nothing for SQLite).
pub async fn drop(admin: &str, name: Option<String>) {
    if let Some(name) = name
        && let Ok(conn) = Database::connect(admin).await
    {
        let _ = conn
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
        let _ = conn.close().await;
    }
}
