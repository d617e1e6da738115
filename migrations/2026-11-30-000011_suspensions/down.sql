UPDATE sessions SET revoked_reason = 'logout' WHERE revoked_reason = 'suspended';
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member'));
ALTER TABLE moderation_log DROP COLUMN suspended_until;
DROP INDEX members_suspended;
ALTER TABLE members DROP COLUMN suspended_until;
