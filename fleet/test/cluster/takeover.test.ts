// A change of leader takes presence over as it stands, with real processes:
// two fleet nodes on one PostgreSQL and one Redis, three boxes on node b,
// node a leads. One box drops; the leader writes it offline and starts its
// offline debounce, which lives in its memory only; the leader is killed
// (kill -9) within the debounce. Node b takes the lead and must
// - arm that debounce again: exactly one offline alert opens for the box,
//   none for the others, and no second one later;
// - leave the registry's presence of the boxes still online as it was (no
//   reset and rebuild: their presence times are untouched), so the online
//   count operators read never falls during the takeover.
import t from 'tap';
import type { MqttClient } from 'mqtt';
import type { EnrolResponse } from '@diemcau/shared';
import { connectDevice, waitFor } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';
import { startPostgres } from '../helpers/postgres.js';
import { get, health, nodePorts, post, startNode } from '../helpers/cluster-nodes.js';

const LEASE_MS = 2000;
const DEBOUNCE_MS = 6000;

interface Alert {
  type: string;
  key: string;
  deviceId: string | null;
  state: string;
}
interface Device {
  id: string;
  online: boolean;
  presenceAt: string | null;
}

t.test('the leader killed within a box’s offline debounce: one offline alert, the others untouched', async (t) => {
  const [pg, redis] = await Promise.all([startPostgres(t), startRedis(t)]);
  const { ports } = await nodePorts(['a', 'b'] as const);
  const env = {
    DIEMCAU_DATABASE_URL: await pg.createDatabase(),
    DIEMCAU_REDIS_URL: redis.url,
    DIEMCAU_LEADER_LEASE_MS: String(LEASE_MS),
    DIEMCAU_OFFLINE_DEBOUNCE_MS: String(DEBOUNCE_MS),
    DIEMCAU_CLUSTER_HEARTBEAT_MS: '300',
    // Longer than the test: the dead node's own alert is not what this test is about.
    DIEMCAU_CLUSTER_NODE_TIMEOUT_MS: '120000',
  };
  const a = await startNode(t, 'a', ports.a, env);
  await waitFor(async () => (await health(a))?.leader, 15_000, 'node a leads');
  const b = await startNode(t, 'b', ports.b, env);

  const boxes: EnrolResponse[] = [];
  const clients: MqttClient[] = [];
  for (let i = 0; i < 3; i++) {
    const { token } = await post<{ token: string }>(b, '/api/v1/sites/yb-city/enrollment-tokens', {});
    const box = await post<EnrolResponse>(b, '/api/v1/enroll', { token, hardware: { agentVersion: '0.1.0' } });
    boxes.push(box);
    clients.push(await connectDevice(t, box));
  }
  const devices = async (): Promise<Device[]> =>
    (await get<{ items: Device[] }>(b, '/api/v1/devices')).items.filter((d) => boxes.some((x) => x.deviceId === d.id));
  await waitFor(
    async () => (await devices()).filter((d) => d.online).length === 3,
    15_000,
    'the three boxes online, as written by the leader',
  );
  const [dropped, ...staying] = boxes.map((x) => x.deviceId);
  const before = new Map((await devices()).map((d) => [d.id, d.presenceAt]));

  // The box drops; the leader writes it offline and arms its debounce; the leader dies.
  clients[0]!.end(true);
  await waitFor(
    async () => (await devices()).find((d) => d.id === dropped)?.online === false,
    10_000,
    'the leader saw the box go',
  );
  a.proc.child.kill('SIGKILL');
  const killedAt = Date.now();
  await a.proc.exited;

  // Until node b leads and a little after: the online count as operators read it.
  let fewest = Infinity;
  let led: number | undefined;
  while (led === undefined || Date.now() < led + 2000) {
    if (Date.now() - killedAt > 30_000) throw new Error('node b never took the lead');
    fewest = Math.min(fewest, (await devices()).filter((d) => d.online).length);
    if (led === undefined && (await health(b))?.leader) led = Date.now();
  }
  t.equal(fewest, 2, 'the online count never fell during the takeover');
  const after = new Map((await devices()).map((d) => [d.id, d.presenceAt]));
  t.same(
    staying.map((id) => after.get(id)),
    staying.map((id) => before.get(id)),
    'the boxes still online kept their registry presence (the takeover rewrote nothing right)',
  );

  const offline = async (): Promise<Alert[]> =>
    (await get<{ items: Alert[] }>(b, '/api/v1/alerts?limit=1000')).items.filter((x) => x.type === 'device-offline');
  await waitFor(async () => (await offline()).length > 0, 20_000, 'the offline alert the old leader had pending');
  // Past another debounce: a second decision for the same drop would have opened by now.
  await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 1000));
  t.same(
    (await offline()).map((x) => [x.deviceId, x.state]),
    [[dropped, 'open']],
    'exactly one offline alert, for the box that dropped',
  );
  t.comment(`node b led ${((led - killedAt) / 1000).toFixed(1)} s after the kill (lease ${LEASE_MS} ms)`);
  for (const c of clients) c.end(true);
});
