// A cascade link outlives an upstream that answers one batch of its events
// too late: the downstream edge posts the batch again (link/upstream.ts
// EVENT_RETRY_MS) instead of closing the link and everything that crossed it.
//
//   c1 (leaf) -> proxy -> core (host), both edges in this process on one worker.
//
// The proxy passes the signalling through, except the first batch of events
// that announces a stream: it takes that request in and never answers, as an
// upstream whose event loop stalls would. The link must stay the one link
// (one offer), and c1's streams must reach the core over it.
import http from 'node:http';
import t from 'tap';
import { pino } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { MediaWorkers, ingestRtpParameters } from '../../src/media/adapter/index.js';
import { loadEdgeConfig, peerLimits } from '../../src/media/config.js';
import { Edge } from '../../src/media/edge.js';
import { SignalServer } from '../../src/media/server.js';
import { token, until } from './helpers.js';

const M = 'm-retry';
// Ports apart from the other media tests': the pool's slice, then one range per edge.
const base = 35000 + (process.pid % 20) * 100;
const log = pino({ level: 'silent' });
const limits = peerLimits(
  loadEdgeConfig({ DIEMCAU_EDGE_ID: 'x', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24), DIEMCAU_EDGE_HARDWARE: 'none' }),
);

/** Passes HTTP through to `target`, holding unanswered the first event batch that announces a stream. */
function stallingProxy(target: string): {
  server: http.Server;
  offers: number;
  held: number;
  produceBatches: number;
} {
  const state = { offers: 0, held: 0, produceBatches: 0, server: null as unknown as http.Server };
  const held: http.ServerResponse[] = [];
  state.server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      if (req.method === 'POST' && /\/links$/.test(path)) state.offers++;
      if (req.method === 'POST' && /\/events$/.test(path) && body.includes('"type":"produce"')) {
        state.produceBatches++;
        if (state.held === 0) {
          state.held++;
          held.push(res); // never answered: the edge's own timeout ends it
          return;
        }
      }
      const up = http.request(target + path, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  state.server.on('close', () => held.forEach((r) => r.destroy()));
  return state;
}

t.test('an event batch the upstream does not answer in time is posted again; the link stays up', async (t) => {
  const pool = await MediaWorkers.start({ rtcMinPort: base, rtcMaxPort: base + 19, workers: 1, logLevel: 'none' });
  t.teardown(() => pool.close());
  const ranges = { core: { min: base + 20, max: base + 39 }, c1: { min: base + 40, max: base + 59 } };
  const start = async (edgeId: keyof typeof ranges): Promise<Edge> => {
    const edge = await Edge.start({
      edgeId,
      role: edgeId === 'core' ? 'core' : 'site',
      listen: { listenIp: '127.0.0.1' },
      capture: null,
      ffmpegBin: 'ffmpeg',
      worker: { shared: pool, ports: ranges[edgeId] },
      log,
      limits,
      tapAllow: '127.0.0.1',
    });
    t.teardown(() => edge.close());
    return edge;
  };
  const [core, c1] = [await start('core'), await start('c1')];
  const server = new SignalServer({
    edge: core,
    adminToken: token() + token(),
    joinToken: token() + token(),
    host: '127.0.0.1',
    port: 0,
    log,
  });
  t.teardown(() => server.close());
  const proxy = stallingProxy(await server.listen());
  await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    proxy.server.closeAllConnections();
    proxy.server.close();
  });
  const { port } = proxy.server.address() as { port: number };
  const linkToken = token() + token();
  const common = {
    title: M,
    meetingId: M,
    chairSiteId: 'site-1',
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live' as const,
  };
  const host: MediaMeeting = {
    ...common,
    role: 'host',
    upstream: null,
    acceptToken: linkToken,
    localSiteId: null,
    downstream: [{ edgeId: 'c1', addresses: ['127.0.0.1'], siteIds: ['site-1'] }],
  };
  const leaf: MediaPlan = {
    v: 1,
    revision: 1,
    edgeId: 'c1',
    meetings: [
      {
        ...common,
        role: 'leaf',
        upstream: { edgeId: 'core', signalUrl: `http://127.0.0.1:${port}`, linkToken },
        acceptToken: null,
        downstream: [],
        localSiteId: 'site-1',
      },
    ],
  };
  t.same(await core.applyPlan({ v: 1, revision: 1, edgeId: 'core', meetings: [host] }), { ok: true });
  t.same(await c1.applyPlan(leaf), { ok: true });
  await until('the link is up', async () =>
    (await c1.stats()).meetings[0]?.links[0]?.state === 'connected' ? true : null,
  );

  // c1's room: the chair's microphone and camera, announced up the link as they are made.
  const room = c1.room(M)!;
  const input = await room.router.createPlainIn('127.0.0.1');
  const info = { siteId: 'site-1', originEdgeId: 'c1' };
  for (const kind of ['audio', 'video'] as const)
    room.addStream(
      await input.produce({
        kind,
        rtpParameters: ingestRtpParameters(kind, 'vp8', kind === 'audio' ? 7001 : 7002, 'c1'),
        info,
      }),
      null,
    );

  const atCore = await until(
    "the chair's microphone and camera at the core",
    async () => {
      const l = core
        .room(M)!
        .listStreams()
        .filter((s) => s.siteId === 'site-1' && s.via === 'c1');
      return l.length === 2 ? l : null;
    },
    30_000,
  );
  t.same(atCore.map((s) => s.kind).sort(), ['audio', 'video'], 'both came in over the link from c1');
  t.equal(proxy.held, 1, 'the first batch announcing them got no answer');
  t.ok(proxy.produceBatches >= 2, `it was posted again (${proxy.produceBatches} batches announcing streams)`);
  t.equal(proxy.offers, 1, 'over the one link c1 offered: it was never closed and offered again');
  const links = (await c1.stats()).meetings[0]!.links;
  t.same(
    links.map((l) => [l.direction, l.state, l.sendStreams]),
    [['up', 'connected', 2]],
    'the link is up and carries both streams',
  );
});
