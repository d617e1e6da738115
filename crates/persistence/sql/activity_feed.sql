-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- The feed of a member who follows many: read the newest activity of everyone and keep the followees'.
--
-- Measured on the medium data set (100k members, 4M activities): for the member following 1,000,
-- the per-followee passes of activity_feed cost about 2,000 index probes per page (5.9 ms a call in
-- psql, 36 ms p50 at 8 concurrent requests on two cores). Their followees wrote 2.4 % of all activity,
-- so the newest 4,000 activities of everyone (an index-only scan of activities_recent_idx) hold about
-- 90 of theirs; filtered through a hash of the 1,000 followees, the page costs 0.9 ms.
--
-- The window is tried only when it is expected to hold the page: the followees' share of all activity
-- is estimated as following_count / members (the planner's row estimate), and the window must be
-- expected to hold half as much again as the page. When it holds less than a full page, the
-- per-followee passes run instead, so the answer never depends on the guess; only the cost does.
--
-- The feed and a member's activity as functions whose plans are cached generically.
-- 
-- Measured on the medium data set: PostgreSQL keeps choosing custom plans for the prepared feed
-- statement (its generic plan's estimate is higher), so every call re-planned it, about 2.6 ms of a
-- 3.7 ms call; the generic plan runs in 1.0 ms. A PL/pgSQL function caches its statement's plan per
-- session and, with `plan_cache_mode = force_generic_plan`, keeps the generic one. The statement
-- bodies are plain SQL with $1..$4 (the plan tests EXPLAIN them straight from pg_proc).
DROP FUNCTION IF EXISTS activity_feed(bigint, timestamptz, bigint, bigint);

CREATE FUNCTION activity_feed(bigint, timestamptz, bigint, bigint)
RETURNS SETOF activity_view
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    -- A pass: the followees' activity, newest first, up to $4 ids.
    ids bigint[];
    -- The page: the passes' activity without what is by or about a member hidden from the viewer.
    page bigint[] := '{}';
    -- The members on either side of a block with the viewer, and those suspended (usually none).
    blocked bigint[] := hidden_from($1);
    page_at ALIAS FOR $2;
    page_after ALIAS FOR $3;
BEGIN
    -- $1 viewer, ($2, $3) the page starts after this (created_at, id), $4 limit.
    -- (The statements between `plan:` markers are EXPLAINed by the plan tests, straight from pg_proc.)
    -- Muted followees are left out of every pass (the NOT EXISTS on mutes). Blocked members cannot be
    -- followees (a block ends follows both ways and refuses new ones), but a followee's activity can be
    -- about one (a like of their review, a follow of them), and a followee can be suspended: such
    -- activity is taken out of each pass, and while that leaves the page short of a full pass, the
    -- next pass starts after the last one.
    LOOP
    ids := NULL;
    IF (SELECT 4000 * m.following_count FROM members m WHERE m.id = $1)
       >= 1.5 * $4 * (SELECT greatest(c.reltuples, 1) FROM pg_class c WHERE c.oid = 'members'::regclass) THEN
        ids := ARRAY(
            /* plan:window */
            SELECT w.id
            FROM (
                SELECT r.id, r.created_at, r.actor_id
                FROM activities r
                WHERE (r.created_at, r.id) < ($2, $3)
                ORDER BY r.created_at DESC, r.id DESC
                LIMIT 4000
            ) w
            WHERE w.actor_id IN (
                SELECT f.followee_id FROM follows f
                WHERE f.follower_id = $1
                  AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = $1 AND m.muted_id = f.followee_id)
            )
            ORDER BY w.created_at DESC, w.id DESC
            LIMIT $4
            /* end */
        );
    END IF;
    IF coalesce(cardinality(ids), 0) < $4 THEN
        ids := ARRAY(
            /* plan:followees */
            -- Two index passes over the followees, never more than one index probe per followee plus
            -- the rows of the page:
            -- 1. bound: each followee's newest activity (one probe each on activities_actor_idx); the
            --    $4-th newest of those is a lower bound for the page, because $4 different followees
            --    each have an activity at or after it. (With fewer than $4 active followees there is
            --    no bound.)
            -- 2. page: per followee, its newest activities down to that bound only (usually none),
            --    merged and cut to $4.
            WITH bound AS (
                SELECT CASE WHEN count(*) >= $4 THEN min(t.created_at) ELSE '-infinity'::timestamptz END AS lo
                FROM (
                    SELECT newest.created_at
                    FROM follows f
                    CROSS JOIN LATERAL (
                        SELECT x.created_at
                        FROM activities x
                        WHERE x.actor_id = f.followee_id
                          AND (x.created_at, x.id) < ($2, $3)
                        ORDER BY x.created_at DESC, x.id DESC
                        LIMIT 1
                    ) newest
                    WHERE f.follower_id = $1
                      AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = $1 AND m.muted_id = f.followee_id)
                    ORDER BY newest.created_at DESC
                    LIMIT $4
                ) t
            )
            SELECT a.id
            FROM follows f
            CROSS JOIN LATERAL (
                SELECT x.id, x.created_at
                FROM activities x
                WHERE x.actor_id = f.followee_id
                  AND (x.created_at, x.id) < ($2, $3)
                  AND x.created_at >= (SELECT lo FROM bound)
                ORDER BY x.created_at DESC, x.id DESC
                LIMIT $4
            ) a
            WHERE f.follower_id = $1
              AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = $1 AND m.muted_id = f.followee_id)
            ORDER BY a.created_at DESC, a.id DESC
            LIMIT $4
            /* end */
        );
    END IF;
    -- Usually no pass holds anything hidden from anyone: one probe of a tiny partial index says so.
    IF cardinality(blocked) = 0
       AND NOT EXISTS (SELECT 1 FROM activities r WHERE r.id = ANY (ids) AND r.restricted) THEN
        page := page || ids;
    ELSE
        page := page || activity_visible(ids, $1, blocked);
    END IF;
    EXIT WHEN cardinality(page) >= $4 OR coalesce(cardinality(ids), 0) < $4;
    SELECT a.created_at, a.id INTO page_at, page_after FROM activities a WHERE a.id = ids[cardinality(ids)];
    END LOOP;
    RETURN QUERY SELECT * FROM activity_details(page[1:$4], $1);
END
$fn$;
