import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { isOnline, mintToken, provinceSites, startAgent, startFleet, tempDir, until } from './procs.js';

// Nothing lost across a fleet outage: agents keep sampling into their on-disk
// queue while the fleet is down and deliver the backlog in order when it is
// back. Checked through the API the operators use: every sequence number from
// the first to the last is stored.

interface Sample {
  seq: number;
}

t.test('stopping the fleet for a while and starting it again loses no telemetry', async (t) => {
  const root = tempDir(t, 'e2e-restart');
  const dataDir = path.join(root, 'fleet');
  const env = { DIEMCAU_STARTUP_GRACE_MS: '2000' };
  let fleet = await startFleet(t, { dataDir, env });
  const sites = await provinceSites(fleet, 2);
  const agents = await Promise.all(
    sites.map(async (site, i) =>
      startAgent(t, {
        fleetUrl: fleet.url,
        dataDir: path.join(root, `agent-${i}`),
        token: await mintToken(fleet, site),
        env: { DIEMCAU_TELEMETRY_INTERVAL_SEC: '1', DIEMCAU_KEEPALIVE_SEC: '4' },
      }),
    ),
  );
  const ids = await Promise.all(agents.map((a) => a.deviceId()));
  const stored = async (id: string): Promise<number[]> =>
    (await fleet.api<{ items: Sample[] }>('GET', `/api/v1/devices/${id}/telemetry?limit=10000`)).items.map(
      (s) => s.seq,
    );
  for (const id of ids) await until(`telemetry from ${id}`, async () => (await stored(id)).length >= 2);

  const { httpPort, mqttPort } = fleet;
  await fleet.stop();
  // The agents sample once a second: let a backlog build up, then start the fleet on the same ports.
  await new Promise((r) => setTimeout(r, 6000));
  // What each agent had numbered by now (its persisted next sequence number) must all arrive.
  const numbered = agents.map((a) => Number(fs.readFileSync(path.join(a.dataDir, 'telemetry-seq'), 'utf8')) - 1);
  fleet = await startFleet(t, { dataDir, httpPort, mqttPort, env });
  for (const id of ids) await until(`${id} back online`, () => isOnline(fleet, id));

  for (const [i, id] of ids.entries()) {
    const seqs = await until(`${id} backlog delivered`, async () => {
      const s = await stored(id);
      return Math.max(...s) >= numbered[i]! ? s : undefined;
    });
    t.ok(numbered[i]! >= 5, `${id}: a backlog of samples was numbered while the fleet was down`);
    const sorted = [...new Set(seqs)].sort((x, y) => x - y);
    const missing: number[] = [];
    for (let n = sorted[0]!; n <= sorted.at(-1)!; n++) if (!sorted.includes(n)) missing.push(n);
    t.equal(sorted[0], 0, `${id}: from the first sample`);
    t.same(missing, [], `${id}: no sequence number missing across the outage (0..${sorted.at(-1)})`);
  }
});
