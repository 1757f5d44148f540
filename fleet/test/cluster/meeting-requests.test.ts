// Two fleet node processes behind one load balancer (PostgreSQL and Redis):
// what reaches one node must be what the other answers from. A commune's box
// is connected to node A (its district's to B) and presses its help button during a meeting; the
// chair's console reads node B, sees the request and gives the floor through
// B, and A then lists it answered. A join link issued through A is listed and
// revoked through B, and the plan the box receives on A carries the
// revocation. Both were kept in one node's memory once: B saw nothing.
import t from 'tap';
import mqtt from 'mqtt';
import { deviceEventCodec, deviceTopic, mediaPlanCodec, type EnrolResponse, type Site } from '@diemcau/shared';
import { waitFor } from '../helpers/fleet.js';
import { auth, get, pgRedisPair, post, type Node } from '../helpers/cluster-nodes.js';

interface Detail {
  floorSiteId: string | null;
  requests: Array<{ siteId: string; source: string; at: string }>;
}

async function enrolOn(node: Node, siteId: string): Promise<EnrolResponse> {
  const { token } = await post<{ token: string }>(node, `/api/v1/sites/${siteId}/enrollment-tokens`, {});
  const res = await fetch(`${node.base}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, hardware: { agentVersion: '0.1.0' } }),
  });
  if (res.status !== 200) throw new Error(`enrol: ${res.status} ${await res.text()}`);
  return (await res.json()) as EnrolResponse;
}

t.test('a request to speak and a revocation cross the cluster', async (t) => {
  const { start } = await pgRedisPair(t, {});
  const a = await start('a');
  const b = await start('b');
  const sites = (await get<{ items: Site[] }>(a, '/api/v1/sites')).items;
  const district = sites.find((s) => s.kind === 'district')!;
  const commune = sites.find((s) => s.parentId === district.id)!;

  // The commune's box is connected to node A only, the district's (its upstream edge) to B.
  const online = async (node: Node, siteId: string, mediaUrl: string) => {
    const creds = await enrolOn(node, siteId);
    const box = await mqtt.connectAsync(node.mqttUrl, {
      clientId: creds.deviceId,
      username: creds.mqtt.username,
      password: creds.mqtt.password,
      reconnectPeriod: 0,
    });
    t.teardown(() => box.endAsync(true));
    await box.publishAsync(
      deviceTopic(creds.deviceId, 'presence'),
      JSON.stringify({ v: 1, state: 'online', at: new Date().toISOString(), mediaUrl }),
      { qos: 1, retain: true },
    );
    return { creds, box };
  };
  await online(b, district.id, 'https://127.0.0.1:7443');
  const { creds, box } = await online(a, commune.id, 'https://127.0.0.1:7444');
  const plans: Array<ReturnType<typeof mediaPlanCodec.decode>> = [];
  box.on('message', (_topic, payload) => plans.push(mediaPlanCodec.decode(payload)));
  await box.subscribeAsync(deviceTopic(creds.deviceId, 'media'), { qos: 1 });

  // The meeting is made through B.
  const m = await post<{ id: string }>(b, '/api/v1/meetings', {
    title: 'Giao ban hai nút',
    chairSiteId: district.id,
    siteIds: [commune.id],
    durationMin: 60,
  });
  await waitFor(
    async () => (await get<{ items: Array<{ id: string }> }>(a, '/api/v1/meetings')).items.some((x) => x.id === m.id),
    10_000,
    'A knows the meeting',
  );

  // The box presses its help button: the event reaches node A.
  await box.publishAsync(
    deviceTopic(creds.deviceId, 'events'),
    deviceEventCodec.encode({
      v: 1,
      kind: 'help-requested',
      id: 'ev-cluster-1',
      at: new Date().toISOString(),
      source: 'button',
    }),
    { qos: 1 },
  );
  const seen = await waitFor(
    async () => {
      const d = await get<Detail>(b, `/api/v1/meetings/${m.id}`);
      return d.requests.length > 0 ? d.requests : undefined;
    },
    15_000,
    'the request, read through node B',
  );
  t.same(seen, [{ siteId: commune.id, at: seen[0]!.at, source: 'button' }], 'node B shows the press A took');

  // The chair gives the floor through B; A shows it answered.
  const floor = await post<{ floorSiteId: string }>(b, `/api/v1/meetings/${m.id}/floor`, { siteId: commune.id });
  t.equal(floor.floorSiteId, commune.id);
  const onA = await get<Detail>(a, `/api/v1/meetings/${m.id}`);
  t.same(onA.requests, [], 'answered, as node A sees it');
  t.equal(onA.floorSiteId, commune.id);

  // A join link issued through A, listed and revoked through B.
  const link = await post<{ id: string }>(a, `/api/v1/meetings/${m.id}/join-links`, { siteId: commune.id });
  const listed = await get<{ items: Array<{ id: string; state: string }> }>(b, `/api/v1/meetings/${m.id}/join-links`);
  t.same(
    listed.items.map((l) => [l.id, l.state]),
    [[link.id, 'active']],
    'node B lists the link node A issued',
  );
  const res = await fetch(`${b.base}/api/v1/meetings/${m.id}/join-links/${link.id}`, {
    method: 'DELETE',
    headers: auth,
  });
  t.equal(res.status, 200, 'revoked through node B');
  await waitFor(
    () =>
      plans.some(
        (p) => p.ok && p.value.meetings.some((x) => x.meetingId === m.id && x.revokedLinks?.includes(link.id)),
      ),
    15_000,
    'the plan the box receives on node A carries the revocation',
  );
  t.pass('the box on node A is told');
});
