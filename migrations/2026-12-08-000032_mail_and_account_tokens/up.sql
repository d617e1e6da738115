-- Email for real (issue 30): verified addresses, single-use tokens sent by mail, and the durable
-- outbox the mail worker sends from.

-- An address is verified when its owner opened a link sent to it. Members who registered before
-- verification existed hold their address as if verified (since they registered): it was theirs
-- alone under the unique index, and leaving it open to claims would let anyone squat it.
ALTER TABLE members ADD COLUMN email_verified_at timestamptz;
UPDATE members SET email_verified_at = created_at;

-- Registration answers the same whether or not an address has an account, so several accounts may
-- claim an address; only one may have it verified.
DROP INDEX members_email_key;
CREATE UNIQUE INDEX members_email_key ON members (email_key) WHERE email_verified_at IS NOT NULL;
CREATE INDEX members_email_claims ON members (email_key);

-- Tokens sent by mail: only their SHA-256 is kept; each works once, until it expires.
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    member_id  bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    -- The address it was sent to: a verification is for that address only.
    email_key  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_tokens_member ON account_tokens (member_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

-- Mail waiting to be sent, or sent. Rendered when queued (a token is only ever known in plain to
-- the request that made it); the bodies are cleared once the mail is sent or given up on, so the
-- database keeps no usable link. `recipient_key` counts mail per address for its limits.
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id       bigint REFERENCES members (id) ON DELETE SET NULL,
    recipient       text NOT NULL CHECK (char_length(recipient) BETWEEN 3 AND 254),
    recipient_key   text NOT NULL,
    kind            text NOT NULL,
    subject         text NOT NULL,
    body_text       text,
    body_html       text,
    -- A `List-Unsubscribe` target, for mail that is not about the account's security.
    unsubscribe     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set while a worker sends it; a worker that died lets the claim lapse.
    claimed_until   timestamptz,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient_key, kind, created_at);
CREATE INDEX mail_outbox_member ON mail_outbox (member_id, kind, created_at);

-- A password reset ends every session.
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'password_changed', 'refresh_token_reused', 'ended_by_member', 'suspended', 'password_reset'));
