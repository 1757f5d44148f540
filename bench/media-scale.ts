// Media at the seeds' scale (`npm run bench:media:scale`): the whole Yên Bái
// 2022 roster (210 sites) in one meeting, every site a real instance of the
// edge code (Edge, its MeetingRoom, its own router, cascade links over HTTP
// signalling and SRTP pipe transports) in this process, packed onto a few
// mediasoup workers (bench/media-scale/roster.ts says how), fed by replayed
// pre-encoded RTP (bench/media-scale/replay.ts).
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
// BENCH_COMMUNES_PER_DISTRICT (all), BENCH_CORE_WORKERS (default 2), BENCH_PACK_WORKERS (2), BENCH_SPAN_AT (core,
// default 4000), BENCH_WINDOW_MS (8000), BENCH_PHASES ('open,rollcall'), BENCH_CHANGES (6).
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ingestRtpParameters, type Stream } from '../appliance/src/media/adapter/index.js';
import type { MeetingRoom } from '../appliance/src/media/room.js';
import { loadEdgeConfig, peerLimits } from '../appliance/src/media/config.js';
import { until } from '../appliance/test/media/helpers.js';
import { loadRoster, planFor, startNetwork, type Node } from './media-scale/roster.js';
import { recordClip, Replayer, type Feed } from './media-scale/replay.js';
import { Timeline } from './media-scale/timeline.js';

const env = process.env;
const CORE_WORKERS = Number(env['BENCH_CORE_WORKERS'] ?? 2);
const PACK_WORKERS = Number(env['BENCH_PACK_WORKERS'] ?? 2);
const SPAN_AT = Number(env['BENCH_SPAN_AT'] ?? 4000);
const WINDOW_MS = Number(env['BENCH_WINDOW_MS'] ?? 8000);
const PHASES = (env['BENCH_PHASES'] ?? 'open,rollcall').split(',');
const CHANGES = Number(env['BENCH_CHANGES'] ?? 6);
const M = 'plenary';

