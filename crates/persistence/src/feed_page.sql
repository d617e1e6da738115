-- $1 viewer, ($2, $3) the page starts after this (created_at, id), $4 limit.
-- Each followee contributes at most $4 of its newest activities (an index range scan on
-- activities_actor_idx), the union is cut to $4, and only those rows are joined to their details.
WITH page AS (
    SELECT a.id, a.created_at
    FROM follows f
    CROSS JOIN LATERAL (
        SELECT x.id, x.created_at
        FROM activities x
        WHERE x.actor_id = f.followee_id
          AND (x.created_at, x.id) < ($2, $3)
        ORDER BY x.created_at DESC, x.id DESC
        LIMIT $4
    ) a
    WHERE f.follower_id = $1
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT $4
)
