// Media at scale, a first cut (`npm run bench:media:scale`): one meeting of N
// sites, every site a real instance of the edge code (Edge, its MeetingRoom,
// its router on a real mediasoup worker, cascade links over HTTP signalling
// and SRTP pipe transports), all edges in this process, each with its own
// worker process (the core: BENCH_CORE_WORKERS, default 1) in its own slice
// of ports. Sites are NOT packed several to a worker yet: the cascade keeps a
// stream's producer id from edge to edge, and one mediasoup worker refuses a
// second producer with an id it has ("Channel request handler with ID ...
// already exists"), so two edges of one meeting cannot share a worker as the
// code stands. Hence the default of 16 sites (BENCH_SITES).
// Shape: the chair's province-level site under the core, BENCH_DISTRICTS
// districts (default 3) under the core, communes under the districts, the
// first district (d0, the relay measured) with the most.
// Rooms are fed by replayed RTP instead of encoders: one short VP8 clip that
// ffmpeg encodes once at the start (160x120, 15 fps, ~80 kbit/s), replayed by
// this process with each site's SSRC, and 20 ms Opus-sized audio packets; so
// the workers measured are relays, not encoders. Every box sends its
// microphone (closed ones arrive at a paused producer, as with the real
// ingest); the chair and two speakers are open.
// Printed: time from the plans to every stream announced at every edge, and
// to the chair's camera flowing at the farthest commune; then over a window,
// per worker CPU and RSS, producers and consumers at the core and the largest
// district, and egress per link there.
// Not measured yet (issue 16): speaker-change time, roll call (all
// microphones open), 210 sites, 100 meetings at once, the plan's size and
// time, and the side-by-side against a bare mediasoup pipe hop.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { ingestRtpParameters, type Stream } from '../appliance/src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../appliance/src/media/config.js';
import { Edge } from '../appliance/src/media/edge.js';
import { SignalServer } from '../appliance/src/media/server.js';
import { until } from '../appliance/test/media/helpers.js';

const env = process.env;
const SITES = Number(env['BENCH_SITES'] ?? 16);
const DISTRICTS = Number(env['BENCH_DISTRICTS'] ?? 3);
const CORE_WORKERS = Number(env['BENCH_CORE_WORKERS'] ?? 1);
/** Transports + consumers of the meeting on one of the core's workers before it spans the next (DIEMCAU_EDGE_WORKER_SPAN_AT). */
const SPAN_AT = Number(env['BENCH_SPAN_AT'] ?? 1000);
const WINDOW_MS = Number(env['BENCH_WINDOW_MS'] ?? 10_000);
const M = 'scale';
const COMMUNES = SITES - 1 - DISTRICTS;
if (!(COMMUNES >= DISTRICTS && DISTRICTS >= 1)) throw new Error('BENCH_SITES must leave at least one commune per district');

const log = pino({ level: env['BENCH_LOG'] ?? 'silent' }, process.stderr);
const limits = peerLimits(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'bench', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24), DIEMCAU_EDGE_RTC_MIN_PORT: '20000', DIEMCAU_EDGE_RTC_MAX_PORT: '29999' }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the replayed clip ---------------------------------------------------------

/** VP8 RTP packets of a short clip, as ffmpeg sends them, with their offsets in ms. */
async function recordClip(): Promise<Array<{ at: number; packet: Buffer }>> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const packets: Buffer[] = [];
  sock.on('message', (m) => packets.push(Buffer.from(m)));
  const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-t', '4',
    '-c:v', 'libvpx', '-b:v', '100k', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-an',
    '-f', 'rtp', '-payload_type', '101', `rtp://127.0.0.1:${sock.address().port}?pkt_size=1200`], { stdio: 'ignore' });
  await new Promise((r) => ff.on('exit', r));
  await sleep(200);
  sock.close();
  if (packets.length === 0) throw new Error('ffmpeg produced no RTP');
  const ts0 = packets[0]!.readUInt32BE(4);
  return packets.map((p) => ({ at: ((p.readUInt32BE(4) - ts0) >>> 0) / 90, packet: p }));
}

