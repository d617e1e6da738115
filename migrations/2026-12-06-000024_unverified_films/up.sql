-- Films an import made (unverified) belong to their importer until an admin verifies or merges them:
-- only that member (and admins) sees them, and they hold no external id another member's import could
-- match (security review M5).
ALTER TABLE films ADD COLUMN added_by bigint REFERENCES members (id) ON DELETE CASCADE;

-- Unverified films made before: their importer, where exactly one member's imports used them (the
-- others stay as they were, for an admin to verify or merge).
UPDATE films f SET added_by = s.member_id
FROM (SELECT film_id, min(member_id) AS member_id FROM import_sources
      WHERE film_id IS NOT NULL GROUP BY film_id HAVING count(DISTINCT member_id) = 1) s
WHERE f.id = s.film_id AND NOT f.verified;

-- Letterboxd URIs held by unverified films (an import put them there) are released, those of films
-- several members' imports used included: that is how a squatted URI looks.
UPDATE films SET letterboxd_uri = NULL WHERE NOT verified;

CREATE INDEX films_added_by_idx ON films (added_by) WHERE added_by IS NOT NULL;
