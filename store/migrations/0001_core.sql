-- Core schema: the program's cycles and, per cycle, its roster snapshot, match, schedule, feedback
-- and run summaries. Everything a past cycle needs to be listed, explained or diffed is here.
--
-- Conventions: dates are ISO 'YYYY-MM-DD'; instants are UTC ISO-8601 'YYYY-MM-DDTHH:MM:SSZ';
-- local date-times (series dtstart, exdates) are naive ISO strings in the series' time zone;
-- lists and mappings are JSON text. `ord` keeps the order the rows had in the Python value, so
-- that loading gives back exactly what was saved. A cycle's derived rows (pairs, unmatched,
-- schedule, feedback) reference its participants, so they can never name someone who was not in
-- that cycle's roster.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE cycles (
    id            INTEGER PRIMARY KEY,
    start         TEXT NOT NULL,                   -- first day, inclusive
    last_day      TEXT NOT NULL,                   -- last day, inclusive
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    program_toml  TEXT NOT NULL,                   -- the program.toml in force (snapshot)
    source        TEXT NOT NULL DEFAULT '',        -- the participants file it was imported from
    source_sha256 TEXT,                            -- of that file's bytes, when it was readable
    roster_sha256 TEXT NOT NULL,                   -- of the stored roster: detects a re-import
    created_at    TEXT NOT NULL,
    closed_at     TEXT,
    CHECK (last_day >= start),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- At most one open cycle at a time.
CREATE UNIQUE INDEX cycles_one_open ON cycles (status) WHERE status = 'open';
CREATE INDEX cycles_start ON cycles (start);

CREATE TABLE participants (
    cycle_id      INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL,
    ord           INTEGER NOT NULL,                -- position in the file
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    -- (OR, not IN: an IN-list CHECK costs ~6 us a row, a third of a big import)
    role          TEXT NOT NULL CHECK (role = 'mentor' OR role = 'mentee' OR role = 'both'),
    timezone      TEXT NOT NULL,
    availability  TEXT NOT NULL,                   -- JSON [[start, end], ...] week minutes
    goals         TEXT NOT NULL,                   -- JSON lists of normalised terms
    expertise     TEXT NOT NULL,
    interests     TEXT NOT NULL,
    languages     TEXT NOT NULL,
    department    TEXT,
    manager_id    TEXT,
    level         INTEGER,
    capacity      INTEGER,
    cadence       TEXT,
    avoid         TEXT NOT NULL,                   -- JSON sorted list of ids
    prefer        TEXT NOT NULL,
    unavailable   TEXT NOT NULL,                   -- JSON [["YYYY-MM-DD", "YYYY-MM-DD"], ...]
    max_meetings_per_week INTEGER,
    line          INTEGER NOT NULL DEFAULT 0,      -- source line, for messages
    PRIMARY KEY (cycle_id, person_id)
);
CREATE INDEX participants_person ON participants (person_id);

CREATE TABLE pairs (
    cycle_id   INTEGER NOT NULL,
    mentor_id  TEXT NOT NULL,
    mentee_id  TEXT NOT NULL,
    ord        INTEGER NOT NULL,
    score      INTEGER NOT NULL,
    components TEXT NOT NULL,                      -- JSON {component: weighted integer}
    reasons    TEXT NOT NULL DEFAULT '',
    origin     TEXT NOT NULL DEFAULT 'new' CHECK (origin = 'new' OR origin = 'continued'),
    PRIMARY KEY (cycle_id, mentor_id, mentee_id),
    FOREIGN KEY (cycle_id, mentor_id) REFERENCES participants (cycle_id, person_id),
    FOREIGN KEY (cycle_id, mentee_id) REFERENCES participants (cycle_id, person_id),
    CHECK (mentor_id <> mentee_id)
);
CREATE INDEX pairs_mentee ON pairs (cycle_id, mentee_id);

CREATE TABLE unmatched (
    cycle_id  INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role = 'mentor' OR role = 'mentee'),
    ord       INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (cycle_id, person_id, role),
    FOREIGN KEY (cycle_id, person_id) REFERENCES participants (cycle_id, person_id)
);

-- Match and schedule headers: the solver figures and stats of the last saved result per cycle.
CREATE TABLE results (
    cycle_id INTEGER NOT NULL REFERENCES cycles (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL CHECK (kind IN ('match', 'schedule')),
    data     TEXT NOT NULL,                        -- JSON
    saved_at TEXT NOT NULL,
    PRIMARY KEY (cycle_id, kind)
);

CREATE TABLE series (
    cycle_id         INTEGER NOT NULL,
    uid              TEXT NOT NULL,
    mentor_id        TEXT NOT NULL,
    mentee_id        TEXT NOT NULL,
    ord              INTEGER NOT NULL,
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
    FOREIGN KEY (cycle_id, mentor_id, mentee_id) REFERENCES pairs (cycle_id, mentor_id, mentee_id)
);
CREATE INDEX series_pair ON series (cycle_id, mentor_id, mentee_id);
CREATE INDEX series_uid ON series (uid);

CREATE TABLE events (
    cycle_id         INTEGER NOT NULL,
    uid              TEXT NOT NULL,
    mentor_id        TEXT NOT NULL,
    mentee_id        TEXT NOT NULL,
    ord              INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    start            TEXT NOT NULL,                -- UTC ISO
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    timezone         TEXT NOT NULL DEFAULT 'UTC',
    agenda           TEXT NOT NULL DEFAULT '',
    sequence         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cycle_id, uid),
    FOREIGN KEY (cycle_id, mentor_id, mentee_id) REFERENCES pairs (cycle_id, mentor_id, mentee_id)
);
CREATE INDEX events_pair ON events (cycle_id, mentor_id, mentee_id);
CREATE INDEX events_uid ON events (uid);

CREATE TABLE unplaceable (
    cycle_id  INTEGER NOT NULL,
    mentor_id TEXT NOT NULL,
    mentee_id TEXT NOT NULL,
    ord       INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (cycle_id, mentor_id, mentee_id),
    FOREIGN KEY (cycle_id, mentor_id) REFERENCES participants (cycle_id, person_id),
    FOREIGN KEY (cycle_id, mentee_id) REFERENCES participants (cycle_id, person_id)
);
CREATE INDEX unplaceable_mentee ON unplaceable (cycle_id, mentee_id);

-- Private to the coordinator: ratings and comments never leave the workspace.
CREATE TABLE feedback (
    cycle_id       INTEGER NOT NULL,
    person_id      TEXT NOT NULL,
    partner_id     TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    wants_continue INTEGER NOT NULL CHECK (wants_continue IN (0, 1)),
    rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment        TEXT,
    line           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cycle_id, person_id, partner_id),
    FOREIGN KEY (cycle_id, person_id) REFERENCES participants (cycle_id, person_id),
    FOREIGN KEY (cycle_id, partner_id) REFERENCES participants (cycle_id, person_id),
    CHECK (person_id <> partner_id)
);
CREATE INDEX feedback_partner ON feedback (cycle_id, partner_id);
CREATE INDEX feedback_no ON feedback (wants_continue) WHERE wants_continue = 0;

CREATE TABLE runs (
    id         INTEGER PRIMARY KEY,
    cycle_id   INTEGER REFERENCES cycles (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,                      -- 'import', 'match', 'schedule', 'publish', ...
    summary    TEXT NOT NULL,                      -- JSON
    created_at TEXT NOT NULL
);
CREATE INDEX runs_cycle ON runs (cycle_id, kind);
