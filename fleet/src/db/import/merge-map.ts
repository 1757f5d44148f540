import { Type, type Static } from '@sinclair/typebox';
import { SiteIdSchema } from '@diemcau/shared';

// The merge's decisions about sites and their conflicts, apart from any I/O:
// given the mapping file (which of the second fleet's sites are kept, renamed
// or merged into one of ours) and what both registries hold, where does every
// source site go, and what stops the merge before a row is written.

/** One source site's fate in the mapping file. */
export const SiteFateSchema = Type.Union([
  /** Kept under its own id, name and parent (a parent merged away maps with it). */
  Type.Literal('keep'),
  /** Merged into a site of the target (a merged commune): its boxes and history go there. */
  Type.Object({ into: SiteIdSchema }, { additionalProperties: false }),
  /** Kept, renamed: a new id, name or parent (null: top level); what is not given stays. */
  Type.Object(
    {
      id: Type.Optional(SiteIdSchema),
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      parentId: Type.Optional(Type.Union([SiteIdSchema, Type.Null()])),
    },
    { additionalProperties: false },
  ),
]);
export type SiteFateEntry = Static<typeof SiteFateSchema>;

export const MergeMappingSchema = Type.Object(
  {
    v: Type.Literal(1),
    /**
     * A source site the file does not list: `refuse` (the default) stops the
     * merge and names it; `keep` keeps it as it is; `same-id` merges it into
     * the target's site with the same id.
     */
    unlisted: Type.Optional(Type.Union([Type.Literal('refuse'), Type.Literal('keep'), Type.Literal('same-id')])),
    sites: Type.Record(Type.String(), SiteFateSchema),
  },
  { additionalProperties: false },
);
export type MergeMapping = Static<typeof MergeMappingSchema>;

export interface SourceSite {
  id: string;
  name: string;
  kind: string;
  parentId: string | null;
}

/** What the merge must know of both registries to decide. */
export interface MergeFacts {
  source: {
    sites: SourceSite[];
    /** Live (not revoked) devices: id and serial. */
    devices: { id: string; siteId: string; serial: string | null; revoked: boolean }[];
    preregisteredSerials: string[];
  };
  target: {
    siteIds: string[];
    kinds: string[];
    deviceIds: string[];
    liveSerials: string[];
    preregisteredSerials: string[];
  };
}

/** Where one source site goes. */
export type SiteFate =
  | { action: 'keep'; id: string; name: string; parentId: string | null; renamed: boolean }
  | { action: 'into'; id: string };

export interface MergeDecision {
  sites: Map<string, SiteFate>;
  problems: string[];
  summary: { kept: number; renamed: number; mergedInto: number; devices: number; revokedDevices: number };
}

export function planMerge(mapping: MergeMapping, facts: MergeFacts): MergeDecision {
  const problems: string[] = [];
  const targetSites = new Set(facts.target.siteIds);
  const kinds = new Set(facts.target.kinds);
  const byId = new Map(facts.source.sites.map((s) => [s.id, s]));
  for (const id of Object.keys(mapping.sites))
    if (!byId.has(id)) problems.push(`the mapping names site ${id}, which the second fleet does not have`);

  // First the ids every source site ends up under.
  const sites = new Map<string, SiteFate>();
  const newIds = new Map<string, string>();
  for (const s of facts.source.sites) {
    const entry: SiteFateEntry | undefined =
      mapping.sites[s.id] ??
      (mapping.unlisted === 'keep' ? 'keep' : mapping.unlisted === 'same-id' ? { into: s.id } : undefined);
    if (entry === undefined) {
      problems.push(`site ${s.id} (${s.name}) is mapped to nothing: keep it, rename it or merge it into a site`);
      continue;
    }
    if (typeof entry === 'object' && 'into' in entry) {
      if (!targetSites.has(entry.into))
        problems.push(`site ${s.id} is merged into ${entry.into}, which this fleet does not have`);
      sites.set(s.id, { action: 'into', id: entry.into });
      continue;
    }
    const rename = typeof entry === 'object' ? entry : {};
    const id = rename.id ?? s.id;
    if (targetSites.has(id))
      problems.push(`site ${s.id} is kept as ${id}, which this fleet already has: rename it or merge it into it`);
    const other = newIds.get(id);
    if (other !== undefined) problems.push(`sites ${other} and ${s.id} are both kept as ${id}`);
    newIds.set(id, s.id);
    if (!kinds.has(s.kind)) problems.push(`site ${s.id} is of kind ${s.kind}, which this fleet's hierarchy lacks`);
    const renamed = rename.id !== undefined || rename.name !== undefined || rename.parentId !== undefined;
    sites.set(s.id, { action: 'keep', id, name: rename.name ?? s.name, parentId: null, renamed });
  }
  // Then each kept site's parent, under its new id.
  for (const s of facts.source.sites) {
    const fate = sites.get(s.id);
    if (fate?.action !== 'keep') continue;
    const entry = mapping.sites[s.id];
    const given = typeof entry === 'object' && !('into' in entry) ? entry.parentId : undefined;
    if (given !== undefined) {
      if (given !== null && !targetSites.has(given) && !newIds.has(given))
        problems.push(`site ${s.id} goes under ${given}, which is in neither fleet`);
      fate.parentId = given;
    } else {
      fate.parentId = s.parentId === null ? null : (sites.get(s.parentId)?.id ?? null);
    }
  }

  // The boxes: their ids and serials must not meet the target's.
  const targetDevices = new Set(facts.target.deviceIds);
  const liveSerials = new Set(facts.target.liveSerials);
  const preregistered = new Set(facts.target.preregisteredSerials);
  let revoked = 0;
  for (const d of facts.source.devices) {
    if (targetDevices.has(d.id)) problems.push(`device ${d.id} exists in both fleets`);
    if (d.revoked) revoked++;
    else if (d.serial !== null && liveSerials.has(d.serial))
      problems.push(`duplicate serial ${d.serial}: device ${d.id} and a device of this fleet`);
  }
  for (const serial of facts.source.preregisteredSerials)
    if (preregistered.has(serial)) problems.push(`serial ${serial} is pre-registered in both fleets`);

  const fates = [...sites.values()];
  return {
    sites,
    problems,
    summary: {
      kept: fates.filter((f) => f.action === 'keep' && !f.renamed).length,
      renamed: fates.filter((f) => f.action === 'keep' && f.renamed).length,
      mergedInto: fates.filter((f) => f.action === 'into').length,
      devices: facts.source.devices.length - revoked,
      revokedDevices: revoked,
    },
  };
}
