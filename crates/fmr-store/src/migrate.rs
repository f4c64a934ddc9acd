//! Versioned schema migrations.
//!
//! Each migration is one SQL file under `migrations/`, compiled in and listed in
//! [`MIGRATIONS`] in version order. [`migrate`] applies the missing ones inside
//! a single `BEGIN IMMEDIATE` transaction, so when two processes open a fresh
//! database at once, the second waits for the first and then finds nothing to do.
//!
//! To add tables (case history, ...): write `migrations/000N_name.sql`, append
//! one line to [`MIGRATIONS`], and never edit a migration that has shipped.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::StoreError;

/// One schema step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// 1, 2, 3, ... with no gaps; recorded in `schema_migrations`.
    pub version: u32,
    /// The file stem after the number, for messages and the history table.
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this build knows, in version order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "cases",
        sql: include_str!("../migrations/0002_cases.sql"),
    },
];

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The bookkeeping table lives outside the numbered migrations so that the
/// runner can always read it, whatever the numbered files do.
const HISTORY_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)";

/// Brings the schema up to [`latest_version`]; returns the versions applied now.
///
/// Refuses a database whose version is newer than this build knows: writing to
/// it could corrupt tables this build does not understand.
pub fn migrate(conn: &mut Connection) -> Result<Vec<u32>, StoreError> {
    // The common case, an up-to-date file, needs no write lock at all.
    if current_version(conn)? == latest_version() {
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(HISTORY_TABLE, [])?;
    let current = current_version_in(&tx)?;
    let latest = latest_version();
    if current > latest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: latest,
        });
    }
    let now = crate::unix_now();
    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql)
            .map_err(|source| StoreError::Migration {
                version: migration.version,
                name: migration.name,
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![migration.version, migration.name, now],
        )?;
        applied.push(migration.version);
    }
    tx.commit()?;
    Ok(applied)
}

/// The highest applied version, 0 for a fresh database.
pub fn current_version(conn: &Connection) -> Result<u32, StoreError> {
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    current_version_in(conn)
}

fn current_version_in(conn: &Connection) -> Result<u32, StoreError> {
    let version: Option<u32> =
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
            row.get(0)
        })?;
    Ok(version.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_start_at_one_and_have_no_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                migration.version as usize,
                index + 1,
                "migration {} ({}) is out of order",
                migration.version,
                migration.name
            );
            assert!(
                !migration.sql.trim().is_empty(),
                "{} is empty",
                migration.name
            );
        }
    }

    #[test]
    fn names_are_unique_slugs() {
        let mut names: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        for name in &names {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name} is not a snake_case slug"
            );
        }
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "two migrations share a name");
    }

    #[test]
    fn every_file_under_migrations_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the migrations folder ships with the crate")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, listed);
    }
}
