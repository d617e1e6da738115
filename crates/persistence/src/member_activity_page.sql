-- $1 actor, ($2, $3) the page starts after this (created_at, id), $4 limit.
WITH page AS (
    SELECT x.id, x.created_at
    FROM activities x
    WHERE x.actor_id = $1
      AND (x.created_at, x.id) < ($2, $3)
    ORDER BY x.created_at DESC, x.id DESC
    LIMIT $4
)
