-- Telling people (owned by notify/): how each participant gets their meetings, and the outbox.

-- 'feed' (default): the person subscribes to their private feed; 'invite': they get the meetings
-- as email invitations (iTIP REQUEST/CANCEL) and their feed leaves those meetings out.
ALTER TABLE participants ADD COLUMN calendar TEXT NOT NULL DEFAULT 'feed'
    CHECK (calendar = 'feed' OR calendar = 'invite');

-- Every message `mentorsync notify` decides to send, recorded (status 'pending') before any
-- delivery is attempted and marked 'sent' once the SMTP server accepted it. 'sending' is set just
-- before the transfer: a row found in that state was interrupted between the transfer and the
-- mark, and is sent again (same bytes, same Message-ID) at the next run. 'failed': the server
-- refused it (retried at the next run). `state` is what the message told the person (the base of
-- the next notice); `body` is the message without its Date header (added when it is sent).
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    person_id     TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    kind          TEXT NOT NULL,               -- intro | unmatched | change | invite | cancel
    uid           TEXT,                        -- the event UID of an invitation or cancellation
    sequence      INTEGER,                     -- its SEQUENCE
    content_hash  TEXT NOT NULL UNIQUE,        -- sha256 of what the message says and to whom
    message_id    TEXT NOT NULL,               -- derived from content_hash: a resend is recognisable
    subject       TEXT NOT NULL,
    state         TEXT NOT NULL,               -- JSON
    body          BLOB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT NOT NULL,               -- UTC ISO-8601
    sent_at       TEXT
);
CREATE INDEX outbox_person ON outbox (person_id, kind, uid);
CREATE INDEX outbox_status ON outbox (status);
