// A busy day at once (`npm run bench:media:meetings`): the 97 meetings of
// bench/media-scale/meetings.ts (a plenary, the province's small meetings and
// every relay group's communes; each site in one meeting), planned by the
// fleet's own cascade planner and media plans (fleet/src/meetings), run by 211
// real edges spread over BENCH_HOSTS bench processes and packed as in
// bench:media:scale (bench/media-scale/topology.ts), every room fed by
// replayed RTP with its microphone open. BENCH_HOSTS (3), BENCH_WINDOW_MS (8000),
// BENCH_COMMUNES_PER_DISTRICT (all). Printed: time until every meeting is
// known at all its edges, CPU per worker and RSS over a window, and what a
// meeting costs (per meeting on average, and one more opened at the end).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexSites, type MediaPlan, type RelayGroup, type Site } from '@diemcau/shared';
import { planCascade } from '../fleet/src/meetings/cascade.js';
import { linkTokens, mediaPlans, type PlannedMeeting } from '../fleet/src/meetings/media-planner.js';
import { busyDay, type DaySpec } from './media-scale/meetings.js';
import { recordClip } from './media-scale/replay.js';
import { loadRoster } from './media-scale/roster.js';
import { buildTopology, type TopoNode } from './media-scale/topology.js';
import { startHosts, type Host } from './media-scale/hosts.js';
import { wallNow } from './media-scale/timeline.js';
import { cpuSeconds, load, rssMb } from './media-scale/measure.js';

const env = process.env;
const HOSTS = Number(env['BENCH_HOSTS'] ?? 3);
const WINDOW_MS = Number(env['BENCH_WINDOW_MS'] ?? 8000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every edge's media plan for these meetings, from the fleet's planner. */
function plansFor(nodes: TopoNode[], specs: DaySpec[], revision: number): Map<string, MediaPlan> {
  const data = JSON.parse(fs.readFileSync(path.join(root, 'fleet/datasets/yen-bai-2022.json'), 'utf8')) as {
    sites: Site[];
    relayGroups: RelayGroup[];
  };
  const sites = indexSites(data.sites, data.relayGroups);
  const edges = { coreEdgeId: 'core', edgeOfSite: new Map(data.sites.map((s) => [s.id, s.id])) };
  const urls = new Map(nodes.map((n) => [n.edgeId, n.url || null]));
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
    nodes.map((n) => [
      n.edgeId,
      { ...(plans.get(n.edgeId) ?? { v: 1 as const, edgeId: n.edgeId, meetings: [] }), revision },
    ]),
  );
}

const hosts: Host[] = [];

