-- Third-party apps (issue 31): OAuth 2.1 clients members register, the grants members give them
-- (a session bound to the app, with the scopes granted), authorization codes (PKCE) and device codes.

CREATE TABLE oauth_apps (
    id                bigserial PRIMARY KEY,
    owner_id          bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    -- The public client identifier.
    client_id         text NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 16 AND 64),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    description       text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    homepage          text CHECK (length(homepage) <= 200),
    redirect_uris     text[] NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 1 AND 10),
    confidential      boolean NOT NULL,
    -- SHA-256 of the client secret (a random 32-byte secret: a fast hash is enough); confidential
    -- apps only.
    secret_hash       bytea CHECK (octet_length(secret_hash) = 32),
    secret_created_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (confidential = (secret_hash IS NOT NULL))
);
CREATE INDEX oauth_apps_owner ON oauth_apps (owner_id, id);

-- A grant is a session bound to an app: its tokens carry the scopes granted, revoking the app (or
-- deleting it) ends them at once, and first-party sessions have neither column.
ALTER TABLE sessions
    ADD COLUMN app_id bigint REFERENCES oauth_apps (id) ON DELETE CASCADE,
    ADD COLUMN scopes smallint,
    ADD CONSTRAINT sessions_app_scopes CHECK ((app_id IS NULL) = (scopes IS NULL));
CREATE INDEX sessions_app_member ON sessions (member_id, app_id) WHERE app_id IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX sessions_app ON sessions (app_id) WHERE app_id IS NOT NULL AND revoked_at IS NULL;

ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member',
                              'suspended', 'password_reset', 'email_change_undone', 'app_revoked',
                              'code_reused'));

-- Authorization codes: only their SHA-256 is kept; single use, short-lived, bound to the app, the
-- redirect URI and the PKCE challenge (S256).
CREATE TABLE oauth_codes (
    code_hash    bytea PRIMARY KEY CHECK (octet_length(code_hash) = 32),
    app_id       bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    member_id    bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    redirect_uri text NOT NULL,
    challenge    text NOT NULL,
    scopes       smallint NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    -- The grant the code was exchanged for: ended if the code is ever presented again.
    session_id   bigint REFERENCES sessions (id) ON DELETE SET NULL
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- Device authorization (RFC 8628): the device code's SHA-256, the user code a member types, the
-- member's decision, and the grant once the device collected it.
CREATE TABLE oauth_device_codes (
    device_hash    bytea PRIMARY KEY CHECK (octet_length(device_hash) = 32),
    user_code      text NOT NULL UNIQUE CHECK (length(user_code) = 8),
    app_id         bigint NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    scopes         smallint NOT NULL,
    expires_at     timestamptz NOT NULL,
    -- Seconds a device must wait between polls (raised by slow_down).
    poll_interval  integer NOT NULL,
    last_polled_at timestamptz,
    member_id      bigint REFERENCES members (id) ON DELETE CASCADE,
    decision       text CHECK (decision IN ('allowed', 'denied')),
    collected_at   timestamptz,
    CHECK ((decision IS NULL) = (member_id IS NULL))
);
CREATE INDEX oauth_device_codes_expires ON oauth_device_codes (expires_at);
