// The rollout planner over plain data: rings that follow the hierarchy,
// capacity, meetings, windows, silence and the abort criterion.
import t from 'tap';
import { indexSites, type Site } from '@diemcau/shared';
import {
  abortReason,
  assignRings,
  inWindows,
  planRollout,
  ringProgress,
  type PlanInput,
} from '../../src/ota/rollout-planner.js';
import type { RolloutDevice, RolloutSpec } from '../../src/ota/rollout-model.js';

const site = (id: string, kind: Site['kind'], parentId: string | null = null): Site => ({
  id,
  name: id,
  kind,
  parentId,
});
const sites: Site[] = [
  site('ubnd-tinh', 'peoples-committee'),
  site('huyen-a', 'district'),
  site('xa-a1', 'commune', 'huyen-a'),
  site('xa-a2', 'commune', 'huyen-a'),
  site('xa-a3', 'commune', 'huyen-a'),
  site('huyen-b', 'district'),
  site('xa-b1', 'commune', 'huyen-b'),
  site('xa-b2', 'commune', 'huyen-b'),
];
const index = indexSites(sites);
const devices = sites.map((s) => ({ deviceId: `dev-${s.id}`, siteId: s.id }));

const spec = (over: Partial<RolloutSpec> = {}): RolloutSpec => ({
  release: '1.1.0',
  rings: [
    { name: 'pilot', select: { kind: 'sites', siteIds: ['xa-a1'] }, maxInFlight: 1 },
    { name: 'huyen-a', select: { kind: 'district', districtId: 'huyen-a' }, maxInFlight: 2 },
    { name: 'all', select: { kind: 'rest' }, maxInFlight: 3 },
  ],
  abort: { maxFailureRate: 0.3, minDevices: 2 },
  silentTimeoutMin: 10,
  windows: [],
  utcOffsetMin: 420,
  meetingLeadMin: 30,
  ...over,
});

const NOW = Date.parse('2026-03-02T03:00:00Z'); // 10:00 Monday in Vietnam
const allOnline = new Set(devices.map((d) => d.deviceId));
const input = (over: Partial<PlanInput> & { devices: RolloutDevice[] }): PlanInput => ({
  spec: spec(),
  state: 'running',
  online: allOnline,
  busySites: new Set(),
  now: NOW,
  ...over,
});
const set = (ds: RolloutDevice[], ids: string[], patch: Partial<RolloutDevice>): RolloutDevice[] =>
  ds.map((d) => (ids.includes(d.deviceId) ? { ...d, ...patch } : d));

t.test('rings follow the hierarchy', async (t) => {
  const ds = assignRings(spec(), index, devices);
  const ringOf = (id: string) => ds.find((d) => d.deviceId === `dev-${id}`)?.ring;
  t.equal(ringOf('xa-a1'), 0, 'pilot site');
  t.equal(ringOf('huyen-a'), 1, 'the district box is in its district ring');
  t.equal(ringOf('xa-a2'), 1);
  t.equal(ringOf('xa-b1'), 2, 'everything else');
  t.equal(ringOf('ubnd-tinh'), 2);
  const sub = assignRings(
    spec({ rootSiteId: 'huyen-b', rings: [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 1 }] }),
    index,
    devices,
  );
  t.same(sub.map((d) => d.siteId).sort(), ['huyen-b', 'xa-b1', 'xa-b2'], 'a subtree');
});

t.test('one ring at a time, never more in flight than the ring allows', async (t) => {
  let ds = assignRings(spec(), index, devices);
  let p = planRollout(input({ devices: ds }));
  t.same(p.dispatch, ['dev-xa-a1'], 'pilot first');
  t.equal(p.currentRing, 0);
  ds = set(ds, p.dispatch, { state: 'in-flight', dispatchedAt: NOW });
  t.same(planRollout(input({ devices: ds })).dispatch, [], 'ring 0 full, ring 1 waits');
  ds = set(ds, ['dev-xa-a1'], { state: 'succeeded' });
  p = planRollout(input({ devices: ds }));
  t.equal(p.currentRing, 1);
  t.equal(p.dispatch.length, 2, 'ring 1 allows two');
  t.ok(p.dispatch.every((id) => ['dev-huyen-a', 'dev-xa-a2', 'dev-xa-a3'].includes(id)));
});

t.test('sites in a meeting (or one starting soon) are skipped until free', async (t) => {
  const ds = set(assignRings(spec(), index, devices), ['dev-xa-a1'], { state: 'succeeded' });
  const p = planRollout(input({ devices: ds, busySites: new Set(['huyen-a']) }));
  t.same(p.skippedBusy, ['dev-huyen-a']);
  t.same(p.dispatch, ['dev-xa-a2', 'dev-xa-a3']);
  const later = planRollout(input({ devices: set(ds, p.dispatch, { state: 'succeeded' }) }));
  t.same(later.dispatch, ['dev-huyen-a'], 'taken once the meeting is over');
});

