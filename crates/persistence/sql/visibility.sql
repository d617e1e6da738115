-- Replaceable: applied after migrations (see replaceable.rs); edit here, never in a migration.
-- The visibility rules in SQL, once: filmlog_domain::visibility::sight for a log entry or a list
-- (`Subject::Entry`, `Subject::List`), and which catalog films a member may see (film_visible_to,
-- at the end). Every statement that filters what a viewer may read calls these, the diesel queries
-- through `crate::visible` and `crate::film_visible`, the SQL files below this one directly.
--
-- Plain SQL, IMMUTABLE, not STRICT, each argument used once except the cheap column references:
-- PostgreSQL inlines the body into the calling statement, so a call plans exactly as the expression
-- written out would (an EXISTS passed as `follows_owner` stays a lazily evaluated sub-plan).
-- Blocks and suspensions are filtered beside it (the block test differs between the reads: an
-- anti-join in the lists, a hidden set in the feeds).
-- (Plain DROPs: nothing may depend on these functions — an index or a view built on one would
-- make this file fail loudly rather than be dropped with it.)
DROP FUNCTION IF EXISTS visible_to(bigint, bigint, text, boolean, boolean);
DROP FUNCTION IF EXISTS restricted(bigint, text, boolean);
DROP FUNCTION IF EXISTS restricted(text, boolean);
DROP FUNCTION IF EXISTS film_visible_to(bigint, boolean, bigint);

-- Whether `viewer` (0: nobody) may read a thing of `owner` whose audience is `visibility`
-- ('public', 'followers' or 'private'), the owner's account being private when `owner_private`, and
-- the viewer following the owner when `follows_owner`: their own; public things of an account that
-- is not private; for a follower, public and followers things.
CREATE FUNCTION visible_to(viewer bigint, owner bigint, visibility text, owner_private boolean,
                           follows_owner boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
    SELECT owner = viewer
        OR (visibility = 'public' AND NOT owner_private)
        OR (visibility <> 'private' AND follows_owner)
$fn$;

-- Whether not everyone may read it: not visible to a viewer who is nobody (0) following nobody, of
-- a thing whose owner is not them (-1: ids are positive). The `activities.restricted` flag
-- (activities_restricted.sql) stores it.
CREATE FUNCTION restricted(visibility text, owner_private boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
    SELECT NOT visible_to(0, -1, visibility, owner_private, false)
$fn$;

-- Whether `viewer` (0: nobody) may see a catalog film: a verified one, one nobody added, or one
-- they added themselves (another member's imported, unverified film is no film to them until an
-- admin verifies or merges it). The diesel queries call it through `crate::film_visible`.
CREATE FUNCTION film_visible_to(viewer bigint, verified boolean, added_by bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
    SELECT verified OR added_by IS NULL OR added_by = viewer
$fn$;
