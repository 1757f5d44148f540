// Two provinces' networks become one fleet, end to end. Two real fleets (each
// its own data dir, SQLite registry and broker on ephemeral ports) with live
// agents; `npm run merge-fleet` as a user runs it (a dry run that finds a site
// mapped to nothing, then the merge), the second fleet signs the move, every
// box goes to the first fleet's broker without enrolling again, under its
// new site, with no gap in its telemetry sequence; the old fleet is left
// with no box and is switched off.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import type { HierarchyDataset } from '@diemcau/shared';
import { Agent } from '../../appliance/src/agent/index.js';
import { loadConfig } from '../../appliance/src/config.js';
import { SimulatedCollector } from '../../appliance/src/telemetry/index.js';
import { startTestFleet, waitFor, type TestFleet } from '../../fleet/test/helpers/fleet.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The second province: a people's committee and four communes, two tiers. */
const SECOND: HierarchyDataset = {
  v: 1,
  id: 'ha-giang-mini',
  name: { vi: 'Hà Giang (thử)', en: 'Hà Giang (test)' },
  kinds: [
    { id: 'peoples-committee', label: { vi: 'UBND tỉnh', en: "People's committee" }, parents: [] },
    { id: 'commune', label: { vi: 'Xã', en: 'Commune' }, parents: [] },
  ],
  sites: [
    { id: 'hg-peoples-committee', name: 'UBND tỉnh Hà Giang', kind: 'peoples-committee', parentId: null },
    { id: 'hg-xa-a', name: 'Xã A', kind: 'commune', parentId: null },
    { id: 'hg-xa-b', name: 'Xã B', kind: 'commune', parentId: null },
    { id: 'hg-xa-c', name: 'Xã C', kind: 'commune', parentId: null },
    { id: 'hg-xa-d', name: 'Xã D', kind: 'commune', parentId: null },
  ],
};
const MERGED_COMMUNE = 'yb-city-phuong-dong-tam';
const MAPPING = {
  v: 1,
  unlisted: 'refuse',
  sites: {
    'hg-peoples-committee': { into: 'yb-peoples-committee' },
    'hg-xa-a': 'keep',
    'hg-xa-b': { id: 'tq-xa-b-moi', name: 'Xã B (mới)' },
    'hg-xa-c': { into: MERGED_COMMUNE },
    'hg-xa-d': 'keep',
  },
};
/** Where each of the second fleet's boxes must end up. */
const NEW_SITE: Record<string, string> = { 'hg-xa-a': 'hg-xa-a', 'hg-xa-b': 'tq-xa-b-moi', 'hg-xa-c': MERGED_COMMUNE };

async function startBox(t: Test, f: TestFleet, siteId: string, dir: string): Promise<Agent> {
  const tok = await f.api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, { body: {} });
  const agent = await Agent.start({
    config: loadConfig({
      env: {
        DIEMCAU_FLEET_URL: `http://127.0.0.1:${f.fleet.httpPort}`,
        DIEMCAU_ENROLL_TOKEN: tok.body.token,
        DIEMCAU_DATA_DIR: dir,
        DIEMCAU_HARDWARE: 'simulated',
        DIEMCAU_TELEMETRY_INTERVAL_SEC: '1',
        DIEMCAU_KEEPALIVE_SEC: '5',
      },
    }),
    log: pino({ level: 'silent' }),
    collector: new SimulatedCollector(siteId),
    agentVersion: '0.1.0',
    peripherals: async () => ({ camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'missing' }),
  });
  t.teardown(() => agent.close({ graceful: false }));
  return agent;
}

const device = (f: TestFleet, id: string) =>
  f.api<{ id: string; siteId: string; online: boolean }>('GET', `/api/v1/devices/${id}`);

