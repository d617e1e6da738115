-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
DROP FUNCTION IF EXISTS review_likes_count() CASCADE;

CREATE FUNCTION review_likes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE log_entries SET like_count = like_count + 1 WHERE id = NEW.log_entry_id;
    ELSE
        UPDATE log_entries SET like_count = like_count - 1 WHERE id = OLD.log_entry_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER review_likes_count AFTER INSERT OR DELETE ON review_likes
    FOR EACH ROW EXECUTE FUNCTION review_likes_count();
