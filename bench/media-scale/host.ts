// One bench process of bench:media:scale (a "host"): runs its share of the
// network's edges (topology.ts) on its own mediasoup workers and RTP ports,
// feeds its rooms with replayed RTP from its own socket, and answers the main
// process over IPC (hosts.ts): start, apply plans, produce, open microphones,
// make a site loud, report progress and figures. Times cross processes as
// wallNow() (timeline.ts).
//
// Its ports (from hostPortBase(k)): the core's pool base..+999, the largest
// relay's +1000..+1199, the packed pool's own slice +1200..+1299, then a range
// per packed edge from +1300 (12 ports, 40 for a district).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MediaPlan } from '@diemcau/shared';
import { MediaWorkers, ingestRtpParameters, type Stream } from '../../appliance/src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../appliance/src/media/config.js';
import { Edge } from '../../appliance/src/media/edge.js';
import { SignalServer } from '../../appliance/src/media/server.js';
import { token } from '../../appliance/test/media/helpers.js';
import { Replayer, type Feed } from './replay.js';
import { Timeline, wallNow } from './timeline.js';
import { hostPortBase, type EdgeSpec } from './topology.js';
import type { HostOps } from './hosts.js';

const M = 'plenary';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Links per edge and streams per link sized for 210 sites (the defaults fit a real district).
const limits = {
  ...peerLimits(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'bench', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24) })),
  maxStreamsPerLink: 1024,
};

interface Held {
  spec: EdgeSpec;
  edge: Edge;
  server: SignalServer | null;
}

let timeline: Timeline;
const edges = new Map<string, Held>();
const pools = new Map<EdgeSpec['pool'], MediaWorkers>();
const mics = new Map<string, Stream>();
let replay: Replayer | null = null;
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

const room = (edgeId: string) => edges.get(edgeId)!.edge.room(M)!;
const sites = (): Held[] => [...edges.values()].filter((h) => h.spec.siteId !== '');

