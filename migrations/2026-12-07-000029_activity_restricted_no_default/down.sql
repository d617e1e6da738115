ALTER TABLE activities ALTER COLUMN restricted SET DEFAULT false;
