// A peer tries to exhaust a media edge (`npm run bench:abuse-edge`). One edge
// process with its mediasoup worker, on loopback; the attacker holds the join
// token (anyone in the room has it) and one downstream edge's link token:
//   1. peers flood: thousands of browser peers that never connect (the idle
//      reaper closes them);
//   2. a smarter attacker: as many peers as its token gets, each connecting a
//      transport (so never reaped), then asking for many more transports;
//   3. producers flood: each such peer publishes as many microphones as it may;
//   4. consumers flood: every such peer consumes every stream, and again;
//   5. bogus link offers: media aimed at other hosts, broadcast, multicast,
//      unnamed edges;
//   then the attacker leaves (closes its peers).
// Printed: the edge's and its worker's RSS and CPU before, at the peak, and
// after, what each flood got, and whether /health and a good browser peer
// (joined before the flood) stayed fine. The limits are set explicitly here
// and printed; the idle reaper is shortened to show it at work.
import fs from 'node:fs';
import { hostPlan, spawnEdge, token, until, type EdgeProc } from '../appliance/test/media/helpers.js';

const M = 'abuse';
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const PEERS = arg('peers', 2000);
const TRANSPORTS = arg('transports', 10);
const CONSUMERS = arg('consumers', 30_000);
const OFFERS = arg('offers', 3000);
const CONCURRENCY = arg('concurrency', 50);
const LIMITS = {
  DIEMCAU_EDGE_MAX_PEERS: '200',
  DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '50',
  DIEMCAU_EDGE_MAX_TRANSPORTS_PER_PEER: '4',
  DIEMCAU_EDGE_MAX_PRODUCERS_PER_PEER: '4',
  DIEMCAU_EDGE_MAX_CONSUMERS_PER_PEER: '512',
  DIEMCAU_EDGE_MAX_CONSUMERS_PER_TOKEN: '2048',
  DIEMCAU_EDGE_PEER_IDLE_MS: '8000',
  // The default 10,000 ports; a join token may hold at most half of them.
  DIEMCAU_EDGE_RTC_MIN_PORT: '40000',
  DIEMCAU_EDGE_RTC_MAX_PORT: '49999',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK = 100; // clock ticks per second on Linux (/proc/<pid>/stat)

interface Sample {
  rssMiB: number;
  cpuSec: number;
}
function sample(pid: number): Sample {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssMiB: rssKiB / 1024, cpuSec: (Number(f[11]) + Number(f[12])) / TICK };
  } catch {
    return { rssMiB: NaN, cpuSec: NaN };
  }
}

