DROP TABLE feed_settings;
DROP TABLE heavy_authors;
DROP TABLE feed_work;
DROP TABLE home_timeline_followees;
DROP TABLE home_timeline_entries;
DROP TABLE home_timelines;
