//! The `http_cache` table: responses of the live sources, keyed by source and
//! request, each fresh for its own time to live.

use std::fmt;

use rusqlite::{OptionalExtension, params};

use crate::{Store, StoreError};

/// One cached response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// The connector that made the request, e.g. `arxiv`.
    pub source: String,
    /// The request, as the connector keys it (normally its URL).
    pub key: String,
    pub status: u16,
    pub body: String,
    /// Unix seconds.
    pub fetched_at: i64,
    /// Seconds the entry stays fresh after `fetched_at`.
    pub ttl: i64,
}

impl CacheEntry {
    /// Unix second from which the entry is stale.
    pub fn expires_at(&self) -> i64 {
        self.fetched_at.saturating_add(self.ttl)
    }

    /// Fresh until (not including) [`Self::expires_at`].
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.expires_at()
    }
}

/// What `fmr cache stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: u64,
    pub fresh: u64,
    pub expired: u64,
    /// Bytes of response bodies.
    pub body_bytes: u64,
    /// Per source, in name order.
    pub sources: Vec<SourceCacheStats>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCacheStats {
    pub source: String,
    pub entries: u64,
    pub fresh: u64,
    pub expired: u64,
    pub body_bytes: u64,
    /// Unix seconds of the oldest and newest fetch.
    pub oldest: i64,
    pub newest: i64,
}

impl Store {
    /// The entry for `(source, key)`, fresh or stale; callers decide with
    /// [`CacheEntry::is_fresh`] (offline mode accepts stale entries).
    pub fn cache_get(&self, source: &str, key: &str) -> Result<Option<CacheEntry>, StoreError> {
        let entry = self
            .conn
            .prepare_cached(
                "SELECT status, body, fetched_at, ttl FROM http_cache WHERE source = ?1 AND key = ?2",
            )?
            .query_row(params![source, key], |row| {
                Ok(CacheEntry {
                    source: source.to_owned(),
                    key: key.to_owned(),
                    status: row.get(0)?,
                    body: row.get(1)?,
                    fetched_at: row.get(2)?,
                    ttl: row.get(3)?,
                })
            })
            .optional()?;
        Ok(entry)
    }

    /// Inserts or replaces the entry for `(entry.source, entry.key)`.
    ///
    /// One statement, so it is atomic on its own; a concurrent writer waits on
    /// the busy timeout rather than failing.
    pub fn cache_put(&self, entry: &CacheEntry) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO http_cache (source, key, status, body, fetched_at, ttl)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (source, key) DO UPDATE SET
                     status = excluded.status, body = excluded.body,
                     fetched_at = excluded.fetched_at, ttl = excluded.ttl",
            )?
            .execute(params![
                entry.source,
                entry.key,
                entry.status,
                entry.body,
                entry.fetched_at,
                entry.ttl.max(0),
            ])?;
        Ok(())
    }

    /// Removes one entry (a cached body that no longer parses); returns whether it existed.
    pub fn cache_remove(&self, source: &str, key: &str) -> Result<bool, StoreError> {
        let removed = self
            .conn
            .prepare_cached("DELETE FROM http_cache WHERE source = ?1 AND key = ?2")?
            .execute(params![source, key])?;
        Ok(removed > 0)
    }

    /// Counts per source, split into fresh and expired at `now` (Unix seconds).
    pub fn cache_stats_at(&self, now: i64) -> Result<CacheStats, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT source, COUNT(*),
                    SUM(CASE WHEN fetched_at + ttl > ?1 THEN 1 ELSE 0 END),
                    SUM(LENGTH(CAST(body AS BLOB))), MIN(fetched_at), MAX(fetched_at)
             FROM http_cache GROUP BY source ORDER BY source",
        )?;
        let sources = statement
            .query_map(params![now], |row| {
                let entries: i64 = row.get(1)?;
                let fresh: i64 = row.get(2)?;
                Ok(SourceCacheStats {
                    source: row.get(0)?,
                    entries: to_u64(entries),
                    fresh: to_u64(fresh),
                    expired: to_u64(entries - fresh),
                    body_bytes: to_u64(row.get(3)?),
                    oldest: row.get(4)?,
                    newest: row.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stats = CacheStats {
            sources,
            ..CacheStats::default()
        };
        for source in &stats.sources {
            stats.entries += source.entries;
            stats.fresh += source.fresh;
            stats.expired += source.expired;
            stats.body_bytes += source.body_bytes;
        }
        Ok(stats)
    }

    /// [`Self::cache_stats_at`] now.
    pub fn cache_stats(&self) -> Result<CacheStats, StoreError> {
        self.cache_stats_at(crate::unix_now())
    }

    /// Deletes every cached response; returns how many.
    pub fn cache_clear(&self) -> Result<u64, StoreError> {
        let removed = self.conn.execute("DELETE FROM http_cache", [])?;
        Ok(removed as u64)
    }

    /// Deletes the responses of one source; returns how many.
    pub fn cache_clear_source(&self, source: &str) -> Result<u64, StoreError> {
        let removed = self
            .conn
            .execute("DELETE FROM http_cache WHERE source = ?1", params![source])?;
        Ok(removed as u64)
    }

    /// Deletes entries stale at `now`; returns how many.
    pub fn cache_prune_expired(&self, now: i64) -> Result<u64, StoreError> {
        let removed = self.conn.execute(
            "DELETE FROM http_cache WHERE fetched_at + ttl <= ?1",
            params![now],
        )?;
        Ok(removed as u64)
    }
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl fmt::Display for CacheStats {
    /// A small table for `fmr cache stats`; ages are left to the caller, who knows "now".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} cached responses ({} fresh, {} expired), {}",
            self.entries,
            self.fresh,
            self.expired,
            human_bytes(self.body_bytes)
        )?;
        if self.sources.is_empty() {
            return Ok(());
        }
        let width = self
            .sources
            .iter()
            .map(|s| s.source.len())
            .max()
            .unwrap_or(0)
            .max("source".len());
        writeln!(
            f,
            "  {:<width$}  {:>7}  {:>7}  {:>7}  {:>9}",
            "source", "entries", "fresh", "expired", "size"
        )?;
        for s in &self.sources {
            writeln!(
                f,
                "  {:<width$}  {:>7}  {:>7}  {:>7}  {:>9}",
                s.source,
                s.entries,
                s.fresh,
                s.expired,
                human_bytes(s.body_bytes)
            )?;
        }
        Ok(())
    }
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_ends_exactly_at_expiry() {
        let entry = CacheEntry {
            source: "arxiv".into(),
            key: "k".into(),
            status: 200,
            body: String::new(),
            fetched_at: 1_000,
            ttl: 60,
        };
        assert!(entry.is_fresh(1_059));
        assert!(!entry.is_fresh(1_060));
        let forever = CacheEntry {
            ttl: i64::MAX,
            ..entry
        };
        assert!(
            forever.is_fresh(i64::MAX - 1),
            "expiry saturates instead of wrapping"
        );
    }

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
