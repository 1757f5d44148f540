// Media at the seeds' scale (`npm run bench:media:scale`): the whole Yên Bái
// 2022 roster (210 sites) in one meeting, every site a real instance of the
// edge code (Edge, its MeetingRoom, its own router, cascade links over HTTP
// signalling and SRTP pipe transports), spread over BENCH_HOSTS bench
// processes (bench/media-scale/topology.ts says how), each with its own
// mediasoup workers and RTP ports (bench/media-scale/host.ts), fed by replayed
// pre-encoded RTP (bench/media-scale/replay.ts). This process only steers and
// measures.
//
// Links carry only what someone beyond them receives (forwarding.ts flows());
// who is in the meeting travels as the roster (roster.ts).
//
// Phases: (1) meeting start with the chair and 2 speakers' microphones open:
// time to every room in the core's roster (sending) and to every room
// receiving the chair's camera, then a window of worker CPU, RSS, producers,
// consumers, packets in and out and egress per link at the core and the
// largest relay, and BENCH_CHANGES speaker changes (the floor passes to a new
// commune: its microphone opens, the oldest speaker's closes), each timed from
// the core's decision to the new speaker's first microphone and camera packets
// at the farthest commune; (2) roll call: every microphone open, the same
// window, and speaker changes again (p50/p95 each).
//
// BENCH_HOSTS (3), BENCH_COMMUNES_PER_DISTRICT (all), BENCH_CORE_WORKERS (2), BENCH_PACK_WORKERS (1 per host),
// BENCH_SPAN_AT (core, 4000), BENCH_WINDOW_MS (8000), BENCH_PHASES ('open,rollcall'), BENCH_CHANGES (6).
import os from 'node:os';
import { loadRoster, planFor } from './media-scale/roster.js';
import { recordClip } from './media-scale/replay.js';
import { buildTopology, type TopoNode } from './media-scale/topology.js';
import { startHosts, type Host, type Progress } from './media-scale/hosts.js';
import { printHosts, wallNow, type Snapshot } from './media-scale/timeline.js';
import { load, quantiles, speakerChange, window, type Change } from './media-scale/measure.js';

const env = process.env;
const HOSTS = Number(env['BENCH_HOSTS'] ?? 3);
const CORE_WORKERS = Number(env['BENCH_CORE_WORKERS'] ?? 2);
const PACK_WORKERS = Number(env['BENCH_PACK_WORKERS'] ?? 1);
const SPAN_AT = Number(env['BENCH_SPAN_AT'] ?? 4000);
const WINDOW_MS = Number(env['BENCH_WINDOW_MS'] ?? 8000);
const PHASES = (env['BENCH_PHASES'] ?? 'open,rollcall').split(',');
const CHANGES = Number(env['BENCH_CHANGES'] ?? 6);
const M = 'plenary';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t0 = wallNow();
const marks: Array<{ at: number; what: string }> = [];
const mark = (what: string): void => void marks.push({ at: (wallNow() - t0) / 1000, what });
const hosts: Host[] = [];

async function timelines(): Promise<void> {
  const snaps = await Promise.all(
    hosts.map((h) =>
      Promise.race([h.call('timeline', {}), sleep(3000).then(() => [] as Snapshot)]).catch(() => [] as Snapshot),
    ),
  );
  printHosts(marks, snaps);
}
// A run cut short (timeout(1) under the shared lock) still shows where its time went.
process.once('SIGTERM', () => {
  void timelines().finally(() => {
    console.log(`\nstopped by SIGTERM; load average ${load()}`);
    process.exit(1);
  });
});

/** Polls every host until `done` holds of their progress; the time it first held. */
async function until(what: string, done: (p: Progress[]) => boolean, timeoutMs: number): Promise<number | null> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const p = await Promise.all(hosts.map((h) => h.call('progress', { chairSiteId: chair, rosterSize })));
    if (done(p)) return wallNow();
    if (performance.now() > end) {
      console.log(`(${what}: not within ${timeoutMs / 1000} s)`);
      return null;
    }
    await sleep(50);
  }
}
let chair = '';
let rosterSize = 0;

