-- The catalog, the member–film relationship, log entries, likes, comments, follows and activity.
--
-- Every counter is maintained by a trigger in the same transaction as the write that changes it, so
-- no code path (cascading deletes included) can leave a counter behind its base table.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE films (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            TEXT NOT NULL CONSTRAINT films_slug_key UNIQUE
                    CONSTRAINT films_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 160),
    title           TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 300),
    original_title  TEXT CHECK (char_length(original_title) BETWEEN 1 AND 300),
    year            INTEGER CHECK (year BETWEEN 1870 AND 2100),
    release_date    DATE,
    runtime_minutes INTEGER CHECK (runtime_minutes BETWEEN 1 AND 1500),
    synopsis        TEXT CHECK (char_length(synopsis) <= 5000),
    poster_url      TEXT CHECK (char_length(poster_url) <= 500),
    genres          TEXT[] NOT NULL DEFAULT '{}',
    countries       TEXT[] NOT NULL DEFAULT '{}',
    languages       TEXT[] NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Contains and fuzzy search (LIKE '%x%', %) on the lowered title.
CREATE INDEX films_title_trgm_idx ON films USING gin (lower(title) gin_trgm_ops);
-- Prefix search as a range on the lowered title in byte order (a btree under a non-C collation is not
-- used for LIKE 'x%'), and the title sort.
CREATE INDEX films_title_lower_idx ON films ((lower(title) COLLATE "C"), id);
CREATE INDEX films_release_idx ON films (release_date DESC NULLS LAST, id DESC);
CREATE INDEX films_year_idx ON films (year, id);
CREATE INDEX films_genres_idx ON films USING gin (genres);

CREATE TABLE people (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200)
);
CREATE UNIQUE INDEX people_name_key ON people (name);

CREATE TABLE film_credits (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    film_id       BIGINT NOT NULL REFERENCES films (id) ON DELETE CASCADE,
    person_id     BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('director', 'cast')),
    character     TEXT CHECK (char_length(character) <= 200),
    billing_order INTEGER NOT NULL DEFAULT 0 CHECK (billing_order >= 0),
    CONSTRAINT film_credits_unique UNIQUE (film_id, role, person_id)
);
CREATE INDEX film_credits_person_idx ON film_credits (person_id);

-- One row per film, created with it.
CREATE TABLE film_stats (
    film_id      BIGINT PRIMARY KEY REFERENCES films (id) ON DELETE CASCADE,
    watch_count  INTEGER NOT NULL DEFAULT 0 CHECK (watch_count >= 0),
    like_count   INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    rating_count INTEGER NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum   BIGINT  NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    review_count INTEGER NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    -- Members whose current rating is n half stars, n = 1..10.
    r1 INTEGER NOT NULL DEFAULT 0 CHECK (r1 >= 0), r2 INTEGER NOT NULL DEFAULT 0 CHECK (r2 >= 0),
    r3 INTEGER NOT NULL DEFAULT 0 CHECK (r3 >= 0), r4 INTEGER NOT NULL DEFAULT 0 CHECK (r4 >= 0),
    r5 INTEGER NOT NULL DEFAULT 0 CHECK (r5 >= 0), r6 INTEGER NOT NULL DEFAULT 0 CHECK (r6 >= 0),
    r7 INTEGER NOT NULL DEFAULT 0 CHECK (r7 >= 0), r8 INTEGER NOT NULL DEFAULT 0 CHECK (r8 >= 0),
    r9 INTEGER NOT NULL DEFAULT 0 CHECK (r9 >= 0), r10 INTEGER NOT NULL DEFAULT 0 CHECK (r10 >= 0)
);
CREATE INDEX film_stats_popular_idx ON film_stats (watch_count DESC, film_id DESC);

CREATE FUNCTION film_stats_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO film_stats (film_id) VALUES (NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER films_stats_row AFTER INSERT ON films FOR EACH ROW EXECUTE FUNCTION film_stats_create();

ALTER TABLE members
    ADD COLUMN follower_count  INTEGER NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    ADD COLUMN following_count INTEGER NOT NULL DEFAULT 0 CHECK (following_count >= 0);

-- The current state of one member with one film.
CREATE TABLE member_films (
    member_id      BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    film_id        BIGINT NOT NULL REFERENCES films (id) ON DELETE CASCADE,
    watched        BOOLEAN NOT NULL DEFAULT false,
    liked          BOOLEAN NOT NULL DEFAULT false,
    in_watchlist   BOOLEAN NOT NULL DEFAULT false,
    rating         SMALLINT CHECK (rating BETWEEN 1 AND 10),
    liked_at       TIMESTAMPTZ,
    watchlisted_at TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, film_id),
    CONSTRAINT member_films_rating_implies_watched CHECK (rating IS NULL OR watched)
);
CREATE INDEX member_films_film_idx ON member_films (film_id);
CREATE INDEX member_films_likes_idx ON member_films (member_id, liked_at DESC, film_id DESC) WHERE liked;
CREATE INDEX member_films_watchlist_idx ON member_films (member_id, watchlisted_at DESC, film_id DESC) WHERE in_watchlist;

