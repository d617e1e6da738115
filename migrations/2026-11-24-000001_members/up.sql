-- Members and their login sessions.

CREATE TABLE members (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL CONSTRAINT members_username_format CHECK (username ~ '^[A-Za-z0-9_]{2,15}$'),
    email         TEXT NOT NULL CONSTRAINT members_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash TEXT NOT NULL,
    display_name  TEXT CHECK (char_length(display_name) <= 50),
    bio           TEXT CHECK (char_length(bio) <= 1000),
    location      TEXT CHECK (char_length(location) <= 100),
    website       TEXT CHECK (char_length(website) <= 200),
    pronouns      TEXT CHECK (char_length(pronouns) <= 30),
    role          TEXT NOT NULL DEFAULT 'member' CONSTRAINT members_role_known CHECK (role IN ('member', 'admin')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Usernames and emails are unique whatever their case.
CREATE UNIQUE INDEX members_username_key ON members (lower(username));
CREATE UNIQUE INDEX members_email_key ON members (lower(email));

-- A session is one login: the family of refresh tokens rotated from it. Revoking it ends the family and
-- makes every access token that names it invalid at once.
CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id    BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at   TIMESTAMPTZ,
    revoked_reason TEXT CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused'))
);
CREATE INDEX sessions_member_id_idx ON sessions (member_id);

-- Refresh tokens are stored only as SHA-256 hashes (they are 256-bit random strings, so a fast hash is
-- enough). Each is single-use: `used_at` marks it spent and `replaced_by` names its successor.
CREATE TABLE refresh_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL CONSTRAINT refresh_tokens_token_hash_key UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    replaced_by BIGINT REFERENCES refresh_tokens (id) ON DELETE SET NULL
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
