-- 0024: secrets the server generates for itself once, shared by every process on this database
-- (src/storage/server-secret.ts). Today one: 'login_csrf', the HMAC key that signs the login form's
-- CSRF token (src/ui/auth.ts). 32 random bytes, made by the first process that needs it; never
-- logged or shown. Whoever can read this table can forge login CSRF tokens, nothing more: sessions
-- and API tokens are random values stored as hashes, not signed with it.
CREATE TABLE server_secret (
  name       text        PRIMARY KEY,
  value      bytea       NOT NULL CHECK (octet_length(value) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);
