-- Check-ins (owned by web/ and cohort/checkins.py): one row per person, partner and check-in of a
-- cycle, written from the participant's private page and editable until the next check-in opens.
-- Private to the coordinator: never shown to the partner, never written to a feed.
CREATE TABLE checkins (
    cycle_id        INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    person_id       TEXT NOT NULL,
    partner_id      TEXT NOT NULL,
    number          INTEGER NOT NULL CHECK (number >= 1),   -- 1 = the pair's first check-in
    met             TEXT NOT NULL CHECK (met IN ('yes', 'no', 'rescheduled')),
    rating          INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    wants_continue  TEXT NOT NULL CHECK (wants_continue IN ('yes', 'no', 'unsure')),
    note            TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    created_at      TEXT NOT NULL,                          -- UTC ISO-8601
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (cycle_id, person_id, partner_id, number)
);
