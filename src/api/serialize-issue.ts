import type { Config } from '../config/index.js';
import type { IssueRow } from './queries/issues.js';
import { shortId } from './short-id.js';

// Issue rows → Sentry's issue ("group") JSON, with Sentry's field names and types: `id` and `count`
// are strings, `userCount` a number, times ISO 8601. Fields for features we do not have (sharing,
// subscriptions) carry Sentry's "nothing here" values so clients need no special case; `assignedTo`,
// `isBookmarked` and `numComments` depend on the asking user and are filled in by the routes from
// src/collab/facts.ts (collabJson), the detail's `activity` from src/activity/queries.ts.

export function issuePermalink(config: Config, id: number): string {
  return `${config.publicUrl}/organizations/${config.organizationSlug}/issues/${id}/`;
}

function statusDetails(row: IssueRow): Record<string, unknown> {
  if (row.status === 'resolved' && row.resolved_next) return { inNextRelease: true, actor: null };
  if (row.status === 'resolved' && row.resolved_next === false) return { inRelease: row.resolved_in_release, actor: null };
  if (row.status === 'ignored' && row.substatus === 'archived_until_escalating') return { ignoreUntilEscalating: true };
  if (row.status === 'ignored' && row.snooze_details) return { ...row.snooze_details, actor: null };
  return {};
}

export function serializeIssue(config: Config, row: IssueRow, stats?: Record<string, [number, number][]>) {
  const out: Record<string, unknown> = {
    id: String(row.id),
    shareId: null,
    shortId: shortId(row.project_slug, row.short_id),
    title: row.title,
    culprit: row.culprit,
    permalink: issuePermalink(config, row.id),
    logger: null,
    level: row.level,
    status: row.status,
    statusDetails: statusDetails(row),
    substatus: row.substatus,
    isPublic: false,
    platform: row.platform,
    project: { id: String(row.project_id), name: row.project_name, slug: row.project_slug, platform: row.project_platform },
    type: row.type,
    metadata: row.metadata,
    numComments: 0,
    assignedTo: null,
    isBookmarked: false,
    isSubscribed: false,
    subscriptionDetails: null,
    hasSeen: false,
    annotations: [] as unknown[],
    issueType: 'error',
    issueCategory: 'error',
    priority: row.level === 'fatal' || row.level === 'error' ? 'high' : row.level === 'warning' ? 'medium' : 'low',
    isUnhandled: row.is_unhandled,
    count: String(row.event_count),
    userCount: row.user_count,
    firstSeen: row.first_seen.toISOString(),
    lastSeen: row.last_seen.toISOString(),
  };
  if (stats) out.stats = stats;
  return out;
}

/** Issue detail (GET issues/{id}/): the list shape plus what Sentry's group details add. */
export function serializeIssueDetail(
  config: Config,
  row: IssueRow,
  extra: { stats: Record<string, [number, number][]>; tags: { key: string; name: string; totalValues: number }[]; userReportCount: number; firstRelease: string | null; lastRelease: string | null },
) {
  const release = (version: string | null) => (version ? { version, shortVersion: version } : null);
  return {
    ...serializeIssue(config, row, extra.stats),
    activity: [] as unknown[],
    seenBy: [] as unknown[],
    participants: [] as unknown[],
    pluginActions: [] as unknown[],
    pluginIssues: [] as unknown[],
    pluginContexts: [] as unknown[],
    userReportCount: extra.userReportCount,
    tags: extra.tags,
    firstRelease: release(extra.firstRelease),
    lastRelease: release(extra.lastRelease),
    // Not a Sentry field: the grouping config the issue was made with (details: grouping/info/).
    groupingConfig: row.grouping_config,
  };
}
