-- 0048: resolved in a release (Sentry's GroupResolution). An issue resolved "in the next release" stays
-- resolved when events of the releases it already knew keep coming (servers still running the old
-- build), and reopens as a regression for an event of a release first seen after it was resolved; one
-- resolved "in release X" reopens for events of X or of releases first seen after X. Events without a
-- release never reopen such an issue (Sentry: no release is taken as older). "First seen after" is the
-- order of the project's release dimension ids (project_dim, kind 'release'), which the digest assigns
-- in the order releases first arrive; the fold (src/digest/fold.ts) compares its events' release tags.
--   resolved_in_release  'in': the release X; 'next': the newest release when resolved ('' when none)
--   resolved_next        true: the next release after resolved_in_release; false: in resolved_in_release;
--                        NULL: resolved plainly (any new event reopens it), or not resolved
ALTER TABLE issue
  ADD COLUMN resolved_in_release text,
  ADD COLUMN resolved_next boolean;

-- ruminate keeps the resolution with the issue's status
ALTER TABLE issue_keep ADD COLUMN resolution jsonb;
