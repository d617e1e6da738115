-- Changing the email address (issue 30): a link to the new address confirms it; the old address is
-- told, with a link that undoes the change for 7 days. The token rows carry the address they set.
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'change_email', 'undo_email_change'));
ALTER TABLE account_tokens ADD COLUMN email text CHECK (char_length(email) BETWEEN 3 AND 254);

-- Undoing a change ends every session (someone else may have made it).
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member',
                              'suspended', 'password_reset', 'email_change_undone'));

-- Wrong two-factor codes in a row, wherever they were sent (a login's challenge, re-authentication,
-- turning it off): from the tenth, codes are refused for a while, doubling up to an hour.
ALTER TABLE two_factor ADD COLUMN failed_codes integer NOT NULL DEFAULT 0;
ALTER TABLE two_factor ADD COLUMN locked_until timestamptz;

-- Sessions from before recent authentication existed signed in when they started, not at the
-- migration.
UPDATE sessions SET authenticated_at = created_at;
