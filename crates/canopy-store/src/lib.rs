//! Canopy's storage: the only crate with SQL. Implements canopy-core's [`Store`] over SQLite
//! (a file in WAL mode, each batch of writes `fdatasync`ed before it is answered, or an
//! ephemeral in-memory database) and over
//! PostgreSQL (`postgres/`, the same tables; several replicas may share one database). The conformance suite in
//! `tests/conformance.rs` runs against every backend.
//!
//! Start with [`open`].

mod postgres;
mod schema;
mod sqlite;
mod tx;
mod walvfs;
mod wakeups;

use std::sync::Arc;

use canopy_core::{Store, StoreError};

pub use schema::MIGRATIONS;
pub use postgres::{PgScratch, PgStore, PG_MIGRATIONS};
pub use sqlite::{SqliteStore, MAX_BATCH};

/// The database file inside a data directory.
pub const DB_FILE_NAME: &str = "canopy.db";

fn is_memory(spec: &str) -> bool {
    spec == "memory" || spec == ":memory:"
}

fn is_postgres(spec: &str) -> bool {
    let lower = spec.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The SQLite database file a `--database` spec names (see [`open`]), without creating anything;
/// `None` for `memory`, a PostgreSQL URL or an empty spec.
pub fn sqlite_file(spec: &str) -> Option<std::path::PathBuf> {
    let spec = spec.trim();
    (!spec.is_empty() && !is_memory(spec) && !is_postgres(spec)).then(|| sqlite::file_of(spec))
}

/// Opens the store a `--database` spec names:
/// - `memory`: an ephemeral in-memory database;
/// - `postgres://…` / `postgresql://…`: a PostgreSQL database (libpq URL syntax; the schema
///   is the first of the connection's `search_path`);
/// - anything else is a filesystem path: a directory (it ends with `/` or exists as a
///   directory; created if missing) holding `canopy.db`, or else the database file itself
///   (its parent directories are created).
///
/// The schema is created or migrated before this returns.
pub fn open(spec: &str) -> Result<Arc<dyn Store>, StoreError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(StoreError::Backend("empty database spec: give a path, `memory` or a postgres:// URL".into()));
    }
    if is_memory(spec) {
        return Ok(Arc::new(SqliteStore::open_memory()?));
    }
    if is_postgres(spec) {
        // The URL is never logged or echoed: it may hold a password.
        return Ok(Arc::new(PgStore::open(spec)?));
    }
    let path = sqlite::resolve_path(spec)?;
    tracing::info!(path = %path.display(), "opening SQLite database");
    Ok(Arc::new(SqliteStore::open_file(&path)?))
}

/// Brings the schema of the database `spec` names up to date (what `open` does first) and
/// returns the schema version now in force; for `canopy migrate`.
pub fn migrate(spec: &str) -> Result<usize, StoreError> {
    let spec = spec.trim();
    if is_postgres(spec) {
        return postgres::migrate(spec);
    }
    if is_memory(spec) {
        return Err(StoreError::Backend("an in-memory database has nothing to migrate".into()));
    }
    drop(open(spec)?);
    Ok(MIGRATIONS.len())
}
