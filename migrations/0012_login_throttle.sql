-- 0012: failed web UI logins counted per client address and per account (src/ui/login-throttle.ts), so
-- that every server process on this database refuses the same guesses.
--   scope         'ip' (the client address; IPv6 per /64) or 'account' (the e-mail, lower case; unknown
--                 e-mails count too, so a refusal says nothing about which accounts exist)
--   failures      attempts counted in the current window (charged before the password is checked, given
--                 back on success, so concurrent guesses cannot pass the limit)
--   window_start  when the current window began; a row older than the window is stale and is reset by
--                 the next attempt or deleted by the periodic prune
-- Rows are only created by attempts that passed the limits, so the table holds at most about
-- (client addresses seen in one window) × (LOGIN_MAX_FAILURES_PER_IP + 1) rows. No index on
-- window_start: the prune (once a minute per process) scans a table that small faster than every
-- upsert would maintain an index.
CREATE TABLE login_throttle (
  scope        text        NOT NULL CHECK (scope IN ('ip', 'account')),
  key          text        NOT NULL,
  failures     integer     NOT NULL,
  window_start timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
