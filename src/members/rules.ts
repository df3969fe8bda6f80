import { HttpError } from '../http/errors.js';
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/access.js';
import { roleRank, type Role } from '../auth/scopes.js';

// Who may give, change or take away which role: the one place these rules are written. The route
// has already checked member:write (invite, change) or member:admin (remove); these are the rules
// on top, each a 403 naming itself, decided before anything changes:
//   - admins manage members and viewers; granting, changing or removing admin and owner roles needs
//     org:admin, which only owners hold (a token of an owner needs that scope too);
//   - nobody raises their own role (an admin cannot make themself owner);
//   - the last owner cannot be removed or demoted (checked in the transaction that would do it,
//     members.ts, so two owners demoting each other at once cannot both succeed).

const MANAGED_BY_OWNERS: ReadonlySet<Role> = new Set(['owner', 'admin']);

function refuse(why: string): never {
  throw new HttpError('forbidden', `You do not have permission to perform this action: ${why}`);
}

/** May `actor` invite someone with `role`? */
export function checkGrant(actor: Principal, role: Role): void {
  if (MANAGED_BY_OWNERS.has(role) && !hasScope(actor, 'org:admin')) refuse(`only owners can grant the ${role} role`);
}

/** May `actor` change the role of `target` (currently `from`) to `to`? */
export function checkRoleChange(actor: Principal, target: { id: number; role: Role }, to: Role): void {
  if (actor.userId !== null && Number(target.id) === actor.userId && roleRank(to) > roleRank(target.role)) refuse('nobody can raise their own role');
  if (MANAGED_BY_OWNERS.has(target.role) && !hasScope(actor, 'org:admin')) refuse(`only owners can change the role of an ${target.role === 'owner' ? 'owner' : 'admin'}`);
  checkGrant(actor, to);
}

/** May `actor` remove `target`? (Removing oneself is leaving, and allowed unless one is the last owner.) */
export function checkRemove(actor: Principal, target: { id: number; role: Role }): void {
  if (MANAGED_BY_OWNERS.has(target.role) && !hasScope(actor, 'org:admin')) refuse(`only owners can remove an ${target.role === 'owner' ? 'owner' : 'admin'}`);
}

/** May `actor` turn `target`'s two-factor log-in off (a lost phone)? As removing them: it weakens their account. */
export function checkTwoFactorOff(actor: Principal, target: { id: number; role: Role }): void {
  if (MANAGED_BY_OWNERS.has(target.role) && !hasScope(actor, 'org:admin')) refuse(`only owners can turn off an ${target.role}'s two-factor log-in`);
}

/** May `actor` change which projects `target` is limited to? The same as changing their role. */
export function checkProjects(actor: Principal, target: { role: Role }): void {
  if (MANAGED_BY_OWNERS.has(target.role) && !hasScope(actor, 'org:admin')) refuse(`only owners can change an ${target.role}'s projects`);
}

export const LAST_OWNER = 'You do not have permission to perform this action: the last owner cannot be removed or demoted; make another user owner first';
