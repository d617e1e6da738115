-- People with stable slugs, credits with a job, the Wikipedia page as an external id, each film's
-- sources, and the folded search key every search index is built on.

CREATE EXTENSION IF NOT EXISTS unaccent;

-- The search key of a text: accents folded (unaccent's own rules), lowered, apostrophes dropped
-- ("Ocean's" = "oceans") and every other run of non-alphanumerics one space ("Wong Kar-wai" =
-- "wong kar wai"). unaccent() is STABLE because its dictionary could be swapped; naming the
-- dictionary here fixes it, so the key can be IMMUTABLE and indexed. A SQL-standard body is inlined.
CREATE FUNCTION search_key(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN btrim(regexp_replace(
    regexp_replace(lower(unaccent('unaccent'::regdictionary, t)), '[''’`]', '', 'g'),
    '[^[:alnum:]]+', ' ', 'g'));

-- How well a folded query matches a folded title or name (0–1): mostly the best match of its
-- words within the key (a typo costs a little), partly the whole key's likeness (so "the godfather"
-- beats "disco godfather" for "godfater"). The domain's search::text_score mirrors it (members'
-- and lists' names are ranked in Rust).
CREATE FUNCTION search_score(q text, k text) RETURNS real
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN 0.6 * word_similarity(q, k) + 0.4 * similarity(k, q);

-- People: a slug that never changes (two people with one name are two slugs), names no longer unique.
ALTER TABLE people ADD COLUMN slug text, ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
WITH named AS (
    -- As the importer's slugs (domain Slug::from_title): apostrophes dropped ("peter-otoole").
    SELECT id, rtrim(left(coalesce(nullif(btrim(regexp_replace(
                   regexp_replace(lower(unaccent(name)), '[''’`]', '', 'g'), '[^a-z0-9]+', '-', 'g'), '-'), ''),
                 'person'), 150), '-') AS base
    FROM people
), numbered AS (
    SELECT id, base, row_number() OVER (PARTITION BY base ORDER BY id) AS n FROM named
)
UPDATE people p SET slug = CASE WHEN n = 1 THEN base ELSE base || '-' || n END
FROM numbered WHERE numbered.id = p.id;
ALTER TABLE people
    ALTER COLUMN slug SET NOT NULL,
    ADD CONSTRAINT people_slug_key UNIQUE (slug),
    ADD CONSTRAINT people_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 160);
DROP INDEX people_name_key;

-- The slug a new person of this name gets: the name folded to a slug, then -2, -3, … past the
-- slugs taken.
CREATE FUNCTION free_person_slug(name text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    base text := rtrim(left(coalesce(nullif(btrim(regexp_replace(
                     regexp_replace(lower(unaccent(name)), '[''’`]', '', 'g'), '[^a-z0-9]+', '-', 'g'), '-'), ''),
                 'person'), 150), '-');
    candidate text := base;
    n int := 1;
BEGIN
    WHILE EXISTS (SELECT 1 FROM people WHERE slug = candidate) LOOP
        n := n + 1;
        candidate := base || '-' || n;
    END LOOP;
    RETURN candidate;
END $$;
CREATE INDEX people_name_idx ON people (name, id);
CREATE INDEX people_search_idx ON people USING gin (search_key(name) gin_trgm_ops);

-- Cast and crew: a crew credit's role is its job.
ALTER TABLE film_credits DROP CONSTRAINT film_credits_role_check;
ALTER TABLE film_credits ADD CONSTRAINT film_credits_role_check
    CHECK (role IN ('cast', 'director', 'writer', 'producer', 'composer', 'cinematographer', 'editor'));
-- A person's filmography, by role.
DROP INDEX film_credits_person_idx;
CREATE INDEX film_credits_person_idx ON film_credits (person_id, role, film_id);

-- The Wikipedia page a film has (its page name, "City_That_Never_Sleeps"), its other titles, and the
-- datasets it came from (attribution: 'vega-datasets', 'wikipedia').
ALTER TABLE films
    ADD COLUMN wikipedia_page text
        CONSTRAINT films_wikipedia_page_format CHECK (char_length(wikipedia_page) BETWEEN 1 AND 300
                                                      AND wikipedia_page !~ '[[:space:]#<>\[\]{}|]'),
    ADD COLUMN alternative_titles text[] NOT NULL DEFAULT '{}'
        CONSTRAINT films_alternative_titles_bound CHECK (cardinality(alternative_titles) <= 20),
    ADD COLUMN sources text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT films_wikipedia_page_key UNIQUE (wikipedia_page);

-- Every title a film is known by, folded, for search: kept by a trigger on the film's own columns
-- (catalog writes are rare; reads are not).
CREATE TABLE film_search_titles (
    film_id bigint NOT NULL REFERENCES films (id) ON DELETE CASCADE,
    key     text   NOT NULL,
    PRIMARY KEY (film_id, key)
);
CREATE INDEX film_search_titles_trgm_idx ON film_search_titles USING gin (key gin_trgm_ops);
CREATE INDEX film_search_titles_key_idx ON film_search_titles (key COLLATE "C", film_id);

CREATE FUNCTION film_search_titles_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.title IS NOT DISTINCT FROM OLD.title
       AND NEW.original_title IS NOT DISTINCT FROM OLD.original_title
       AND NEW.alternative_titles IS NOT DISTINCT FROM OLD.alternative_titles THEN
        RETURN NEW;
    END IF;
    DELETE FROM film_search_titles WHERE film_id = NEW.id;
    INSERT INTO film_search_titles (film_id, key)
    SELECT DISTINCT NEW.id, k
    FROM unnest(array[NEW.title, NEW.original_title] || NEW.alternative_titles) AS t,
         LATERAL search_key(t) AS k
    WHERE k <> ''
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER films_search_titles AFTER INSERT OR UPDATE ON films
    FOR EACH ROW EXECUTE FUNCTION film_search_titles_sync();
INSERT INTO film_search_titles (film_id, key)
SELECT DISTINCT f.id, k
FROM films f, unnest(array[f.title, f.original_title]) AS t, LATERAL search_key(t) AS k
WHERE k <> '';

-- Members by username and display name (one key: a function, so that a query names it exactly as
-- the index does), lists by name.
CREATE FUNCTION member_search_key(username text, display_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN search_key(username || ' ' || coalesce(display_name, ''));
CREATE INDEX members_search_idx ON members
    USING gin (member_search_key(username, display_name) gin_trgm_ops);
CREATE INDEX lists_search_idx ON lists USING gin (search_key(name) gin_trgm_ops);

-- What admins did to the catalog's people (merges and splits), append-only; the admin is kept by id
-- and name without a foreign key, so the log outlives their account.
CREATE TABLE catalog_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id       bigint NOT NULL,
    admin_username text   NOT NULL,
    action         text   NOT NULL CHECK (action IN ('merge_people', 'split_person')),
    detail         jsonb  NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION catalog_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'catalog_log is append-only';
END $$;
CREATE TRIGGER catalog_log_append_only BEFORE UPDATE OR DELETE ON catalog_log
    FOR EACH ROW EXECUTE FUNCTION catalog_log_append_only();