// The edges' warnings are counted per second (BENCH_LOG: also written to stderr at that level).
const timeline = new Timeline(env['BENCH_LOG'] ?? 'silent');
const log = timeline.log;
// A run cut short (timeout(1) under the shared lock) still shows where its time went.
process.once('SIGTERM', () => {
  timeline.print();
  console.log(`\nstopped by SIGTERM; load average ${load()}`);
  process.exit(1);
});
// Links per edge and streams per link sized for 210 sites (the defaults fit a real district).
const limits = {
  ...peerLimits(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'bench', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24) })),
  maxStreamsPerLink: 1024,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (a: number, b: number): string => `${Math.round(b - a)} ms`;
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
// Every edge's Node side shares this one event loop: when it stalls past the links' heartbeat
// timeout (link/protocol.ts), links drop and reconnect, which a real box (one edge each) never sees.
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
const lag = (): string =>
  `event loop delay p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`;

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
/** Busy and total jiffies of the whole machine (every core), from /proc/stat. */
function machine(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  // BENCH_COMMUNES_PER_DISTRICT: a smaller roster for a quick look (the first n communes of each district).
  const cut = env['BENCH_COMMUNES_PER_DISTRICT'] ? Number(env['BENCH_COMMUNES_PER_DISTRICT']) : Infinity;
  const seen = new Map<string, number>();
  const roster = loadRoster().filter(
    (s) => s.kind !== 'commune' || seen.set(s.parentId!, (seen.get(s.parentId!) ?? 0) + 1).get(s.parentId!)! <= cut,
  );
  console.log(
    `bench:media:scale: the Yên Bái 2022 roster, ${roster.length} sites in one meeting; ${os.availableParallelism()} cores; load average ${load()}`,
  );
  const clip = await recordClip();
  const net = await startNetwork(roster, {
    coreWorkers: CORE_WORKERS,
    packedWorkers: PACK_WORKERS,
    spanAt: SPAN_AT,
    log,
    limits,
  });
  const replayers: Replayer[] = [];
  try {
    const sites = net.nodes.filter((n) => n.kind !== 'core');
    const count = (k: Node['kind']): number => sites.filter((n) => n.kind === k).length;
    console.log(
      `edges: the core (${CORE_WORKERS} workers, span at ${SPAN_AT}), ${count('province')} province-level sites and ${count('district')} districts under it, ${count('commune')} communes under their districts`,
    );
    console.log(
      `packing: the core on its own ${CORE_WORKERS} workers; the largest relay (${net.largest.edgeId}, ${net.largest.children.length} communes) alone on 1 worker; the other ${sites.length - 1} edges share ${PACK_WORKERS} workers (least-loaded placement), each edge with its own 12 ports (40 for a district); all ${net.nodes.length} edges' Node side in this process (pid ${process.pid})`,
    );
    const chair = sites.find((n) => n.siteId === 'yb-peoples-committee') ?? sites[0]!;
    const districts = sites.filter((n) => n.kind === 'district');
    const smallest = [...districts].sort((a, b) => a.children.length - b.children.length)[0]!;
    const farthest = net.largest.children.at(-1)!;
    // Speakers: a district first, then communes of the smallest district (their picture crosses the whole cascade).
    const speakerA = districts.find((d) => d !== net.largest)!;
    const later = smallest.children.slice(-4);
    const openAtStart = new Set([chair.siteId, speakerA.siteId, later[0]!.siteId]);

    // ---- meeting start ----
    timeline.mark('meeting starts');
    const t0 = performance.now();
    await Promise.all(net.nodes.map((n) => n.edge.applyPlan(planFor(n, M, chair.siteId))));
    const tPlans = performance.now();
    const feeds: Feed[] = [];
    const mics = new Map<string, Stream>();
    let ssrc = 0x10000;
    // Every room produces at once, as every box does when its plan arrives.
    const produced = sites.map(async (n) => {
      const room = n.edge.room(M)!;
      const [ssrcA, ssrcV] = [ssrc++, ssrc++];
      const input = await room.router.createPlainIn('127.0.0.1');
      const info = { siteId: n.siteId, originEdgeId: n.edgeId };
      const audio = await input.produce({
        kind: 'audio',
        rtpParameters: ingestRtpParameters('audio', 'vp8', ssrcA, n.edgeId),
        info,
        paused: !openAtStart.has(n.siteId),
      });
      const video = await input.produce({
        kind: 'video',
        rtpParameters: ingestRtpParameters('video', 'vp8', ssrcV, n.edgeId),
        info,
      });
      room.addStream(audio, null);
      room.addStream(video, null);
      mics.set(n.siteId, audio);
      feeds.push({ siteId: n.siteId, port: input.tuple.port, ssrcA, ssrcV, offset: Math.random() * 4000 });
    });
    await Promise.all(produced);
    const tRooms = performance.now();
    timeline.mark('every room produced');
    const replay = new Replayer(feeds, clip);
    replayers.push(replay);
    replay.loud = speakerA.siteId;
    console.log(
      `clip: ${clip.length} VP8 packets, ${replay.clipKbps} kbit/s, replayed into each of ${feeds.length} rooms with a 50 packet/s microphone`,
    );

    console.log(
      `\nmeeting start -> every edge has its plan applied (rooms and links opening): ${ms(t0, tPlans)}; every room's camera and microphone produced: ${ms(t0, tRooms)}`,
    );
    const coreRoom = net.core.edge.room(M)!;
    const tAtCore = await until(
      "every room in the core's roster",
      async () => (coreRoom.rosterEntries().filter((e) => e.camera).length >= sites.length ? performance.now() : null),
      300_000,
    );
    const openMics = (n: Node): number =>
      n.edge
        .room(M)!
        .listStreams()
        .filter((s) => s.kind === 'audio' && !s.paused).length;
    const tMics = await until(
      'the open microphones flowing at the core',
      async () => (openMics(net.core) >= openAtStart.size ? performance.now() : null),
      300_000,
    );
    console.log(
      `meeting start -> every room sending: all ${sites.length} in the core's roster ${ms(t0, tAtCore)}; the ${openAtStart.size} open microphones flowing at the core ${ms(t0, tMics)}`,
    );
    const chairFlows = (n: Node): boolean =>
      n === chair ||
      n.edge
        .room(M)
        ?.listStreams()
        .some((s) => s.siteId === chair.siteId && s.kind === 'video' && !s.paused) === true;
    const tChair = await until(
      "the chair's camera flowing into every room",
      async () => (sites.every(chairFlows) ? performance.now() : null),
      300_000,
    );
    timeline.mark('every room receiving the chair');
    console.log(
      `meeting start -> every room receiving (the chair's camera flowing into all ${sites.length} rooms): ${ms(t0, tChair)}`,
    );
    const knows = (): number =>
      net.nodes.filter((n) => (n.edge.room(M)?.rosterEntries().length ?? 0) >= sites.length).length;
    const tAll = await until(
      'every edge knows the roster',
      async () => (knows() === net.nodes.length ? performance.now() : null),
      300_000,
    ).catch(() => {
      console.log(`(after 300 s more, ${knows()} of ${net.nodes.length} edges knew the whole roster)`);
      return NaN;
    });
    console.log(
      `meeting start -> every edge knows who is in the meeting (the roster of ${sites.length} sites at each of ${net.nodes.length} edges): ${ms(t0, tAll)}`,
    );
    console.log(`this process while the meeting started: ${lag()}; RSS ${rssMb(process.pid).toFixed(0)} MB`);

    await until(
      'the core names the first speaker',
      async () => (coreRoom.activeSpeakerSiteId === speakerA.siteId ? true : null),
      60_000,
    ).catch(() =>
      console.log(
        `(the core had not named ${speakerA.siteId} within 60 s: it names ${coreRoom.activeSpeakerSiteId ?? 'nobody'})`,
      ),
    );
    // New speakers: communes outside the farthest commune's district, so that their picture crosses every level.
    const pool = sites.filter(
      (n) => n.kind === 'commune' && n.parent !== net.largest && !openAtStart.has(n.siteId) && n !== chair,
    );
    let pick = 0;
    // A stride prime to the pool's size walks through it without repeats (148 communes with the whole roster).
    const nextSpeaker = (): Node => pool[(pick++ * 29) % pool.length]!;
    const open = [speakerA, later[0]!];
    // The core's decisions as they happen, for the timeline.
    let named = coreRoom.activeSpeakerSiteId;
    const watch = setInterval(() => {
      if (coreRoom.activeSpeakerSiteId === named) return;
      named = coreRoom.activeSpeakerSiteId;
      timeline.mark(`the core names ${named ?? 'nobody'}`);
    }, 50);
    watch.unref();
    for (const phase of PHASES) {
      timeline.mark(`phase ${phase}`);
      if (phase === 'rollcall') {
        // Roll call: every microphone opens at its source, as the ingest does when the plan says so.
        const tOpen = performance.now();
        await Promise.all([...mics.values()].map((m) => m.resume()));
        const tFlow = await until(
          'every microphone flowing into the core',
          async () => (openMics(net.core) >= sites.length ? performance.now() : null),
          120_000,
        ).catch(() => null);
        console.log(
          `\n## roll call: all ${sites.length} microphones open (${tFlow ? `all flowing into the core after ${ms(tOpen, tFlow)}` : 'not all at the core within 120 s'}; down the links only the featured ones)`,
        );
      } else {
        console.log(`\n## chair + 2 speakers open (${[...openAtStart].join(', ')})`);
      }
      await sleep(2000);
      await window(net.nodes, net.core, net.largest, farthest, replay);
      const changes: Array<{ audio: number; video: number; decided: number }> = [];
      for (let i = 0; i < CHANGES; i++) {
        const speaker = nextSpeaker();
        if (phase !== 'rollcall') {
          // The floor passes: the new speaker's microphone opens, the oldest open one closes.
          await mics.get(speaker.siteId)!.resume();
          await mics.get(open.shift()!.siteId)!.pause();
          open.push(speaker);
        }
        const c = await speakerChange(coreRoom, farthest, replay, speaker);
        if (c) changes.push(c);
      }
      const stat = (k: 'audio' | 'video' | 'decided'): string => {
        const v = changes.map((c) => c[k]).sort((a, b) => a - b);
        const q = (p: number): number => Math.round(v[Math.min(v.length - 1, Math.floor(p * v.length))] ?? NaN);
        return `p50 ${q(0.5)} ms, p95 ${q(0.95)} ms`;
      };
      console.log(
        `speaker changes (${changes.length} of ${CHANGES} completed): the core's decision after the voice began ${stat('decided')}; from the decision to the new speaker's first packets at the farthest commune ${farthest.edgeId}: microphone ${stat('audio')}, camera ${stat('video')}`,
      );
    }
  } finally {
    for (const r of replayers) r.close();
    timeline.print();
    timeline.close();
    console.log(`\nload average at the end: ${load()}`);
    await net.close();
  }
}

