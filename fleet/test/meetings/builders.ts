// Small builders for the meetings tests: a province shaped like the seeds'
// network (210 sites) and an edge on every site.
import { indexSites, type Site, type SiteIndex } from '@diemcau/shared';
import type { EdgeDirectory } from '../../src/meetings/cascade.js';

export const CORE = 'core';

export interface Province {
  sites: Site[];
  index: SiteIndex;
  districts: string[];
  communesOf: Map<string, string[]>;
  departments: string[];
  boards: string[];
  bodies: string[];
}

/** 1 party committee, 1 people's council, 1 people's committee, 6 boards, 19 departments, 9 districts, 173 communes. */
export function province(): Province {
  const sites: Site[] = [];
  const add = (id: string, kind: Site['kind'], parentId: string | null = null): string => {
    sites.push({ id, name: id, kind, parentId });
    return id;
  };
  const bodies = [add('tinh-uy', 'party-committee'), add('hdnd', 'peoples-council'), add('ubnd', 'peoples-committee')];
  const boards = Array.from({ length: 6 }, (_, i) => add(`ban-${i + 1}`, 'party-board'));
  const departments = Array.from({ length: 19 }, (_, i) => add(`so-${i + 1}`, 'department'));
  const districts = Array.from({ length: 9 }, (_, i) => add(`huyen-${i + 1}`, 'district'));
  const communesOf = new Map<string, string[]>(districts.map((d) => [d, []]));
  for (let i = 0; i < 173; i++) {
    const d = districts[i % 9]!;
    communesOf.get(d)!.push(add(`${d}-xa-${Math.floor(i / 9) + 1}`, 'commune', d));
  }
  return { sites, index: indexSites(sites), districts, communesOf, departments, boards, bodies };
}

/** An edge on every site (id `e-<site>`), unless listed in `without`. */
export function edgesFor(sites: readonly Site[], without: readonly string[] = []): EdgeDirectory {
  const skip = new Set(without);
  return {
    coreEdgeId: CORE,
    edgeOfSite: new Map(sites.filter((s) => !skip.has(s.id)).map((s) => [s.id, `e-${s.id}`])),
  };
}
