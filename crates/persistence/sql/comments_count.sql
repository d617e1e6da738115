-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
DROP FUNCTION IF EXISTS comments_count() CASCADE;

CREATE FUNCTION comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE log_entries SET comment_count = comment_count + 1 WHERE id = NEW.log_entry_id;
    ELSE
        UPDATE log_entries SET comment_count = comment_count - 1 WHERE id = OLD.log_entry_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER comments_count AFTER INSERT OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count();
