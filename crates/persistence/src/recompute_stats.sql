-- One film's statistics recomputed from the base tables (the maintained row must equal this).
SELECT $1::bigint AS film_id,
       count(*) FILTER (WHERE mf.watched)::int AS watch_count,
       count(*) FILTER (WHERE mf.liked)::int AS like_count,
       count(mf.rating)::int AS rating_count,
       COALESCE(sum(mf.rating), 0)::bigint AS rating_sum,
       (SELECT count(*) FROM log_entries le WHERE le.film_id = $1 AND le.review_text IS NOT NULL)::int AS review_count,
       count(*) FILTER (WHERE mf.rating = 1)::int AS r1,
       count(*) FILTER (WHERE mf.rating = 2)::int AS r2,
       count(*) FILTER (WHERE mf.rating = 3)::int AS r3,
       count(*) FILTER (WHERE mf.rating = 4)::int AS r4,
       count(*) FILTER (WHERE mf.rating = 5)::int AS r5,
       count(*) FILTER (WHERE mf.rating = 6)::int AS r6,
       count(*) FILTER (WHERE mf.rating = 7)::int AS r7,
       count(*) FILTER (WHERE mf.rating = 8)::int AS r8,
       count(*) FILTER (WHERE mf.rating = 9)::int AS r9,
       count(*) FILTER (WHERE mf.rating = 10)::int AS r10
FROM member_films mf
WHERE mf.film_id = $1
