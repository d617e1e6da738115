-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
--
-- A member's notifications as they read them: grouped ("amara and 12 others liked your review"),
-- leaving out actors on either side of a block with them, actors they mute, suspended actors, and
-- comments a moderator removed. One group per kind and subject, read and unread apart (a new like
-- after the list was read is news again); a mention stands alone.
DROP FUNCTION IF EXISTS notification_groups(bigint);

CREATE FUNCTION notification_groups(recipient bigint)
RETURNS TABLE (kind text, log_entry_id bigint, list_id bigint, comment_id bigint,
               list_comment_id bigint, webhook_id bigint, read boolean, latest_at timestamptz,
               latest_id bigint, actor_count bigint, recent_actors bigint[])
LANGUAGE sql STABLE
AS $fn$
    WITH shown AS (
        SELECT n.*, n.created_at <= m.notifications_read_at AS read,
               CASE WHEN n.kind IN ('mention', 'webhook_disabled') THEN n.id ELSE 0 END AS alone
        FROM notifications n
        JOIN members m ON m.id = n.recipient_id
        WHERE n.recipient_id = recipient
          -- (A sub-select: hidden_from runs once for the statement, not once per row.)
          AND (n.actor_id IS NULL OR NOT (n.actor_id = ANY ((SELECT hidden_from(recipient))::bigint[])))
          AND NOT EXISTS (SELECT 1 FROM mutes u WHERE u.muter_id = recipient AND u.muted_id = n.actor_id)
          AND NOT EXISTS (SELECT 1 FROM comments c
                          WHERE c.id = n.comment_id AND c.removed_at IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM list_comments c
                          WHERE c.id = n.list_comment_id AND c.removed_at IS NOT NULL)
    )
    SELECT s.kind, nullif(s.e, 0), nullif(s.l, 0), s.comment_id, s.list_comment_id, s.webhook_id,
           s.read,
           s.latest_at, s.latest_id, s.actor_count, s.recent_actors
    FROM (
        SELECT kind, coalesce(log_entry_id, 0) AS e, coalesce(list_id, 0) AS l, alone, read,
               max(comment_id) AS comment_id, max(list_comment_id) AS list_comment_id,
               max(webhook_endpoint_id) AS webhook_id,
               max(created_at) AS latest_at, max(id) AS latest_id,
               count(DISTINCT actor_id) AS actor_count,
               (array_agg(actor_id ORDER BY id DESC) FILTER (WHERE actor_id IS NOT NULL))[1:12]
                   AS recent_actors
        FROM shown
        GROUP BY kind, e, l, alone, read
    ) s
$fn$;

-- Live events (GET /me/events): a new notification wakes the streams of its recipient on every API
-- instance by a NOTIFY on `filmlog_events` whose payload is only the recipient's id (the streams
-- read what is new themselves). It is sent by the code that wrote it, after the request
-- (notifications::collect_wakes), never from here: a NOTIFY in the writing transaction holds the
-- cluster's one notification-queue lock through its commit's WAL flush.
-- (notifications_wake was this trigger's name when it sent that NOTIFY.)
DROP FUNCTION IF EXISTS notifications_wake() CASCADE;

-- The webhook outbox of a new notification, in the same transaction.
DROP FUNCTION IF EXISTS notifications_outbox() CASCADE;

CREATE FUNCTION notifications_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.owner_id = NEW.recipient_id AND e.enabled) THEN
        INSERT INTO webhook_deliveries (endpoint_id, event_type, payload)
        SELECT e.id, 'notification.created', jsonb_build_object(
                   'type', 'notification.created', 'timestamp', NEW.created_at, 'data',
                   jsonb_build_object('id', NEW.id::text, 'kind', NEW.kind,
                       'actor', (SELECT a.username FROM members a WHERE a.id = NEW.actor_id),
                       'log_entry', NEW.log_entry_id::text, 'list', NEW.list_id::text,
                       'comment', coalesce(NEW.comment_id, NEW.list_comment_id)::text))
        FROM webhook_endpoints e
        WHERE e.owner_id = NEW.recipient_id AND e.enabled
          AND ('notification' = ANY (e.events) OR '*' = ANY (e.events));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notifications_outbox AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_outbox();

-- Writes what `actor` did to each recipient (`recipients[i]` told of `kinds[i]`) about the entry,
-- list, comment or list comment given, applying each recipient's own settings (a kind turned off,
-- a mute of the actor, a block either way) and never twice for one cause; how many were written.
-- A function so that its statement keeps one generic plan per session: prepared on its own,
-- PostgreSQL planned it again on every call (0.12 ms of a review like, `make bench-ab --statements`).
DROP FUNCTION IF EXISTS notify_members(bigint, bigint[], text[], bigint, bigint, bigint, bigint);

CREATE FUNCTION notify_members(actor bigint, recipients bigint[], kinds text[], entry bigint,
                               list bigint, comment bigint, list_comment bigint) RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    written integer;
BEGIN
    INSERT INTO notifications (recipient_id, actor_id, kind, log_entry_id, list_id, comment_id,
                               list_comment_id)
    SELECT r.id, actor, r.kind, entry, list, comment, list_comment
    FROM unnest(recipients, kinds) AS r(id, kind)
    JOIN members m ON m.id = r.id
    WHERE r.id <> actor
      AND NOT (r.kind = ANY (m.notifications_off))
      AND NOT EXISTS (SELECT 1 FROM mutes u WHERE u.muter_id = r.id AND u.muted_id = actor)
      AND NOT EXISTS (SELECT 1 FROM blocks b
                      WHERE (b.blocker_id = r.id AND b.blocked_id = actor)
                         OR (b.blocker_id = actor AND b.blocked_id = r.id))
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$fn$;