// ---- edges ---------------------------------------------------------------------

interface Site {
  edgeId: string;
  siteId: string;
  kind: 'core' | 'chair' | 'district' | 'commune';
  parent: Site | null;
  edge: Edge;
  server: SignalServer | null;
  url: string;
  acceptToken: string;
}

const token = (): string => Math.random().toString(36).slice(2).padEnd(20, 'x');

let nextPorts = 20000;
async function startSite(edgeId: string, kind: Site['kind'], parent: Site | null, serves: boolean): Promise<Site> {
  const workers = kind === 'core' ? CORE_WORKERS : 1;
  const rtcMinPort = nextPorts;
  nextPorts += 100 * workers;
  const edge = await Edge.start({
    edgeId, role: kind === 'core' ? 'core' : 'site', listen: { listenIp: '127.0.0.1' }, capture: null, ffmpegBin: 'ffmpeg',
    worker: { rtcMinPort, rtcMaxPort: rtcMinPort + 100 * workers - 1, workers, spanAt: SPAN_AT, logLevel: 'none' }, log, limits, tapAllow: '127.0.0.1',
  });
  let server: SignalServer | null = null;
  let url = '';
  if (serves) {
    server = new SignalServer({ edge, adminToken: token() + token(), joinToken: token() + token(), host: '127.0.0.1', port: 0, log });
    url = await server.listen();
  }
  return { edgeId, siteId: kind === 'core' ? '' : `site-${edgeId}`, kind, parent, edge, server, url, acceptToken: token() + token() };
}

function subtree(s: Site, all: Site[]): Site[] {
  return [s, ...all.filter((c) => c.parent === s).flatMap((c) => subtree(c, all))];
}

function planFor(s: Site, all: Site[], chair: Site): MediaPlan {
  const children = all.filter((c) => c.parent === s);
  const meeting: MediaMeeting = {
    meetingId: M, title: 'scale', role: s.parent === null ? 'host' : children.length ? 'relay' : 'leaf',
    upstream: s.parent ? { edgeId: s.parent.edgeId, signalUrl: s.parent.url, linkToken: s.parent.acceptToken } : null,
    acceptToken: children.length ? s.acceptToken : null,
    // Each downstream edge may bring up the streams of its subtree only.
    downstream: children.map((c) => ({ edgeId: c.edgeId, addresses: ['127.0.0.1'], siteIds: subtree(c, all).map((x) => x.siteId) })),
    localSiteId: s.kind === 'core' ? null : s.siteId, chairSiteId: chair.siteId,
    // No floor and no mute-all: which microphones are open is the replayer's choice (below).
    floorSiteId: null, rollCallSiteId: null, mutedAll: false, state: 'live',
  };
  return { v: 1, revision: 1, edgeId: s.edgeId, meetings: [meeting] };
}

