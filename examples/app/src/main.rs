//! An application that migrates its own database when it starts, on its own
//! connection, and serves the migration admin endpoints under `/admin/migrations`.
//!
//! ```text
//! DATABASE_URL=... example-app                 # migrate, print the report, exit
//! DATABASE_URL=... ADMIN_TOKEN=... example-app --serve 127.0.0.1:8080 [--no-migrate]
//! ```

use std::process::ExitCode;

use cargo_migrate::http::{BearerToken, router};
use cargo_migrate::sea_orm_migration::sea_orm::Database;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serve = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1).cloned());
    let migrate = !args.iter().any(|a| a == "--no-migrate");
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("error: set DATABASE_URL");
        return ExitCode::from(2);
    };
    // The application's one pool: the migrations run on it too.
    let db = match Database::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: cannot connect: {e}");
            return ExitCode::from(1);
        }
    };
    if migrate {
        match cargo_migrate::upgrade::<migrations::Migrator>(&db).await {
            Ok(report) => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(e.exit_code());
            }
        }
    }
    let Some(addr) = serve else {
        return ExitCode::SUCCESS;
    };
    let token = std::env::var("ADMIN_TOKEN").unwrap_or_default();
    let app = axum::Router::new().nest(
        "/admin/migrations",
        router::<migrations::Migrator>(db, BearerToken::new(token)),
    );
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    if let Ok(local) = listener.local_addr() {
        println!("listening on {local}");
    }
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
