import t from 'tap';
import { DiemcauError } from '@diemcau/shared';
import { planCascade, type CascadePlan } from '../../src/meetings/cascade.js';
import { CORE, edgesFor, province } from './builders.js';

const p = province();
const edges = edgesFor(p.sites);
const entry = (plan: CascadePlan, edgeId: string) => plan.entries.find((e) => e.edgeId === edgeId);

t.test('a 210-site meeting puts 9 district links and 28 direct sites on the core', async (t) => {
  const all = p.sites.map((s) => s.id);
  t.equal(all.length, 210);
  const plan = planCascade(p.index, edges, { id: 'm-all', chairSiteId: 'ubnd', siteIds: all });
  t.equal(plan.hostEdgeId, CORE);
  const core = entry(plan, CORE)!;
  t.equal(core.role, 'host');
  t.equal(core.localSiteId, null, 'the core brings in no room of its own');
  t.equal(core.downstreamEdgeIds.length, 9 + 28);
  const direct = [...p.bodies, ...p.boards, ...p.departments, ...p.districts].map((s) => `e-${s}`).sort();
  t.same(core.downstreamEdgeIds, direct);
  t.equal(plan.links.filter((l) => l.upstreamEdgeId === CORE).length, 37);
  for (const d of p.districts) {
    const de = entry(plan, `e-${d}`)!;
    t.equal(de.role, 'relay');
    t.equal(de.upstreamEdgeId, CORE);
    t.equal(de.localSiteId, d);
    t.same(
      de.downstreamEdgeIds,
      p.communesOf
        .get(d)!
        .map((c) => `e-${c}`)
        .sort(),
    );
  }
  const commune = p.communesOf.get('huyen-3')![4]!;
  t.match(entry(plan, `e-${commune}`), { role: 'leaf', upstreamEdgeId: 'e-huyen-3', downstreamEdgeIds: [] });
  t.equal(plan.links.length, 210, 'every site edge has exactly one link up');
  t.equal(plan.entries.length, 211);
  t.same(plan.unreachableSiteIds, []);
});

t.test("a district's own meeting is hosted at the district and never touches the core", async (t) => {
  const d = 'huyen-2';
  const plan = planCascade(p.index, edges, { id: 'm-d', chairSiteId: d, siteIds: p.communesOf.get(d)! });
  t.equal(plan.hostEdgeId, `e-${d}`);
  t.equal(entry(plan, CORE), undefined);
  t.notOk(plan.links.some((l) => l.upstreamEdgeId === CORE || l.downstreamEdgeId === CORE));
  t.equal(plan.links.length, p.communesOf.get(d)!.length);
  t.match(entry(plan, `e-${d}`), { role: 'host', localSiteId: d, upstreamEdgeId: null });
});

t.test('communes of one district without the district itself: the district edge only relays', async (t) => {
  const [a, b] = p.communesOf.get('huyen-4')!;
  const plan = planCascade(p.index, edges, { id: 'm', chairSiteId: a!, siteIds: [b!] });
  t.equal(plan.hostEdgeId, 'e-huyen-4');
  t.match(entry(plan, 'e-huyen-4'), { role: 'host', localSiteId: null });
  t.equal(entry(plan, CORE), undefined);
});

t.test("a commune's meeting with its district", async (t) => {
  const c = p.communesOf.get('huyen-5')![0]!;
  const plan = planCascade(p.index, edges, { id: 'm', chairSiteId: 'huyen-5', siteIds: [c] });
  t.equal(plan.hostEdgeId, 'e-huyen-5');
  t.same(plan.links, [{ upstreamEdgeId: 'e-huyen-5', downstreamEdgeId: `e-${c}` }]);
  t.match(entry(plan, `e-${c}`), { role: 'leaf', localSiteId: c });
});

t.test('a meeting within one commune stays at that commune', async (t) => {
  const c = p.communesOf.get('huyen-1')![2]!;
  const plan = planCascade(p.index, edges, { id: 'm', chairSiteId: c, siteIds: [c, c] });
  t.equal(plan.hostEdgeId, `e-${c}`);
  t.same(plan.links, []);
  t.same(plan.entries, [
    { edgeId: `e-${c}`, role: 'host', localSiteId: c, upstreamEdgeId: null, downstreamEdgeIds: [] },
  ]);
});

t.test('communes of two districts meet through both district edges and the core', async (t) => {
  const a = p.communesOf.get('huyen-1')![0]!;
  const b = p.communesOf.get('huyen-2')![0]!;
  const plan = planCascade(p.index, edges, { id: 'm', chairSiteId: a, siteIds: [b] });
  t.equal(plan.hostEdgeId, CORE);
  t.match(entry(plan, 'e-huyen-1'), { role: 'relay', localSiteId: null, upstreamEdgeId: CORE });
  t.match(entry(plan, 'e-huyen-2'), { role: 'relay', localSiteId: null, upstreamEdgeId: CORE });
  t.equal(plan.links.length, 4);
});

t.test('a department meeting a commune goes through the core', async (t) => {
  const c = p.communesOf.get('huyen-7')![1]!;
  const plan = planCascade(p.index, edges, { id: 'm', chairSiteId: 'so-3', siteIds: [c] });
  t.equal(plan.hostEdgeId, CORE);
  t.match(entry(plan, 'e-so-3'), { role: 'leaf', upstreamEdgeId: CORE });
  t.match(entry(plan, `e-${c}`), { role: 'leaf', upstreamEdgeId: 'e-huyen-7' });
});

t.test('unknown sites are an error that names them', async (t) => {
  const err = t.throws(() =>
    planCascade(p.index, edges, { id: 'm', chairSiteId: 'nope', siteIds: ['so-1', 'also-nope'] }),
  );
  t.ok(err instanceof DiemcauError);
  t.equal((err as DiemcauError).code, 'FLEET_ERR_UNKNOWN_SITE');
  t.same((err as DiemcauError).details, { siteIds: ['also-nope', 'nope'] });
  t.match((err as DiemcauError).message, /also-nope, nope/);
});

t.test('a district without a box: its communes link to the core, the district is unreachable', async (t) => {
  const partial = edgesFor(p.sites, ['huyen-6']);
  const communes = p.communesOf.get('huyen-6')!;
  const plan = planCascade(p.index, partial, { id: 'm', chairSiteId: 'huyen-6', siteIds: communes });
  t.equal(plan.hostEdgeId, CORE);
  t.same(plan.unreachableSiteIds, ['huyen-6']);
  t.equal(entry(plan, CORE)!.downstreamEdgeIds.length, communes.length);
});

t.test('equal inputs give equal plans whatever the order of participants', async (t) => {
  const ids = p.sites.slice(0, 60).map((s) => s.id);
  const a = planCascade(p.index, edges, { id: 'm', chairSiteId: 'ubnd', siteIds: ids });
  const b = planCascade(p.index, edges, { id: 'm', chairSiteId: 'ubnd', siteIds: [...ids].reverse() });
  t.same(a, b);
});
