import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  codec,
  DiemcauError,
  HierarchyDatasetSchema,
  KINDS_2022,
  LabelSchema,
  SiteIdSchema,
  SiteKindDefSchema,
  SiteKindIdSchema,
  validateDataset,
  type HierarchyDataset,
  type RelayGroup,
  type Site,
} from '@diemcau/shared';
import { yenBaiSites } from './yen-bai.js';
import { fleetPackageDir } from '../package-dir.js';

// The datasets the fleet ships: the seeds' 2022 network and its two-tier
// version, made from it by a mapping file. Both JSON files are generated
// (scripts/make-datasets.ts) and a test checks they still match.

/** The folder of the shipped datasets; a name given to the fleet is a file here. */
export const DATASETS_DIR = path.join(fleetPackageDir(), 'datasets') + path.sep;
export const DEFAULT_DATASET = 'yen-bai-2022';

const datasetCodec = codec(HierarchyDatasetSchema);

/** The seeds as a dataset: province bodies and districts at the top, communes under their district, one relay group per district. */
export function yenBai2022(): HierarchyDataset {
  const sites = yenBaiSites();
  const relayGroups: RelayGroup[] = sites
    .filter((s) => s.kind === 'district')
    .map((d) => ({
      id: d.id,
      name: d.name,
      hubSiteId: d.id,
      siteIds: [d.id, ...sites.filter((s) => s.parentId === d.id).map((s) => s.id)],
    }));
  return {
    v: 1,
    id: 'yen-bai-2022',
    name: { vi: 'Yên Bái (2022: tỉnh, huyện, xã)', en: 'Yên Bái (2022: province, districts, communes)' },
    kinds: KINDS_2022.map((k) => ({ ...k, parents: [...k.parents] })),
    sites,
    relayGroups,
  };
}

export const TierMappingSchema = Type.Object(
  {
    v: Type.Literal(1),
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    name: LabelSchema,
    /** The kinds of the result; every site's kind must be one of them. */
    kinds: Type.Array(SiteKindDefSchema, { minItems: 1 }),
    /** Kind renames applied to every remaining site (old → new). */
    kindMap: Type.Optional(Type.Record(SiteKindIdSchema, SiteKindIdSchema)),
    /**
     * Sites whose level goes away: their children move up to its parent; the
     * site itself is kept as an ordinary site (with `keepAs`) or retired; its
     * former children (and itself when kept) form a relay group behind `hubSiteId`.
     */
    lifted: Type.Array(
      Type.Object(
        {
          siteId: SiteIdSchema,
          keepAs: Type.Optional(
            Type.Object(
              { kind: SiteKindIdSchema, name: Type.String({ minLength: 1 }) },
              { additionalProperties: false },
            ),
          ),
          relayGroup: Type.Object(
            { id: SiteIdSchema, name: Type.String({ minLength: 1 }), hubSiteId: SiteIdSchema },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TierMapping = Static<typeof TierMappingSchema>;

/** Applies a mapping to a dataset; throws FLEET_ERR_BAD_REQUEST listing every problem of the result. */
export function applyTierMapping(from: HierarchyDataset, m: TierMapping): HierarchyDataset {
  const byId = new Map(from.sites.map((s) => [s.id, s]));
  const problems: string[] = [];
  const lifted = new Map(m.lifted.map((l) => [l.siteId, l]));
  for (const l of m.lifted) if (!byId.has(l.siteId)) problems.push(`mapping lifts unknown site ${l.siteId}`);
  // The new parent of a site: skip every lifted ancestor.
  const newParent = (s: Site): string | null => {
    let p = s.parentId;
    while (p !== null && lifted.has(p)) p = byId.get(p)?.parentId ?? null;
    return p;
  };
  const sites: Site[] = [];
  for (const s of from.sites) {
    const l = lifted.get(s.id);
    if (l && !l.keepAs) continue; // retired
    const kind = l?.keepAs?.kind ?? m.kindMap?.[s.kind] ?? s.kind;
    sites.push({ ...s, kind, name: l?.keepAs?.name ?? s.name, parentId: newParent(s) });
  }
  const kept = new Set(sites.map((s) => s.id));
  const relayGroups: RelayGroup[] = m.lifted.map((l) => {
    const formerChildren = from.sites.filter((s) => s.parentId === l.siteId && kept.has(s.id)).map((s) => s.id);
    return { ...l.relayGroup, siteIds: [...(l.keepAs ? [l.siteId] : []), ...formerChildren] };
  });
  const out: HierarchyDataset = { v: 1, id: m.id, name: m.name, kinds: m.kinds, sites, relayGroups };
  problems.push(...validateDataset(out));
  if (problems.length > 0)
    throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `mapping ${m.id}: ${problems.join('; ')}`, {
      details: { problems },
    });
  return out;
}

/** Parses and checks a dataset's text; every problem in one error. */
export function parseDataset(text: string, source: string): HierarchyDataset {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DiemcauError('FLEET_ERR_CONFIG', `dataset ${source} is not JSON`, { cause: err });
  }
  const r = datasetCodec.check(raw);
  if (!r.ok) throw new DiemcauError('FLEET_ERR_CONFIG', `dataset ${source}: ${r.error.message}`, { cause: r.error });
  const problems = validateDataset(r.value);
  if (problems.length > 0) {
    throw new DiemcauError('FLEET_ERR_CONFIG', `dataset ${source} is invalid: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return r.value;
}

/** A shipped dataset by name (`yen-bai-2022`, `yen-bai-two-tier`) or a JSON file by path. */
export function loadDataset(nameOrFile: string): HierarchyDataset {
  const file = /^[a-z0-9][a-z0-9-]*$/.test(nameOrFile)
    ? path.join(DATASETS_DIR, `${nameOrFile}.json`)
    : path.resolve(nameOrFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiemcauError('FLEET_ERR_CONFIG', `dataset ${nameOrFile}: cannot read ${file}`, { cause: err });
  }
  return parseDataset(text, nameOrFile);
}
