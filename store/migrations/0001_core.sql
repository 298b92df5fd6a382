-- Core schema: key/value metadata. (Tables for cycles, participants, pairs, series and feedback
-- are added by the store's owner in this file before the first release.)
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