const ops: HostOps = {
  async start({ index, t0, coreWorkers, spanAt, packWorkers, specs, echo }) {
    timeline = new Timeline(echo, t0);
    const base = hostPortBase(index);
    const pool = async (kind: EdgeSpec['pool']): Promise<MediaWorkers> => {
      const p =
        kind === 'core'
          ? await MediaWorkers.start({
              rtcMinPort: base,
              rtcMaxPort: base + 999,
              workers: coreWorkers,
              spanAt,
              logLevel: 'none',
            })
          : kind === 'largest relay'
            ? await MediaWorkers.start({
                rtcMinPort: base + 1000,
                rtcMaxPort: base + 1199,
                workers: 1,
                logLevel: 'none',
              })
            : await MediaWorkers.start({
                rtcMinPort: base + 1200,
                rtcMaxPort: base + 1299,
                workers: packWorkers,
                logLevel: 'none',
              });
      pools.set(kind, p);
      return p;
    };
    let next = base + 1300;
    const out: Record<string, { url: string; pids: number[] }> = {};
    for (const spec of specs) {
      const shared = pools.get(spec.pool) ?? (await pool(spec.pool));
      const width = spec.kind === 'district' ? 40 : 12;
      const worker = spec.pool === 'packed' ? { shared, ports: { min: next, max: next + width - 1 } } : { shared };
      if (spec.pool === 'packed') next += width;
      const edge = await Edge.start({
        edgeId: spec.edgeId,
        role: spec.kind === 'core' ? 'core' : 'site',
        listen: { listenIp: '127.0.0.1' },
        capture: null,
        ffmpegBin: 'ffmpeg',
        worker,
        log: timeline.log,
        limits,
        tapAllow: '127.0.0.1',
      });
      const server = spec.serves
        ? new SignalServer({
            edge,
            adminToken: token() + token(),
            joinToken: token() + token(),
            host: '127.0.0.1',
            port: 0,
            log: timeline.log,
          })
        : null;
      out[spec.edgeId] = { url: server ? await server.listen() : '', pids: edge.workerPids };
      edges.set(spec.edgeId, { spec, edge, server });
    }
    return { pid: process.pid, edges: out };
  },

  async plans({ plans }) {
    await Promise.all(plans.map((p: MediaPlan) => edges.get(p.edgeId)!.edge.applyPlan(p)));
    return null;
  },

  // Every room (of `siteIds`, or all) produces at once, as every box does when its plan arrives; the replay
  // starts with the first, and takes in later ones. Each site's room is the one of its meeting in its plan.
  async produce({ siteIds, open, clip, ssrcBase }) {
    const feeds: Feed[] = [];
    let ssrc = ssrcBase;
    const chosen = sites().filter((h) => !siteIds || siteIds.includes(h.spec.siteId));
    await Promise.all(
      chosen.map(async ({ spec, edge }) => {
        const m = edge.currentPlan?.meetings.find((x) => x.localSiteId === spec.siteId);
        const r = m ? edge.room(m.meetingId) : undefined;
        if (!r) return;
        const [ssrcA, ssrcV] = [ssrc++, ssrc++];
        const input = await r.router.createPlainIn('127.0.0.1');
        const info = { siteId: spec.siteId, originEdgeId: spec.edgeId };
        const audio = await input.produce({
          kind: 'audio',
          rtpParameters: ingestRtpParameters('audio', 'vp8', ssrcA, spec.edgeId),
          info,
          paused: open !== null && !open.includes(spec.siteId),
        });
        const video = await input.produce({
          kind: 'video',
          rtpParameters: ingestRtpParameters('video', 'vp8', ssrcV, spec.edgeId),
          info,
        });
        r.addStream(audio, null);
        r.addStream(video, null);
        mics.set(spec.siteId, audio);
        feeds.push({ siteId: spec.siteId, port: input.tuple.port, ssrcA, ssrcV, offset: Math.random() * 4000 });
      }),
    );
    if (replay) for (const f of feeds) replay.add(f);
    else
      replay = new Replayer(
        feeds,
        clip.map((c) => ({ at: c.at, packet: Buffer.from(c.b64, 'base64') })),
      );
    return { clipKbps: replay.clipKbps, rooms: feeds.length };
  },

  // Whether every edge here knows every site of each of these meetings it is in (the roster: who is in it).
  async announced({ want }) {
    return [...edges.values()].every(({ edge }) =>
      (edge.currentPlan?.meetings ?? [])
        .filter((m) => want[m.meetingId] !== undefined)
        .every((m) => (edge.room(m.meetingId)?.rosterEntries().length ?? 0) >= want[m.meetingId]!),
    );
  },

  // Rooms (routers) on each worker of this host's pools, by pool.
  async placement() {
    const out: Record<string, Array<{ pid: number | null; rooms: number }>> = {};
    for (const [kind, p] of pools) out[kind] = p.placement().map((w) => ({ pid: w.pid, rooms: w.meetingIds.length }));
    return out;
  },

  async progress({ chairSiteId, rosterSize }) {
    const core = [...edges.values()].find((h) => h.spec.kind === 'core');
    const coreRoom = core ? room(core.spec.edgeId) : null;
    const chairFlows = (h: Held): boolean =>
      h.spec.siteId === chairSiteId ||
      room(h.spec.edgeId)
        .listStreams()
        .some((s) => s.siteId === chairSiteId && s.kind === 'video' && !s.paused);
    return {
      coreSending: coreRoom ? coreRoom.rosterEntries().filter((e) => e.camera).length : null,
      coreMics: coreRoom ? coreRoom.listStreams().filter((s) => s.kind === 'audio' && !s.paused).length : null,
      speaker: coreRoom?.activeSpeakerSiteId ?? null,
      receivingChair: sites().filter(chairFlows).length,
      knowRoster: [...edges.values()].filter((h) => (h.edge.room(M)?.rosterEntries().length ?? 0) >= rosterSize).length,
    };
  },

  async mic({ siteIds, open }) {
    await Promise.all(siteIds.map((id) => (open ? mics.get(id)?.resume() : mics.get(id)?.pause())));
    return null;
  },

  async loud({ siteId }) {
    replay!.loud = siteId;
    return null;
  },

  // The core's decision: when its room first names `siteId` the active speaker.
  async decision({ siteId, timeoutMs }) {
    const core = [...edges.values()].find((h) => h.spec.kind === 'core')!;
    const r = room(core.spec.edgeId);
    const end = performance.now() + timeoutMs;
    while (r.activeSpeakerSiteId !== siteId) {
      if (performance.now() > end) return null;
      await sleep(2);
    }
    return wallNow();
  },

  // When the first packet of the speaker's microphone and camera is counted at `edgeId` (polled every few ms).
  async firstPackets({ edgeId, siteId, timeoutMs }) {
    const r = room(edgeId);
    const first = { audio: 0, video: 0 };
    const end = performance.now() + timeoutMs;
    while (!(first.audio && first.video)) {
      if (performance.now() > end) return null;
      for (const s of r.listStreams()) {
        if (s.siteId !== siteId || s.paused || first[s.kind]) continue;
        const st = await r.stream(s.id)?.stats();
        if (st && st.packets > 0) first[s.kind] = wallNow();
      }
      await sleep(3);
    }
    return first;
  },

  async traffic({ edgeIds, resetLag }) {
    if (resetLag) loopDelay.reset();
    return {
      sent: replay?.sent ?? 0,
      traffic: await Promise.all(
        edgeIds.filter((id) => edges.has(id)).map(async (id) => ({ id, ...(await room(id).router.traffic()) })),
      ),
    };
  },

  async links({ edgeIds, allDirections }) {
    const out: Record<string, number[]> = {};
    for (const id of edgeIds.filter((x) => edges.has(x))) {
      const st = await edges.get(id)!.edge.stats();
      out[id] = st.meetings[0]!.links.filter((l) => l.direction === 'down' || allDirections.includes(id)).map(
        (l) => l.sendBitrateBps / 1000,
      );
    }
    const receiving = sites().filter((h) =>
      room(h.spec.edgeId)
        .listStreams()
        .some((s) => s.kind === 'video' && !s.paused && s.via !== null),
    ).length;
    const ms = (p: number): number => Math.round(loopDelay.percentile(p) / 1e6);
    return { links: out, receiving, lag: { p50: ms(50), p99: ms(99), max: Math.round(loopDelay.max / 1e6) } };
  },

  async timeline() {
    return timeline.snapshot();
  },

  async close() {
    replay?.close();
    for (const h of [...edges.values()].reverse()) {
      await h.server?.close();
      await h.edge.close();
    }
    for (const p of pools.values()) p.close();
    timeline.close();
    return null;
  },
};

process.on('message', (msg: { id: number; op: keyof HostOps; args: never }) => {
  const fn = ops[msg.op] as (args: never) => Promise<unknown>;
  fn(msg.args).then(
    (value) => process.send!({ id: msg.id, ok: true, value }),
    (err: unknown) => process.send!({ id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) }),
  );
});
process.on('disconnect', () => process.exit(0));
