-- 0013: a project's own grouping rules, as Sentry's project settings have them: stack-trace rules
-- ("groupingEnhancements", e.g. `stack.function:log_error -group`) applied before the built-in ones,
-- and server-side fingerprint rules ("fingerprintingRules", e.g. `error.type:DatabaseError -> database`)
-- applied before the built-in ones. Empty = none. Validated by the API before they are stored; the
-- digest reads them at most every few seconds (src/digest/project-rules.ts), so a change applies to
-- events digested from then on (existing issues stay as they are, as in Sentry).
ALTER TABLE project
  ADD COLUMN grouping_enhancements text NOT NULL DEFAULT '',
  ADD COLUMN fingerprinting_rules  text NOT NULL DEFAULT '';
