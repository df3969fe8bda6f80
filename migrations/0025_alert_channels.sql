-- 0025: alert rules in Sentry's issue-alert model, with a channel each (src/alerts/).
--
-- A rule (alert_rule) is: triggers (any of them fires it) → filters (all must hold) → one channel.
--   kinds             triggers: 'new', 'regression', 'escalating' (an ignored issue is back), 'frequency'
--                     (more than event_threshold events in event_window_minutes), 'users' (more than
--                     user_threshold users new to the issue in user_window_minutes)
--   filter_level      the issue's level is at least this (debug < info < warning < error < fatal); NULL: any
--   filter_tags       {"key": "value", …}: the issue has had an event with each (environment and release
--                     are tags); for a new issue, its first event has each
--   action_interval_minutes  at most one notification per issue and rule in this many minutes
--                     (Sentry's "action interval"; existing webhooks get 0: every change, as before)
--   channel           'webhook' (JSON POST), 'slack', 'discord', 'teams' (their incoming webhooks) with
--                     webhook_url; 'email' with email_to (addresses) and/or email_members (every UI user
--                     who has not turned the project's e-mail off: alert_email_optout)
ALTER TABLE alert_rule
  DROP CONSTRAINT alert_rule_webhook_url_check,
  DROP CONSTRAINT alert_rule_kinds_check,
  ALTER COLUMN webhook_url DROP NOT NULL,
  ADD COLUMN name text NOT NULL DEFAULT '',
  ADD COLUMN channel text NOT NULL DEFAULT 'webhook' CHECK (channel IN ('webhook', 'slack', 'discord', 'teams', 'email')),
  ADD COLUMN email_to text[] NOT NULL DEFAULT '{}',
  ADD COLUMN email_members boolean NOT NULL DEFAULT false,
  ADD COLUMN event_threshold integer CHECK (event_threshold >= 0),
  ADD COLUMN event_window_minutes integer CHECK (event_window_minutes BETWEEN 1 AND 10080),
  ADD COLUMN user_threshold integer CHECK (user_threshold >= 0),
  ADD COLUMN user_window_minutes integer CHECK (user_window_minutes BETWEEN 1 AND 10080),
  ADD COLUMN filter_level text CHECK (filter_level IN ('debug', 'info', 'warning', 'error', 'fatal')),
  ADD COLUMN filter_tags jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter_tags) = 'object'),
  ADD COLUMN action_interval_minutes integer NOT NULL DEFAULT 30 CHECK (action_interval_minutes BETWEEN 0 AND 43200);
UPDATE alert_rule SET action_interval_minutes = 0;
ALTER TABLE alert_rule
  ADD CONSTRAINT alert_rule_kinds_check CHECK (kinds <@ '{new,regression,escalating,frequency,users}' AND cardinality(kinds) > 0),
  ADD CONSTRAINT alert_rule_target_check CHECK (CASE WHEN channel = 'email' THEN webhook_url IS NULL AND (email_members OR cardinality(email_to) > 0)
                                                ELSE webhook_url ~* '^https?://' END),
  ADD CONSTRAINT alert_rule_frequency_check CHECK (NOT 'frequency' = ANY(kinds) OR (event_threshold IS NOT NULL AND event_window_minutes IS NOT NULL)),
  ADD CONSTRAINT alert_rule_users_check CHECK (NOT 'users' = ANY(kinds) OR (user_threshold IS NOT NULL AND user_window_minutes IS NOT NULL));

-- Notifications: the new trigger kinds, and why a threshold trigger fired ("12 events in 60 minutes").
-- last_error keeps the SMTP reply (code and text) or the HTTP status and reason phrase, never a body.
ALTER TABLE alert_outbox
  DROP CONSTRAINT alert_outbox_kind_check,
  ADD CONSTRAINT alert_outbox_kind_check CHECK (kind IN ('new', 'regression', 'escalating', 'frequency', 'users', 'test')),
  ADD COLUMN detail text;

-- When each (rule, issue) may notify again: the action interval. Written in the transaction that queues
-- the notification, by one upsert that only moves quiet_until forward when it has passed, so two
-- transactions (concurrent digest lanes, a fold) cannot both notify within one interval.
CREATE TABLE alert_fired (
  rule_id      bigint NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
  issue_id     bigint NOT NULL,
  quiet_until  timestamptz NOT NULL,
  PRIMARY KEY (rule_id, issue_id)
);

-- Events and new users per issue and minute, for frequency and users triggers: written by the fold
-- (one INSERT … SELECT over the deltas it folds, only for projects that have such a rule), read by the
-- fold's threshold check (a sum over at most window-minutes rows per issue). Deleted after 7 days (the
-- longest window) by the alert senders' pruning.
CREATE TABLE alert_issue_minute (
  project_id  bigint NOT NULL,
  issue_id    bigint NOT NULL,
  minute      timestamptz NOT NULL,
  events      bigint NOT NULL,
  users       bigint NOT NULL,
  PRIMARY KEY (project_id, issue_id, minute)
);

-- A web UI user who turned off e-mail alerts of one project ("project members" recipients skip them).
CREATE TABLE alert_email_optout (
  user_id     bigint NOT NULL REFERENCES ui_user (id) ON DELETE CASCADE,
  project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, project_id)
);
