-- Delta sync: every change to what a member owns is recorded in the transaction that makes it
-- (triggers, sql/member_changes.sql), numbered by a per-member sequence. The number is taken by
-- updating the member's `member_sync` row, whose lock is held to commit: a member's changes commit
-- in the order of their numbers, so a client that read up to N never later finds a change below N.
CREATE TABLE member_sync (
    member_id bigint PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    seq bigint NOT NULL DEFAULT 0,
    -- Tombstones up to this number were dropped (after 30 days): an older cursor must resync.
    pruned_through bigint NOT NULL DEFAULT 0,
    log_entries_at timestamptz,
    ratings_at timestamptz,
    likes_at timestamptz,
    watchlist_at timestamptz,
    follows_at timestamptz,
    comments_at timestamptz,
    lists_at timestamptz,
    profile_at timestamptz
);

-- The newest change of each object (an object changed twice is listed once, at its newest number);
-- `deleted`: a tombstone.
CREATE TABLE member_changes (
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    object_type text NOT NULL CHECK (object_type IN ('log_entry', 'film', 'review_like', 'list_like',
        'follow', 'follow_request', 'comment', 'list_comment', 'list', 'profile')),
    object_id bigint NOT NULL,
    seq bigint NOT NULL,
    deleted boolean NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, object_type, object_id)
);
CREATE INDEX member_changes_seq_idx ON member_changes (member_id, seq);
CREATE INDEX member_changes_tombstones_idx ON member_changes (changed_at) WHERE deleted;
