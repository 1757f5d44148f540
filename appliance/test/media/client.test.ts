// The agent's client of a real edge process: plans from MQTT payloads reach the
// edge, bad ones are refused and counted before they get there, stats come back valid.
import net from 'node:net';
import t from 'tap';
import { pino } from 'pino';
import type { MediaPlan } from '@diemcau/shared';
import { EdgeClient } from '../../src/media/client.js';
import { node, plansFor, spawnEdge, token, until } from './helpers.js';

t.test('EdgeClient forwards plans and reads stats', async (t) => {
  const edge = await spawnEdge({ edgeId: 'core', role: 'core' });
  t.teardown(() => edge.kill());
  const published: string[] = [];
  const client = new EdgeClient({
    url: edge.url,
    adminToken: edge.adminToken,
    log: pino({ level: 'silent' }),
    publishStats: (j) => {
      published.push(j);
    },
    statsIntervalMs: 200,
  });
  t.teardown(() => client.close());

  const [plan] = [...plansFor('m1', [node(edge, null, null)], 'site-x', 3).values()];
  await client.forwardPlan(Buffer.from(JSON.stringify(plan)));
  t.equal((await edge.dump()).rooms[0]?.meetingId, 'm1', 'the edge opened the meeting');

  await client.forwardPlan('{"v":1');
  await client.forwardPlan(JSON.stringify({ ...plan, v: 9 }));
  await client.forwardPlan(JSON.stringify({ ...plan, revision: 2 }));
  t.same(
    Object.fromEntries(client.refused),
    { PROTO_ERR_NOT_JSON: 1, PROTO_ERR_VERSION: 1, APPL_ERR_MEDIA_CONFLICT: 1 },
    'refusals counted by code',
  );
  t.equal((await edge.dump()).rooms.length, 1, 'the meeting still runs');

  client.start();
  await new Promise((r) => setTimeout(r, 1000));
  t.ok(published.length > 0, 'stats published while a meeting runs');
  const last = JSON.parse(published.at(-1)!) as {
    edgeId: string;
    revision: number;
    meetings: Array<{ meetingId: string }>;
  };
  t.same([last.edgeId, last.revision, last.meetings[0]?.meetingId], ['core', 3, 'm1']);

  await client.forwardPlan(JSON.stringify({ ...plan, revision: 4, meetings: [] }));
  t.equal((await edge.dump()).rooms.length, 0, 'an empty plan closes the meeting');
});

t.test('an edge that starts late or restarts gets the newest plan again', async (t) => {
  // A fixed port, so the edge comes back where the client looks for it.
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const adminToken = token();
  const client = new EdgeClient({
    url: `http://127.0.0.1:${port}`,
    adminToken,
    log: pino({ level: 'silent' }),
    statsIntervalMs: 200,
  });
  t.teardown(() => client.close());
  const plan: MediaPlan = {
    v: 1,
    revision: 7,
    edgeId: 'core',
    meetings: [
      {
        meetingId: 'm1',
        title: 'm1',
        role: 'host',
        upstream: null,
        acceptToken: null,
        localSiteId: null,
        chairSiteId: 'site-x',
        floorSiteId: null,
        rollCallSiteId: null,
        mutedAll: false,
        state: 'live',
      },
    ],
  };
  // The box's agent got the retained plan before its edge was up.
  await client.forwardPlan(JSON.stringify(plan));
  t.equal(client.refused.get('APPL_ERR_MEDIA'), 1, 'the edge was unreachable');
  client.start();

  const spawnAt = () =>
    spawnEdge({ edgeId: 'core', role: 'core', adminToken, env: { DIEMCAU_EDGE_PORT: String(port) } });
  let edge = await spawnAt();
  t.teardown(() => edge.kill('SIGKILL'));
  await until('the late edge runs the meeting', async () =>
    (await edge.dump()).rooms[0]?.meetingId === 'm1' ? true : null,
  );
  t.pass('the plan reached the edge without a new MQTT message');

  // The edge crashes and is started again (systemd): it comes back empty and is handed the plan.
  await edge.kill('SIGKILL');
  edge = await spawnAt();
  await until('the restarted edge runs the meeting again', async () =>
    (await edge.dump()).rooms[0]?.meetingId === 'm1' ? true : null,
  );
  t.equal((await edge.stats()).revision, 7, 'at the newest revision');
});
