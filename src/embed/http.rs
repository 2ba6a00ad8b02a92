//! Admin endpoints for axum (feature `axum`): `GET status`, `GET health`, `POST
//! upgrade` and `POST upgrade?dry_run=true`, mounted by the application under its own
//! router:
//!
//! ```ignore
//! let admin = cargo_migrate::http::router::<migrations::Migrator>(
//!     db.clone(),
//!     cargo_migrate::http::BearerToken::new(std::env::var("ADMIN_TOKEN")?),
//! );
//! let app = axum::Router::new().nest("/admin/migrations", admin);
//! ```
//!
//! Every request passes the [`Guard`] the application gives first; there is no default
//! that lets requests through. An application that authorises with its own layer says
//! so with [`AuthorisedByLayer`].
//!
//! Answers are JSON: `status` the [`Status`](crate::Status) that `status --format json`
//! prints (200); `health` the [`Health`](crate::Health) with 200 when ok and 503
//! otherwise; `upgrade` the [`Report`](crate::Report) (200), or with `dry_run=true` the
//! [`DryRun`](crate::DryRun) (200). A failure is `{"error": "...", "exit_code": N}`
//! with 409 for a refusal (several heads, unknown or half-applied revisions, a bad
//! target), 503 when the database cannot be reached or the lock not taken, and 500 for a
//! migration that failed; a request the guard refuses gets 401.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sea_orm_migration::sea_orm::DatabaseConnection;
use serde::Deserialize;

use crate::embed::start::{Upgrade, status};
use crate::engine::connect::Db;
use crate::engine::dry_run::{DryGoal, DryRunOptions};
use crate::engine::runtime::{Quiet, WriteOptions};
use crate::error::{Error, exit};
use crate::model::revision::Migrations;
use crate::model::spec::AsSpec;

/// Decides whether a request may reach the migration endpoints.
pub trait Guard: Send + Sync + 'static {
    /// `true` lets the request through; `false` answers 401.
    fn allows(&self, request: &Parts) -> bool;
}

impl<F> Guard for F
where
    F: Fn(&Parts) -> bool + Send + Sync + 'static,
{
    fn allows(&self, request: &Parts) -> bool {
        self(request)
    }
}

/// Lets through requests with `Authorization: Bearer <token>` (compared in constant
/// time); an empty token lets nobody through.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// A guard that accepts `token`.
    pub fn new(token: impl Into<String>) -> BearerToken {
        BearerToken(token.into())
    }
}

impl Guard for BearerToken {
    fn allows(&self, request: &Parts) -> bool {
        let given = request
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        !self.0.is_empty() && same(given.as_bytes(), self.0.as_bytes())
    }
}

/// The application authorises these routes with its own layer (a `route_layer` of its
/// authentication) around the router: every request that reaches the guard passes.
#[derive(Clone, Copy)]
pub struct AuthorisedByLayer;

impl Guard for AuthorisedByLayer {
    fn allows(&self, _: &Parts) -> bool {
        true
    }
}

/// Byte strings equal, in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The routes `/status`, `/health` and `/upgrade` for `M`'s migrations on `db`, each
/// behind `guard`. Mount it with `Router::nest`.
pub fn router<M: Migrations + 'static>(db: DatabaseConnection, guard: impl Guard) -> axum::Router {
    let shared = Arc::new(Shared::<M> {
        db,
        lock_timeout: Duration::from_secs(60),
        migrations: PhantomData,
    });
    let guard: Arc<dyn Guard> = Arc::new(guard);
    axum::Router::new()
        .route("/status", get(status_handler::<M>))
        .route("/health", get(health_handler::<M>))
        .route("/upgrade", post(upgrade_handler::<M>))
        .with_state(shared)
        .route_layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let guard = guard.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    if !guard.allows(&parts) {
                        return failure(StatusCode::UNAUTHORIZED, "not authorised", exit::USAGE);
                    }
                    next.run(Request::from_parts(parts, body)).await
                }
            },
        ))
}

/// What the handlers share: the application's connection.
struct Shared<M> {
    db: DatabaseConnection,
    /// How long `POST upgrade` waits for another run's lock before it answers 503.
    lock_timeout: Duration,
    migrations: PhantomData<fn() -> M>,
}

async fn status_handler<M: Migrations + 'static>(State(s): State<Arc<Shared<M>>>) -> Response {
    match status::<M>(&s.db).await {
        Ok(status) => Json(status).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn health_handler<M: Migrations + 'static>(State(s): State<Arc<Shared<M>>>) -> Response {
    match status::<M>(&s.db).await {
        Ok(status) => {
            let code = StatusCode::from_u16(status.health.http_status())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (code, Json(status.health)).into_response()
        }
        // Unreachable database or unreadable state: not ready either way.
        Err(e) => failure(
            StatusCode::SERVICE_UNAVAILABLE,
            &e.to_string(),
            e.exit_code(),
        ),
    }
}

/// `POST upgrade`'s query: `?dry_run=true` rehearses instead.
#[derive(Deserialize)]
struct UpgradeQuery {
    #[serde(default)]
    dry_run: bool,
}

async fn upgrade_handler<M: Migrations + 'static>(
    State(s): State<Arc<Shared<M>>>,
    Query(q): Query<UpgradeQuery>,
) -> Response {
    if q.dry_run {
        return match dry_run::<M>(&s).await {
            Ok(run) => Json(run).into_response(),
            Err(e) => error_response(&e),
        };
    }
    match Upgrade::new::<M>(&s.db)
        .lock_timeout(s.lock_timeout)
        .run()
        .await
    {
        Ok(report) => Json(report).into_response(),
        Err(e) => error_response(&e),
    }
}

/// The state-aware dry run of `upgrade head`: run and rolled back (PostgreSQL,
/// SQLite) or run in a scratch database (MySQL/MariaDB).
async fn dry_run<M: Migrations + 'static>(
    s: &Shared<M>,
) -> crate::error::Result<crate::engine::dry_run::DryRun> {
    let rt = crate::embed::start::runtime::<M>()?;
    let target = "head".as_spec(rt.graph())?;
    let db = Db::from_connection(&s.db).await?;
    let opts = WriteOptions {
        lock_timeout: Some(s.lock_timeout),
        ..WriteOptions::default()
    };
    rt.dry_run(
        &db,
        &DryGoal::Upgrade(target),
        &opts,
        &DryRunOptions::default(),
        &mut Quiet,
    )
    .await
}

/// An error as JSON, with the HTTP status its kind calls for.
fn error_response(e: &Error) -> Response {
    let code = match e {
        Error::Database(message) if message.contains("migration lock") => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::Database(message) if message.starts_with("cannot connect") => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ if e.exit_code() == exit::USAGE => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    failure(code, &e.to_string(), e.exit_code())
}

fn failure(code: StatusCode, message: &str, exit_code: u8) -> Response {
    (
        code,
        Json(serde_json::json!({ "error": message, "exit_code": exit_code })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(auth: Option<&str>) -> Parts {
        let mut b = axum::http::Request::builder().uri("/status");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_bearer_token_lets_through_only_its_own_token() {
        let g = BearerToken::new("s3cret");
        assert!(g.allows(&request(Some("Bearer s3cret"))));
        assert!(!g.allows(&request(Some("Bearer s3cre"))));
        assert!(!g.allows(&request(Some("Bearer s3cret2"))));
        assert!(!g.allows(&request(Some("s3cret"))));
        assert!(!g.allows(&request(None)));
        assert!(!BearerToken::new("").allows(&request(Some("Bearer "))));
    }
}
