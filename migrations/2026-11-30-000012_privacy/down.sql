DROP TABLE follow_requests;
ALTER TABLE log_entries DROP COLUMN visibility;
ALTER TABLE members DROP COLUMN default_visibility, DROP COLUMN private_watchlist, DROP COLUMN private_account;
