-- Webhooks: endpoints a member registers, and a transactional outbox of deliveries written with the
-- event that causes them (sql/member_changes.sql, sql/notifications.sql), drained by workers that
-- claim rows with FOR UPDATE SKIP LOCKED (crates/api/src/webhooks.rs).
CREATE TABLE webhook_endpoints (
    id bigserial PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    url text NOT NULL,
    events text[] NOT NULL,
    -- `whsec_` and the base64 of the signing key (Standard Webhooks).
    secret text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    -- Deliveries that failed in a row; a success resets it.
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_id);

CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    endpoint_id bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The `webhook-id`: the same on every attempt.
    message_id text NOT NULL DEFAULT ('msg_' || replace(gen_random_uuid()::text, '-', '')),
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker holds the row until then; a worker that died lets it go when the time passes.
    locked_until timestamptz,
    last_status integer,
    last_error text,
    -- At most 256 characters of the receiver's last answer.
    response_excerpt text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE UNIQUE INDEX webhook_deliveries_message_key ON webhook_deliveries (message_id);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);

-- A system notification (an endpoint disabled) has no actor.
ALTER TABLE notifications ALTER COLUMN actor_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN webhook_endpoint_id bigint
    REFERENCES webhook_endpoints (id) ON DELETE CASCADE;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('follow',
    'follow_request', 'follow_approved', 'review_like', 'list_like', 'review_comment',
    'list_comment', 'reply', 'mention', 'webhook_disabled'));
