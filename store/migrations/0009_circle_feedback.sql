-- Feedback about circles (issue 15): one row per person and circle of the cycle being closed, the
-- circle named by its id (a continuing circle keeps it across cycles, so "never back in that
-- circle" reads these rows). Ratings and comments are private to the coordinator, as for pairs.
CREATE TABLE circle_feedback (
    cycle_id       INTEGER NOT NULL,
    person_id      TEXT NOT NULL,
    circle_id      TEXT NOT NULL,
    ord            INTEGER NOT NULL,
    wants_continue INTEGER NOT NULL CHECK (wants_continue IN (0, 1)),
    rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment        TEXT,
    line           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cycle_id, person_id, circle_id),
    FOREIGN KEY (cycle_id, person_id) REFERENCES participants (cycle_id, person_id)
);
CREATE INDEX circle_feedback_no ON circle_feedback (wants_continue) WHERE wants_continue = 0;
