ALTER TABLE webhook_endpoints
    DROP COLUMN previous_secret_until,
    DROP COLUMN previous_secret;
