//! The database as other crates and processes see it: opening, migrating,
//! caching with a time to live, and writers that run at the same time.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use fmr_store::{CacheEntry, Store, StoreError, migrate};
use rusqlite::Connection;

fn entry(source: &str, key: &str, fetched_at: i64, ttl: i64) -> CacheEntry {
    CacheEntry {
        source: source.into(),
        key: key.into(),
        status: 200,
        body: format!("{{\"key\":\"{key}\"}}"),
        fetched_at,
        ttl,
    }
}

fn count_rows(path: &Path, sql: &str) -> i64 {
    let conn = Connection::open(path).expect("open for counting");
    conn.query_row(sql, [], |row| row.get(0)).expect("count")
}

#[test]
fn open_creates_the_folder_and_a_migrated_wal_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("deeper").join("fmr.sqlite3");
    let store = Store::open(&path).expect("open a fresh path");
    assert!(path.exists());
    assert_eq!(store.path(), Some(path.as_path()));
    assert_eq!(store.journal_mode().unwrap(), "wal");
    assert_eq!(store.schema_version().unwrap(), migrate::latest_version());
    store.integrity_check().unwrap();
}

#[test]
fn migrations_run_once_however_often_the_file_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fmr.sqlite3");
    for _ in 0..3 {
        let store = Store::open(&path).unwrap();
        store.cache_put(&entry("arxiv", "q", 10, 10)).unwrap();
    }
    let mut conn = Connection::open(&path).unwrap();
    assert_eq!(migrate::migrate(&mut conn).unwrap(), Vec::<u32>::new());
    let rows = count_rows(&path, "SELECT COUNT(*) FROM schema_migrations");
    assert_eq!(rows, migrate::MIGRATIONS.len() as i64);
    assert_eq!(count_rows(&path, "SELECT COUNT(*) FROM http_cache"), 1);
}

#[test]
fn a_fresh_connection_is_migrated_from_zero() {
    let mut conn = Connection::open_in_memory().unwrap();
    assert_eq!(migrate::current_version(&conn).unwrap(), 0);
    let applied = migrate::migrate(&mut conn).unwrap();
    let all: Vec<u32> = migrate::MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(applied, all);
    assert_eq!(
        migrate::current_version(&conn).unwrap(),
        migrate::latest_version()
    );
}

#[test]
fn a_newer_schema_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fmr.sqlite3");
    drop(Store::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
        [],
    )
    .unwrap();
    drop(conn);
    match Store::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(found, 999);
            assert_eq!(supported, migrate::latest_version());
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fmr.sqlite3");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = Store::open(&path).expect_err("garbage must not open");
    let message = err.to_string();
    assert!(message.contains("fmr.sqlite3"), "{message}");
    assert!(message.contains("not a database"), "{message}");
}

#[test]
fn entries_expire_after_their_ttl_and_stale_ones_stay_readable() {
    let store = Store::open_in_memory().unwrap();
    store
        .cache_put(&entry("arxiv", "fresh", 1_000, 600))
        .unwrap();
    store
        .cache_put(&entry("arxiv", "stale", 1_000, 60))
        .unwrap();
    let now = 1_100;

    let fresh = store.cache_get("arxiv", "fresh").unwrap().unwrap();
    assert!(fresh.is_fresh(now));
    let stale = store.cache_get("arxiv", "stale").unwrap().unwrap();
    assert!(!stale.is_fresh(now), "offline mode may still read it");
    assert_eq!(
        store.cache_get("github", "fresh").unwrap(),
        None,
        "keys are per source"
    );

    let stats = store.cache_stats_at(now).unwrap();
    assert_eq!((stats.entries, stats.fresh, stats.expired), (2, 1, 1));

    assert_eq!(store.cache_prune_expired(now).unwrap(), 1);
    assert_eq!(store.cache_get("arxiv", "stale").unwrap(), None);
    assert!(store.cache_get("arxiv", "fresh").unwrap().is_some());
}

#[test]
fn a_refetch_replaces_the_entry() {
    let store = Store::open_in_memory().unwrap();
    store.cache_put(&entry("github", "q", 1, 10)).unwrap();
    let mut newer = entry("github", "q", 50, 20);
    newer.body = "new body".into();
    newer.status = 203;
    store.cache_put(&newer).unwrap();
    assert_eq!(store.cache_get("github", "q").unwrap(), Some(newer));
    assert_eq!(store.cache_stats_at(0).unwrap().entries, 1);
}

