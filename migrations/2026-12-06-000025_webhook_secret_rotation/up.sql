-- A rotated webhook secret keeps signing beside the new one for a day, so a receiver can switch
-- without losing deliveries (security review L5). Secrets are stored sealed (AES-256-GCM under a
-- key derived from the server's secret) from now on; ones stored before stay readable until rotated.
ALTER TABLE webhook_endpoints
    ADD COLUMN previous_secret text,
    ADD COLUMN previous_secret_until timestamptz;
