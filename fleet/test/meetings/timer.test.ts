// The module's own timer: a scheduled meeting goes live on the boxes at its
// start without any API call, woken by the next transition (the periodic
// pass is set far beyond the test so it cannot be what did it).
import t from 'tap';
import { deviceTopic, mediaPlanCodec, type MediaPlan } from '@diemcau/shared';
import { notLeader, type Fence } from '../../src/cluster/leadership.js';
import { harness } from './harness.js';

t.test('a scheduled meeting goes live by itself', async (t) => {
  const probe = await harness({ online: [] });
  const district = probe.sites.find((s) => s.kind === 'district')!.id;
  await probe.close();
  const h = await harness({
    online: [district],
    realTime: true,
    config: { planLeadMin: 0, reconcileIntervalMs: 600_000 },
  });
  t.teardown(() => h.close());

  const box = await h.connect(district);
  const states: string[] = [];
  const live = new Promise<MediaPlan>((resolve, reject) => {
    // Only a guard against hanging the suite; the test waits for an event.
    setTimeout(() => reject(new Error(`never went live; states seen: ${states.join(',')}`)), 20_000).unref();
    box.on('message', (_topic, payload) => {
      const d = mediaPlanCodec.decode(payload);
      if (!d.ok) return;
      states.push(d.value.meetings[0]?.state ?? 'none');
      if (d.value.meetings[0]?.state === 'live') resolve(d.value);
    });
  });
  await box.subscribeAsync(deviceTopic(h.deviceOf(district), 'media'), { qos: 1 });

  const res = await h.app.inject({
    method: 'POST',
    url: '/api/v1/meetings',
    payload: {
      title: 'Soon',
      chairSiteId: district,
      siteIds: [],
      startsAt: new Date(Date.now() + 1500).toISOString(),
      durationMin: 5,
    },
  });
  t.equal(res.statusCode, 201);
  t.equal(res.json().state, 'scheduled');
  const plan = await live;
  t.equal(plan.meetings[0]!.meetingId, res.json().id);
  t.notOk(states.includes('scheduled'), 'no lead time configured: the box hears of it when it starts');
});

t.test('a stalled leader whose term has passed: its clock publishes nothing', async (t) => {
  const probe = await harness({ online: [] });
  const district = probe.sites.find((s) => s.kind === 'district')!.id;
  await probe.close();
  // Its own clock still says it leads; the store refuses its term (store-lease.test.ts shows the store doing so).
  let asked = 0;
  const refused: Fence = () => {
    asked += 1;
    return Promise.reject(notLeader());
  };
  const h = await harness({
    online: [district],
    realTime: true,
    config: { planLeadMin: 0, reconcileIntervalMs: 600_000 },
    isLeader: () => true,
    fence: refused,
  });
  t.teardown(() => h.close());
  const box = await h.connect(district);
  const states: string[] = [];
  box.on('message', (_topic, payload) => {
    const d = mediaPlanCodec.decode(payload);
    if (d.ok) states.push(d.value.meetings[0]?.state ?? 'none');
  });
  await box.subscribeAsync(deviceTopic(h.deviceOf(district), 'media'), { qos: 1 });
  const res = await h.app.inject({
    method: 'POST',
    url: '/api/v1/meetings',
    payload: {
      title: 'Soon',
      chairSiteId: district,
      siteIds: [],
      startsAt: new Date(Date.now() + 1000).toISOString(),
      durationMin: 5,
    },
  });
  t.equal(res.statusCode, 201, 'the API still serves (any node may)');
  // Past the start and the clock's wake-up after it.
  await new Promise((r) => setTimeout(r, 3000));
  t.ok(asked > 0, 'the clock woke and asked the fence');
  t.notOk(states.includes('live'), `the meeting never went live by this node's clock (seen: ${states.join(',')})`);
});
