// Speaker switch across a whole cascade, for bench:room. Real edges (the
// edge's own code, each with its router and its HTTP signalling on loopback)
// linked as the fleet plans them, on one shared mediasoup worker:
//
//            core (host)
//          /   |   \    \
//        pA    pB   pC    d1 (relay, site d1)
//                          \
//                           c1 (commune, the farthest TV; the chair)
//
// pA, pB and pC are rooms with a real GStreamer sender (two layers, H.264)
// and a microphone that speaks (ffmpeg's tone); the bench opens one
// microphone at a time, in turn, so each new speaker is the one least
// recently heard and its camera is held back (not among the 2 featured
// speakers) until the core names it. Timed from the core naming the new
// speaker (its room's decision, read in this process) to the first keyframe
// packet of that speaker's full picture leaving a tap at c1, three links away.
// The tap is made the moment c1 has the stream (polled every 2 ms): a TV's page
// that polls for new streams adds its own polling interval to a stream that
// was announced anew.
//
// Then `cold` turns more, each after a silence long enough for every room to
// cool (forwarding.ts WARM_FOR_MS) and for the next speaker's camera to be
// closed on the links (link/bridge.ts REAP_AFTER_MS): the case where its
// streams are announced anew hop by hop, from the first level report that
// hears it (it is warm from then) or from its naming.
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { MediaWorkers } from '../../appliance/src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../appliance/src/media/config.js';
import { Edge } from '../../appliance/src/media/edge.js';
import type { CaptureConfig } from '../../appliance/src/media/ffmpeg/args.js';
import { LocalIngest } from '../../appliance/src/media/ingest.js';
import { isKeyframePacket } from '../../appliance/src/media/rtp/keyframe.js';
import { SignalServer } from '../../appliance/src/media/server.js';
import { WARM_FOR_MS } from '../../appliance/src/media/forwarding.js';
import { REAP_AFTER_MS } from '../../appliance/src/media/link/bridge.js';
import { cpuSeconds } from './cpu.js';
import { token, until } from '../../appliance/test/media/helpers.js';
import { PathTrace } from './path-trace.js';

const M = 'm-switch';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface CNode {
  edgeId: string;
  siteId: string | null;
  parent: CNode | null;
  edge: Edge;
  server: SignalServer | null;
  url: string;
  acceptToken: string;
}

function planFor(n: CNode, nodes: CNode[]): MediaPlan {
  const children = nodes.filter((c) => c.parent === n);
  const below = (c: CNode): string[] => [
    ...(c.siteId ? [c.siteId] : []),
    ...nodes.filter((x) => x.parent === c).flatMap(below),
  ];
  const meeting: MediaMeeting = {
    meetingId: M,
    title: M,
    role: n.parent === null ? 'host' : children.length ? 'relay' : 'leaf',
    upstream: n.parent ? { edgeId: n.parent.edgeId, signalUrl: n.parent.url, linkToken: n.parent.acceptToken } : null,
    acceptToken: children.length ? n.acceptToken : null,
    downstream: children.map((c) => ({ edgeId: c.edgeId, addresses: ['127.0.0.1'], siteIds: below(c) })),
    localSiteId: n.siteId,
    chairSiteId: 'c1',
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live',
  };
  return { v: 1, revision: 1, edgeId: n.edgeId, meetings: [meeting] };
}

export interface SwitchResult {
  /** ms from the core's decision to the first keyframe at c1, per switch (NaN: none within 5 s). */
  times: number[];
  /** The same for the cold turns (after a silence that cooled every room; see above). */
  coldTimes: number[];
  /** Per cold turn, whether the camera was still announced at c1 when the core named the speaker (warm from its first report). */
  coldAnnouncedAtNaming: boolean[];
  /** Streams held back at c1 (announced, paused) just before each timed turn, and their bitrate there (bit/s, summed). */
  heldAtC1: number[];
  heldBitrateBps: number[];
  /** The shared worker's CPU over the timed turns (share of one core), and c1's bitrate in from d1 meanwhile (bit/s, mean). */
  workerCpu: number;
  c1InBps: number;
  /** Switches whose camera was still announced at c1, held back (paused), when its turn came. */
  heldBefore: number;
  /** Switches whose camera had been closed on the links (held back past the grace period) and was announced anew. */
  announcedAnew: number;
  /** Switches whose camera was no longer announced at c1 when the core named the speaker (closed while it waited to be named). */
  anewAtNaming: number;
  /** Turns in which the core named nobody new within 45 s (not timed). */
  unnamed: number;
  /** ms from the new speaker's microphone opening to the core naming it (it must be heard: speaker-gate.ts), per timed turn. */
  naming: number[];
  capture: string;
}

