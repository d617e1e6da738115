-- Comments on lists (lists.comment_count kept by a trigger, sql/lists_count.sql).
CREATE TABLE list_comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list_id bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    author_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    body text NOT NULL CONSTRAINT list_comments_body_check CHECK (char_length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A list's thread, oldest first; a member's comments (for deleting a member).
CREATE INDEX list_comments_thread_idx ON list_comments (list_id, created_at, id);
CREATE INDEX list_comments_author_idx ON list_comments (author_id);