-- Applies the difference between OLD and NEW relationship rows to the film's statistics.
CREATE FUNCTION member_films_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o member_films;
    n member_films;
    fid BIGINT;
BEGIN
    IF TG_OP <> 'INSERT' THEN o := OLD; END IF;
    IF TG_OP <> 'DELETE' THEN n := NEW; END IF;
    fid := COALESCE(n.film_id, o.film_id);
    -- A missing row is the default state (nothing watched, liked or rated).
    IF COALESCE(o.watched, false) = COALESCE(n.watched, false) AND COALESCE(o.liked, false) = COALESCE(n.liked, false)
       AND o.rating IS NOT DISTINCT FROM n.rating THEN
        RETURN NULL;
    END IF;
    UPDATE film_stats SET
        watch_count  = watch_count  + (COALESCE(n.watched, false)::int - COALESCE(o.watched, false)::int),
        like_count   = like_count   + (COALESCE(n.liked, false)::int - COALESCE(o.liked, false)::int),
        rating_count = rating_count + ((n.rating IS NOT NULL)::int - (o.rating IS NOT NULL)::int),
        rating_sum   = rating_sum   + (COALESCE(n.rating, 0) - COALESCE(o.rating, 0)),
        r1  = r1  + (n.rating IS NOT DISTINCT FROM 1)::int  - (o.rating IS NOT DISTINCT FROM 1)::int,
        r2  = r2  + (n.rating IS NOT DISTINCT FROM 2)::int  - (o.rating IS NOT DISTINCT FROM 2)::int,
        r3  = r3  + (n.rating IS NOT DISTINCT FROM 3)::int  - (o.rating IS NOT DISTINCT FROM 3)::int,
        r4  = r4  + (n.rating IS NOT DISTINCT FROM 4)::int  - (o.rating IS NOT DISTINCT FROM 4)::int,
        r5  = r5  + (n.rating IS NOT DISTINCT FROM 5)::int  - (o.rating IS NOT DISTINCT FROM 5)::int,
        r6  = r6  + (n.rating IS NOT DISTINCT FROM 6)::int  - (o.rating IS NOT DISTINCT FROM 6)::int,
        r7  = r7  + (n.rating IS NOT DISTINCT FROM 7)::int  - (o.rating IS NOT DISTINCT FROM 7)::int,
        r8  = r8  + (n.rating IS NOT DISTINCT FROM 8)::int  - (o.rating IS NOT DISTINCT FROM 8)::int,
        r9  = r9  + (n.rating IS NOT DISTINCT FROM 9)::int  - (o.rating IS NOT DISTINCT FROM 9)::int,
        r10 = r10 + (n.rating IS NOT DISTINCT FROM 10)::int - (o.rating IS NOT DISTINCT FROM 10)::int
    WHERE film_id = fid;
    RETURN NULL;
END $$;
CREATE TRIGGER member_films_stats AFTER INSERT OR UPDATE OR DELETE ON member_films
    FOR EACH ROW EXECUTE FUNCTION member_films_stats();

