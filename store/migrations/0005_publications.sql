-- The publication journal (store/publication.py): one row per output staging directory.
-- state 'staging': outputs are being written into `stage`; the command has not committed, so
-- the next command deletes the directory. state 'committed': the database holds the new state
-- (same transaction as this row), so the next command finishes moving `items` from `stage`
-- into `out` before anything else.
CREATE TABLE publications (
    id          INTEGER PRIMARY KEY,
    stage       TEXT NOT NULL,             -- absolute path of the staging directory
    out         TEXT NOT NULL,             -- absolute path of the output directory
    state       TEXT NOT NULL CHECK (state IN ('staging', 'committed')),
    items       TEXT NOT NULL DEFAULT '[]', -- JSON list of the names moved into `out`
    created_at  TEXT NOT NULL              -- UTC ISO-8601
);
