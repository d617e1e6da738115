-- Film search. $1 lowered query, $2 the same LIKE-escaped, [$3, $4) its prefix range,
-- $5 year, $6 decade, $7 genre, ($8, $9) the (rank, id) the page starts after, $10 limit.
--
-- One pass over films: the three match conditions are ORed so the planner combines a bitmap of the
-- byte-order title index (prefix range) with bitmaps of the trigram index (contains, similar).
-- rank = 2 for a prefix match, else 1 for a substring match, else 0; plus trigram similarity (0..1)
-- and a popularity tie-breaker below 0.001, so one number orders the results and pages by (rank, id).
SELECT * FROM (
    SELECT f.*, s.*,
           s.watch_count::bigint AS key_count,
           COALESCE(s.rating_sum::float8 / NULLIF(s.rating_count, 0), -1) AS key_average,
           COALESCE(f.release_date, DATE '0001-01-01') AS key_date,
           lower(f.title) AS key_text,
           (CASE WHEN lower(f.title) COLLATE "C" >= $3 AND lower(f.title) COLLATE "C" < $4 THEN 2
                 WHEN lower(f.title) LIKE '%' || $2 || '%' THEN 1 ELSE 0 END)
             + similarity(lower(f.title), $1)
             + least(s.watch_count, 999999)::float8 / 1e9 AS rank
    FROM films f
    -- Statistics by primary key for the matching films only. (As a plain join the planner, expecting
    -- ~500 matches, hashed all of film_stats instead: a sequential scan of 50,000 rows, 16 of the 26 ms
    -- of a search on the medium data; OFFSET 0 keeps the subquery from being flattened into that join.)
    CROSS JOIN LATERAL (SELECT * FROM film_stats s0 WHERE s0.film_id = f.id OFFSET 0) s
    WHERE ((lower(f.title) COLLATE "C" >= $3 AND lower(f.title) COLLATE "C" < $4)
           OR lower(f.title) LIKE '%' || $2 || '%'
           OR lower(f.title) % $1)
      AND ($5::int IS NULL OR f.year = $5)
      AND ($6::int IS NULL OR f.year BETWEEN $6 AND $6 + 9)
      AND ($7::text IS NULL OR f.genres @> ARRAY[$7::text])
) ranked
WHERE (rank, id) < ($8, $9)
ORDER BY rank DESC, id DESC
LIMIT $10
