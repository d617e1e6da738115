-- Lists of films: ranked or not, with notes per entry, a visibility like log entries', and counters
-- kept by triggers (sql/lists_count.sql): entries per list, lists per member, lists per film.
CREATE TABLE lists (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT lists_name_check CHECK (char_length(name) BETWEEN 1 AND 200),
    description text CONSTRAINT lists_description_check CHECK (char_length(description) <= 10000),
    ranked boolean NOT NULL DEFAULT false,
    visibility text NOT NULL DEFAULT 'public'
        CONSTRAINT lists_visibility_check CHECK (visibility IN ('public', 'followers', 'private')),
    tags text[] NOT NULL DEFAULT '{}',
    entry_count integer NOT NULL DEFAULT 0,
    like_count integer NOT NULL DEFAULT 0,
    comment_count integer NOT NULL DEFAULT 0,
    cloned_from_id bigint REFERENCES lists (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A member's lists, newest first.
CREATE INDEX lists_owner_idx ON lists (owner_id, created_at DESC, id DESC);

-- An entry's place is its sort key: wide gaps between neighbours, so that a move writes one row
-- (see filmlog_domain::list). Ranks are counted, never stored.
CREATE TABLE list_entries (
    list_id bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    film_id bigint NOT NULL REFERENCES films (id) ON DELETE CASCADE,
    sort_key bigint NOT NULL,
    notes text CONSTRAINT list_entries_notes_check CHECK (char_length(notes) <= 10000),
    contains_spoilers boolean NOT NULL DEFAULT false,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, film_id)
);

-- A list's entries in order.
CREATE INDEX list_entries_order_idx ON list_entries (list_id, sort_key, film_id);
-- The lists that hold a film.
CREATE INDEX list_entries_film_idx ON list_entries (film_id, list_id);

ALTER TABLE members ADD COLUMN list_count integer NOT NULL DEFAULT 0;
ALTER TABLE film_stats ADD COLUMN list_count integer NOT NULL DEFAULT 0;