/** CPU, RSS, producers, consumers, packets and egress over one window. */
async function window(nodes: Node[], core: Node, largest: Node, farthest: Node, replay: Replayer): Promise<void> {
  const pids = new Map<string, number[]>([
    ['core', core.edge.workerPids],
    [`largest relay ${largest.edgeId}`, largest.edge.workerPids],
    [
      `packed (the other ${nodes.filter((n) => n.pool === 'packed').length} edges)`,
      [...new Set(nodes.filter((n) => n.pool === 'packed').flatMap((n) => n.edge.workerPids))],
    ],
    [`Node: every edge's signalling and links, the replayer`, [process.pid]],
  ]);
  const measured = [core, largest, farthest];
  const t0 = await Promise.all(measured.map((n) => n.edge.room(M)!.router.traffic()));
  const cpu0 = new Map([...pids.values()].flat().map((pid) => [pid, cpuSeconds(pid)]));
  const sent0 = replay.sent;
  const m0 = machine();
  loopDelay.reset();
  timeline.mark('window');
  await sleep(WINDOW_MS);
  const cpu1 = new Map([...cpu0.keys()].map((pid) => [pid, cpuSeconds(pid)]));
  const m1 = machine();
  const t1 = await Promise.all(measured.map((n) => n.edge.room(M)!.router.traffic()));
  const stats = await Promise.all(measured.map((n) => n.edge.stats()));
  const secs = WINDOW_MS / 1000;
  console.log(`replayed into the rooms: ${Math.round((replay.sent - sent0) / secs)} packets/s; load average ${load()}`);
  console.log('\n| process | pids | CPU % of one core | RSS MB |');
  console.log('|---|---|---|---|');
  let total = 0;
  for (const [name, list] of pids) {
    const cpu = (list.reduce((n, pid) => n + (cpu1.get(pid)! - cpu0.get(pid)!), 0) * 100) / secs;
    total += cpu;
    const each = list.map((pid) => `${Math.round(((cpu1.get(pid)! - cpu0.get(pid)!) * 100) / secs)}%`).join(' + ');
    console.log(
      `| ${name} | ${list.length} | ${cpu.toFixed(0)}${list.length > 1 ? ` (${each})` : ''} | ${list.reduce((n, pid) => n + rssMb(pid), 0).toFixed(0)} |`,
    );
  }
  const cores = os.availableParallelism();
  const busy = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 * cores;
  const others = Math.max(0, busy - total);
  const bound =
    busy > cores * 90
      ? `the machine's ${cores} cores (busy ${busy.toFixed(0)}%: this bench ${total.toFixed(0)}%, other work ${others.toFixed(0)}%)`
      : `nothing saturated (machine busy ${busy.toFixed(0)}% of ${cores * 100}%: this bench ${total.toFixed(0)}%, other work ${others.toFixed(0)}%)`;
  console.log(`bound by: ${bound}`);
  const receiving = nodes.filter(
    (n) =>
      n.siteId &&
      n.edge
        .room(M)
        ?.listStreams()
        .some((s) => s.kind === 'video' && !s.paused && s.via !== null),
  ).length;
  console.log(
    `rooms receiving a camera at the end of the window: ${receiving} of ${nodes.length - 1}; ${lag()} (over the window)`,
  );
  console.log(
    '\n| edge | producers | consumers | packets in /s | packets out /s | links | egress kbit/s, sum of links | per link min / median / max kbit/s |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  measured.forEach((n, i) => {
    const links = stats[i]!.meetings[0]!.links.filter((l) => l.direction === 'down' || n === farthest)
      .map((l) => l.sendBitrateBps / 1000)
      .sort((a, b) => a - b);
    const sum = links.reduce((a, b) => a + b, 0);
    const pick = (q: number): number =>
      Math.round(links[Math.min(links.length - 1, Math.floor(q * links.length))] ?? 0);
    console.log(
      `| ${n.edgeId} | ${t1[i]!.producers} | ${t1[i]!.consumers} | ${Math.round((t1[i]!.packetsIn - t0[i]!.packetsIn) / secs)} | ${Math.round((t1[i]!.packetsOut - t0[i]!.packetsOut) / secs)} | ${links.length} | ${Math.round(sum)} | ${pick(0)} / ${pick(0.5)} / ${pick(1)} |`,
    );
  });
}

