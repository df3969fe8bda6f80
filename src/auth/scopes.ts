// Roles and scopes, in Sentry's vocabulary: the one table of who may do what.
//
// A scope is `<resource>:<level>`; a higher level includes the lower ones (Sentry's endpoints list
// every level they accept, e.g. GET accepts project:read, project:write and project:admin — the same
// thing said once here). project:releases (uploading releases and source maps, what sentry-cli asks
// for) is its own scope and implied by project:write.

export const SCOPES = [
  'org:read', 'org:write', 'org:admin',
  'project:read', 'project:write', 'project:admin', 'project:releases',
  'event:read', 'event:write', 'event:admin',
  'member:read', 'member:write', 'member:admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const READ: Scope[] = ['org:read', 'project:read', 'event:read', 'member:read'];

/**
 * What each role may do. Viewers read. Members triage: resolve, ignore, assign, comment, merge
 * (event:write) and upload releases and source maps. Admins manage projects, keys, rules, alerts,
 * members and tokens. Owners everything, including other admins and owners (org:admin).
 */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  viewer: READ,
  member: [...READ, 'event:write', 'project:releases'],
  admin: [...READ, 'org:write', 'project:write', 'project:admin', 'project:releases', 'event:write', 'event:admin', 'member:write', 'member:admin'],
  owner: SCOPES,
};

/** Higher levels include lower ones: `x:admin` grants `x:write` and `x:read`; `project:write` grants `project:releases`. */
const IMPLIED: Partial<Record<Scope, Scope[]>> = {
  'org:admin': ['org:write', 'org:read'], 'org:write': ['org:read'],
  'project:admin': ['project:write', 'project:releases', 'project:read'], 'project:write': ['project:releases', 'project:read'],
  'project:releases': [],
  'event:admin': ['event:write', 'event:read'], 'event:write': ['event:read'],
  'member:admin': ['member:write', 'member:read'], 'member:write': ['member:read'],
};

/** Every scope the given ones grant, implied ones included. */
export function expandScopes(scopes: Iterable<string>): Set<Scope> {
  const out = new Set<Scope>();
  for (const s of scopes) {
    if (!isScope(s)) continue;
    out.add(s);
    for (const i of IMPLIED[s] ?? []) out.add(i);
  }
  return out;
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Roles ordered by power; a user may grant or change only roles at or below their own (owners: all). */
export function roleRank(r: Role): number {
  return ROLES.length - ROLES.indexOf(r);
}

/**
 * Parses a comma- or space-separated scope list (CLI `--scopes`, the UI form, the API's `scopes`),
 * or returns the problem naming the first unknown scope.
 */
export function parseScopes(input: string | readonly unknown[]): Scope[] | string {
  const parts = typeof input === 'string' ? input.split(/[\s,]+/).filter(Boolean) : input;
  const out: Scope[] = [];
  for (const p of parts) {
    if (typeof p !== 'string' || !isScope(p)) return `unknown scope ${JSON.stringify(p)}; scopes are ${SCOPES.join(', ')}`;
    if (!out.includes(p)) out.push(p);
  }
  if (!out.length) return 'a token needs at least one scope';
  return out;
}

/** Whether a role grants a scope (for showing or hiding a page's forms; the checks are access.ts's). */
export function roleHas(role: Role, scope: Scope): boolean {
  return expandScopes(ROLE_SCOPES[role]).has(scope);
}
