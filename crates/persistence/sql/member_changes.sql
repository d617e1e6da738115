-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
--
-- Delta sync (GET /me/changes, GET /me/last-activities): every change to what a member owns is
-- recorded by these triggers in the transaction that makes it, so no write path can forget it.
-- `record_change` numbers the change from the member's `member_sync` row; the row stays locked to
-- commit, so a member's changes commit in the order of their numbers (a reader that has seen N
-- never later finds a change numbered below N).
DROP FUNCTION IF EXISTS record_change(bigint, text, bigint, boolean, text[]) CASCADE;

CREATE FUNCTION record_change(member bigint, object_type text, object_id bigint, deleted boolean,
                              categories text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := clock_timestamp();
BEGIN
    -- One statement (each statement of a trigger costs its own executor start): the number, the
    -- change, and the webhook outbox's rows (one index probe when the member has no endpoint; the
    -- row names the thing, and the worker that first claims it adds its `data`, webhook_claim). A
    -- member being deleted takes their changes with them: no member row, nothing recorded.
    WITH numbered AS (
        INSERT INTO member_sync AS s (member_id, seq, log_entries_at, ratings_at, likes_at,
                                      watchlist_at, follows_at, comments_at, lists_at, profile_at)
        SELECT m.id, 1,
               CASE WHEN 'log_entries' = ANY (categories) THEN at END,
               CASE WHEN 'ratings' = ANY (categories) THEN at END,
               CASE WHEN 'likes' = ANY (categories) THEN at END,
               CASE WHEN 'watchlist' = ANY (categories) THEN at END,
               CASE WHEN 'follows' = ANY (categories) THEN at END,
               CASE WHEN 'comments' = ANY (categories) THEN at END,
               CASE WHEN 'lists' = ANY (categories) THEN at END,
               CASE WHEN 'profile' = ANY (categories) THEN at END
        FROM members m WHERE m.id = member
        ON CONFLICT (member_id) DO UPDATE SET
            seq = s.seq + 1,
            log_entries_at = CASE WHEN 'log_entries' = ANY (categories) THEN at ELSE s.log_entries_at END,
            ratings_at = CASE WHEN 'ratings' = ANY (categories) THEN at ELSE s.ratings_at END,
            likes_at = CASE WHEN 'likes' = ANY (categories) THEN at ELSE s.likes_at END,
            watchlist_at = CASE WHEN 'watchlist' = ANY (categories) THEN at ELSE s.watchlist_at END,
            follows_at = CASE WHEN 'follows' = ANY (categories) THEN at ELSE s.follows_at END,
            comments_at = CASE WHEN 'comments' = ANY (categories) THEN at ELSE s.comments_at END,
            lists_at = CASE WHEN 'lists' = ANY (categories) THEN at ELSE s.lists_at END,
            profile_at = CASE WHEN 'profile' = ANY (categories) THEN at ELSE s.profile_at END
        RETURNING s.seq
    ), changed AS (
        INSERT INTO member_changes AS c (member_id, object_type, object_id, seq, deleted, changed_at)
        SELECT member, object_type, object_id, n.seq, deleted, at FROM numbered n
        ON CONFLICT ON CONSTRAINT member_changes_pkey DO UPDATE
            SET seq = excluded.seq, deleted = excluded.deleted, changed_at = excluded.changed_at
    )
    INSERT INTO webhook_deliveries (endpoint_id, event_type, payload, member_id, object_type,
                                    object_id, deleted)
    SELECT e.id, ev.type, jsonb_build_object('type', ev.type, 'timestamp', at),
           member, object_type, object_id, deleted
    FROM numbered n, webhook_endpoints e,
         LATERAL (SELECT object_type || CASE WHEN deleted THEN '.deleted' ELSE '.changed' END
                  AS type) ev
    WHERE e.owner_id = member AND e.enabled
      AND (object_type = ANY (e.events) OR '*' = ANY (e.events));
END $$;

-- How the API names an object of a change: a film by its slug, a followed member by username,
-- anything else by its id.
DROP FUNCTION IF EXISTS change_key(text, bigint);

CREATE FUNCTION change_key(object_type text, object_id bigint) RETURNS text
LANGUAGE sql STABLE AS $fn$
    SELECT coalesce(CASE object_type
        WHEN 'film' THEN (SELECT f.slug FROM films f WHERE f.id = object_id)
        WHEN 'follow' THEN (SELECT m.username FROM members m WHERE m.id = object_id)
        WHEN 'follow_request' THEN (SELECT m.username FROM members m WHERE m.id = object_id)
        END, object_id::text)
