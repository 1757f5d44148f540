// A rolling restart is no outage: two fleet node processes on PostgreSQL and
// Redis, boxes (the real agent, simulated hardware) on both; each node in turn
// is stopped with SIGTERM, as an upgrade does it, and started again. Its boxes
// move to the other node, and once the leader has judged the stopped node gone
// no alert is open: no fleet-node-down, no device alert. Then one node is
// killed with SIGKILL, which is an outage: exactly one fleet-node-down alert.
import t from 'tap';
import { Redis } from 'ioredis';
import { waitFor } from '../helpers/fleet.js';
import { get, health, pgRedisPair, runSim, type Node } from '../helpers/cluster-nodes.js';

const BOXES_PER_NODE = 6;
const TOTAL = 2 * BOXES_PER_NODE;
const NODES_KEY = 'diemcau:nodes';

interface Alert {
  type: string;
  key: string;
  state: string;
}

t.test('rolling restart: SIGTERM opens no alert, SIGKILL opens one', async (t) => {
  const { redis, dataDir, start } = await pgRedisPair(t, { DIEMCAU_OFFLINE_DEBOUNCE_MS: '1000' });
  const r = new Redis(redis.url);
  t.teardown(() => r.disconnect());
  const nodes = { a: await start('a'), b: await start('b') };
  for (const n of [nodes.a, nodes.b]) runSim(t, n, dataDir, BOXES_PER_NODE, 2);
  const allOn = (n: Node, what: string): Promise<unknown> =>
    waitFor(
      async () => {
        const h = await health(n);
        return h?.mqttClients === TOTAL && h.devicesOnline === TOTAL;
      },
      120_000,
      what,
    );
  await waitFor(async () => (await health(nodes.a))?.devicesOnline === TOTAL, 120_000, `all ${TOTAL} online`);

  const alerts = async (n: Node): Promise<Alert[]> =>
    (await get<{ items: Alert[] }>(n, '/api/v1/alerts?limit=1000')).items;
  /** The node ids in the heartbeat hash that carry a node's name. */
  const idsOf = async (name: string): Promise<string[]> =>
    (await r.hkeys(NODES_KEY)).filter((id) => id.startsWith(`node-${name}~`));
  /**
   * Waits until the leader has judged `gone` (its entry removed from the hash)
   * and then finished that round: the survivor's own beat moves twice more.
   */
  const judged = async (gone: string, survivor: string, what: string): Promise<void> => {
    await waitFor(async () => !(await r.hexists(NODES_KEY, gone)), 60_000, what);
    const [own] = await idsOf(survivor);
    for (let i = 0; i < 2; i++) {
      const beat = await r.hget(NODES_KEY, own!);
      await waitFor(async () => (await r.hget(NODES_KEY, own!)) !== beat, 30_000, `${what}: a beat of ${survivor}`);
    }
  };

  // Each node in turn, the leader first (it hands over the lead as it goes).
  const order: Array<'a' | 'b'> = (await health(nodes.a))?.leader ? ['a', 'b'] : ['b', 'a'];
  for (const name of order) {
    const other = nodes[name === 'a' ? 'b' : 'a'];
    const [stoppingId] = await idsOf(name);
    nodes[name].proc.child.kill('SIGTERM');
    await nodes[name].proc.exited;
    t.equal(nodes[name].proc.child.exitCode, 0, `node ${name} stopped cleanly`, {
      output: nodes[name].proc.output().slice(-3000),
    });
    await allOn(other, `every box on node ${other.name} after node ${name} stopped`);
    await judged(stoppingId!, other.name, `node ${name} judged gone`);
    const open = (await alerts(other)).filter((x) => x.state === 'open');
    t.same(
      open.map((x) => x.key),
      [],
      `no alert after node ${name} stopped gracefully`,
    );
    nodes[name] = await start(name);
  }
  t.same(
    (await alerts(nodes.a)).map((x) => x.key),
    [],
    'no alert opened during the rolling restart',
    { alerts: await get(nodes.a, '/api/v1/alerts?limit=1000') },
  );

  // A node killed is an outage: one alert, for it alone.
  const [victim, survivor] = (await health(nodes.a))?.leader ? [nodes.b, nodes.a] : [nodes.a, nodes.b];
  const [victimId] = await idsOf(victim.name);
  victim.proc.child.kill('SIGKILL');
  await victim.proc.exited;
  await allOn(survivor, `every box on node ${survivor.name} after the kill`);
  await judged(victimId!, survivor.name, `node ${victim.name} judged dead`);
  t.same(
    (await alerts(survivor)).map((x) => x.key),
    [`fleet-node-down:node-${victim.name}`],
    'one alert, for the killed node',
  );
});
