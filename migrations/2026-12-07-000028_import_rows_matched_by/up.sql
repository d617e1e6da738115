-- An import row's match is read as `filmlog_domain::portability::MatchedBy`: the column admits its
-- names only (every value written so far is one of them), as the other named columns' CHECKs do.
ALTER TABLE import_rows ADD CONSTRAINT import_rows_matched_by_check CHECK (
    matched_by IN ('tmdb_id', 'imdb_id', 'letterboxd_uri', 'slug', 'title_year', 'title_near_year', 'created')
);
