-- 0001: the HTTP response cache of live research (fmr-research).
--
-- One row per request: `source` is the connector ("arxiv", "github", ...), `key`
-- the request URL built from the normalized query, so two spellings of the same
-- query share a row. Rows are never updated in place except by a refetch, which
-- replaces body, status and time together.
CREATE TABLE http_cache (
    source     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    -- Unix seconds.
    fetched_at INTEGER NOT NULL,
    -- Seconds the row stays fresh after fetched_at.
    ttl        INTEGER NOT NULL CHECK (ttl >= 0),
    PRIMARY KEY (source, key)
);

-- Pruning and the fresh/expired split in `fmr cache stats` scan by expiry time.
CREATE INDEX http_cache_expires_at ON http_cache (fetched_at + ttl);
