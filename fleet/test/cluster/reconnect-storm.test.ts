// The reconnect storm: both fleet nodes (processes, on PostgreSQL and Redis)
// killed with SIGKILL under their boxes and started again. The boxes of one
// simulator reconnect by themselves; those of the other are gone with it (its
// process killed too). Every box that comes back within the grace is no alert;
// the ones still missing at its end are one fleet-reconnect incident listing
// exactly them, never an alert per box.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../helpers/fleet.js';
import { get, health, pgRedisPair, runSim, type Node, type Proc } from '../helpers/cluster-nodes.js';

const BOXES_PER_SIM = 12;
const TOTAL = 2 * BOXES_PER_SIM;

interface Alert {
  type: string;
  key: string;
  state: string;
  details: { devices?: string[] };
}

t.test('a reconnect storm: no alert for boxes back in the grace, one incident for the missing', async (t) => {
  // Long enough for the returning boxes' backoff on a busy machine; the missing ones wait it out.
  const { dataDir, start } = await pgRedisPair(t, { DIEMCAU_STARTUP_GRACE_MS: '20000' });
  const first = { a: await start('a'), b: await start('b') };
  const sim = (n: Node): Proc => runSim(t, n, dataDir, BOXES_PER_SIM, 5);
  const sims = { a: sim(first.a), b: sim(first.b) };
  await waitFor(async () => (await health(first.a))?.devicesOnline === TOTAL, 120_000, `all ${TOTAL} online`);
  // Sim b's boxes, by the identities it stored for them.
  const simDir = join(dataDir, 'sim-b');
  const missing = readdirSync(simDir)
    .map((d) => (JSON.parse(readFileSync(join(simDir, d, 'identity.json'), 'utf8')) as { deviceId: string }).deviceId)
    .sort();
  t.equal(missing.length, BOXES_PER_SIM);

  for (const n of [first.a, first.b]) n.proc.child.kill('SIGKILL');
  sims.b.child.kill('SIGKILL');
  await Promise.all([first.a.proc.exited, first.b.proc.exited, sims.b.exited]);
  const again = { a: await start('a'), b: await start('b') };
  const alerts = async (): Promise<Alert[]> =>
    (await get<{ items: Alert[] }>(again.a, '/api/v1/alerts?limit=1000')).items;
  // The boxes of sim a back on either node, and counted online (stale sessions of the dead nodes ended).
  await waitFor(
    async () => {
      const [ha, hb] = [await health(again.a), await health(again.b)];
      return (ha?.mqttClients ?? 0) + (hb?.mqttClients ?? 0) === BOXES_PER_SIM && ha?.devicesOnline === BOXES_PER_SIM;
    },
    120_000,
    'the returning boxes back',
  );
  // The grace ends: the missing boxes are one incident that lists exactly them.
  await waitFor(
    async () => (await alerts()).find((x) => x.type === 'fleet-reconnect' && x.state === 'open'),
    120_000,
    'the reconnect incident',
  );
  await waitFor(
    async () => {
      const inc = (await alerts()).find((x) => x.type === 'fleet-reconnect' && x.state === 'open');
      // Listed in the order they were found missing.
      const listed = [...((inc?.details.devices as string[] | undefined) ?? [])].sort();
      return JSON.stringify(listed) === JSON.stringify(missing);
    },
    60_000,
    'the incident lists exactly the missing boxes',
  );
  // A node killed is down until it is started again: its alert (if it was judged before it was back) is resolved.
  await waitFor(
    async () => !(await alerts()).some((x) => x.type === 'fleet-node-down' && x.state === 'open'),
    30_000,
    'no node alert left open',
  );
  const all = await alerts();
  t.same(
    all.filter((x) => x.type !== 'fleet-node-down').map((x) => x.key),
    ['fleet-reconnect'],
    'one incident, no alert per box',
    { alerts: all },
  );
  // The registry's write and the incident are separate transactions: the
  // registry follows within moments.
  const offline = async (): Promise<string[]> =>
    (await get<{ items: Array<{ id: string; online: boolean }> }>(again.a, '/api/v1/devices?limit=100')).items
      .filter((d) => !d.online)
      .map((d) => d.id)
      .sort();
  await waitFor(
    async () => JSON.stringify(await offline()) === JSON.stringify(missing),
    15_000,
    'the registry has the missing boxes offline',
  ).catch(() => undefined);
  t.same(await offline(), missing, 'the registry has exactly the missing boxes offline');
});
