DELETE FROM notifications WHERE kind = 'webhook_disabled' OR actor_id IS NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('follow',
    'follow_request', 'follow_approved', 'review_like', 'list_like', 'review_comment',
    'list_comment', 'reply', 'mention'));
ALTER TABLE notifications DROP COLUMN webhook_endpoint_id;
ALTER TABLE notifications ALTER COLUMN actor_id SET NOT NULL;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
