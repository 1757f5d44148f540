// Media edge figures (`npm run bench:media`). Every edge is a separate process
// with its own mediasoup worker, on loopback, on whatever machine runs this:
//   1. added latency per cascade hop, and loss, for one commune's video on
//      cA -> d1 -> core -> d2 -> cB (taps at every edge, packets matched by payload);
//   2. worker CPU per forwarded stream (a relay fanning one site out to N leaves);
//   3. the core's egress, cascade vs star, measured on a scaled-down meeting with
//      selective forwarding (every microphone, only the featured cameras) and
//      projected to a 210-site meeting (Yen Bai's shape: 28 province-level sites,
//      9 districts, 173 communes).
// Bitrates are scaled down (simulated cameras at 320x240/15 fps, 300 kbit/s, and
// smaller in phase 3) so that a 2-core machine carries them.
import dgram from 'node:dgram';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { MEDIASOUP_VERSION, MEDIASOUP_WORKER_BIN } from '../appliance/src/media/adapter/index.js';
import { RECENT_SPEAKERS } from '../appliance/src/media/forwarding.js';
import {
  freeUdpPair,
  node,
  plansFor,
  spawnEdge,
  until,
  type EdgeProc,
  type Node,
} from '../appliance/test/media/helpers.js';

const M = 'bench';
const WINDOW_MS = Number(process.env['BENCH_WINDOW_MS'] ?? 10_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const edges: EdgeProc[] = [];
const start = async (edgeId: string, sim: boolean, env: Record<string, string> = {}): Promise<EdgeProc> => {
  const e = await spawnEdge({
    edgeId,
    role: edgeId === 'core' ? 'core' : 'site',
    hardware: sim ? 'simulated' : 'none',
    env,
  });
  edges.push(e);
  return e;
};
const stopAll = async (): Promise<void> => {
  await Promise.all(edges.splice(0).map((e) => e.kill()));
};
const applyPlans = async (nodes: Node[], chair: string): Promise<void> => {
  for (const [n, p] of plansFor(M, nodes, chair)) await n.edge.plan(p);
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]! : NaN;
};

/** RTP payload (after header, CSRCs and extension) as a key: mediasoup rewrites headers, never payloads. */
function payloadKey(b: Buffer): string | null {
  if (b.length < 12 || b[0]! >> 6 !== 2) return null;
  let off = 12 + 4 * (b[0]! & 0x0f);
  if ((b[0]! >> 4) & 1) off += 4 + 4 * b.readUInt16BE(off + 2);
  const payload = b.subarray(off);
  return payload.length ? `${payload.length}:${payload.subarray(0, 48).toString('base64')}` : null;
}

/** Receives a tap of one stream and remembers when each payload first arrived. */
async function tapArrivals(
  edge: EdgeProc,
  producerId: string,
): Promise<{ arrivals: Map<string, number>; readyAt: number; close(): Promise<void> }> {
  const port = await freeUdpPair();
  const sock = dgram.createSocket('udp4');
  const rtcp = dgram.createSocket('udp4');
  const arrivals = new Map<string, number>();
  sock.on('message', (msg) => {
    const k = payloadKey(msg);
    if (k && !arrivals.has(k)) arrivals.set(k, performance.now());
  });
  await new Promise<void>((r) => sock.bind(port, '127.0.0.1', () => r()));
  await new Promise<void>((r) => rtcp.bind(port + 1, '127.0.0.1', () => r()));
  const tap = await edge.api<{ tapId: string }>('POST', `/media/v1/meetings/${M}/taps`, {
    producerId,
    ip: '127.0.0.1',
    port,
  });
  if (tap.status !== 201) throw new Error(`tap at ${edge.edgeId}: ${tap.status}`);
  return {
    arrivals,
    readyAt: performance.now(),
    close: async () => {
      await edge.api('DELETE', `/media/v1/meetings/${M}/taps/${tap.body.tapId}`).catch(() => {});
      sock.close();
      rtcp.close();
    },
  };
}

