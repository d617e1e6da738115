DROP FUNCTION member_activity(bigint, timestamptz, bigint, bigint);
DROP FUNCTION activity_feed(bigint, timestamptz, bigint, bigint);
