ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
UPDATE sessions SET revoked_reason = 'logout' WHERE revoked_reason = 'ended_by_member';
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused'));
ALTER TABLE sessions DROP COLUMN network, DROP COLUMN user_agent;

DROP INDEX members_email_key;
CREATE UNIQUE INDEX members_email_key ON members (lower(email));
ALTER TABLE members DROP COLUMN email_key;
