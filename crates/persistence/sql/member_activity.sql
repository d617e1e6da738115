-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- One member's activity, newest first, as a function whose plan is cached generically (see
-- activity_feed.sql).
DROP FUNCTION IF EXISTS member_activity(bigint, timestamptz, bigint, bigint);
DROP FUNCTION IF EXISTS member_activity(bigint, timestamptz, bigint, bigint, bigint);

CREATE FUNCTION member_activity(bigint, timestamptz, bigint, bigint, bigint)
RETURNS SETOF activity_view
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    -- A pass: the member's activity, newest first, up to $4 ids.
    ids bigint[];
    -- The page: without what is about a member on the other side of a block with the viewer.
    page bigint[] := '{}';
    blocked bigint[] := hidden_from($5);
    page_at ALIAS FOR $2;
    page_after ALIAS FOR $3;
BEGIN
    -- $1 actor, ($2, $3) the page starts after this (created_at, id), $4 limit, $5 the viewer (0 when
    -- nobody is signed in). Passes as in activity_feed.
    LOOP
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
    -- Usually no pass holds anything hidden from anyone: one probe of a tiny partial index says so.
    IF cardinality(blocked) = 0
       AND NOT EXISTS (SELECT 1 FROM activities r WHERE r.id = ANY (ids) AND r.restricted) THEN
        page := page || ids;
    ELSE
        page := page || activity_visible(ids, $5, blocked);
    END IF;
    EXIT WHEN cardinality(page) >= $4 OR cardinality(ids) < $4;
    SELECT a.created_at, a.id INTO page_at, page_after FROM activities a WHERE a.id = ids[cardinality(ids)];
    END LOOP;
    RETURN QUERY SELECT * FROM activity_details(page[1:$4], $5);
END
$fn$;
