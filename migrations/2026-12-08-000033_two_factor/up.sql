-- Two-factor sign-in (issue 30): a TOTP key per member (sealed with the server's key, as webhook
-- secrets are), single-use recovery codes, the short-lived challenge between a password and a code,
-- and when each session last proved who it is (recent authentication).

CREATE TABLE two_factor (
    member_id  bigint PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    -- The base32 key, sealed (`sealed1:`…).
    secret     text NOT NULL,
    -- NULL while the enrolment waits for its first code.
    enabled_at timestamptz,
    -- The step of the last code accepted: a code works once, and none older than it afterwards.
    last_step  bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Keyed hashes (HMAC-SHA256 under a key derived from the server's secret) of the codes.
CREATE TABLE recovery_codes (
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    used_at   timestamptz,
    PRIMARY KEY (member_id, code_hash)
);

-- Between a right password and a code: only the challenge's SHA-256 is kept.
CREATE TABLE login_challenges (
    challenge_hash bytea PRIMARY KEY CHECK (octet_length(challenge_hash) = 32),
    member_id      bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    expires_at     timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    user_agent     text,
    network        text
);
CREATE INDEX login_challenges_expires ON login_challenges (expires_at);

-- When the session last proved its member (a sign-in, or `POST /auth/reauthenticate`); a refresh
-- does not count.
ALTER TABLE sessions ADD COLUMN authenticated_at timestamptz NOT NULL DEFAULT now();
