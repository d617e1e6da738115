-- Suspensions: until when a member is suspended ('infinity': for good; NULL or past: not suspended).
-- While suspended their sessions are ended, login is refused and their content is hidden.
ALTER TABLE members ADD COLUMN suspended_until TIMESTAMPTZ;
-- The members suspended now are few; the feed reads them on every call.
CREATE INDEX members_suspended ON members (suspended_until) WHERE suspended_until IS NOT NULL;
ALTER TABLE moderation_log ADD COLUMN suspended_until TIMESTAMPTZ;
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member', 'suspended'));
