-- The network (IPv4 /24, IPv6 /48) a device authorization was started from: waiting ones are
-- capped per app and network, so no one network can fill an app's table or block its devices.
ALTER TABLE oauth_device_codes ADD COLUMN network text;
CREATE INDEX oauth_device_codes_pending ON oauth_device_codes (app_id, network) WHERE decision IS NULL;
