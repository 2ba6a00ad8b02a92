//! Migrating from inside an application: the app-start call on the application's own
//! connection ([`start`]), the status and health an admin or readiness endpoint
//! answers with, and (feature `axum`) ready-made HTTP handlers for them ([`http`]).
//! Everything here runs the engine's verbs with the same lock, transactions,
//! checksums and refusals as the migration binary.

#[cfg(feature = "axum")]
pub mod http;
pub mod start;
