DROP INDEX oauth_device_codes_pending;
ALTER TABLE oauth_device_codes DROP COLUMN network;
