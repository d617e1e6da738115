-- Reports of reviews, comments and members, and what moderators did about them.
CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    reporter_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    subject_type TEXT NOT NULL CHECK (subject_type IN ('review', 'comment', 'member')),
    subject_id BIGINT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('spam', 'abuse', 'harassment', 'spoilers', 'plagiarism', 'other')),
    message TEXT CHECK (char_length(message) <= 2000),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    -- The moderation action that resolved it (moderation_log.id).
    resolved_by_action BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ,
    CHECK ((status = 'open') = (resolved_at IS NULL))
);
-- One open report per reporter and subject: repeating it is idempotent.
CREATE UNIQUE INDEX reports_one_open ON reports (reporter_id, subject_type, subject_id) WHERE status = 'open';
CREATE INDEX reports_by_subject ON reports (subject_type, subject_id, status);
CREATE INDEX reports_queue ON reports (status, created_at, id);
CREATE INDEX reports_by_action ON reports (resolved_by_action) WHERE resolved_by_action IS NOT NULL;

-- Append-only (a trigger refuses updates and deletes): who did what to which subject, when and why.
-- The moderator is kept by id and name without a foreign key, so the log outlives their account.
CREATE TABLE moderation_log (
    id BIGSERIAL PRIMARY KEY,
    moderator_id BIGINT NOT NULL,
    moderator_username TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('dismiss', 'mark_spoilers', 'remove', 'suspend', 'lift_suspension')),
    subject_type TEXT NOT NULL CHECK (subject_type IN ('review', 'comment', 'member')),
    subject_id BIGINT NOT NULL,
    reason TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX moderation_log_recent ON moderation_log (created_at DESC, id DESC);
