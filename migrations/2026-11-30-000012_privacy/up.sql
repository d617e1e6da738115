-- Privacy: private accounts (new followers become requests), a private watchlist, and a visibility
-- on each log entry (public, followers, private), defaulting to the member's choice.
ALTER TABLE members
    ADD COLUMN private_account boolean NOT NULL DEFAULT false,
    ADD COLUMN private_watchlist boolean NOT NULL DEFAULT false,
    ADD COLUMN default_visibility text NOT NULL DEFAULT 'public'
        CONSTRAINT members_default_visibility_check CHECK (default_visibility IN ('public', 'followers', 'private'));

ALTER TABLE log_entries
    ADD COLUMN visibility text NOT NULL DEFAULT 'public'
        CONSTRAINT log_entries_visibility_check CHECK (visibility IN ('public', 'followers', 'private'));

-- A request to follow a private account, until its owner approves (it becomes a follow) or denies
-- it (it goes).
CREATE TABLE follow_requests (
    requester_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    target_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (requester_id, target_id),
    CONSTRAINT follow_requests_not_self CHECK (requester_id <> target_id)
);

-- The owner's list of requests, newest first.
CREATE INDEX follow_requests_target_idx ON follow_requests (target_id, created_at DESC, requester_id DESC);
