import t from 'tap';
import { mediaPlanCodec } from '@diemcau/shared';
import { planCascade } from '../../src/meetings/cascade.js';
import { linkTokens, mediaPlans, type MediaDirectory, type PlannedMeeting } from '../../src/meetings/media-planner.js';
import { CORE, edgesFor, province } from './builders.js';

const p = province();
const edges = edgesFor(p.sites);
const a = p.communesOf.get('huyen-1')![0]!;
const b = p.communesOf.get('huyen-2')![0]!;

const planned = (
  id: string,
  chair: string,
  siteIds: string[],
  extra: Partial<PlannedMeeting> = {},
): PlannedMeeting => ({
  meetingId: id,
  title: `Meeting ${id}`,
  state: 'live',
  chairSiteId: chair,
  floorSiteId: null,
  rollCallSiteId: null,
  mutedAll: false,
  plan: planCascade(p.index, edges, { id, chairSiteId: chair, siteIds }),
  ...extra,
});
const dir = (unknown: string[] = []): MediaDirectory => ({
  signalUrlOf: (edgeId) => (unknown.includes(edgeId) ? null : `http://${edgeId}.example:4443`),
  tokenFor: linkTokens('test-secret-test-secret'),
});

t.test('every edge of a cascade gets a valid plan whose tokens pair up', async (t) => {
  const m = planned('m1', 'so-1', [a, b], { mutedAll: true, floorSiteId: a, rollCallSiteId: b });
  const { plans, waiting } = mediaPlans([m], dir());
  t.same(waiting, []);
  t.same([...plans.keys()].sort(), [CORE, `e-${a}`, `e-${b}`, 'e-huyen-1', 'e-huyen-2', 'e-so-1'].sort());
  for (const [edgeId, body] of plans) {
    const checked = mediaPlanCodec.check({ ...body, revision: 1 });
    t.ok(checked.ok, `${edgeId} plan matches the schema`);
    t.equal(body.edgeId, edgeId);
  }
  const core = plans.get(CORE)!.meetings[0]!;
  t.match(core, {
    role: 'host',
    upstream: null,
    localSiteId: null,
    mutedAll: true,
    floorSiteId: a,
    rollCallSiteId: b,
    chairSiteId: 'so-1',
    state: 'live',
  });
  const district = plans.get('e-huyen-1')!.meetings[0]!;
  t.match(district, {
    role: 'relay',
    localSiteId: null,
    upstream: { edgeId: CORE, signalUrl: `http://${CORE}.example:4443` },
  });
  t.equal(district.upstream!.linkToken, core.acceptToken, 'the district presents what the core accepts');
  const leaf = plans.get(`e-${a}`)!.meetings[0]!;
  t.equal(leaf.acceptToken, null, 'nothing links below a leaf');
  t.equal(leaf.upstream!.linkToken, district.acceptToken);
  t.not(leaf.upstream!.linkToken, district.upstream!.linkToken, 'a commune token does not open the core');
});

t.test('tokens are per meeting', async (t) => {
  const { plans } = mediaPlans([planned('m1', 'so-1', ['so-2']), planned('m2', 'so-3', ['so-4'])], dir());
  const [t1, t2] = plans.get(CORE)!.meetings.map((x) => x.acceptToken);
  t.ok(t1 && t2);
  t.not(t1, t2);
});

t.test('an edge in two meetings gets both, in a stable order', async (t) => {
  const c = p.communesOf.get('huyen-1')![1]!;
  const ms = [planned('m2', 'so-1', [a]), planned('m1', 'so-2', [c])];
  const { plans } = mediaPlans(ms, dir());
  t.same(
    plans.get('e-huyen-1')!.meetings.map((x) => x.meetingId),
    ['m1', 'm2'],
  );
  t.same(mediaPlans([...ms].reverse(), dir()).plans, plans);
});

t.test('an edge whose upstream has no address yet waits for it', async (t) => {
  const { plans, waiting } = mediaPlans([planned('m1', 'so-1', [a])], dir(['e-huyen-1']));
  t.same(waiting, [{ meetingId: 'm1', edgeId: `e-${a}`, upstreamEdgeId: 'e-huyen-1' }]);
  t.notOk(plans.has(`e-${a}`));
  t.ok(plans.has('e-huyen-1'), 'the district still links to the core');
});

t.test('an edge never gets more meetings than the protocol allows; live ones first', async (t) => {
  const ms: PlannedMeeting[] = [];
  for (let i = 0; i < 105; i++) {
    const dep = p.departments[i % 19]!;
    ms.push(planned(`m${String(i).padStart(3, '0')}`, dep, [], { state: i < 7 ? 'scheduled' : 'live' }));
  }
  // Every meeting of one department alone is hosted at its own box; make them meet the core instead.
  const wide = ms.map((m, i) => ({
    ...m,
    plan: planCascade(p.index, edges, { id: m.meetingId, chairSiteId: m.chairSiteId, siteIds: [p.boards[i % 6]!] }),
  }));
  const { plans, dropped } = mediaPlans(wide, dir());
  const core = plans.get(CORE)!;
  t.equal(core.meetings.length, 100);
  t.ok(mediaPlanCodec.check({ ...core, revision: 1 }).ok);
  t.equal(dropped.length, 5);
  t.ok(
    dropped.every((d) => d.edgeId === CORE && Number(d.meetingId.slice(1)) < 7),
    'only scheduled ones wait',
  );
  t.ok(
    core.meetings.every((m, i, all) => i === 0 || all[i - 1]!.meetingId < m.meetingId),
    'still in a stable order',
  );
});
