-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- The scores popular reviews rank on: likes in the 7 and 30 days before `at`, and all likes. Only this
-- function changes them (the server runs it periodically, `filmlog recompute-popularity` on demand),
-- so between two runs the ranking key of a review stands still and a cursor neither repeats nor skips.
-- Returns how many log entries changed; rows are written only when a score differs.
DROP FUNCTION IF EXISTS recompute_review_popularity(timestamptz);

CREATE FUNCTION recompute_review_popularity(at timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE sql AS $$
    WITH recent AS (
        SELECT l.log_entry_id AS id,
               (count(*) FILTER (WHERE l.created_at >= at - interval '7 days'))::int AS week,
               count(*)::int AS month
        FROM review_likes l
        WHERE l.created_at >= at - interval '30 days' AND l.created_at <= at
        GROUP BY l.log_entry_id
    ), target AS (
        SELECT le.id, COALESCE(r.week, 0) AS week, COALESCE(r.month, 0) AS month, le.like_count AS total
        FROM log_entries le
        LEFT JOIN recent r ON r.id = le.id
        WHERE r.id IS NOT NULL OR le.popularity_week > 0 OR le.popularity_month > 0
           OR le.popularity_all <> le.like_count
    ), changed AS (
        UPDATE log_entries le
        SET popularity_week = t.week, popularity_month = t.month, popularity_all = t.total
        FROM target t
        WHERE le.id = t.id
          AND (le.popularity_week, le.popularity_month, le.popularity_all)
              IS DISTINCT FROM (t.week, t.month, t.total)
        RETURNING 1
    )
    SELECT count(*) FROM changed;
$$;
