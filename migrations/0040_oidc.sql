-- 0040: OpenID Connect log-in (src/oidc/).
--
-- A user logged in through the provider is linked to it by the ID token's issuer and subject (`sub`), which
-- never change for an account, unlike its e-mail address. Linked on first OIDC log-in: by an existing
-- user's (verified) e-mail, or a new user is made. A user made that way has no password (NULL): only the
-- provider lets them in, until `crash-cache-cli user password` gives them one.
ALTER TABLE ui_user ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE ui_user ADD COLUMN oidc_issuer text;
ALTER TABLE ui_user ADD COLUMN oidc_subject text;
ALTER TABLE ui_user ADD CONSTRAINT ui_user_oidc_pair CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL));
CREATE UNIQUE INDEX ui_user_oidc ON ui_user (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;

-- The ID token a session was opened with, sent back to the provider as id_token_hint when the session logs
-- out (RP-initiated logout). NULL: a password session. It dies with its session.
ALTER TABLE ui_session ADD COLUMN oidc_id_token text;
