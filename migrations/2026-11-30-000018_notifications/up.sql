-- Notifications: one row per cause (an actor's like, follow, comment, mention …) and recipient,
-- written in the cause's transaction (crates/api/src/ops/notify.rs); the list groups them when it
-- is read. A cause's row goes with it (ON DELETE CASCADE); undoing a cause (an unlike, an unfollow)
-- deletes its row while unread.
CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    recipient_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    actor_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('follow', 'follow_request', 'follow_approved', 'review_like',
        'list_like', 'review_comment', 'list_comment', 'reply', 'mention')),
    log_entry_id bigint REFERENCES log_entries (id) ON DELETE CASCADE,
    list_id bigint REFERENCES lists (id) ON DELETE CASCADE,
    comment_id bigint REFERENCES comments (id) ON DELETE CASCADE,
    list_comment_id bigint REFERENCES list_comments (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (actor_id <> recipient_id)
);
-- A recipient's notifications, newest first (the list, the unread count, the live stream).
CREATE INDEX notifications_recipient_idx ON notifications (recipient_id, id DESC);
-- One notification per cause: liking, unliking and liking again while it is read tells no one twice.
CREATE UNIQUE INDEX notifications_cause_key ON notifications (recipient_id, kind, actor_id,
    coalesce(log_entry_id, 0), coalesce(list_id, 0), coalesce(comment_id, 0),
    coalesce(list_comment_id, 0));
-- Withdrawing by cause.
CREATE INDEX notifications_actor_idx ON notifications (actor_id, kind);

-- Everything at or before `notifications_read_at` is read (POST /me/notifications/read); the kinds
-- a member turned off.
ALTER TABLE members
    ADD COLUMN notifications_read_at timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN notifications_off text[] NOT NULL DEFAULT '{}';

-- Thread subscriptions (of a review's thread, of a list's): commenting subscribes unless the member
-- unsubscribed before; `subscribed = false` remembers an unsubscription, so commenting again does
-- not undo it.
CREATE TABLE entry_subscriptions (
    log_entry_id bigint NOT NULL REFERENCES log_entries (id) ON DELETE CASCADE,
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    subscribed boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_entry_id, member_id)
);
CREATE INDEX entry_subscriptions_member_idx ON entry_subscriptions (member_id);
CREATE TABLE list_subscriptions (
    list_id bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    subscribed boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, member_id)
);
CREATE INDEX list_subscriptions_member_idx ON list_subscriptions (member_id);
