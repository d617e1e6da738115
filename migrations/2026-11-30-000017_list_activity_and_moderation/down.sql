ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_subject_type_check;
ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_subject_type_check
    CHECK (subject_type IN ('review', 'comment', 'member'));
ALTER TABLE reports DROP CONSTRAINT reports_subject_type_check;
ALTER TABLE reports ADD CONSTRAINT reports_subject_type_check
    CHECK (subject_type IN ('review', 'comment', 'member'));
ALTER TABLE list_comments DROP COLUMN removed_at;
ALTER TABLE lists DROP COLUMN removed_at;
DELETE FROM activities WHERE list_id IS NOT NULL;
ALTER TABLE activities DROP CONSTRAINT activities_kind_check;
ALTER TABLE activities ADD CONSTRAINT activities_kind_check CHECK (kind IN (
    'diary_entry', 'review', 'rating', 'film_like', 'review_like', 'comment', 'follow', 'watchlist'));
ALTER TABLE activities DROP COLUMN film_count, DROP COLUMN list_id;
