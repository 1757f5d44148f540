// The readiness check end to end, with real programs: the fleet, the
// province's core edge (its probe echo), and three sites' agents on simulated
// hardware. One site's camera gives a black picture; another sits behind a
// shaped link: its agent runs in a network namespace of its own, joined to
// this host by a veth pair whose namespace end is limited by a token bucket
// (tc tbf) below the probe's rate with a short queue, so the probe loses
// packets there. The namespace and the veth are made here and removed in
// teardown; the host's own interfaces are never touched.
//
// The fleet and the core edge listen on the veth's host-side address (a
// private /30 that exists only for this test): the namespaced box must reach
// them, and a box outside the namespace reaches the same address locally.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { spawnEdge } from '../media/helpers.js';
import { alertsFor, mintToken, provinceSites, startAgent, startFleet, tempDir, until } from './procs.js';

interface BoardSite {
  siteId: string;
  colour: string;
  reasons: { code: string; level: string; vi: string; en: string }[];
  measured: { camera: string; link: { lossRate: number; throughputKbps: number } | null } | null;
}
interface Board {
  counts: Record<string, number>;
  sites: BoardSite[];
}

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

/** A namespace behind a veth pair; returns the addresses, or why it cannot be made here. */
function shapedLink(t: Test): { ns: string; hostIp: string; nsIp: string } | string {
  const id = process.pid % 200;
  const ns = `dcrdy${process.pid}`;
  const hostIf = `dcr${process.pid}h`.slice(0, 15);
  const nsIf = `dcr${process.pid}n`.slice(0, 15);
  const hostIp = `10.231.${id}.1`;
  const nsIp = `10.231.${id}.2`;
  try {
    ip('netns', 'add', ns);
  } catch (err) {
    return `cannot make a network namespace here: ${(err as Error).message.split('\n')[0]}`;
  }
  t.teardown(() => {
    try {
      ip('netns', 'del', ns); // takes the namespace's veth end, and so its peer, with it
    } catch {
      /* already gone */
    }
    try {
      ip('link', 'del', hostIf);
    } catch {
      /* gone with the namespace */
    }
  });
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
  ip('link', 'set', nsIf, 'netns', ns);
  ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
  ip('link', 'set', hostIf, 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
  ip('-n', ns, 'link', 'set', nsIf, 'up');
  // What the box sends towards the province: 2.4 Mbit/s with a 3 kB queue,
  // against a 3 Mbit/s probe. (This kernel may lack netem; tbf drops for real.)
  execFileSync('ip', [
    'netns',
    'exec',
    ns,
    'tc',
    'qdisc',
    'add',
    'dev',
    nsIf,
    'root',
    'tbf',
    'rate',
    '2400kbit',
    'burst',
    '3000',
    'limit',
    '3000',
  ]);
  return { ns, hostIp, nsIp };
}

t.test(
  'a scheduled meeting: a broken camera reads red with an alert, a lossy link amber, a sound site green',
  async (t) => {
    const link = shapedLink(t);
    if (typeof link === 'string') return void t.plan(0, link);
    const root = tempDir(t, 'e2e-readiness');

    const core = await spawnEdge({
      edgeId: 'core',
      role: 'core',
      env: {
        DIEMCAU_EDGE_HOST: link.hostIp,
        DIEMCAU_EDGE_LISTEN_IP: link.hostIp,
        DIEMCAU_EDGE_PLAN_FILE: path.join(root, 'core-plan.json'),
      },
    });
    t.teardown(() => core.kill('SIGKILL'));

    // Thresholds as set here (printed, not hidden): what the shaped link loses
    // (about a fifth of the probe) reads amber rather than red.
    const thresholds = {
      DIEMCAU_READINESS_AMBER_LOSS_PCT: '2',
      DIEMCAU_READINESS_RED_LOSS_PCT: '60',
      DIEMCAU_READINESS_AMBER_BANDWIDTH_PCT: '95',
      DIEMCAU_READINESS_RED_BANDWIDTH_PCT: '30',
      // A loaded test machine delays event loops, not links: round trips are not judged here.
      DIEMCAU_READINESS_AMBER_RTT_MS: '5000',
      DIEMCAU_READINESS_RED_RTT_MS: '9000',
    };
    t.comment(`thresholds: ${JSON.stringify(thresholds)}`);
    const fleet = await startFleet(t, {
      dataDir: path.join(root, 'fleet'),
      host: link.hostIp,
      env: {
        DIEMCAU_CORE_SIGNAL_URL: core.url,
        DIEMCAU_CORE_PLAN_FILE: path.join(root, 'core-plan.json'),
        DIEMCAU_READINESS_SLOT_GAP_MS: '500',
        ...thresholds,
      },
    });
    const [broken, lossy, sound] = (await provinceSites(fleet, 3)) as [string, string, string];
    const agent = (siteId: string, env: Record<string, string>, wrap?: string[]) =>
      mintToken(fleet, siteId).then((token) =>
        startAgent(t, { fleetUrl: fleet.url, dataDir: path.join(root, siteId), token, env, ...(wrap ? { wrap } : {}) }),
      );
    const boxes = [
      await agent(broken, { DIEMCAU_SIM_FAULTS: 'camera-black' }),
      await agent(lossy, {}, ['ip', 'netns', 'exec', link.ns]),
      await agent(sound, {}),
    ];
    const ids = await Promise.all(boxes.map((b) => b.deviceId()));

    const meeting = await fleet.api<{ id: string }>('POST', '/api/v1/meetings', {
      title: 'Giao ban tuần',
      chairSiteId: sound,
      siteIds: [broken, lossy],
      startsAt: new Date(Date.now() + 10 * 60_000).toISOString(),
      durationMin: 60,
    });

    const board = await until(
      'every site to report',
      async () => {
        const b = await fleet.api<Board>('GET', `/api/v1/meetings/${meeting.id}/readiness`);
        return b.sites.length === 3 && b.counts['pending'] === 0 ? b : undefined;
      },
      150_000,
      500,
    );
    const bySite = new Map(board.sites.map((s) => [s.siteId, s]));
    t.comment(JSON.stringify(board.sites.map((s) => ({ site: s.siteId, colour: s.colour, link: s.measured?.link }))));

    const red = bySite.get(broken)!;
    t.equal(red.colour, 'red', 'the black camera is red');
    t.same(
      red.reasons.map((r) => [r.code, r.vi, r.en]),
      [['camera', 'Camera cho hình đen', 'Camera gives a black picture']],
    );

    const amber = bySite.get(lossy)!;
    t.equal(amber.colour, 'amber', 'the shaped link is amber');
    t.ok(
      amber.reasons.some((r) => r.code === 'link-loss' && /gói tin trên đường tới máy chủ tỉnh/.test(r.vi)),
      JSON.stringify(amber.reasons),
    );
    t.equal(amber.measured?.camera, 'ok', 'its room is fine');
    t.ok(amber.measured!.link!.lossRate > 0.02, `lost ${amber.measured!.link!.lossRate}`);

    const green = bySite.get(sound)!;
    t.equal(green.colour, 'green', `the sound site is green: ${JSON.stringify(green.reasons)}`);
    t.ok(green.measured!.link!.lossRate < 0.02);

    // One alert, for the red site only, naming the meeting and the reason.
    const open = await until('the alert of the red site', async () =>
      (await alertsFor(fleet, 'open', ids[0]!)).find((a) => a.type === 'site-not-ready'),
    );
    t.equal(open.siteId, broken);
    for (const id of ids.slice(1))
      t.same(
        (await alertsFor(fleet, 'open', id)).filter((a) => a.type === 'site-not-ready'),
        [],
        'no alert for amber or green',
      );

    // The meeting ends: the alert closes with it, and the results stay with the meeting.
    await fleet.api('POST', `/api/v1/meetings/${meeting.id}/end`);
    await until('the alert to close with the meeting', async () =>
      (await alertsFor(fleet, 'resolved', ids[0]!)).some((a) => a.id === open.id),
    );
    const kept = await fleet.api<Board>('GET', `/api/v1/meetings/${meeting.id}/readiness`);
    t.same(kept.counts, { pending: 0, green: 1, amber: 1, red: 1 }, 'the results are kept with the meeting');
  },
);