t.test('silent devices count as failed and the failure rate stops the rollout', async (t) => {
  let ds = assignRings(spec(), index, devices);
  ds = set(ds, ['dev-xa-a1'], { state: 'succeeded' });
  ds = set(ds, ['dev-huyen-a', 'dev-xa-a2'], { state: 'in-flight', dispatchedAt: NOW - 11 * 60_000 });
  const p = planRollout(input({ devices: ds }));
  t.same(p.timedOut.sort(), ['dev-huyen-a', 'dev-xa-a2']);
  t.equal(p.state, 'aborted');
  t.match(p.reason, /ring huyen-a: 2 of 2/);
  t.same(p.dispatch, []);
  const recent = set(ds, ['dev-xa-a2'], { lastReportAt: NOW - 60_000 });
  t.same(
    planRollout(input({ devices: recent })).timedOut,
    ['dev-huyen-a'],
    'a device still reporting progress is not silent',
  );
});

t.test('abort criterion needs enough finished devices', async (t) => {
  const ds = set(assignRings(spec(), index, devices), ['dev-xa-a1'], { state: 'failed' });
  t.equal(abortReason(spec(), ds), null, 'one failure out of one is below the minimum');
  t.match(abortReason(spec({ abort: { maxFailureRate: 0.3, minDevices: 1 } }), ds), /ring pilot/);
  const mixed = set(ds, ['dev-huyen-a', 'dev-xa-a2', 'dev-xa-a3'], { state: 'succeeded' });
  t.equal(abortReason(spec(), mixed), null, '1 of 4 is under 30%');
});

t.test('pause, windows, offline devices, completion', async (t) => {
  const ds = assignRings(spec(), index, devices);
  t.same(planRollout(input({ devices: ds, state: 'paused' })).dispatch, [], 'paused');
  const night = spec({ windows: [{ start: '22:00', end: '05:00' }] });
  const p = planRollout(input({ devices: ds, spec: night }));
  t.equal(p.insideWindow, false);
  t.same(p.dispatch, [], 'outside the window');
  t.same(
    planRollout(input({ devices: ds, spec: night, now: Date.parse('2026-03-02T16:30:00Z') })).dispatch,
    ['dev-xa-a1'],
    '23:30 local',
  );
  t.ok(
    inWindows([{ start: '22:00', end: '05:00', days: [1] }], 420, Date.parse('2026-03-02T20:00:00Z')),
    '03:00 Tuesday belongs to Monday night',
  );
  const offlinePilot = planRollout(
    input({ devices: ds, online: new Set([...allOnline].filter((id) => id !== 'dev-xa-a1')) }),
  );
  t.equal(offlinePilot.currentRing, 1, 'an offline pilot does not hold the rollout');
  const done = ds.map((d) => ({ ...d, state: 'succeeded' as const }));
  t.equal(planRollout(input({ devices: done })).state, 'completed');
  t.same(
    ringProgress(spec(), ds).map((r) => r.total),
    [1, 3, 4],
  );
});

t.test('rings follow relay groups, not levels: the hubs first, then a group, then any subtree', async (t) => {
  // Two tiers: every commune at the top; hub-a relays for xa-a1..3 through the box at xa-a1.
  const flat: Site[] = [
    site('ubnd-tinh', 'peoples-committee'),
    site('xa-a1', 'commune'),
    site('xa-a2', 'commune'),
    site('xa-a3', 'commune'),
    site('xa-b1', 'commune'),
    site('xa-b2', 'commune', 'xa-b1'),
  ];
  const flatIndex = indexSites(flat, [
    { id: 'hub-a', name: 'Cụm A', hubSiteId: 'xa-a1', siteIds: ['xa-a1', 'xa-a2', 'xa-a3'] },
    { id: 'hub-b', name: 'Cụm B', hubSiteId: 'xa-b1', siteIds: ['xa-b1'] },
  ]);
  const devs = flat.map((s) => ({ deviceId: `dev-${s.id}`, siteId: s.id }));
  const rings = assignRings(
    spec({
      rings: [
        { name: 'hubs', select: { kind: 'relay-hubs' }, maxInFlight: 2 },
        { name: 'hub-a', select: { kind: 'relay-group', groupId: 'hub-a' }, maxInFlight: 2 },
        { name: 'b', select: { kind: 'subtree', siteId: 'xa-b1' }, maxInFlight: 2 },
        { name: 'rest', select: { kind: 'rest' }, maxInFlight: 2 },
      ],
    }),
    flatIndex,
    devs,
  );
  const ringOf = Object.fromEntries(rings.map((d) => [d.siteId, d.ring]));
  t.same(ringOf, { 'xa-a1': 0, 'xa-b1': 0, 'xa-a2': 1, 'xa-a3': 1, 'xa-b2': 2, 'ubnd-tinh': 3 });
  // The older selector names a hub: in 2022 a district and its communes.
  const legacy = assignRings(
    spec({ rings: [{ name: 'd', select: { kind: 'district', districtId: 'huyen-a' }, maxInFlight: 1 }] }),
    index,
    devices,
  );
  t.same(legacy.map((d) => d.siteId).sort(), ['huyen-a', 'xa-a1', 'xa-a2', 'xa-a3']);
});