t.test('two fleets merged: every box moves, online under its new site, no sequence gap', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-merge-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.writeFileSync(path.join(root, 'second.json'), JSON.stringify(SECOND));
  const first = await startTestFleet(t, { dataset: 'yen-bai-two-tier' });
  const second = await startTestFleet(t, { dataset: path.join(root, 'second.json') });
  const firstKey = (await first.api<{ fleetId: string }>('GET', '/api/v1/fleet/identity')).body.fleetId;
  t.not(firstKey, (await second.api<{ fleetId: string }>('GET', '/api/v1/fleet/identity')).body.fleetId);

  const own = await startBox(t, first, 'yb-city-phuong-hong-ha', path.join(root, 'box-own'));
  const boxes = new Map<string, Agent>();
  for (const site of Object.keys(NEW_SITE)) boxes.set(site, await startBox(t, second, site, path.join(root, site)));
  await waitFor(
    async () => {
      for (const a of boxes.values()) if (!(await device(second, a.identity.deviceId)).body.online) return false;
      return (await device(first, own.identity.deviceId)).body.online;
    },
    60_000,
    'every box online on its own fleet',
  );

  // The merge, as a user runs it, against the first fleet's registry while it runs.
  const cli = (args: string[]): Promise<{ code: number; out: string }> =>
    run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/merge-fleet.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DIEMCAU_DATA_DIR: first.dataDir, DIEMCAU_LOG_LEVEL: 'warn' },
    }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => {
        t.comment(`merge-fleet ${args.join(' ')}:\n${e.stdout}${e.stderr}`);
        return { code: e.code, out: e.stdout };
      },
    );
  const from = path.join(second.dataDir, 'fleet.sqlite');
  const mappingFile = path.join(root, 'mapping.json');
  const { 'hg-xa-d': _left, ...incomplete } = MAPPING.sites;
  fs.writeFileSync(mappingFile, JSON.stringify({ ...MAPPING, sites: incomplete }));
  const refused = await cli(['--from', from, '--mapping', mappingFile, '--apply']);
  t.equal(refused.code, 1, 'a site mapped to nothing stops the merge');
  t.match(refused.out, /site hg-xa-d \(Xã D\) is mapped to nothing/);
  fs.writeFileSync(mappingFile, JSON.stringify(MAPPING));
  const dry = await cli(['--from', from, '--mapping', mappingFile]);
  t.equal(dry.code, 0, 'the dry run passes');
  t.match(dry.out, /2 kept, 1 renamed, 2 merged into sites of this fleet; devices: 3/);
  t.match(dry.out, /Nothing was written \(dry run\)/);
  t.equal((await first.api<{ items: unknown[] }>('GET', '/api/v1/devices')).body.items.length, 1, 'dry: nothing');

  const mergeStarted = Date.now();
  const applied = await cli(['--from', from, '--mapping', mappingFile, '--apply']);
  const mergeMs = Date.now() - mergeStarted;
  t.equal(applied.code, 0, 'the merge is applied');
  t.match(applied.out, /devices\s+3 rows/);
  t.same((await first.api('POST', '/api/v1/registry/reload')).body, { sites: 208 + 3, devices: 4 });
  // Boxes go on sampling to the old fleet until they move: let it store some the copy lacks.
  const copied = new Map<string, number>();
  for (const a of boxes.values())
    copied.set(a.identity.deviceId, (await first.fleet.repos.telemetry.latest(a.identity.deviceId, 1))[0]?.seq ?? -1);
  await waitFor(
    async () => {
      for (const [id, seq] of copied)
        if (((await second.fleet.repos.telemetry.latest(id, 1))[0]?.seq ?? -1) <= seq) return false;
      return true;
    },
    30_000,
    'telemetry on the old fleet after the copy',
  );
  for (const [site, a] of boxes) t.equal((await device(first, a.identity.deviceId)).body.siteId, NEW_SITE[site]);

  // The second fleet signs the move, naming the first fleet as it describes itself.
  const identity = (
    await first.api<{ fleetId: string; publicKey: string; fleetUrl: string; mqttUrls: string[] }>(
      'GET',
      '/api/v1/fleet/identity',
    )
  ).body;
  const { fleetId: _id, publicKey, ...rest } = identity;
  const moveStarted = Date.now();
  const moved = await second.api<{ moved: number }>('POST', '/api/v1/fleet/move-out', {
    body: { to: { trust: { fleetId: firstKey, publicKey }, fleetUrl: rest.fleetUrl, mqttUrls: rest.mqttUrls } },
  });
  t.equal(moved.status, 200, JSON.stringify(moved.body));
  t.equal(moved.body.moved, 3);
  await waitFor(
    async () => {
      for (const a of boxes.values()) if (!(await device(first, a.identity.deviceId)).body.online) return false;
      return true;
    },
    60_000,
    'every moved box online on the first fleet',
  );
  const moveMs = Date.now() - moveStarted;
  t.equal(second.fleet.broker.sessionCount, 0, 'no box left on the old fleet');
  for (const a of boxes.values()) {
    t.equal(a.identity.trust?.fleetId, firstKey, 'each box trusts the merged fleet now');
    t.equal(a.session.url, rest.mqttUrls[0], "and is on the merged fleet's broker");
  }

  // Telemetry the old fleet took between the copy and each box's move comes over, then the old fleet goes.
  const seqNow = new Map([...boxes.values()].map((a) => [a.identity.deviceId, 0]));
  await waitFor(
    async () => {
      for (const id of seqNow.keys()) {
        const rows = await first.fleet.repos.telemetry.latest(id, 1);
        if ((rows[0]?.seq ?? 0) < 3) return false;
      }
      return true;
    },
    30_000,
    'telemetry from every moved box on the first fleet',
  );
  const catchUp = await cli(['--from', from, '--mapping', mappingFile, '--apply', '--catch-up']);
  t.equal(catchUp.code, 0, 'the catch-up is applied');
  t.ok(Number(/Written:\s+telemetry\s+(\d+) rows/.exec(catchUp.out)?.[1]) >= boxes.size, 'the catch-up brought rows');
  const firstSeq = new Map<string, number>();
  for (const id of seqNow.keys())
    firstSeq.set(id, Math.min(...(await second.fleet.repos.telemetry.latest(id, 10_000)).map((s) => s.seq)));
  await second.fleet.close();
  for (const id of seqNow.keys()) {
    const seqs = (await first.fleet.repos.telemetry.latest(id, 10_000)).map((s) => s.seq).sort((x, y) => x - y);
    t.ok(seqs.length >= 3, `${id}: telemetry on the merged fleet`);
    t.same(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i),
      `${id}: no gap in the sequence`,
    );
    t.equal(seqs[0], firstSeq.get(id), `${id}: from its first sample on the old fleet`);
  }
  for (const a of [...boxes.values(), own]) t.ok((await device(first, a.identity.deviceId)).body.online, 'online');
  const audit = (await first.api<{ items: { action: string }[] }>('GET', '/api/v1/audit?limit=500')).body.items;
  t.ok(
    audit.some((e) => e.action === 'fleet.merge'),
    'the merge is in the audit log',
  );
  t.comment(`merge of ${boxes.size} boxes: ${mergeMs} ms (command start to end); all moved in ${moveMs} ms`);
});
