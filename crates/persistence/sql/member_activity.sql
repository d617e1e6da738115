-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- One member's activity, newest first, as a function whose plan is cached generically (see
-- activity_feed.sql).
DROP FUNCTION IF EXISTS member_activity(bigint, timestamptz, bigint, bigint);

CREATE FUNCTION member_activity(bigint, timestamptz, bigint, bigint)
RETURNS TABLE (
    id bigint, kind text, created_at timestamptz, rating smallint,
    actor_username text, actor_display_name text,
    film_slug text, film_title text, film_year integer, film_poster_url text,
    log_entry_id bigint, watched_on date, rewatch boolean, review_head text, contains_spoilers boolean,
    subject_username text, comment_id bigint, comment_head text
)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    -- $1 actor, ($2, $3) the page starts after this (created_at, id), $4 limit.
    WITH page AS (
        SELECT x.id, x.created_at
        FROM activities x
        WHERE x.actor_id = $1
          AND (x.created_at, x.id) < ($2, $3)
        ORDER BY x.created_at DESC, x.id DESC
        LIMIT $4
    )
    -- The activity states its kind and rating (the application restates an entry's activity when the
    -- entry changes); the rest is joined as it is now.
    SELECT a.id, a.kind, a.created_at, a.rating,
           am.username AS actor_username, am.display_name AS actor_display_name,
           f.slug AS film_slug, f.title AS film_title, f.year AS film_year, f.poster_url AS film_poster_url,
           le.id AS log_entry_id, le.watched_on, le.rewatch,
           left(le.review_text, 400) AS review_head, le.contains_spoilers,
           sm.username AS subject_username,
           c.id AS comment_id, left(c.body, 400) AS comment_head
    FROM page p
    JOIN activities a ON a.id = p.id
    JOIN members am ON am.id = a.actor_id
    LEFT JOIN films f ON f.id = a.film_id
    LEFT JOIN log_entries le ON le.id = a.log_entry_id
    LEFT JOIN members sm ON sm.id = a.subject_member_id
    LEFT JOIN comments c ON c.id = a.comment_id
    ORDER BY p.created_at DESC, p.id DESC;
END
$fn$;
