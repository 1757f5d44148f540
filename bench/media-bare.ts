// Our edge against bare mediasoup (`npm run bench:media:bare`), side by side
// in one run on the same worker binary: one SRTP pipe hop between two workers
// and a fan-out of FANOUT plain RTP outputs at the far side, the same streams
// at the same rate. "Ours" is two Edge instances (rooms, cascade link over HTTP
// signalling, selective forwarding, taps); "bare" is mediasoup's own API with
// none of our code (this file imports mediasoup directly for that reason).
// Per hop latency: a stream's packets matched by payload at a tap before the
// hop and at one after it. CPU per forwarded packet: the far worker's CPU over
// the packets it took in and sent out. Alternating runs, medians of RUNS each.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { ROUTER_CODECS, ingestRtpParameters } from '../appliance/src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../appliance/src/media/config.js';
import { Edge } from '../appliance/src/media/edge.js';
import { SignalServer } from '../appliance/src/media/server.js';
import { token, until } from '../appliance/test/media/helpers.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const WINDOW_MS = Number(process.env['BENCH_WINDOW_MS'] ?? 5000);
const STREAMS = Number(process.env['BENCH_STREAMS'] ?? 20);
const FANOUT = Number(process.env['BENCH_FANOUT'] ?? 8);
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** What one side (ours or bare) gives the measurement. */
interface Rig {
  /** Where the bench sends stream i's RTP. */
  inPort: number;
  ssrcs: number[];
  farPid: number;
  /** Packets the far worker took in and sent out so far. */
  packets(): Promise<number>;
  /** Plain RTP of stream 0 before the hop, and of every stream after it, to these ports. */
  tapBefore(port: number): Promise<void>;
  tapAfter(port: number): Promise<void>;
  close(): Promise<void>;
}

let ports = 24000;
const range = (n: number): { rtcMinPort: number; rtcMaxPort: number } => ({
  rtcMinPort: ports,
  rtcMaxPort: (ports += n) - 1,
});
const ssrcsFor = (base: number): number[] => Array.from({ length: STREAMS }, (_, i) => base + i);
const count = (l: Array<{ type: string; packetCount?: number }>, type: string): number =>
  l.filter((x) => x.type === type).reduce((n, x) => n + (x.packetCount ?? 0), 0);

async function ours(): Promise<Rig> {
  const limits = peerLimits(loadEdgeConfig({ DIEMCAU_EDGE_ID: 'x', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24) }));
  const start = (edgeId: string) =>
    Edge.start({
      edgeId,
      role: 'site',
      listen: { listenIp: '127.0.0.1' },
      capture: null,
      ffmpegBin: 'ffmpeg',
      worker: { ...range(1000), workers: 1, logLevel: 'none' },
      log,
      limits,
      tapAllow: '127.0.0.1',
    });
  const [near, far] = [await start('near'), await start('far')];
  const server = new SignalServer({
    edge: far,
    adminToken: token() + token(),
    joinToken: token() + token(),
    host: '127.0.0.1',
    port: 0,
    log,
  });
  const url = await server.listen();
  const linkToken = token() + token();
  const m = {
    meetingId: 'm',
    title: 'm',
    chairSiteId: 'site-near',
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live' as const,
  };
  await far.applyPlan({
    v: 1,
    revision: 1,
    edgeId: 'far',
    meetings: [
      {
        ...m,
        role: 'host',
        upstream: null,
        acceptToken: linkToken,
        localSiteId: null,
        downstream: [{ edgeId: 'near', addresses: ['127.0.0.1'], siteIds: ['site-near'] }],
      },
    ],
  });
  await near.applyPlan({
    v: 1,
    revision: 1,
    edgeId: 'near',
    meetings: [
      {
        ...m,
        role: 'leaf',
        upstream: { edgeId: 'far', signalUrl: url, linkToken },
        acceptToken: null,
        downstream: [],
        localSiteId: 'site-near',
      },
    ],
  });
  const room = near.room('m')!;
  const input = await room.router.createPlainIn('127.0.0.1');
  const ssrcs = ssrcsFor(0x7000);
  const ids: string[] = [];
  for (const ssrc of ssrcs) {
    const s = await input.produce({
      kind: 'audio',
      rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, 'near'),
      info: { siteId: 'site-near', originEdgeId: 'near' },
    });
    room.addStream(s, null);
    ids.push(s.id);
  }
  const farRoom = far.room('m')!;
  const atFar = await until('every stream at the far edge', async () => {
    const l = farRoom.listStreams();
    return l.length >= STREAMS ? l : null;
  });
  // The fan-out: every stream to FANOUT plain outputs (taps) at the far edge, to a sink.
  const sink = dgram.createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  for (const s of atFar)
    for (let k = 0; k < FANOUT; k++)
      await farRoom.createTap({
        producerId: s.id,
        ip: '127.0.0.1',
        port: sink.address().port,
        rtcpPort: sink.address().port,
      });
  return {
    inPort: input.tuple.port,
    ssrcs,
    farPid: far.workerPids[0]!,
    packets: async () => {
      const t = await farRoom.router.traffic();
      return t.packetsIn + t.packetsOut;
    },
    tapBefore: async (port) => {
      await room.createTap({ producerId: ids[0]!, ip: '127.0.0.1', port, rtcpPort: port });
    },
    // Every stream: the far edge has its own ids for them; the payload says which is which.
    tapAfter: async (port) => {
      for (const s of atFar) await farRoom.createTap({ producerId: s.id, ip: '127.0.0.1', port, rtcpPort: port });
    },
    close: async () => {
      sink.close();
      await server.close();
      await near.close();
      await far.close();
    },
  };
}

