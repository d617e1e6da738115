-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- Counters of lists, in the same transaction as the write: entries per list and lists per film (on
-- list_entries), lists per member (on lists).
DROP FUNCTION IF EXISTS list_entries_count() CASCADE;
DROP FUNCTION IF EXISTS lists_count() CASCADE;

CREATE FUNCTION list_entries_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE lists SET entry_count = entry_count + 1 WHERE id = NEW.list_id;
        UPDATE film_stats SET list_count = list_count + 1 WHERE film_id = NEW.film_id;
    ELSE
        UPDATE lists SET entry_count = entry_count - 1 WHERE id = OLD.list_id;
        UPDATE film_stats SET list_count = list_count - 1 WHERE film_id = OLD.film_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER list_entries_count AFTER INSERT OR DELETE ON list_entries
    FOR EACH ROW EXECUTE FUNCTION list_entries_count();

CREATE FUNCTION lists_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE members SET list_count = list_count + 1 WHERE id = NEW.owner_id;
    ELSE
        UPDATE members SET list_count = list_count - 1 WHERE id = OLD.owner_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER lists_count AFTER INSERT OR DELETE ON lists
    FOR EACH ROW EXECUTE FUNCTION lists_count();

DROP FUNCTION IF EXISTS list_likes_count() CASCADE;

CREATE FUNCTION list_likes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE lists SET like_count = like_count + 1 WHERE id = NEW.list_id;
    ELSE
        UPDATE lists SET like_count = like_count - 1 WHERE id = OLD.list_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER list_likes_count AFTER INSERT OR DELETE ON list_likes
    FOR EACH ROW EXECUTE FUNCTION list_likes_count();

DROP FUNCTION IF EXISTS list_comments_count() CASCADE;

CREATE FUNCTION list_comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE lists SET comment_count = comment_count + 1 WHERE id = NEW.list_id;
    ELSE
        UPDATE lists SET comment_count = comment_count - 1 WHERE id = OLD.list_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER list_comments_count AFTER INSERT OR DELETE ON list_comments
    FOR EACH ROW EXECUTE FUNCTION list_comments_count();
