-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- The scores popular reviews rank on: likes in the 7 and 30 days before `at`, and all likes. Only this
-- function changes them (the server runs it periodically, `filmlog recompute-popularity` on demand),
-- so between two runs the ranking key of a review stands still and a cursor neither repeats nor skips.
-- Returns how many log entries changed. Rows are touched only when a score differs.
DROP FUNCTION IF EXISTS recompute_review_popularity(timestamptz);

CREATE FUNCTION recompute_review_popularity(at timestamptz DEFAULT now()) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint := 0;
    n bigint;
BEGIN
    UPDATE log_entries SET popularity_all = like_count WHERE popularity_all <> like_count;
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    WITH recent AS (
        SELECT l.log_entry_id AS id,
               (count(*) FILTER (WHERE l.created_at >= at - interval '7 days'))::int AS week,
               count(*)::int AS month
        FROM review_likes l
        WHERE l.created_at >= at - interval '30 days' AND l.created_at <= at
        GROUP BY l.log_entry_id
    ), target AS (
        SELECT r.id, r.week, r.month FROM recent r
        UNION ALL
        SELECT le.id, 0, 0 FROM log_entries le
        WHERE (le.popularity_week > 0 OR le.popularity_month > 0)
          AND NOT EXISTS (SELECT 1 FROM recent r WHERE r.id = le.id)
    )
    UPDATE log_entries le SET popularity_week = t.week, popularity_month = t.month
    FROM target t
    WHERE le.id = t.id AND (le.popularity_week, le.popularity_month) IS DISTINCT FROM (t.week, t.month);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN changed + n;
END $$;