async function bare(): Promise<Rig> {
  const [wNear, wFar] = [
    await mediasoup.createWorker({ logLevel: 'none' }),
    await mediasoup.createWorker({ logLevel: 'none' }),
  ];
  const [rNear, rFar] = [
    await wNear.createRouter({ mediaCodecs: ROUTER_CODECS }),
    await wFar.createRouter({ mediaCodecs: ROUTER_CODECS }),
  ];
  const li = (n: number): types.TransportListenInfo => {
    const r = range(n);
    return { protocol: 'udp', ip: '127.0.0.1', portRange: { min: r.rtcMinPort, max: r.rtcMaxPort } };
  };
  const input = await rNear.createPlainTransport({ listenInfo: li(4), rtcpMux: false, comedia: true });
  const ssrcs = ssrcsFor(0x9000);
  const producers: types.Producer[] = [];
  for (const ssrc of ssrcs)
    producers.push(
      await input.produce({ kind: 'audio', rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, 'near') }),
    );
  // The same link as ours: SRTP pipe transports between the two workers.
  const [pNear, pFar] = [
    await rNear.createPipeTransport({ listenInfo: li(2), enableSrtp: true }),
    await rFar.createPipeTransport({ listenInfo: li(2), enableSrtp: true }),
  ];
  await pNear.connect({ ip: '127.0.0.1', port: pFar.tuple.localPort, srtpParameters: pFar.srtpParameters! });
  await pFar.connect({ ip: '127.0.0.1', port: pNear.tuple.localPort, srtpParameters: pNear.srtpParameters! });
  const farProducers: types.Producer[] = [];
  for (const p of producers) {
    const c = await pNear.consume({ producerId: p.id });
    farProducers.push(await pFar.produce({ kind: c.kind, rtpParameters: c.rtpParameters }));
  }
  const outs: types.Consumer[] = [];
  const plainOut = async (router: types.Router, producerId: string, port: number): Promise<types.Consumer> => {
    const t = await router.createPlainTransport({ listenInfo: li(2), rtcpMux: false, comedia: false });
    await t.connect({ ip: '127.0.0.1', port, rtcpPort: port });
    return t.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
  };
  const sink = dgram.createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  for (const p of farProducers)
    for (let k = 0; k < FANOUT; k++) outs.push(await plainOut(rFar, p.id, sink.address().port));
  return {
    inPort: input.tuple.localPort,
    ssrcs,
    farPid: wFar.pid,
    packets: async () => {
      const ins = await Promise.all(farProducers.map(async (p) => count(await p.getStats(), 'inbound-rtp')));
      const o = await Promise.all(outs.map(async (c) => count(await c.getStats(), 'outbound-rtp')));
      return [...ins, ...o].reduce((a, b) => a + b, 0);
    },
    tapBefore: async (port) => {
      await plainOut(rNear, producers[0]!.id, port);
    },
    tapAfter: async (port) => {
      for (const p of farProducers) outs.push(await plainOut(rFar, p.id, port));
    },
    close: async () => {
      sink.close();
      wNear.close();
      wFar.close();
    },
  };
}

