DROP TABLE oauth_device_codes;
DROP TABLE oauth_codes;
DELETE FROM sessions WHERE app_id IS NOT NULL;
UPDATE sessions SET revoked_reason = 'ended_by_member' WHERE revoked_reason IN ('app_revoked', 'code_reused');
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member',
                              'suspended', 'password_reset', 'email_change_undone'));
ALTER TABLE sessions DROP CONSTRAINT sessions_app_scopes;
ALTER TABLE sessions DROP COLUMN scopes;
ALTER TABLE sessions DROP COLUMN app_id;
DROP TABLE oauth_apps;
