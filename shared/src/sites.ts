import { Type, type Static } from '@sinclair/typebox';
import type { RelayGroup } from './hierarchy.js';

// The site hierarchy: a tree of any depth whose kinds come from the imported
// dataset (hierarchy.ts), so a kind is any registered id, not a fixed union.
// The API's site shape is the same as when the kinds were fixed: `kind` a
// string, `parentId` null for a top-level site.
export const SiteKindIdSchema = Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$' });
/** Kept under its old name: route schemas and clients validate sites with it. */
export const SiteKindSchema = SiteKindIdSchema;
export type SiteKind = string;

export const SiteIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' });

export const SiteSchema = Type.Object({
  id: SiteIdSchema,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: SiteKindIdSchema,
  parentId: Type.Union([SiteIdSchema, Type.Null()]),
  address: Type.Optional(Type.String({ maxLength: 500 })),
  contact: Type.Optional(Type.String({ maxLength: 200 })),
});
export type Site = Static<typeof SiteSchema>;

export interface SiteIndex {
  byId: Map<string, Site>;
  children: Map<string, Site[]>;
  /** Declared in the dataset, or derived (deriveRelayGroups) when it declares none. */
  relayGroups: readonly RelayGroup[];
  /** Site id → its relay group; sites relaying straight to the core are absent. */
  groupOfSite: Map<string, RelayGroup>;
}

export function indexSites(sites: readonly Site[], relayGroups?: readonly RelayGroup[]): SiteIndex {
  const byId = new Map(sites.map((s) => [s.id, s]));
  const children = new Map<string, Site[]>();
  for (const s of sites) {
    if (s.parentId === null) continue;
    const list = children.get(s.parentId) ?? [];
    list.push(s);
    children.set(s.parentId, list);
  }
  const groups = relayGroups ?? deriveRelayGroups(sites);
  const listed = new Map<string, RelayGroup>();
  for (const g of groups) for (const id of g.siteIds) listed.set(id, g);
  // A site the groups do not list follows its nearest listed ancestor: a
  // commune imported later under a relayed site relays with it.
  const groupOfSite = new Map<string, RelayGroup>();
  for (const s of sites) {
    let cur: Site | undefined = s;
    for (let hops = 0; cur && hops <= sites.length; hops++) {
      const g = listed.get(cur.id);
      if (g) {
        groupOfSite.set(s.id, g);
        break;
      }
      cur = cur.parentId === null ? undefined : byId.get(cur.parentId);
    }
  }
  return { byId, children, relayGroups: groups, groupOfSite };
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

/** The relay group a site's edge links through, or null when it links straight to the core. */
export function relayGroupOf(index: SiteIndex, siteId: string): RelayGroup | null {
  return index.groupOfSite.get(siteId) ?? null;
}

/**
 * Relay groups when a dataset declares none: every top-level site with sites
 * below it relays for its subtree (the 2022 network's districts). Structural,
 * not by kind: any tree gets the same rule.
 */
export function deriveRelayGroups(sites: readonly Site[]): RelayGroup[] {
  const children = new Map<string, string[]>();
  for (const s of sites) {
    if (s.parentId === null) continue;
    const list = children.get(s.parentId) ?? [];
    list.push(s.id);
    children.set(s.parentId, list);
  }
  const groups: RelayGroup[] = [];
  for (const root of sites) {
    if (root.parentId !== null || !children.has(root.id)) continue;
    const members: string[] = [];
    const stack = [root.id];
    while (stack.length > 0) {
      const id = stack.pop()!;
      members.push(id);
      stack.push(...(children.get(id) ?? []));
    }
    groups.push({ id: root.id, name: root.name, hubSiteId: root.id, siteIds: members.sort() });
  }
  return groups;
}
