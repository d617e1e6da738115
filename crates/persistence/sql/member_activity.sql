-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- One member's activity, newest first, as a function whose plan is cached generically (see
-- activity_feed.sql).
DROP FUNCTION IF EXISTS member_activity(bigint, timestamptz, bigint, bigint);

CREATE FUNCTION member_activity(bigint, timestamptz, bigint, bigint)
RETURNS SETOF activity_view
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    -- The page: activity ids, newest first.
    ids bigint[];
BEGIN
    -- $1 actor, ($2, $3) the page starts after this (created_at, id), $4 limit.
    ids := ARRAY(
        /* plan:page */
        SELECT x.id
        FROM activities x
        WHERE x.actor_id = $1
          AND (x.created_at, x.id) < ($2, $3)
        ORDER BY x.created_at DESC, x.id DESC
        LIMIT $4
        /* end */
    );
    RETURN QUERY SELECT * FROM activity_details(ids);
END
$fn$;