/** Runs `n` tasks, `CONCURRENCY` at a time; counts answers by status. */
async function flood(n: number, task: (i: number) => Promise<number>): Promise<Map<number | string, number>> {
  const counts = new Map<number | string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const status = await task(i).catch((err: unknown) => `error ${(err as Error).message.slice(0, 40)}`);
        counts.set(status, (counts.get(status) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

const show = (m: Map<number | string, number>): string =>
  [...m]
    .sort()
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

async function main(): Promise<void> {
  const accept = token();
  const edge: EdgeProc = await spawnEdge({ edgeId: 'core', role: 'core', env: LIMITS });
  const stopping = async () => {
    await edge.kill();
  };
  process.once('SIGINT', () => void stopping().finally(() => process.exit(130)));
  try {
    await edge.plan(
      hostPlan('core', {
        meetingId: M,
        chairSiteId: 'so-1',
        title: 'abuse',
        accept,
        downstream: [{ edgeId: 'cA', addresses: ['127.0.0.1'], rtpPorts: { min: 50000, max: 50999 } }],
      }),
    );
    const call = async <T = unknown>(
      tok: string,
      method: string,
      p: string,
      body?: unknown,
    ): Promise<{ status: number; body: T }> => {
      const r = await fetch(edge.url + p, {
        method,
        headers: {
          authorization: `Bearer ${tok}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await r.text();
      return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
    };
    const base = `/media/v1/meetings/${M}`;
    const join = (method: string, p: string, body?: unknown) =>
      call<{ peerId?: string; id?: string; rtpCapabilities?: unknown }>(edge.joinToken, method, base + p, body);
    const workerPid = edge.workerPid;
    const both = (): { edge: Sample; worker: Sample } => ({ edge: sample(edge.proc.pid!), worker: sample(workerPid) });

    // The good peer: joins before the flood, connects, publishes a microphone.
    const good = await join('POST', '/peers', {});
    const goodId = good.body.peerId!;
    const goodT = await join('POST', `/peers/${goodId}/transports`, {});
    const dtls = {
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
    };
    await join('POST', `/peers/${goodId}/transports/${goodT.body.id}/connect`, { dtlsParameters: dtls });
    const mic = await join('POST', `/peers/${goodId}/produce`, {
      transportId: goodT.body.id,
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: 4242 }],
      },
    });
    const micId = mic.body.id!;
    const caps = good.body.rtpCapabilities;
    await sleep(1000);
    const before = both();

    // Health and the good peer, watched all through the flood.
    let peak = before;
    const health = { ok: 0, bad: 0, worstMs: 0 };
    const goodPeer = { ok: 0, bad: 0 };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const s = both();
        if (s.edge.rssMiB + s.worker.rssMiB > peak.edge.rssMiB + peak.worker.rssMiB) peak = s;
        const t0 = performance.now();
        const h = await call(edge.adminToken, 'GET', '/media/v1/health').catch(() => ({ status: 0 }));
        health.worstMs = Math.max(health.worstMs, performance.now() - t0);
        if (h.status === 200) health.ok++;
        else health.bad++;
        const g = await join('GET', `/peers/${goodId}/streams`).catch(() => ({ status: 0 }));
        if (g.status === 200) goodPeer.ok++;
        else goodPeer.bad++;
        await sleep(250);
      }
    })();

    const peersHeld = async (): Promise<number> =>
      (await call<{ peers: number }>(edge.adminToken, 'GET', '/media/v1/refusals')).body.peers;
    const t0 = performance.now();
    const peers = await flood(PEERS, async () => (await join('POST', '/peers', {})).status);
    const heldAfterFlood = await peersHeld();
    const reapStart = performance.now();
    const reaped = await until(
      'flood peers reaped',
      async () => ((await peersHeld()) <= 1 ? true : null),
      60_000,
    ).catch(() => false);
    const reapSec = (performance.now() - reapStart) / 1000;

    // The smarter attacker connects each peer, so the reaper leaves it alone.
    const attackers: string[] = [];
    const transportIds: Array<[string, string]> = [];
    const smartPeers = await flood(PEERS, async () => {
      const r = await join('POST', '/peers', {});
      if (r.body.peerId) {
        const tr = await join('POST', `/peers/${r.body.peerId}/transports`, {});
        await join('POST', `/peers/${r.body.peerId}/transports/${tr.body.id}/connect`, { dtlsParameters: dtls });
        attackers.push(r.body.peerId);
        transportIds.push([r.body.peerId, tr.body.id!]);
      }
      return r.status;
    });
    const transports = await flood(
      attackers.length * TRANSPORTS,
      async (i) => (await join('POST', `/peers/${attackers[i % attackers.length]!}/transports`, {})).status,
    );
    const streams = [micId];
    const opus = (ssrc: number) => ({
      codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc }],
    });
    const producers = await flood(attackers.length * 10, async (i) => {
      const [peer, transportId] = transportIds[i % transportIds.length]!;
      const r = await join('POST', `/peers/${peer}/produce`, {
        transportId,
        kind: 'audio',
        rtpParameters: opus(10_000 + i),
      });
      if (r.body.id) streams.push(r.body.id);
      return r.status;
    });
    // Every attacking peer consumes every stream (one transport each), then starts over.
    const consumers = await flood(CONSUMERS, async (i) => {
      const [peer, transportId] = transportIds[i % transportIds.length]!;
      const producerId = streams[Math.floor(i / transportIds.length) % streams.length]!;
      return (await join('POST', `/peers/${peer}/consume`, { transportId, producerId, rtpCapabilities: caps })).status;
    });
    const targets = ['10.0.0.1', '0.0.0.0', '::', '::1', '255.255.255.255', '239.1.1.1', '127.0.0.1', '8.8.8.8'];
    const srtp = { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: 'YTdkNjE1ZmQ0ZDI0YmVlNjZkMzA3OWJmNzE2OWRm' };
    const offers = await flood(
      OFFERS,
      async (i) =>
        (
          await call(accept, 'POST', `${base}/links`, {
            // Every fourth names the real downstream edge, the others invent one.
            v: 1,
            edgeId: i % 4 === 0 ? 'cA' : `x${i}`,
            ip: targets[i % targets.length],
            port: i % 3 === 0 ? 50010 : 1 + (i % 65535),
            srtp,
          })
        ).status,
    );
    const floodSec = (performance.now() - t0) / 1000;
    const during = both();
    const duringDump = await call<{ rooms: Array<{ transportIds: string[]; consumerIds: string[] }> }>(
      edge.adminToken,
      'GET',
      '/media/v1/dump',
    );

    // The attacker leaves.
    await flood(attackers.length, async (i) => (await join('DELETE', `/peers/${attackers[i]}`)).status);
    await sleep(2000);
    watching = false;
    await watcher;
    const after = both();
    const newcomer = await join('POST', '/peers', {});
    const goodAlive = (await join('GET', `/peers/${goodId}/streams`)).status === 200;
    const refusals = await call<{ byReason: Record<string, number>; peers: number }>(
      edge.adminToken,
      'GET',
      '/media/v1/refusals',
    );
    const dump = await call<{ rooms: Array<{ transportIds: string[]; consumerIds: string[] }> }>(
      edge.adminToken,
      'GET',
      '/media/v1/dump',
    );

    const row = (name: string, s: { edge: Sample; worker: Sample }): string =>
      `${name.padEnd(8)} edge RSS ${s.edge.rssMiB.toFixed(1).padStart(6)} MiB, CPU ${s.edge.cpuSec.toFixed(2).padStart(6)} s | worker RSS ${s.worker.rssMiB.toFixed(1).padStart(6)} MiB, CPU ${s.worker.cpuSec.toFixed(2).padStart(6)} s`;
    const out = [
      `limits set: ${Object.entries(LIMITS)
        .map(([k, v]) => `${k.replace('DIEMCAU_EDGE_', '')}=${v}`)
        .join(' ')}`,
      `flood: ${PEERS} peers, ${TRANSPORTS} transports per peer got, ${CONSUMERS} consumes across them, ${OFFERS} bogus link offers; ${CONCURRENCY} at a time; ${floodSec.toFixed(1)} s`,
      row('before', before),
      row('peak', peak),
      row('end', during),
      row('after', after),
      `growth at peak: ${(peak.edge.rssMiB + peak.worker.rssMiB - before.edge.rssMiB - before.worker.rssMiB).toFixed(1)} MiB; after: ${(after.edge.rssMiB + after.worker.rssMiB - before.edge.rssMiB - before.worker.rssMiB).toFixed(1)} MiB`,
      `peers (never connecting): ${show(peers)}; held ${heldAfterFlood}, reaped ${reaped ? `within ${reapSec.toFixed(1)} s` : 'not within 60 s'}`,
      `peers (connecting):       ${show(smartPeers)}`,
      `more transports:          ${show(transports)}`,
      `producers:                ${show(producers)}`,
      `consumers:                ${show(consumers)}`,
      `link offers: ${show(offers)}`,
      `refusals by reason: ${JSON.stringify(refusals.body.byReason)}`,
      `health during the flood: ${health.ok} ok, ${health.bad} failed, slowest ${health.worstMs.toFixed(0)} ms`,
      `good peer (joined before): ${goodPeer.ok} ok, ${goodPeer.bad} failed during; alive after: ${goodAlive}`,
      `worker held at the end of the flood: ${duringDump.body.rooms[0]?.transportIds.length ?? 0} transports, ${duringDump.body.rooms[0]?.consumerIds.length ?? 0} consumers`,
      `worker holds after the attacker left: ${dump.body.rooms[0]?.transportIds.length ?? 0} transports, ${dump.body.rooms[0]?.consumerIds.length ?? 0} consumers; a newcomer on the join token: ${newcomer.status}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await stopping();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:abuse-edge failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
