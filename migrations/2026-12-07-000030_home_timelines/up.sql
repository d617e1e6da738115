-- The materialised home feed (issue 29, item 3). A member's home timeline holds the ids of their
-- followees' activity, newest first, written by a worker after the activity's transaction commits
-- (sql/home_feed.sql, jobs' `feed` worker); a page reads the timeline and applies every visibility
-- rule as it is at that moment. PostgreSQL rather than Redis: one machine needs nothing more, a
-- standby has the timelines, and the worker's claim and writes are one transaction, so a killed
-- worker loses nothing. 800 entries a timeline by default (40 pages of 20).

-- One row per materialised timeline: requested by the member's first read of their feed, built by
-- the worker (built_at), dropped when its member has not read it for a while. Entries are complete
-- from (floor_at, floor_id) up: below it a page is answered by the query over followees.
CREATE TABLE home_timelines (
    member_id bigint PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL DEFAULT now(),
    built_at timestamptz,
    read_at timestamptz NOT NULL DEFAULT now(),
    floor_at timestamptz NOT NULL DEFAULT '-infinity',
    floor_id bigint NOT NULL DEFAULT 0,
    trimmed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX home_timelines_unbuilt_idx ON home_timelines (requested_at) WHERE built_at IS NULL;

-- No foreign keys: the fan-out writes thousands of rows at a time, and a key check per row would
-- lock the member and activity rows. A deleted timeline takes its entries with it (a trigger), a
-- retracted activity drops out of the page's join, and the trim removes both.
CREATE TABLE home_timeline_entries (
    member_id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    activity_id bigint NOT NULL,
    actor_id bigint NOT NULL,
    PRIMARY KEY (member_id, created_at, activity_id)
);

-- The followees of each materialised timeline, by followee: whom the fan-out copies an author's
-- activity to, without reading all of the author's followers to find the few who read their feed.
-- Filled when a timeline is requested, kept by the follows trigger, emptied with the timeline.
CREATE TABLE home_timeline_followees (
    followee_id bigint NOT NULL,
    member_id bigint NOT NULL,
    PRIMARY KEY (followee_id, member_id)
);
CREATE INDEX home_timeline_followees_member_idx ON home_timeline_followees (member_id);

-- What the worker has to do, queued in the writing transaction (one small insert): an activity to
-- fan out (with its actor and time, so a page can merge what is still queued without reading the
-- activity), or a timeline to backfill with one author's activity (a new follow).
CREATE TABLE feed_work (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id bigint,
    actor_id bigint,
    created_at timestamptz,
    member_id bigint,
    author_id bigint,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT feed_work_one_thing CHECK (
        (activity_id IS NOT NULL AND actor_id IS NOT NULL AND created_at IS NOT NULL
         AND member_id IS NULL AND author_id IS NULL)
        OR (activity_id IS NULL AND actor_id IS NULL AND created_at IS NULL
            AND member_id IS NOT NULL AND author_id IS NOT NULL))
);
CREATE INDEX feed_work_member_idx ON feed_work (member_id) WHERE member_id IS NOT NULL;
-- A queue: rows live for milliseconds; vacuum it as soon as there is something to reclaim.
ALTER TABLE feed_work SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

-- Authors with at least the heavy threshold of followers: their activity is not copied into every
-- follower's timeline but merged in when a page is read. Kept by the feed's periodic job.
CREATE TABLE heavy_authors (
    member_id bigint PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE
);

-- The home feed's settings, one row; an operator (or a test) may change them: the followers that
-- make an author heavy, the entries a timeline keeps, the days unread after which it is dropped.
CREATE TABLE feed_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    heavy_followers integer NOT NULL DEFAULT 10000 CHECK (heavy_followers > 0),
    timeline_entries integer NOT NULL DEFAULT 800 CHECK (timeline_entries > 0),
    idle_days integer NOT NULL DEFAULT 14 CHECK (idle_days > 0)
);
INSERT INTO feed_settings DEFAULT VALUES;
