-- The admins' queue of films imports added (oldest first), without reading the verified catalog.
CREATE INDEX films_unverified_queue_idx ON films (created_at, id) WHERE NOT verified;
