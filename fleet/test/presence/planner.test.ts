import t from 'tap';
import {
  emptyRulesState,
  forgetDevice,
  planPresence,
  type AlertAction,
  type PresenceRef,
  type RulesConfig,
  type RulesState,
} from '../../src/presence/planner.js';

const cfg: RulesConfig = {
  offlineDebounceMs: 300,
  flapWindowMs: 60_000,
  flapThreshold: 6,
  districtWindowMs: 30_000,
  districtFraction: 0.6,
  districtMinDevices: 3,
};

/** A small world: devices d0..dN in district "dist" (size N) and one province-level device. */
function world(districtSize = 10) {
  const state: RulesState = emptyRulesState();
  const dev = (i: number): PresenceRef => ({ deviceId: `d${i}`, siteId: `dist-c${i}`, groupId: 'dist' });
  const province: PresenceRef = { deviceId: 'p1', siteId: 'yb-dept-health', groupId: null };
  const ctx = { groupSize: () => districtSize };
  const all: AlertAction[] = [];
  const step = (input: Parameters<typeof planPresence>[1]) => {
    const plan = planPresence(state, input, cfg, ctx);
    all.push(...plan.actions);
    return plan;
  };
  const up = (ref: PresenceRef, at: number) => step({ kind: 'presence', device: ref, online: true, at });
  const down = (ref: PresenceRef, at: number) => step({ kind: 'presence', device: ref, online: false, at });
  const tick = (at: number) => step({ kind: 'tick', at });
  return { state, dev, province, up, down, tick, step, all };
}

const opened = (actions: AlertAction[], type?: string) =>
  actions.filter(
    (a): a is Extract<AlertAction, { action: 'open' }> =>
      a.action === 'open' && (type === undefined || a.type === type),
  );

t.test('a crash opens device-offline after the debounce, and returning resolves it', async (t) => {
  const w = world();
  w.up(w.province, 0);
  const plan = w.down(w.province, 1000);
  t.same(plan.actions, [], 'nothing during the debounce');
  t.equal(plan.wakeAt, 1300, 'asks to be woken when the debounce ends');
  t.same(w.tick(1299).actions, [], 'not yet');
  const fired = w.tick(1300).actions;
  t.equal(opened(fired, 'device-offline').length, 1);
  t.match(fired[0], { key: 'device-offline:p1', siteId: 'yb-dept-health', deviceId: 'p1' });
  const back = w.up(w.province, 5000).actions;
  t.same(back, [{ action: 'resolve', key: 'device-offline:p1', resolution: 'device back online' }]);
});

t.test('a blip shorter than the debounce opens nothing', async (t) => {
  const w = world();
  w.up(w.province, 0);
  w.down(w.province, 1000);
  w.up(w.province, 1200);
  const plan = w.tick(2000);
  t.same(w.all, []);
  t.equal(plan.wakeAt, null, 'nothing pending');
});

t.test('repeated signals (disconnect after will, birth after connect) count once', async (t) => {
  const w = world();
  w.up(w.province, 0);
  w.up(w.province, 1);
  w.down(w.province, 10);
  w.down(w.province, 20);
  w.tick(400);
  t.equal(opened(w.all).length, 1);
  t.equal(w.state.devices.get('p1')!.transitions.length, 1);
});

t.test('flapping opens one flapping alert instead of a storm, and calms down', async (t) => {
  const w = world();
  w.up(w.province, 0);
  let at = 0;
  for (let i = 0; i < 10; i++) {
    at += 1000;
    w.down(w.province, at);
    w.tick(at + 500); // past the debounce each time
    at += 1000;
    w.up(w.province, at);
  }
  const flaps = opened(w.all, 'flapping');
  t.equal(flaps.length, 1, 'one flapping alert');
  const offline = opened(w.all, 'device-offline');
  t.ok(offline.length < 6, `device-offline alerts stop once flapping (${offline.length})`);
  const after = w.all.length;
  w.down(w.province, at + 1000);
  w.tick(at + 2000);
  t.equal(w.all.length, after, 'no device-offline while flapping');
  // Quiet for a whole window: flapping resolves; the device is down, so it gets its offline alert.
  const calm = w.tick(at + 1000 + cfg.flapWindowMs).actions;
  t.match(calm, [
    { action: 'resolve', key: 'flapping:p1' },
    { action: 'open', type: 'device-offline', key: 'device-offline:p1' },
  ]);
});

