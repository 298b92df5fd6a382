-- Calendar feeds (owned by feeds/): tokens as hashes, per-event history, published documents.
-- Person ids are plain text (no foreign keys): a participant's feed address outlives cycles.
-- The coordinator's feed uses the reserved owner '*coordinator*'.

-- One row per issued token. Only sha256(token) is stored; the token itself is recomputed from
-- the workspace key file (feeds.key), so a copy of this database reveals no feed address.
-- The valid token of an owner is its highest generation, unless that row is revoked.
CREATE TABLE feed_tokens (
    token_hash  TEXT PRIMARY KEY,          -- hex sha256 of the token
    person_id   TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,             -- UTC ISO-8601
    revoked_at  TEXT,                      -- set by rotate (superseded) or revoke
    UNIQUE (person_id, generation)
);

-- SEQUENCE and DTSTAMP/LAST-MODIFIED of each event UID, raised when its content changes.
CREATE TABLE event_state (
    uid            TEXT PRIMARY KEY,
    fingerprint    TEXT NOT NULL,
    sequence       INTEGER NOT NULL,
    last_modified  TEXT NOT NULL           -- UTC ISO-8601
);

-- The current feed of each owner, as served by `mentorsync serve`.
CREATE TABLE feed_documents (
    person_id      TEXT PRIMARY KEY,
    body           BLOB NOT NULL,
    etag           TEXT NOT NULL,          -- strong ETag, quotes included
    last_modified  TEXT NOT NULL,          -- UTC ISO-8601, whole seconds: when the bytes changed
    published_at   TEXT NOT NULL,
    inputs         TEXT NOT NULL DEFAULT '' -- hash of everything the body was built from
);
