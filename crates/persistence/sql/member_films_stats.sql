-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- Applies the difference between OLD and NEW relationship rows to the film's statistics.
DROP FUNCTION IF EXISTS member_films_stats() CASCADE;

CREATE FUNCTION member_films_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o member_films;
    n member_films;
    fid BIGINT;
BEGIN
    IF TG_OP <> 'INSERT' THEN o := OLD; END IF;
    IF TG_OP <> 'DELETE' THEN n := NEW; END IF;
    fid := COALESCE(n.film_id, o.film_id);
    -- A missing row is the default state (nothing watched, liked or rated).
    IF COALESCE(o.watched, false) = COALESCE(n.watched, false) AND COALESCE(o.liked, false) = COALESCE(n.liked, false)
       AND o.rating IS NOT DISTINCT FROM n.rating THEN
        RETURN NULL;
    END IF;
    UPDATE film_stats SET
        watch_count  = watch_count  + (COALESCE(n.watched, false)::int - COALESCE(o.watched, false)::int),
        like_count   = like_count   + (COALESCE(n.liked, false)::int - COALESCE(o.liked, false)::int),
        rating_count = rating_count + ((n.rating IS NOT NULL)::int - (o.rating IS NOT NULL)::int),
        rating_sum   = rating_sum   + (COALESCE(n.rating, 0) - COALESCE(o.rating, 0)),
        r1  = r1  + (n.rating IS NOT DISTINCT FROM 1)::int  - (o.rating IS NOT DISTINCT FROM 1)::int,
        r2  = r2  + (n.rating IS NOT DISTINCT FROM 2)::int  - (o.rating IS NOT DISTINCT FROM 2)::int,
        r3  = r3  + (n.rating IS NOT DISTINCT FROM 3)::int  - (o.rating IS NOT DISTINCT FROM 3)::int,
        r4  = r4  + (n.rating IS NOT DISTINCT FROM 4)::int  - (o.rating IS NOT DISTINCT FROM 4)::int,
        r5  = r5  + (n.rating IS NOT DISTINCT FROM 5)::int  - (o.rating IS NOT DISTINCT FROM 5)::int,
        r6  = r6  + (n.rating IS NOT DISTINCT FROM 6)::int  - (o.rating IS NOT DISTINCT FROM 6)::int,
        r7  = r7  + (n.rating IS NOT DISTINCT FROM 7)::int  - (o.rating IS NOT DISTINCT FROM 7)::int,
        r8  = r8  + (n.rating IS NOT DISTINCT FROM 8)::int  - (o.rating IS NOT DISTINCT FROM 8)::int,
        r9  = r9  + (n.rating IS NOT DISTINCT FROM 9)::int  - (o.rating IS NOT DISTINCT FROM 9)::int,
        r10 = r10 + (n.rating IS NOT DISTINCT FROM 10)::int - (o.rating IS NOT DISTINCT FROM 10)::int
    WHERE film_id = fid;
    RETURN NULL;
END $$;

CREATE TRIGGER member_films_stats AFTER INSERT OR UPDATE OR DELETE ON member_films
    FOR EACH ROW EXECUTE FUNCTION member_films_stats();