t.test('most of a district dropping opens one district-outage listing them', async (t) => {
  const w = world(10);
  for (let i = 0; i < 10; i++) w.up(w.dev(i), 0);
  // The first two drop and get their own alerts (nothing says "district" yet)...
  w.down(w.dev(0), 1000);
  w.down(w.dev(1), 1100);
  w.tick(2000);
  t.equal(opened(w.all, 'device-offline').length, 2);
  // ...then the rest of a 60% share within the window: one incident.
  for (let i = 2; i < 6; i++) w.down(w.dev(i), 2000 + i * 100);
  const incident = opened(w.all, 'district-outage');
  t.equal(incident.length, 1);
  t.match(incident[0], { key: 'district-outage:dist', siteId: 'dist', severity: 'critical' });
  t.same((incident[0]!.details.devices as string[]).sort(), ['d0', 'd1', 'd2', 'd3', 'd4', 'd5']);
  const merged = w.all.filter((a) => a.action === 'resolve' && a.resolution.startsWith('merged'));
  t.equal(merged.length, 2, 'the early alerts are folded into the incident');
  // Later drops join the incident; no new device-offline alerts.
  w.down(w.dev(6), 9000);
  w.tick(20_000);
  t.equal(opened(w.all, 'device-offline').length, 2, 'still only the two early ones');
  t.ok(w.all.some((a) => a.action === 'update' && a.key === 'district-outage:dist'));
});

t.test('a district incident resolves when the district is back; stragglers get their own alert', async (t) => {
  const w = world(10);
  for (let i = 0; i < 10; i++) w.up(w.dev(i), 0);
  for (let i = 0; i < 8; i++) w.down(w.dev(i), 1000 + i);
  t.equal(opened(w.all, 'district-outage').length, 1);
  for (let i = 0; i < 5; i++) w.up(w.dev(i), 60_000 + i);
  t.notOk(
    w.all.some((a) => a.action === 'resolve' && a.key === 'district-outage:dist'),
    '3 still down: the incident stays',
  );
  w.up(w.dev(5), 61_000);
  t.ok(
    w.all.some((a) => a.action === 'resolve' && a.key === 'district-outage:dist'),
    'below 3 down: resolved',
  );
  w.tick(61_000);
  const own = opened(w.all, 'device-offline').map((a) => a.deviceId);
  t.same(own, ['d6', 'd7'], 'those still down are alerted on their own');
  t.equal(opened(w.all, 'district-outage').length, 1);
});

t.test('drops spread wider than the window are not correlated', async (t) => {
  const w = world(10);
  for (let i = 0; i < 10; i++) w.up(w.dev(i), 0);
  for (let i = 0; i < 6; i++) {
    w.down(w.dev(i), 1000 + i * 40_000);
    w.tick(1000 + i * 40_000 + 1000);
  }
  t.equal(opened(w.all, 'district-outage').length, 0);
  t.equal(opened(w.all, 'device-offline').length, 6);
});

t.test('province-level devices are never correlated', async (t) => {
  const w = world(1);
  w.up(w.province, 0);
  w.down(w.province, 10);
  w.tick(1000);
  t.same(
    opened(w.all).map((a) => a.type),
    ['device-offline'],
  );
});

t.test('a small district needs at least districtMinDevices drops', async (t) => {
  const w = world(2);
  w.up(w.dev(0), 0);
  w.up(w.dev(1), 0);
  w.down(w.dev(0), 100);
  w.down(w.dev(1), 100);
  w.tick(1000);
  t.same(
    opened(w.all).map((a) => a.type),
    ['device-offline', 'device-offline'],
    '2 of 2 is 100% but below the minimum of 3',
  );
});

t.test('a revoked device closes its alerts and leaves its district incident', async (t) => {
  const w = world(5);
  for (let i = 0; i < 5; i++) w.up(w.dev(i), 0);
  for (let i = 0; i < 3; i++) w.down(w.dev(i), 100 + i);
  t.equal(opened(w.all, 'district-outage').length, 1, '3 of 5 down: incident');
  const plan = forgetDevice(w.state, 'd0', 200, cfg);
  t.match(plan.actions, [{ action: 'resolve', key: 'district-outage:dist' }], 'only 2 left down: below the minimum');
  t.equal(plan.wakeAt, 200, 'the two left get their own alerts at once');
  const own = opened(w.tick(200).actions, 'device-offline').map((a) => a.deviceId);
  t.same(own, ['d1', 'd2']);
  t.same(forgetDevice(w.state, 'd1', 300, cfg).actions, [
    { action: 'resolve', key: 'device-offline:d1', resolution: 'device revoked' },
  ]);
  t.notOk(w.state.devices.has('d1'));
});

t.test("a relay group's outage is raised at its hub's site and says how many sites are behind it", async (t) => {
  const state: RulesState = emptyRulesState();
  // Two tiers: the group's id is no site; its hub is a commune's box.
  const ctx = {
    groupSize: () => 5,
    groupInfo: (id: string) =>
      id === 'hub-tram-tau' ? { hubSiteId: 'tt-tram-tau', name: 'Cụm Trạm Tấu', sites: 11 } : undefined,
  };
  const ref = (i: number): PresenceRef => ({ deviceId: `t${i}`, siteId: `xa-${i}`, groupId: 'hub-tram-tau' });
  const all: AlertAction[] = [];
  for (let i = 0; i < 5; i++) planPresence(state, { kind: 'presence', device: ref(i), online: true, at: 0 }, cfg, ctx);
  for (let i = 0; i < 4; i++)
    all.push(
      ...planPresence(state, { kind: 'presence', device: ref(i), online: false, at: 1000 + i }, cfg, ctx).actions,
    );
  const incident = opened(all, 'district-outage');
  t.equal(incident.length, 1);
  t.match(
    incident[0],
    {
      key: 'district-outage:hub-tram-tau',
      siteId: 'tt-tram-tau',
      details: { relayGroup: 'Cụm Trạm Tấu', hubSiteId: 'tt-tram-tau', sitesBehind: 11, offlineCount: 3 },
    },
    'opened at the third drop (3 of 5)',
  );
});

