-- 0036: issue collaboration — who an issue is assigned to, and who bookmarked it.
-- Comments are not a table of their own: as in Sentry, a comment is an issue_activity row of type
-- 'note' with data.text (0031), so the activity log and the comment list are one thing.
--
-- No foreign key to issue: `ruminate` empties and rebuilds issue under the same ids (issue_keep), and
-- people's work must survive that; these rows die with their issue through
-- src/storage/issue-children.ts. They die with their user through the foreign key to ui_user.

-- One assignee per issue (Sentry's GroupAssignee, users only: there are no teams here).
CREATE TABLE issue_assignee (
  project_id   bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  issue_id     bigint NOT NULL,
  user_id      bigint NOT NULL REFERENCES ui_user (id) ON DELETE CASCADE,
  assigned_by  bigint REFERENCES ui_user (id) ON DELETE SET NULL,
  assigned_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, issue_id)
);
-- assigned:me / assigned:<email>
CREATE INDEX issue_assignee_user ON issue_assignee (user_id, project_id, issue_id);

-- A user's bookmarks (Sentry's GroupBookmark).
CREATE TABLE issue_bookmark (
  project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  issue_id    bigint NOT NULL,
  user_id     bigint NOT NULL REFERENCES ui_user (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, issue_id, user_id)
);
-- bookmarks:me / is:bookmarked
CREATE INDEX issue_bookmark_user ON issue_bookmark (user_id, project_id, issue_id);
