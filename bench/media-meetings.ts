// A busy day at once (`npm run bench:media:meetings`): the 97 meetings of
// bench/media-scale/meetings.ts (a plenary, the province's small meetings and
// every relay group's communes; each site in one meeting), planned by the
// fleet's own cascade planner and media plans (fleet/src/meetings), run by 211
// real edges packed as in bench:media:scale, every room fed by replayed RTP
// with its microphone open. Printed: time until every meeting's streams are
// announced at all its edges, CPU per worker and RSS over a window, and what
// a meeting costs (per meeting on average, and one more opened at the end).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { indexSites, type MediaPlan, type RelayGroup, type Site } from '@diemcau/shared';
import { ingestRtpParameters } from '../appliance/src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../appliance/src/media/config.js';
import { until } from '../appliance/test/media/helpers.js';
import { planCascade } from '../fleet/src/meetings/cascade.js';
import { linkTokens, mediaPlans, type PlannedMeeting } from '../fleet/src/meetings/media-planner.js';
import { busyDay, type DaySpec } from './media-scale/meetings.js';
import { recordClip, Replayer, type Feed } from './media-scale/replay.js';
import { loadRoster, startNetwork, type Network } from './media-scale/roster.js';

const env = process.env;
const WINDOW_MS = Number(env['BENCH_WINDOW_MS'] ?? 8000);
const log = pino({ level: env['BENCH_LOG'] ?? 'silent' }, process.stderr);
const limits = {
  ...peerLimits(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'bench', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24) })),
  maxStreamsPerLink: 1024,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Every edge's media plan for these meetings, from the fleet's planner. */
function plansFor(net: Network, specs: DaySpec[], revision: number): Map<string, MediaPlan> {
  const data = JSON.parse(fs.readFileSync(path.join(root, 'fleet/datasets/yen-bai-2022.json'), 'utf8')) as {
    sites: Site[];
    relayGroups: RelayGroup[];
  };
  const sites = indexSites(data.sites, data.relayGroups);
  const edges = { coreEdgeId: 'core', edgeOfSite: new Map(data.sites.map((s) => [s.id, s.id])) };
  const urls = new Map(net.nodes.map((n) => [n.edgeId, n.url || null]));
  // Sites are leaves unless the plan says otherwise; only the core and the districts serve links here.
  const dir = {
    signalUrlOf: (edgeId: string) => urls.get(edgeId) ?? 'http://127.0.0.1:9',
    tokenFor: linkTokens('bench-secret-'.repeat(3)),
  };
  const planned: PlannedMeeting[] = specs.map((m) => ({
    meetingId: m.id,
    title: m.id,
    state: 'live',
    chairSiteId: m.chairSiteId,
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    plan: planCascade(sites, edges, { id: m.id, chairSiteId: m.chairSiteId, siteIds: m.siteIds }),
  }));
  const { plans } = mediaPlans(planned, dir);
  return new Map(
    [...net.nodes].map((n) => [
      n.edgeId,
      { ...(plans.get(n.edgeId) ?? { v: 1 as const, edgeId: n.edgeId, meetings: [] }), revision },
    ]),
  );
}

