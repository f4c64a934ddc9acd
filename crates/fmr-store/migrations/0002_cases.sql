-- 0002: case memory. Every investigation is a case; what the user tried since is
-- an attempt. Inputs and reports are stored as JSON (fmr's versioned report
-- schema), so this schema does not change when the report gains fields.
CREATE TABLE cases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Unix seconds.
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- A short human title: the symptom's first words or the run's name.
    title       TEXT    NOT NULL,
    inputs_json TEXT    NOT NULL,
    -- The latest report (re-ranked after each attempt).
    report_json TEXT    NOT NULL,
    -- Denormalised for `fmr case list`: the leading hypothesis of the latest report.
    top_hypothesis TEXT NOT NULL DEFAULT ''
);

CREATE TABLE attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    -- failed | helped | partial | unknown
    outcome    TEXT    NOT NULL CHECK (outcome IN ('failed', 'helped', 'partial', 'unknown')),
    note       TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX attempts_case ON attempts (case_id, id);
