-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- One UPDATE for both members, so the two rows are always locked in the same (index) order: A
-- following B while B follows A cannot deadlock.
DROP FUNCTION IF EXISTS follows_count() CASCADE;

CREATE FUNCTION follows_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f BIGINT;
    e BIGINT;
    d INTEGER;
BEGIN
    IF TG_OP = 'INSERT' THEN f := NEW.follower_id; e := NEW.followee_id; d := 1;
    ELSE f := OLD.follower_id; e := OLD.followee_id; d := -1;
    END IF;
    UPDATE members SET
        following_count = following_count + CASE WHEN id = f THEN d ELSE 0 END,
        follower_count  = follower_count  + CASE WHEN id = e THEN d ELSE 0 END
    WHERE id IN (f, e);
    -- The home feed (home_feed.sql): a new follow's followee is one the follower's timeline (if they
    -- have one) receives activity from, and whose activity is backfilled into it after commit (until
    -- then a page reads the followee's activity directly); an unfollow ends both.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO home_timeline_followees (followee_id, member_id)
        SELECT e, f WHERE EXISTS (SELECT 1 FROM home_timelines t WHERE t.member_id = f)
        ON CONFLICT DO NOTHING;
        INSERT INTO feed_work (member_id, author_id) VALUES (f, e);
    ELSE
        DELETE FROM home_timeline_followees x WHERE x.followee_id = e AND x.member_id = f;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER follows_count AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION follows_count();
