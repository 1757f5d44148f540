import { Type, type Static } from '@sinclair/typebox';

// The site hierarchy. Province-level bodies and districts have no parent;
// a commune's parent is its district.
export const SITE_KINDS = [
  'party-committee',
  'peoples-council',
  'peoples-committee',
  'party-board',
  'department',
  'district',
  'commune',
] as const;
export type SiteKind = (typeof SITE_KINDS)[number];

export const SiteKindSchema = Type.Union(SITE_KINDS.map((k) => Type.Literal(k)));

export const SiteIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' });

export const SiteSchema = Type.Object({
  id: SiteIdSchema,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: SiteKindSchema,
  parentId: Type.Union([SiteIdSchema, Type.Null()]),
  address: Type.Optional(Type.String({ maxLength: 500 })),
  contact: Type.Optional(Type.String({ maxLength: 200 })),
});
export type Site = Static<typeof SiteSchema>;

export interface SiteIndex {
  byId: Map<string, Site>;
  children: Map<string, Site[]>;
}

export function indexSites(sites: readonly Site[]): SiteIndex {
  const byId = new Map(sites.map((s) => [s.id, s]));
  const children = new Map<string, Site[]>();
  for (const s of sites) {
    if (s.parentId === null) continue;
    const list = children.get(s.parentId) ?? [];
    list.push(s);
    children.set(s.parentId, list);
  }
  return { byId, children };
}

/** The site itself and every site below it. */
export function subtreeIds(index: SiteIndex, rootId: string): string[] {
  const out: string[] = [];
  const stack = [rootId];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (!index.byId.has(id)) continue;
    out.push(id);
    for (const c of index.children.get(id) ?? []) stack.push(c.id);
  }
  return out;
}

/** The district a site belongs to (itself for a district), or null for province-level bodies. */
export function districtOf(index: SiteIndex, siteId: string): string | null {
  let site = index.byId.get(siteId);
  while (site) {
    if (site.kind === 'district') return site.id;
    site = site.parentId ? index.byId.get(site.parentId) : undefined;
  }
  return null;
}

/** Problems that make a set of sites an invalid hierarchy; empty when valid. */
export function validateHierarchy(sites: readonly Site[]): string[] {
  const problems: string[] = [];
  const byId = new Map<string, Site>();
  for (const s of sites) {
    if (byId.has(s.id)) problems.push(`duplicate site id ${s.id}`);
    byId.set(s.id, s);
  }
  for (const s of sites) {
    const parent = s.parentId === null ? undefined : byId.get(s.parentId);
    if (s.kind === 'commune') {
      if (!parent) problems.push(`commune ${s.id} needs a district parent`);
      else if (parent.kind !== 'district') problems.push(`commune ${s.id} has parent ${parent.id} of kind ${parent.kind}, not district`);
    } else if (s.parentId !== null) {
      problems.push(`${s.kind} ${s.id} must have no parent`);
    }
  }
  return problems;
}
