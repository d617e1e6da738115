-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
DROP FUNCTION IF EXISTS film_stats_create() CASCADE;

CREATE FUNCTION film_stats_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO film_stats (film_id) VALUES (NEW.id);
    RETURN NEW;
END $$;

CREATE TRIGGER films_stats_row AFTER INSERT ON films FOR EACH ROW EXECUTE FUNCTION film_stats_create();