-- One viewing and/or review of a film by a member.
CREATE TABLE log_entries (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id         BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    film_id           BIGINT NOT NULL REFERENCES films (id) ON DELETE CASCADE,
    watched_on        DATE,
    rewatch           BOOLEAN NOT NULL DEFAULT false,
    rating            SMALLINT CHECK (rating BETWEEN 1 AND 10),
    liked             BOOLEAN NOT NULL DEFAULT false,
    review_text       TEXT CHECK (char_length(review_text) BETWEEN 1 AND 100000),
    contains_spoilers BOOLEAN NOT NULL DEFAULT false,
    tags              TEXT[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    like_count        INTEGER NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    comment_count     INTEGER NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT log_entries_date_or_review CHECK (watched_on IS NOT NULL OR review_text IS NOT NULL)
);
CREATE INDEX log_entries_member_film_idx ON log_entries (member_id, film_id);
CREATE INDEX log_entries_diary_idx ON log_entries (member_id, watched_on DESC, id DESC) WHERE watched_on IS NOT NULL;
CREATE INDEX log_entries_member_reviews_idx ON log_entries (member_id, created_at DESC, id DESC) WHERE review_text IS NOT NULL;
CREATE INDEX log_entries_popular_idx ON log_entries (film_id, like_count DESC, id DESC) WHERE review_text IS NOT NULL;
CREATE INDEX log_entries_recent_idx ON log_entries (film_id, created_at DESC, id DESC) WHERE review_text IS NOT NULL;

CREATE FUNCTION log_entries_review_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta INTEGER := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.review_text IS NOT NULL THEN delta := delta - 1; END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.review_text IS NOT NULL THEN delta := delta + 1; END IF;
    IF delta <> 0 THEN
        UPDATE film_stats SET review_count = review_count + delta
        WHERE film_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.film_id ELSE NEW.film_id END;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER log_entries_review_count AFTER INSERT OR UPDATE OF review_text OR DELETE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_review_count();

CREATE TABLE review_likes (
    log_entry_id BIGINT NOT NULL REFERENCES log_entries (id) ON DELETE CASCADE,
    member_id    BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (log_entry_id, member_id)
);
CREATE INDEX review_likes_list_idx ON review_likes (log_entry_id, created_at DESC, member_id DESC);
CREATE INDEX review_likes_member_idx ON review_likes (member_id);

CREATE FUNCTION review_likes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE log_entries SET like_count = like_count + 1 WHERE id = NEW.log_entry_id;
    ELSE
        UPDATE log_entries SET like_count = like_count - 1 WHERE id = OLD.log_entry_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER review_likes_count AFTER INSERT OR DELETE ON review_likes
    FOR EACH ROW EXECUTE FUNCTION review_likes_count();

CREATE TABLE comments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    log_entry_id BIGINT NOT NULL REFERENCES log_entries (id) ON DELETE CASCADE,
    author_id    BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    body         TEXT NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX comments_thread_idx ON comments (log_entry_id, created_at, id);
CREATE INDEX comments_author_idx ON comments (author_id);

CREATE FUNCTION comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE log_entries SET comment_count = comment_count + 1 WHERE id = NEW.log_entry_id;
    ELSE
        UPDATE log_entries SET comment_count = comment_count - 1 WHERE id = OLD.log_entry_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER comments_count AFTER INSERT OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count();

CREATE TABLE follows (
    follower_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_following_idx ON follows (follower_id, created_at DESC, followee_id DESC);
CREATE INDEX follows_followers_idx ON follows (followee_id, created_at DESC, follower_id DESC);

-- One UPDATE for both members, so the two rows are always locked in the same (index) order: A
-- following B while B follows A cannot deadlock.
CREATE FUNCTION follows_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f BIGINT;
    e BIGINT;
    d INTEGER;
BEGIN
    IF TG_OP = 'INSERT' THEN f := NEW.follower_id; e := NEW.followee_id; d := 1;
    ELSE f := OLD.follower_id; e := OLD.followee_id; d := -1;
    END IF;
    UPDATE members SET
        following_count = following_count + CASE WHEN id = f THEN d ELSE 0 END,
        follower_count  = follower_count  + CASE WHEN id = e THEN d ELSE 0 END
    WHERE id IN (f, e);
    RETURN NULL;
END $$;
CREATE TRIGGER follows_count AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION follows_count();

-- What members did, for feeds. Rows go with what they describe (ON DELETE CASCADE).
CREATE TABLE activities (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id          BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('diary_entry', 'review', 'rating', 'film_like',
                                                    'review_like', 'comment', 'follow', 'watchlist')),
    film_id           BIGINT REFERENCES films (id) ON DELETE CASCADE,
    log_entry_id      BIGINT REFERENCES log_entries (id) ON DELETE CASCADE,
    comment_id        BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    subject_member_id BIGINT REFERENCES members (id) ON DELETE CASCADE,
    rating            SMALLINT CHECK (rating BETWEEN 1 AND 10),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX activities_actor_idx ON activities (actor_id, created_at DESC, id DESC);
CREATE INDEX activities_log_entry_idx ON activities (log_entry_id) WHERE log_entry_id IS NOT NULL;
CREATE INDEX activities_comment_idx ON activities (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX activities_film_idx ON activities (film_id) WHERE film_id IS NOT NULL;
CREATE INDEX activities_subject_idx ON activities (subject_member_id) WHERE subject_member_id IS NOT NULL;
