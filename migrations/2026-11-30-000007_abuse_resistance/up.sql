-- Emails are unique by their key: NFKC-normalized and lower-cased (computed by the domain,
-- `Email::key`), so a full-width or otherwise compatible look-alike cannot register beside the
-- original. Existing rows get the same key from PostgreSQL's own normalize().
ALTER TABLE members ADD COLUMN email_key TEXT;
UPDATE members SET email_key = lower(normalize(email, NFKC));
ALTER TABLE members ALTER COLUMN email_key SET NOT NULL;
DROP INDEX members_email_key;
CREATE UNIQUE INDEX members_email_key ON members (email_key);

-- Sessions a member can see and end: the client's user agent (truncated) and network (an IPv4 /24 or
-- IPv6 /48, never the whole address).
ALTER TABLE sessions
    ADD COLUMN user_agent TEXT CHECK (char_length(user_agent) <= 200),
    ADD COLUMN network TEXT CHECK (char_length(network) <= 50);
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member'));
