// `npx tsx bench/commands.ts -- --devices N`: remote commands at province scale.
// One fleet and N simulated boxes (the same Agent and commands code as on a
// box) in this process, on 127.0.0.1 and ephemeral ports. Prints:
//   - fan-out: identify to every box (one request per district, one per
//     province-level box), time until every result is in, per-command p50/p99
//   - offline: every box stopped, a self-test queued for each, boxes started
//     again; time from the restart until every result is in
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildFleet } from '@diemcau/fleet';
import { startSimulation, type Simulation } from '@diemcau/appliance';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const { values } = parseArgs({ options: { devices: { type: 'string', default: '210' } }, allowPositionals: true });
const N = Number(values.devices);
const say = (msg: string): void => void process.stdout.write(`[bench:commands] ${msg}\n`);
const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

interface Cmd {
  id: string;
  status: string;
  issuedAt: string;
  completedAt: string | null;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-bench-cmd-'));
  const fleet = await buildFleet({
    // Every box connects from 127.0.0.1, so the per-address connection cap is lifted (0).
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir: path.join(dir, 'fleet'),
      adminToken: ADMIN,
      logLevel: 'silent',
      mqttMaxConnectionsPerAddress: 0,
    },
  });
  const api = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const res = await fleet.http.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${ADMIN}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json() as T;
  };
  const simOpts = {
    fleetUrl: `http://127.0.0.1:${fleet.httpPort}`,
    adminToken: ADMIN,
    devices: N,
    dataRoot: path.join(dir, 'sim'),
    telemetryIntervalSec: 60,
    keepaliveSec: 10,
    concurrency: 50,
    log: pino({ level: 'silent' }),
  };
  let sim: Simulation | undefined;
  try {
    sim = await startSimulation(simOpts);
    while (sim.connectedCount() < sim.agents.length) await new Promise((r) => setTimeout(r, 100));
    say(`${sim.agents.length} simulated boxes online (all from 127.0.0.1: no cap on MQTT connections per address)`);
    const sites = (
      await api<{ items: { id: string; kind: string; parentId: string | null }[] }>('GET', '/api/v1/sites')
    ).items;
    const devices = (await api<{ items: { id: string; siteId: string }[] }>('GET', '/api/v1/devices')).items;

    const fanOut = async (type: string): Promise<string[]> => {
      const ids: string[] = [];
      for (const d of sites.filter((s) => s.kind === 'district')) {
        const b = await api<{ items: { commandId: string }[] }>('POST', `/api/v1/sites/${d.id}/commands`, {
          type,
        }).catch(() => ({ items: [] }));
        ids.push(...b.items.map((i) => i.commandId));
      }
      const provinceSites = new Set(sites.filter((s) => s.parentId === null && s.kind !== 'district').map((s) => s.id));
      for (const dev of devices.filter((d) => provinceSites.has(d.siteId)))
        ids.push((await api<Cmd>('POST', `/api/v1/devices/${dev.id}/commands`, { type })).id);
      return ids;
    };
    // Read straight from the registry: polling the API for every command would load the very loop we measure.
    const rows = () =>
      fleet.db.all<{ id: string; status: string; issued_at: string; completed_at: string | null }>(
        'SELECT id, status, issued_at, completed_at FROM commands',
      );
    const waitAll = async (ids: string[]): Promise<Cmd[]> => {
      const want = new Set(ids);
      for (;;) {
        const all = (await rows())
          .filter((r) => want.has(r.id))
          .map((r) => ({ id: r.id, status: r.status, issuedAt: r.issued_at, completedAt: r.completed_at }));
        if (all.length === ids.length && all.every((c) => c.completedAt !== null)) return all;
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    let t0 = Date.now();
    const ids = await fanOut('identify');
    const issuedMs = Date.now() - t0;
    const done = await waitAll(ids);
    const lat = done.map((c) => Date.parse(c.completedAt!) - Date.parse(c.issuedAt));
    say(
      `fan-out identify to ${ids.length} boxes: issued in ${issuedMs} ms, all answered after ${Date.now() - t0} ms; per command p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms; ${done.filter((c) => c.status === 'succeeded').length} succeeded`,
    );

    await sim.close({ graceful: true });
    sim = undefined;
    t0 = Date.now();
    const queued = await fanOut('self-test');
    say(`issuing ${queued.length} commands with every box offline (fleet work alone): ${Date.now() - t0} ms`);
    t0 = Date.now();
    sim = await startSimulation({ ...simOpts, adminToken: undefined });
    const back = await waitAll(queued);
    say(
      `offline: ${queued.length} self-tests queued while every box was down; all answered ${Date.now() - t0} ms after the boxes started again (start-up of ${N} agents included); ${back.filter((c) => c.status === 'succeeded').length} succeeded`,
    );
  } finally {
    await sim?.close({ graceful: false });
    await fleet.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
