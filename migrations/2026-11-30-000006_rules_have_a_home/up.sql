-- Rules get a home (issue 9): tables, indexes and data moves only. Functions and triggers live in
-- crates/persistence/sql/, one file each, re-applied after migrations.

-- The member's own rating action (PUT or DELETE …/rating): the rating it set (NULL for a removal) and
-- when. The current rating (member_films.rating) is that of the latest rating action: this one, or a
-- rated log entry at its creation (see filmlog-domain's relationship module).
ALTER TABLE member_films
    ADD COLUMN explicit_rating    SMALLINT CHECK (explicit_rating BETWEEN 1 AND 10),
    ADD COLUMN explicit_rated_at  TIMESTAMPTZ,
    ADD CONSTRAINT member_films_explicit_rating_has_time
        CHECK (explicit_rating IS NULL OR explicit_rated_at IS NOT NULL);

-- A current rating that is not the newest rated entry's was set on its own: keep it as such.
UPDATE member_films mf
SET explicit_rating = mf.rating, explicit_rated_at = mf.updated_at
WHERE mf.rating IS DISTINCT FROM (
    SELECT le.rating FROM log_entries le
    WHERE le.member_id = mf.member_id AND le.film_id = mf.film_id AND le.rating IS NOT NULL
    ORDER BY le.created_at DESC, le.id DESC
    LIMIT 1
);

-- A log entry shows the member's like of the film, derived; the copy on each entry goes. An entry
-- that said liked makes the film liked.
UPDATE member_films mf
SET liked = true, liked_at = COALESCE(mf.liked_at, mf.updated_at)
WHERE NOT mf.liked AND EXISTS (
    SELECT 1 FROM log_entries le
    WHERE le.member_id = mf.member_id AND le.film_id = mf.film_id AND le.liked
);
ALTER TABLE log_entries DROP COLUMN liked;

-- An entry's activity states its kind and rating itself (restated when the entry changes) instead of
-- the feed working them out again from the entry.
UPDATE activities a
SET kind = CASE WHEN le.review_text IS NULL THEN 'diary_entry' ELSE 'review' END, rating = le.rating
FROM log_entries le
WHERE a.log_entry_id = le.id AND a.kind IN ('diary_entry', 'review')
  AND (a.kind <> CASE WHEN le.review_text IS NULL THEN 'diary_entry' ELSE 'review' END
       OR a.rating IS DISTINCT FROM le.rating);

-- Popular reviews rank on scores that only a periodic recomputation changes
-- (recompute_review_popularity()), so a cursor never repeats or skips between two recomputations:
-- likes in the last 7 days, the last 30 days, and all time.
ALTER TABLE log_entries
    ADD COLUMN popularity_week  INTEGER NOT NULL DEFAULT 0 CHECK (popularity_week >= 0),
    ADD COLUMN popularity_month INTEGER NOT NULL DEFAULT 0 CHECK (popularity_month >= 0),
    ADD COLUMN popularity_all   INTEGER NOT NULL DEFAULT 0 CHECK (popularity_all >= 0);
UPDATE log_entries SET popularity_all = like_count WHERE like_count > 0;
UPDATE log_entries le SET popularity_week = l.n
FROM (SELECT log_entry_id, count(*)::int AS n FROM review_likes
      WHERE created_at >= now() - interval '7 days' GROUP BY log_entry_id) l
WHERE le.id = l.log_entry_id;
UPDATE log_entries le SET popularity_month = l.n
FROM (SELECT log_entry_id, count(*)::int AS n FROM review_likes
      WHERE created_at >= now() - interval '30 days' GROUP BY log_entry_id) l
WHERE le.id = l.log_entry_id;
DROP INDEX log_entries_popular_idx;
CREATE INDEX log_entries_popular_all_idx ON log_entries (film_id, popularity_all DESC, id DESC) WHERE review_text IS NOT NULL;
CREATE INDEX log_entries_popular_month_idx ON log_entries (film_id, popularity_month DESC, id DESC) WHERE review_text IS NOT NULL;
CREATE INDEX log_entries_popular_week_idx ON log_entries (film_id, popularity_week DESC, id DESC) WHERE review_text IS NOT NULL;
-- The recomputation finds the reviews liked in a period by the likes' time.
CREATE INDEX review_likes_recent_idx ON review_likes (created_at, log_entry_id);

-- Which version of crates/persistence/sql/ the database holds (a hash of the files), so servers
-- re-apply it only when it changed.
CREATE TABLE replaceable_schema (
    id         BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    hash       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
