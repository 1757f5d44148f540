// The cascade follows relay groups, not levels: for random hierarchies of any
// depth, random relay groupings (not tied to the tree) and random meetings,
// the core's egress is one link per relay group with participants, plus one
// per participant that links to the core directly (in no group, or behind a
// hub without a box). The oracle below computes groups on its own, from the
// rule as documented: a site's group is the one listing it, else its nearest
// listed ancestor's.
import t from 'tap';
import fc from 'fast-check';
import { indexSites, type RelayGroup, type Site } from '@diemcau/shared';
import { planCascade, type EdgeDirectory } from '../../src/meetings/cascade.js';

const CORE = 'core';

interface World {
  sites: Site[];
  groups: RelayGroup[];
  withoutBox: Set<string>;
  meeting: string[];
}

const world: fc.Arbitrary<World> = fc
  .integer({ min: 2, max: 120 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      // Parent of site i: a random earlier site, or none (any depth, many roots).
      parents: fc.array(fc.option(fc.nat(), { freq: 3 }), { minLength: n, maxLength: n }),
      groupCount: fc.integer({ min: 0, max: Math.min(12, n) }),
      // Group of each site: -1 unlisted, else a group index (mod groupCount).
      membership: fc.array(fc.integer({ min: -1, max: 11 }), { minLength: n, maxLength: n }),
      withoutBox: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      // Each site joins with a per-world probability, from a few sites to all of them.
      share: fc.integer({ min: 1, max: 100 }),
      draw: fc.array(fc.nat(99), { minLength: n, maxLength: n }),
    }),
  )
  .map(({ n, parents, groupCount, membership, withoutBox, share, draw }) => {
    const meeting = draw.map((d, i) => (d < share ? i : -1)).filter((i) => i >= 0);
    if (meeting.length === 0) meeting.push(draw[0]! % n);
    const id = (i: number) => `s${i}`;
    const sites: Site[] = Array.from({ length: n }, (_, i) => {
      const p = parents[i];
      return {
        id: id(i),
        name: id(i),
        kind: 'unit',
        parentId: i === 0 || p === null || p === undefined ? null : id(p % i),
      };
    });
    // Hubs are the first sites of each group; the rest join a group at random or stay unlisted.
    const groups: RelayGroup[] = Array.from({ length: groupCount }, (_, g) => ({
      id: `g${g}`,
      name: `G${g}`,
      hubSiteId: id(g),
      siteIds: [id(g)],
    }));
    for (let i = groupCount; i < n; i++) {
      const m = membership[i]!;
      if (m >= 0 && groupCount > 0) groups[m % groupCount]!.siteIds.push(id(i));
    }
    // Every ~10th site has no box (not yet installed); the core always runs.
    const noBox = new Set(sites.filter((_, i) => withoutBox[i] && i % 10 === 3).map((s) => s.id));
    return { sites, groups, withoutBox: noBox, meeting: meeting.map(id) };
  });

/** The rule, independently: listed group, else the nearest listed ancestor's, else none. */
function groupOf(w: World, siteId: string): RelayGroup | null {
  const byId = new Map(w.sites.map((s) => [s.id, s]));
  for (let cur = byId.get(siteId); cur; cur = cur.parentId === null ? undefined : byId.get(cur.parentId)) {
    const g = w.groups.find((x) => x.siteIds.includes(cur!.id));
    if (g) return g;
  }
  return null;
}

const figures = {
  meetings: 0,
  coreHosted: 0,
  participants: 0,
  coreEgress: 0,
  maxParticipants: 0,
  maxEgress: 0,
  sites: 0,
  groups: 0,
};

