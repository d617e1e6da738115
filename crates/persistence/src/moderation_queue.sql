-- The moderation queue: reported subjects with reports in status $1, the longest waiting first,
-- keyed on (first report, subject type, subject id) after ($2, $3, $4) (from the start when $2 is
-- null), at most $5; with the
-- subject's owner and the start of its text (none once the subject is gone).
WITH grouped AS (
    SELECT r.subject_type, r.subject_id, count(DISTINCT r.reporter_id) AS reporters,
           array_agg(DISTINCT r.reason ORDER BY r.reason) AS reasons,
           min(r.created_at) AS first_reported_at, max(r.created_at) AS last_reported_at
    FROM reports r
    WHERE r.status = $1
    GROUP BY r.subject_type, r.subject_id
)
SELECT g.subject_type, g.subject_id, g.reporters, g.reasons, g.first_reported_at, g.last_reported_at,
       CASE g.subject_type WHEN 'review' THEN rm.username WHEN 'comment' THEN cm.username
                           WHEN 'list' THEN lm.username WHEN 'list_comment' THEN lcm.username
                           ELSE mm.username END
           AS owner_username,
       CASE g.subject_type WHEN 'review' THEN left(le.review_text, 280) WHEN 'comment' THEN left(c.body, 280)
                           WHEN 'list' THEN left(li.name || coalesce(E'\n' || li.description, ''), 280)
                           WHEN 'list_comment' THEN left(lc.body, 280) END
           AS excerpt
FROM grouped g
LEFT JOIN log_entries le ON g.subject_type = 'review' AND le.id = g.subject_id
LEFT JOIN members rm ON rm.id = le.member_id
LEFT JOIN comments c ON g.subject_type = 'comment' AND c.id = g.subject_id
LEFT JOIN members cm ON cm.id = c.author_id
LEFT JOIN members mm ON g.subject_type = 'member' AND mm.id = g.subject_id
LEFT JOIN lists li ON g.subject_type = 'list' AND li.id = g.subject_id
LEFT JOIN members lm ON lm.id = li.owner_id
LEFT JOIN list_comments lc ON g.subject_type = 'list_comment' AND lc.id = g.subject_id
LEFT JOIN members lcm ON lcm.id = lc.author_id
WHERE $2::timestamptz IS NULL OR (g.first_reported_at, g.subject_type, g.subject_id) > ($2, $3, $4)
ORDER BY g.first_reported_at, g.subject_type, g.subject_id
LIMIT $5