/** Sends STREAMS microphones at 50 packets/s each; returns latency per hop (median ms) and CPU per packet at the far worker (µs). */
async function run(make: () => Promise<Rig>): Promise<{ latencyMs: number; cpuUsPerPacket: number; pps: number }> {
  const rig = await make();
  const socks = [dgram.createSocket('udp4'), dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  const [sender, before, after] = socks as [dgram.Socket, dgram.Socket, dgram.Socket];
  try {
    const seen = [new Map<number, number>(), new Map<number, number>()];
    // Each packet carries its stream and number in its payload: mediasoup rewrites headers, never payloads.
    const listen = (s: dgram.Socket, i: number) =>
      s.on('message', (m) => {
        if (m.length >= 92) {
          const n = m.readUInt32BE(m.length - 4);
          if (!seen[i]!.has(n)) seen[i]!.set(n, performance.now());
        }
      });
    listen(before, 0);
    listen(after, 1);
    for (const s of [before, after]) await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    await rig.tapBefore(before.address().port);
    await rig.tapAfter(after.address().port);
    let seq = 0;
    const tick = setInterval(() => {
      seq++;
      rig.ssrcs.forEach((ssrc, i) => {
        const p = Buffer.alloc(92);
        p[0] = 0x80;
        p[1] = 100;
        p.writeUInt16BE(seq & 0xffff, 2);
        p.writeUInt32BE((seq * 960) >>> 0, 4);
        p.writeUInt32BE(ssrc, 8);
        p.writeUInt32BE(seq * 100 + i, 88);
        sender.send(p, rig.inPort, '127.0.0.1');
      });
    }, 20);
    await sleep(1500);
    const [c0, p0] = [cpuSeconds(rig.farPid), await rig.packets()];
    seen[0]!.clear();
    seen[1]!.clear();
    await sleep(WINDOW_MS);
    const [c1, p1] = [cpuSeconds(rig.farPid), await rig.packets()];
    clearInterval(tick);
    const lat = [...seen[1]!].flatMap(([n, t]) => (seen[0]!.has(n) ? [t - seen[0]!.get(n)!] : []));
    return {
      latencyMs: lat.length ? median(lat) : NaN,
      cpuUsPerPacket: ((c1 - c0) * 1e6) / Math.max(1, p1 - p0),
      pps: ((p1 - p0) * 1000) / WINDOW_MS,
    };
  } finally {
    for (const s of socks) s.close();
    await rig.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:media:bare: ${STREAMS} microphones (50 packets/s each) over one SRTP pipe hop, each fanned out to ${FANOUT} plain RTP outputs; worker ${mediasoup.version}; ${RUNS} alternating runs of ${WINDOW_MS / 1000} s; ${os.availableParallelism()} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const res = {
    ours: [] as Array<Awaited<ReturnType<typeof run>>>,
    bare: [] as Array<Awaited<ReturnType<typeof run>>>,
  };
  for (let i = 0; i < RUNS; i++) {
    res.ours.push(await run(ours));
    res.bare.push(await run(bare));
  }
  console.log(
    '\n| | latency per hop ms (median of runs) | far worker CPU µs per packet | packets/s at the far worker | runs (latency; µs/packet) |',
  );
  console.log('|---|---|---|---|---|');
  for (const [name, r] of Object.entries(res)) {
    console.log(
      `| ${name} | ${median(r.map((x) => x.latencyMs)).toFixed(3)} | ${median(r.map((x) => x.cpuUsPerPacket)).toFixed(2)} | ${Math.round(median(r.map((x) => x.pps)))} | ${r.map((x) => `${x.latencyMs.toFixed(3)}; ${x.cpuUsPerPacket.toFixed(2)}`).join(' / ')} |`,
    );
  }
  const ratio = (k: 'latencyMs' | 'cpuUsPerPacket') =>
    median(res.ours.map((x) => x[k])) / median(res.bare.map((x) => x[k]));
  console.log(
    `\nours / bare: latency ${ratio('latencyMs').toFixed(2)}x (goal <= 1.2x), CPU per packet ${ratio('cpuUsPerPacket').toFixed(2)}x (goal <= 1.1x); load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
