// A room asks to speak with its box's help button during a live meeting: the
// real broker carries the press, the meeting's detail lists it, giving the floor
// or setting it aside answers it; a press outside any meeting is no request.
// The requests are stored: a restarted fleet still shows them. The rooms'
// plans carry the names of the meeting's sites for their TVs.
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { deviceEventCodec, deviceTopic, mediaPlanCodec, type MediaPlan } from '@diemcau/shared';
import { harness, type Harness } from './harness.js';

const call = (h: Harness, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, operator = 'admin') =>
  h.app.inject({ method, url, ...(payload ? { payload } : {}), headers: { 'x-operator': operator } });

let seq = 0;
const press = (h: Harness, box: MqttClient, siteId: string) =>
  box.publishAsync(
    deviceTopic(h.deviceOf(siteId), 'events'),
    deviceEventCodec.encode({
      v: 1,
      kind: 'help-requested',
      id: `ev-${++seq}`,
      at: new Date(h.clock.t).toISOString(),
      source: 'button',
    }),
    { qos: 1 },
  );

/** The meeting's requests once `want` holds (the press crosses the broker asynchronously); bounded. */
async function requestsWhen(h: Harness, id: string, want: (siteIds: string[]) => boolean): Promise<string[]> {
  let last: string[] = [];
  for (let i = 0; i < 100; i++) {
    const body = (await call(h, 'GET', `/api/v1/meetings/${id}`)).json() as { requests: { siteId: string }[] };
    last = body.requests.map((x) => x.siteId);
    if (want(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`requests stayed ${JSON.stringify(last)}`);
}

t.test('help button during a meeting: shown, granted with the floor, set aside', async (t) => {
  const probe = await harness({ online: [] });
  const sites = probe.sites;
  await probe.close();
  const district = sites.find((s) => s.kind === 'district')!;
  const [communeA, communeB] = sites.filter((s) => s.parentId === district.id);
  const outsider = sites.filter((s) => s.kind === 'district')[1]!;
  const h = await harness({ online: [district.id, communeA!.id, communeB!.id, outsider.id] });
  t.teardown(() => h.close());

  // The district's box announces its edge, so its communes' boxes get their plans.
  const districtBox = await h.connect(district.id);
  await districtBox.publishAsync(
    deviceTopic(h.deviceOf(district.id), 'presence'),
    JSON.stringify({ v: 1, state: 'online', at: new Date(h.clock.t).toISOString(), mediaUrl: 'http://10.9.0.1:4443' }),
    { qos: 1, retain: true },
  );
  const created = await call(h, 'POST', '/api/v1/meetings', {
    title: 'Giao ban huyện',
    chairSiteId: district.id,
    siteIds: [communeA!.id, communeB!.id],
  });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;

  const boxA = await h.connect(communeA!.id);
  const boxB = await h.connect(communeB!.id);
  const boxOut = await h.connect(outsider.id);

  await press(h, boxOut, outsider.id);
  await press(h, boxB, communeB!.id);
  await press(h, boxA, communeA!.id);
  await press(h, boxB, communeB!.id);
  t.same(
    await requestsWhen(h, id, (l) => l.length === 2),
    [communeB!.id, communeA!.id],
    'in the order asked, once each; the outsider is in no meeting',
  );
  t.equal(h.meetings.requests.counters.outsideMeeting, 1, 'the press outside a meeting is counted, not listed');

  // A fleet restart keeps them, in order.
  await h.restart();
  t.same(await requestsWhen(h, id, (l) => l.length === 2), [communeB!.id, communeA!.id], 'kept across a restart');

  const floor = await call(h, 'POST', `/api/v1/meetings/${id}/floor`, { siteId: communeB!.id });
  t.equal(floor.statusCode, 200);
  t.equal(floor.json().floorSiteId, communeB!.id);
  t.same(await requestsWhen(h, id, (l) => l.length === 1), [communeA!.id], 'the floor answers the request');

  t.equal(
    (await call(h, 'DELETE', `/api/v1/meetings/${id}/requests/${communeA!.id}`, undefined, 'viewer')).statusCode,
    403,
    'a viewer cannot answer',
  );
  t.equal((await call(h, 'DELETE', `/api/v1/meetings/${id}/requests/${communeA!.id}`)).statusCode, 204);
  t.same(await requestsWhen(h, id, (l) => l.length === 0), [], 'set aside');
  t.equal(
    (await call(h, 'DELETE', `/api/v1/meetings/${id}/requests/${communeA!.id}`)).statusCode,
    404,
    'nothing left to set aside',
  );

  // The rooms' TVs caption pictures with names: the plan of a room's box names the meeting's sites.
  const plan = await new Promise<MediaPlan>((resolve, reject) => {
    const topic = deviceTopic(h.deviceOf(communeA!.id), 'media');
    const guard = setTimeout(() => reject(new Error('no plan')), 10_000);
    boxA.on('message', (got, payload) => {
      const d = mediaPlanCodec.decode(payload);
      if (got === topic && d.ok && d.value.meetings.length === 1) {
        clearTimeout(guard);
        resolve(d.value);
      }
    });
    void boxA.subscribeAsync(topic, { qos: 1 });
  });
  t.same(plan.meetings[0]!.siteNames, {
    [district.id]: district.name,
    [communeA!.id]: communeA!.name,
    [communeB!.id]: communeB!.name,
  });

  const ended = await call(h, 'POST', `/api/v1/meetings/${id}/end`);
  t.equal(ended.statusCode, 200);
  await press(h, boxA, communeA!.id);
  await new Promise((r) => setTimeout(r, 200));
  // Counted since the restart: this node's counter started again.
  t.equal(h.meetings.requests.counters.outsideMeeting, 1, 'after the end, a press is no request to speak');
  t.same(await h.meetings.requests.list(id), [], 'and the ended meeting keeps no request');
});