$fn$;

-- One trigger function for the tables whose rows name their member in one column.
DROP FUNCTION IF EXISTS changes_of_row() CASCADE;

CREATE FUNCTION changes_of_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    gone boolean := TG_OP = 'DELETE';
BEGIN
    IF gone THEN r := OLD; ELSE r := NEW; END IF;
    CASE TG_TABLE_NAME
    WHEN 'log_entries' THEN
        PERFORM record_change(r.member_id, 'log_entry', r.id, gone, '{log_entries}');
    WHEN 'review_likes' THEN
        PERFORM record_change(r.member_id, 'review_like', r.log_entry_id, gone, '{likes}');
    WHEN 'list_likes' THEN
        PERFORM record_change(r.member_id, 'list_like', r.list_id, gone, '{likes}');
    WHEN 'follows' THEN
        PERFORM record_change(r.follower_id, 'follow', r.followee_id, gone, '{follows}');
    WHEN 'follow_requests' THEN
        PERFORM record_change(r.requester_id, 'follow_request', r.target_id, gone, '{follows}');
    WHEN 'comments' THEN
        PERFORM record_change(r.author_id, 'comment', r.id, gone, '{comments}');
    WHEN 'list_comments' THEN
        PERFORM record_change(r.author_id, 'list_comment', r.id, gone, '{comments}');
    WHEN 'lists' THEN
        PERFORM record_change(r.owner_id, 'list', r.id, gone, '{lists}');
    WHEN 'list_entries' THEN
        -- An entry is part of its list (a deleted list's entries find no owner and record nothing).
        PERFORM record_change((SELECT owner_id FROM lists WHERE id = r.list_id), 'list', r.list_id,
                              false, '{lists}');
    END CASE;
    RETURN NULL;
END $$;

-- An entry's counters and scores change when others like or comment on it, or when popularity is
-- recomputed: not a change of the author's (each like wrote one, and took the author's member_sync
-- row lock inside the liker's transaction).
CREATE TRIGGER log_entries_changes AFTER INSERT OR DELETE OR UPDATE OF member_id, film_id,
    watched_on, rewatch, rating, review_text, contains_spoilers, tags, visibility, updated_at,
    review_removed_at ON log_entries
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER review_likes_changes AFTER INSERT OR DELETE ON review_likes
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER list_likes_changes AFTER INSERT OR DELETE ON list_likes
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER follows_changes AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER follow_requests_changes AFTER INSERT OR DELETE ON follow_requests
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER comments_changes AFTER INSERT OR UPDATE OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER list_comments_changes AFTER INSERT OR UPDATE OR DELETE ON list_comments
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
-- A list's counters change when others like or comment on it: not a change of the owner's.
CREATE TRIGGER lists_changes AFTER INSERT OR DELETE OR UPDATE OF name, description, ranked,
    visibility, tags, removed_at ON lists
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();
CREATE TRIGGER list_entries_changes AFTER INSERT OR UPDATE OR DELETE ON list_entries
    FOR EACH ROW EXECUTE FUNCTION changes_of_row();

-- A member's state with a film (rating, like, watchlist, watched): one object, `film`, whose
-- categories are the fields that changed.
DROP FUNCTION IF EXISTS member_films_changes() CASCADE;

CREATE FUNCTION member_films_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o member_films;
    n member_films;
    cats text[] := '{}';
BEGIN
    IF TG_OP <> 'INSERT' THEN o := OLD; END IF;
    IF TG_OP <> 'DELETE' THEN n := NEW; END IF;
    IF o.rating IS DISTINCT FROM n.rating OR o.explicit_rating IS DISTINCT FROM n.explicit_rating THEN
        cats := cats || 'ratings'::text;
    END IF;
    IF o.liked IS DISTINCT FROM n.liked THEN
        cats := cats || 'likes'::text;
    END IF;
    IF o.in_watchlist IS DISTINCT FROM n.in_watchlist THEN
        cats := cats || 'watchlist'::text;
    END IF;
    IF o.watched IS DISTINCT FROM n.watched THEN
        cats := cats || 'log_entries'::text;
    END IF;
    IF cats <> '{}' OR TG_OP = 'DELETE' THEN
        PERFORM record_change(coalesce(n.member_id, o.member_id), 'film',
                              coalesce(n.film_id, o.film_id), TG_OP = 'DELETE', cats);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER member_films_changes AFTER INSERT OR UPDATE OR DELETE ON member_films
    FOR EACH ROW EXECUTE FUNCTION member_films_changes();

-- The profile and settings (not the counters others' follows move).
DROP FUNCTION IF EXISTS members_changes() CASCADE;

CREATE FUNCTION members_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM record_change(NEW.id, 'profile', NEW.id, false, '{profile}');
    RETURN NULL;
END $$;

CREATE TRIGGER members_changes AFTER UPDATE OF username, email, email_verified_at, display_name, bio, location,
    website, pronouns, private_account, private_watchlist, default_visibility, notifications_off
    ON members
    FOR EACH ROW EXECUTE FUNCTION members_changes();

-- What a change carries for an object that still exists: the object as the member's client keeps
-- it (NULL for a tombstone).
DROP FUNCTION IF EXISTS change_data(bigint, text, bigint);

CREATE FUNCTION change_data(member bigint, object_type text, object_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $fn$
    SELECT CASE object_type
    WHEN 'log_entry' THEN (
        SELECT jsonb_build_object('id', e.id::text, 'film', f.slug, 'watched_on', e.watched_on,
            'rewatch', e.rewatch, 'rating', e.rating / 2.0, 'review', e.review_text,
            'contains_spoilers', e.contains_spoilers, 'tags', e.tags, 'visibility', e.visibility,
            'updated_at', e.updated_at)
        FROM log_entries e JOIN films f ON f.id = e.film_id WHERE e.id = object_id)
    WHEN 'film' THEN (
        SELECT jsonb_build_object('film', f.slug, 'watched', mf.watched, 'liked', mf.liked,
            'in_watchlist', mf.in_watchlist, 'rating', mf.rating / 2.0)
        FROM member_films mf JOIN films f ON f.id = mf.film_id
        WHERE mf.member_id = member AND mf.film_id = object_id)
    WHEN 'review_like' THEN (
        SELECT jsonb_build_object('log_entry', l.log_entry_id::text, 'created_at', l.created_at)
        FROM review_likes l WHERE l.member_id = member AND l.log_entry_id = object_id)
    WHEN 'list_like' THEN (
        SELECT jsonb_build_object('list', l.list_id::text, 'created_at', l.created_at)
        FROM list_likes l WHERE l.member_id = member AND l.list_id = object_id)
    WHEN 'follow' THEN (
        SELECT jsonb_build_object('username', m.username, 'created_at', f.created_at)
        FROM follows f JOIN members m ON m.id = f.followee_id
        WHERE f.follower_id = member AND f.followee_id = object_id)
    WHEN 'follow_request' THEN (
        SELECT jsonb_build_object('username', m.username, 'created_at', r.created_at)
        FROM follow_requests r JOIN members m ON m.id = r.target_id
        WHERE r.requester_id = member AND r.target_id = object_id)
    WHEN 'comment' THEN (
        SELECT jsonb_build_object('id', c.id::text, 'log_entry', c.log_entry_id::text,
            'body', c.body, 'removed', c.removed_at IS NOT NULL, 'created_at', c.created_at)
        FROM comments c WHERE c.id = object_id)
    WHEN 'list_comment' THEN (
        SELECT jsonb_build_object('id', c.id::text, 'list', c.list_id::text, 'body', c.body,
            'removed', c.removed_at IS NOT NULL, 'created_at', c.created_at)
        FROM list_comments c WHERE c.id = object_id)
    WHEN 'list' THEN (
        SELECT jsonb_build_object('id', l.id::text, 'name', l.name, 'description', l.description,
            'ranked', l.ranked, 'visibility', l.visibility, 'tags', l.tags,
            'entry_count', l.entry_count, 'updated_at', l.updated_at)
        FROM lists l WHERE l.id = object_id)
    WHEN 'profile' THEN (
        SELECT jsonb_build_object('username', m.username, 'display_name', m.display_name,
            'bio', m.bio, 'location', m.location, 'website', m.website, 'pronouns', m.pronouns,
            'private_account', m.private_account, 'private_watchlist', m.private_watchlist,
            'default_visibility', m.default_visibility)
        FROM members m WHERE m.id = member)
    END
$fn$;
