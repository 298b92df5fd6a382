-- Group mentoring circles (issue 15): each cycle's circles, their members, and their meetings.
-- A circle's series and milestones use the same encodings as the pairs' (`series`, `events`):
-- naive local ISO dtstart/exdates in the anchor zone, UTC ISO occurrences and starts, RRULE text
-- written by scheduler/codec.py. Members (besides a mentor) are rows of `circle_members`, so a
-- person's circles are found, exported and pseudonymised like any other row of theirs.

CREATE TABLE circles (
    cycle_id   INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    circle_id  TEXT NOT NULL,
    ord        INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind = 'mentor-led' OR kind = 'peer'),
    mentor_id  TEXT,                               -- NULL for a peer circle
    score      INTEGER NOT NULL,
    reasons    TEXT NOT NULL DEFAULT '',
    goals      TEXT NOT NULL,                      -- JSON list: goals shared by every member
    languages  TEXT NOT NULL,                      -- JSON list: languages common to everyone
    PRIMARY KEY (cycle_id, circle_id),
    FOREIGN KEY (cycle_id, mentor_id) REFERENCES participants (cycle_id, person_id)
);
CREATE INDEX circles_mentor ON circles (cycle_id, mentor_id);

CREATE TABLE circle_members (
    cycle_id   INTEGER NOT NULL,
    circle_id  TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    ord        INTEGER NOT NULL,                   -- position in the circle's member list
    PRIMARY KEY (cycle_id, circle_id, person_id),
    FOREIGN KEY (cycle_id, circle_id) REFERENCES circles (cycle_id, circle_id) ON DELETE CASCADE,
    FOREIGN KEY (cycle_id, person_id) REFERENCES participants (cycle_id, person_id)
);
CREATE INDEX circle_members_person ON circle_members (cycle_id, person_id);

CREATE TABLE circle_series (
    cycle_id         INTEGER NOT NULL,
    uid              TEXT NOT NULL,
    circle_id        TEXT NOT NULL,
    timezone         TEXT NOT NULL,                -- the anchor zone
    dtstart          TEXT NOT NULL,                -- naive local ISO in `timezone`
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    rrule            TEXT NOT NULL,
    exdates          TEXT NOT NULL,                -- JSON list of naive local ISO
    occurrences      TEXT NOT NULL,                -- JSON list of UTC ISO
    cadence          TEXT NOT NULL,
    agenda           TEXT NOT NULL DEFAULT '',
    sequence         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cycle_id, uid),
    UNIQUE (cycle_id, circle_id),                  -- one regular series per circle
    FOREIGN KEY (cycle_id, circle_id) REFERENCES circles (cycle_id, circle_id) ON DELETE CASCADE
);

CREATE TABLE circle_events (
    cycle_id         INTEGER NOT NULL,
    uid              TEXT NOT NULL,
    circle_id        TEXT NOT NULL,
    ord              INTEGER NOT NULL,
    kind             TEXT NOT NULL,                -- kickoff, checkin, closing
    start            TEXT NOT NULL,                -- UTC ISO
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    timezone         TEXT NOT NULL DEFAULT 'UTC',
    agenda           TEXT NOT NULL DEFAULT '',
    sequence         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cycle_id, uid),
    FOREIGN KEY (cycle_id, circle_id) REFERENCES circles (cycle_id, circle_id) ON DELETE CASCADE
);
CREATE INDEX circle_events_circle ON circle_events (cycle_id, circle_id);
