-- The `ranks` participants column (issue 16): ids in order of preference, as a JSON list.
ALTER TABLE participants ADD COLUMN ranks TEXT NOT NULL DEFAULT '[]';
