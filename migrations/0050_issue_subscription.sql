-- 0050: a user's choice to hear, or not, of an issue's comments by e-mail (Sentry's GroupSubscription):
-- subscribed = true makes them a participant (they get e-mail about its comments, src/notices/queue.ts);
-- false takes them out although they are its assignee, commented on it or bookmarked it. No row: a
-- participant by what they did. Being assigned an issue or mentioned in a comment is told regardless.
-- Keyed like issue_bookmark, without a foreign key to issue (ruminate rebuilds issue under the same ids);
-- deleted with its issue (src/storage/issue-children.ts), with its user, or with its project.
CREATE TABLE issue_subscription (
  project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  issue_id    bigint NOT NULL,
  user_id     bigint NOT NULL REFERENCES ui_user (id) ON DELETE CASCADE,
  subscribed  boolean NOT NULL,
  changed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, issue_id, user_id)
);
CREATE INDEX issue_subscription_user ON issue_subscription (user_id);
