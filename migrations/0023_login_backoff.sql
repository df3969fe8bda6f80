-- 0023: failed logins lock a (client address, account) pair instead of the account, and the account
-- as a whole is slowed instead (src/ui/login-throttle.ts): anyone could lock anyone out before.
--   scope 'pair'  key "<account>\n<address>": LOGIN_MAX_FAILURES_PER_ACCOUNT failures from one address
--                 for one account lock that pair for the window
--   scope 'account' rows now count failures from every address without refusing; past the limit each
--                 attempt waits (1 s, doubling per failure, at most LOGIN_BACKOFF_MAX_SECS)
--   not_before    (account rows) the earliest time the next attempt on the account may be checked:
--                 concurrent guesses queue behind each other instead of waiting side by side
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check CHECK (scope IN ('ip', 'pair', 'account'));
ALTER TABLE login_throttle ADD COLUMN not_before timestamptz;
