-- activities.restricted loses its default: an insert that does not set the flag leaves it NULL for
-- the BEFORE INSERT trigger (sql/activities_restricted.sql) to compute, and one that sets it (logging
-- a film: the entry and its activity in one statement) is taken at its word, without the trigger's
-- query. NOT NULL stays, checked after the trigger.
ALTER TABLE activities ALTER COLUMN restricted DROP DEFAULT;
