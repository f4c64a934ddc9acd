//! fmr's embedded database: one SQLite file under the user's data directory
//! (see [`data_dir`]) holding the HTTP cache of live research now, and case
//! history later.
//!
//! Safe to share between processes and threads: every connection runs in WAL
//! mode (readers never block the writer), waits up to a busy timeout instead of
//! failing when another writer holds the lock, and applies schema migrations in
//! one immediate transaction (see [`migrate`]). Each thread opens its own
//! [`Store`]; a `Store` is `Send` but not `Sync`.

mod cache;
mod cases;
pub mod migrate;
mod paths;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use cache::{CacheEntry, CacheStats, SourceCacheStats};
pub use cases::{Attempt, AttemptRecord, CaseRecord, CaseSummary};
pub use paths::{DATA_DIR_ENV, DB_FILE_NAME, data_dir, data_dir_from};

/// How long a connection waits for another writer before giving up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no data directory: set {DATA_DIR_ENV}, XDG_DATA_HOME or HOME")]
    NoDataDir,
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database was written by a newer fmr (schema {found}; this build knows up to {supported}); \
         upgrade fmr or point {DATA_DIR_ENV} elsewhere"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("migration {version:04}_{name} failed: {source}")]
    Migration {
        version: u32,
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Options for [`Store::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    pub busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

/// An open, migrated database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// The default location: `<data dir>/fmr.sqlite3`.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        data_dir()
            .map(|dir| dir.join(DB_FILE_NAME))
            .ok_or(StoreError::NoDataDir)
    }

    /// Opens the database at [`Store::default_path`].
    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(Self::default_path()?)
    }

    /// Opens (creating it and its folder if needed) and migrates the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, OpenOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_error = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_error)?;
        let mut store = Self {
            conn,
            path: Some(path.to_path_buf()),
        };
        store.configure(options).map_err(|err| match err {
            StoreError::Sqlite(source) => open_error(source),
            other => other,
        })?;
        Ok(store)
    }

    /// A private database that vanishes when dropped (tests, `--no-cache` runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut store = Self {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        store.configure(OpenOptions::default())?;
        Ok(store)
    }

    fn configure(&mut self, options: OpenOptions) -> Result<(), StoreError> {
        self.conn.busy_timeout(options.busy_timeout)?;
        self.enable_wal(options.busy_timeout)?;
        // NORMAL is durable across application crashes in WAL mode and only risks
        // the last commits on power loss, which a cache can afford.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", true)?;
        migrate::migrate(&mut self.conn)?;
        Ok(())
    }

    /// Switches to WAL. Switching needs a moment of exclusive access, and SQLite
    /// can report BUSY here without consulting the busy handler when several
    /// processes open a fresh file at once, so retry until the busy timeout.
    fn enable_wal(&self, busy_timeout: Duration) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let result: rusqlite::Result<String> =
                self.conn
                    .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0));
            match result {
                // In-memory databases answer "memory"; that is fine.
                Ok(_) => return Ok(()),
                Err(err) if is_busy(&err) && started.elapsed() < busy_timeout => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// The file this store was opened from; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The journal mode in force (`wal` for files, `memory` in memory).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))?)
    }

    /// The highest migration applied.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrate::current_version(&self.conn)
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it reports "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let report: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        if report == "ok" {
            Ok(())
        } else {
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(report),
            )))
        }
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Seconds since the Unix epoch; 0 if the clock reads before 1970.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
