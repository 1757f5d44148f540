// A busy day in the seeds' network as meeting specs, each site in one meeting
// at a time: a plenary (the province's leadership and the 9 districts), the
// province's boards and departments in small meetings of two or three, and
// each relay group's communes meeting in twos and threes (hosted at their
// district's edge). 210 sites make 97 such meetings: with every site in one
// meeting and at least two sites a meeting, a bigger plenary means fewer
// meetings (P + 2 x (n - 1) <= 210).
import type { RosterSite } from './roster.js';

export interface DaySpec {
  id: string;
  kind: 'plenary' | 'province' | 'relay group';
  chairSiteId: string;
  siteIds: string[];
}

/** Splits a list into groups of two, the last one taking a third when the count is odd. */
function pairs(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i + 1 < ids.length; i += 2) out.push(ids.slice(i, i + 2));
  if (ids.length % 2 === 1 && out.length > 0) out[out.length - 1]!.push(ids[ids.length - 1]!);
  return out;
}

export function busyDay(roster: RosterSite[]): DaySpec[] {
  const of = (...kinds: string[]): string[] => roster.filter((s) => kinds.includes(s.kind)).map((s) => s.id);
  const leadership = of('party-committee', 'peoples-council', 'peoples-committee');
  const plenary: DaySpec = {
    id: 'plenary',
    kind: 'plenary',
    chairSiteId: 'yb-peoples-committee',
    siteIds: [...leadership, ...of('district')],
  };
  const province = pairs(of('party-board', 'department')).map((ids, i) => ({
    id: `province-${i}`,
    kind: 'province' as const,
    chairSiteId: ids[0]!,
    siteIds: ids,
  }));
  const groups = of('district').flatMap((d) =>
    pairs(roster.filter((s) => s.parentId === d).map((s) => s.id)).map((ids, i) => ({
      id: `${d}-${i}`,
      kind: 'relay group' as const,
      chairSiteId: ids[0]!,
      siteIds: ids,
    })),
  );
  return [plenary, ...province, ...groups];
}
