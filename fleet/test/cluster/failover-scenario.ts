// The whole cluster as it runs: two fleet node processes on one Redis and one
// registry (a shared SQLite file, or PostgreSQL), boxes run by the real agent
// (the simulator) spread over both, then the leader is killed with SIGKILL.
// Every box must be online again on the survivor, with no telemetry lost, a
// command sent during the failover answered, no offline alert for boxes that
// merely moved, and one alert for the dead node.
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';
import { startPostgres } from '../helpers/postgres.js';
import { auth, get, nodePorts, runSim, startNode, type Health, type Node } from '../helpers/cluster-nodes.js';

const BOXES_PER_NODE = 12;

interface Device {
  id: string;
  online: boolean;
}
interface Alert {
  type: string;
  key: string;
  deviceId: string | null;
}

/** The scenario on one registry: 'sqlite' (a file both nodes share) or 'postgres' (one server). */
export async function failover(t: Test, store: 'sqlite' | 'postgres'): Promise<void> {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-failover-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const registry: Record<string, string> =
    store === 'postgres' ? { DIEMCAU_DATABASE_URL: await (await startPostgres(t)).createDatabase() } : {};
  const { ports, urls } = await nodePorts(['a', 'b'] as const);
  const start = (name: 'a' | 'b'): Promise<Node> =>
    startNode(t, name, ports[name], {
      DIEMCAU_DATA_DIR: dataDir,
      DIEMCAU_REDIS_URL: redis.url,
      DIEMCAU_PUBLIC_MQTT_URLS: urls,
      DIEMCAU_CLUSTER_HEARTBEAT_MS: '500',
      DIEMCAU_CLUSTER_NODE_TIMEOUT_MS: '6000',
      DIEMCAU_LEADER_LEASE_MS: '3000',
      ...registry,
    });
  // One after the other: the first seeds the registry.
  const a = await start('a');
  const b = await start('b');
  const sims = [a, b].map((n) => runSim(t, n, dataDir, BOXES_PER_NODE, 1));
  const total = 2 * BOXES_PER_NODE;
  await waitFor(
    () =>
      get<Health>(a, '/healthz').then(
        (h) => h.devicesOnline === total,
        () => false,
      ),
    120_000,
    `all ${total} online\n${sims.map((s) => s.output()).join('\n')}`,
  );
  const [ha, hb] = [await get<Health>(a, '/healthz'), await get<Health>(b, '/healthz')];
  t.equal(Number(ha.leader) + Number(hb.leader), 1, 'one leader');
  const [leader, survivor] = ha.leader ? [a, b] : [b, a];
  t.comment(
    `boxes: ${JSON.stringify({ a: (await get<{ mqttClients: number }>(a, '/healthz')).mqttClients, b: (await get<{ mqttClients: number }>(b, '/healthz')).mqttClients })}; leader ${leader.name}`,
  );
  const devices = (await get<{ items: Device[] }>(survivor, '/api/v1/devices?limit=1000')).items;
  t.equal(devices.length, total);

  leader.proc.child.kill('SIGKILL');
  await leader.proc.exited;
  const killedAt = Date.now();
  // A command for every box during the failover (some are moving right now).
  const sent = await Promise.all(
    devices.map(async (d) => {
      const res = await fetch(`${survivor.base}/api/v1/devices/${d.id}/commands`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'identify' }),
      });
      return { deviceId: d.id, id: ((await res.json()) as { id: string }).id };
    }),
  );

  await waitFor(
    () =>
      get<Health>(survivor, '/healthz').then(
        (h) => h.leader,
        () => false,
      ),
    20_000,
    'the survivor leads',
  );
  await waitFor(
    async () => {
      const alerts = (await get<{ items: Alert[] }>(survivor, '/api/v1/alerts?state=open')).items;
      return alerts.some((x) => x.type === 'fleet-node-down');
    },
    30_000,
    'the node-down alert',
  );
  await waitFor(
    () =>
      get<Health>(survivor, '/healthz').then(
        (h) => h.mqttClients === total && h.devicesOnline === total,
        () => false,
      ),
    60_000,
    'every box on the survivor',
  );
  t.comment(
    `all ${total} boxes connected to the survivor ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
  );
  const after = (await get<{ items: Device[] }>(survivor, '/api/v1/devices?limit=1000')).items;
  t.equal(after.filter((d) => d.online).length, total, 'every box online in the registry');

  for (const s of sent) {
    await waitFor(
      async () => {
        const cmds = (
          await get<{ items: Array<{ id: string; status: string }> }>(
            survivor,
            `/api/v1/devices/${s.deviceId}/commands`,
          )
        ).items;
        return cmds.find((c) => c.id === s.id && c.status === 'succeeded');
      },
      60_000,
      `command ${s.id} answered`,
    );
  }
  t.pass('every command sent during the failover was answered');

  // Telemetry: the samples of each box carry consecutive sequence numbers (queued while moving, delivered after).
  await new Promise((r) => setTimeout(r, 3000));
  let gaps = 0;
  const gapList: string[] = [];
  for (const d of devices) {
    const seqs = (
      await get<{ items: Array<{ seq: number }> }>(survivor, `/api/v1/devices/${d.id}/telemetry?limit=10000`)
    ).items
      .map((x) => x.seq)
      .sort((x, y) => x - y);
    for (let i = 1; i < seqs.length; i++)
      if (seqs[i] !== seqs[i - 1]! + 1) {
        gaps++;
        gapList.push(`${d.id}: ${seqs[i - 1]} -> ${seqs[i]} (of ${seqs.length})`);
      }
  }
  t.equal(gaps, 0, 'no telemetry sequence gap', { gaps: gapList.slice(0, 10) });

  const alerts = (await get<{ items: Alert[] }>(survivor, '/api/v1/alerts?limit=1000')).items;
  t.same(
    alerts
      .filter((x) => x.type === 'device-offline' || x.type === 'flapping' || x.type === 'district-outage')
      .map((x) => x.key),
    [],
    'no offline alert for boxes that moved',
  );
  t.same(
    alerts.filter((x) => x.type === 'fleet-node-down').map((x) => x.key),
    [`fleet-node-down:node-${leader.name}`],
    'one alert for the dead node',
  );
}