t.test('boxes late after a reconnect grace are one fleet-reconnect incident, not an alert each', async (t) => {
  // Spread over many relay groups (each its own): no relay group's outage would gather them.
  const w = world(100);
  const boxes = Array.from({ length: 20 }, (_, i): PresenceRef => ({
    deviceId: `b${i}`,
    siteId: `s${i}`,
    groupId: `g${i}`,
  }));
  for (const b of boxes) w.up(b, 0);
  const late = w.step({ kind: 'late', devices: boxes.slice(0, 12), since: 1000, at: 31_000 });
  t.same(
    opened(late.actions).map((a) => [a.type, a.key, a.siteId]),
    [['fleet-reconnect', 'fleet-reconnect', null]],
    'one incident',
  );
  t.match(late.actions[0], { details: { offlineCount: 12, since: new Date(1000).toISOString() } });
  w.tick(40_000);
  t.same(opened(w.all, 'device-offline'), [], 'no box alerted on its own meanwhile');
  for (let i = 0; i < 10; i++) w.up(boxes[i]!, 41_000 + i);
  t.ok(
    w.all.some((a) => a.action === 'resolve' && a.key === 'fleet-reconnect'),
    'below districtMinDevices still missing: resolved',
  );
  w.tick(42_000);
  t.same(
    opened(w.all, 'device-offline').map((a) => a.deviceId),
    ['b10', 'b11'],
    'the two still missing have their own alerts',
  );
});

t.test('a late batch joins the open reconnect incident; a few late boxes alone are ordinary drops', async (t) => {
  const w = world(100);
  const boxes = Array.from({ length: 6 }, (_, i): PresenceRef => ({
    deviceId: `b${i}`,
    siteId: `s${i}`,
    groupId: null,
  }));
  for (const b of boxes) w.up(b, 0);
  const two = w.step({ kind: 'late', devices: boxes.slice(0, 2), since: 1000, at: 31_000 });
  t.same(
    opened(two.actions).map((a) => a.key),
    ['device-offline:b0', 'device-offline:b1'],
    'two late boxes: their own alerts, their debounce long over',
  );
  w.step({ kind: 'late', devices: boxes.slice(2, 5), since: 2000, at: 32_000 });
  const more = w.step({ kind: 'late', devices: [boxes[5]!, boxes[2]!], since: 3000, at: 33_000 });
  t.same(opened(w.all, 'fleet-reconnect').length, 1, 'opened once');
  t.match(more.actions, [{ action: 'update', key: 'fleet-reconnect', details: { offlineCount: 4 } }]);
});

t.test('while the reconnect incident is open, a box that drops joins it instead of its own alert', async (t) => {
  const w = world(100);
  const boxes = Array.from({ length: 8 }, (_, i): PresenceRef => ({
    deviceId: `b${i}`,
    siteId: `s${i}`,
    groupId: `g${i}`,
  }));
  for (const b of boxes) w.up(b, 0);
  w.step({ kind: 'late', devices: boxes.slice(0, 5), since: 1000, at: 31_000 });
  // A member comes back and drops again; a box that was never late drops too.
  w.up(boxes[0]!, 32_000);
  const again = w.down(boxes[0]!, 33_000);
  const other = w.down(boxes[6]!, 34_000);
  w.tick(60_000);
  t.same(opened(w.all, 'device-offline'), [], 'no box alerted on its own');
  t.match(again.actions, [{ action: 'update', key: 'fleet-reconnect', details: { offlineCount: 5 } }]);
  t.match(other.actions, [{ action: 'update', key: 'fleet-reconnect', details: { offlineCount: 6 } }]);
  // All come back: the incident closes; a drop after that is an ordinary one.
  for (const b of [...boxes.slice(0, 5), boxes[6]!]) w.up(b, 61_000);
  t.ok(
    w.all.some((a) => a.action === 'resolve' && a.key === 'fleet-reconnect'),
    'resolved once they are back',
  );
  // (The last two back were handed back as the incident closed, as before: their alerts opened and resolved.)
  const mark = w.all.length;
  w.down(boxes[7]!, 62_000);
  w.tick(63_000);
  t.same(
    opened(w.all.slice(mark), 'device-offline').map((a) => a.deviceId),
    ['b7'],
    'a drop after the storm has its own alert',
  );
});
