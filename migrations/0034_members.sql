-- 0034: invitations to join, and each user's switch for alert e-mail.
--
-- An invite is a single-use link that expires (INVITE_TTL_HOURS). The link carries a random 256-bit
-- token; only its sha-256 is stored (as for sessions and API tokens), so the table or a backup does
-- not hand out live invites. Its id comes from ui_user's own sequence: in Sentry's API a pending
-- invite and a member are one "member" with one id, and the user made when the invite is accepted
-- takes the invite's id, so the id an inviter saw stays the member's id.
CREATE TABLE member_invite (
  id           bigint PRIMARY KEY DEFAULT nextval(pg_get_serial_sequence('ui_user', 'id')::regclass),
  email        text NOT NULL,
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  -- NULL: every project; else the projects the new member is limited to (project_member rows are
  -- made from it on acceptance, for the projects that still exist then)
  project_ids  bigint[],
  token_sha256 bytea NOT NULL UNIQUE,
  invited_by   bigint REFERENCES ui_user (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  CHECK (expires_at > created_at)
);
-- one open invite per address: inviting again replaces it (src/members/invites.ts)
CREATE UNIQUE INDEX member_invite_open_email ON member_invite (lower(email)) WHERE accepted_at IS NULL;

-- false: the user gets no alert e-mail sent to "project members" (Profile page), for any project;
-- alert_email_optout (0025) still turns a single project off.
ALTER TABLE ui_user ADD COLUMN email_alerts boolean NOT NULL DEFAULT true;
