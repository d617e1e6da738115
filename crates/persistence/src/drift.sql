-- Every maintained counter against a recomputation from its base table. Returns the film ids (or, for
-- counters kept elsewhere, -1) of anything that drifted.
WITH film_truth AS (
    SELECT f.id AS film_id,
           count(mf.*) FILTER (WHERE mf.watched) AS watch_count,
           count(mf.*) FILTER (WHERE mf.liked) AS like_count,
           count(mf.rating) AS rating_count,
           COALESCE(sum(mf.rating), 0) AS rating_sum,
           array[count(*) FILTER (WHERE mf.rating = 1), count(*) FILTER (WHERE mf.rating = 2),
                 count(*) FILTER (WHERE mf.rating = 3), count(*) FILTER (WHERE mf.rating = 4),
                 count(*) FILTER (WHERE mf.rating = 5), count(*) FILTER (WHERE mf.rating = 6),
                 count(*) FILTER (WHERE mf.rating = 7), count(*) FILTER (WHERE mf.rating = 8),
                 count(*) FILTER (WHERE mf.rating = 9), count(*) FILTER (WHERE mf.rating = 10)] AS histogram
    FROM films f LEFT JOIN member_films mf ON mf.film_id = f.id
    GROUP BY f.id
), review_truth AS (
    SELECT f.id AS film_id, count(le.id) AS review_count
    FROM films f LEFT JOIN log_entries le ON le.film_id = f.id AND le.review_text IS NOT NULL
    GROUP BY f.id
)
SELECT s.film_id
FROM film_stats s
JOIN film_truth t ON t.film_id = s.film_id
JOIN review_truth r ON r.film_id = s.film_id
WHERE s.watch_count <> t.watch_count OR s.like_count <> t.like_count OR s.rating_count <> t.rating_count
   OR s.rating_sum <> t.rating_sum OR s.review_count <> r.review_count
   OR array[s.r1, s.r2, s.r3, s.r4, s.r5, s.r6, s.r7, s.r8, s.r9, s.r10]::bigint[] <> t.histogram
UNION ALL
SELECT -1 FROM log_entries le
WHERE le.like_count <> (SELECT count(*) FROM review_likes rl WHERE rl.log_entry_id = le.id)
   OR le.comment_count <> (SELECT count(*) FROM comments c WHERE c.log_entry_id = le.id)
UNION ALL
SELECT -2 FROM members m
WHERE m.follower_count <> (SELECT count(*) FROM follows f WHERE f.followee_id = m.id)
   OR m.following_count <> (SELECT count(*) FROM follows f WHERE f.follower_id = m.id)
UNION ALL
SELECT s.film_id FROM film_stats s
WHERE s.list_count <> (SELECT count(*) FROM list_entries e WHERE e.film_id = s.film_id)
UNION ALL
SELECT -3 FROM lists l
WHERE l.entry_count <> (SELECT count(*) FROM list_entries e WHERE e.list_id = l.id)
   OR l.like_count <> (SELECT count(*) FROM list_likes k WHERE k.list_id = l.id)
   OR l.comment_count <> (SELECT count(*) FROM list_comments c WHERE c.list_id = l.id)
UNION ALL
SELECT -4 FROM members m
WHERE m.list_count <> (SELECT count(*) FROM lists l WHERE l.owner_id = m.id)
