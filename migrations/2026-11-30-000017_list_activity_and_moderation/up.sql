-- Lists in feeds and in moderation.
--
-- Activity about a list: its creation, films added to it (edits of one list within a short window
-- collapse into one activity whose film_count grows, see filmlog_domain::activity), a like of it.
-- The rows go with the list (ON DELETE CASCADE); `restricted` covers them as it covers entries
-- (sql/activities_restricted.sql).
ALTER TABLE activities
    ADD COLUMN list_id bigint REFERENCES lists (id) ON DELETE CASCADE,
    ADD COLUMN film_count integer CHECK (film_count >= 0);
ALTER TABLE activities DROP CONSTRAINT activities_kind_check;
ALTER TABLE activities ADD CONSTRAINT activities_kind_check CHECK (kind IN (
    'diary_entry', 'review', 'rating', 'film_like', 'review_like', 'comment', 'follow', 'watchlist',
    'list_created', 'list_films_added', 'list_like')) NOT VALID;
ALTER TABLE activities VALIDATE CONSTRAINT activities_kind_check;
-- A list's activity (the collapse looks up the newest by its actor; a deleted list's rows go).
CREATE INDEX activities_list_idx ON activities (list_id, actor_id, created_at DESC) WHERE list_id IS NOT NULL;

-- A moderator's removal of a list makes it private to its owner, who cannot make it visible again;
-- of a list comment, a tombstone in its thread (as for review comments).
ALTER TABLE lists ADD COLUMN removed_at timestamptz;
ALTER TABLE list_comments ADD COLUMN removed_at timestamptz;

-- Lists and their comments can be reported and moderated.
ALTER TABLE reports DROP CONSTRAINT reports_subject_type_check;
ALTER TABLE reports ADD CONSTRAINT reports_subject_type_check
    CHECK (subject_type IN ('review', 'comment', 'member', 'list', 'list_comment'));
ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_subject_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_subject_type_check
    CHECK (subject_type IN ('review', 'comment', 'member', 'list', 'list_comment'));
