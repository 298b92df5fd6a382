-- The `format` participants column (issue 15): one-to-one (the default), circle or either.
ALTER TABLE participants ADD COLUMN format TEXT NOT NULL DEFAULT 'one-to-one'
    CHECK (format = 'one-to-one' OR format = 'circle' OR format = 'either');
