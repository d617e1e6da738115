-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- The materialised home feed (tables: migration home_timelines). Writes queue work in their own
-- transaction (feed_work: one row per activity, by activities_restricted_insert; one per new
-- follow, by follows_count); the `feed` worker of the jobs crate claims it in batches and copies
-- each activity into the timelines of its author's followers (feed_fanout), in the same transaction
-- as the claim, so a killed worker leaves the work queued. A page (home_feed) reads the timeline,
-- merges what is still queued and the activity of heavy authors (not fanned out), and applies every
-- visibility rule as it stands when the page is read.
DROP FUNCTION IF EXISTS home_timelines_drop_entries() CASCADE;
DROP FUNCTION IF EXISTS home_timeline_trim(bigint, integer);
DROP FUNCTION IF EXISTS home_timeline_touch(bigint);
DROP FUNCTION IF EXISTS feed_fanout(integer);
DROP FUNCTION IF EXISTS home_timelines_build(integer);
DROP FUNCTION IF EXISTS home_feed_maintain();
DROP FUNCTION IF EXISTS home_feed_heavy();
DROP FUNCTION IF EXISTS home_feed_trim(integer);
DROP FUNCTION IF EXISTS home_feed(bigint, timestamptz, bigint, bigint);

-- A timeline dropped (its member deleted, or inactive) takes its entries and followees with it.
CREATE FUNCTION home_timelines_drop_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM home_timeline_entries e WHERE e.member_id = OLD.member_id;
    DELETE FROM home_timeline_followees x WHERE x.member_id = OLD.member_id;
    RETURN NULL;
END $$;

