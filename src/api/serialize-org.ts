import { GROUPING_CONFIG } from '../grouping/index.js';
import { scrubSettingsOf } from '../digest/project-scrubbing.js';
import type { Config } from '../config/index.js';
import type { ProjectKeyRow, ProjectRow } from '../storage/projects.js';

// Rows → Sentry's organization, project and project-key JSON (field names as Sentry's
// OrganizationSerializer / ProjectSerializer / ProjectKeySerializer send them). Ids are strings in
// Sentry's JSON; sentry-cli deserializes them as strings.

// The single organization has no row of its own: it is the server. Its creation date is fixed.
const ORG_CREATED = '2024-01-01T00:00:00.000Z';

export function serializeOrganization(config: Config) {
  const slug = config.organizationSlug;
  return {
    id: '1',
    slug,
    name: slug,
    dateCreated: ORG_CREATED,
    status: { id: 'active', name: 'active' },
    isEarlyAdopter: false,
    require2FA: false,
    requireEmailVerification: false,
    avatar: { avatarType: 'letter_avatar', avatarUuid: null, avatarUrl: null },
    features: [] as string[],
    links: { organizationUrl: config.publicUrl, regionUrl: config.publicUrl },
    hasAuthProvider: false,
    allowMemberInvite: false,
    allowMemberProjectCreation: false,
    isDefault: true,
  };
}

// One implicit team that every project belongs to: Sentry's project JSON names its team(s), and
// sentry-cli prints the team column of `projects list`.
function team(config: Config) {
  return { id: '1', slug: config.organizationSlug, name: config.organizationSlug };
}

/**
 * The one implicit team, as Sentry's TeamSerializer sends it (GET organizations/{org}/teams/): every
 * project is in it and every user a member; `access` is what the asking principal may do.
 */
export function serializeTeam(config: Config, o: { scopes: readonly string[]; memberCount: number; projects: unknown[] }) {
  return {
    ...team(config),
    dateCreated: ORG_CREATED,
    isMember: true,
    teamRole: null,
    flags: { 'idp:provisioned': false },
    access: [...o.scopes].sort(),
    hasAccess: true,
    isPending: false,
    memberCount: o.memberCount,
    avatar: { avatarType: 'letter_avatar', avatarUuid: null },
    externalTeams: [] as unknown[],
    projects: o.projects,
  };
}

export interface ProjectFacts {
  firstEvent: Date | null;
  hasSessions: boolean;
}

export function serializeProject(config: Config, p: ProjectRow, facts: ProjectFacts = { firstEvent: null, hasSessions: false }) {
  return {
    id: String(p.id),
    slug: p.slug,
    name: p.name,
    platform: p.platform,
    dateCreated: p.created_at.toISOString(),
    isBookmarked: false,
    isMember: true,
    hasAccess: true,
    isPublic: false,
    isInternal: false,
    status: p.disabled ? 'disabled' : 'active',
    features: [] as string[],
    firstEvent: facts.firstEvent ? facts.firstEvent.toISOString() : null,
    firstTransactionEvent: false,
    hasSessions: facts.hasSessions,
    color: '#3f70bf',
    avatar: { avatarType: 'letter_avatar', avatarUuid: null },
    team: team(config),
    teams: [team(config)],
    access: ['project:read', 'event:read', 'event:write', 'event:admin'],
  };
}

/** Project detail: the list shape plus its organization, as Sentry's ProjectDetails does. */
export function serializeProjectDetail(config: Config, p: ProjectRow, facts?: ProjectFacts) {
  return {
    ...serializeProject(config, p, facts),
    organization: serializeOrganization(config),
    // the project's grouping settings, as Sentry's project details name them
    groupingConfig: GROUPING_CONFIG,
    groupingEnhancements: p.grouping_enhancements ?? '',
    fingerprintingRules: p.fingerprinting_rules ?? '',
    // data scrubbing, as Sentry's project details name it (migrations/0020)
    ...scrubSettingsOf(p),
    // crash-cache's own (Sentry has no per-project retention): days kept (the RETENTION_DAYS default
    // when the project has none) and events kept per issue (null = unlimited)
    retentionDays: p.retention_days ?? config.retentionDays,
    hasOwnRetention: p.retention_days != null,
    maxEventsPerIssue: p.max_events_per_issue ?? null,
  };
}

export function keyDsn(config: Config, publicKey: string, projectId: number): string {
  const u = new URL(config.publicUrl);
  return `${u.protocol}//${publicKey}@${u.host}${u.pathname.replace(/\/$/, '')}/${projectId}`;
}

export function serializeKey(config: Config, k: ProjectKeyRow) {
  const base = config.publicUrl.replace(/\/$/, '');
  const pub = keyDsn(config, k.public_key, k.project_id);
  const p = k.project_id;
  return {
    id: k.public_key,
    name: k.label,
    label: k.label,
    public: k.public_key,
    // Our keys have no secret half (ingest never asks for one); the "secret" DSN works as the public one.
    secret: null,
    projectId: p,
    isActive: !k.disabled,
    rateLimit: k.rate_limit_count && k.rate_limit_window ? { window: k.rate_limit_window, count: k.rate_limit_count } : null,
    dsn: {
      public: pub,
      secret: pub,
      csp: `${base}/api/${p}/security/?sentry_key=${k.public_key}`,
      security: `${base}/api/${p}/security/?sentry_key=${k.public_key}`,
      minidump: `${base}/api/${p}/minidump/?sentry_key=${k.public_key}`,
      nel: `${base}/api/${p}/nel/?sentry_key=${k.public_key}`,
      unreal: `${base}/api/${p}/unreal/${k.public_key}/`,
      cdn: null,
      crons: `${base}/api/${p}/cron/___MONITOR_SLUG___/${k.public_key}/`,
    },
    browserSdkVersion: 'latest',
    browserSdk: { choices: [['latest', 'latest']] },
    dynamicSdkLoaderOptions: { hasReplay: false, hasPerformance: false, hasDebug: false, hasFeedback: false, hasLogsAndMetrics: false },
    dateCreated: k.created_at ? k.created_at.toISOString() : null,
    // crash-cache's own: the key that replaced this one when it was rotated
    replacedBy: k.replaced_by ?? null,
  };
}
