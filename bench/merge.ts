// `npm run bench:merge -- --devices N`: two fleets become one, at scale.
// The second fleet runs the seeds' 2022 network with N simulated boxes (the
// same Agent code as on a box) in this process; the first runs the two-tier
// dataset. Each site of the second maps onto the first's site with the same
// id, the district sites the two-tier network retired onto the province's
// people's committee. Prints the time to merge the registry (one
// transaction), the time from the signed move until every box is online on
// the first fleet, the catch-up, this process's CPU and RSS, and the load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildFleet, type Fleet } from '@diemcau/fleet';
import { startSimulation, type Simulation } from '@diemcau/appliance';
import { mergeFleet } from '../fleet/src/db/import/merge.js';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const { values } = parseArgs({
  options: { devices: { type: 'string', default: '210' }, telemetry: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const N = Number(values.devices);
const say = (msg: string): void => void process.stdout.write(`[bench:merge] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fleetAt(dir: string, dataset: string): Promise<Fleet> {
  return buildFleet({
    // Every box connects from 127.0.0.1, so the per-address connection cap is lifted (0).
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      adminToken: ADMIN,
      logLevel: 'silent',
      dataset,
      mqttMaxConnectionsPerAddress: 0,
    },
  });
}

async function api<T>(fleet: Fleet, method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const res = await fleet.http.inject({
    method,
    url,
    headers: { authorization: `Bearer ${ADMIN}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as T;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-merge-'));
  const first = await fleetAt(path.join(dir, 'first'), 'yen-bai-two-tier');
  const second = await fleetAt(path.join(dir, 'second'), 'yen-bai-2022');
  let sim: Simulation | undefined;
  const cpu0 = process.cpuUsage();
  try {
    sim = await startSimulation({
      fleetUrl: `http://127.0.0.1:${second.httpPort}`,
      adminToken: ADMIN,
      devices: N,
      dataRoot: path.join(dir, 'sim'),
      telemetryIntervalSec: 10,
      keepaliveSec: 10,
      concurrency: 50,
      log: pino({ level: 'silent' }),
    });
    while (sim.connectedCount() < sim.agents.length) await sleep(100);
    say(`${N} boxes online on the second fleet; letting them send ${values.telemetry} samples each`);
    await sleep(Number(values.telemetry) * 10_000);

    const ours = new Set(first.sites.all().map((s) => s.id));
    const sites: Record<string, { into: string }> = {};
    for (const s of second.sites.all()) sites[s.id] = { into: ours.has(s.id) ? s.id : 'yb-peoples-committee' };
    let t0 = Date.now();
    const merged = await mergeFleet({
      config: { dataDir: path.join(dir, 'first'), dbFile: 'fleet.sqlite', databasePoolSize: 2 },
      from: path.join(dir, 'second', 'fleet.sqlite'),
      mapping: JSON.stringify({ v: 1, sites }),
      apply: true,
      log: pino({ level: 'silent' }),
    });
    const mergeMs = Date.now() - t0;
    if (!merged.result) throw new Error(`not merged: ${merged.plan.problems.join('; ')}`);
    const w = merged.result.written;
    say(
      `merge: ${mergeMs} ms for ${w.devices} boxes, ${w.telemetry} telemetry rows, ${w.audit_log} audit rows, ` +
        `${merged.result.totalRows} rows read in all (one transaction, the first fleet running)`,
    );
    await api(first, 'POST', '/api/v1/registry/reload');

    const id = await api<{ fleetId: string; publicKey: string; fleetUrl: string; mqttUrls: string[] }>(
      first,
      'GET',
      '/api/v1/fleet/identity',
    );
    t0 = Date.now();
    await api(second, 'POST', '/api/v1/fleet/move-out', {
      to: { trust: { fleetId: id.fleetId, publicKey: id.publicKey }, fleetUrl: id.fleetUrl, mqttUrls: id.mqttUrls },
    });
    const signedMs = Date.now() - t0;
    const online = (): Promise<{ n: number } | undefined> =>
      first.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM devices WHERE online = 1');
    while (((await online())?.n ?? 0) < N) await sleep(100);
    const moveMs = Date.now() - t0;
    say(
      `move: statements signed and retained for ${N} boxes in ${signedMs} ms; all ${N} online on the first fleet after ${moveMs} ms`,
    );
    say(`old fleet: ${second.broker.sessionCount} boxes connected`);

    t0 = Date.now();
    const caught = await mergeFleet({
      config: { dataDir: path.join(dir, 'first'), dbFile: 'fleet.sqlite', databasePoolSize: 2 },
      from: path.join(dir, 'second', 'fleet.sqlite'),
      mapping: JSON.stringify({ v: 1, sites }),
      apply: true,
      catchUp: true,
      log: pino({ level: 'silent' }),
    });
    say(`catch-up: ${caught.result?.written.telemetry ?? 0} telemetry rows in ${Date.now() - t0} ms`);
    const cpu = process.cpuUsage(cpu0);
    say(
      `this process (both fleets, ${N} agents, the merge): CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, ` +
        `RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${os.cpus().length} cores`,
    );
  } finally {
    await sim?.close({ graceful: false });
    await first.close();
    await second.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
