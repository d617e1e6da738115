ALTER TABLE two_factor DROP COLUMN locked_until;
ALTER TABLE two_factor DROP COLUMN failed_codes;
UPDATE sessions SET revoked_reason = 'ended_by_member' WHERE revoked_reason = 'email_change_undone';
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member', 'suspended', 'password_reset'));
DELETE FROM account_tokens WHERE purpose IN ('change_email', 'undo_email_change');
ALTER TABLE account_tokens DROP COLUMN email;
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password'));
