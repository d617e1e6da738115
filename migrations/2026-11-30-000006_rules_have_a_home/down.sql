DROP TABLE replaceable_schema;
DROP INDEX review_likes_recent_idx;
DROP INDEX log_entries_popular_week_idx;
DROP INDEX log_entries_popular_month_idx;
DROP INDEX log_entries_popular_all_idx;
CREATE INDEX log_entries_popular_idx ON log_entries (film_id, like_count DESC, id DESC) WHERE review_text IS NOT NULL;
ALTER TABLE log_entries
    DROP COLUMN popularity_week,
    DROP COLUMN popularity_month,
    DROP COLUMN popularity_all;

ALTER TABLE log_entries ADD COLUMN liked BOOLEAN NOT NULL DEFAULT false;
UPDATE log_entries le SET liked = true
FROM member_films mf
WHERE mf.member_id = le.member_id AND mf.film_id = le.film_id AND mf.liked;

ALTER TABLE member_films
    DROP CONSTRAINT member_films_explicit_rating_has_time,
    DROP COLUMN explicit_rated_at,
    DROP COLUMN explicit_rating;