#[test]
fn clear_and_remove_report_what_they_deleted() {
    let store = Store::open_in_memory().unwrap();
    for key in ["a", "b", "c"] {
        store.cache_put(&entry("arxiv", key, 0, 10)).unwrap();
    }
    store.cache_put(&entry("openalex", "a", 0, 10)).unwrap();
    assert!(store.cache_remove("arxiv", "a").unwrap());
    assert!(!store.cache_remove("arxiv", "a").unwrap());
    assert_eq!(store.cache_clear_source("arxiv").unwrap(), 2);
    assert_eq!(store.cache_clear().unwrap(), 1);
    assert_eq!(store.cache_stats_at(0).unwrap().entries, 0);
}

#[test]
fn stats_render_as_a_table() {
    let store = Store::open_in_memory().unwrap();
    store.cache_put(&entry("arxiv", "a", 0, 100)).unwrap();
    store.cache_put(&entry("arxiv", "b", 0, 10)).unwrap();
    let mut big = entry("stackexchange:stats", "c", 0, 100);
    big.body = "x".repeat(3 * 1024);
    store.cache_put(&big).unwrap();
    let stats = store.cache_stats_at(50).unwrap();
    insta::assert_snapshot!(stats.to_string());
}

#[test]
fn two_threads_write_to_one_file_without_losing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fmr.sqlite3");
    const PER_WRITER: usize = 300;
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = ["alpha", "beta", "reader"]
        .into_iter()
        .map(|name| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let store = Store::open(&path).expect("every thread opens its own store");
                barrier.wait();
                for i in 0..PER_WRITER {
                    if name == "reader" {
                        // Readers run beside writers in WAL mode and never fail.
                        store.cache_stats_at(0).expect("read during writes");
                    } else {
                        store
                            .cache_put(&entry(name, &format!("q{i}"), i as i64, 60))
                            .expect("write waits instead of failing");
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread finished");
    }
    let store = Store::open(&path).unwrap();
    store.integrity_check().unwrap();
    assert_eq!(
        store.cache_stats_at(0).unwrap().entries,
        2 * PER_WRITER as u64
    );
}

#[test]
fn many_threads_opening_a_fresh_file_migrate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fmr.sqlite3");
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let store = Store::open(&path)?;
                store.cache_put(&entry("race", &format!("t{i}"), 0, 60))
            })
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .expect("thread finished")
            .expect("open and write");
    }
    let migrations = count_rows(&path, "SELECT COUNT(*) FROM schema_migrations");
    assert_eq!(migrations, migrate::MIGRATIONS.len() as i64);
    assert_eq!(count_rows(&path, "SELECT COUNT(*) FROM http_cache"), 8);
}

/// Environment variables that turn this test binary into a writer process.
const CHILD_DB: &str = "FMR_STORE_TEST_CHILD_DB";
const CHILD_TAG: &str = "FMR_STORE_TEST_CHILD_TAG";
const CHILD_WRITES: usize = 200;

#[test]
fn two_processes_write_to_one_file_without_losing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fmr.sqlite3");
    let exe = std::env::current_exe().expect("the test binary");
    let children: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|tag| {
            Command::new(&exe)
                .args(["--exact", "child_writer", "--ignored", "--test-threads=1"])
                .env(CHILD_DB, &path)
                .env(CHILD_TAG, tag)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a writer process")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("writer finished");
        assert!(
            output.status.success(),
            "writer failed: {:?}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let store = Store::open(&path).unwrap();
    store.integrity_check().unwrap();
    let stats = store.cache_stats_at(0).unwrap();
    let per_source: Vec<(String, u64)> = stats
        .sources
        .iter()
        .map(|s| (s.source.clone(), s.entries))
        .collect();
    assert_eq!(
        per_source,
        vec![
            ("one".to_string(), CHILD_WRITES as u64),
            ("two".to_string(), CHILD_WRITES as u64)
        ]
    );
}

/// Run by `two_processes_write_to_one_file_without_losing_rows` in a child process.
#[test]
#[ignore = "a helper that the two-process test runs in child processes"]
fn child_writer() {
    let (Some(path), Some(tag)) = (std::env::var_os(CHILD_DB), std::env::var(CHILD_TAG).ok())
    else {
        panic!("run only as a child of two_processes_write_to_one_file_without_losing_rows");
    };
    let store = Store::open(&path).expect("child opens the shared file");
    for i in 0..CHILD_WRITES {
        store
            .cache_put(&entry(&tag, &format!("q{i}"), i as i64, 60))
            .expect("child write");
    }
}
