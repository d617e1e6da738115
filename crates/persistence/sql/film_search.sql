-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- One page of film search matches, best first: ids and ranks (catalog.rs SEARCH_SQL joins the films
-- and their statistics). $1 lowered query, $2 the same LIKE-escaped, [$3, $4) its prefix range,
-- $5 year, $6 decade, $7 genre, ($8, $9) the (rank, id) the page starts after, $10 limit, $11 the
-- reader (0 for nobody: another member's imported, unverified films are not found, as
-- film_visible_to in visibility.sql says).
--
-- A function so that its plan is cached generically: as a prepared statement PostgreSQL kept choosing
-- custom plans, planning it again on every call (0.8 to 1.2 ms of a 5 ms search on the medium data);
-- the generic plan runs as fast (4.9 against 4.8 ms for "arbo", 26.8 against 25.1 ms for "the",
-- measured with EXPLAIN ANALYZE EXECUTE under each plan_cache_mode).
--
-- One pass over films: the three match conditions are ORed so the planner combines a bitmap of the
-- byte-order title index (prefix range) with bitmaps of the trigram index (contains, similar).
-- rank = 2 for a prefix match, else 1 for a substring match, else 0; plus trigram similarity (0..1)
-- and a popularity tie-breaker below 0.001, so one number orders the results and pages by (rank, id).
DROP FUNCTION IF EXISTS film_search(text, text, text, text, integer, integer, text, double precision, bigint, bigint);
DROP FUNCTION IF EXISTS film_search(text, text, text, text, integer, integer, text, double precision, bigint, bigint, bigint);

CREATE FUNCTION film_search(text, text, text, text, integer, integer, text, double precision, bigint, bigint, bigint)
RETURNS TABLE (id bigint, rank double precision)
LANGUAGE plpgsql STABLE
ROWS 20
SET plan_cache_mode = force_generic_plan
AS $fn$
BEGIN
    RETURN QUERY
    /* plan:search */
    SELECT ranked.film_id, ranked.film_rank FROM (
        SELECT f.id AS film_id,
               (CASE WHEN lower(f.title) COLLATE "C" >= $3 AND lower(f.title) COLLATE "C" < $4 THEN 2
                     WHEN lower(f.title) LIKE '%' || $2 || '%' THEN 1 ELSE 0 END)
                 + similarity(lower(f.title), $1)
                 + least(s.watch_count, 999999)::float8 / 1e9 AS film_rank
        FROM films f
        -- Statistics by primary key for the matching films only. (As a plain join the planner,
        -- expecting ~500 matches, hashed all of film_stats instead: a sequential scan of 50,000 rows,
        -- 16 of the 26 ms of a search on the medium data; OFFSET 0 keeps the subquery from being
        -- flattened into that join.)
        CROSS JOIN LATERAL (SELECT s0.watch_count FROM film_stats s0 WHERE s0.film_id = f.id OFFSET 0) s
        WHERE ((lower(f.title) COLLATE "C" >= $3 AND lower(f.title) COLLATE "C" < $4)
               OR lower(f.title) LIKE '%' || $2 || '%'
               OR lower(f.title) % $1)
          AND ($5::int IS NULL OR f.year = $5)
          AND ($6::int IS NULL OR f.year BETWEEN $6 AND $6 + 9)
          AND ($7::text IS NULL OR f.genres @> ARRAY[$7::text])
          AND film_visible_to($11, f.verified, f.added_by)
    ) ranked
    WHERE (ranked.film_rank, ranked.film_id) < ($8, $9)
    ORDER BY ranked.film_rank DESC, ranked.film_id DESC
    LIMIT $10
    /* end */;
END
$fn$;
