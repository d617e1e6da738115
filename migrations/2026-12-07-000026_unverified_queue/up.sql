-- The admins' queue of films imports added (oldest first), without reading the verified catalog.
CREATE INDEX films_unverified_queue ON films (created_at, id) WHERE NOT verified;
