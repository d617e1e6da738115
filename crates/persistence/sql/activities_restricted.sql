-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- activities.restricted: the activity is about a log entry or a list that not everyone may read
-- (`restricted()` of visibility.sql). Set when the activity is written, and again for
-- an entry's activities when its visibility changes, and for all activities about a member's entries
-- when their account turns private or public: in the same transaction as the change.
DROP FUNCTION IF EXISTS entry_restricted(bigint) CASCADE;
DROP FUNCTION IF EXISTS activities_restricted_insert() CASCADE;
DROP FUNCTION IF EXISTS activities_restricted_entry() CASCADE;
DROP FUNCTION IF EXISTS activities_restricted_member() CASCADE;
DROP FUNCTION IF EXISTS list_restricted(bigint) CASCADE;
DROP FUNCTION IF EXISTS activities_restricted_list() CASCADE;

CREATE FUNCTION entry_restricted(entry bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT restricted(le.visibility, m.private_account)
        FROM log_entries le JOIN members m ON m.id = le.member_id
        WHERE le.id = entry), false)
$$;

CREATE FUNCTION list_restricted(list bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT restricted(li.visibility, m.private_account)
        FROM lists li JOIN members m ON m.id = li.owner_id
        WHERE li.id = list), false)
$$;

CREATE FUNCTION activities_restricted_insert() RETURNS trigger LANGUAGE plpgsql
-- Its one query is planned once per session (a SQL function's body, as entry_restricted's, is
-- planned again on every call: 0.17 ms of logging a film, measured by `make bench-ab --statements`).
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- The column has no default: NULL unless the writing statement set the flag itself (logging a
    -- film writes the entry and its activity together, and knows it).
    IF NEW.restricted IS NULL THEN
        SELECT coalesce(
                   CASE WHEN NEW.log_entry_id IS NOT NULL THEN
                       (SELECT restricted(le.visibility, m.private_account)
                        FROM log_entries le JOIN members m ON m.id = le.member_id
                        WHERE le.id = NEW.log_entry_id)
                   WHEN NEW.list_id IS NOT NULL THEN
                       (SELECT restricted(li.visibility, m.private_account)
                        FROM lists li JOIN members m ON m.id = li.owner_id
                        WHERE li.id = NEW.list_id)
                   END, false)
        INTO NEW.restricted;
    END IF;
    -- The home feed's fan-out, queued in this transaction and done after it commits (home_feed.sql;
    -- here rather than in a trigger of its own: one trigger call per activity, not two).
    INSERT INTO feed_work (activity_id, actor_id, created_at) VALUES (NEW.id, NEW.actor_id, NEW.created_at);
    RETURN NEW;
END $$;

CREATE TRIGGER activities_restricted_insert BEFORE INSERT ON activities
    FOR EACH ROW EXECUTE FUNCTION activities_restricted_insert();

CREATE FUNCTION activities_restricted_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE activities a SET restricted = entry_restricted(NEW.id)
    WHERE a.log_entry_id = NEW.id AND a.restricted IS DISTINCT FROM entry_restricted(NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER activities_restricted_entry AFTER UPDATE OF visibility ON log_entries
    FOR EACH ROW WHEN (OLD.visibility IS DISTINCT FROM NEW.visibility)
    EXECUTE FUNCTION activities_restricted_entry();

CREATE FUNCTION activities_restricted_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE activities a SET restricted = restricted(le.visibility, NEW.private_account)
    FROM log_entries le
    WHERE le.member_id = NEW.id AND a.log_entry_id = le.id
      AND a.restricted IS DISTINCT FROM restricted(le.visibility, NEW.private_account);
    UPDATE activities a SET restricted = restricted(li.visibility, NEW.private_account)
    FROM lists li
    WHERE li.owner_id = NEW.id AND a.list_id = li.id
      AND a.restricted IS DISTINCT FROM restricted(li.visibility, NEW.private_account);
    RETURN NULL;
END $$;

CREATE TRIGGER activities_restricted_member AFTER UPDATE OF private_account ON members
    FOR EACH ROW WHEN (OLD.private_account IS DISTINCT FROM NEW.private_account)
    EXECUTE FUNCTION activities_restricted_member();

CREATE FUNCTION activities_restricted_list() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE activities a SET restricted = list_restricted(NEW.id)
    WHERE a.list_id = NEW.id AND a.restricted IS DISTINCT FROM list_restricted(NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER activities_restricted_list AFTER UPDATE OF visibility ON lists
    FOR EACH ROW WHEN (OLD.visibility IS DISTINCT FROM NEW.visibility)
    EXECUTE FUNCTION activities_restricted_list();
