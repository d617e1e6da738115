-- Data portability: films' external ids, Letterboxd (and Filmlog) imports as durable jobs, exports.

-- External ids: each unique when present; `verified = false` marks a catalog entry an import created
-- so nothing in an export is lost, until an admin merges it into a real one.
ALTER TABLE films
    ADD COLUMN tmdb_id integer CONSTRAINT films_tmdb_id_positive CHECK (tmdb_id > 0),
    ADD COLUMN imdb_id text CONSTRAINT films_imdb_id_format CHECK (imdb_id ~ '^tt[0-9]{7,10}$'),
    ADD COLUMN letterboxd_uri text CONSTRAINT films_letterboxd_uri_format
        CHECK (letterboxd_uri ~ '^https://(letterboxd\.com|boxd\.it)/[A-Za-z0-9/_.-]+$'),
    ADD COLUMN verified boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT films_tmdb_id_key UNIQUE (tmdb_id),
    ADD CONSTRAINT films_imdb_id_key UNIQUE (imdb_id),
    ADD CONSTRAINT films_letterboxd_uri_key UNIQUE (letterboxd_uri);

-- Files kept in the database (an import's upload, an export's ZIP) in chunks, so any instance can read
-- them, none holds a whole file in memory, and they go with their job.
CREATE TABLE import_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'needs_review', 'done', 'failed', 'cancelled')),
    -- What the next claim does: read the archive into rows, plan them, or apply them.
    phase text NOT NULL DEFAULT 'stage' CHECK (phase IN ('stage', 'plan', 'apply', 'finished')),
    dry_run boolean NOT NULL,
    source text,
    archive_bytes bigint NOT NULL,
    progress jsonb NOT NULL DEFAULT '{}',
    error text,
    claimed_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX import_jobs_member_idx ON import_jobs (member_id, id DESC);
CREATE INDEX import_jobs_due_idx ON import_jobs (id) WHERE status IN ('queued', 'running');

CREATE TABLE import_chunks (
    job_id bigint NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    n integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (job_id, n)
);

-- One row per source row (or per problem), in the order they apply.
CREATE TABLE import_rows (
    job_id bigint NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    file text NOT NULL,
    line integer NOT NULL,
    kind text NOT NULL,
    source_key text,
    item jsonb,
    film_id bigint REFERENCES films (id) ON DELETE SET NULL,
    matched_by text,
    action text CHECK (action IN ('create', 'update', 'unchanged', 'skip')),
    note text,
    done boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX import_rows_key_idx ON import_rows (job_id, source_key);
CREATE INDEX import_rows_pending_idx ON import_rows (job_id, seq) WHERE NOT done;

-- What each imported source row became, so importing again changes only what changed and never
-- touches what the member made in Filmlog. A row whose entry or list the member deleted stays, its
-- reference cleared: importing again does not bring it back.
CREATE TABLE import_sources (
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    source_key text NOT NULL,
    item jsonb NOT NULL,
    film_id bigint REFERENCES films (id) ON DELETE SET NULL,
    log_entry_id bigint REFERENCES log_entries (id) ON DELETE SET NULL,
    list_id bigint REFERENCES lists (id) ON DELETE SET NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, source_key)
);
CREATE INDEX import_sources_entry_idx ON import_sources (log_entry_id) WHERE log_entry_id IS NOT NULL;
CREATE INDEX import_sources_list_idx ON import_sources (list_id) WHERE list_id IS NOT NULL;
CREATE INDEX import_sources_film_idx ON import_sources (film_id) WHERE film_id IS NOT NULL;

CREATE TABLE export_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    bytes bigint,
    error text,
    claimed_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz
);
CREATE INDEX export_jobs_member_idx ON export_jobs (member_id, id DESC);
CREATE INDEX export_jobs_due_idx ON export_jobs (id) WHERE status IN ('queued', 'running');

CREATE TABLE export_chunks (
    job_id bigint NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    n integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (job_id, n)
);