async function main(): Promise<void> {
  // BENCH_COMMUNES_PER_DISTRICT: a smaller roster for a quick look (the first n communes of each district).
  const cut = env['BENCH_COMMUNES_PER_DISTRICT'] ? Number(env['BENCH_COMMUNES_PER_DISTRICT']) : Infinity;
  const seen = new Map<string, number>();
  const roster = loadRoster().filter(
    (s) => s.kind !== 'commune' || seen.set(s.parentId!, (seen.get(s.parentId!) ?? 0) + 1).get(s.parentId!)! <= cut,
  );
  rosterSize = roster.length;
  console.log(
    `bench:media:scale: the Yên Bái 2022 roster, ${roster.length} sites in one meeting; ${os.availableParallelism()} cores; load average ${load()}`,
  );
  const topo = buildTopology(roster, HOSTS);
  const clip = await recordClip();
  const { nodePids, pidsOf } = await startHosts(
    topo,
    { t0, coreWorkers: CORE_WORKERS, spanAt: SPAN_AT, packWorkers: PACK_WORKERS, echo: env['BENCH_LOG'] ?? 'silent' },
    hosts,
  );
  const sites = topo.nodes.filter((n) => n.kind !== 'core');
  const count = (k: TopoNode['kind']): number => sites.filter((n) => n.kind === k).length;
  console.log(
    `edges: the core (${CORE_WORKERS} workers, span at ${SPAN_AT}), ${count('province')} province-level sites and ${count('district')} districts under it, ${count('commune')} communes under their districts`,
  );
  const packedPids = (k: number): number[] => [
    ...new Set(topo.byHost[k]!.filter((n) => n.pool === 'packed').flatMap((n) => pidsOf.get(n.edgeId)!)),
  ];
  console.log(`packing over ${HOSTS} bench processes, each with its own workers, RTP ports and replayer:`);
  topo.byHost.forEach((list, k) => {
    const ds = list.filter((n) => n.kind === 'district').map((n) => `${n.edgeId} (${n.children.length})`);
    console.log(
      `  host ${k} (pid ${nodePids[k]}): ${list.length} edges${list.includes(topo.core) ? `, the core on its own ${CORE_WORKERS} workers and the ${count('province')} province-level sites` : ''}${ds.length ? `, districts with their communes: ${ds.join(', ')}` : ''}${list.includes(topo.largest) ? `; the largest relay ${topo.largest.edgeId} alone on 1 worker` : ''}; ${packedPids(k).length} worker(s) shared by the other edges (12 ports each, 40 for a district)`,
    );
  });
  const chairNode = sites.find((n) => n.siteId === 'yb-peoples-committee') ?? sites[0]!;
  chair = chairNode.siteId;
  const districts = sites.filter((n) => n.kind === 'district');
  const smallest = [...districts].sort((a, b) => a.children.length - b.children.length)[0]!;
  const farthest = topo.largest.children.at(-1)!;
  const speakerA = districts.find((d) => d !== topo.largest)!;
  const openAtStart = [chair, speakerA.siteId, smallest.children.slice(-4)[0]!.siteId];
  const hostOf = (n: TopoNode): Host => hosts[n.host]!;

  // ---- meeting start ----
  mark('meeting starts');
  const tStart = wallNow();
  await Promise.all(hosts.map((h, k) => h.call('plans', { plans: topo.byHost[k]!.map((n) => planFor(n, M, chair)) })));
  const tPlans = wallNow();
  const b64 = clip.map((c) => ({ at: c.at, b64: c.packet.toString('base64') }));
  const produced = await Promise.all(
    hosts.map((h, k) =>
      h.call('produce', { siteIds: null, open: openAtStart, clip: b64, ssrcBase: 0x10000 + k * 0x1000 }),
    ),
  );
  const tRooms = wallNow();
  mark('every room produced');
  await Promise.all(hosts.map((h) => h.call('loud', { siteId: speakerA.siteId })));
  const s = (a: number, b: number | null): string => (b === null ? 'not reached' : `${((b - a) / 1000).toFixed(1)} s`);
  console.log(
    `clip: ${clip.length} VP8 packets, ${produced[0]!.clipKbps} kbit/s, replayed into each of ${sites.length} rooms with a 50 packet/s microphone`,
  );
  console.log(
    `\nmeeting start -> every edge has its plan applied: ${s(tStart, tPlans)}; every room's camera and microphone produced: ${s(tStart, tRooms)}`,
  );
  const core = (p: Progress[]): Progress => p[topo.core.host]!;
  const tSending = await until("every room in the core's roster", (p) => core(p).coreSending! >= sites.length, 300_000);
  const tMics = await until('the open microphones at the core', (p) => core(p).coreMics! >= openAtStart.length, 60_000);
  const sum = (p: Progress[], k: 'receivingChair' | 'knowRoster'): number => p.reduce((n, x) => n + x[k], 0);
  const tChair = await until(
    'every room receiving the chair',
    (p) => sum(p, 'receivingChair') >= sites.length,
    300_000,
  );
  mark('every room receiving the chair');
  const tRoster = await until('every edge knows the roster', (p) => sum(p, 'knowRoster') >= topo.nodes.length, 120_000);
  console.log(
    `meeting start -> every room sending (all ${sites.length} in the core's roster): ${s(tStart, tSending)}; the ${openAtStart.length} open microphones flowing at the core: ${s(tStart, tMics)}`,
  );
  console.log(
    `meeting start -> every room receiving (the chair's camera flowing into all ${sites.length} rooms): ${s(tStart, tChair)}; every edge knows who is in the meeting (${sites.length} sites at each of ${topo.nodes.length} edges): ${s(tStart, tRoster)}`,
  );
  await until(`the core names ${speakerA.siteId}`, (p) => core(p).speaker === speakerA.siteId, 60_000);

  const pids = new Map<string, number[]>([
    ['core workers', pidsOf.get('core')!],
    [`largest relay ${topo.largest.edgeId}`, pidsOf.get(topo.largest.edgeId)!],
    ...topo.byHost.map((list, k): [string, number[]] => [
      `host ${k}: workers of its ${list.filter((n) => n.pool === 'packed').length} packed edges`,
      packedPids(k),
    ]),
    ...nodePids.map((pid, k): [string, number[]] => [
      `host ${k}: Node (its edges' signalling and links, its replayer)`,
      [pid],
    ]),
    ['main bench process (steering)', [process.pid]],
  ]);
  const measured = { hosts, pids, core: topo.core, largest: topo.largest, farthest, sites: sites.length };
  // New speakers: communes outside the farthest commune's district, so that their picture crosses every level.
  const pool = sites.filter(
    (n) => n.kind === 'commune' && n.parent !== topo.largest && !openAtStart.includes(n.siteId),
  );
  let pick = 0;
  // A stride prime to the pool's size walks through it without repeats (148 communes with the whole roster).
  const nextSpeaker = (): TopoNode => pool[(pick++ * 29) % pool.length]!;
  const open = [speakerA, sites.find((n) => n.siteId === openAtStart[2])!];
  const mic = (n: TopoNode, on: boolean) => hostOf(n).call('mic', { siteIds: [n.siteId], open: on });
  for (const phase of PHASES) {
    mark(`phase ${phase}`);
    if (phase === 'rollcall') {
      // Roll call: every microphone opens at its source, as the ingest does when the plan says so.
      const tOpen = wallNow();
      await Promise.all(
        hosts.map((h, k) =>
          h.call('mic', { siteIds: topo.byHost[k]!.filter((n) => n.siteId).map((n) => n.siteId), open: true }),
        ),
      );
      const tFlow = await until(
        'every microphone flowing into the core',
        (p) => core(p).coreMics! >= sites.length,
        120_000,
      );
      console.log(
        `\n## roll call: all ${sites.length} microphones open (all flowing into the core: ${s(tOpen, tFlow)}; down the links only the featured ones)`,
      );
    } else {
      console.log(`\n## chair + 2 speakers open (${openAtStart.join(', ')})`);
    }
    await sleep(2000);
    mark('window');
    await window(measured, WINDOW_MS);
    const changes: Change[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const speaker = nextSpeaker();
      if (phase !== 'rollcall') {
        // The floor passes: the new speaker's microphone opens, the oldest open one closes.
        await mic(speaker, true);
        await mic(open.shift()!, false);
        open.push(speaker);
      }
      const c = await speakerChange(hosts, topo.core, farthest, speaker, mark);
      if (c) changes.push(c);
    }
    console.log(
      `speaker changes (${changes.length} of ${CHANGES} completed): the core's decision after the voice began ${quantiles(changes, 'decided')}; from the decision to the new speaker's first packets at the farthest commune ${farthest.edgeId} (host ${farthest.host}): microphone ${quantiles(changes, 'audio')}, camera ${quantiles(changes, 'video')}`,
    );
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await timelines();
    console.log(`\nload average at the end: ${load()}`);
    await Promise.all(hosts.map((h) => h.close()));
  });