t.test("the core's egress is one link per relay group with participants, plus direct sites", async (t) => {
  fc.assert(
    fc.property(world, (w) => {
      const edges: EdgeDirectory = {
        coreEdgeId: CORE,
        edgeOfSite: new Map(w.sites.filter((s) => !w.withoutBox.has(s.id)).map((s) => [s.id, `e-${s.id}`])),
      };
      const plan = planCascade(indexSites(w.sites, w.groups), edges, {
        id: 'm',
        chairSiteId: w.meeting[0]!,
        siteIds: w.meeting,
      });
      const reachable = plan.siteIds.filter((s) => edges.edgeOfSite.has(s));
      const groupsWith = new Set<string>();
      let direct = 0;
      for (const s of reachable) {
        const g = groupOf(w, s);
        if (g !== null && edges.edgeOfSite.has(g.hubSiteId)) groupsWith.add(g.id);
        else direct++;
      }
      const core = plan.entries.find((e) => e.edgeId === CORE);
      const egress = core?.downstreamEdgeIds.length ?? 0;
      figures.meetings++;
      figures.sites += w.sites.length;
      figures.groups += w.groups.length;
      if (plan.hostEdgeId === CORE && reachable.length > 0 && core) {
        figures.coreHosted++;
        figures.participants += reachable.length;
        figures.coreEgress += egress;
        figures.maxParticipants = Math.max(figures.maxParticipants, reachable.length);
        figures.maxEgress = Math.max(figures.maxEgress, egress);
        // Hosted at the core: it sends one copy down each of these links.
        return egress === groupsWith.size + direct;
      }
      // Hosted below the core: one participant alone, or every participant behind one hub.
      const one = new Set(reachable.map((s) => groupOf(w, s)?.id ?? `direct:${s}`));
      return (
        reachable.length <= 1 ||
        (one.size === 1 && groupsWith.size === 1 && direct === 0) ||
        (core === undefined && egress === 0 && one.size <= 1)
      );
    }),
    { numRuns: 500, seed: 20250701 },
  );
  t.comment(
    `${figures.meetings} random worlds (mean ${(figures.sites / figures.meetings).toFixed(1)} sites, ${(figures.groups / figures.meetings).toFixed(1)} relay groups); ` +
      `${figures.coreHosted} hosted at the core: mean ${(figures.participants / figures.coreHosted).toFixed(1)} reachable participants, ` +
      `mean core egress ${(figures.coreEgress / figures.coreHosted).toFixed(1)} links (max ${figures.maxEgress} for up to ${figures.maxParticipants} participants)`,
  );
  t.pass('500 random hierarchies, groupings and meetings');
});

t.test('with no level at all (every site at the top), one copy per hub still reaches each group', async (t) => {
  // 100 communes, all top-level, behind 9 hubs: the two-tier province.
  const sites: Site[] = Array.from({ length: 109 }, (_, i) => ({
    id: `c${i}`,
    name: `c${i}`,
    kind: 'commune',
    parentId: null,
  }));
  const groups: RelayGroup[] = Array.from({ length: 9 }, (_, g) => ({
    id: `hub${g}`,
    name: `Hub ${g}`,
    hubSiteId: `c${g}`,
    siteIds: [
      `c${g}`,
      ...sites
        .slice(9)
        .filter((_, i) => i % 9 === g)
        .map((s) => s.id),
    ],
  }));
  const edges: EdgeDirectory = { coreEdgeId: CORE, edgeOfSite: new Map(sites.map((s) => [s.id, `e-${s.id}`])) };
  const communes = sites.slice(9).map((s) => s.id);
  const plan = planCascade(indexSites(sites, groups), edges, { id: 'm', chairSiteId: communes[0]!, siteIds: communes });
  t.equal(plan.hostEdgeId, CORE);
  t.equal(
    plan.entries.find((e) => e.edgeId === CORE)?.downstreamEdgeIds.length,
    9,
    '9 links on the core for 100 communes',
  );
  // Without the relay groups the same tree would put 100 links on the core.
  const flat = planCascade(indexSites(sites, []), edges, { id: 'm', chairSiteId: communes[0]!, siteIds: communes });
  t.equal(flat.entries.find((e) => e.edgeId === CORE)?.downstreamEdgeIds.length, 100);
});