async function main(): Promise<void> {
  const roster = loadRoster();
  const specs = busyDay(roster);
  console.log(
    `bench:media:meetings: ${specs.length} meetings at once over the ${roster.length} sites (each in one); ${os.availableParallelism()} cores; load average ${load()}`,
  );
  const clip = await recordClip();
  const net = await startNetwork(roster, { coreWorkers: 2, packedWorkers: 2, spanAt: 4000, log, limits });
  const replayers: Replayer[] = [];
  try {
    const pools = {
      core: net.pools.core.pids,
      'largest relay': net.pools.largest.pids,
      packed: net.pools.packed.pids,
      'Node (all edges, replayer)': [process.pid],
    };
    const routers = { core: net.pools.core, 'largest relay': net.pools.largest, packed: net.pools.packed } as const;
    const rss0 = Object.values(pools)
      .flat()
      .reduce((n, pid) => n + rssMb(pid), 0);
    // The day minus one relay-group meeting; that one opens at the end, as "one more meeting".
    const extra = specs.find(
      (s) => s.kind === 'relay group' && s.siteIds.some((id) => net.largest.children.some((c) => c.siteId === id)),
    )!;
    const day = specs.filter((s) => s !== extra);
    const t0 = performance.now();
    const plans = plansFor(net, day, 1);
    await Promise.all(net.nodes.map((n) => n.edge.applyPlan(plans.get(n.edgeId)!)));
    const tPlans = performance.now();
    const feeds: Feed[] = [];
    let ssrc = 0x20000;
    let replay: Replayer | null = null;
    const feed = async (siteIds: Set<string>): Promise<void> => {
      for (const n of net.nodes.filter((x) => siteIds.has(x.siteId))) {
        const m = n.edge.currentPlan?.meetings.find((x) => x.localSiteId === n.siteId);
        const room = m ? n.edge.room(m.meetingId) : undefined;
        if (!room) continue;
        const input = await room.router.createPlainIn('127.0.0.1');
        const info = { siteId: n.siteId, originEdgeId: n.edgeId };
        const [a, v] = [ssrc++, ssrc++];
        room.addStream(
          await input.produce({ kind: 'audio', rtpParameters: ingestRtpParameters('audio', 'vp8', a, n.edgeId), info }),
          null,
        );
        room.addStream(
          await input.produce({ kind: 'video', rtpParameters: ingestRtpParameters('video', 'vp8', v, n.edgeId), info }),
          null,
        );
        const f = { siteId: n.siteId, port: input.tuple.port, ssrcA: a, ssrcV: v, offset: Math.random() * 4000 };
        feeds.push(f);
        replay?.add(f);
      }
    };
    await feed(new Set(day.flatMap((s) => s.siteIds)));
    replay = new Replayer(feeds, clip);
    replayers.push(replay);
    const replayer = replay;
    const announced = (list: DaySpec[]) =>
      net.nodes.every((n) =>
        (n.edge.currentPlan?.meetings ?? [])
          .filter((m) => list.some((s) => s.id === m.meetingId))
          .every((m) => {
            // Who is in it travels as the roster; streams cross only where someone receives them.
            const want = list.find((s) => s.id === m.meetingId)!.siteIds.length;
            return (n.edge.room(m.meetingId)?.rosterEntries().length ?? 0) >= want;
          }),
      );
    const tAll = await until(
      'every meeting known at all its edges',
      async () => (announced(day) ? performance.now() : null),
      300_000,
    );
    console.log(
      `\n${day.length} meetings: plans applied at all ${net.nodes.length} edges ${Math.round(tPlans - t0)} ms after the start; every meeting's roster complete at all its edges after ${Math.round(tAll - t0)} ms`,
    );
    const measure = async (label: string): Promise<Map<number, number>> => {
      await sleep(2000);
      const pids = Object.values(pools).flat();
      const c0 = new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
      const s0 = replayer.sent;
      await sleep(WINDOW_MS);
      const cpu = new Map(pids.map((pid) => [pid, ((cpuSeconds(pid) - c0.get(pid)!) * 100000) / WINDOW_MS]));
      console.log(
        `\n${label}: replayed ${Math.round(((replayer.sent - s0) * 1000) / WINDOW_MS)} packets/s into ${feeds.length} rooms; load average ${load()}`,
      );
      console.log('| workers | CPU % of one core, each | RSS MB | rooms (routers) on them |');
      console.log('|---|---|---|---|');
      for (const [name, list] of Object.entries(pools)) {
        console.log(
          `| ${name} | ${list.map((pid) => cpu.get(pid)!.toFixed(0)).join(' + ')} | ${list.reduce((n, pid) => n + rssMb(pid), 0).toFixed(0)} | ${
            name in routers
              ? routers[name as keyof typeof routers]
                  .placement()
                  .map((w) => w.meetingIds.length)
                  .join(' + ')
              : '-'
          } |`,
        );
      }
      return cpu;
    };
    const before = await measure(`${day.length} meetings`);
    const rss1 = Object.values(pools)
      .flat()
      .reduce((n, pid) => n + rssMb(pid), 0);
    const workerCpu = (m: Map<number, number>) =>
      [...m].filter(([pid]) => pid !== process.pid).reduce((n, [, c]) => n + c, 0);
    console.log(
      `per meeting on average: ${(workerCpu(before) / day.length).toFixed(2)}% of a core in workers, ${((rss1 - rss0) / day.length).toFixed(1)} MB (workers and Node, over the idle edges)`,
    );

    // One more meeting: the held-back relay group's communes meet.
    const t1 = performance.now();
    const more = plansFor(net, specs, 2);
    await Promise.all(net.nodes.map((n) => n.edge.applyPlan(more.get(n.edgeId)!)));
    await feed(new Set(extra.siteIds));
    await until('the extra meeting announced', async () => (announced([extra]) ? true : null), 120_000);
    console.log(
      `\none more meeting (${extra.id}: ${extra.siteIds.length} communes, hosted at ${net.largest.edgeId}) open and announced after ${Math.round(performance.now() - t1)} ms`,
    );
    const after = await measure(`${specs.length} meetings`);
    const rss2 = Object.values(pools)
      .flat()
      .reduce((n, pid) => n + rssMb(pid), 0);
    console.log(
      `one more meeting cost: ${(workerCpu(after) - workerCpu(before)).toFixed(1)}% of a core in workers (noise of a few % under this load), ${(rss2 - rss1).toFixed(1)} MB`,
    );
  } finally {
    for (const r of replayers) r.close();
    console.log(`load average at the end: ${load()}`);
    await net.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