/** CPU seconds used so far by a process (utime + stime from /proc). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
}

async function phaseLatency(): Promise<void> {
  const [core, d1, d2, cA, cB] = await Promise.all([
    start('core', false),
    start('d1', false),
    start('d2', false),
    start('cA', true),
    start('cB', false),
  ]);
  const nCore = node(core, null, null);
  const nD1 = node(d1, null, nCore);
  const nD2 = node(d2, null, nCore);
  await applyPlans([nCore, nD1, nD2, node(cA, 'site-a', nD1), node(cB, 'site-b', nD2)], 'site-a');
  const video = await until('cA video at cB', async () =>
    (await cB.streams(M)).find((s) => s.kind === 'video' && s.siteId === 'site-a'),
  );
  const chain = [cA, d1, core, d2, cB];
  const taps = await Promise.all(chain.map((e) => tapArrivals(e, video.id)));
  const cpu0 = chain.map((e) => cpuSeconds(e.workerPid));
  await sleep(WINDOW_MS);
  const cpu1 = chain.map((e) => cpuSeconds(e.workerPid));
  await Promise.all(taps.map((t) => t.close()));
  // Count only packets sent once every tap was listening (the taps start one after another).
  const from = Math.max(...taps.map((t) => t.readyAt)) + 500;
  const origin = new Map([...taps[0]!.arrivals].filter(([, at]) => at >= from));
  console.log(
    `\n1. Cascade latency, one commune's video (VP8 320x240/15fps ~300 kbit/s), ${WINDOW_MS / 1000}s, loopback`,
  );
  console.log(`   ${origin.size} packets left cA once every tap listened`);
  for (let hop = 1; hop < chain.length; hop++) {
    const prev = taps[hop - 1]!.arrivals;
    const here = taps[hop]!.arrivals;
    const deltas: number[] = [];
    let matched = 0;
    for (const k of origin.keys()) {
      const t = here.get(k);
      if (t === undefined) continue;
      matched++;
      const tp = prev.get(k);
      if (tp !== undefined) deltas.push(t - tp);
    }
    const lost = origin.size - matched;
    console.log(
      `   hop ${hop} ${chain[hop - 1]!.edgeId} -> ${chain[hop]!.edgeId}: added latency median ${median(deltas).toFixed(3)} ms, p95 ${pct(deltas, 95).toFixed(3)} ms; ` +
        `lost since cA ${lost}/${origin.size} (${((100 * lost) / Math.max(1, origin.size)).toFixed(2)}%)`,
    );
  }
  const total: number[] = [];
  for (const [k, t0] of origin) {
    const t = taps[chain.length - 1]!.arrivals.get(k);
    if (t !== undefined) total.push(t - t0);
  }
  console.log(
    `   end to end cA -> cB (4 hops): median ${median(total).toFixed(3)} ms, p95 ${pct(total, 95).toFixed(3)} ms`,
  );
  console.log(
    `   worker CPU over the window: ${chain.map((e, i) => `${e.edgeId} ${((100 * (cpu1[i]! - cpu0[i]!)) / (WINDOW_MS / 1000)).toFixed(1)}%`).join(', ')}`,
  );
  const s = await cB.stats();
  const up = s.meetings[0]?.links.find((l) => l.direction === 'up');
  if (up)
    console.log(
      `   cB's own report of its upstream link: loss ${(up.lossRate * 100).toFixed(2)}%, jitter ${up.jitterMs.toFixed(2)} ms, rtt ${up.rttMs ?? 'n/a'} ms`,
    );
  await stopAll();
}

async function phaseCpu(): Promise<void> {
  console.log(`\n2. Worker CPU per forwarded stream: a relay fans one site (audio + video) out to N leaves`);
  const host = await start('core', true);
  const relay = await start('relay', false);
  const leaves: EdgeProc[] = [];
  const nHost = node(host, 'site-h', null);
  const nRelay = node(relay, null, nHost);
  const rows: Array<{ n: number; cpu: number; streams: number }> = [];
  for (const n of [1, 6]) {
    while (leaves.length < n) leaves.push(await start(`leaf${leaves.length}`, false));
    const nodes = [nHost, nRelay, ...leaves.map((l, i) => node(l, `site-l${i}`, nRelay))];
    for (const [nd, p] of plansFor(M, nodes, 'site-h', rows.length + 1)) await nd.edge.plan(p);
    await until(`${n} leaves receiving`, async () => {
      const st = await relay.stats();
      const down = st.meetings[0]?.links.filter((l) => l.direction === 'down') ?? [];
      return down.length === n && down.every((l) => l.sendStreams === 2) ? true : null;
    });
    await sleep(1500);
    const c0 = cpuSeconds(relay.workerPid);
    await sleep(WINDOW_MS);
    const c1 = cpuSeconds(relay.workerPid);
    rows.push({ n, cpu: (100 * (c1 - c0)) / (WINDOW_MS / 1000), streams: 2 * n });
    console.log(`   N=${n}: ${2 * n} forwarded streams, relay worker ${rows.at(-1)!.cpu.toFixed(2)}% of one core`);
  }
  const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
  console.log(
    `   marginal cost: ${((b.cpu - a.cpu) / (b.streams - a.streams)).toFixed(3)}% of one core per forwarded stream (audio+video average, ~170 kbit/s each)`,
  );
  await stopAll();
}

async function phaseEgress(): Promise<void> {
  // Smaller pictures: seven simulated rooms on two cores.
  const small = {
    DIEMCAU_EDGE_WIDTH: '160',
    DIEMCAU_EDGE_HEIGHT: '120',
    DIEMCAU_EDGE_FPS: '10',
    DIEMCAU_EDGE_VIDEO_KBPS: '100',
    DIEMCAU_EDGE_AUDIO_KBPS: '24',
  };
  console.log(
    `\n3. Core egress, cascade vs star (scaled down: 7 sites sending 160x120/10fps ~100 kbit/s video + 24 kbit/s audio)`,
  );
  const measure = async (
    label: string,
    shape: 'cascade' | 'star',
  ): Promise<{ egress: number; perSite: number; flowing: number; announced: number }> => {
    const core = await start('core', false);
    const ids = ['d1', 'c11', 'c12', 'd2', 'c21', 'c22', 'p1'];
    const e = new Map<string, EdgeProc>();
    for (const id of ids) e.set(id, await start(id, true, small));
    const nCore = node(core, null, null);
    const nodes: Node[] = [nCore];
    const byId = new Map<string, Node>();
    for (const id of ids) {
      const parent = shape === 'star' || !id.startsWith('c') ? nCore : byId.get(`d${id[1]}`)!;
      const n = node(e.get(id)!, `site-${id}`, parent);
      byId.set(id, n);
      nodes.push(n);
    }
    await applyPlans(nodes, 'site-p1');
    await until(
      `${label}: all streams at the core`,
      async () => ((await core.streams(M)).length === 14 ? true : null),
      60_000,
    );
    // Let the core hear the rooms and name its speakers.
    await until(
      `${label}: a speaker named`,
      async () => ((await core.stats()).meetings[0]?.activeSpeakerSiteId ? true : null),
      30_000,
    );
    await sleep(3000);
    const samples: number[] = [];
    let perSite = 0;
    let flowing = 0;
    for (let i = 0; i < 5; i++) {
      const st = await core.stats();
      const links = st.meetings[0]!.links;
      samples.push(links.reduce((s, l) => s + l.sendBitrateBps, 0));
      flowing = links.reduce((s, l) => s + l.sendStreams, 0);
      const src = await e.get('p1')!.stats();
      perSite = src.meetings[0]!.local.reduce((s, l) => s + l.bitrateBps, 0);
      await sleep(1000);
    }
    const announced = (await core.dump()).rooms[0]!.consumerIds.length;
    const egress = median(samples);
    const links = (await core.stats()).meetings[0]!.links.length;
    console.log(
      `   ${label}: ${links} links at the core, ${flowing} of ${announced} offered streams flowing, core egress ${(egress / 1e6).toFixed(2)} Mbit/s ` +
        `(one site sends ${(perSite / 1e3).toFixed(0)} kbit/s)`,
    );
    await stopAll();
    return { egress, perSite, flowing, announced };
  };
  const cascade = await measure('cascade (2 districts x 2 communes + 1 province-level site)', 'cascade');
  const star = await measure('star (all 7 sites on the core)', 'star');
  console.log(`   measured ratio cascade/star: ${(cascade.egress / star.egress).toFixed(2)}`);

  // 210 sites: per link, the featured cameras (chair + recent speakers) and the open microphones.
  const sites = 210;
  const direct = 28;
  const districts = 9;
  const links = direct + districts;
  const videoBps = 2_500_000; // a real room: 1080p30 H.264
  const audioBps = 48_000;
  const featured = 1 + RECENT_SPEAKERS;
  const project = (openMics: number): string => {
    // Upper bound: every featured camera and open microphone crosses every link.
    const perLink = featured * videoBps + openMics * audioBps;
    return `${openMics} open microphones: cascade ${((links * perLink) / 1e6).toFixed(0)} Mbit/s on ${links} links, star ${((sites * perLink) / 1e6).toFixed(0)} Mbit/s on ${sites}`;
  };
  const everything =
    (direct * (sites - 1) +
      Array.from(
        { length: districts },
        (_, i) => sites - 1 - (Math.floor(173 / districts) + (i < 173 % districts ? 1 : 0)),
      ).reduce((a, b) => a + b, 0)) *
    (videoBps + audioBps);
  console.log(
    `   projected 210-site meeting at 2.5 Mbit/s a camera, ${featured} featured cameras (chair + ${RECENT_SPEAKERS} recent speakers):`,
  );
  console.log(`     ${project(2)} (chair + floor, after "mute all")`);
  console.log(`     ${project(sites)} (every microphone open)`);
  console.log(`     forwarding every camera everywhere instead: ${(everything / 1e9).toFixed(1)} Gbit/s from the core`);
}

// Which worker the figures are for: the version, and the OpenSSL it runs on.
const libssl =
  /libssl\.so\.\S+ => (\S+)/.exec(execFileSync('ldd', [MEDIASOUP_WORKER_BIN], { encoding: 'utf8' }))?.[1] ??
  'statically linked';
console.log(`mediasoup ${MEDIASOUP_VERSION}, worker linking ${libssl}`);

try {
  await phaseLatency();
  await phaseCpu();
  await phaseEgress();
} finally {
  await stopAll();
}