export async function cascadeSwitch(
  log: Logger,
  switches: number,
  capture: CaptureConfig,
  cold = 0,
): Promise<SwitchResult> {
  // BENCH_TRACE=1: where each switch's time went, router by router (path-trace.ts).
  const trace = process.env['BENCH_TRACE'] ? new PathTrace(['core', 'd1', 'c1', 'pA', 'pB', 'pC']) : null;
  const pool = await MediaWorkers.start({ rtcMinPort: 53_000, rtcMaxPort: 53_299, workers: 1, logLevel: 'none' });
  const limits = peerLimits(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'bench', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24) }));
  const nodes: CNode[] = [];
  const ingests: LocalIngest[] = [];
  const sockets: dgram.Socket[] = [];
  let nextPort = 53_000;
  const start = async (edgeId: string, siteId: string | null, parent: CNode | null, serves: boolean) => {
    const ports = { min: nextPort, max: nextPort + 39 };
    nextPort += 40;
    const edge = await Edge.start({
      edgeId,
      role: parent ? 'site' : 'core',
      listen: { listenIp: '127.0.0.1' },
      capture: null,
      ffmpegBin: 'ffmpeg',
      worker: { shared: pool, ports },
      log,
      limits,
      tapAllow: '127.0.0.1',
    });
    let server: SignalServer | null = null;
    let url = '';
    if (serves) {
      server = new SignalServer({
        edge,
        adminToken: token() + token(),
        joinToken: token() + token(),
        host: '127.0.0.1',
        port: 0,
        log,
      });
      url = await server.listen();
    }
    const n: CNode = { edgeId, siteId, parent, edge, server, url, acceptToken: token() + token() };
    nodes.push(n);
    return n;
  };
  try {
    const core = await start('core', null, null, true);
    const d1 = await start('d1', 'd1', core, true);
    const c1 = await start('c1', 'c1', d1, false);
    const speakers = [
      await start('pA', 'pA', core, false),
      await start('pB', 'pB', core, false),
      await start('pC', 'pC', core, false),
    ];
    for (const n of nodes) await n.edge.applyPlan(planFor(n, nodes));
    // Each speaker's room: the edge's own ingest (GStreamer picture in two layers, ffmpeg sound), microphones closed.
    for (const s of speakers) {
      const room = s.edge.room(M)!;
      const ingest = await LocalIngest.start({
        router: room.router,
        capture,
        ffmpegBin: 'ffmpeg',
        siteId: s.siteId!,
        edgeId: s.edgeId,
        log,
      });
      ingests.push(ingest);
      await ingest.setMicOpen(false);
      for (const st of ingest.streams) room.addStream(st, null);
    }
    const atC1 = (siteId: string) =>
      c1.edge
        .room(M)
        ?.listStreams()
        .find((s) => s.siteId === siteId && s.kind === 'video' && s.layer === undefined);
    // One socket per speaker recording keyframe packets; a tap on its full picture at c1
    // as soon as c1 has it (links announce only what flows, so it may be new at each turn).
    const keyframes = new Map<string, number[]>();
    const ports = new Map<string, number>();
    const tapped = new Set<string>();
    for (const s of speakers) {
      const sock = dgram.createSocket('udp4');
      sockets.push(sock);
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const list: number[] = [];
      keyframes.set(s.siteId!, list);
      ports.set(s.siteId!, sock.address().port);
      sock.on('message', (m) => {
        if (isKeyframePacket(m, capture.videoCodec)) list.push(performance.now());
      });
    }
    const coreRoom = core.edge.room(M)!;
    const linked = async (n: CNode, count: number): Promise<boolean | null> =>
      (await n.edge.room(M)!.stats()).links.filter((l) => l.state === 'connected').length === count || null;
    await until('the core linked to its four edges', () => linked(core, 4), 60_000);
    await until('d1 linked up and down', () => linked(d1, 2), 60_000);
    const times: number[] = [];
    const coldTimes: number[] = [];
    const coldAnnouncedAtNaming: boolean[] = [];
    const heldAtC1: number[] = [];
    const heldBitrateBps: number[] = [];
    const c1In: number[] = [];
    let heldBefore = 0;
    let announcedAnew = 0;
    let anewAtNaming = 0;
    let unnamed = 0;
    const naming: number[] = [];
    let cpuFrom: { t: number; cpu: number } | null = null;
    let workerCpu = NaN;
    // A first round makes every speaker known to the observer; then each turn
    // is timed; then the cold turns, each after a silence that cools every room.
    const warmTurns = switches + speakers.length;
    for (let i = 0; i < warmTurns + cold; i++) {
      const k = i % speakers.length;
      const next = speakers[k]!;
      const site = next.siteId!;
      const timed = i >= speakers.length;
      const isCold = i >= warmTurns;
      if (timed && !cpuFrom) cpuFrom = { t: performance.now(), cpu: cpuSeconds(pool.pids) };
      if (isCold) {
        if (i === warmTurns)
          workerCpu = (cpuSeconds(pool.pids) - cpuFrom!.cpu) / ((performance.now() - cpuFrom!.t) / 1000);
        for (const g of ingests) await g.setMicOpen(false);
        await sleep(WARM_FOR_MS + REAP_AFTER_MS + 4000);
      } else {
        await ingests[(k + speakers.length - 1) % speakers.length]!.setMicOpen(false);
      }
      const was = atC1(site);
      if (timed && !isCold) {
        if (was) heldBefore += was.paused ? 1 : 0;
        else announcedAnew += 1;
        // What waits at c1, held back: none of it should cost a bit on the link.
        const c1Room = c1.edge.room(M)!;
        const held = c1Room.listStreams().filter((s) => s.paused && s.via !== null);
        heldAtC1.push(held.length);
        let bps = 0;
        for (const h of held) bps += (await c1Room.stream(h.id)?.stats())?.bitrateBps ?? 0;
        heldBitrateBps.push(bps);
        const up = (await c1Room.stats()).links.find((l) => l.direction === 'up');
        if (up) c1In.push(up.recvBitrateBps);
      }
      await ingests[k]!.setMicOpen(true);
      const opened = performance.now();
      let decided = 0;
      const end = performance.now() + 45_000;
      while (!decided && performance.now() < end) {
        if (coreRoom.activeSpeakerSiteId === site) decided = performance.now();
        else await sleep(2);
      }
      if (!decided) {
        // A loaded machine may starve the microphones' senders: counted, and the next turn goes on.
        unnamed += 1;
        continue;
      }
      if (timed) naming.push(decided - opened);
      const atNaming = atC1(site);
      if (timed && !isCold && !atNaming) anewAtNaming += 1;
      if (isCold) coldAnnouncedAtNaming.push(atNaming !== undefined);
      const list = keyframes.get(site)!;
      const until5 = decided + 5000;
      let first = NaN;
      while (performance.now() < until5) {
        const there = atC1(site);
        if (there && !tapped.has(there.id)) {
          tapped.add(there.id);
          await c1.edge.room(M)!.createTap({ producerId: there.id, ip: '127.0.0.1', port: ports.get(site)! });
        }
        const kf = list.find((x) => x >= decided);
        if (kf !== undefined) {
          first = kf - decided;
          break;
        }
        await sleep(2);
      }
      if (isCold) coldTimes.push(first);
      else if (timed) times.push(first);
      if (trace && timed) {
        const camera = atNaming ? (atNaming.paused ? 'held back' : 'flowing') : 'not announced';
        console.log(
          `   ${isCold ? 'cold ' : ''}turn ${i - speakers.length + 1} ${site}: named ${Math.round(decided - opened)} ms after its microphone opened, its camera at c1 ${was ? 'announced' : 'not announced'} then and ${camera} at the naming; first keyframe at c1 after ${Math.round(first)} ms; ms after the naming: ${trace.summary(site, decided, [site, 'core', 'd1', 'c1'])}`,
        );
        trace.prune(decided);
      }
      // Let the picture settle before the next turn.
      await sleep(1200 + Math.random() * 800);
    }
    if (Number.isNaN(workerCpu) && cpuFrom)
      workerCpu = (cpuSeconds(pool.pids) - cpuFrom.cpu) / ((performance.now() - cpuFrom.t) / 1000);
    return {
      times,
      coldTimes,
      coldAnnouncedAtNaming,
      heldAtC1,
      heldBitrateBps,
      workerCpu,
      c1InBps: c1In.length ? c1In.reduce((a, b) => a + b, 0) / c1In.length : NaN,
      heldBefore,
      unnamed,
      naming,
      announcedAnew,
      anewAtNaming,
      capture: `${capture.width}x${capture.height}/${capture.fps} ${capture.videoCodec}`,
    };
  } finally {
    for (const s of sockets) s.close();
    await Promise.all(ingests.map((i) => i.close()));
    for (const n of [...nodes].reverse()) {
      await n.server?.close();
      await n.edge.close();
    }
    pool.close();
  }
}