async function main(): Promise<void> {
  // BENCH_COMMUNES_PER_DISTRICT: a smaller roster for a quick look (the first n communes of each district).
  const cut = env['BENCH_COMMUNES_PER_DISTRICT'] ? Number(env['BENCH_COMMUNES_PER_DISTRICT']) : Infinity;
  const seen = new Map<string, number>();
  const roster = loadRoster().filter(
    (s) => s.kind !== 'commune' || seen.set(s.parentId!, (seen.get(s.parentId!) ?? 0) + 1).get(s.parentId!)! <= cut,
  );
  const specs = busyDay(roster);
  console.log(
    `bench:media:meetings: ${specs.length} meetings at once over the ${roster.length} sites (each in one); ${os.availableParallelism()} cores; load average ${load()}`,
  );
  const clip = (await recordClip()).map((c) => ({ at: c.at, b64: c.packet.toString('base64') }));
  const topo = buildTopology(roster, HOSTS);
  const { nodePids } = await startHosts(
    topo,
    { t0: wallNow(), coreWorkers: 2, spanAt: 4000, packWorkers: 1, echo: env['BENCH_LOG'] ?? 'silent' },
    hosts,
  );
  console.log(
    `${topo.nodes.length} edges over ${HOSTS} bench processes (${topo.byHost.map((l) => l.length).join(' + ')} edges), packed as in bench:media:scale: the core on 2 workers, the largest relay ${topo.largest.edgeId} on 1, the other edges of each process on 1`,
  );
  // Worker pids by pool, from the hosts; rooms on each read at each window.
  const placement = async () => Promise.all(hosts.map((h) => h.call('placement', {})));
  const rows = async (): Promise<Array<{ name: string; pids: number[]; rooms: number[] }>> => {
    const p = await placement();
    const out: Array<{ name: string; pids: number[]; rooms: number[] }> = [];
    const pool = (name: string, list: Array<{ pid: number | null; rooms: number }>) =>
      out.push({ name, pids: list.map((w) => w.pid!), rooms: list.map((w) => w.rooms) });
    p.forEach((h, k) => {
      if (h['core']) pool('core', h['core']);
      if (h['largest relay']) pool(`largest relay (host ${k})`, h['largest relay']);
    });
    p.forEach((h, k) => pool(`host ${k}: packed edges`, h['packed'] ?? []));
    nodePids.forEach((pid, k) =>
      out.push({ name: `host ${k}: Node (its edges, its replayer)`, pids: [pid], rooms: [] }),
    );
    return out;
  };
  const apply = (plans: Map<string, MediaPlan>) =>
    Promise.all(hosts.map((h, k) => h.call('plans', { plans: topo.byHost[k]!.map((n) => plans.get(n.edgeId)!) })));
  const feed = async (siteIds: string[], ssrcBase: number): Promise<number> => {
    const r = await Promise.all(
      hosts.map((h, k) => h.call('produce', { siteIds, open: null, clip, ssrcBase: ssrcBase + k * 0x1000 })),
    );
    return r.reduce((n, x) => n + x.rooms, 0);
  };
  const announced = async (list: DaySpec[], timeoutMs: number): Promise<number | null> => {
    const want = Object.fromEntries(list.map((s) => [s.id, s.siteIds.length]));
    const end = performance.now() + timeoutMs;
    for (;;) {
      const ok = await Promise.all(hosts.map((h) => h.call('announced', { want })));
      if (ok.every(Boolean)) return performance.now();
      if (performance.now() > end) return null;
      await sleep(50);
    }
  };
  const allPids = async () => (await rows()).flatMap((r) => r.pids);
  const rss = async () => (await allPids()).reduce((n, pid) => n + rssMb(pid), 0);
  const sent = async () =>
    (await Promise.all(hosts.map((h) => h.call('traffic', { edgeIds: [], resetLag: false })))).reduce(
      (n, t) => n + t.sent,
      0,
    );
  const rss0 = await rss();
  // The day minus one relay-group meeting; that one opens at the end, as "one more meeting".
  // (With one commune a district, BENCH_COMMUNES_PER_DISTRICT=1, there is no relay-group meeting to hold back.)
  const extra = specs.find(
    (s) => s.kind === 'relay group' && s.siteIds.some((id) => topo.largest.children.some((c) => c.siteId === id)),
  );
  const day = specs.filter((s) => s !== extra);
  const t0 = performance.now();
  await apply(plansFor(topo.nodes, day, 1));
  const tPlans = performance.now();
  const rooms = await feed(
    day.flatMap((s) => s.siteIds),
    0x20000,
  );
  const tAll = await announced(day, 300_000);
  console.log(
    `\n${day.length} meetings: plans applied at all ${topo.nodes.length} edges ${Math.round(tPlans - t0)} ms after the start; ${rooms} rooms fed; every meeting's roster complete at all its edges ${tAll === null ? 'not within 300 s' : `after ${Math.round(tAll - t0)} ms`}`,
  );
  const measure = async (label: string): Promise<number> => {
    await sleep(2000);
    const pids = await allPids();
    const c0 = new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
    const s0 = await sent();
    await sleep(WINDOW_MS);
    const cpu = new Map(pids.map((pid) => [pid, ((cpuSeconds(pid) - c0.get(pid)!) * 100000) / WINDOW_MS]));
    const s1 = await sent();
    console.log(`\n${label}: replayed ${Math.round(((s1 - s0) * 1000) / WINDOW_MS)} packets/s; load average ${load()}`);
    console.log('| processes | CPU % of one core, each | RSS MB | rooms (routers) on each worker |');
    console.log('|---|---|---|---|');
    let workers = 0;
    for (const r of await rows()) {
      if (r.rooms.length) workers += r.pids.reduce((n, pid) => n + cpu.get(pid)!, 0);
      console.log(
        `| ${r.name} | ${r.pids.map((pid) => cpu.get(pid)!.toFixed(1)).join(' + ')} | ${r.pids.reduce((n, pid) => n + rssMb(pid), 0).toFixed(0)} | ${r.rooms.join(' + ') || '-'} |`,
      );
    }
    console.log(`workers together: ${workers.toFixed(1)}% of a core`);
    return workers;
  };
  const before = await measure(`${day.length} meetings`);
  const rss1 = await rss();
  console.log(
    `per meeting on average: ${(before / day.length).toFixed(2)}% of a core in workers, ${((rss1 - rss0) / day.length).toFixed(2)} MB (workers and Node, over the idle edges)`,
  );

  if (!extra) return;
  // One more meeting: the held-back relay group's communes meet.
  const t1 = performance.now();
  await apply(plansFor(topo.nodes, specs, 2));
  await feed(extra.siteIds, 0x30000);
  const tExtra = await announced([extra], 120_000);
  console.log(
    `\none more meeting (${extra.id}: ${extra.siteIds.length} communes, hosted at ${topo.largest.edgeId}) open and known at its edges ${tExtra === null ? 'not within 120 s' : `after ${Math.round(tExtra - t1)} ms`}`,
  );
  const after = await measure(`${specs.length} meetings`);
  const rss2 = await rss();
  console.log(
    `one more meeting cost: ${(after - before).toFixed(1)}% of a core in workers (noise of a few % under this load), ${(rss2 - rss1).toFixed(1)} MB`,
  );
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    console.log(`load average at the end: ${load()}`);
    await Promise.all(hosts.map((h) => h.close()));
  });
