// The agent's client of a real edge process: plans from MQTT payloads reach the
// edge, bad ones are refused and counted before they get there, stats come back valid.
import t from 'tap';
import { pino } from 'pino';
import { EdgeClient } from '../../src/media/client.js';
import { node, plansFor, spawnEdge } from './helpers.js';

t.test('EdgeClient forwards plans and reads stats', async (t) => {
  const edge = await spawnEdge({ edgeId: 'core', role: 'core' });
  t.teardown(() => edge.kill());
  const published: string[] = [];
  const client = new EdgeClient({ url: edge.url, adminToken: edge.adminToken, log: pino({ level: 'silent' }), publishStats: (j) => { published.push(j); }, statsIntervalMs: 200 });
  t.teardown(() => client.close());

  const [plan] = [...plansFor('m1', [node(edge, null, null)], 'site-x', 3).values()];
  await client.forwardPlan(Buffer.from(JSON.stringify(plan)));
  t.equal((await edge.dump()).rooms[0]?.meetingId, 'm1', 'the edge opened the meeting');

  await client.forwardPlan('{"v":1');
  await client.forwardPlan(JSON.stringify({ ...plan, v: 9 }));
  await client.forwardPlan(JSON.stringify({ ...plan, revision: 2 }));
  t.same(Object.fromEntries(client.refused), { PROTO_ERR_NOT_JSON: 1, PROTO_ERR_VERSION: 1, APPL_ERR_MEDIA_CONFLICT: 1 }, 'refusals counted by code');
  t.equal((await edge.dump()).rooms.length, 1, 'the meeting still runs');

  client.start();
  await new Promise((r) => setTimeout(r, 1000));
  t.ok(published.length > 0, 'stats published while a meeting runs');
  const last = JSON.parse(published.at(-1)!) as { edgeId: string; revision: number; meetings: Array<{ meetingId: string }> };
  t.same([last.edgeId, last.revision, last.meetings[0]?.meetingId], ['core', 3, 'm1']);

  await client.forwardPlan(JSON.stringify({ ...plan, revision: 4, meetings: [] }));
  t.equal((await edge.dump()).rooms.length, 0, 'an empty plan closes the meeting');
});
