-- 0011: conditions of an ignored ("archived") issue that bring it back, as Sentry's "ignore for 1 hour",
-- "until it happens 100 times (in an hour)", "until 10 more users are affected". When one is met the
-- issue becomes unresolved with substatus 'escalating' and the conditions are cleared.
--   snooze_until        time after which it comes back (checked by every worker every few seconds)
--   snooze_count        events (after the snooze; or within snooze_window) that bring it back
--   snooze_window       the window snooze_count is counted in; null = since the snooze
--   snooze_users        affected users (after the snooze) that bring it back
--   snooze_base_events  event_count / user_count when it was snoozed (what "after" counts from)
--   snooze_base_users
--   snooze_details      the conditions as the client gave them (statusDetails of the API)
ALTER TABLE issue
  ADD COLUMN snooze_until       timestamptz,
  ADD COLUMN snooze_count       bigint,
  ADD COLUMN snooze_window      interval,
  ADD COLUMN snooze_users       bigint,
  ADD COLUMN snooze_base_events bigint,
  ADD COLUMN snooze_base_users  bigint,
  ADD COLUMN snooze_details     jsonb;
CREATE INDEX issue_snooze_until ON issue (snooze_until) WHERE snooze_until IS NOT NULL;
-- ruminate keeps them with the issue's status (issue_keep), as a JSON object of the snooze_* columns
ALTER TABLE issue_keep ADD COLUMN snooze jsonb;
