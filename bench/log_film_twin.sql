-- SQL twin of POST /log-entries (rating and review) doing the same work in one statement, as the
-- API's fast path does (crates/persistence/src/log_entries.rs, LOG_FILM_SQL): the relationship upsert,
-- the watchlist activity retracted when the film was in the watchlist, the log entry and its activity
-- (the same triggers keep the same counters). :m member, :f film.
WITH old AS (
    SELECT in_watchlist FROM member_films WHERE member_id = :m AND film_id = :f
), rel AS (
    INSERT INTO member_films (member_id, film_id, watched, liked, liked_at, rating, updated_at)
    VALUES (:m, :f, true, false, NULL, 8, now())
    ON CONFLICT (member_id, film_id) DO UPDATE
    SET watched = true, in_watchlist = false, watchlisted_at = NULL,
        liked = member_films.liked OR excluded.liked,
        liked_at = CASE WHEN member_films.liked THEN member_films.liked_at ELSE excluded.liked_at END,
        rating = COALESCE(excluded.rating, member_films.rating), updated_at = excluded.updated_at
    RETURNING member_films.liked
), unlisted AS (
    DELETE FROM activities a
    WHERE a.actor_id = :m AND a.kind = 'watchlist' AND a.film_id = :f
      AND EXISTS (SELECT 1 FROM old WHERE old.in_watchlist)
), entry AS (
    INSERT INTO log_entries (member_id, film_id, watched_on, rating, review_text)
    VALUES (:m, :f, DATE '2026-11-01', 8, 'REVIEW_TEXT')
    RETURNING id, visibility
)
INSERT INTO activities (actor_id, kind, film_id, log_entry_id, rating, restricted)
SELECT :m, 'review', :f, entry.id, 8,
       restricted(entry.visibility, (SELECT m.private_account FROM members m WHERE m.id = :m))
FROM entry, rel;
