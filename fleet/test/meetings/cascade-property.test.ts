// Properties of the cascade over random meetings of the 210-site province.
import t from 'tap';
import fc from 'fast-check';
import { relayGroupOf } from '@diemcau/shared';
import { planCascade } from '../../src/meetings/cascade.js';
import { CORE, edgesFor, province } from './builders.js';

const p = province();
const ids = p.sites.map((s) => s.id);

// Large random meetings, meetings inside one district, and small mixed ones.
const meetings = fc.oneof(
  fc.subarray(ids, { minLength: 1 }),
  fc.constantFrom(...p.districts).chain((d) => fc.subarray([d, ...p.communesOf.get(d)!], { minLength: 1 })),
  fc.uniqueArray(fc.constantFrom(...ids), { minLength: 1, maxLength: 4 }),
);

t.test('every plan is a tree rooted at the host that reaches every participant', async (t) => {
  const withoutSome = fc.subarray(p.districts, { maxLength: 2 });
  fc.assert(
    fc.property(meetings, withoutSome, (siteIds, missing) => {
      const edges = edgesFor(p.sites, missing);
      const plan = planCascade(p.index, edges, { id: 'm', chairSiteId: siteIds[0]!, siteIds });
      const byEdge = new Map(plan.entries.map((e) => [e.edgeId, e]));
      // A tree: one link per non-host edge, no edge twice.
      if (plan.links.length !== plan.entries.length - 1) return false;
      if (byEdge.size !== plan.entries.length) return false;
      for (const siteId of plan.siteIds) {
        const edge = edges.edgeOfSite.get(siteId);
        if (edge === undefined) {
          if (!plan.unreachableSiteIds.includes(siteId)) return false;
          continue;
        }
        if (byEdge.get(edge)?.localSiteId !== siteId) return false;
        // Walk up: reaches the host in at most three hops (commune → district → core).
        let cur = edge;
        for (let hops = 0; cur !== plan.hostEdgeId; hops++) {
          const up = byEdge.get(cur)?.upstreamEdgeId;
          if (!up || hops > 2) return false;
          cur = up;
        }
      }
      // The core is used only when the participants span more than one district
      // (province-level bodies count as outside every district), or when a box is missing.
      const districts = new Set(plan.siteIds.map((s) => relayGroupOf(p.index, s)?.id ?? null));
      const needsCore = plan.siteIds.length > 1 && (districts.size > 1 || districts.has(null));
      if (missing.length === 0 && byEdge.has(CORE) !== needsCore) return false;
      // Every downstream edge names its upstream, and vice versa.
      return plan.entries.every((e) => e.downstreamEdgeIds.every((d) => byEdge.get(d)?.upstreamEdgeId === e.edgeId));
    }),
    { numRuns: 300 },
  );
  t.pass('300 random meetings');
});
