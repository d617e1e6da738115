DROP TABLE list_subscriptions;
DROP TABLE entry_subscriptions;
ALTER TABLE members DROP COLUMN notifications_off, DROP COLUMN notifications_read_at;
DROP TABLE notifications;
