-- 0049: two-factor log-in with an authenticator app (TOTP, src/auth/totp.ts; src/members/two-factor.ts).
--   totp_secret     the 160-bit secret codes are checked against; NULL: the user has no second factor.
--                   Stored as it is (a code can only be checked with it), never shown after set-up.
--   totp_last_step  the 30-second step of the last code accepted: that code, and earlier ones, are spent
--   totp_pending    a secret shown on the Profile page and not yet confirmed by a code from the app
--   totp_enabled_at when the second factor was turned on
ALTER TABLE ui_user
  ADD COLUMN totp_secret bytea,
  ADD COLUMN totp_last_step bigint,
  ADD COLUMN totp_pending bytea,
  ADD COLUMN totp_enabled_at timestamptz;

-- Single-use recovery codes, shown once when the second factor is turned on; only their sha-256 kept.
CREATE TABLE recovery_code (
  user_id      bigint NOT NULL REFERENCES ui_user (id) ON DELETE CASCADE,
  code_sha256  bytea NOT NULL,
  used_at      timestamptz,
  PRIMARY KEY (user_id, code_sha256)
);

-- A log-in whose password was right and whose second factor is still to come: the browser holds the
-- token (a cookie, sha-256 here) for LOGIN_SECOND_FACTOR_SECS; each wrong code counts in `attempts`
-- (and as a failed log-in of the account), and after LOGIN_MAX_FAILURES_PER_ACCOUNT of them the row is
-- gone and the password is asked again.
CREATE TABLE login_second_factor (
  token_sha256  bytea PRIMARY KEY,
  user_id       bigint NOT NULL REFERENCES ui_user (id) ON DELETE CASCADE,
  next          text NOT NULL,
  expires_at    timestamptz NOT NULL,
  attempts      integer NOT NULL DEFAULT 0
);
CREATE INDEX login_second_factor_expires ON login_second_factor (expires_at);
