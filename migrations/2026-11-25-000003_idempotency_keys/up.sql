-- Responses to creating POSTs sent with an Idempotency-Key, so a retry gets the original response.
-- The key row is inserted in the same transaction as the creation: a concurrent retry waits on it
-- and then replays; a failed creation leaves no key behind.
CREATE TABLE idempotency_keys (
    member_id    BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    key          TEXT NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash BYTEA NOT NULL CHECK (octet_length(request_hash) = 32),
    status       SMALLINT,
    location     TEXT,
    body         BYTEA,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
