-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- An activity with everything a client needs to render it, and the page of them a feed function
-- has chosen: the one place the activity rows are joined to their details. Dropping the type drops
-- the functions that return it (activity_feed, member_activity); their files, applied after this one,
-- create them again.
DROP TYPE IF EXISTS activity_view CASCADE;

CREATE TYPE activity_view AS (
    id bigint, kind text, created_at timestamptz, rating smallint,
    actor_username text, actor_display_name text,
    film_slug text, film_title text, film_year integer, film_poster_url text,
    log_entry_id bigint, watched_on date, rewatch boolean, review_head text, contains_spoilers boolean,
    subject_username text, comment_id bigint, comment_head text,
    -- The reader's own state: their relationship with the film, their like of the entry's review,
    -- and what they may do with the entry (its author, whether it has review text, removed or not).
    viewer_watched boolean, viewer_liked boolean, viewer_in_watchlist boolean, viewer_rating smallint,
    viewer_liked_entry boolean, entry_author_id bigint, entry_has_review boolean, entry_removed boolean,
    -- For activity about a list: the list, and how many films the activity counts (created with,
    -- or added within its window).
    list_id bigint, list_name text, list_film_count integer
);

-- The activities `ids` names, in that order, as `viewer` (0: nobody) reads them. Plain SQL and
-- STABLE, so PostgreSQL inlines it into the calling statement.
DROP FUNCTION IF EXISTS activity_details(bigint[]);
DROP FUNCTION IF EXISTS activity_details(bigint[], bigint);

CREATE FUNCTION activity_details(ids bigint[], viewer bigint) RETURNS SETOF activity_view
LANGUAGE sql STABLE
AS $fn$
-- The activity states its kind and rating (the application restates an entry's activity when the
-- entry changes); the rest is joined as it is now.
SELECT a.id, a.kind, a.created_at, a.rating,
       am.username AS actor_username, am.display_name AS actor_display_name,
       f.slug AS film_slug, f.title AS film_title, f.year AS film_year, f.poster_url AS film_poster_url,
       le.id AS log_entry_id, le.watched_on, le.rewatch,
       CASE WHEN le.review_removed_at IS NULL THEN left(le.review_text, 400) END AS review_head, le.contains_spoilers,
       sm.username AS subject_username,
       c.id AS comment_id, CASE WHEN c.removed_at IS NULL THEN left(c.body, 400) END AS comment_head,
       v.watched AS viewer_watched, v.liked AS viewer_liked, v.in_watchlist AS viewer_in_watchlist,
       v.rating AS viewer_rating, rl.member_id IS NOT NULL AS viewer_liked_entry,
       le.member_id AS entry_author_id, le.review_text IS NOT NULL AS entry_has_review,
       le.review_removed_at IS NOT NULL AS entry_removed,
       li.id AS list_id, li.name AS list_name, a.film_count AS list_film_count
FROM unnest(ids) WITH ORDINALITY AS p(id, n)
JOIN activities a ON a.id = p.id
JOIN members am ON am.id = a.actor_id
LEFT JOIN films f ON f.id = a.film_id
LEFT JOIN log_entries le ON le.id = a.log_entry_id
LEFT JOIN members sm ON sm.id = a.subject_member_id
LEFT JOIN comments c ON c.id = a.comment_id
LEFT JOIN lists li ON li.id = a.list_id
LEFT JOIN member_films v ON v.member_id = viewer AND v.film_id = a.film_id
LEFT JOIN review_likes rl ON rl.log_entry_id = a.log_entry_id AND rl.member_id = viewer
ORDER BY p.n;
$fn$;

-- The activities of `ids` (in that order) that `viewer` (0: nobody) may see: neither by nor about
-- one of the members `hidden` (a like of their review, a comment on it, a follow of them), and, when
-- about a log entry (logging it, reviewing it, liking its review, commenting on it) or a list
-- (creating it, adding to it, liking it), only when the viewer may read that entry or list
-- (visible_to, visibility.sql).
DROP FUNCTION IF EXISTS activity_not_about(bigint[], bigint[]);
DROP FUNCTION IF EXISTS activity_visible(bigint[], bigint, bigint[]);

-- (PL/pgSQL so that its plan is cached per session: as a SQL function called from the feed
-- functions it was planned on every call, 1.5 ms.) The feed functions call it only for a pass that
-- holds a restricted activity (see activities_restricted.sql) or when the viewer has blocks.
CREATE FUNCTION activity_visible(ids bigint[], viewer bigint, hidden bigint[]) RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
BEGIN
    RETURN (
    SELECT coalesce(array_agg(a.id ORDER BY u.n), '{}')
    FROM unnest(ids) WITH ORDINALITY AS u(id, n)
    JOIN activities a ON a.id = u.id
    LEFT JOIN log_entries le ON le.id = a.log_entry_id
    LEFT JOIN members author ON author.id = le.member_id
    LEFT JOIN lists li ON li.id = a.list_id
    LEFT JOIN members owner ON owner.id = li.owner_id
    WHERE a.actor_id <> ALL (hidden)
      AND (a.subject_member_id IS NULL OR a.subject_member_id <> ALL (hidden))
      AND (le.id IS NULL
           OR visible_to(viewer, le.member_id, le.visibility, author.private_account,
                         EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = viewer AND f.followee_id = le.member_id)))
      AND (li.id IS NULL
           OR visible_to(viewer, li.owner_id, li.visibility, owner.private_account,
                         EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = viewer AND f.followee_id = li.owner_id))));
END
$fn$;

-- The members whose activity `viewer` must not see: those on either side of a block with them
-- (none for 0, nobody signed in), and those a moderator has suspended now. Usually none.
DROP FUNCTION IF EXISTS blocked_with(bigint);
DROP FUNCTION IF EXISTS hidden_from(bigint);

-- (PL/pgSQL so that its plan is cached per session: a SQL function with a sub-select is never
-- inlined, and its body was planned again on every call, 0.14 ms of each feed page, found by
-- `make bench-ab --statements`: one plan per request.)
CREATE FUNCTION hidden_from(viewer bigint) RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
BEGIN
    RETURN ARRAY(
        SELECT b.blocked_id FROM blocks b WHERE b.blocker_id = viewer
        UNION
        SELECT b.blocker_id FROM blocks b WHERE b.blocked_id = viewer
        UNION
        SELECT m.id FROM members m WHERE m.suspended_until > now()
    );
END
$fn$;
