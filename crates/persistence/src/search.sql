-- Film search: one page of matches from film_search() (crates/persistence/sql/film_search.sql, where
-- the matching and ranking live and the parameters are described), each with its film and statistics
-- by primary key, in the function's order.
SELECT f.*, s.*,
       s.watch_count::bigint AS key_count,
       COALESCE(s.rating_sum::float8 / NULLIF(s.rating_count, 0), -1) AS key_average,
       COALESCE(f.release_date, DATE '0001-01-01') AS key_date,
       lower(f.title) AS key_text,
       r.rank,
       v.watched AS viewer_watched, v.liked AS viewer_liked,
       v.in_watchlist AS viewer_in_watchlist, v.rating AS viewer_rating
FROM film_search($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) WITH ORDINALITY AS r(id, rank, n)
JOIN films f ON f.id = r.id
JOIN film_stats s ON s.film_id = f.id
-- The reader's relationship with each film ($11: the reader's id, 0 for nobody).
LEFT JOIN member_films v ON v.member_id = $11 AND v.film_id = f.id
ORDER BY r.n