-- `member` reads their feed: their timeline is requested (with its followees, in the same
-- transaction, so that every activity committed after it is copied; the worker builds the rest),
-- or, when it exists, marked read now.
CREATE FUNCTION home_timeline_touch(member bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
    INSERT INTO home_timelines (member_id) VALUES (member) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        -- A follow being written locks the member's row (follows_count); waiting for it here means
        -- either this reads the follow or its trigger sees this timeline.
        PERFORM 1 FROM members m WHERE m.id = member FOR SHARE;
        INSERT INTO home_timeline_followees (followee_id, member_id)
        SELECT f.followee_id, member FROM follows f WHERE f.follower_id = member
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE home_timelines t SET read_at = now() WHERE t.member_id = member;
    END IF;
END
$fn$;

CREATE TRIGGER home_timelines_drop_entries AFTER DELETE ON home_timelines
    FOR EACH ROW EXECUTE FUNCTION home_timelines_drop_entries();

-- Keeps the newest `keep` entries of `member`'s timeline, raising its floor to the oldest kept: it
-- holds everything from there up. Skipped (false) while another transaction holds the timeline's
-- row (a build or a backfill), so that the fan-out never waits on a row lock.
CREATE FUNCTION home_timeline_trim(member bigint, keep integer) RETURNS boolean
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    c_at timestamptz;
    c_id bigint;
BEGIN
    PERFORM 1 FROM home_timelines t WHERE t.member_id = member FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT e.created_at, e.activity_id INTO c_at, c_id
    FROM home_timeline_entries e WHERE e.member_id = member
    ORDER BY e.created_at DESC, e.activity_id DESC
    OFFSET keep - 1 LIMIT 1;
    IF FOUND THEN
        DELETE FROM home_timeline_entries e
        WHERE e.member_id = member AND (e.created_at, e.activity_id) < (c_at, c_id);
        UPDATE home_timelines t SET floor_at = c_at, floor_id = c_id, trimmed_at = now()
        WHERE t.member_id = member AND (t.floor_at, t.floor_id) < (c_at, c_id);
    END IF;
    UPDATE home_timelines t SET trimmed_at = now() WHERE t.member_id = member;
    RETURN true;
END
$fn$;

-- One batch of queued work, in the caller's transaction: up to `batch` items claimed (others'
-- claims skipped). First the new follows, in member order: the followee's activity (its newest
-- `timeline_entries` from the timeline's floor up) copied into the follower's timeline, whose row
-- is locked meanwhile, and the followee made one of its followees (a follow that raced the
-- timeline's request may have missed it); when the followee did more than that, the floor rises to the oldest copied
-- (below it, pages read the followees). Then the activities, copied into the timelines (built or
-- being built) of the actor's followers (home_timeline_followees), in member order, unless the actor
-- is heavy; about one copy in 128 trims its timeline (a trim reads the newest `timeline_entries`:
-- read once per 128 copies, not once per copy). Answers each item's age in seconds, from its
-- queueing (in the writing transaction, just before its commit) to now, just before this batch
-- commits.
CREATE FUNCTION feed_fanout(batch integer) RETURNS float8[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    acts bigint[];
    followers bigint[];
    authors bigint[];
    queued timestamptz[];
    keep integer := (SELECT s.timeline_entries FROM feed_settings s);
    lo_at timestamptz;
    lo_id bigint;
    to_trim bigint[];
    m bigint;
BEGIN
    WITH claimed AS (
        DELETE FROM feed_work w
        WHERE w.id IN (SELECT q.id FROM feed_work q ORDER BY q.id LIMIT batch FOR UPDATE SKIP LOCKED)
        RETURNING w.activity_id, w.member_id, w.author_id, w.queued_at
    )
    SELECT array_agg(c.activity_id) FILTER (WHERE c.activity_id IS NOT NULL),
           array_agg(c.member_id ORDER BY c.member_id, c.author_id) FILTER (WHERE c.member_id IS NOT NULL),
           array_agg(c.author_id ORDER BY c.member_id, c.author_id) FILTER (WHERE c.member_id IS NOT NULL),
           array_agg(c.queued_at)
    INTO acts, followers, authors, queued
    FROM claimed c;
    IF queued IS NULL THEN
        RETURN '{}';
    END IF;
    FOR i IN 1 .. coalesce(cardinality(followers), 0) LOOP
        SELECT h.floor_at, h.floor_id INTO lo_at, lo_id
        FROM home_timelines h WHERE h.member_id = followers[i]
        FOR UPDATE;
        CONTINUE WHEN NOT FOUND
            OR NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = followers[i] AND f.followee_id = authors[i]);
        INSERT INTO home_timeline_followees (followee_id, member_id) VALUES (authors[i], followers[i])
        ON CONFLICT DO NOTHING;
        -- (A heavy author too: bounded like any other, and it keeps the timeline whole should they stop
        -- being heavy before home_feed_heavy saw this follow. Inserted oldest first, as the fan-out
        -- inserts: two workers writing one timeline take its keys in the same order.)
        INSERT INTO home_timeline_entries (member_id, created_at, activity_id, actor_id)
        SELECT followers[i], x.created_at, x.id, x.actor_id
        FROM (
            SELECT x.created_at, x.id, x.actor_id
            FROM activities x
            WHERE x.actor_id = authors[i]
              AND (x.created_at, x.id) >= (lo_at, lo_id)
            ORDER BY x.created_at DESC, x.id DESC
            LIMIT keep
        ) x
        ORDER BY x.created_at, x.id
        ON CONFLICT DO NOTHING;
        SELECT x.created_at, x.id INTO lo_at, lo_id
        FROM activities x
        WHERE x.actor_id = authors[i]
          AND (x.created_at, x.id) >= (lo_at, lo_id)
        ORDER BY x.created_at DESC, x.id DESC
        OFFSET keep - 1 LIMIT 1;
        IF FOUND THEN
            UPDATE home_timelines h SET floor_at = lo_at, floor_id = lo_id
            WHERE h.member_id = followers[i] AND (h.floor_at, h.floor_id) < (lo_at, lo_id);
        END IF;
        PERFORM home_timeline_trim(followers[i], keep);
    END LOOP;
    IF acts IS NOT NULL THEN
        WITH copied AS (
            INSERT INTO home_timeline_entries (member_id, created_at, activity_id, actor_id)
            SELECT f.member_id, a.created_at, a.id, a.actor_id
            FROM activities a
            JOIN home_timeline_followees f ON f.followee_id = a.actor_id
            JOIN home_timelines h ON h.member_id = f.member_id
            WHERE a.id = ANY (acts)
              AND NOT EXISTS (SELECT 1 FROM heavy_authors x WHERE x.member_id = a.actor_id)
              AND (a.created_at, a.id) >= (h.floor_at, h.floor_id)
            ORDER BY f.member_id, a.created_at, a.id
            ON CONFLICT DO NOTHING
            RETURNING member_id, activity_id
        )
        SELECT array_agg(DISTINCT c.member_id) FILTER (WHERE (c.member_id + c.activity_id) % 128 = 0)
        INTO to_trim
        FROM copied c;
        FOREACH m IN ARRAY coalesce(to_trim, '{}') LOOP
            PERFORM home_timeline_trim(m, keep);
        END LOOP;
    END IF;
    RETURN ARRAY(SELECT extract(epoch FROM clock_timestamp() - q)::float8 FROM unnest(queued) q);
END
$fn$;

-- Builds up to `batch` requested timelines: the newest `build_entries` activities of the member's
-- followees (heavy authors' too: should one stop being heavy before home_feed_heavy sees this
-- timeline, nothing is missing), found in two index passes (as activity_feed's followee pass): a few
-- newest of each followee give a lower bound, then each followee's activity down to it. The floor is
-- the oldest of them when there are that many, else the bound, and never lower than it was (the
-- fan-out then grows the timeline up to `timeline_entries`). Answers how many it built.
CREATE FUNCTION home_timelines_build(batch integer) RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    keep integer := (SELECT least(s.build_entries, s.timeline_entries) FROM feed_settings s);
    m bigint;
    each_ integer;
    lo_at timestamptz;
    lo_id bigint;
    -- A lower bound of the newest `keep` (or -infinity when the followees did fewer).
    b_at timestamptz;
    b_id bigint;
    candidates bigint;
    built integer := 0;
BEGIN
    FOR m IN
        SELECT t.member_id FROM home_timelines t
        WHERE t.built_at IS NULL
        ORDER BY t.requested_at
        LIMIT batch
        FOR UPDATE SKIP LOCKED
    LOOP
        -- Any `keep` of the followees' activity bound the newest `keep` from below.
        each_ := keep / greatest((SELECT mm.following_count FROM members mm WHERE mm.id = m), 1) + 1;
        SELECT c.created_at, c.id INTO b_at, b_id
        FROM (
            SELECT x.created_at, x.id
            FROM follows f
            CROSS JOIN LATERAL (
                SELECT x.created_at, x.id FROM activities x
                WHERE x.actor_id = f.followee_id
                ORDER BY x.created_at DESC, x.id DESC
                LIMIT each_
            ) x
            WHERE f.follower_id = m
        ) c
        ORDER BY c.created_at DESC, c.id DESC
        OFFSET keep - 1 LIMIT 1;
        IF NOT FOUND THEN
            b_at := '-infinity';
            b_id := 0;
        END IF;
        -- The newest `keep` from the bound up, copied (the fan-out may have copied some already).
        -- The floor is the oldest of them when there are that many; with fewer (the followees did
        -- less, or some activity was undone or a follow ended since the bound was read), nothing
        -- from the bound up was left out, so the bound. (Read from the candidates, not the
        -- timeline: its new rows are not yet all-visible, a re-read costs heap fetches.)
        WITH newest AS (
            SELECT x.created_at, x.id, x.actor_id
            FROM follows f
            CROSS JOIN LATERAL (
                SELECT x.created_at, x.id, x.actor_id FROM activities x
                WHERE x.actor_id = f.followee_id
                  AND (x.created_at, x.id) >= (b_at, b_id)
                ORDER BY x.created_at DESC, x.id DESC
                LIMIT keep
            ) x
            WHERE f.follower_id = m
            ORDER BY x.created_at DESC, x.id DESC
            LIMIT keep
        ), copied AS (
            INSERT INTO home_timeline_entries (member_id, created_at, activity_id, actor_id)
            SELECT m, n.created_at, n.id, n.actor_id FROM newest n
            ORDER BY n.created_at, n.id
            ON CONFLICT DO NOTHING
        )
        SELECT n.created_at, n.id, count(*) OVER () INTO lo_at, lo_id, candidates
        FROM newest n
        ORDER BY n.created_at, n.id
        LIMIT 1;
        IF coalesce(candidates, 0) < keep THEN
            lo_at := b_at;
            lo_id := b_id;
        END IF;
        -- The timeline's followees as the follows are now (a safety net: the request and the follows
        -- trigger keep them; probed first, as they are usually all there).
        INSERT INTO home_timeline_followees (followee_id, member_id)
        SELECT f.followee_id, m FROM follows f
        WHERE f.follower_id = m
          AND NOT EXISTS (SELECT 1 FROM home_timeline_followees x
                          WHERE x.followee_id = f.followee_id AND x.member_id = m)
        ON CONFLICT DO NOTHING;
        -- (Trimmed as of now: it holds no more than `keep` of its own.) The floor never goes down: a
        -- backfill or a sampled trim may have raised it while the timeline waited, and the fan-out
        -- has been copying only from there up (an activity committed after this build's snapshot,
        -- dated below that, would be missing above a lower floor).
        UPDATE home_timelines t
        SET built_at = now(),
            floor_at = CASE WHEN (t.floor_at, t.floor_id) > (lo_at, lo_id) THEN t.floor_at ELSE lo_at END,
            floor_id = CASE WHEN (t.floor_at, t.floor_id) > (lo_at, lo_id) THEN t.floor_id ELSE lo_id END,
            trimmed_at = now()
        WHERE t.member_id = m;
        built := built + 1;
    END LOOP;
    RETURN built;
END
$fn$;

-- Who is heavy, periodic: members with at least `heavy_followers` followers become heavy (their
-- activity is no longer copied; pages read it from `activities`); those under 80 % of it stop
-- being heavy (a margin against flapping), and a backfill is queued for each of their followers'
-- timelines, as for a new follow (until it is done, pages read the author directly). Answers the
-- rows it changed.
CREATE FUNCTION home_feed_heavy() RETURNS bigint
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    threshold integer := (SELECT s.heavy_followers FROM feed_settings s);
    n bigint;
    changed bigint := 0;
BEGIN
    WITH gone AS (
        DELETE FROM heavy_authors h USING members m
        WHERE m.id = h.member_id AND m.follower_count < 0.8 * threshold
        RETURNING h.member_id
    )
    INSERT INTO feed_work (member_id, author_id)
    SELECT f.member_id, g.member_id
    FROM gone g
    JOIN home_timeline_followees f ON f.followee_id = g.member_id
    ORDER BY f.member_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    INSERT INTO heavy_authors (member_id)
    SELECT m.id FROM members m WHERE m.follower_count >= threshold
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN changed + n;
END
$fn$;

-- Housekeeping, periodic and bounded: timelines not read for `idle_days` dropped (rebuilt on the
-- next read), then up to `batch` built timelines trimmed, least recently trimmed first (the
-- fan-out trims most as it goes). Answers the timelines it dropped or trimmed.
CREATE FUNCTION home_feed_trim(batch integer) RETURNS bigint
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    s feed_settings;
    m bigint;
    n bigint;
    changed bigint := 0;
BEGIN
    SELECT * INTO s FROM feed_settings;
    DELETE FROM home_timelines t
    WHERE t.member_id IN (
        SELECT i.member_id FROM home_timelines i
        WHERE i.read_at < now() - make_interval(days => s.idle_days)
        ORDER BY i.member_id
        FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS changed = ROW_COUNT;
    FOR m IN
        SELECT t.member_id FROM home_timelines t
        WHERE t.built_at IS NOT NULL
        ORDER BY t.trimmed_at
        LIMIT batch
    LOOP
        IF home_timeline_trim(m, s.timeline_entries) THEN
            changed := changed + 1;
        END IF;
    END LOOP;
    RETURN changed;
END
$fn$;

-- A page of `viewer`'s home feed: ($2, $3) the page starts after this (created_at, id), $4 the
-- limit. Read from the timeline when it is built and the page starts above its floor; otherwise,
-- and for what lies below the floor, from the followees (activity_feed). Every rule is applied
-- now: only followees the viewer still follows and has not muted (an unfollow, block or mute takes
-- effect on the next page), nothing by or about a member hidden from them, restricted activity
-- only when they may read it.
CREATE FUNCTION home_feed(bigint, timestamptz, bigint, bigint) RETURNS SETOF activity_view
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
    lo_at timestamptz;
    lo_id bigint;
    muted bigint[];
    -- Followees whose activity is read from `activities` rather than the timeline: heavy authors,
    -- and those whose follow's backfill is still queued (more than 100: the page is read from the
    -- followees instead).
    extra bigint[];
    -- A pass's ids that still exist (an activity undone since it was copied is left out), and
    -- whether one of them is restricted.
    live bigint[];
    restricted boolean;
    blocked bigint[];
    -- A pass: up to $4 ids, newest first, and their times.
    ids bigint[];
    ats timestamptz[];
    -- Nothing older than this (the timeline pass's last entry when it is full) can be on the page.
    b_at timestamptz;
    b_id bigint;
    page bigint[] := '{}';
    page_at ALIAS FOR $2;
    page_after ALIAS FOR $3;
BEGIN
    SELECT t.floor_at, t.floor_id INTO lo_at, lo_id
    FROM home_timelines t WHERE t.member_id = $1 AND t.built_at IS NOT NULL;
    IF NOT FOUND OR ($2, $3) <= (lo_at, lo_id) THEN
        RETURN QUERY SELECT * FROM activity_feed($1, $2, $3, $4);
        RETURN;
    END IF;
    blocked := hidden_from($1);
    muted := ARRAY(SELECT m.muted_id FROM mutes m WHERE m.muter_id = $1);
    extra := ARRAY(
        -- (One probe of follows per heavy author, a handful: not a pass over all the followees.)
        SELECT h.member_id FROM heavy_authors h
        WHERE (SELECT true FROM follows f WHERE f.follower_id = $1 AND f.followee_id = h.member_id)
        UNION
        SELECT w.author_id FROM feed_work w WHERE w.member_id = $1
        LIMIT 101
    );
    IF cardinality(extra) > 100 THEN
        RETURN QUERY SELECT * FROM activity_feed($1, $2, $3, $4);
        RETURN;
    END IF;
    LOOP
    -- The timeline's pass first: when it is full, nothing older than its last entry can be on the
    -- page, which bounds the reads of the merged authors and of the queue. (Each follow is checked
    -- by one probe per row, a scalar sub-select: as EXISTS, the planner made it a join against
    -- every followee, 1 ms for a member following 1,000.)
    SELECT coalesce(array_agg(e.activity_id ORDER BY e.created_at DESC, e.activity_id DESC), '{}'),
           coalesce(array_agg(e.created_at ORDER BY e.created_at DESC, e.activity_id DESC), '{}')
    INTO ids, ats
    FROM (
        SELECT e.created_at, e.activity_id
        FROM home_timeline_entries e
        WHERE e.member_id = $1
          AND (e.created_at, e.activity_id) < ($2, $3)
          AND (e.created_at, e.activity_id) >= (lo_at, lo_id)
          AND e.actor_id <> ALL (muted)
          AND (SELECT true FROM follows f WHERE f.follower_id = $1 AND f.followee_id = e.actor_id)
        ORDER BY e.created_at DESC, e.activity_id DESC
        LIMIT $4
    ) e;
    IF cardinality(ids) >= $4 THEN
        b_at := ats[cardinality(ats)];
        b_id := ids[cardinality(ids)];
    ELSE
        b_at := lo_at;
        b_id := lo_id;
    END IF;
    -- (Usually nothing to merge: no heavy followee, nothing queued.)
    IF cardinality(extra) > 0
       OR EXISTS (SELECT 1 FROM (SELECT q.activity_id FROM feed_work q ORDER BY q.id DESC LIMIT 256) w
                  WHERE w.activity_id IS NOT NULL) THEN
        SELECT coalesce(array_agg(u.id ORDER BY u.created_at DESC, u.id DESC), '{}'),
               coalesce(array_agg(u.created_at ORDER BY u.created_at DESC, u.id DESC), '{}')
        INTO ids, ats
        FROM (
            SELECT u.id, u.created_at FROM (
                SELECT t.created_at, t.id FROM unnest(ats, ids) AS t(created_at, id)
                UNION
                (SELECT x.created_at, x.id
                 FROM unnest(extra) AS ex(author)
                 CROSS JOIN LATERAL (
                     SELECT x.created_at, x.id FROM activities x
                     WHERE x.actor_id = ex.author
                       AND (x.created_at, x.id) < ($2, $3)
                       AND (x.created_at, x.id) >= (b_at, b_id)
                     ORDER BY x.created_at DESC, x.id DESC
                     LIMIT $4
                 ) x
                 WHERE ex.author <> ALL (muted)
                   AND (SELECT true FROM follows f WHERE f.follower_id = $1 AND f.followee_id = ex.author))
                UNION
                -- (The newest 256 items of the queue at most: a backlog delays activity, it does not
                -- slow every page down.)
                (SELECT w.created_at, w.activity_id
                 FROM (SELECT q.* FROM feed_work q ORDER BY q.id DESC LIMIT 256) w
                 WHERE w.activity_id IS NOT NULL
                   AND (w.created_at, w.activity_id) < ($2, $3)
                   AND (w.created_at, w.activity_id) >= (b_at, b_id)
                   AND w.actor_id <> ALL (muted)
                   AND (SELECT true FROM follows f WHERE f.follower_id = $1 AND f.followee_id = w.actor_id))
            ) u
            ORDER BY u.created_at DESC, u.id DESC
            LIMIT $4
        ) u;
    END IF;
    SELECT coalesce(array_agg(r.id ORDER BY u.n), '{}'), coalesce(bool_or(r.restricted), false)
    INTO live, restricted
    FROM unnest(ids) WITH ORDINALITY AS u(id, n)
    JOIN activities r ON r.id = u.id;
    -- As activity_feed: usually nothing in a pass is hidden from anyone.
    IF cardinality(blocked) = 0 AND NOT restricted THEN
        page := page || live;
    ELSE
        page := page || activity_visible(live, $1, blocked);
    END IF;
    EXIT WHEN cardinality(page) >= $4 OR cardinality(ids) < $4;
    page_at := ats[cardinality(ats)];
    page_after := ids[cardinality(ids)];
    END LOOP;
    RETURN QUERY SELECT * FROM activity_details(page[1:$4], $1);
    -- The timeline ran out: it holds everything from its floor up, so the rest of the page is older
    -- than the floor, read from the followees.
    IF cardinality(page) < $4 AND lo_at > '-infinity' THEN
        RETURN QUERY SELECT * FROM activity_feed($1, lo_at, lo_id, $4 - cardinality(page));
    END IF;
END
$fn$;
