// The leader on PostgreSQL, with real processes: two fleet nodes on one
// PostgreSQL and one Redis. The leader is stopped (SIGSTOP) while a box's
// offline debounce runs on it; the box comes back at once on the other node,
// which takes the lead. When the old leader wakes, its debounce timer fires
// before it hears anything: unfenced, it would open a false "device offline"
// alert (and send it to the webhook). The store refuses its stale term: no
// alert, no webhook. Then the leader is killed (kill -9) and the other takes
// over. Takeover times are printed, not asserted.
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import t from 'tap';
import type { MqttClient } from 'mqtt';
import type { EnrolResponse } from '@diemcau/shared';
import { connectDevice, waitFor } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';
import { startPostgres } from '../helpers/postgres.js';
import { get, health, nodePorts, post, startNode } from '../helpers/cluster-nodes.js';

const LEASE_MS = 2000;
const DEBOUNCE_MS = 3000;

interface Alert {
  id: number;
  type: string;
  key: string;
  deviceId: string | null;
}
interface Hook {
  event: string;
  data: { id: number; type: string; key: string; updatedAt: string };
}

async function webhookReceiver(t: { teardown(fn: () => unknown): void }) {
  const hooks: Hook[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as Hook);
      res.end('ok');
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => new Promise((r) => srv.close(r)));
  const addr = srv.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`, hooks };
}

t.test('a stalled leader that wakes after a takeover acts no more; kill -9 of the leader is taken over', async (t) => {
  const [pg, redis] = await Promise.all([startPostgres(t), startRedis(t)]);
  const hook = await webhookReceiver(t);
  const { ports } = await nodePorts(['a', 'b'] as const);
  const env = {
    DIEMCAU_DATABASE_URL: await pg.createDatabase(),
    DIEMCAU_REDIS_URL: redis.url,
    DIEMCAU_WEBHOOK_URL: hook.url,
    DIEMCAU_LEADER_LEASE_MS: String(LEASE_MS),
    DIEMCAU_OFFLINE_DEBOUNCE_MS: String(DEBOUNCE_MS),
    DIEMCAU_CLUSTER_HEARTBEAT_MS: '300',
    // Longer than the stall: this test is about the lead, not about node-down alerts.
    DIEMCAU_CLUSTER_NODE_TIMEOUT_MS: '60000',
  };
  const a = await startNode(t, 'a', ports.a, env);
  await waitFor(async () => (await health(a))?.leader, 15_000, 'node a leads');
  const b = await startNode(t, 'b', ports.b, env);

  // One box, on node b.
  const { token } = await post<{ token: string }>(b, '/api/v1/sites/yb-city/enrollment-tokens', {});
  const box = await post<EnrolResponse>(b, '/api/v1/enroll', { token, hardware: { agentVersion: '0.1.0' } });
  const online = async (want: boolean) =>
    (await get<{ online: boolean }>(b, `/api/v1/devices/${box.deviceId}`)).online === want;
  let client: MqttClient = await connectDevice(t, box);
  await waitFor(() => online(true), 10_000, 'the box online, as written by the leader');

  // The box drops; the leader writes it offline and starts the debounce; the leader stalls.
  client.end(true);
  await waitFor(() => online(false), 10_000, 'the leader saw the box go');
  a.proc.child.kill('SIGSTOP');
  const stoppedAt = Date.now();
  t.teardown(() => a.proc.child.kill('SIGCONT'));
  client = await connectDevice(t, box);
  await waitFor(async () => (await health(b))?.leader, 20_000, 'node b takes the lead');
  const takeoverMs = Date.now() - stoppedAt;
  await waitFor(() => online(true), 10_000, 'the box online again, written by the new leader');

  // The old leader wakes: its debounce for the box is long overdue.
  await new Promise((r) => setTimeout(r, Math.max(0, DEBOUNCE_MS + 500 - (Date.now() - stoppedAt))));
  a.proc.child.kill('SIGCONT');
  await waitFor(async () => (await health(a))?.leader === false, 20_000, 'the old leader answers, as a follower');
  await new Promise((r) => setTimeout(r, 1500));
  const alerts = (await get<{ items: Alert[] }>(b, '/api/v1/alerts?limit=1000')).items;
  t.same(
    alerts.filter((x) => x.type === 'device-offline').map((x) => x.key),
    [],
    'no offline alert for a box that was back within the debounce',
  );
  t.same(
    hook.hooks.filter((h) => h.data.type === 'device-offline').map((h) => h.event),
    [],
    'no webhook for it either',
  );
  t.equal((await health(b))?.leader, true, 'node b still leads');
  t.comment(
    `old leader woke: ${/no longer leads/.test(a.proc.output()) ? 'its stale work was refused' : 'it had nothing to do'}`,
  );

  // kill -9 of the leader (now b): a takes over.
  b.proc.child.kill('SIGKILL');
  await b.proc.exited;
  const killedAt = Date.now();
  await waitFor(async () => (await health(a))?.leader, 20_000, 'node a takes the lead back');
  const killTakeoverMs = Date.now() - killedAt;
  t.comment(`takeover after SIGSTOP: ${takeoverMs} ms; after kill -9: ${killTakeoverMs} ms (lease ${LEASE_MS} ms)`);

  // Every alert opened reached the webhook once.
  await waitFor(() => true, 1000, 'settle');
  const opened = hook.hooks.filter((h) => h.event === 'alert-opened').map((h) => h.data.id);
  t.equal(new Set(opened).size, opened.length, 'no alert announced as opened twice');
  client.end(true);
});
