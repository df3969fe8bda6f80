// Every table whose rows belong to one issue, keyed by (project_id, issue_id), without a foreign key
// to issue (`ruminate` empties and rebuilds issue under the same ids). Whatever deletes issues —
// the API's delete, retention's empty-issue kind, a merge — deletes these rows with them, from this
// one list. `report` is not here: deleting an issue's events is each caller's own decision.
export const ISSUE_CHILD_TABLES = ['issue_tag', 'issue_user', 'issue_hash', 'issue_activity', 'issue_assignee', 'issue_bookmark', 'issue_subscription'] as const;
