import { Type, type Static } from '@sinclair/typebox';
import { SiteIdSchema, SiteKindIdSchema, SiteSchema, type Site } from './sites.js';

// The hierarchy as data. A province's network is described by a dataset: the
// kinds of site with their labels, the sites as a tree of any depth, and the
// relay groups (which sites share one relay edge). Nothing in code names an
// administrative level: since July 2025 the same network may be four levels
// (province bodies, districts, communes) or two (province, communes), and a
// merged province mixes both during the transition.

export const LabelSchema = Type.Object(
  { vi: Type.String({ minLength: 1, maxLength: 200 }), en: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export type Label = Static<typeof LabelSchema>;

export const SiteKindDefSchema = Type.Object(
  {
    id: SiteKindIdSchema,
    /** Singular label, shown in the dashboard and in exports. */
    label: LabelSchema,
    /** Kinds a site of this kind may hang under. */
    parents: Type.Array(SiteKindIdSchema, { maxItems: 50, default: [] }),
    /** May a site of this kind have no parent? Defaults to true when `parents` is empty. */
    topLevel: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SiteKindDef = Static<typeof SiteKindDefSchema>;

export const RelayGroupSchema = Type.Object(
  {
    id: SiteIdSchema,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** The site whose box relays for the group (a former district centre, a regional hub). */
    hubSiteId: SiteIdSchema,
    /** Members, the hub included. A site below a member and listed nowhere follows its ancestor. */
    siteIds: Type.Array(SiteIdSchema, { minItems: 1, maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
export type RelayGroup = Static<typeof RelayGroupSchema>;

export const HierarchyDatasetSchema = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    name: LabelSchema,
    kinds: Type.Array(SiteKindDefSchema, { minItems: 1, maxItems: 200 }),
    sites: Type.Array(SiteSchema, { maxItems: 200_000 }),
    /** Absent: derived (every top-level site with sites below it relays for its subtree). */
    relayGroups: Type.Optional(Type.Array(RelayGroupSchema, { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);
export type HierarchyDataset = Static<typeof HierarchyDatasetSchema>;

/**
 * The kinds of the seeds' 2022 network. Only for registries that predate
 * datasets (a fleet database from before, a sites file checked offline
 * without one); the yen-bai-2022 dataset declares the same kinds.
 */
export const KINDS_2022: readonly SiteKindDef[] = [
  { id: 'party-committee', label: { vi: 'Tỉnh ủy', en: 'Provincial party committee' }, parents: [] },
  { id: 'peoples-council', label: { vi: 'HĐND tỉnh', en: "People's council" }, parents: [] },
  { id: 'peoples-committee', label: { vi: 'UBND tỉnh', en: "People's committee" }, parents: [] },
  { id: 'party-board', label: { vi: 'Ban Đảng', en: 'Party board' }, parents: [] },
  { id: 'department', label: { vi: 'Sở, ngành', en: 'Department' }, parents: [] },
  { id: 'district', label: { vi: 'Huyện, thị, thành', en: 'District' }, parents: [] },
  { id: 'commune', label: { vi: 'Xã, phường, thị trấn', en: 'Commune' }, parents: ['district'] },
];

/** The kinds a registry knows, by id. */
export class SiteKindRegistry {
  private readonly byId: Map<string, SiteKindDef>;

  constructor(kinds: readonly SiteKindDef[]) {
    this.byId = new Map(kinds.map((k) => [k.id, k]));
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): SiteKindDef | undefined {
    return this.byId.get(id);
  }

  list(): SiteKindDef[] {
    return [...this.byId.values()];
  }

  /** Problems with the declarations themselves: duplicates, parents naming no kind. */
  static problems(kinds: readonly SiteKindDef[]): string[] {
    const out: string[] = [];
    const ids = new Set<string>();
    for (const k of kinds) {
      if (ids.has(k.id)) out.push(`kind ${k.id} is declared twice`);
      ids.add(k.id);
    }
    for (const k of kinds) {
      for (const p of k.parents) if (!ids.has(p)) out.push(`kind ${k.id} names unknown parent kind ${p}`);
      if (k.parents.length === 0 && k.topLevel === false)
        out.push(`kind ${k.id} can be placed nowhere (no parents, not top-level)`);
    }
    return out;
  }

  mayBeTopLevel(k: SiteKindDef): boolean {
    return k.topLevel ?? k.parents.length === 0;
  }
}

/** Problems that make a set of sites an invalid hierarchy under these kinds; empty when valid. */
export function validateHierarchy(
  sites: readonly Site[],
  kinds: SiteKindRegistry = new SiteKindRegistry(KINDS_2022),
): string[] {
  const problems: string[] = [];
  const byId = new Map<string, Site>();
  for (const s of sites) {
    if (byId.has(s.id)) problems.push(`duplicate site id ${s.id}`);
    byId.set(s.id, s);
  }
  for (const s of sites) {
    const kind = kinds.get(s.kind);
    if (!kind) {
      problems.push(`site ${s.id} has unknown kind ${s.kind}`);
      continue;
    }
    if (s.parentId === null) {
      if (!kinds.mayBeTopLevel(kind)) problems.push(`${s.kind} ${s.id} needs a ${kind.parents.join(' or ')} parent`);
      continue;
    }
    const parent = byId.get(s.parentId);
    if (!parent) {
      problems.push(
        kind.parents.length > 0
          ? `${s.kind} ${s.id} needs a ${kind.parents.join(' or ')} parent`
          : `${s.kind} ${s.id} has unknown parent ${s.parentId}`,
      );
    } else if (!kind.parents.includes(parent.kind)) {
      problems.push(
        kind.parents.length > 0
          ? `${s.kind} ${s.id} has parent ${parent.id} of kind ${parent.kind}, not ${kind.parents.join(' or ')}`
          : `${s.kind} ${s.id} must have no parent`,
      );
    }
  }
  // Kinds may allow cycles (a kind under itself); the sites must not form one.
  for (const s of sites) {
    const seen = new Set<string>([s.id]);
    let p = s.parentId === null ? undefined : byId.get(s.parentId);
    while (p) {
      if (seen.has(p.id)) {
        problems.push(`site ${s.id} is its own ancestor`);
        break;
      }
      seen.add(p.id);
      p = p.parentId === null ? undefined : byId.get(p.parentId);
    }
  }
  return problems;
}

/** Problems with relay groups over these sites; empty when valid. */
export function validateRelayGroups(groups: readonly RelayGroup[], siteIds: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const memberOf = new Map<string, string>();
  for (const g of groups) {
    if (ids.has(g.id)) problems.push(`relay group ${g.id} is declared twice`);
    ids.add(g.id);
    if (!siteIds.has(g.hubSiteId)) problems.push(`relay group ${g.id} has unknown hub site ${g.hubSiteId}`);
    if (!g.siteIds.includes(g.hubSiteId))
      problems.push(`relay group ${g.id}: its hub ${g.hubSiteId} must be one of its sites`);
    for (const s of g.siteIds) {
      if (!siteIds.has(s)) problems.push(`relay group ${g.id} lists unknown site ${s}`);
      const other = memberOf.get(s);
      if (other !== undefined) problems.push(`site ${s} is in relay groups ${other} and ${g.id}`);
      memberOf.set(s, g.id);
    }
  }
  return problems;
}

/** Every problem of a dataset (after its schema check): kinds, tree, relay groups. */
export function validateDataset(d: HierarchyDataset): string[] {
  const kindProblems = SiteKindRegistry.problems(d.kinds);
  if (kindProblems.length > 0) return kindProblems;
  const problems = validateHierarchy(d.sites, new SiteKindRegistry(d.kinds));
  if (d.relayGroups) problems.push(...validateRelayGroups(d.relayGroups, new Set(d.sites.map((s) => s.id))));
  return problems;
}
