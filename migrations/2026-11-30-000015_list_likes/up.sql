-- Likes of lists (lists.like_count kept by a trigger, sql/lists_count.sql), and the indexes of the
-- ways lists are found: a film's lists by popularity, and lists by name.
CREATE TABLE list_likes (
    list_id bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, member_id)
);

-- A list's likers, newest first; a member's likes (for deleting a member).
CREATE INDEX list_likes_recent_idx ON list_likes (list_id, created_at DESC, member_id DESC);
CREATE INDEX list_likes_member_idx ON list_likes (member_id);

CREATE INDEX lists_name_trgm_idx ON lists USING gin (lower(name) gin_trgm_ops);