/** CPU seconds used so far by a process (utime + stime from /proc). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  console.log(`bench:media:scale: ${SITES} sites (1 chair at the core, ${DISTRICTS} districts, ${COMMUNES} communes) in one meeting; ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const clip = await recordClip();
  const clipMs = clip[clip.length - 1]!.at + 67;
  const clipBytes = clip.reduce((n, c) => n + c.packet.length, 0);
  console.log(`clip: ${clip.length} VP8 packets over ${(clipMs / 1000).toFixed(1)} s (${Math.round((clipBytes * 8) / clipMs)} kbit/s), replayed per site`);

  const sites: Site[] = [];
  const senders: dgram.Socket[] = [];
  try {
    const core = await startSite('core', 'core', null, true);
    const chair = await startSite('chair', 'chair', core, false);
    sites.push(core, chair);
    const districts: Site[] = [];
    for (let d = 0; d < DISTRICTS; d++) districts.push(await startSite(`d${d}`, 'district', core, true));
    sites.push(...districts);
    // District 0 is the largest relay: it takes the remainder.
    const per = Math.floor(COMMUNES / DISTRICTS);
    for (let c = 0; c < COMMUNES; c++) {
      const d = c < COMMUNES - per * (DISTRICTS - 1) ? 0 : 1 + Math.floor((c - (COMMUNES - per * (DISTRICTS - 1))) / per);
      sites.push(await startSite(`c${c}`, 'commune', districts[d]!, false));
    }
    const speakers = [districts[1] ?? districts[0]!, sites[sites.length - 1]!];
    const farthest = sites.filter((s) => s.kind === 'commune' && s.parent === districts[0]).at(-1)!;

    // Meeting starts: every edge gets its plan.
    const t0 = performance.now();
    await Promise.all(sites.map((s) => s.edge.applyPlan(planFor(s, sites, chair))));

    // Each site's room gets its replayed camera and microphone, as the local ingest would.
    const feeds: Array<{ ssrcA: number; ssrcV: number; port: number; offset: number }> = [];
    let nextSsrc = 0x10000;
    const streamsBySite = new Map<string, { audio: Stream; video: Stream }>();
    for (const s of sites) {
      if (s.kind === 'core') continue;
      const room = s.edge.room(M)!;
      const input = await room.router.createPlainIn('127.0.0.1');
      const [ssrcA, ssrcV] = [nextSsrc++, nextSsrc++];
      const info = { siteId: s.siteId, originEdgeId: s.edgeId };
      const open = s === chair || speakers.includes(s);
      const audio = await input.produce({ kind: 'audio', rtpParameters: ingestRtpParameters('audio', 'vp8', ssrcA, s.edgeId), info, paused: !open });
      const video = await input.produce({ kind: 'video', rtpParameters: ingestRtpParameters('video', 'vp8', ssrcV, s.edgeId), info });
      room.addStream(audio, null);
      room.addStream(video, null);
      streamsBySite.set(s.siteId, { audio, video });
      feeds.push({ ssrcA, ssrcV, port: input.tuple.port, offset: Math.random() * clipMs });
    }

    // The replayer: one socket, 20 ms ticks, each site's clip from its own offset.
    const sock = dgram.createSocket('udp4');
    senders.push(sock);
    const started = performance.now();
    let seq = 0;
    let sent = 0;
    const cursor = feeds.map(() => 0);
    const vseq = feeds.map(() => 0);
    const tick = setInterval(() => {
      const now = performance.now() - started;
      seq++;
      feeds.forEach((f, i) => {
        const a = Buffer.alloc(12 + 80);
        a[0] = 0x80; a[1] = 100; a.writeUInt16BE(seq & 0xffff, 2); a.writeUInt32BE((seq * 960) >>> 0, 4); a.writeUInt32BE(f.ssrcA, 8);
        sock.send(a, f.port, '127.0.0.1');
        sent++;
        const pos = now + f.offset;
        const loop = Math.floor(pos / clipMs);
        while (true) {
          const k = cursor[i]!;
          const c = clip[k % clip.length]!;
          const due = Math.floor(k / clip.length) * clipMs + c.at;
          if (due > pos || Math.floor(k / clip.length) > loop) break;
          const p = Buffer.from(c.packet);
          p.writeUInt16BE(vseq[i]! & 0xffff, 2);
          p.writeUInt32BE(((Math.floor(k / clip.length) * clipMs + c.at) * 90) >>> 0, 4);
          p.writeUInt32BE(f.ssrcV, 8);
          sock.send(p, f.port, '127.0.0.1');
          vseq[i]!++;
          cursor[i]!++;
          sent++;
        }
      });
    }, 20);

    const want = 2 * (sites.length - 1);
    const progress = setInterval(() => process.stderr.write(`announced: ${sites.map((s) => s.edge.room(M)?.listStreams().length ?? -1).join(' ')}\n`), 5000);
    const tAnnounced = await until('every stream announced at every edge', async () =>
      sites.every((s) => (s.edge.room(M)?.listStreams().length ?? 0) >= want) ? performance.now() : null, 300_000);
    clearInterval(progress);
    // The chair's camera at the farthest commune, through a tap (plain RTP out).
    const tapSock = dgram.createSocket('udp4');
    senders.push(tapSock);
    let firstAt = 0;
    tapSock.on('message', () => { if (!firstAt) firstAt = performance.now(); });
    await new Promise<void>((r) => tapSock.bind(0, '127.0.0.1', () => r()));
    const chairVideoAtFar = farthest.edge.room(M)!.listStreams().find((x) => x.siteId === chair.siteId && x.kind === 'video')!;
    await farthest.edge.room(M)!.createTap({ producerId: chairVideoAtFar.id, ip: '127.0.0.1', port: tapSock.address().port });
    await until('the chair\'s camera at the farthest commune', async () => (firstAt ? true : null), 120_000);
    console.log(`core: ${CORE_WORKERS} worker(s), the meeting's routers there on ${core.edge.room(M)!.router.workerPids.length} of them (span at ${SPAN_AT})`);
    console.log(`meeting start -> every stream announced at all ${sites.length} edges: ${Math.round(tAnnounced - t0)} ms`);
    console.log(`meeting start -> the chair's camera flowing at the farthest commune (${farthest.edgeId}, behind d0): ${Math.round(firstAt - t0)} ms (tap opened once all was announced)`);

    // Steady state.
    await sleep(2000);
    const groups: Array<[string, number[]]> = [
      ['core', core.edge.workerPids],
      ['largest district d0', districts[0]!.edge.workerPids],
      ['farthest commune', farthest.edge.workerPids],
      [`all ${sites.length} edges together`, sites.flatMap((s) => s.edge.workerPids)],
    ];
    const before = new Map(groups.flatMap(([, pids]) => pids).map((pid) => [pid, cpuSeconds(pid)]));
    const sent0 = sent;
    await sleep(WINDOW_MS);
    const after = new Map([...before.keys()].map((pid) => [pid, cpuSeconds(pid)]));
    const rate = ((sent - sent0) * 1000) / WINDOW_MS;
    clearInterval(tick);
    console.log(`\nreplayed into the sites: ${Math.round(rate)} packets/s (${feeds.length} cameras + ${feeds.length} microphones, 3 open) over ${WINDOW_MS / 1000} s`);
    console.log('\n| workers | of | CPU % of a core (sum) | RSS MB (sum) |');
    console.log('|---|---|---|---|');
    for (const [name, pids] of groups) {
      const cpu = pids.reduce((n, pid) => n + (after.get(pid)! - before.get(pid)!), 0) * 100000 / WINDOW_MS;
      const rss = pids.reduce((n, pid) => n + rssMb(pid), 0);
      console.log(`| ${pids.length} | ${name} | ${cpu.toFixed(1)} | ${rss.toFixed(1)} |`);
    }
    console.log(`| - | this process, pid ${process.pid} (every edge's Node side, the replayer) | - | ${rssMb(process.pid).toFixed(1)} |`);

    console.log('\n| edge | producers | consumers | transports | links | egress kbit/s (sum of links) | max egress on one link kbit/s | streams sent on links |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const s of [core, districts[0]!, farthest]) {
      const d = (await s.edge.dump()).rooms[0]!;
      const st = (await s.edge.stats()).meetings[0]!;
      const egress = st.links.reduce((n, l) => n + l.sendBitrateBps, 0);
      const maxLink = Math.max(...st.links.map((l) => l.sendBitrateBps));
      const streams = st.links.reduce((n, l) => n + l.sendStreams, 0);
      console.log(`| ${s.edgeId} | ${d.producerIds.length} | ${d.consumerIds.length} | ${d.transportIds.length} | ${st.links.length} | ${Math.round(egress / 1000)} | ${Math.round(maxLink / 1000)} | ${streams} |`);
    }
    console.log('\nnot measured here: speaker change, roll call (all microphones open), 100 meetings, plan size and time, the bare-mediasoup comparison.');
  } finally {
    for (const s of senders) s.close();
    for (const s of [...sites].reverse()) {
      await s.server?.close();
      await s.edge.close();
    }
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
