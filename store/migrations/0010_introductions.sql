-- The `introductions` participants column (issue 27): 1 when the person opted in to being
-- introduced to people of their partners' networks at a cycle's end (`mentorsync history`).
ALTER TABLE participants ADD COLUMN introductions INTEGER NOT NULL DEFAULT 0
    CHECK (introductions IN (0, 1));
