DROP TABLE member_changes;
DROP TABLE member_sync;
