import { relayGroupOf, subtreeIds, type SiteIndex } from '@diemcau/shared';

// The one access rule: which sites an operator may see and act on. Every
// place that limits an operator to part of the province (the API's site and
// device routes, commands, meetings, the live feed) asks here, so the answer
// is the same everywhere, and it fails closed: an operator whose role is not
// known here, or an area operator without an area (or with one naming a site
// or relay group that no longer exists), sees nothing.
//
// An area is a subtree of the hierarchy (a former district, a commune and
// whatever hangs under it, at any depth) or a relay group from the dataset
// (the sites behind one hub): after the 2025 reform an operator's patch is
// often "the communes behind the Mù Cang Chải hub", with no site above them.

export const OPERATOR_ROLES = ['admin', 'area-operator', 'viewer'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** Role names accepted in stored rows and API input for the same role. */
export const ROLE_ALIASES = { 'district-operator': 'area-operator' } as const satisfies Readonly<
  Record<string, OperatorRole>
>;
/** Every name accepted for a role: the roles and their older names. */
export const ROLE_NAMES = [...OPERATOR_ROLES, ...(Object.keys(ROLE_ALIASES) as (keyof typeof ROLE_ALIASES)[])] as const;

/** The role a stored or requested name means, or null for a name this fleet does not know. */
export function canonicalRole(name: string): OperatorRole | null {
  if ((OPERATOR_ROLES as readonly string[]).includes(name)) return name as OperatorRole;
  return (ROLE_ALIASES as Readonly<Record<string, OperatorRole>>)[name] ?? null;
}

export type OperatorArea = { kind: 'subtree'; siteId: string } | { kind: 'relay-group'; groupId: string };

/** What the rule reads of an operator. */
export interface AccessSubject {
  role: string;
  area: OperatorArea | null;
}

/** Who sees every site: admins, and viewers (read only; the auth hook stops their writes). */
const SEES_ALL: ReadonlySet<OperatorRole> = new Set(['admin', 'viewer']);

/** The sites of an area, at any depth; empty when the area names nothing that exists. */
export function areaSites(index: SiteIndex, area: OperatorArea): Set<string> {
  if (area.kind === 'subtree') return new Set(subtreeIds(index, area.siteId));
  const out = new Set<string>();
  for (const id of index.byId.keys()) if (relayGroupOf(index, id)?.id === area.groupId) out.add(id);
  return out;
}

const NOTHING: ReadonlySet<string> = new Set();

/**
 * Areas already expanded, per index: lists filter every row through the
 * scope, and a relay group's sites take a pass over the whole hierarchy. The
 * directory builds a new index on every reload, so an entry never outlives
 * the hierarchy it was computed from.
 */
const expanded = new WeakMap<SiteIndex, Map<string, ReadonlySet<string>>>();

/** The sites an operator may see; null means every site. No operator, unknown role or no area: the empty set. */
export function siteScopeOf(index: SiteIndex, op: AccessSubject | null | undefined): ReadonlySet<string> | null {
  if (!op) return NOTHING;
  const role = canonicalRole(op.role);
  if (role === null) return NOTHING;
  if (SEES_ALL.has(role)) return null;
  if (!op.area) return NOTHING;
  let cache = expanded.get(index);
  if (!cache) expanded.set(index, (cache = new Map()));
  const key = op.area.kind === 'subtree' ? `s:${op.area.siteId}` : `g:${op.area.groupId}`;
  let sites = cache.get(key);
  if (!sites) cache.set(key, (sites = areaSites(index, op.area)));
  return sites;
}

/** May this operator see (and, role permitting, act on) this site? */
export function canSeeSite(index: SiteIndex, op: AccessSubject | null | undefined, siteId: string): boolean {
  const scope = siteScopeOf(index, op);
  return scope === null ? index.byId.has(siteId) : scope.has(siteId);
}

/** The sites of `siteIds` the operator may not see, in the order given. */
export function outsideScope(
  index: SiteIndex,
  op: AccessSubject | null | undefined,
  siteIds: readonly string[],
): string[] {
  const scope = siteScopeOf(index, op);
  return scope === null ? [] : siteIds.filter((id) => !scope.has(id));
}

/** May this role send commands, run meetings and change things at its sites? */
export function mayAct(op: AccessSubject | null | undefined): boolean {
  const role = op ? canonicalRole(op.role) : null;
  return role === 'admin' || role === 'area-operator';
}

/** "district yb-luc-yen", "relay group hub-mu-cang-chai", for error messages. */
export function describeArea(area: OperatorArea | null): string {
  if (!area) return '(no area)';
  return area.kind === 'subtree' ? `area ${area.siteId}` : `relay group ${area.groupId}`;
}
