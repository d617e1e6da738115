ALTER TABLE sessions DROP COLUMN authenticated_at;
DROP TABLE login_challenges;
DROP TABLE recovery_codes;
DROP TABLE two_factor;