/**
 * The bench makes a new site loud; the core's observer names it (the core's
 * decision, read from the host's room); its microphone and camera are then
 * announced down the cascade on demand (they were not at the farthest commune
 * before): timed until the first packet of each arrives there.
 */
async function speakerChange(
  core: MeetingRoom,
  farthest: Node,
  replay: Replayer,
  speaker: Node,
): Promise<{ decided: number; audio: number; video: number } | null> {
  const room = farthest.edge.room(M)!;
  const before = room.listStreams().filter((s) => s.siteId === speaker.siteId).length;
  const tLoud = performance.now();
  replay.loud = speaker.siteId;
  timeline.mark(`${speaker.siteId} speaks`);
  let tDecision = 0;
  const first = { audio: 0, video: 0 };
  try {
    await until(
      'the core names the new speaker',
      async () => {
        for (let i = 0; i < 100 && !tDecision; i++) {
          if (core.activeSpeakerSiteId === speaker.siteId) tDecision = performance.now();
          else await sleep(2);
        }
        return tDecision || null;
      },
      30_000,
    );
    // Poll the farthest commune's copies of the speaker's streams every few ms until each has counted a packet.
    await until(
      `${speaker.siteId}'s packets at ${farthest.edgeId}`,
      async () => {
        for (let i = 0; i < 200 && !(first.audio && first.video); i++) {
          for (const s of room.listStreams()) {
            if (s.siteId !== speaker.siteId || s.paused || first[s.kind]) continue;
            const st = await room.stream(s.id)?.stats();
            if (st && st.packets > 0) first[s.kind] = performance.now();
          }
          await sleep(3);
        }
        return first.audio && first.video ? true : null;
      },
      30_000,
    );
  } catch (err) {
    timeline.mark(`speaker change to ${speaker.siteId} did not complete`);
    console.log(`speaker change to ${speaker.siteId} did not complete: ${String(err)}`);
    return null;
  }
  console.log(
    `speaker change to ${speaker.siteId} (${before} of its streams at ${farthest.edgeId} before): the core decided ${ms(tLoud, tDecision)} after the voice began; first packets at ${farthest.edgeId} ${ms(tDecision, first.audio)} (microphone) / ${ms(tDecision, first.video)} (camera) after the decision`,
  );
  return { decided: tDecision - tLoud, audio: first.audio - tDecision, video: first.video - tDecision };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
