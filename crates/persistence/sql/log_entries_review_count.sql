-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
DROP FUNCTION IF EXISTS log_entries_review_count() CASCADE;

CREATE FUNCTION log_entries_review_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta INTEGER := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.review_text IS NOT NULL THEN delta := delta - 1; END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.review_text IS NOT NULL THEN delta := delta + 1; END IF;
    IF delta <> 0 THEN
        UPDATE film_stats SET review_count = review_count + delta
        WHERE film_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.film_id ELSE NEW.film_id END;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER log_entries_review_count AFTER INSERT OR UPDATE OF review_text OR DELETE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_review_count();
