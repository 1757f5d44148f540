import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseSegment } from '../../src/queue/segment-format.js';
import { isOnline, mintToken, provinceSites, startAgent, startFleet, tempDir, until } from './procs.js';

// Nothing lost across a fleet outage: agents keep sampling into their on-disk
// queue while the fleet is down and deliver the backlog in order when it is
// back. Checked through the API the operators use: every sequence number from
// the first to the last is stored.

interface Sample {
  seq: number;
}

/** The samples in an agent's on-disk queue (sent or not, until their segment goes). */
function queued(dataDir: string): Array<Sample & { at: string }> {
  const dir = path.join(dataDir, 'queue');
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .flatMap((name) => parseSegment(fs.readFileSync(path.join(dir, name))).records)
    .filter((r) => r.channel === 'telemetry')
    .map((r) => JSON.parse(r.payload) as Sample & { at: string });
}

/** The newest sample number in an agent's on-disk queue: what it has numbered and stored. */
const newestQueued = (dataDir: string): number => Math.max(-1, ...queued(dataDir).map((x) => x.seq));

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
  // What each agent had numbered and stored by now must all arrive.
  const numbered = agents.map((a) => newestQueued(a.dataDir));
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

t.test('an agent killed (kill -9) and started again numbers on from its queue: no gap, no reuse', async (t) => {
  const root = tempDir(t, 'e2e-agent-crash');
  const fleet = await startFleet(t, { dataDir: path.join(root, 'fleet') });
  const [site] = await provinceSites(fleet, 1);
  const dataDir = path.join(root, 'agent');
  const env = { DIEMCAU_TELEMETRY_INTERVAL_SEC: '1', DIEMCAU_KEEPALIVE_SEC: '4' };
  const first = startAgent(t, { fleetUrl: fleet.url, dataDir, token: await mintToken(fleet, site!), env });
  const id = await first.deviceId();
  const stored = async (): Promise<Array<Sample & { at: string }>> =>
    (await fleet.api<{ items: Array<Sample & { at: string }> }>('GET', `/api/v1/devices/${id}/telemetry?limit=10000`))
      .items;
  await until('three samples stored', async () => (await stored()).length >= 3);
  first.kill('SIGKILL');
  await first.exited;
  const killedAt = Date.now();
  const last = newestQueued(dataDir);
  // The file alone would skip ahead: the number comes from the queue.
  const bound = Number(fs.readFileSync(path.join(dataDir, 'telemetry-seq'), 'utf8'));
  t.ok(bound > last + 1, `the file holds a reserved bound (${bound}) past the newest sample stored (${last})`);

  startAgent(t, { fleetUrl: fleet.url, dataDir, env }); // its identity is on disk: no token
  const all = await until('three samples after the restart', async () => {
    const s = await stored();
    return s.filter((x) => Date.parse(x.at) > killedAt).length >= 3 ? s : undefined;
  });
  // From the agent's own queue, not the fleet's store: the fleet keeps the first sample of a number,
  // so a number used again would hide there.
  const after = queued(dataDir)
    .filter((x) => Date.parse(x.at) > killedAt)
    .map((x) => x.seq);
  t.equal(Math.min(...after), last + 1, 'the first sample after the restart is numbered one past the newest stored');
  const seqs = [...new Set(all.map((x) => x.seq))].sort((x, y) => x - y);
  t.same(seqs, [...Array(seqs.length).keys()], `no gap from 0 to ${seqs.at(-1)}`);
  t.equal(all.length, seqs.length, 'each number once');
});
