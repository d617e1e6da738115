ALTER TABLE webhook_deliveries
    DROP COLUMN deleted,
    DROP COLUMN object_id,
    DROP COLUMN object_type,
    DROP COLUMN member_id;
