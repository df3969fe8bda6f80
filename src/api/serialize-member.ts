import type { Member } from '../members/members.js';
import type { InviteRow } from '../members/invites.js';
import { ROLES, type Role } from '../auth/scopes.js';

// Users and open invites → Sentry's organization member JSON (OrganizationMemberSerializer: orgRole,
// pending, expired, inviteStatus, user, dateCreated). A pending invite is a member whose `user` is null;
// accepting it keeps its id. `projects` is ours: null for every project, else the slugs a limited
// member sees (Sentry says this with teams).

const ROLE_NAME: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', viewer: 'Viewer' };
const FLAGS = { 'idp:provisioned': false, 'idp:role-restricted': false, 'sso:linked': false, 'sso:invalid': false, 'member-limit:restricted': false, 'partnership:restricted': false };
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function base(id: number, email: string, role: Role, projects: string[] | null, dateCreated: Date) {
  return {
    id: String(id), email, name: email, orgRole: role, role, roleName: ROLE_NAME[role],
    flags: FLAGS, dateCreated: dateCreated.toISOString(), externalUsers: [] as unknown[], projects,
  };
}

export function serializeMember(m: Member, slugOf: (projectId: number) => string | undefined) {
  const projects = m.all_projects ? null : m.project_ids.map(slugOf).filter((s): s is string => s !== undefined);
  return {
    ...base(m.id, m.email, m.role, projects, m.created_at),
    user: {
      id: String(m.id), name: m.email, username: m.email, email: m.email, avatarUrl: '',
      isActive: true, isSuspended: false, hasPasswordAuth: m.has_password, isManaged: false,
      dateJoined: m.created_at.toISOString(), lastLogin: iso(m.last_login), lastActive: iso(m.last_login),
      has2fa: m.has_2fa, isSuperuser: false, isStaff: false, experiments: {},
      emails: [{ id: String(m.id), email: m.email, is_verified: false }],
      avatar: { avatarType: 'letter_avatar', avatarUuid: null },
    },
    pending: false, expired: false, inviteStatus: 'approved', inviterName: null,
  };
}

export function serializeInvite(i: InviteRow, slugOf: (projectId: number) => string | undefined) {
  const projects = i.project_ids === null ? null : i.project_ids.map(slugOf).filter((s): s is string => s !== undefined);
  return {
    ...base(i.id, i.email, i.role, projects, i.created_at),
    user: null, pending: true, expired: i.expired, inviteStatus: 'pending', inviterName: i.inviter_email,
  };
}

/** The detail view adds what Sentry's member details carry (the invite link only in POST's answer). */
export function memberDetail<T extends object>(m: T, opts: { isOnlyOwner: boolean; inviteLink?: string | null }) {
  return {
    ...m, teams: [] as string[], teamRoles: [] as unknown[], teamRoleList: [] as unknown[],
    invite_link: opts.inviteLink ?? null, isOnlyOwner: opts.isOnlyOwner,
    orgRoleList: ROLES.map((r) => ({ id: r, name: ROLE_NAME[r] })),
  };
}
